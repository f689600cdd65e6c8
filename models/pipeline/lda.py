"""LDA topics (gensim) on lemmatised French text, for several K, with coherence and stability.

What one build writes (row ``i`` of every per-dataset array is row ``i`` of datasets.parquet):

- ``lda/k{K}_doc_topics.npy``  float32 (n, K): topic mixture of each dataset
- ``lda/k{K}_terms.parquet``   topic, rank, term, weight = p(w|t), p_w = p(w), count: the top
  terms by weight plus every term that ranks in the top ``N_TERMS`` by relevance for some
  λ in 0, 0.1, ..., 1 (so the page can re-rank exactly for a slider stepping by 0.1)
- ``lda/k{K}_topics.parquet``  topic, label, prevalence, stability, coherence_cv,
  coherence_umass, x, y (2D MDS of the Jensen-Shannon distances between topics)
- ``lda/k{K}_distances.npy``   float32 (K, K) Jensen-Shannon distances (base 2, in [0, 1])
- ``lda_vocab.parquet``        term, count, p_w: the corpus term marginals p(w)
- ``lda_models.json``          one entry per K: coherence, stability, timings; the default K
- ``lda_doc_topics.npy``, ``lda_terms.parquet`` (topic, rank, term, weight) and
  ``lda_topics.parquet`` (topic, label, prevalence): the default K, as before.

The default K maximises the c_v coherence (computed on a sample of documents); u_mass is
reported beside it. A topic's stability is the best-match Jaccard similarity of its top
terms with the topics of models trained with other seeds, averaged over those seeds.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.core.text import TOPIC_STOP_WORDS, is_label_word, tokenize_fr, topic_text
from models.core.topic_math import js_distance_matrix, relevance

log = logging.getLogger(__name__)

N_TERMS = 30  # terms listed per topic
STABILITY_TERMS = 20  # top terms compared across seeds
COHERENCE_TERMS = 10  # top terms scored by c_v / u_mass (the usual choice)
LABEL_LAMBDA = 0.6  # labels: top 3 terms by relevance at λ = 0.6 (Sievert & Shirley)
LAMBDA_GRID = tuple(round(x / 10, 1) for x in range(11))


def topic_coordinates(distances: np.ndarray, *, seed: int = 42) -> np.ndarray:
    """2D positions of the topics from their distances (metric MDS, as pyLDAvis)."""
    k = len(distances)
    if k < 3:
        return np.column_stack([np.arange(k, dtype=np.float32) - (k - 1) / 2,
                                np.zeros(k, np.float32)])
    from sklearn.manifold import MDS  # lazy: sklearn takes seconds to import

    mds = MDS(n_components=2, metric="precomputed", init="classical_mds", random_state=seed,
              max_iter=500, normalized_stress="auto")
    return mds.fit_transform(np.asarray(distances, dtype=np.float64)).astype(np.float32)


def best_match_similarity(terms: list[list[str]], others: list[list[list[str]]]) -> np.ndarray:
    """For each topic (its top terms), the best Jaccard similarity with a topic of each other
    run, averaged over the other runs. 1.0 = found again identically with every seed."""
    if not others:
        return np.full(len(terms), np.nan)
    sets = [set(t) for t in terms]
    scores = np.zeros((len(sets), len(others)))
    for j, run in enumerate(others):
        run_sets = [set(t) for t in run]
        for i, s in enumerate(sets):
            scores[i, j] = max((len(s & r) / len(s | r) for r in run_sets if s | r), default=0.0)
    return scores.mean(axis=1)


def choose_default_k(models: list[dict]) -> int:
    """The K of best c_v coherence (u_mass when c_v is missing); ties -> the smaller K."""
    def key(m):
        cv = m.get("coherence_cv")
        um = m.get("coherence_umass")
        cv = -np.inf if cv is None or not np.isfinite(cv) else cv
        um = -np.inf if um is None or not np.isfinite(um) else um
        return (cv, um, -m["k"])

    if not models:
        raise ValueError("no LDA model to choose from")
    return int(max(models, key=key)["k"])


def candidate_terms(p_wt: np.ndarray, p_w: np.ndarray, n: int = N_TERMS) -> np.ndarray:
    """Word ids of the top ``n`` by weight and by relevance for every λ of LAMBDA_GRID."""
    keep: set[int] = set()
    for lam in LAMBDA_GRID:
        r = relevance(p_wt, p_w, lam)
        top = np.argpartition(-r, min(n, len(r)) - 1)[:n]
        keep.update(int(i) for i in top)
    return np.array(sorted(keep), dtype=np.int64)


# ---- corpus -----------------------------------------------------------------------------------
def topic_tokens(df: pd.DataFrame, *, show_progress: bool = False) -> list[list[str]]:
    """Lemmatised French content words of each dataset (title twice, description, tag words),
    without stop words, catalogue boilerplate nor generic words (TOPIC_STOP_WORDS)."""
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    t0 = time.perf_counter()
    texts = [topic_text(t, d, g) for t, d, g in zip(df["title"], df["description_text"],
                                                     df["tags"], strict=True)]
    out = [[w for w in tokenize_fr(x, lemmatize=True) if w not in TOPIC_STOP_WORDS]
           for x in tqdm(texts, desc="lemmes", unit="doc", disable=not show_progress,
                         mininterval=2.0)]
    log.info("topic tokens: %d documents lemmatised in %.1f s", len(out), time.perf_counter() - t0)
    return out


def ensure_topic_tokens(ctx) -> list[list[str]]:
    """``ctx.topic_tokens``, computed once per build (shared by the lda and clusters steps)."""
    if getattr(ctx, "topic_tokens", None) is None:
        ctx.topic_tokens = topic_tokens(ctx.df, show_progress=ctx.settings.show_progress)
    return ctx.topic_tokens


@dataclass
class LdaCorpus:
    docs: list[list[str]]  # tokens after bigrams and topic stop words
    dictionary: object  # gensim Dictionary
    corpus: list[list[tuple[int, int]]]
    term_counts: np.ndarray  # corpus frequency of each dictionary id
    params: dict = field(default_factory=dict)

    @property
    def p_w(self) -> np.ndarray:
        total = self.term_counts.sum()
        return self.term_counts / total if total else self.term_counts.astype(np.float64)


def prepare_corpus(tokens: list[list[str]], *, max_doc_tokens: int = 400, bigrams: bool = True,
                   no_above: float = 0.4, keep_n: int = 50_000) -> LdaCorpus:
    """Topic stop words out, bigrams (gensim Phrases, npmi), long documents cut, dictionary
    filtered (rare terms and terms in more than ``no_above`` of the documents dropped)."""
    from gensim.corpora import Dictionary  # lazy: gensim, only in its build step

    t0 = time.perf_counter()
    n = len(tokens)
    docs = [[w for w in d if w not in TOPIC_STOP_WORDS][:max_doc_tokens] for d in tokens]
    params: dict = {"max_doc_tokens": max_doc_tokens, "bigrams": bigrams}
    if bigrams and n >= 20:
        from gensim.models.phrases import Phrases  # lazy: gensim, only in its build step

        min_count = max(3, min(20, n // 2000))
        phrases = Phrases(docs, min_count=min_count, threshold=0.5, scoring="npmi",
                          delimiter="_").freeze()
        docs = [phrases[d] for d in docs]
        params.update(bigram_min_count=min_count, bigram_threshold_npmi=0.5,
                      bigram_count=len(phrases.phrasegrams))
    no_below = 2 if n < 1000 else 5
    dictionary = Dictionary(docs)
    dictionary.filter_extremes(no_below=no_below, no_above=no_above, keep_n=keep_n)
    dictionary.compactify()
    corpus = [dictionary.doc2bow(d) for d in docs]
    counts = np.zeros(len(dictionary), dtype=np.int64)
    for bow in corpus:
        for i, c in bow:
            counts[i] += c
    params.update(no_below=no_below, no_above=no_above, vocabulary=len(dictionary),
                  tokens=int(counts.sum()), empty_docs=sum(1 for b in corpus if not b),
                  seconds=round(time.perf_counter() - t0, 2))
    log.info("LDA corpus: %d docs, %d terms, %d tokens, %s bigrams (%.1f s)", n, len(dictionary),
             counts.sum(), params.get("bigram_count", 0), params["seconds"])
    return LdaCorpus(docs=docs, dictionary=dictionary, corpus=corpus, term_counts=counts,
                     params=params)


# ---- models -----------------------------------------------------------------------------------
def train_lda(lc: LdaCorpus, k: int, *, seed: int, passes: int = 2, chunksize: int = 4000,
              iterations: int = 50):
    from gensim.models import LdaModel  # lazy: gensim, only in its build step

    return LdaModel(corpus=lc.corpus, id2word=lc.dictionary, num_topics=k, passes=passes,
                    chunksize=chunksize, iterations=iterations, random_state=seed,
                    alpha="symmetric", eta="auto", eval_every=None, dtype=np.float32)


def doc_topic_matrix(lda, corpus, *, chunk: int = 4000) -> np.ndarray:
    """Normalised variational gamma of each document (float32, rows sum to 1; empty = uniform)."""
    k = lda.num_topics
    out = np.full((len(corpus), k), 1.0 / k, dtype=np.float32)
    for start in range(0, len(corpus), chunk):
        part = corpus[start:start + chunk]
        rows = [i for i, b in enumerate(part) if b]
        if not rows:
            continue
        gamma, _ = lda.inference([part[i] for i in rows])
        gamma = gamma / gamma.sum(axis=1, keepdims=True)
        out[start + np.asarray(rows)] = gamma.astype(np.float32)
    return out


def top_word_ids(topic_word: np.ndarray, n: int) -> np.ndarray:
    return np.argsort(-topic_word, axis=1, kind="stable")[:, :n]


def coherence_per_topic(topics: list[list[str]], lc: LdaCorpus, *, sample: int = 5000,
                        seed: int = 42) -> tuple[np.ndarray, np.ndarray, dict]:
    """c_v (texts of a document sample, sliding windows) and u_mass (bag-of-words of the same
    sample) for each topic; one pass over the sample serves every K at once."""
    from gensim.models import CoherenceModel  # lazy: gensim, only in its build step

    t0 = time.perf_counter()
    n = len(lc.docs)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    idx = [int(i) for i in idx if lc.corpus[i]]
    texts = [lc.docs[i] for i in idx]
    bows = [lc.corpus[i] for i in idx]
    cv = CoherenceModel(topics=topics, texts=texts, dictionary=lc.dictionary, coherence="c_v",
                        topn=COHERENCE_TERMS, processes=1).get_coherence_per_topic()
    t1 = time.perf_counter()
    um = CoherenceModel(topics=topics, corpus=bows, dictionary=lc.dictionary,
                        coherence="u_mass", topn=COHERENCE_TERMS,
                        processes=1).get_coherence_per_topic()
    info = {"coherence_docs": len(idx), "cv_seconds": round(t1 - t0, 2),
            "umass_seconds": round(time.perf_counter() - t1, 2)}
    return np.asarray(cv, dtype=np.float64), np.asarray(um, dtype=np.float64), info


@dataclass
class KResult:
    k: int
    doc_topics: np.ndarray
    topic_word: np.ndarray  # (k, V) p(w|t) of the main seed
    top_terms: list[list[str]]  # per topic, STABILITY_TERMS terms by weight
    stability: np.ndarray
    timings: dict


# ---- training every (K, seed) model on both cores ----------------------------------------------
_WORKER_CORPUS: LdaCorpus | None = None  # a training process's copy of the corpus (sent once)


def _init_worker(lc: LdaCorpus) -> None:
    global _WORKER_CORPUS
    _WORKER_CORPUS = lc


def _train_in_worker(k: int, seed: int, passes: int, chunksize: int):
    t0 = time.perf_counter()
    lda = train_lda(_WORKER_CORPUS, k, seed=seed, passes=passes, chunksize=chunksize)
    return lda, round(time.perf_counter() - t0, 2)


def train_all(lc: LdaCorpus, jobs: list[tuple[int, int]], *, passes: int, chunksize: int,
              workers: int, progress=None) -> dict[tuple[int, int], tuple]:
    """``{(k, seed): (model, train seconds)}`` for every job, trained by ``workers`` processes
    (``spawn``: a fresh interpreter each, the corpus sent once to each) or in this process when
    ``workers`` is 1. A model depends only on its corpus, K and seed: the same topics either way
    (``tests/test_topics.py``)."""
    out: dict[tuple[int, int], tuple] = {}
    if workers <= 1 or len(jobs) <= 1:
        for k, seed in jobs:
            t0 = time.perf_counter()
            out[(k, seed)] = (train_lda(lc, k, seed=seed, passes=passes, chunksize=chunksize),
                              round(time.perf_counter() - t0, 2))
            if progress:
                progress(1)
        return out
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # the longest first (a larger K trains longer), so that the two processes end together
    order = sorted(jobs, key=lambda j: -j[0])
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(lc,)) as pool:
        futures = {pool.submit(_train_in_worker, k, seed, passes, chunksize): (k, seed) for k, seed in order}
        for f in as_completed(futures):
            out[futures[f]] = f.result()
            if progress:
                progress(1)
    return out


def fit_k(lc: LdaCorpus, k: int, seeds: list[int], *, passes: int, chunksize: int,
          progress=None, trained: dict | None = None) -> KResult:
    """Models for one K, one per seed (``trained``: already trained, by :func:`train_all`); the
    first seed's model is the one kept."""
    timings: dict = {}
    runs = []
    for s in seeds:
        if trained is not None and (k, s) in trained:
            lda, seconds = trained[(k, s)]
        else:
            t0 = time.perf_counter()
            lda = train_lda(lc, k, seed=s, passes=passes, chunksize=chunksize)
            seconds = round(time.perf_counter() - t0, 2)
            if progress:
                progress(1)
        timings.setdefault("train_seconds", []).append(seconds)
        runs.append(lda)
    main = runs[0]
    t0 = time.perf_counter()
    doc_topics = doc_topic_matrix(main, lc.corpus)
    timings["inference_seconds"] = round(time.perf_counter() - t0, 2)
    dictionary = lc.dictionary
    words = [[[dictionary[int(w)] for w in row] for row in top_word_ids(m.get_topics(), STABILITY_TERMS)]
             for m in runs]
    stability = best_match_similarity(words[0], words[1:])
    log.info("LDA K=%d: trained %d seeds in %s s, inference %.1f s, mean stability %.2f", k,
             len(seeds), timings["train_seconds"], timings["inference_seconds"],
             float(np.nanmean(stability)) if len(stability) else float("nan"))
    return KResult(k=k, doc_topics=doc_topics, topic_word=main.get_topics().astype(np.float64),
                   top_terms=words[0], stability=stability, timings=timings)


def display_term(token: str) -> str:
    """A bigram token "carte_bruit" is shown as "carte bruit" (tokens never hold "_" else)."""
    return token.replace("_", " ")


def terms_frame(topic_word: np.ndarray, lc: LdaCorpus) -> pd.DataFrame:
    """Per topic: the candidate terms (top by weight ∪ top by relevance on the λ grid)."""
    p_w = lc.p_w
    rows = []
    for t in range(len(topic_word)):
        order = np.argsort(-topic_word[t], kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        ids = np.union1d(order[:N_TERMS], candidate_terms(topic_word[t], p_w))
        ids = ids[np.argsort(rank[ids], kind="stable")]
        for w in ids:
            rows.append((t, int(rank[w]), display_term(lc.dictionary[int(w)]), float(topic_word[t, w]),
                         float(p_w[w]), int(lc.term_counts[w])))
    return pd.DataFrame(rows, columns=["topic", "rank", "term", "weight", "p_w", "count"])


def topic_labels(topic_word: np.ndarray, lc: LdaCorpus, n: int = 3) -> list[str]:
    """The ``n`` most relevant terms (λ = LABEL_LAMBDA) among the topic's 200 most probable
    ones (relevance alone favours rare terms), codes and numbers left out."""
    labels = []
    for t in range(len(topic_word)):
        r = relevance(topic_word[t], lc.p_w, LABEL_LAMBDA)
        top = np.argsort(-topic_word[t], kind="stable")[:200]
        words = [display_term(lc.dictionary[int(w)]) for w in top[np.argsort(-r[top], kind="stable")]]
        labels.append(" · ".join([w for w in words if is_label_word(w)][:n] or words[:n]))
    return labels


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def build_lda(ctx) -> None:
    """The ``lda`` step: every K of ``settings.lda_ks`` with ``settings.lda_seeds`` seeds."""
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    s = ctx.settings
    t_all, cpu_all = time.perf_counter(), time.process_time()
    lc = prepare_corpus(ensure_topic_tokens(ctx), max_doc_tokens=s.lda_max_doc_tokens)
    n = len(lc.docs)
    cap = max(2, n // 5)
    ks = sorted({min(int(k), cap) for k in (*s.lda_ks, *([s.lda_k] if s.lda_k else []))})
    seeds = [s.seed + i for i in range(max(1, s.lda_seeds))]
    chunksize = max(2000, min(s.lda_chunksize, n))
    results: list[KResult] = []
    workers = max(1, min(int(s.lda_workers), os.cpu_count() or 1))
    with tqdm(total=len(ks) * len(seeds), desc="LDA", unit="modèle",
              disable=not s.show_progress) as bar:
        t0 = time.perf_counter()
        trained = train_all(lc, [(k, seed) for k in ks for seed in seeds], passes=s.lda_passes,
                            chunksize=chunksize, workers=workers, progress=bar.update)
        log.info("LDA: %d models trained by %d process(es) in %.1f s", len(trained), workers,
                 time.perf_counter() - t0)
        for k in ks:
            results.append(fit_k(lc, k, seeds, passes=s.lda_passes, chunksize=chunksize,
                                 trained=trained))

    # coherence of every topic of every K in one go
    all_topics = [t[:COHERENCE_TERMS] for r in results for t in r.top_terms]
    cv, um, coh_info = coherence_per_topic(all_topics, lc, sample=s.lda_coherence_docs, seed=s.seed)
    log.info("LDA coherence of %d topics on %d documents: c_v %.1f s, u_mass %.1f s",
             len(all_topics), coh_info["coherence_docs"], coh_info["cv_seconds"],
             coh_info["umass_seconds"])

    p_w = lc.p_w
    summaries = []
    frames: dict[int, pd.DataFrame] = {}
    start = 0
    for r in results:
        cv_k, um_k = cv[start:start + r.k], um[start:start + r.k]
        start += r.k
        prevalence = r.doc_topics.sum(axis=0) / r.doc_topics.sum()
        dist = js_distance_matrix(r.topic_word).astype(np.float32)
        xy = topic_coordinates(dist, seed=s.seed)
        labels = topic_labels(r.topic_word, lc)
        topics = pd.DataFrame({
            "topic": np.arange(r.k), "label": labels, "prevalence": prevalence.astype(np.float64),
            "stability": r.stability, "coherence_cv": cv_k, "coherence_umass": um_k,
            "x": xy[:, 0], "y": xy[:, 1],
        })
        frames[r.k] = topics
        terms = terms_frame(r.topic_word, lc)
        prefix = f"lda/k{r.k}"
        ctx.writer.save_npy(f"{prefix}_doc_topics.npy", r.doc_topics)
        ctx.writer.save_parquet(f"{prefix}_terms.parquet", terms)
        ctx.writer.save_parquet(f"{prefix}_topics.parquet", topics)
        ctx.writer.save_npy(f"{prefix}_distances.npy", dist)
        summaries.append({
            "k": r.k,
            "coherence_cv": _nan_to_none(np.nanmean(cv_k)) if np.isfinite(cv_k).any() else None,
            "coherence_umass": _nan_to_none(np.nanmean(um_k)) if np.isfinite(um_k).any() else None,
            "stability_mean": _nan_to_none(np.nanmean(r.stability)) if len(seeds) > 1 else None,
            "stability_min": _nan_to_none(np.nanmin(r.stability)) if len(seeds) > 1 else None,
            "timings": r.timings,
            "files": {"doc_topics": f"{prefix}_doc_topics.npy", "terms": f"{prefix}_terms.parquet",
                      "topics": f"{prefix}_topics.parquet", "distances": f"{prefix}_distances.npy"},
        })
    if s.lda_k:  # a K forced by the settings (it is always among the K built)
        default_k, chosen_by = min(int(s.lda_k), cap), "settings.lda_k"
    else:
        default_k, chosen_by = choose_default_k(summaries), "coherence_cv"
    for m in summaries:
        m["default"] = m["k"] == default_k

    # the default K under the file names the app has always read
    r = next(r for r in results if r.k == default_k)
    topics = frames[default_k]
    ctx.writer.save_npy("lda_doc_topics.npy", r.doc_topics)
    top = np.argsort(-r.topic_word, axis=1, kind="stable")[:, :N_TERMS]
    ctx.writer.save_parquet("lda_terms.parquet", pd.DataFrame(
        [(t, rank, display_term(lc.dictionary[int(w)]), float(r.topic_word[t, w]))
         for t in range(r.k) for rank, w in enumerate(top[t])],
        columns=["topic", "rank", "term", "weight"]))
    ctx.writer.save_parquet("lda_topics.parquet", topics[["topic", "label", "prevalence"]])
    ctx.writer.save_parquet("lda_vocab.parquet", pd.DataFrame({
        "term": [display_term(lc.dictionary[i]) for i in range(len(lc.dictionary))],
        "count": lc.term_counts, "p_w": p_w}))
    seconds = round(time.perf_counter() - t_all, 2)
    cpu_seconds = round(time.process_time() - cpu_all, 2)  # all threads: what 2 idle cores need
    summary = {"default_k": default_k, "chosen_by": chosen_by, "ks": ks, "seeds": seeds,
               "passes": s.lda_passes, "chunksize": chunksize, "corpus": lc.params,
               "coherence": {**coh_info, "topn": COHERENCE_TERMS},
               "stability_terms": STABILITY_TERMS, "label_lambda": LABEL_LAMBDA,
               "seconds": seconds, "cpu_seconds": cpu_seconds, "models": summaries}
    ctx.writer.save_json("lda_models.json", summary)
    ctx.param("lda", ks=ks, default_k=default_k, chosen_by=chosen_by, seeds=seeds,
              passes=s.lda_passes, chunksize=chunksize, coherence_docs=coh_info["coherence_docs"],
              **{k: v for k, v in lc.params.items() if k != "seconds"})
    ctx.manifest["topics"] = {
        "default_k": default_k, "chosen_by": chosen_by, "cpu_seconds": cpu_seconds,
        "coherence_cv": {m["k"]: m["coherence_cv"] for m in summaries},
        "coherence_umass": {m["k"]: m["coherence_umass"] for m in summaries},
        "stability_mean": {m["k"]: m["stability_mean"] for m in summaries},
        "seconds": {"corpus": lc.params["seconds"],
                    "coherence": round(coh_info["cv_seconds"] + coh_info["umass_seconds"], 2),
                    **{f"k{m['k']}": round(sum(m["timings"]["train_seconds"])
                                           + m["timings"]["inference_seconds"], 2)
                       for m in summaries}},
    }
    log.info("LDA: K=%s, default K=%d by %s; c_v %s (%.1f s in all)", ks, default_k, chosen_by,
             {m["k"]: m["coherence_cv"] for m in summaries}, seconds)
