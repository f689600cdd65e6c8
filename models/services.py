"""What the app and the command line ask of a build: one facade over the artifacts."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from models.artifacts import Artifacts, load_artifacts
from models.search import MODES, Hit, SemanticSearcher, clean_query

log = logging.getLogger(__name__)


class Explorer:
    """Loaded once per process; every method is read-only and thread-safe."""

    def __init__(self, artifacts: Artifacts, *, encoder=None, model: str | None = None,
                 models_dir: Path | None = None, max_query_chars: int = 500) -> None:
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self._encoder = encoder
        self._model = model
        self._models_dir = models_dir
        self._lock = threading.Lock()
        self.max_query_chars = max_query_chars
        self._row_of_id = {ds_id: i for i, ds_id in enumerate(self.datasets["id"])}

    @classmethod
    def load(cls, path, **kwargs) -> Explorer:
        t0 = time.perf_counter()
        exp = cls(load_artifacts(path), **kwargs)
        log.info("artifacts loaded from %s: %d datasets in %.1f s", exp.artifacts.dir,
                 exp.n, time.perf_counter() - t0)
        return exp

    @property
    def n(self) -> int:
        return self.artifacts.n

    # ---- encoder (loaded lazily, once per process) -------------------------------
    @property
    def encoder(self):
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    from models.embeddings import load_encoder

                    m = self.artifacts.manifest["model"]
                    name = self._model or m["name"]
                    models_dir = self._models_dir or self.artifacts.dir.parent.parent / "models"
                    enc = load_encoder(name, models_dir=Path(models_dir),
                                       max_seq_length=m.get("max_seq_length", 128))
                    if enc.model_id != m["id"]:
                        log.warning("query encoder %s differs from the build's %s",
                                    enc.model_id, m["id"])
                    self._encoder = enc
        return self._encoder

    @cached_property
    def semantic(self) -> SemanticSearcher:
        return SemanticSearcher(self.artifacts.embeddings, self.encoder)

    # ---- lookups ---------------------------------------------------------------
    def row_of(self, dataset_id: str | None) -> int | None:
        return self._row_of_id.get(dataset_id) if dataset_id else None

    def dataset(self, row: int) -> dict:
        return self.datasets.iloc[int(row)].to_dict()

    def similar(self, row: int) -> list[Hit]:
        idx = self.artifacts.neighbours[row]
        sc = self.artifacts.neighbour_scores[row]
        return [Hit(int(i), float(s)) for i, s in zip(idx, sc, strict=True) if i >= 0]

    # ---- search ----------------------------------------------------------------
    def search(self, query: str, *, mode: str = "semantic", k: int = 20) -> list[Hit]:
        q = clean_query(query, self.max_query_chars)
        if not q:
            return []
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
        return self.semantic.search(q, k=k)

    def hits_as_dicts(self, hits: list[Hit]) -> list[dict]:
        return [h.as_dict(self.datasets) for h in hits]

    @property
    def coords(self) -> np.ndarray:
        return self.artifacts.coords
