"""Settings shared by the pipeline, the command line and the app (env vars ``EXPLORER_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = REPO.parent / "shared" / "data" / "catalog" / "export-dataset-20260116-055249.csv.gz"
DEFAULT_ARTIFACTS = REPO / "artifacts"
DEFAULT_RELEVANCE = REPO.parent / "shared" / "data" / "relevance"  # labelled search queries
DEFAULT_GEO = REPO.parent / "shared" / "data" / "geo"  # COG gazetteer and outlines (territories)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EXPLORER_{name}", default)


@dataclass
class BuildSettings:
    """What one build reads, writes and how (``python -m models build`` options); the model's
    default comes from ``EXPLORER_MODEL``.

    Examples
    --------
    >>> s = BuildSettings(out=Path("artifacts"), limit=200, model="fake-64")
    >>> s.embedding_cache.as_posix(), s.model_folder.as_posix(), s.lda_ks
    ('artifacts/cache/embeddings', 'artifacts/models', (10, 20, 30, 50))
    >>> BuildSettings(out=Path("out"), cache_dir=Path("/tmp/emb")).embedding_cache.as_posix()
    '/tmp/emb'
    """

    catalog: str = str(DEFAULT_CATALOG)
    out: Path = DEFAULT_ARTIFACTS
    limit: int | None = None
    sample: int | None = None  # a stratified sample of N datasets (models.pipeline.sample): a first build
    include_archived: bool = False
    model: str = field(default_factory=lambda: _env("MODEL", "e5-small-offline"))
    max_seq_length: int = 128
    batch_size: int = 32
    cache_dir: Path | None = None  # default: OUT/cache/embeddings
    models_dir: Path | None = None  # default: OUT/models
    n_neighbours: int = 10
    umap_neighbours: int = 15  # the clusters' 5-D UMAP
    umap_min_dist: float = 0.05
    # the 2-D map: 10 neighbours kept more of each dataset's embedding neighbours on the map
    # (0.365 vs 0.331) with a smaller blob (0.0096 vs 0.0102) on the full catalogue (README)
    map_neighbours: int = 10
    seed: int = 42
    lda_ks: tuple[int, ...] = (10, 20, 30, 50)  # LDA models built (one per K)
    lda_k: int | None = None  # force the default K (added to lda_ks); None: best c_v coherence
    lda_passes: int = 2
    lda_seeds: int = 3  # models per K (seed, seed+1, ...): topic stability across seeds
    lda_workers: int = 2  # processes training the LDA models (at most one per core; 1: in the build's)
    lda_chunksize: int = 8000
    lda_max_doc_tokens: int = 400
    lda_coherence_docs: int = 5000  # documents sampled for c_v / u_mass coherence
    cluster_dims: int = 5  # UMAP dimensions before HDBSCAN
    cluster_min_size: int | None = None  # None: scales with the catalogue (sqrt(n)/3, 5..100)
    passage_words: int = 60  # passages of about this many words (models.pipeline.passages)
    passage_max_embedded: int = 2  # passages 1..N embedded (passage 0 reuses the dataset vector)
    passage_max: int = 12  # passages kept per description (spans, for the answer extraction)
    passage_budget: float | None = 0.28  # passage vectors ≤ this × n datasets (None: no cap)
    geo_dir: str = field(default_factory=lambda: _env("GEO", str(DEFAULT_GEO)))  # territories step
    show_progress: bool = True
    # scale-out (models.pipeline.distributed): "local", "local:N" or "tcp://host:8786"; None: in process
    dask: str | None = None
    dask_processes: bool = True  # local clusters: worker processes (False: threads, for tests)
    # publish a searchable build (map, search, similar, cards) before the topics, clusters and
    # passages, then the complete one (models.pipeline.steps.EARLY_STEPS); None: when the
    # catalogue has at least EARLY_MIN_ROWS datasets (the whole export), False: never
    publish_early: bool | None = None
    # above this many datasets, neighbours come from an approximate index (pynndescent) instead of
    # the exact blockwise product, which grows with the square of the catalogue
    exact_neighbours_max: int = 150_000

    @property
    def embedding_cache(self) -> Path:
        return Path(self.cache_dir or Path(self.out) / "cache" / "embeddings")

    @property
    def model_folder(self) -> Path:
        return Path(self.models_dir or Path(self.out) / "models")


@dataclass
class AppSettings:
    """How the app serves a build; the defaults of most fields come from ``EXPLORER_*`` variables
    read when the settings are made.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"EXPLORER_PORT": "9000", "EXPLORER_DEBUG": "1"}):
    ...     s = AppSettings(artifacts=Path("artifacts"))
    >>> s.port, s.debug, s.n_results, s.artifacts.as_posix()
    (9000, True, 20, 'artifacts')
    """

    artifacts: Path = field(default_factory=lambda: Path(_env("ARTIFACTS", str(DEFAULT_ARTIFACTS))))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8050")))
    debug: bool = field(default_factory=lambda: _env("DEBUG", "0") == "1")
    model: str | None = None  # default: the model recorded in the manifest
    models_dir: Path | None = None
    max_query_chars: int = 500
    n_results: int = 20
    # numeric threads per process (BLAS, torch); 0: the libraries' defaults (one per core)
    threads: int = field(default_factory=lambda: int(_env("THREADS", "1")))
    # "build": queries encoded by the build's model; "onnx": by the int8 ONNX twin of the torch
    # e5 model when exported (no torch in the app; README: search quality with mixed encoders)
    query_encoder: str = field(default_factory=lambda: _env("QUERY_ENCODER", "build"))
    encoder: object | None = None  # inject an encoder (tests)
    relevance_dir: Path = field(default_factory=lambda: Path(_env("RELEVANCE", str(DEFAULT_RELEVANCE))))
