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


def _check_manifest_shape(build_dir: Path, manifest) -> None:
    """What the app reads from a manifest, with the types it expects."""
    where = build_dir / MANIFEST
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(m, dict) for m in files.values()):
        raise ArtifactError(f"{where} has no valid \"files\" table: the build is damaged")
    model = manifest.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("id"), str):
        raise ArtifactError(f"{where} does not name its embedding model (\"model\": {{\"id\": ...}}): "
                            "the build is damaged, rebuild it")
    n = manifest.get("n_datasets")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ArtifactError(f"{where} has no valid n_datasets ({n!r}): the build is damaged")


def read_manifest(build_dir: Path, *, verify_hashes: bool = False,
                  required: tuple[str, ...] = REQUIRED_FILES) -> dict:
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {build_dir / MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{build_dir / MANIFEST} is not a JSON object: the build is damaged")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"artifacts in {build_dir} have schema version {version!r}, this program reads "
            f"version {SCHEMA_VERSION}: rebuild them with python -m models build"
        )
    _check_manifest_shape(build_dir, manifest)
    files = manifest["files"]
    for name in required:
        if name not in files:
            raise ArtifactError(f"artifacts in {build_dir} lack {name} in their manifest")
    for name, meta in files.items():
        p = build_dir / name
        if not _inside(build_dir, p):
            raise ArtifactError(f"{build_dir / MANIFEST} lists a file outside the build: {name!r}")
        if not p.is_file():
            raise ArtifactError(f"artifact file missing: {p} (listed in the manifest)")
        if p.stat().st_size != meta.get("bytes"):
            raise ArtifactError(f"artifact file {p} has {p.stat().st_size} bytes, "
                                f"manifest says {meta.get('bytes')}: the build is damaged")
        if verify_hashes and sha256_file(p) != meta.get("sha256"):
            raise ArtifactError(f"artifact file {p} does not match its manifest hash")
    return manifest


def _inside(build_dir: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(build_dir.resolve())
    except ValueError:
        return False
    return True


def verify_build(path: str | Path) -> tuple[int, list[str]]:
    """``python -m models verify``: the sha256 and size of every file of the manifest, then
    the invariants checked at start. Returns (files checked, problems: one line each)."""
    try:
        build_dir = resolve_build_dir(path)
        manifest = read_manifest(build_dir)
    except ArtifactError as exc:
        return 0, [str(exc)]
    problems = []
    for name, meta in sorted(manifest["files"].items()):
        if sha256_file(build_dir / name) != meta.get("sha256"):
            problems.append(f"{name}: sha256 differs from the manifest (file damaged or replaced)")
    if not problems:
        try:
            load_artifacts(build_dir)
        except ArtifactError as exc:
            problems.append(str(exc))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"cannot read the build: {exc}")
    return len(manifest["files"]), problems


def check_invariants(arts: Artifacts) -> None:
    """What every page relies on: one row per dataset in every per-row file, finite map
    coordinates, neighbour ids within the build (-1: none), unique dataset ids."""
    n = arts.n
    where = arts.dir
    if arts.coords.ndim != 2 or arts.coords.shape[1] != 2 or not np.isfinite(arts.coords).all():
        raise ArtifactError(f"umap.npy in {where} is not n × 2 finite coordinates: the build is damaged")
    nb, sc = arts.neighbours, arts.neighbour_scores
    if nb.ndim != 2 or sc.shape != nb.shape or not np.issubdtype(nb.dtype, np.integer):
        raise ArtifactError(f"neighbours.npy / neighbour_scores.npy in {where} do not match: "
                            "the build is damaged")
    if nb.size and (nb.min() < -1 or nb.max() >= n):
        raise ArtifactError(f"neighbours.npy in {where} holds row ids outside 0..{n - 1}: "
                            "the build is damaged")
    if arts.embeddings.ndim != 2 or not np.isfinite(arts.embeddings).all():
        raise ArtifactError(f"embeddings.npy in {where} is not a finite matrix: the build is damaged")
    if "id" not in arts.datasets.columns or not arts.datasets["id"].is_unique:
        raise ArtifactError(f"datasets.parquet in {where} lacks unique dataset ids: the build is damaged")


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
    model = manifest["model"]["id"]
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
    check_invariants(arts)
    return arts
