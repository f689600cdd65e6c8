"""What the app and the command line ask of a build: one facade over the artifacts."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from pathlib import Path

import numpy as np

from models.core.store import ArtifactError, Artifacts, load_artifacts
from models.serve.search import (
    DEFAULT_MODE,
    MODES,
    Hit,
    HybridParams,
    SemanticSearcher,
    clean_query,
    cross_ranks,
    hybrid_scores,
    overlap,
    popularity_prior,
    top_k,
)

log = logging.getLogger(__name__)


QUERY_THREADS = 1


def limit_torch_threads(n: int) -> None:
    """Queries are encoded one at a time: a few words gain nothing from intra-op parallelism,
    and on a busy machine (gunicorn workers, a build running) torch's spinning worker threads
    turn ~15 ms into seconds (measured: 15-20 ms with 1 thread, 1-2 s with 2 under load)."""
    import sys

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
                 models_dir: Path | None = None, max_query_chars: int = 500) -> None:
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
                    from models.core.encoders import load_query_encoder

                    m = self.artifacts.manifest["model"]
                    name = self._model or m["name"]
                    models_dir = self._models_dir or self.artifacts.dir.parent.parent / "models"
                    enc = load_query_encoder(name, models_dir=Path(models_dir),
                                             max_seq_length=m.get("max_seq_length", 128))
                    if enc.model_id != m["id"]:  # queries and datasets in two spaces: refuse
                        raise ArtifactError(
                            f"the artifacts in {self.artifacts.dir} were embedded with {m['id']!r}, "
                            f"the query encoder is {enc.model_id!r}: rebuild them with this model "
                            "or use the build's model")
                    self._encoder = enc
                    limit_torch_threads(QUERY_THREADS)
        return self._encoder

    @cached_property
    def semantic(self) -> SemanticSearcher:
        return SemanticSearcher(self.artifacts.embeddings, self.encoder)

    @cached_property
    def producers(self):
        """Producers page service (models.serve.producers.ProducerService), built on first use."""
        from models.serve.producers import ProducerService

        return ProducerService(self)

    @cached_property
    def territories(self):
        """Territories page service (models.serve.territories.TerritoryService)."""
        from models.serve.territories import TerritoryService

        return TerritoryService(self)

    @cached_property
    def topics(self):
        """LDA topics and embedding clusters (models.serve.topics.TopicService)."""
        from models.serve.topics import TopicService

        return TopicService(self.artifacts)

    @cached_property
    def map_labels(self) -> dict | None:
        """Region labels of the map at every zoom (models.serve.map_labels), None if not built."""
        from models.serve.map_labels import label_payload, load_hierarchy

        return label_payload(load_hierarchy(self.artifacts))

    # ---- lookups ---------------------------------------------------------------
    def row_of(self, dataset_id: str | None) -> int | None:
        return self._row_of_id.get(dataset_id) if dataset_id else None

    def dataset(self, row: int) -> dict:
        return self.datasets.iloc[int(row)].to_dict()

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
        import pandas as pd

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
        from models.serve.keyword import KeywordSearcher

        self._require("keyword_vocab.parquet", "keyword")
        return KeywordSearcher.from_artifacts(self.artifacts)

    @cached_property
    def word(self):
        from models.serve.wordvec import WordSearcher

        self._require("word_vocab.parquet", "word")
        return WordSearcher.from_artifacts(self.artifacts)

    @cached_property
    def prior(self) -> np.ndarray:
        return popularity_prior(self.datasets)

    hybrid_params = HybridParams()

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

    def mode_scores(self, query: str, mode: str, *, mask: np.ndarray | None = None,
                    _cache: dict | None = None) -> np.ndarray:
        """Score of every dataset for a cleaned query (-inf: not a result)."""
        cache = {} if _cache is None else _cache
        if mode not in cache:
            if mode == "keyword":
                sc = self.keyword.scores(query).astype(np.float64)
                sc[sc <= 0] = -np.inf
            elif mode == "semantic":
                sc = self.semantic_sims(query).astype(np.float64)
            elif mode == "word":
                sc = self.word.scores(query).astype(np.float64)
                if not np.any(sc):
                    sc[:] = -np.inf  # no known word: no result rather than arbitrary ones
            elif mode == "hybrid":
                kw = self.mode_scores(query, "keyword", mask=mask, _cache=cache)
                sem = self.mode_scores(query, "semantic", mask=mask, _cache=cache)
                prm = self.hybrid_params
                if prm.prf_docs > 0:
                    sem = self.feedback_scores(query, sem, prm.prf_docs, prm.prf_weight, mask)
                sc = hybrid_scores(np.where(np.isfinite(kw), kw, 0.0), sem, self.prior, prm,
                                   keyword_max=self.keyword.max_score(query))
            else:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
            if mask is not None and mode != "hybrid":
                sc = np.where(mask, sc, -np.inf)
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

    def search(self, query: str, *, mode: str = DEFAULT_MODE, k: int = 20,
               tag: str | None = None) -> list[Hit]:
        """The ``k`` best datasets for ``query`` in ``mode``; ``tag`` keeps only datasets with
        that tag (an empty query with a tag lists them by popularity)."""
        return self.search_modes(query, modes=(mode,), k=k, tag=tag)[mode]

    def search_modes(self, query: str, *, modes=MODES, k: int = 20,
                     tag: str | None = None) -> dict[str, list[Hit]]:
        """Several modes at once, sharing the keyword and semantic scores."""
        for mode in modes:
            if mode not in MODES:
                raise ValueError(f"unknown search mode {mode!r}; choose among {', '.join(MODES)}")
        q = clean_query(query, self.max_query_chars)
        mask = self.tag_mask(tag)
        if not q:
            if mask is None:
                return {m: [] for m in modes}
            sc = np.where(mask, self.prior, -np.inf)
            idx = [i for i in top_k(sc, k) if np.isfinite(sc[i])]
            return {m: [Hit(int(i), float(sc[i])) for i in idx] for m in modes}
        cache: dict = {}
        out = {}
        for mode in modes:
            sc = self.mode_scores(q, mode, mask=mask, _cache=cache)
            out[mode] = [Hit(int(i), float(sc[i])) for i in top_k(sc, k) if np.isfinite(sc[i])]
        return out

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
        rows = {m: [h.row for h in hits[m]] for m in modes}
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
        """``Hit.as_dict`` of every hit, reading each column once (not one row at a time)."""
        rows = [h.row for h in hits]
        cols = {c: self.datasets[c].take(rows).tolist() for c in ("id", "title", "organization")}
        return [{"id": i, "title": t, "organization": o, "score": round(float(h.score), 4)}
                for h, i, t, o in zip(hits, cols["id"], cols["title"], cols["organization"], strict=True)]

    @property
    def coords(self) -> np.ndarray:
        return self.artifacts.coords
