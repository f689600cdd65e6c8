"""Settings shared by the pipeline, the command line and the app (env vars ``EXPLORER_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = REPO.parent / "shared" / "data" / "catalog" / "export-dataset-20260116-055249.csv.gz"
DEFAULT_ARTIFACTS = REPO / "artifacts"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EXPLORER_{name}", default)


@dataclass
class BuildSettings:
    catalog: str = str(DEFAULT_CATALOG)
    out: Path = DEFAULT_ARTIFACTS
    limit: int | None = None
    include_archived: bool = False
    model: str = field(default_factory=lambda: _env("MODEL", "e5-small-offline"))
    max_seq_length: int = 128
    batch_size: int = 32
    cache_dir: Path | None = None  # default: OUT/cache/embeddings
    models_dir: Path | None = None  # default: OUT/models
    n_neighbours: int = 10
    umap_neighbours: int = 15
    umap_min_dist: float = 0.05
    seed: int = 42
    lda_k: int = 30
    lda_passes: int = 2
    show_progress: bool = True

    @property
    def embedding_cache(self) -> Path:
        return Path(self.cache_dir or Path(self.out) / "cache" / "embeddings")

    @property
    def model_folder(self) -> Path:
        return Path(self.models_dir or Path(self.out) / "models")


@dataclass
class AppSettings:
    artifacts: Path = field(default_factory=lambda: Path(_env("ARTIFACTS", str(DEFAULT_ARTIFACTS))))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8050")))
    debug: bool = field(default_factory=lambda: _env("DEBUG", "0") == "1")
    model: str | None = None  # default: the model recorded in the manifest
    models_dir: Path | None = None
    max_query_chars: int = 500
    n_results: int = 20
    encoder: object | None = None  # inject an encoder (tests)
