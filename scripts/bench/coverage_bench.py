"""Latency of ``coverage`` (models.serve.coverage) on a build: the questions of the labelled
files, alone and with a filter, after one warm-up call (encoder and filter columns loaded).
Prints JSON with ``coverage_p95_ms`` (the issue's bar: ≤ 300 ms on the full catalogue).

Run: ``.venv/bin/python scripts/bench/coverage_bench.py --artifacts artifacts``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

FILES = (REPO.parent / "shared/data/relevance/questions-public.csv",
         REPO.parent / "shared/data/relevance/search-indicator-datasets.csv",
         REPO / "tests/data/questions-forum.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from models.serve.coverage import coverage
    from models.serve.explorer import Explorer

    exp = Explorer.load(args.artifacts)
    queries = []
    for f in FILES:
        queries += list(dict.fromkeys(pd.read_csv(f, dtype=str, keep_default_na=False)["query"]))
    t0 = time.perf_counter()
    coverage(exp, "pistes cyclables")  # warm-up: query encoder, territory and filter columns
    warm = (time.perf_counter() - t0) * 1000
    cases = [(q, None) for q in queries] + [(q, {"format": "csv"}) for q in queries[:40]]
    times = []
    for _ in range(args.repeat):
        for q, f in cases:
            t = time.perf_counter()
            coverage(exp, q, filters=f, per_inhabitants=True)
            times.append((time.perf_counter() - t) * 1000)
    a = np.asarray(times)
    print(json.dumps({"n_calls": len(a), "n_datasets": exp.n, "first_call_ms": round(warm, 1),
                      "coverage_p50_ms": round(float(np.percentile(a, 50)), 1),
                      "coverage_p95_ms": round(float(np.percentile(a, 95)), 1),
                      "coverage_max_ms": round(float(a.max()), 1),
                      "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
