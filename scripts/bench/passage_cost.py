"""What the assistant's passage index costs a cold build: the ``passages`` step's own split and
encoding of a build's descriptions, from an empty cache, timed alone.

    python scripts/bench/passage_cost.py --artifacts artifacts [--budget 0.28] [--json]

Compare ``encode_s`` with the rest of a cold build (the build's manifest → ``steps``): on the
full catalogue, idle machine, budget 0.35 → 24,701 passages in 616 s, 0.28 → 19,761 in 518 s
(README, "Numbers").
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.encoders import load_encoder
from models.core.store import read_manifest, resolve_build_dir
from models.pipeline.embed import embed_passages
from models.pipeline.passages import BUDGET_SHARE, split_passages

log = logging.getLogger("passage_cost")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--budget", type=float, default=BUDGET_SHARE, help="passage vectors / datasets")
    p.add_argument("--models-dir", default=None, help="default: ARTIFACTS/models")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    build = resolve_build_dir(args.artifacts)
    manifest = read_manifest(build)
    df = pd.read_parquet(build / "datasets.parquet", columns=["description_text", "views"])
    t0 = time.perf_counter()
    _, _, to_embed = split_passages(df["description_text"].fillna("").tolist(),
                                    budget=round(args.budget * len(df)),
                                    priority=df["views"].fillna(0).to_numpy(dtype=np.float64))
    t_split = time.perf_counter() - t0
    models_dir = Path(args.models_dir) if args.models_dir else Path(args.artifacts) / "models"
    enc = load_encoder(manifest["model"].get("name", "e5-small-offline"), models_dir=models_dir)
    log.info("encoding %d passages with %s from an empty cache", len(to_embed), enc.model_id)
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        embed_passages(to_embed, enc, Path(tmp), show_progress=False)
        t_enc = time.perf_counter() - t1
    rest = sum(v for k, v in manifest.get("steps", {}).items() if k != "passages")
    out = {"budget_share": args.budget, "passages": len(to_embed), "split_s": round(t_split, 1),
           "encode_s": round(t_enc, 1), "passages_per_s": round(len(to_embed) / max(t_enc, 1e-9), 1),
           "rest_of_build_s": round(rest, 1),
           "share_of_rest": round((t_split + t_enc) / rest, 3) if rest else None}
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
