"""Variants of the hybrid ranking for questions, in-sample (a quick look, not a fit): semantic
neighbour smoothing γ, keyword-side neighbour smoothing δ, and e5 term weighting τ (each query
word weighted ``exp((c_t − max c) / τ)``, ``c_t`` = mean cosine between the question and the 20
datasets where the word weighs most, so scaffolding words such as « prennent » or « trouvent »
count less). Every other constant is the committed one; variants apply to long queries only.

    python scripts/experiments/question_experiments.py --artifacts artifacts \
        --queries ../shared/data/relevance/questions-public.csv \
        --variant 0:0:0 --variant 0:0.8:0 --variant 0.02:0:0 --variant 0:0.6:0.3

A variant is ``τ:γ:δ``. Prints MRR@10 and the first relevant rank of each query, as JSON lines.
On the full catalogue (README): γ 0 → 0.748, γ 0.4 → 0.813, γ 0.8 → 0.825; τ 0.01 / 0.02 / 0.03
(γ 0) → 0.734 / 0.742 / 0.713; γ 0.6 with δ 0.3 or 0.6 → 0.825.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.text import keyword_terms
from models.serve.evaluate import read_relevance
from models.serve.explorer import Explorer
from models.serve.ranking import boost_factors, query_features
from models.serve.search import clean_query, hybrid_scores, neighbour_smooth

TOP_DOCS = 20


def weighted_keyword(engine, q: str, sem0: np.ndarray, tau: float) -> tuple[np.ndarray, float]:
    """BM25F scores with e5 term weights, and the query's best attainable score under them."""
    kws = engine.keyword
    ids, qtf = kws.query_terms(q)
    unknown = len(keyword_terms(q)) - float(qtf.sum())
    if not len(ids):
        return np.zeros(engine.n), kws.max_score(q)
    w = np.ones(len(ids))
    if tau > 0 and len(ids) > 1:
        c = []
        for i in ids:
            col = kws.matrix[:, int(i)]
            top = col.indices[np.argsort(-col.data)[:TOP_DOCS]]
            c.append(float(np.mean(sem0[top])))
        c = np.asarray(c)
        w = np.exp((c - c.max()) / tau)
    sc = np.asarray(kws.matrix[:, ids] @ (qtf * w), dtype=np.float64).ravel()
    return sc, float((kws.idf[ids] * qtf * w).sum()) + unknown * kws.max_idf


def first_rank(engine, q: str, rel: set[int], tau: float, gamma: float, delta: float) -> int | None:
    sp = engine.search_params
    short = query_features(q, sp.short_max_terms).short
    raw: dict = {}
    sem0 = engine.scores(q, "semantic", raw)
    sem = engine.scores(q, "semantic_prf", raw)
    if short:
        tau, gamma, delta = 0.0, sp.smooth_short, 0.0
    kw, kmax = weighted_keyword(engine, q, sem0, tau)
    sem = neighbour_smooth(sem, engine.neighbours, gamma)
    kw = neighbour_smooth(kw, engine.neighbours, delta)
    sc = hybrid_scores(kw, sem, engine.prior, sp.hybrid(short), keyword_max=kmax)
    und = engine.query_understanding(q)
    b = boost_factors(engine.catalogue, und, sp) if und is not None else None
    if b is not None:
        sc = sc * b
    best = max(sc[list(rel)])
    r = int(np.count_nonzero(sc > best)) + 1
    return r if np.isfinite(best) else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--variant", action="append", default=None, help="τ:γ:δ (repeat)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    engine = Explorer.load(args.artifacts).engine
    data = []
    for lq in read_relevance(args.queries):
        text, tag = lq.search_args()
        q = clean_query(text, engine.max_query_chars)
        rel = {engine.records.row_of(e) for e in lq.expected} - {None}
        if rel and q and not tag:
            data.append((q, rel))
    for v in args.variant or ["0:0:0"]:
        tau, gamma, delta = (float(x) for x in (v + ":0:0").split(":")[:3])
        ranks = [first_rank(engine, q, rel, tau, gamma, delta) for q, rel in data]
        mrr = float(np.mean([1 / r if r is not None and r <= 10 else 0.0 for r in ranks]))
        print(json.dumps({"variant": {"tau": tau, "gamma": gamma, "delta": delta}, "n": len(data),
                          "mrr@10": round(mrr, 4), "ranks": dict(zip([q for q, _ in data], ranks,
                                                                      strict=True))},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
