"""The cosine threshold of a family (models/core/families.py), measured on a build.

    python scripts/tools/family_threshold.py --artifacts artifacts [--json]

For every family key held by two or more datasets (same producer, same title but for digits,
places and small words): the cosine of each member with the key's first dataset. For contrast,
pairs of datasets of one producer with *different* keys (one random other dataset of the producer
per dataset). Printed: quantiles of both distributions, and for thresholds 0.8–0.97 the share of
same-key pairs kept together and of different-key pairs that would pass (a family needs both);
then, on every labelled query and dialogue turn, how many top 10s hold twins with families off
and the mean number of distinct families in the top 10 with families off and on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

THRESHOLDS = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def diversity(engine, k: int = 10) -> dict:
    """On every labelled query and dialogue turn text: the top ``k`` with families off and on —
    queries whose top ``k`` holds two members of one family, and the mean number of families."""
    from models.core.families import group_ranked
    from models.serve.assistant_eval import read_dialogues
    from models.serve.evaluate import read_relevance
    from models.serve.protocol import DIALOGUES, labelled_files

    texts = [q.search_args()[0] for p in labelled_files() for q in read_relevance(p)]
    texts += [t["user"] for d in read_dialogues(DIALOGUES) for t in d["turns"]]
    texts = [t for t in dict.fromkeys(texts) if t]
    off, on = engine.with_params(families=0), engine.with_params(families=1)
    thr = engine.search_params.family_cosine
    emb = engine.embeddings
    dup, fam_off, fam_on, examples = 0, [], [], []
    for t in texts:
        rows = [h.row for h in off.search(t, k=k)]
        n_fam = len(group_ranked(rows, engine.family_keys, emb, threshold=thr))
        fam_off.append(n_fam)
        fam_on.append(len({h.row for h in on.search(t, k=k)}))
        if n_fam < len(rows):
            dup += 1
            if len(examples) < 10:
                examples.append(f"{t[:60]} → {len(rows) - n_fam} twin(s)")
    return {"queries": len(texts), "with_twins_in_top10_families_off": dup,
            "mean_families_in_top10_off": round(float(np.mean(fam_off)), 3),
            "mean_families_in_top10_on": round(float(np.mean(fam_on)), 3), "examples": examples}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from models.serve.explorer import Explorer

    exp = Explorer.load(args.artifacts)
    keys = exp.engine.family_keys
    emb = np.asarray(exp.artifacts.embeddings, dtype=np.float32)
    order = np.argsort(keys, kind="stable")
    first = {}
    same = []
    for r in order:
        k = int(keys[r])
        if k in first:
            same.append(float(emb[r] @ emb[first[k]]))
        else:
            first[k] = int(r)
    ds = exp.datasets
    col = "organization_id" if "organization_id" in ds else "organization"
    prod = ds[col].fillna("").astype(str).to_numpy()
    rng = np.random.default_rng(0)
    other = []
    by_prod: dict[str, list[int]] = {}
    for i, p in enumerate(prod):
        if p:
            by_prod.setdefault(p, []).append(i)
    for rows in by_prod.values():
        if len(rows) < 2:
            continue
        for r in rows:
            o = rows[int(rng.integers(len(rows)))]
            if keys[o] != keys[r]:
                other.append(float(emb[r] @ emb[o]))
    same_a, other_a = np.asarray(same), np.asarray(other)
    qs = (0.01, 0.05, 0.1, 0.25, 0.5)
    _, counts = np.unique(keys, return_counts=True)

    def share(values: np.ndarray, t: float) -> float | None:
        return round(float(np.mean(values >= t)), 4) if len(values) else None

    out = {
        "datasets": exp.n, "family_keys": len(counts),
        "rows_in_multi_member_keys": int(counts[counts > 1].sum()),
        "same_key_pairs": len(same_a), "different_key_pairs": len(other_a),
        # lower quantiles of the twins' cosines, upper ones of the other pairs'
        "same_key_quantiles": {str(q): round(float(np.quantile(same_a, q)), 4) for q in qs}
        if len(same_a) else {},
        "different_key_quantiles": {str(1 - q): round(float(np.quantile(other_a, 1 - q)), 4) for q in qs}
        if len(other_a) else {},
        "thresholds": {str(t): {"same_key_kept": share(same_a, t), "different_key_above": share(other_a, t)}
                       for t in THRESHOLDS},
    }
    out["diversity"] = diversity(exp.engine)
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
