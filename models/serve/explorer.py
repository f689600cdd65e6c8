"""What the app and the command line ask of a build: one composition root over the artifacts."""

from __future__ import annotations

import logging
import sys
import threading
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from models.core import serving
from models.core.store import ArtifactError, Artifacts, load_artifacts
from models.serve.assistant import Assistant
from models.serve.engine import SearchEngine, build_family_keys
from models.serve.fair import FairService
from models.serve.filters import CatalogueFilters
from models.serve.freshness import FreshnessService
from models.serve.keyword import KeywordSearcher
from models.serve.map_labels import label_payload, load_hierarchy
from models.serve.producers import ProducerService
from models.serve.ranking import SearchParams, load_search_params
from models.serve.records import Records
from models.serve.search import DEFAULT_MODE, Hit, SemanticSearcher
from models.serve.spelling import SpellingCorrector
from models.serve.territories import TerritoryService
from models.serve.topics import TopicService
from models.serve.understanding import UnderstandingContext
from models.serve.wordvec import WordSearcher

log = logging.getLogger(__name__)


QUERY_THREADS = 1
# "build": queries encoded by the build's model; "onnx": by its int8 ONNX twin when the build's
# model is the torch e5 (the app then never imports torch)
QUERY_ENCODERS = ("build", "onnx")


def limit_torch_threads(n: int) -> None:
    """Queries are encoded one at a time: a few words gain nothing from intra-op parallelism,
    and on a busy machine (gunicorn workers, a build running) torch's spinning worker threads
    turn ~15 ms into seconds (measured: 15-20 ms with 1 thread, 1-2 s with 2 under load)."""
    torch = sys.modules.get("torch")
    if torch is not None and n > 0 and torch.get_num_threads() != n:
        torch.set_num_threads(n)
        log.info("query encoder: torch limited to %d thread(s)", n)


class Explorer:
    """The composition root of one build: loads its artifacts once per process and builds, on
    first use, the services the front doors (the Dash pages, the command line, the JSON API, the
    MCP server) ask. Read-only and thread-safe.

    ``engine`` searches (:class:`models.serve.engine.SearchEngine`), ``records`` looks datasets
    up (:class:`models.serve.records.Records`), ``topics``, ``producers``, ``territories``,
    ``freshness``, ``fair`` and ``catalogue`` (the filter columns) answer their pages,
    ``assistant`` the « Demander » dialogue. Each service receives what it needs, never the
    Explorer. ``artifacts``, ``datasets``, ``max_query_chars`` and ``query_encoder`` are plain
    attributes.

    Examples
    --------
    >>> exp = Explorer.load("artifacts")  # doctest: +SKIP
    >>> [h.row for h in exp.search("vacances scolaires", k=3)]  # doctest: +SKIP
    [63497, 60802, 59499]
    >>> exp.records.dataset(63497)["title"]  # doctest: +SKIP
    'Vacances scolaires par zones'
    """

    def __init__(self, artifacts: Artifacts, *, encoder=None, model: str | None = None,
                 models_dir: Path | None = None, max_query_chars: int = 500,
                 query_encoder: str = "build") -> None:
        if query_encoder not in QUERY_ENCODERS:
            raise ValueError(f"query encoder {query_encoder!r}: choose among {', '.join(QUERY_ENCODERS)}")
        self.query_encoder = query_encoder
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self.max_query_chars = max_query_chars
        self._encoder = encoder
        self._model = model
        self._models_dir = models_dir
        self._lock = threading.Lock()

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

    # ---- the search ------------------------------------------------------------------------
    @cached_property
    def engine(self) -> SearchEngine:
        """The search engine (:class:`models.serve.engine.SearchEngine`): its indexes, query
        encoder, filter columns, query understanding, speller and family keys are loaded on
        first use, once, and shared with every ``engine.with_params(...)``."""
        recorded = self.artifacts.manifest.get("parameters", {}).get("search")
        # the search constants the build recorded (manifest parameters.search), else the fitted JSON
        params = SearchParams.from_dict(recorded) if recorded else load_search_params()
        return SearchEngine(
            self.records, embeddings=self.artifacts.embeddings, neighbours=self.artifacts.neighbours,
            params=params, keyword=lambda: self._keyword, word=lambda: self._word,
            semantic=lambda: self._semantic, catalogue=lambda: self.catalogue,
            understanding=lambda: self._understanding_context, speller=lambda: self._speller,
            family_keys=lambda: self._family_keys,
            model_id=(self.artifacts.manifest.get("model") or {}).get("id"),
            max_query_chars=self.max_query_chars)

    def search(self, query: str, *, mode: str = DEFAULT_MODE, k: int = 20, tag: str | None = None,
               filters=None, sort: str = "relevance", ignore_slots: tuple[str, ...] = ()) -> list[Hit]:
        """The ``k`` best datasets for ``query`` in ``mode``
        (:meth:`models.serve.engine.SearchEngine.search`)."""
        return self.engine.search(query, mode=mode, k=k, tag=tag, filters=filters, sort=sort,
                                  ignore_slots=ignore_slots)

    # ---- the services of the pages -----------------------------------------------------------
    @cached_property
    def records(self) -> Records:
        """Datasets by id and row, descriptions, neighbours, export date
        (:class:`models.serve.records.Records`)."""
        return Records(self.artifacts)

    @cached_property
    def topics(self) -> TopicService:
        """LDA topics and embedding clusters (:class:`models.serve.topics.TopicService`); the
        default model the map and the filters use: ``topics.default``."""
        return TopicService(self.artifacts)

    @cached_property
    def producers(self) -> ProducerService:
        """Producers page service (:class:`models.serve.producers.ProducerService`)."""
        return ProducerService(self.artifacts, search=self.search)

    @cached_property
    def territories(self) -> TerritoryService:
        """Territories page service (:class:`models.serve.territories.TerritoryService`)."""
        return TerritoryService(self.artifacts)

    @cached_property
    def freshness(self) -> FreshnessService:
        """Declared frequency vs last modification (:class:`models.serve.freshness.FreshnessService`)."""
        return FreshnessService(self.artifacts, producers=self.producers)

    @cached_property
    def fair(self) -> FairService:
        """FAIR metadata score in the MQA's shape (:class:`models.serve.fair.FairService`)."""
        return FairService(self.datasets, producers=self.producers)

    @cached_property
    def map_labels(self) -> dict | None:
        """Region labels of the map at every zoom (models.serve.map_labels), None if not built."""
        return label_payload(load_hierarchy(self.artifacts))

    @cached_property
    def catalogue(self) -> CatalogueFilters:
        """Per-row filter columns, masks and facet counts (:class:`models.serve.filters.CatalogueFilters`)."""
        return CatalogueFilters(self.datasets, producers=self.producers, topics=self.topics.default,
                                territories=lambda: self.territories,
                                gazetteer=lambda: self.territories.gazetteer,
                                freshness=lambda: self.freshness,
                                declared=lambda: serving.read(self.artifacts, "declared"))

    @cached_property
    def assistant(self) -> Assistant:
        """The « Demander » assistant (:class:`models.serve.assistant.Assistant`)."""
        return Assistant(self.engine, artifacts=self.artifacts, territories=self.territories,
                         producers=self.producers)

    # ---- what the engine is built on (private: reached through the engine) -------------------
    def _load_encoder(self):
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    from models.core.encoders import load_query_encoder  # at call time: tests patch it

                    m = self.artifacts.manifest["model"]
                    name = self._model or m["name"]
                    models_dir = self._models_dir or self.artifacts.dir.parent.parent / "models"
                    # query_encoder="onnx" and the build's model (no --model): its int8 ONNX twin
                    # when exported (no torch; README: hybrid unchanged, semantic MRR@10 -0.07 on
                    # questions-public); "build": the build's own model; a model named is used as named
                    enc = load_query_encoder(name, models_dir=Path(models_dir),
                                             max_seq_length=m.get("max_seq_length", 128),
                                             onnx=self._model is None and self.query_encoder == "onnx")
                    # queries and datasets in two spaces: refuse (the int8 ONNX encoder of the
                    # build's model is accepted: its ``source_id`` is the build's model id)
                    if m["id"] not in (enc.model_id, getattr(enc, "source_id", None)):
                        raise ArtifactError(
                            f"the artifacts in {self.artifacts.dir} were embedded with {m['id']!r}, "
                            f"the query encoder is {enc.model_id!r}: rebuild them with this model "
                            "or use the build's model")
                    self._encoder = enc
                    log.info("query encoder: %s (%s)", type(enc).__name__, enc.model_id)
                    limit_torch_threads(QUERY_THREADS)
        return self._encoder

    @cached_property
    def _semantic(self) -> SemanticSearcher:
        return SemanticSearcher(self.artifacts.embeddings, self._load_encoder())

    @cached_property
    def _keyword(self) -> KeywordSearcher:
        self._require("keyword_vocab.parquet", "keyword")
        return KeywordSearcher.from_artifacts(self.artifacts)

    @cached_property
    def _word(self) -> WordSearcher:
        self._require("word_vocab.parquet", "word")
        return WordSearcher.from_artifacts(self.artifacts)

    def _require(self, name: str, mode: str) -> None:
        if not self.artifacts.has(name):
            raise ArtifactError(f"the build in {self.artifacts.dir} has no {name} (mode {mode}): "
                                "rebuild it with python -m models build")

    @cached_property
    def _understanding_context(self) -> UnderstandingContext:
        table = self.producers.table
        n = table["n_in_build"] if "n_in_build" in table else table["n_active"]
        return UnderstandingContext.build(
            gazetteer=self.territories.gazetteer, as_of=self.records.export_date,
            producers=zip(table["producer_id"], table["organization"], n, strict=True))

    @cached_property
    def _speller(self):
        try:
            return SpellingCorrector.from_build(self.artifacts, keyword=lambda: self._keyword,
                                                gazetteer=lambda: self.territories.gazetteer)
        except Exception:  # a bonus: never let it break a search
            log.exception("spelling correction unavailable")
            return None

    @cached_property
    def _family_keys(self) -> np.ndarray:
        return build_family_keys(self.artifacts)
