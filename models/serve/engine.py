"""The search engine of one build: ``Explorer.engine``.

A :class:`SearchEngine` scores every dataset for a query in each mode (keyword BM25F, semantic
cosine, word2vec, and their hybrid fusion with the popularity prior, the Rocchio feedback, the
neighbour smoothing and the soft boosts of the places, periods, producers and formats a query
names), corrects the query's spelling, folds near-identical datasets into one card, and builds
what a results page shows (:func:`models.serve.ranking.search_result`).

Its dependencies are constructor arguments. The heavy ones (indexes, the query encoder, the filter
columns, the query understanding, the speller, the family keys) are zero-argument callables,
called on first use: a keyword search never loads the sentence encoder. The Explorer
(:mod:`models.serve.explorer`) builds them once per process and shares them with every engine
:meth:`SearchEngine.with_params` derives.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property

import numpy as np

from models.core.families import (
    FAMILY_KEYS_FILE,
    FAMILY_KEYS_VERSION,
    dataset_family_keys,
    group_ranked,
)
from models.core.store import ArtifactError, Artifacts
from models.serve.filters import FACET_DEPTH, parse_filters
from models.serve.products import row_products
from models.serve.ranking import (
    SORTS,
    SearchParams,
    SearchResult,
    boost_factors,
    query_features,
    search_result,
    sort_rows,
)
from models.serve.records import Records
from models.serve.search import (
    DEFAULT_MODE,
    MODES,
    Hit,
    candidates,
    clean_query,
    cross_ranks,
    hybrid_scores,
    neighbour_smooth,
    overlap,
    popularity_prior,
    top_k,
)
from models.serve.spelling import Correction
from models.serve.understanding import understand

log = logging.getLogger(__name__)


def weighted_position(sims: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Mean of ``coords`` weighted like UMAP's fuzzy memberships: with cosine distances
    ``d``, ``w = exp(-(d - d_min) / σ)`` (σ: mean gap to the nearest), so the nearest
    dataset weighs 1 and farther ones less.

    Examples
    --------
    >>> weighted_position(np.array([1.0, 1.0]), np.array([[0.0, 0.0], [2.0, 2.0]])).tolist()
    [1.0, 1.0]
    """
    d = 1.0 - np.asarray(sims, dtype=np.float64)
    gap = d - d.min()
    sigma = gap.mean() if len(gap) and gap.mean() > 0 else 1.0
    w = np.exp(-gap / sigma)
    return (w[:, None] * np.asarray(coords, dtype=np.float64)).sum(axis=0) / w.sum()


def build_family_keys(artifacts: Artifacts) -> np.ndarray:
    """Family key of every row (:func:`models.core.families.dataset_family_keys`: producer, title
    without digits and without the place names the build found in it): the build's
    ``family_keys.npy`` when it kept them with this code's :data:`FAMILY_KEYS_VERSION` (~1 s less
    at each start on the full catalogue), else computed.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> places = {"territories.parquet": pd.DataFrame(
    ...     {"row": [0, 1], "name": ["Lyon", "Paris"], "source": ["title", "title"]})}
    >>> arts = SimpleNamespace(
    ...     datasets=pd.DataFrame({"title": ["Budget 2023 de Lyon", "Budget 2024 de Paris", "Piscines"],
    ...                            "organization_id": ["o1", "o1", "o1"]}), manifest={},
    ...     has=places.__contains__, parquet=lambda name, columns=None: places[name])
    >>> keys = build_family_keys(arts)
    >>> bool(keys[0] == keys[1]), bool(keys[0] == keys[2])  # one budget, several years and places
    (True, False)
    """
    t0 = time.perf_counter()
    n = len(artifacts.datasets)
    kept = artifacts.manifest.get("parameters", {}).get("families", {})
    if artifacts.has(FAMILY_KEYS_FILE) and kept.get("version") == FAMILY_KEYS_VERSION:
        keys = np.asarray(artifacts.npy(FAMILY_KEYS_FILE, mmap=False), dtype=np.int64)
        if keys.shape == (n,):
            return keys
        log.warning("%s has %s keys for %d rows: computed again", FAMILY_KEYS_FILE, keys.shape, n)
    places = (artifacts.parquet("territories.parquet", columns=["row", "name", "source"])
              if artifacts.has("territories.parquet") else None)
    keys = dataset_family_keys(artifacts.datasets, places)
    log.info("families of %d datasets: %d keys in %.2f s", n, len(np.unique(keys)),
             time.perf_counter() - t0)
    return keys


class SearchEngine:
    """Scores, fusion, feedback, smoothing, spelling and result pages of one build
    (read-only and thread-safe, like the Explorer that builds it).

    ``records``: the build's datasets (:class:`models.serve.records.Records`); ``embeddings``,
    ``neighbours``: its dataset vectors and nearest neighbours; ``params``: the search constants
    (:class:`models.serve.ranking.SearchParams`). Called once each on first use: ``keyword``,
    ``word``, ``semantic`` (the searchers of each mode; an ``ArtifactError`` when the build lacks
    an index), ``catalogue`` (:class:`models.serve.filters.CatalogueFilters`), ``understanding``
    (:class:`models.serve.understanding.UnderstandingContext`), ``speller``
    (:class:`models.serve.spelling.SpellingCorrector` or None) and ``family_keys`` (an array).

    Examples
    --------
    >>> engine = Explorer.load("artifacts").engine  # doctest: +SKIP
    >>> [h.row for h in engine.search("vacances scolaires", k=3)]  # doctest: +SKIP
    [63497, 60802, 59499]
    >>> engine.with_params(families=0).search_params.families  # doctest: +SKIP
    0
    """

    def __init__(self, records: Records, *, embeddings: np.ndarray, neighbours: np.ndarray,
                 params: SearchParams, keyword: Callable, word: Callable, semantic: Callable,
                 catalogue: Callable, understanding: Callable, speller: Callable,
                 family_keys: Callable, model_id: str | None = None, max_query_chars: int = 500) -> None:
        self.records = records
        self.datasets = records.datasets
        self.embeddings = embeddings
        self.neighbours = neighbours
        self.search_params = params
        self.model_id = model_id  # the model that embedded the datasets (the answer confidence checks it)
        self.max_query_chars = max_query_chars
        self._keyword, self._word, self._semantic = keyword, word, semantic
        self._catalogue, self._understanding, self._speller = catalogue, understanding, speller
        self._family_keys = family_keys
        self._qvec_cache: dict = {}
        self._sims_cache: dict = {}
        self._sims_lock = threading.Lock()

    @property
    def n(self) -> int:
        return len(self.datasets)

    # ---- what the engine is built on (loaded on first use, shared by every view) -----------
    @property
    def keyword(self):
        """The keyword searcher (:class:`models.serve.keyword.KeywordSearcher`)."""
        return self._keyword()

    @property
    def word(self):
        """The word2vec searcher (:class:`models.serve.wordvec.WordSearcher`)."""
        return self._word()

    @property
    def semantic(self):
        """The sentence-embedding searcher (:class:`models.serve.search.SemanticSearcher`);
        its ``encoder`` encodes the queries."""
        return self._semantic()

    @property
    def catalogue(self):
        """Per-row filter columns, masks and facet counts (:class:`models.serve.filters.CatalogueFilters`)."""
        return self._catalogue()

    @property
    def understanding_context(self):
        """What :func:`models.serve.understanding.understand` needs about this build."""
        return self._understanding()

    @property
    def speller(self):
        """Spelling of queries against the catalogue's words (:mod:`models.serve.spelling`), or
        None when the build has no keyword index."""
        return self._speller()

    @property
    def family_keys(self) -> np.ndarray:
        """Family key of every row (:func:`build_family_keys`)."""
        return self._family_keys()

    @cached_property
    def prior(self) -> np.ndarray:
        """Popularity of every row in [0, 1] (:func:`models.serve.search.popularity_prior`)."""
        return popularity_prior(self.datasets)

    def with_params(self, **changes) -> SearchEngine:
        """This engine searching with other search constants (``SearchParams`` field → value):
        a view that shares every loaded index and cache with this one (the protocol of
        :mod:`models.serve.protocol` and the tuner compare settings with it).

        Examples
        --------
        >>> engine.with_params(smooth_long=0.0).search_params.smooth_long  # doctest: +SKIP
        0.0
        """
        _ = self.prior  # computed once, shared by every view
        other = copy.copy(self)
        other.search_params = replace(self.search_params, **changes)
        return other

    def with_searchers(self, *, keyword=None, word=None, semantic=None) -> SearchEngine:
        """This engine with other searchers for some modes (an experiment's keyword index, a
        semantic searcher over another query encoder), sharing everything else. The query
        vectors and cosines are cached per engine: a view with another ``semantic`` starts
        with empty caches."""
        _ = self.prior
        other = copy.copy(self)
        if keyword is not None:
            other._keyword = lambda: keyword
        if word is not None:
            other._word = lambda: word
        if semantic is not None:
            other._semantic = lambda: semantic
            other._qvec_cache, other._sims_cache = {}, {}
            other._sims_lock = threading.Lock()
        return other

    # ---- the query -------------------------------------------------------------------------
    def understand(self, text: str | None):
        """Slots (territory, period, producer, format) and topic words of a free French query
        (:class:`models.serve.understanding.Understanding`)."""
        return understand(clean_query(text, self.max_query_chars), self.understanding_context)

    def query_understanding(self, query: str, ignore: tuple[str, ...] | list[str] = ()):
        """:meth:`understand` without the slots the person removed (chip keys), or None when
        the build cannot tell (no gazetteer and no producer)."""
        try:
            u = self.understand(query)
        except Exception:  # understanding is a bonus: never let it break a search
            log.exception("query understanding failed for %r", query[:80])
            return None
        return u.without(ignore) if ignore else u

    def spell(self, query: str):
        """:class:`models.serve.spelling.Correction` of a cleaned query: ``.text`` is what to
        search (the typed query, or its unknown words replaced when it finds nothing as typed),
        ``.suggestion`` a corrected query to offer. The places and producers it names (the
        gazetteer knows them even when no dataset does) and words between double quotes are
        kept as typed."""
        if not query:  # browsing with filters: no word to check, the vocabulary not even loaded
            return Correction(query, query)
        sp = self.speller
        if sp is None:
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

    def query_vector(self, query: str) -> np.ndarray:
        """The query's sentence embedding (cached: the map and the search both need it)."""
        cache = self._qvec_cache
        vec = cache.get(query)
        if vec is None:
            vec = self.semantic.query_vector(query)
            if len(cache) > 256:
                cache.clear()
            cache[query] = vec
        return vec

    def clear_caches(self) -> None:
        """Forget the cached query vectors and similarities (a benchmark times every query's
        encoding and products: ``scripts/bench/search_profile.py``)."""
        with self._sims_lock:
            self._qvec_cache.clear()
            self._sims_cache.clear()

    def semantic_sims(self, query: str) -> np.ndarray:
        """Cosine similarity of every dataset to a cleaned query (the last few are kept: a search
        and the query's place on the map both need them, one product over the whole matrix)."""
        cache = self._sims_cache
        sims = cache.get(query)
        if sims is None:
            sims = row_products(self.embeddings, self.query_vector(query))
            with self._sims_lock:
                while len(cache) >= 8:
                    cache.pop(next(iter(cache)))  # oldest first
                cache[query] = sims
        return sims

    # ---- filters -----------------------------------------------------------------------------
    def tag_mask(self, tag: str | None) -> np.ndarray | None:
        """Datasets carrying ``tag`` (None: no filter)."""
        if not tag:
            return None
        tag = tag.strip().lower()
        return self.datasets["tags"].map(lambda ts: ts is not None and tag in set(ts)).to_numpy()

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

    # ---- scores ------------------------------------------------------------------------------
    def scores(self, query: str, mode: str, raw: dict | None = None) -> np.ndarray:
        """Raw score of every dataset for a cleaned query in one base ``mode`` (``keyword``,
        ``semantic``, ``word``, or ``semantic_prf``: semantic with the Rocchio feedback of the
        query's class); -inf: not a result. No filter, no fusion. ``raw``: a dict the scores
        are kept in, by mode (a caller scoring several modes passes the same one)."""
        raw = {} if raw is None else raw
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
                sem = self.scores(query, "semantic", raw)
                sc = self.feedback_scores(query, sem, n_docs, weight) if n_docs > 0 else sem
            else:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
            raw[mode] = sc
        return raw[mode]

    def mode_scores(self, query: str, mode: str, *, mask: np.ndarray | None = None,
                    cache: dict | None = None, understanding=None) -> np.ndarray:
        """Score of every dataset for a cleaned query (-inf: not a result). ``mask`` (filters)
        applies before ranking; ``understanding`` (hybrid only): soft boosts for the places,
        periods, producers and formats the query names (:mod:`models.serve.ranking`).
        ``cache``: a dict shared by the calls of one query (each mode's scores, and under
        ``"_raw"`` the raw scores of :meth:`scores`)."""
        cache = {} if cache is None else cache
        raw = cache.setdefault("_raw", {})
        if mode not in cache:
            if mode in ("keyword", "semantic", "word"):
                sc = self.scores(query, mode, raw)
                if mask is not None:
                    sc = np.where(mask, sc, -np.inf)
            elif mode == "hybrid":
                sp = self.search_params
                kw = self.scores(query, "keyword", raw)
                feats = query_features(query, sp.short_max_terms)
                short = feats.short
                key = ("semantic_smooth", sp.smooth(short), sp.smooth_lift_only, sp.smooth_other_families)
                if key not in raw:  # the neighbours' topicality does not depend on the filters
                    raw[key] = neighbour_smooth(
                        self.scores(query, "semantic_prf", raw), self.neighbours,
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
        emb = self.embeddings
        top = [i for i in top_k(semantic, n_docs) if np.isfinite(semantic[i])]
        if not top:
            return semantic
        q = self.query_vector(query) + weight * emb[top].mean(axis=0)
        q = q / (np.linalg.norm(q) or 1.0)
        sc = row_products(emb, q).astype(np.float64)
        return np.where(mask, sc, -np.inf) if mask is not None else sc

    # ---- results -------------------------------------------------------------------------------
    def cards(self, order, scores: np.ndarray, k: int) -> list[Hit]:
        """The first ``k`` results of ``order`` (rows best first), one per family of
        near-identical datasets (its later members in ``Hit.versions``) unless the search
        constants turn families off (``families = 0``)."""
        order = np.asarray(order, dtype=np.int64)
        if k <= 0 or not len(order):
            return []
        if not self.search_params.families:
            return [Hit(int(i), float(scores[i])) for i in order[:k]]
        groups = group_ranked(order, self.family_keys, self.embeddings, limit=k,
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
            sc = self.mode_scores(q, mode, mask=mask, cache=cache, understanding=und)
            pool = candidates(sc, FACET_DEPTH)
            order = pool if sort == "relevance" else sort_rows(pool, sc, sort, self.catalogue, self.prior)
            out[mode] = self.cards(order, sc, k)
        return out

    def search_result(self, query: str, *, mode: str = DEFAULT_MODE, k: int = 10, filters=None,
                      sort: str = "relevance", facets: bool = True, ignore_slots=(), tag=None
                      ) -> SearchResult:
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
        xy = weighted_position(sims[rows], self.records.coords[rows])
        return {"x": float(xy[0]), "y": float(xy[1]), "rows": [int(r) for r in rows]}

    def compare(self, query: str, *, modes=("keyword", "semantic", "hybrid"), k: int = 10,
                depth: int = 100, n_words: int = 8, with_words: bool = True) -> dict:
        """Several modes side by side (the Comparer page), as plain data.

        ``{"columns": {mode: [item]}, "overlap", "words", "rows", "depth"}``: each item is a
        result of :meth:`models.serve.records.Records.hits_as_dicts` plus ``row`` and ``ranks``
        (its rank in each other mode within ``depth``, None beyond); ``rows`` are the hybrid
        (else last mode's) top ``k``.
        """
        hits = self.search_modes(query, modes=modes, k=depth)
        rows = {m: [h.row for h in hits[m]] for m in modes}  # one row per family: its leader
        ranks = cross_ranks(rows)
        columns = {}
        for m in modes:
            top = hits[m][:k]
            columns[m] = [{"row": h.row, **d, "ranks": {o: ranks[o].get(h.row) for o in modes if o != m}}
                          for h, d in zip(top, self.records.hits_as_dicts(top), strict=True)]
        words = []
        if with_words:
            try:
                words = self.query_words(query, k=n_words)
            except ArtifactError:
                words = []
        main = "hybrid" if "hybrid" in rows else modes[-1]
        return {"columns": columns, "overlap": overlap(rows, k), "words": words, "rows": rows[main][:k],
                "depth": depth}
