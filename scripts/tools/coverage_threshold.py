"""Choose the answer-set rule of coverage maps (:mod:`models.serve.coverage`) on the labelled files.

A dataset answers a question when its hybrid relevance (scored against the whole catalogue, as
the coverage does) is at least a threshold. For each labelled file and each threshold of a grid
we report the share of labelled relevant datasets inside the answer set (recall; the labels are
not exhaustive, so precision cannot be measured) and the answer set's size (median, p90).

Run: ``.venv/bin/python scripts/tools/coverage_threshold.py --artifacts artifacts [--json OUT]``
(``--queries FILE`` instead of the three labelled files below, repeatable).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

FILES = {"questions-public": REPO.parent / "shared/data/relevance/questions-public.csv",
         "search-indicator": REPO.parent / "shared/data/relevance/search-indicator-datasets.csv",
         "questions-forum": REPO / "tests/data/questions-forum.csv"}
GRID = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--queries", action="append", type=Path,
                    help="labelled CSV (query, expected; repeat; default: the three files of FILES)")
    ap.add_argument("--json", default=None, help="also write the table here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from models.serve.explorer import Explorer
    from models.serve.search import clean_query

    engine = Explorer.load(args.artifacts).engine
    out = {}
    files = {p.stem: p for p in args.queries} if args.queries else FILES
    for name, path in files.items():
        lab = pd.read_csv(Path(path), dtype=str, keep_default_na=False)
        hits = {t: [] for t in GRID}
        sizes = {t: [] for t in GRID}
        for q, g in lab.groupby("query", sort=False):
            qc = engine.spell(clean_query(q, engine.max_query_chars)).text
            sc = engine.mode_scores(qc, "hybrid", understanding=engine.query_understanding(qc))
            ok = np.isfinite(sc)
            rows = [r for r in (engine.records.row_of(i) for i in g["expected"]) if r is not None]
            for t in GRID:
                ans = ok & (sc >= t)
                sizes[t].append(int(ans.sum()))
                hits[t] += [bool(ans[r]) for r in rows]
        out[name] = {"queries": int(lab["query"].nunique()), "pairs": len(hits[GRID[0]]),
                     "grid": [{"threshold": t, "recall": round(float(np.mean(hits[t])), 3),
                               "size_median": int(np.median(sizes[t])),
                               "size_p90": int(np.quantile(sizes[t], 0.9))} for t in GRID]}
    text = json.dumps(out, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
