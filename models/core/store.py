"""Artifacts store (read side): resolve a build, read and check its manifest, load its files.

Layout of an artifacts root::

    ROOT/builds/<build-id>/manifest.json, datasets.parquet, embeddings.npy, ...
    ROOT/current -> builds/<build-id>      (symlink, swapped atomically)
    ROOT/cache/embeddings/<model>/          (content-keyed embedding cache)
    ROOT/models/                            (offline model folders)

A build is written into ``builds/.tmp-*`` and renamed into place only once every file
and the manifest are on disk, so a killed build leaves the previous one served.
Only ``.npy`` (without pickles), ``.parquet`` and ``.json`` are read back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = ("datasets.parquet", "embeddings.npy", "umap.npy", "neighbours.npy",
                  "neighbour_scores.npy")


class ArtifactError(RuntimeError):
    """Artifacts that cannot be used, with a message saying why and what to do."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()



def resolve_build_dir(path: str | Path) -> Path:
    """A build folder, or an artifacts root whose ``current`` points at one."""
    p = Path(path)
    if (p / MANIFEST).is_file():
        return p
    if (p / "current" / MANIFEST).is_file():
        return (p / "current").resolve()
    raise ArtifactError(
        f"no artifacts in {p}: expected {p / MANIFEST} or {p / 'current' / MANIFEST}. "
        f"Build them with: python -m models build --catalog CATALOG --out {p}"
    )


def read_manifest(build_dir: Path, *, verify_hashes: bool = False,
                  required: tuple[str, ...] = REQUIRED_FILES) -> dict:
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"cannot read {build_dir / MANIFEST}: {exc}") from exc
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"artifacts in {build_dir} have schema version {version!r}, this program reads "
            f"version {SCHEMA_VERSION}: rebuild them with python -m models build"
        )
    files = manifest.get("files", {})
    for name in required:
        if name not in files:
            raise ArtifactError(f"artifacts in {build_dir} lack {name} in their manifest")
    for name, meta in files.items():
        p = build_dir / name
        if not p.is_file():
            raise ArtifactError(f"artifact file missing: {p} (listed in the manifest)")
        if p.stat().st_size != meta.get("bytes"):
            raise ArtifactError(f"artifact file {p} has {p.stat().st_size} bytes, "
                                f"manifest says {meta.get('bytes')}: the build is damaged")
        if verify_hashes and sha256_file(p) != meta.get("sha256"):
            raise ArtifactError(f"artifact file {p} does not match its manifest hash")
    return manifest


@dataclass
class Artifacts:
    """Everything a build holds, loaded for the app and the command line."""

    dir: Path
    manifest: dict
    datasets: pd.DataFrame
    embeddings: np.ndarray
    coords: np.ndarray
    neighbours: np.ndarray
    neighbour_scores: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.datasets)

    def has(self, name: str) -> bool:
        return name in self.manifest.get("files", {})

    def npy(self, name: str, mmap: bool = True) -> np.ndarray:
        return np.load(self.dir / name, mmap_mode="r" if mmap else None, allow_pickle=False)

    def parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.dir / name, columns=columns)

    def json(self, name: str) -> Any:
        return json.loads((self.dir / name).read_text())


DISPLAY_COLUMNS = ["id", "title", "organization", "organization_id", "url", "description",
                   "tags", "created_at", "last_modified", "created_year", "frequency", "license",
                   "spatial_zones", "views", "reuses", "followers", "downloads", "archived",
                   "quality_score", "acronym", "resources_formats", "temporal_start",
                   "temporal_end", "spatial_granularity", "resources_count"]


def _release_arrow_memory() -> None:
    import pyarrow

    pyarrow.default_memory_pool().release_unused()


def load_artifacts(path: str | Path, *, verify_hashes: bool = False,
                   expected_model: str | None = None) -> Artifacts:
    build_dir = resolve_build_dir(path)
    manifest = read_manifest(build_dir, verify_hashes=verify_hashes)
    model = manifest.get("model", {}).get("id")
    if expected_model is not None and model != expected_model:
        raise ArtifactError(f"artifacts in {build_dir} were embedded with {model!r}, "
                            f"not {expected_model!r}: rebuild or configure that model")
    datasets = pd.read_parquet(build_dir / "datasets.parquet")
    _release_arrow_memory()  # the read's buffers (~110 MB on the catalogue), else kept by the pool
    emb = np.load(build_dir / "embeddings.npy", mmap_mode="r", allow_pickle=False)
    arts = Artifacts(
        dir=build_dir, manifest=manifest, datasets=datasets,
        embeddings=np.asarray(emb, dtype=np.float32),
        coords=np.load(build_dir / "umap.npy", allow_pickle=False),
        neighbours=np.load(build_dir / "neighbours.npy", allow_pickle=False),
        neighbour_scores=np.load(build_dir / "neighbour_scores.npy", allow_pickle=False),
    )
    n = manifest.get("n_datasets")
    for name, arr in (("embeddings.npy", arts.embeddings), ("umap.npy", arts.coords),
                      ("neighbours.npy", arts.neighbours)):
        if len(arr) != len(datasets) or len(datasets) != n:
            raise ArtifactError(f"{name} has {len(arr)} rows, datasets.parquet {len(datasets)}, "
                                f"manifest n_datasets {n}: the build is inconsistent")
    return arts
