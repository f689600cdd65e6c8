"""Where one search's time goes: the page's search (``engine.search_result`` then the result
cards) over the bench's queries, in process, each stage timed by a wrapper; caches are emptied
before each query so every query pays for its encoding and its products.

    python scripts/bench/search_profile.py --artifacts artifacts [--mode hybrid] [--repeat 3] [--json]

Prints, per stage, the mean and p95 milliseconds per search and the share of the whole; stages
nest (the hybrid scores include the semantic ones), so shares do not add up to 100 %. Measure on
an idle machine (load average < 2.5) and give the load with the numbers.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# (module, attribute path, label): each wrapped in place, where the caller looks it up
STAGES = (
    ("models.serve.engine", "SearchEngine.spell", "orthographe"),
    ("models.serve.engine", "SearchEngine.query_understanding", "compréhension de la requête"),
    ("models.serve.engine", "SearchEngine.query_vector", "encodage de la requête"),
    ("models.serve.engine", "SearchEngine.semantic_sims", "similarités (encodage compris)"),
    ("models.serve.engine", "SearchEngine.feedback_scores", "rétroaction de Rocchio"),
    ("models.serve.engine", "neighbour_smooth", "lissage par les voisins"),
    ("models.serve.engine", "hybrid_scores", "fusion hybride"),
    ("models.serve.engine", "boost_factors", "bonus lieu/période/producteur"),
    ("models.serve.engine", "SearchEngine.mode_scores", "scores du mode (tout compris)"),
    ("models.serve.engine", "SearchEngine.cards", "familles (regroupement)"),
    ("models.serve.ranking", "reasons", "raisons des résultats"),
    ("models.serve.ranking", "candidates", "top-k (candidats du tri)"),
    ("models.serve.filters", "CatalogueFilters.facets", "comptes des filtres"),
    ("models.serve.confidence", "assess", "confiance (« rien ne convient »)"),
    ("models.serve.engine", "SearchEngine.search_result", "search_result (tout)"),
)


def wrap(times: dict, module: str, path: str, label: str) -> None:
    import importlib

    mod = importlib.import_module(module)
    owner, _, name = path.rpartition(".")
    target = getattr(mod, owner) if owner else mod
    fn = getattr(target, name)

    @functools.wraps(fn)
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[label] += time.perf_counter() - t0

    setattr(target, name, timed)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--mode", default="hybrid")
    p.add_argument("--repeat", type=int, default=3, help="passes over the queries (default 3)")
    p.add_argument("--k", type=int, default=20, help="results shown (the page's first 20)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:  # as the app runs (app.limit_threads): one BLAS thread a call, the products slice themselves
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass

    from models.bench import QUERIES
    from models.serve.cards import cards
    from models.serve.explorer import Explorer

    times: dict = defaultdict(float)
    for module, path, label in STAGES:
        wrap(times, module, path, label)
    exp = Explorer.load(args.artifacts)
    eng = exp.engine
    eng.search_result("eau potable", mode=args.mode, k=10)  # loads every index once
    per: dict = defaultdict(list)
    for _ in range(args.repeat):
        for q in QUERIES:
            eng.clear_caches()
            times.clear()
            t0 = time.perf_counter()
            res = eng.search_result(q, mode=args.mode, k=args.k)
            t1 = time.perf_counter()
            cards(exp, [h.row for h in res.hits], query=res.query, whys=res.why,
                  scores=[h.score for h in res.hits], ranks=range(1, len(res.hits) + 1),
                  versions=[h.versions for h in res.hits])
            t2 = time.perf_counter()
            times["cartes de résultats"] = t2 - t1
            times["total (recherche + cartes)"] = t2 - t0
            for label, s in times.items():
                per[label].append(s * 1000)
    total = np.mean(per["total (recherche + cartes)"])
    rows = sorted(((label, float(np.mean(v)), float(np.percentile(v, 95))) for label, v in per.items()),
                  key=lambda r: -r[1])
    out = {"mode": args.mode, "n_searches": len(per["total (recherche + cartes)"]),
           "load_average": os.getloadavg()[0],
           "stages_ms": {label: {"mean": round(m, 2), "p95": round(p95, 2)} for label, m, p95 in rows}}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(f"{out['n_searches']} recherches ({args.mode}), charge {out['load_average']:.2f}")
        for label, m, p95 in rows:
            print(f"{label:<38} {m:8.2f} ms  p95 {p95:8.2f} ms  {100 * m / total:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
