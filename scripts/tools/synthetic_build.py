"""A synthetic big build, to measure the app at catalogue scale before the real build exists.

Tiles every per-dataset artifact of a small build up to ``--n`` rows (default 70,575, the
non-archived catalogue) and publishes the result as a normal build (manifest, hashes, ``current``)
with :class:`models.pipeline.writer.BuildWriter`::

    python scripts/tools/synthetic_build.py --from artifacts/quick-3000 --out /tmp/synthetic --n 70575
    python -m models bench --artifacts /tmp/synthetic

Row ``r`` of tile ``t`` is row ``r`` of the source: ids get a ``-sT`` suffix (unique), map
coordinates and embeddings a little seeded noise (so that points do not sit exactly on top of
each other), neighbour lists and territory and passage rows are shifted into their tile, the
descriptions (``descriptions.arrow``) are tiled, the keyword index (documents x terms, CSC) is
stacked. Files that are not per dataset are copied. ``ROOT/models``
links to the source's model folders (or ``--models-dir``) so the app finds the build's encoder.
Nothing here is for the repository: write the output outside it.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.store import ROWS_FILE, read_manifest, resolve_build_dir, rows_table
from models.pipeline.writer import BuildWriter

log = logging.getLogger("synthetic_build")

NOT_PER_ROW = {"producer_centroids.npy", "word_vectors.npy"}  # even if they happen to have n rows
KEYWORD = ("keyword_data.npy", "keyword_indices.npy", "keyword_indptr.npy")
PER_ROW_TABLES = ("quality.parquet", "freshness.parquet")  # the serving step's (models/core/serving.py)


def tile_rows(arr: np.ndarray, reps: int, n: int) -> np.ndarray:
    return np.concatenate([arr] * reps, axis=0)[:n]


def offsets(n0: int, reps: int, n: int) -> np.ndarray:
    """Row offset of every output row (its tile × n0)."""
    return (np.arange(reps * n0) // n0 * n0)[:n]


def build(src_dir: Path, out: Path, n: int, seed: int = 0, models_dir: Path | None = None) -> Path:
    from scipy import sparse

    manifest = read_manifest(src_dir)
    n0 = int(manifest["n_datasets"])
    reps = math.ceil(n / n0)
    rng = np.random.default_rng(seed)
    off = offsets(n0, reps, n)
    writer = BuildWriter(out)
    tiled, copied = [], []
    try:
        for name in sorted(manifest["files"]):
            path = src_dir / name
            if name in KEYWORD:
                continue
            if name.endswith(".npy"):
                arr = np.load(path, allow_pickle=False)
                if arr.ndim and arr.shape[0] == n0 and name not in NOT_PER_ROW:
                    big = tile_rows(arr, reps, n)
                    if name == "neighbours.npy":
                        big = np.where(big >= 0, big + off[:, None], big)
                        # the last tile may be cut short: a neighbour past the last row is the
                        # first tile's own (the app refuses row ids outside the build)
                        big = np.where(big >= n, big - off[:, None], big).astype(arr.dtype)
                    elif name == "umap.npy":
                        spread = arr.std(axis=0, keepdims=True) * 0.03
                        big = (big + rng.normal(size=big.shape) * spread).astype(arr.dtype)
                    elif name == "embeddings.npy":
                        big = big + rng.normal(scale=0.01, size=big.shape).astype(np.float32)
                        big = (big / np.linalg.norm(big, axis=1, keepdims=True)).astype(arr.dtype)
                    writer.save_npy(name, big)
                    tiled.append(name)
                else:
                    writer.save_npy(name, arr)
                    copied.append(name)
            elif name.endswith(".parquet"):
                df = pd.read_parquet(path)
                if name == "datasets.parquet":
                    big = pd.concat([df] * reps, ignore_index=True).iloc[:n].reset_index(drop=True)
                    tile = off // n0
                    big["id"] = [i if t == 0 else f"{i}-s{t}" for i, t in zip(big["id"], tile, strict=True)]
                    writer.save_parquet(name, big)
                    tiled.append(name)
                    if ROWS_FILE in manifest["files"]:  # the row table the app reads: the same rows
                        writer.save_arrow(ROWS_FILE, rows_table(big))
                        tiled.append(ROWS_FILE)
                elif name in PER_ROW_TABLES and len(df) == n0:  # one row per dataset, in row order
                    writer.save_parquet(name, pd.concat([df] * reps, ignore_index=True).iloc[:n])
                    tiled.append(name)
                elif "row" in df.columns:  # rows of datasets (territories)
                    parts = [df.assign(row=df["row"] + t * n0) for t in range(reps)]
                    big = pd.concat(parts, ignore_index=True)
                    writer.save_parquet(name, big[big["row"] < n].reset_index(drop=True))
                    tiled.append(name)
                else:
                    writer.save_parquet(name, df)
                    copied.append(name)
            elif name == ROWS_FILE:
                continue  # written with datasets.parquet, from its tiled rows
            elif name.endswith(".arrow"):  # descriptions.arrow: one row per dataset
                import pyarrow as pa

                table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
                if table.num_rows == n0:
                    table = pa.concat_tables([table] * reps).slice(0, n).combine_chunks()
                    tiled.append(name)
                else:
                    copied.append(name)
                writer.save_arrow(name, table)
            else:
                target = writer.path(name)
                target.write_bytes(path.read_bytes())
                copied.append(name)
        if all(k in manifest["files"] for k in KEYWORD):
            data, indices, indptr = (np.load(src_dir / k) for k in KEYWORD)
            m = sparse.csc_matrix((data, indices, indptr), shape=(n0, len(indptr) - 1))
            big = sparse.vstack([m] * reps, format="csr")[:n].tocsc()
            big.sort_indices()
            writer.save_npy("keyword_data.npy", big.data.astype(data.dtype))
            writer.save_npy("keyword_indices.npy", big.indices.astype(indices.dtype))
            writer.save_npy("keyword_indptr.npy", big.indptr.astype(indptr.dtype))
            tiled += list(KEYWORD)
        new = {k: v for k, v in manifest.items() if k not in ("files", "build_id", "schema_version")}
        new["n_datasets"] = n
        new["synthetic"] = {"source_build": manifest.get("build_id"), "source_rows": n0, "tiles": reps,
                            "seed": seed, "tiled": tiled}
        final = writer.publish(new)
    except BaseException:
        writer.abort()
        raise
    link = Path(out) / "models"
    source_models = models_dir or src_dir.parent.parent / "models"
    if not link.exists() and Path(source_models).is_dir():
        link.symlink_to(Path(source_models).resolve())
    log.info("synthetic build %s: %d rows (%d tiles of %d); tiled %s; copied %s", final, n, reps, n0,
             ", ".join(tiled), ", ".join(copied))
    return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--from", dest="src", required=True, help="a build folder or artifacts root")
    p.add_argument("--out", required=True, help="artifacts root of the synthetic build")
    p.add_argument("--n", type=int, default=70_575, help="rows of the synthetic build")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models-dir", default=None, help="model folders to link as OUT/models")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    final = build(resolve_build_dir(args.src), Path(args.out), args.n, args.seed,
                  Path(args.models_dir) if args.models_dir else None)
    print(final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
