"""What the app and the command line ask of a build: one facade over the artifacts."""

from __future__ import annotations

import copy
import logging
import sys
import threading
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from models.core import quality
from models.core.config import DEFAULT_GEO, _env
from models.core.families import family_keys, group_ranked
from models.core.geo import Gazetteer, Lexicon, use_lexicon
from models.core.store import ArtifactError, Artifacts, load_artifacts
from models.core.territory_entities import gazetteer_from_entities
from models.core.text import fold_accents
from models.serve.assistant import Assistant
from models.serve.fair import FairService
from models.serve.filters import FACET_DEPTH, CatalogueFilters, parse_filters
from models.serve.freshness import FreshnessService
from models.serve.keyword import KeywordSearcher
from models.serve.map_labels import label_payload, load_hierarchy
from models.serve.producers import ProducerService
from models.serve.ranking import (
    SORTS,
    SearchParams,
    boost_factors,
    load_search_params,
    query_features,
    search_result,
    sort_rows,
)
from models.serve.search import (
    DEFAULT_MODE,
    MODES,
    Hit,
    SemanticSearcher,
    clean_query,
    cross_ranks,
    hybrid_scores,
    neighbour_smooth,
    overlap,
    popularity_prior,
    top_k,
)
from models.serve.spelling import Correction, SpellingCorrector
from models.serve.territories import TerritoryService
from models.serve.topics import TopicService
from models.serve.understanding import UnderstandingContext, understand
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


def weighted_position(sims: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Mean of ``coords`` weighted like UMAP's fuzzy memberships: with cosine distances
    ``d``, ``w = exp(-(d - d_min) / σ)`` (σ: mean gap to the nearest), so the nearest
    dataset weighs 1 and farther ones less."""
    d = 1.0 - np.asarray(sims, dtype=np.float64)
    gap = d - d.min()
    sigma = gap.mean() if len(gap) and gap.mean() > 0 else 1.0
    w = np.exp(-gap / sigma)
    return (w[:, None] * np.asarray(coords, dtype=np.float64)).sum(axis=0) / w.sum()


class Explorer:
    """Loaded once per process; every method is read-only and thread-safe."""

    def __init__(self, artifacts: Artifacts, *, encoder=None, model: str | None = None,
                 models_dir: Path | None = None, max_query_chars: int = 500,
                 query_encoder: str = "build") -> None:
        if query_encoder not in QUERY_ENCODERS:
            raise ValueError(f"query encoder {query_encoder!r}: choose among {', '.join(QUERY_ENCODERS)}")
        self.query_encoder = query_encoder
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self._encoder = encoder
        self._model = model
        self._models_dir = models_dir
        self._lock = threading.Lock()
        self._sims_lock = threading.Lock()
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
    def semantic(self) -> SemanticSearcher:
        return SemanticSearcher(self.artifacts.embeddings, self.encoder)

    @cached_property
    def producers(self):
        """Producers page service (models.serve.producers.ProducerService), built on first use."""
        return ProducerService(self)

    @cached_property
    def territories(self):
        """Territories page service (models.serve.territories.TerritoryService)."""
        return TerritoryService(self)

    @cached_property
    def topics(self):
        """LDA topics and embedding clusters (models.serve.topics.TopicService)."""
        return TopicService(self.artifacts)

    @cached_property
    def freshness(self):
        """Declared frequency vs last modification (models.serve.freshness.FreshnessService)."""
        return FreshnessService(self)

    @cached_property
    def fair(self):
        """FAIR metadata score in the MQA's shape (models.serve.fair.FairService)."""
        return FairService(self)

    @cached_property
    def map_labels(self) -> dict | None:
        """Region labels of the map at every zoom (models.serve.map_labels), None if not built."""
        return label_payload(load_hierarchy(self.artifacts))
    # ---- query understanding (places, years, producers, formats in free text) ---------
    @cached_property
    def export_date(self):
        """The date of the export the build was made from (periods such as « récents » are
        judged against it, never the wall clock): newest ``last_modified`` of the catalogue."""
        iso = self.artifacts.manifest.get("parameters", {}).get("producers", {}).get("export_date")
        d = pd.Timestamp(iso) if iso else quality.export_date(self.datasets["last_modified"])
        return (d if d is not None else pd.Timestamp("1970-01-01")).date()

    @cached_property
    def gazetteer(self):
        """The build's COG gazetteer (:class:`models.core.geo.Gazetteer`, its token trie over every
        territory name): rebuilt from the build's ``territory_entities.parquet`` (~60 MB; the COG
        folder's JSON would cost ~90 MB more resident memory for the names of former communes and
        postcodes, which queries rarely use), else loaded from the folder the build used (manifest
        ``parameters.territories.geo_dir``, then ``EXPLORER_GEO``); None without either."""
        if self.artifacts.has("territory_lexicon.npy"):  # the build's copy: no 0.8 s recomputation
            use_lexicon(Lexicon(self.artifacts.npy("territory_lexicon.npy", mmap=False)))
        if self.artifacts.has("territory_entities.parquet"):
            ents = self.artifacts.parquet("territory_entities.parquet")
            if len(ents):
                return gazetteer_from_entities(ents)
        geo = self.artifacts.manifest.get("parameters", {}).get("territories", {}).get("geo_dir")
        for folder in [f for f in (geo, _env("GEO", str(DEFAULT_GEO))) if f]:
            try:
                return Gazetteer.load(folder)
            except (FileNotFoundError, OSError, ValueError) as exc:
                log.info("gazetteer not loaded from %s (%s)", folder, exc)
        log.warning("no gazetteer for %s: places in queries are not recognised", self.artifacts.dir)
        return None

    @cached_property
    def understanding_context(self):
        """What :func:`models.serve.understanding.understand` needs about this build."""
        table = self.producers.table
        n = table["n_in_build"] if "n_in_build" in table else table["n_active"]
        ctx = UnderstandingContext.build(
            gazetteer=self.gazetteer, as_of=self.export_date,
            producers=zip(table["producer_id"], table["organization"], n, strict=True))
        return ctx

    def understand(self, text: str | None):
        """Slots (territory, period, producer, format) and topic words of a free French query
        (:class:`models.serve.understanding.Understanding`)."""
        return understand(clean_query(text, self.max_query_chars), self.understanding_context)

    @cached_property
    def assistant(self):
        """The « Demander » assistant (:class:`models.serve.assistant.Assistant`)."""
        return Assistant(self)

    # ---- lookups ---------------------------------------------------------------
    def row_of(self, dataset_id: str | None) -> int | None:
        return self._row_of_id.get(dataset_id) if dataset_id else None

    def dataset(self, row: int) -> dict:
        """Every column of ``row``, with its ``description`` and ``description_text``."""
        out = self.datasets.iloc[int(row)].to_dict()
        out["description"] = self.description(row)
        out["description_text"] = self.description_text(row)
        return out

    def description(self, row: int) -> str:
        """The description of ``row`` as published (read from disk: never held for every row)."""
        d = self.artifacts.descriptions
        return d.raw(row) if d is not None else ""

    def description_text(self, row: int) -> str:
        """The plain-text description of ``row``."""
        d = self.artifacts.descriptions
        return d.text(row) if d is not None else ""

    def similar(self, row: int) -> list[Hit]:
        idx = self.artifacts.neighbours[row]
        sc = self.artifacts.neighbour_scores[row]
        return [Hit(int(i), float(s)) for i, s in zip(idx, sc, strict=True) if i >= 0]

    # ---- topics of the default LDA model (the map colours, the word clouds) ------
    LDA_FILES = ("lda_doc_topics.npy", "lda_topics.parquet", "lda_terms.parquet")

    @property
    def has_topics(self) -> bool:
        return all(self.artifacts.has(name) for name in self.LDA_FILES)

    @cached_property
    def dominant_topics(self) -> np.ndarray:
        """Dominant LDA topic of every row (int32; all -1 when the build has no topics)."""
        if not self.has_topics:
            return np.full(self.n, -1, dtype=np.int32)
        doc_topics = self.artifacts.npy("lda_doc_topics.npy")
        out = np.empty(len(doc_topics), dtype=np.int32)
        for start in range(0, len(doc_topics), 20_000):  # the mmap is read a chunk at a time
            out[start:start + 20_000] = np.argmax(doc_topics[start:start + 20_000], axis=1)
        return out

    @cached_property
    def topic_table(self):
        """``topic, label, prevalence`` of every topic, by topic number (empty: no topics)."""
        if not self.has_topics:
            return pd.DataFrame({"topic": [], "label": [], "prevalence": []})
        df = self.artifacts.parquet("lda_topics.parquet", columns=["topic", "label", "prevalence"])
        return df.sort_values("topic").reset_index(drop=True)

    @cached_property
    def _topic_terms(self) -> dict[int, list[tuple[str, float]]]:
        if not self.has_topics:
            return {}
        df = self.artifacts.parquet("lda_terms.parquet", columns=["topic", "rank", "term", "weight"])
        df = df.sort_values(["topic", "rank"], kind="stable")
        return {int(t): [(str(term), float(w)) for term, w in zip(g["term"], g["weight"], strict=True)]
                for t, g in df.groupby("topic", sort=True)}

    def topic_terms(self, topic: int, n: int = 30) -> list[tuple[str, float]]:
        """The ``n`` heaviest (term, weight) of ``topic`` ([] for an unknown topic)."""
        return self._topic_terms.get(int(topic), [])[:n]

    def topic_label(self, topic: int | None) -> str | None:
        labels = self.topic_table["label"]
        return str(labels.iloc[int(topic)]) if topic is not None and 0 <= int(topic) < len(labels) else None

    def topic_of_rows(self, rows) -> list[int]:
        """Dominant topic of each row (-1: none)."""
        return [int(t) for t in self.dominant_topics[np.asarray(rows, dtype=np.int64)]]

    # ---- search ----------------------------------------------------------------
    @cached_property
    def keyword(self):
        self._require("keyword_vocab.parquet", "keyword")
        return KeywordSearcher.from_artifacts(self.artifacts)

    @cached_property
    def word(self):
        self._require("word_vocab.parquet", "word")
        return WordSearcher.from_artifacts(self.artifacts)

    @cached_property
    def prior(self) -> np.ndarray:
        return popularity_prior(self.datasets)

    def _require(self, name: str, mode: str) -> None:

        if not self.artifacts.has(name):
            raise ArtifactError(f"the build in {self.artifacts.dir} has no {name} (mode {mode}): "
                                "rebuild it with python -m models build")

    def query_vector(self, query: str) -> np.ndarray:
        """The query's sentence embedding (cached: the map and the search both need it)."""
        cache = self.__dict__.setdefault("_qvec_cache", {})
        vec = cache.get(query)
        if vec is None:
            vec = self.semantic.query_vector(query)
            if len(cache) > 256:
                cache.clear()
            cache[query] = vec
        return vec

    def semantic_sims(self, query: str) -> np.ndarray:
        """Cosine similarity of every dataset to a cleaned query (the last few are kept: a search
        and the query's place on the map both need them, one product over the whole matrix)."""
        cache = self.__dict__.setdefault("_sims_cache", {})
        sims = cache.get(query)
        if sims is None:
            sims = self.artifacts.embeddings @ self.query_vector(query)
            with self._sims_lock:
                while len(cache) >= 8:
                    cache.pop(next(iter(cache)))  # oldest first
                cache[query] = sims
        return sims

    def tag_mask(self, tag: str | None) -> np.ndarray | None:
        """Datasets carrying ``tag`` (None: no filter)."""
        if not tag:
            return None
        tag = tag.strip().lower()
        return self.datasets["tags"].map(lambda ts: ts is not None and tag in set(ts)).to_numpy()

    # ---- filters, parameters, query understanding in the ranking ----------------------
    @cached_property
    def catalogue(self):
        """Per-row filter columns, masks and facet counts (:class:`models.serve.filters.CatalogueFilters`)."""
        return CatalogueFilters(self)

    @cached_property
    def search_params(self):
        """The search constants (:class:`models.serve.ranking.SearchParams`): those the build
        recorded in its manifest (``parameters.search``), else the fitted ``search_params.json``."""
        recorded = self.artifacts.manifest.get("parameters", {}).get("search")
        return SearchParams.from_dict(recorded) if recorded else load_search_params()

    def with_params(self, **changes) -> Explorer:
        """This build searching with other search constants (``SearchParams`` field → value): a
        view that shares every loaded artifact, index and cache with this one (the protocol of
        :mod:`models.serve.protocol` and the tuner compare settings with it).

        Examples
        --------
        >>> exp.with_params(smooth_long=0.0).search_params.smooth_long  # doctest: +SKIP
        0.0
        """
        # what a search needs is loaded once here and shared by every view
        _ = self.encoder, self.catalogue, self.family_keys
        if self.artifacts.has("keyword_vocab.parquet"):
            _ = self.keyword
        other = copy.copy(self)
        other.__dict__["search_params"] = replace(self.search_params, **changes)
        other.__dict__.pop("assistant", None)  # an assistant holds the explorer it was made with
        return other

    def clean_filters(self, filters) -> tuple[dict, list[str]]:
        """Untrusted filters (dict of key → value(s)) → a clean dict and French messages for
        what was dropped (:func:`models.serve.filters.parse_filters`)."""
        if not filters:
            return {}, []
        return parse_filters(filters, self.catalogue)

    def filter_mask(self, filters=None, *, tag: str | None = None, without: str | None = None
                    ) -> np.ndarray | None:
        """Rows passing ``filters`` (clean or raw) and ``tag`` (None: no restriction)."""
        clean, _ = self.clean_filters(filters)
        mask = self.catalogue.mask(clean, without=without) if clean else None
        tm = self.tag_mask(tag)
        if tm is not None:
            mask = tm if mask is None else (mask & tm)
        return mask

    def _raw_scores(self, query: str, mode: str, raw: dict) -> np.ndarray:
        if mode not in raw:
            if mode == "keyword":
                sc = self.keyword.scores(query).astype(np.float64)
                sc[sc <= 0] = -np.inf
            elif mode == "semantic":
                sc = self.semantic_sims(query).astype(np.float64)
            elif mode == "word":
                sc = self.word.scores(query).astype(np.float64)
                if not np.any(sc):
                    sc[:] = -np.inf  # no known word: no result rather than arbitrary ones
            elif mode == "semantic_prf":  # with the Rocchio feedback of the query's class
                prm = self.search_params
                n_docs, weight = prm.prf(query_features(query, prm.short_max_terms).short)
                sem = self._raw_scores(query, "semantic", raw)
                sc = self.feedback_scores(query, sem, n_docs, weight) if n_docs > 0 else sem
            else:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
            raw[mode] = sc
        return raw[mode]

    def mode_scores(self, query: str, mode: str, *, mask: np.ndarray | None = None,
                    _cache: dict | None = None, understanding=None) -> np.ndarray:
        """Score of every dataset for a cleaned query (-inf: not a result). ``mask`` (filters)
        applies before ranking; ``understanding`` (hybrid only): soft boosts for the places,
        periods, producers and formats the query names (:mod:`models.serve.ranking`)."""
        cache = {} if _cache is None else _cache
        raw = cache.setdefault("_raw", {})
        if mode not in cache:
            if mode in ("keyword", "semantic", "word"):
                sc = self._raw_scores(query, mode, raw)
                if mask is not None:
                    sc = np.where(mask, sc, -np.inf)
            elif mode == "hybrid":
                sp = self.search_params
                kw = self._raw_scores(query, "keyword", raw)
                feats = query_features(query, sp.short_max_terms)
                short = feats.short
                key = ("semantic_smooth", sp.smooth(short), sp.smooth_lift_only, sp.smooth_other_families)
                if key not in raw:  # the neighbours' topicality does not depend on the filters
                    raw[key] = neighbour_smooth(
                        self._raw_scores(query, "semantic_prf", raw), self.artifacts.neighbours,
                        sp.smooth(short), lift_only=bool(sp.smooth_lift_only),
                        families=self.family_keys if sp.smooth_other_families and sp.smooth(short) else None)
                sem = raw[key]
                if mask is not None:
                    kw = np.where(mask, kw, -np.inf)
                    sem = np.where(mask, sem, -np.inf)
                sc = hybrid_scores(np.where(np.isfinite(kw), kw, 0.0), sem, self.prior,
                                   sp.hybrid(short, feats.n_terms), keyword_max=self.keyword.max_score(query))
                if understanding is not None:
                    boost = boost_factors(self.catalogue, understanding, sp)
                    if boost is not None:
                        sc = sc * boost
            else:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
            cache[mode] = sc
        return cache[mode]

    def feedback_scores(self, query: str, semantic: np.ndarray, n_docs: int, weight: float,
                        mask: np.ndarray | None = None) -> np.ndarray:
        """Semantic scores after Rocchio pseudo-relevance feedback: the query vector plus
        ``weight`` × the mean vector of its ``n_docs`` nearest datasets, renormalised."""
        emb = self.artifacts.embeddings
        top = [i for i in top_k(semantic, n_docs) if np.isfinite(semantic[i])]
        if not top:
            return semantic
        q = self.query_vector(query) + weight * emb[top].mean(axis=0)
        q = q / (np.linalg.norm(q) or 1.0)
        sc = (emb @ q.astype(np.float32)).astype(np.float64)
        return np.where(mask, sc, -np.inf) if mask is not None else sc

    @cached_property
    def speller(self):
        """Spelling of queries against the catalogue's words (:mod:`models.serve.spelling`), or
        None when the build has no keyword index."""
        try:
            return SpellingCorrector.from_explorer(self)
        except Exception:  # a bonus: never let it break a search
            log.exception("spelling correction unavailable")
            return None

    def spell(self, query: str):
        """:class:`models.serve.spelling.Correction` of a cleaned query: ``.text`` is what to
        search (the typed query, or its unknown words replaced when it finds nothing as typed),
        ``.suggestion`` a corrected query to offer. The places and producers it names (the
        gazetteer knows them even when no dataset does) and words between double quotes are
        kept as typed."""
        sp = self.speller
        if sp is None or not query:
            return Correction(query, query)
        try:
            c = sp.correct(query)
            if not (c.changes or c.suggested):
                return c
            u = self.understand(query)
            protected = [s.span for s in u.slots if s.kind in ("territory", "producer")]
            return sp.correct(query, protected) if protected else c
        except Exception:
            log.exception("spelling correction failed for %r", query[:80])
            return Correction(query, query)

    def query_understanding(self, query: str, ignore: tuple[str, ...] | list[str] = ()):
        """:meth:`understand` without the slots the person removed (chip keys), or None when
        the build cannot tell (no gazetteer and no producer)."""
        try:
            u = self.understand(query)
        except Exception:  # understanding is a bonus: never let it break a search
            log.exception("query understanding failed for %r", query[:80])
            return None
        return u.without(ignore) if ignore else u

    @cached_property
    def family_keys(self) -> np.ndarray:
        """Family key of every row (:func:`models.core.families.family_keys`: producer, title
        without digits and without the place names the build found in it)."""
        t0 = time.perf_counter()
        ds = self.datasets
        places: list[list[str]] = [[] for _ in range(self.n)]
        if self.artifacts.has("territories.parquet"):
            t = self.artifacts.parquet("territories.parquet", columns=["row", "name", "source"])
            t = t[t["source"].astype(str) == "title"]
            for row, name in zip(t["row"].to_numpy(), t["name"].astype(str), strict=True):
                places[int(row)].append(fold_accents(name.lower()))
        col = "organization_id" if "organization_id" in ds else "organization"
        keys = family_keys(ds["title"].fillna("").astype(str).tolist(),
                           ds[col].fillna("").astype(str).tolist() if col in ds else [""] * self.n, places)
        log.info("families of %d datasets: %d keys in %.2f s", self.n, len(np.unique(keys)),
                 time.perf_counter() - t0)
        return keys

    def cards(self, order, scores: np.ndarray, k: int) -> list[Hit]:
        """The first ``k`` results of ``order`` (rows best first), one per family of
        near-identical datasets (its later members in ``Hit.versions``) unless the search
        constants turn families off (``families = 0``)."""
        order = np.asarray(order, dtype=np.int64)
        if k <= 0 or not len(order):
            return []
        if not self.search_params.families:
            return [Hit(int(i), float(scores[i])) for i in order[:k]]
        groups = group_ranked(order, self.family_keys, self.artifacts.embeddings, limit=k,
                              threshold=self.search_params.family_cosine)
        return [Hit(r, float(scores[r]), tuple(m)) for r, m in groups]

    def search(self, query: str, *, mode: str = DEFAULT_MODE, k: int = 20,
               tag: str | None = None, filters=None, sort: str = "relevance",
               ignore_slots: tuple[str, ...] = ()) -> list[Hit]:
        """The ``k`` best datasets for ``query`` in ``mode``.

        ``filters``: a dict (:mod:`models.serve.filters`: producer, territory, year, modified,
        format, licence, frequency, topic, has_reuses), applied before ranking; ``tag`` keeps
        only datasets with that tag. Without a query, filters (or a tag) browse the catalogue,
        most popular first. ``sort``: ``relevance`` (default), ``recent`` or ``popular`` — the
        latter two reorder the best :data:`models.serve.filters.FACET_DEPTH` candidates.
        ``ignore_slots``: keys of understood slots (a place, a year …) not to boost."""
        return self.search_modes(query, modes=(mode,), k=k, tag=tag, filters=filters, sort=sort,
                                 ignore_slots=ignore_slots)[mode]

    def search_modes(self, query: str, *, modes=MODES, k: int = 20, tag: str | None = None,
                     filters=None, sort: str = "relevance",
                     ignore_slots: tuple[str, ...] = ()) -> dict[str, list[Hit]]:
        """Several modes at once, sharing the keyword and semantic scores."""
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; choose among {', '.join(SORTS)}")
        q = self.spell(clean_query(query, self.max_query_chars)).text
        mask = self.filter_mask(filters, tag=tag)
        if not q:
            if mask is None:
                return {m: [] for m in modes}
            sc = np.where(mask, self.prior, -np.inf)
            if sort == "recent":
                sc = np.where(mask, self.catalogue.modified_order.astype(np.float64), -np.inf)
            idx = [i for i in top_k(sc, FACET_DEPTH) if np.isfinite(sc[i])]
            return {m: self.cards(idx, self.prior, k) for m in modes}
        und = self.query_understanding(q, ignore_slots) if "hybrid" in modes else None
        cache: dict = {}
        out = {}
        for mode in modes:
            sc = self.mode_scores(q, mode, mask=mask, _cache=cache, understanding=und)
            pool = top_k(sc, FACET_DEPTH)
            pool = pool[np.isfinite(sc[pool])]
            order = pool if sort == "relevance" else sort_rows(pool, sc, sort, self.catalogue, self.prior)
            out[mode] = self.cards(order, sc, k)
        return out

    def search_result(self, query: str, *, mode: str = DEFAULT_MODE, k: int = 10, filters=None,
                      sort: str = "relevance", facets: bool = True, ignore_slots=(), tag=None):
        """Everything a results page shows (:class:`models.serve.ranking.SearchResult`): hits
        with their reasons, the facet counts, the understood slots, the filter mask (for the
        map) and French messages about dropped filters."""
        return search_result(self, query, mode=mode, k=k, filters=filters, sort=sort, facets=facets,
                             ignore_slots=tuple(ignore_slots or ()), tag=tag)

    def facets(self, query: str = "", filters=None, *, mode: str = DEFAULT_MODE, top: int = 12) -> dict:
        """Facet counts ``{key: [(value, label, count), ...]}`` on the current result set: the
        best 1,000 candidates of ``query`` under ``filters`` (each active key counted without
        its own filter, so its alternatives show), or every filtered row without a query."""
        res = self.search_result(query, mode=mode, k=0, filters=filters, facets=True)
        return {key: [(f.value, f.label, f.count) for f in vals][:top] for key, vals in res.facets.items()}

    @cached_property
    def catalogue_facets(self) -> dict:
        """:meth:`facets` of the whole catalogue (no query, no filter), computed once: the
        filters a first visit can start browsing with."""
        return self.facets("")

    def query_words(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The catalogue words nearest to the query in the word2vec space."""
        q = clean_query(query, self.max_query_chars)
        return self.word.nearest_words(q, k=k) if q else []

    def place_query(self, query: str, k: int = 15) -> dict | None:
        """Where the query falls on the 2D map: the similarity-weighted mean of the map
        coordinates of its ``k`` nearest datasets (what UMAP's ``transform`` starts from;
        the UMAP model itself is not kept). ``{"x", "y", "rows"}`` or None for no query."""
        q = clean_query(query, self.max_query_chars)
        if not q or self.n == 0:
            return None
        sims = self.semantic_sims(q)
        rows = top_k(sims, k)
        xy = weighted_position(sims[rows], self.coords[rows])
        return {"x": float(xy[0]), "y": float(xy[1]), "rows": [int(r) for r in rows]}

    def compare(self, query: str, *, modes=("keyword", "semantic", "hybrid"), k: int = 10,
                depth: int = 100, n_words: int = 8, with_words: bool = True) -> dict:
        """Several modes side by side (the Comparer page), as plain data.

        ``{"columns": {mode: [item]}, "overlap", "words", "rows", "depth"}``: each item is a
        result of :meth:`hits_as_dicts` plus ``row`` and ``ranks`` (its rank in each other mode
        within ``depth``, None beyond); ``rows`` are the hybrid (else last mode's) top ``k``.
        """
        hits = self.search_modes(query, modes=modes, k=depth)
        rows = {m: [h.row for h in hits[m]] for m in modes}  # one row per family: its leader
        ranks = cross_ranks(rows)
        columns = {}
        for m in modes:
            top = hits[m][:k]
            columns[m] = [{"row": h.row, **d, "ranks": {o: ranks[o].get(h.row) for o in modes if o != m}}
                          for h, d in zip(top, self.hits_as_dicts(top), strict=True)]
        words = []
        if with_words:
            try:
                words = self.query_words(query, k=n_words)
            except ArtifactError:
                words = []
        main = "hybrid" if "hybrid" in rows else modes[-1]
        return {"columns": columns, "overlap": overlap(rows, k), "words": words, "rows": rows[main][:k],
                "depth": depth}

    def hits_as_dicts(self, hits: list[Hit]) -> list[dict]:
        """``Hit.as_dict`` of every hit, reading each column once (not one row at a time), with
        ``versions``: the ids of the other members of its family among the results."""
        rows = [h.row for h in hits]
        cols = {c: self.datasets[c].take(rows).tolist() for c in ("id", "title", "organization")}
        ids = self.datasets["id"]
        return [{"id": i, "title": t, "organization": o, "score": round(float(h.score), 4),
                 "versions": [str(ids.iat[v]) for v in h.versions]}
                for h, i, t, o in zip(hits, cols["id"], cols["title"], cols["organization"], strict=True)]

    @property
    def coords(self) -> np.ndarray:
        return self.artifacts.coords
