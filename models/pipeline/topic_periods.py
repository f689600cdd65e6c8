"""The ``topic_periods`` step: each LDA topic's own words, period by period.

A topic gathers datasets created over many years, and what it is about drifts: the covid topic
reads "tests · hospitalisations" in 2020 and "vaccination · rappel" in 2022. For every built K and
every topic, the datasets whose dominant topic it is are split into periods of creation, and
each period gets the words that set it apart *within the topic*: class-based TF-IDF where the
classes are the periods (the same lemmas of titles and tags, the same producer weighting and
the same real-word filter as the map's region labels, :mod:`models.pipeline.hierarchy`).

Periods: the plausible creation years of the whole catalogue (:mod:`models.core.years`) cut
into :data:`N_PERIODS` spans of whole years holding about as many datasets each, so every
topic is read on the same calendar. A period with fewer than :data:`MIN_DATASETS` datasets of
the topic gets its count and no words (too few to say anything). Datasets without a plausible
creation year are counted in the manifest, never placed in a period.

File: ``topic_periods.parquet`` — k, topic, period (0-based), start, end (years, inclusive),
datasets, words (written forms, best first, at most :data:`N_WORDS`).
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd

from models.core.years import last_plausible_year, plausible, row_years
from models.pipeline.hierarchy import ensure_label_words, pick_words, producer_weighted_tfidf
from models.pipeline.sample import producer_keys

log = logging.getLogger(__name__)

N_PERIODS = 4
MIN_DATASETS = 10
N_WORDS = 6
COLUMNS = ["k", "topic", "period", "start", "end", "datasets", "words"]


def period_bounds(years: np.ndarray, n_periods: int = N_PERIODS) -> list[tuple[int, int]]:
    """``years`` (plausible ones) cut into at most ``n_periods`` spans of whole years holding
    about the same number of datasets each; [] without years.

    Examples
    --------
    >>> period_bounds(np.array([2014, 2015, 2015, 2016, 2020, 2021, 2021, 2022]), 2)
    [(2014, 2016), (2020, 2022)]
    """
    years = np.asarray(years, dtype=np.int64)
    if not len(years):
        return []
    values, counts = np.unique(years, return_counts=True)
    share = np.cumsum(counts) / counts.sum()
    bounds: list[tuple[int, int]] = []
    start = 0
    for i in range(1, n_periods + 1):
        # the last year of period i: where the cumulative share reaches i / n
        end = int(np.searchsorted(share, i / n_periods - 1e-9))
        end = min(max(end, start), len(values) - 1)
        if start > end:
            continue
        bounds.append((int(values[start]), int(values[end])))
        start = end + 1
        if start >= len(values):
            break
    return bounds


def period_of(years: np.ndarray, bounds: list[tuple[int, int]]) -> np.ndarray:
    """Index of each year's period (-1 outside every period)."""
    years = np.asarray(years, dtype=np.int64)
    out = np.full(len(years), -1, dtype=np.int64)
    for i, (a, b) in enumerate(bounds):
        out[(years >= a) & (years <= b)] = i
    return out


def topic_period_words(docs: list[list[str]], periods: np.ndarray, producers: np.ndarray,
                       surface: dict[str, str], *, n_words: int = N_WORDS,
                       min_datasets: int = MIN_DATASETS) -> dict[int, list[str]]:
    """period -> its distinctive written words among one topic's datasets (``docs``,
    ``periods``, ``producers`` aligned); periods with fewer than ``min_datasets`` get none."""
    periods = np.asarray(periods, dtype=np.int64)
    counts = np.bincount(periods, minlength=int(periods.max()) + 1) if len(periods) else np.zeros(0)
    if (counts >= min_datasets).sum() == 0:
        return {}
    scores, classes, vocab = producer_weighted_tfidf(docs, periods, producers)
    out: dict[int, list[str]] = {}
    for ci, c in enumerate(classes):
        if counts[c] < min_datasets or not scores.size:
            continue
        row = scores[ci]
        top = np.argsort(-row, kind="stable")[:80]
        ranked = [(str(vocab[j]), float(row[j])) for j in top]
        out[int(c)] = [w for w, _ in pick_words(ranked, surface, n_words, candidates=80)]
    return out


def topic_periods_frame(doc_topics: dict[int, np.ndarray], years: np.ndarray, ok: np.ndarray,
                        docs: list[list[str]], producers: np.ndarray, surface: dict[str, str],
                        *, n_periods: int = N_PERIODS) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """One row per (K, topic, period) from each K's (n, K) topic mixture (dominant topic)."""
    bounds = period_bounds(years[ok], n_periods)
    per = np.where(ok, period_of(years, bounds), -1)
    rows = []
    for k, theta in sorted(doc_topics.items()):
        dominant = np.asarray(theta).argmax(axis=1)
        for t in range(np.asarray(theta).shape[1]):
            members = np.flatnonzero((dominant == t) & (per >= 0))
            words = topic_period_words([docs[r] for r in members], per[members], producers[members],
                                       surface) if len(members) else {}
            n_per = np.bincount(per[members], minlength=len(bounds))
            for i, (a, b) in enumerate(bounds):
                rows.append({"k": int(k), "topic": t, "period": i, "start": a, "end": b,
                             "datasets": int(n_per[i]), "words": words.get(i, [])})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"k": "int16", "topic": "int16", "period": "int8", "start": "int16",
                         "end": "int16", "datasets": "int32"}), bounds


def build_topic_periods(ctx) -> None:
    """The ``topic_periods`` step (after ``lda``): reads each K's ``lda/k{K}_doc_topics.npy``."""
    t0 = time.perf_counter()
    path = ctx.writer.path("lda_models.json")
    if not path.exists():
        log.info("topic_periods: this build has no LDA models, nothing to do")
        return
    models = json.loads(path.read_text(encoding="utf-8")).get("models", [])
    doc_topics = {int(m["k"]): np.load(ctx.writer.path(m["files"]["doc_topics"])) for m in models}
    df = ctx.df
    years = row_years(df, "created")
    ok = plausible(years, last_plausible_year(df))
    docs, surface = ensure_label_words(ctx)
    frame, bounds = topic_periods_frame(doc_topics, years, ok, docs, producer_keys(df).to_numpy(), surface)
    ctx.writer.save_parquet("topic_periods.parquet", frame)
    seconds = time.perf_counter() - t0
    ctx.param("topic_periods", periods=[list(b) for b in bounds], n_periods=N_PERIODS,
              min_datasets=MIN_DATASETS, n_words=N_WORDS, left_out=int((~ok).sum()),
              method="c-tf-idf between the periods of one topic (dominant topic), lemmas of titles "
                     "and tags, sqrt-per-producer frequencies, most frequent written form",
              seconds=round(seconds, 2))
    log.info("topic_periods: %d K, periods %s, %d datasets without a plausible year, %.1f s",
             len(doc_topics), bounds, int((~ok).sum()), seconds)
