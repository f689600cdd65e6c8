"""Each topic's own words period by period (the ``topic_periods`` step, the Thèmes page)."""

from __future__ import annotations

import numpy as np
import pytest

from components import ids
from models.core.text import fold_accents
from models.core.years import last_plausible_year, plausible, row_years
from models.pipeline.topic_periods import (
    MIN_DATASETS,
    period_bounds,
    period_of,
    topic_period_words,
)
from tests.uihelpers import call, strings


@pytest.mark.parametrize("n_periods", [1, 2, 4, 6])
def test_periods_cover_every_year_in_order_with_balanced_counts(n_periods):
    rng = np.random.default_rng(0)
    years = np.concatenate([rng.integers(1995, 2015, 300), rng.integers(2015, 2026, 2000)])
    bounds = period_bounds(years, n_periods)
    assert 1 <= len(bounds) <= n_periods
    assert bounds[0][0] == years.min() and bounds[-1][1] == years.max()
    assert all(a <= b for a, b in bounds)
    assert all(bounds[i][1] < bounds[i + 1][0] for i in range(len(bounds) - 1))  # no overlap
    per = period_of(years, bounds)
    assert (per >= 0).all()  # every year falls in a period
    counts = np.bincount(per)
    if n_periods > 1:  # whole years cannot be split: balanced within the biggest year's weight
        biggest = np.unique(years, return_counts=True)[1].max()
        assert counts.max() - counts.min() <= 2 * biggest + len(years) / n_periods
    assert period_bounds(np.array([], dtype=int)) == []
    assert period_bounds(np.array([2020, 2020, 2020]), 4) == [(2020, 2020)]


def test_words_differ_between_periods_and_small_periods_get_none():
    early = [["grippe", "surveillance", "hôpital"]] * 12
    late = [["covid", "vaccination", "hôpital"]] * 12
    tiny = [["canicule"]] * (MIN_DATASETS - 1)
    docs = early + late + tiny
    periods = np.array([0] * 12 + [1] * 12 + [2] * len(tiny))
    producers = np.array([f"p{i % 5}" for i in range(len(docs))], dtype=object)
    surface = {w: w for d in docs for w in d}
    words = topic_period_words(docs, periods, producers, surface)
    assert set(words) == {0, 1}  # period 2 has too few datasets
    assert "grippe" in words[0] and "covid" not in words[0]
    assert "covid" in words[1] and "grippe" not in words[1]
    assert words[0][0] != "hôpital" and words[1][0] != "hôpital"  # shared by both: not distinctive


def test_the_build_writes_every_topic_per_period(explorer):
    svc = explorer.topics
    arts = explorer.artifacts
    assert arts.has("topic_periods.parquet")
    frame = arts.parquet("topic_periods.parquet")
    ds = explorer.datasets
    years = row_years(ds, "created")
    ok = plausible(years, last_plausible_year(ds))
    titles_and_tags = {fold_accents(w) for t, g in zip(ds["title"], ds["tags"], strict=True)
                       for w in (str(t) + " " + " ".join(map(str, g if g is not None else []))).lower()
                       .replace("-", " ").split()}
    with_words = 0
    for k in svc.ks():
        dominant = svc.doc_topics(k).argmax(axis=1)
        for t in range(k):
            p = svc.periods(k, t)
            assert list(p["period"]) == list(range(len(p)))  # every period, in order
            # the counts are the topic's datasets with a plausible creation year, none lost
            assert p["datasets"].sum() == int(((dominant == t) & ok).sum())
            for words, n in zip(p["words"], p["datasets"], strict=True):
                assert len(words) <= 6 and (n >= MIN_DATASETS or not words)
                with_words += bool(words)
                for w in words:  # written words of the catalogue, not stems
                    assert any(fold_accents(w) in tok for tok in titles_and_tags), w
    assert with_words > 0
    params = explorer.artifacts.manifest["parameters"]["topic_periods"]
    assert params["left_out"] == int((~ok).sum())
    assert frame["k"].nunique() == len(svc.ks())


def test_the_themes_page_shows_them(app, client, explorer):
    svc = explorer.topics
    k = svc.default_k
    p = svc.periods(k, 0)
    out = f"{ids.TOPICS_PERIODS}.children"
    resp = call(app, client, out, {f"{ids.TOPICS_K}.value": k, f"{ids.TOPICS_SELECT}.value": 0})
    text = " ".join(strings(resp[ids.TOPICS_PERIODS]["children"]))
    assert "période par période" in text
    for row in p.itertuples():
        span = str(row.start) if row.start == row.end else f"{row.start}\u2013{row.end}"
        assert span in text
        if row.words:
            assert " · ".join(row.words) in text
    # no topic, or a hostile one: nothing shown, no error
    bad = call(app, client, out, {f"{ids.TOPICS_K}.value": k, f"{ids.TOPICS_SELECT}.value": "<b>"})
    assert bad[ids.TOPICS_PERIODS]["children"] is None


def test_re_running_the_topics_re_runs_their_periods():
    from models.pipeline.rerun import plan
    from models.pipeline.steps import STEPS

    names = [n for n, _ in STEPS]
    assert "topic_periods" in plan(["lda"], names)
    assert "topic_periods" not in plan(["word2vec"], names)
