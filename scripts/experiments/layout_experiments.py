"""Try 2D layouts of a build's embeddings and measure each (``models/core/map_quality.py``).

    nice -n 5 python scripts/experiments/layout_experiments.py --artifacts ../main/artifacts \
        --configs current,nn30,md0,collapse --out /tmp/layouts.jsonl [--sample 20000]

Reads the build read-only (embeddings.npy, neighbours.npy, umap.npy, datasets.parquet,
territories.parquet); prints one JSON line per layout: its parameters, neighbour
preservation@10, blob share, seconds. ``current`` measures the build's own umap.npy; with
``--sample N`` every layout (current included) is measured on the same N random rows, with
their exact embedding neighbours recomputed among those rows. ``--save DIR`` keeps each
layout's coordinates as DIR/<name>.npy. ``--vectors tfidf`` replaces the embeddings by TF-IDF
-> SVD-128 vectors of the titles and descriptions (a stand-in when a build's embeddings are not
available yet; ``current`` is then meaningless, use ``base``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.map_quality import layout_quality, map_neighbours
from models.core.store import resolve_build_dir
from models.pipeline.neighbours import knn
from models.pipeline.series import collapse, expand, series_groups, series_keys

log = logging.getLogger("layouts")

CONFIGS = {
    "current": None,  # the build's umap.npy
    "base": {"n_neighbors": 15, "min_dist": 0.05, "metric": "cosine"},
    "nn30": {"n_neighbors": 30, "min_dist": 0.05, "metric": "cosine"},
    "nn50": {"n_neighbors": 50, "min_dist": 0.05, "metric": "cosine"},
    "md0": {"n_neighbors": 15, "min_dist": 0.0, "metric": "cosine"},
    "md02": {"n_neighbors": 15, "min_dist": 0.2, "metric": "cosine"},
    "nn30md0": {"n_neighbors": 30, "min_dist": 0.0, "metric": "cosine"},
    "nn10": {"n_neighbors": 10, "min_dist": 0.05, "metric": "cosine"},
    "nn10md0": {"n_neighbors": 10, "min_dist": 0.0, "metric": "cosine"},
    # the build's map (10 neighbours) started from the PCA of the vectors, as models.pipeline.layout
    # does since UMAP's spectral start failed on the int8 vectors (``nn10``: the spectral start)
    "nn10pca": {"n_neighbors": 10, "min_dist": 0.05, "metric": "cosine", "init": "pca"},
    "euclid": {"n_neighbors": 15, "min_dist": 0.05, "metric": "euclidean"},
    "densmap": {"n_neighbors": 15, "min_dist": 0.05, "metric": "cosine", "densmap": True},
    "collapse": {"n_neighbors": 15, "min_dist": 0.05, "metric": "cosine", "collapse": True},
    "collapse_md0": {"n_neighbors": 15, "min_dist": 0.0, "metric": "cosine", "collapse": True},
    "collapse_nn30": {"n_neighbors": 30, "min_dist": 0.05, "metric": "cosine", "collapse": True},
}


def fit(vectors: np.ndarray, cfg: dict, seed: int = 42) -> np.ndarray:
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=cfg["n_neighbors"], min_dist=cfg["min_dist"],
                        metric=cfg["metric"], densmap=cfg.get("densmap", False), random_state=seed,
                        low_memory=True, verbose=False, init=cfg.get("init", "spectral"))
    return reducer.fit_transform(vectors).astype(np.float32)


def tfidf_vectors(build: Path, rows: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    d = pd.read_parquet(build / "datasets.parquet", columns=["title", "description_text"]).iloc[rows]
    text = (d["title"] + " " + d["title"] + " " + d["description_text"].str.slice(0, 1500)).tolist()
    x = TfidfVectorizer(min_df=3, max_features=50_000, sublinear_tf=True).fit_transform(text)
    x = TruncatedSVD(128, random_state=0).fit_transform(x)
    return (x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)).astype(np.float32)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--artifacts", required=True)
    p.add_argument("--configs", default="current,base,md0,collapse")
    p.add_argument("--sample", type=int, default=0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=None, help="append JSON lines here too")
    p.add_argument("--save", default=None, help="folder for each layout's coordinates")
    p.add_argument("--vectors", choices=("embeddings", "tfidf"), default="embeddings")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    build = resolve_build_dir(args.artifacts)
    if args.vectors == "tfidf":
        n = len(pd.read_parquet(build / "datasets.parquet", columns=["id"]))
        current = np.zeros((n, 2), dtype=np.float32)
    else:
        emb = np.load(build / "embeddings.npy", mmap_mode="r")
        current = np.load(build / "umap.npy")
        n = len(emb)
    rows = np.arange(n)
    if args.sample and args.sample < n:
        rows = np.sort(np.random.default_rng(args.seed).choice(n, args.sample, replace=False))
    x = (tfidf_vectors(build, rows) if args.vectors == "tfidf"
         else np.ascontiguousarray(emb[rows], dtype=np.float32))
    t0 = time.perf_counter()
    if args.vectors == "embeddings" and len(rows) == n and (build / "neighbours.npy").exists():
        nbrs = np.load(build / "neighbours.npy")[:, :10]
    else:
        nbrs = knn(x, k=10)[0]
    log.info("%d rows, embedding neighbours in %.1f s", len(rows), time.perf_counter() - t0)
    group = first = None
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        t0 = time.perf_counter()
        info: dict = {"name": name, "n": len(rows)}
        if cfg is None:
            coords = current[rows]
            info["params"] = "build"
        else:
            info["params"] = cfg
            if cfg.get("collapse"):
                if group is None:
                    df = pd.read_parquet(build / "datasets.parquet", columns=["title", "organization_id"])
                    terr = (pd.read_parquet(build / "territories.parquet", columns=["row", "name", "source"])
                            if (build / "territories.parquet").exists() else None)
                    keys = series_keys(df, terr)[rows]
                    group, first = series_groups(keys)
                info["series_points"] = len(first)
                reps = fit(collapse(x, group), cfg, args.seed)
                _, d = map_neighbours(reps, 1)
                coords = expand(reps, group, spread=float(np.median(d[:, 0])), seed=args.seed)
            else:
                coords = fit(x, cfg, args.seed)
        info["fit_s"] = round(time.perf_counter() - t0, 1)
        info.update(layout_quality(coords, nbrs, k=10))
        line = json.dumps(info)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(line + "\n")
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            np.save(Path(args.save) / f"{name}.npy", coords)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
