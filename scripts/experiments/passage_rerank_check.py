"""Would the assistant's passage evidence help search? Re-rank each labelled query's hybrid top
``depth`` by ``(1 − w)·s/s_max + w·p_norm`` (``p``: best passage cosine, as the assistant does)
and print MRR@10 for each ``w`` (in-sample: a quick look, not a fit).

    python scripts/experiments/passage_rerank_check.py --artifacts artifacts \
        --queries ../shared/data/relevance/questions-public.csv [--depth 30,100]

On the full catalogue with the committed search parameters (README): questions-public in-sample
MRR@10 0.748 without it, 0.688–0.735 for w in 0.1–0.5, so search does not use it.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.serve.explorer import Explorer
from models.serve.search import top_k

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--depth", default="30,100")
    args = p.parse_args(argv)
    exp = Explorer.load(args.artifacts)
    ids = np.asarray(exp.datasets["id"].tolist())
    expected = collections.defaultdict(set)
    for r in pd.read_csv(args.queries).itertuples():
        expected[r.query].add(r.expected)
    rr = collections.defaultdict(list)
    for query, rel in expected.items():
        if not np.isin(list(rel), ids).any():
            continue
        sc = np.asarray(exp.engine.mode_scores(query, "hybrid"), dtype=np.float64)
        qv = exp.engine.query_vector(query)
        for depth in (int(d) for d in args.depth.split(",")):
            rows = np.asarray([i for i in top_k(sc, depth) if np.isfinite(sc[i])])
            s_n = sc[rows] / sc[rows].max()
            ps = exp.assistant.best_passage_sims(rows, qv)
            p_n = (ps - ps.min()) / (ps.max() - ps.min()) if ps.max() > ps.min() else np.zeros(len(ps))
            for w in WEIGHTS:
                order = rows[np.argsort(-((1 - w) * s_n + w * p_n), kind="stable")][:10]
                rank = next((i + 1 for i, r in enumerate(order) if ids[r] in rel), None)
                rr[f"depth {depth}, w {w}"].append(1 / rank if rank else 0.0)
    print(json.dumps({k: round(float(np.mean(v)), 4) for k, v in rr.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
