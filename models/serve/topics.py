"""Topics and embedding clusters of a build, as plain data for the app and the command line.

``Explorer.topics`` is one :class:`TopicService`; everything it returns is plain Python,
numpy or pandas (no Dash), computed from the files the ``lda`` and ``clusters`` steps wrote.
``TopicService.default`` (:class:`DefaultTopics`) is the default LDA model as the map colours,
the word clouds, the « thème » filter and the dataset cards use it.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pandas as pd

from models.core.topic_math import relevance
from models.serve.map_time import FIRST_PLAUSIBLE_YEAR, last_plausible_year, plausible, row_years
from models.serve.mds import mds_2d

log = logging.getLogger(__name__)

MAX_MDS_POINTS = 3000
NOISE_LABEL = "hors groupe"


class _Memo:
    """Values computed once per key, thread-safe: ``self._cache`` checked again under
    ``self._lock`` (both set by the subclass's ``__init__``)."""

    _lock: threading.Lock | threading.RLock
    _cache: dict

    def _cached(self, key, fn):
        if key not in self._cache:
            with self._lock:
                if key not in self._cache:
                    self._cache[key] = fn()
        return self._cache[key]


class DefaultTopics(_Memo):
    """The default LDA model of a build (``lda_doc_topics.npy``, ``lda_topics.parquet``,
    ``lda_terms.parquet``): each row's dominant topic, the topics' labels and terms. Without
    those files (or after :meth:`switch_off`), no topic: every row's topic is -1.

    Examples
    --------
    >>> topics = TopicService(load_artifacts("artifacts")).default  # doctest: +SKIP
    >>> topics.label(int(topics.of_rows([0])[0]))  # doctest: +SKIP
    'transport, ligne, arrêt'
    """

    FILES = ("lda_doc_topics.npy", "lda_topics.parquet", "lda_terms.parquet")

    def __init__(self, artifacts) -> None:
        self.artifacts = artifacts
        self._on = True
        self._lock = threading.Lock()
        self._cache: dict = {}

    @property
    def available(self) -> bool:
        """The build has the default model's files (and they were not switched off)."""
        return self._on and all(self.artifacts.has(name) for name in self.FILES)

    @property
    def dominant(self) -> np.ndarray:
        """Dominant topic of every row (int32; all -1 when the build has no topics)."""
        return self._cached("dominant", self._dominant)

    def _dominant(self) -> np.ndarray:
        if not self.available:
            return np.full(self.artifacts.n, -1, dtype=np.int32)
        doc_topics = self.artifacts.npy("lda_doc_topics.npy")
        out = np.empty(len(doc_topics), dtype=np.int32)
        for start in range(0, len(doc_topics), 20_000):  # the mmap is read a chunk at a time
            out[start:start + 20_000] = np.argmax(doc_topics[start:start + 20_000], axis=1)
        return out

    @property
    def table(self) -> pd.DataFrame:
        """``topic, label, prevalence`` of every topic, by topic number (empty: no topics)."""
        return self._cached("table", self._table)

    def _table(self) -> pd.DataFrame:
        if not self.available:
            return pd.DataFrame({"topic": [], "label": [], "prevalence": []})
        df = self.artifacts.parquet("lda_topics.parquet", columns=["topic", "label", "prevalence"])
        return df.sort_values("topic").reset_index(drop=True)

    def _all_terms(self) -> dict[int, list[tuple[str, float]]]:
        if not self.available:
            return {}
        df = self.artifacts.parquet("lda_terms.parquet", columns=["topic", "rank", "term", "weight"])
        df = df.sort_values(["topic", "rank"], kind="stable")
        return {int(t): [(str(term), float(w)) for term, w in zip(g["term"], g["weight"], strict=True)]
                for t, g in df.groupby("topic", sort=True)}

    def terms(self, topic: int, n: int = 30) -> list[tuple[str, float]]:
        """The ``n`` heaviest (term, weight) of ``topic`` ([] for an unknown topic)."""
        return self._cached("terms", self._all_terms).get(int(topic), [])[:n]

    def label(self, topic: int | None) -> str | None:
        """The label of ``topic`` (None: no such topic)."""
        labels = self.table["label"]
        return str(labels.iloc[int(topic)]) if topic is not None and 0 <= int(topic) < len(labels) else None

    def of_rows(self, rows) -> list[int]:
        """Dominant topic of each row (-1: none)."""
        return [int(t) for t in self.dominant[np.asarray(rows, dtype=np.int64)]]

    def check(self) -> None:
        """Read every file of the default model now (raises when one is damaged)."""
        _ = self.table, self.dominant, self.terms(0)

    def switch_off(self) -> None:
        """Serve no topic from now on (the files are damaged): every row's topic is -1."""
        with self._lock:
            self._on = False
            self._cache.clear()


class TopicService(_Memo):
    """The topics of a build: the LDA models of several K (``lda_models.json``, ``lda/``), the
    default model (:class:`DefaultTopics`), the embedding clusters; read on first use, cached.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> files = {"lda_models.json": {"default_k": 20, "models": [{"k": 10}, {"k": 20}]}}
    >>> svc = TopicService(SimpleNamespace(datasets=None, has=files.__contains__, json=files.__getitem__))
    >>> svc.available, svc.ks(), svc.check_k(None), svc.model_info(10)
    (True, [10, 20], 20, {'k': 10})
    >>> svc.check_k(15)
    Traceback (most recent call last):
    ...
    ValueError: no LDA model with K=15 in this build; built: 10, 20
    """

    def __init__(self, artifacts) -> None:
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self._lock = threading.RLock()  # cached values may need other cached values
        self._cache: dict = {}
        self.default = DefaultTopics(artifacts)

    # ---- what was built ---------------------------------------------------------------------
    @property
    def summary(self) -> dict:
        """lda_models.json ({} when the build has no multi-K topics)."""
        if "summary" not in self._cache:
            arts = self.artifacts
            self._cache["summary"] = arts.json("lda_models.json") if arts.has("lda_models.json") else {}
        return self._cache["summary"]

    @property
    def available(self) -> bool:
        return bool(self.summary.get("models"))

    def ks(self) -> list[int]:
        return [int(m["k"]) for m in self.summary.get("models", [])]

    @property
    def default_k(self) -> int | None:
        k = self.summary.get("default_k")
        return int(k) if k is not None else None

    def check_k(self, k: int | None) -> int:
        """``k`` if built, the default K when None; ValueError naming the K built otherwise."""
        if not self.available:
            raise ValueError("this build has no LDA topics (lda_models.json): rebuild it with "
                             "python -m models build")
        if k is None:
            return self.default_k
        k = int(k)
        if k not in self.ks():
            raise ValueError(f"no LDA model with K={k} in this build; built: "
                             f"{', '.join(map(str, self.ks()))}")
        return k

    def model_info(self, k: int | None = None) -> dict:
        k = self.check_k(k)
        return next(m for m in self.summary["models"] if int(m["k"]) == k)

    # ---- per-K data -------------------------------------------------------------------------
    def topics(self, k: int | None = None) -> pd.DataFrame:
        """topic, label, prevalence, stability, coherence_cv, coherence_umass, x, y."""
        k = self.check_k(k)
        return self._cached(("topics", k), lambda: self.artifacts.parquet(f"lda/k{k}_topics.parquet"))

    def labels(self, k: int | None = None) -> list[str]:
        return self.topics(k)["label"].tolist()

    def doc_topics(self, k: int | None = None) -> np.ndarray:
        k = self.check_k(k)
        return self._cached(("doc_topics", k),  # memory-mapped: file-backed, shared by workers
                            lambda: self.artifacts.npy(f"lda/k{k}_doc_topics.npy"))

    def terms(self, k: int | None = None) -> pd.DataFrame:
        """topic, rank, term, weight = p(w|t), p_w = p(w), count (candidate terms per topic)."""
        k = self.check_k(k)
        return self._cached(("terms", k), lambda: self.artifacts.parquet(f"lda/k{k}_terms.parquet"))

    def dominant(self, k: int | None = None) -> np.ndarray:
        """Dominant topic of each dataset row (int32)."""
        k = self.check_k(k)
        return self._cached(("dominant", k),
                            lambda: np.argmax(self.doc_topics(k), axis=1).astype(np.int32))

    def dominant_topics(self, k: int | None = None) -> tuple[np.ndarray, list[str]]:
        """For colouring the map by topic: (dominant topic per row, label of each topic)."""
        return self.dominant(k), self.labels(k)

    def topic_terms(self, k: int | None, topic: int, *, n: int = 20, lam: float = 1.0) -> pd.DataFrame:
        """The ``n`` terms of a topic ranked by relevance at ``lam`` (λ = 1: by p(w|t)), with
        the estimated number of the topic's tokens (``topic_count``) beside the corpus
        count, as pyLDAvis draws them."""
        k = self.check_k(k)
        t = self.terms(k)
        t = t[t["topic"] == int(topic)].copy()
        t["relevance"] = relevance(t["weight"].to_numpy(), t["p_w"].to_numpy(), float(lam))
        t = t.sort_values(["relevance", "rank"], ascending=[False, True], kind="stable").head(n)
        tokens = self.summary.get("corpus", {}).get("tokens") or 0
        prev = float(self.topics(k)["prevalence"].iloc[int(topic)])
        t["topic_count"] = np.minimum(t["weight"] * prev * tokens, t["count"])
        return t.reset_index(drop=True)

    def representative(self, k: int | None, topic: int, n: int = 5) -> list[int]:
        """Rows with the highest share of the topic."""
        col = np.asarray(self.doc_topics(k)[:, int(topic)])
        n = min(n, len(col))
        if n <= 0:
            return []
        part = np.argpartition(-col, n - 1)[:n]
        return [int(i) for i in part[np.lexsort((part, -col[part]))]]

    def top_datasets(self, k: int | None, topic: int, n: int = 20) -> list[dict]:
        rows = self.representative(k, topic, n)
        theta = self.doc_topics(k)
        d = self.datasets
        return [{"row": r, "id": d["id"].iat[r], "title": d["title"].iat[r],
                 "organization": d["organization"].iat[r],
                 "share": round(float(theta[r, int(topic)]), 4)} for r in rows]

    def topic_rows(self, k: int | None, topic: int, limit: int = MAX_MDS_POINTS) -> list[int]:
        """Rows whose dominant topic is ``topic``, most typical first, at most ``limit``."""
        dom = self.dominant(k)
        rows = np.flatnonzero(dom == int(topic))
        share = np.asarray(self.doc_topics(k)[rows, int(topic)])
        rows = rows[np.lexsort((rows, -share))]
        return [int(r) for r in rows[:limit]]

    def top_producers(self, k: int | None, topic: int, n: int = 10) -> pd.DataFrame:
        """organization, datasets (whose dominant topic it is), share of the producer's datasets."""
        dom = self.dominant(k)
        org = self.datasets["organization"].fillna("").replace("", "(sans producteur)")
        total = org.value_counts()
        mine = org[dom == int(topic)].value_counts().head(n)
        return pd.DataFrame({"organization": mine.index.astype(str),
                             "datasets": mine.to_numpy().astype(int),
                             "share_of_producer": (mine / total.reindex(mine.index)).to_numpy()})

    def _plausible_created(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(creation year per row, plausible mask, last plausible year): years before 1990,
        after the export or unknown are left out (models.serve.map_time)."""
        def compute():
            last = last_plausible_year(self.datasets)
            year = row_years(self.datasets, "created")
            return year, plausible(year, last), last
        return self._cached("created_years", compute)

    def years(self, k: int | None, topic: int) -> pd.DataFrame:
        """year, datasets (created that year), share (mean topic share that year: topics over
        time), plausible creation years only; ``.attrs``: ``left_out`` (datasets without a
        plausible creation year), ``first``/``last`` (the plausible window)."""
        theta = np.asarray(self.doc_topics(k)[:, int(topic)], dtype=np.float64)
        year, ok, last = self._plausible_created()
        df = pd.DataFrame({"year": year[ok], "share": theta[ok]})
        g = df.groupby("year")["share"].agg(["size", "mean"]).reset_index()
        out = g.rename(columns={"size": "datasets", "mean": "share"})
        out.attrs.update(left_out=int((~ok).sum()), first=FIRST_PLAUSIBLE_YEAR, last=last)
        return out

    def periods(self, k: int | None, topic: int) -> pd.DataFrame:
        """The topic's own words period by period (``topic_periods`` step): period, start, end,
        datasets (whose dominant topic it is, created then), words (best first; [] when too few
        datasets). Empty for a build made before that step existed."""
        k = self.check_k(k)

        def load():
            arts = self.artifacts
            if not arts.has("topic_periods.parquet"):
                return pd.DataFrame(columns=["k", "topic", "period", "start", "end", "datasets", "words"])
            return arts.parquet("topic_periods.parquet")
        frame = self._cached("topic_periods", load)
        mine = frame[(frame["k"] == k) & (frame["topic"] == int(topic))].sort_values("period")
        out = mine[["period", "start", "end", "datasets", "words"]].reset_index(drop=True)
        out["words"] = [list(w) for w in out["words"]]
        return out

    def topics_by_year(self, k: int | None = None, *, min_datasets: int = 20) -> pd.DataFrame:
        """Share of each topic per creation year: rows = plausible years with at least
        ``min_datasets`` datasets, columns = topics (mean topic mixture, rows sum to 1), plus
        ``datasets``; ``.attrs["left_out"]``: datasets outside those years."""
        theta = np.asarray(self.doc_topics(k), dtype=np.float64)
        year, ok, _ = self._plausible_created()
        df = pd.DataFrame(theta[ok], columns=list(range(theta.shape[1])))
        df["year"] = year[ok]
        g = df.groupby("year")
        out = g.mean()
        out["datasets"] = g.size()
        out = out[out["datasets"] >= min_datasets]
        out.attrs["left_out"] = int(len(year) - out["datasets"].sum())
        return out

    def shared_terms(self, k: int | None = None, *, top: int = 20, min_topics: int = 2) -> pd.DataFrame:
        """Keywords among the ``top`` terms of several topics: term, topics (ids), labels."""
        k = self.check_k(k)
        t = self.terms(k)
        t = t[t["rank"] < top]
        labels = self.labels(k)
        g = t.groupby("term").agg(topics=("topic", lambda s: sorted(int(x) for x in s)),
                                  weight=("weight", "sum"))
        g = g[g["topics"].map(len) >= min_topics].copy()
        g["n_topics"] = g["topics"].map(len)
        g["labels"] = g["topics"].map(lambda ts: [labels[i] for i in ts])
        g = g.reset_index().sort_values(["n_topics", "weight", "term"],
                                        ascending=[False, False, True], kind="stable")
        return g[["term", "n_topics", "topics", "labels", "weight"]].reset_index(drop=True)

    # ---- the command line's view ------------------------------------------------------------
    def as_json(self, k: int | None = None, *, n_terms: int = 20, n_representative: int = 5) -> dict:
        """{"models": [{"k", "default", "coherence_cv", "coherence_umass", "topics": [...]}]}."""
        ks = [self.check_k(k)] if k is not None else self.ks()
        ids = self.datasets["id"]
        models = []
        for kk in ks:
            info = self.model_info(kk)
            topics = self.topics(kk)
            terms = self.terms(kk)
            out = []
            for rec in topics.itertuples(index=False):
                tt = terms[terms["topic"] == rec.topic].sort_values("rank").head(n_terms)
                stab = float(rec.stability)
                out.append({
                    "id": int(rec.topic), "label": rec.label,
                    "terms": [[w, round(float(p), 6)] for w, p in zip(tt["term"], tt["weight"], strict=True)],
                    "prevalence": round(float(rec.prevalence), 6),
                    "stability": round(stab, 4) if np.isfinite(stab) else None,
                    "representative": [str(ids.iat[r]) for r in self.representative(kk, rec.topic,
                                                                                     n_representative)],
                })
            models.append({"k": kk, "default": kk == self.default_k,
                           "coherence_cv": info.get("coherence_cv"),
                           "coherence_umass": info.get("coherence_umass"),
                           "stability_mean": info.get("stability_mean"), "topics": out})
        return {"models": models}

    # ---- embedding clusters -----------------------------------------------------------------
    @property
    def has_clusters(self) -> bool:
        return self.artifacts.has("clusters.npy") and self.artifacts.has("clusters.parquet")

    @property
    def n_clusters(self) -> int:
        return len(self.clusters()[1]) if self.has_clusters else 0

    def map_colouring(self, value: str, *, max_colours: int = 47) -> tuple | None:
        """(category per row, labels, sizes, legend title) for a map colour choice, or None.

        ``value`` is ``"clusters"`` (the ``max_colours`` largest clusters get a colour, the others
        -1 = grey) or ``"k{K}"`` (dominant LDA topic of that model).

        Examples
        --------
        >>> svc.map_colouring("k20")[3]  # doctest: +SKIP
        'Thèmes (LDA, K = 20)'
        """
        if value == "clusters" and self.has_clusters:
            labels, frame = self.clusters()
            frame = frame.sort_values("size", ascending=False, kind="stable").head(max_colours)
            keep = frame["cluster"].to_numpy()
            code = np.full(int(labels.max()) + 2 if len(labels) else 1, -1, dtype=np.int32)
            code[keep] = np.arange(len(keep))  # cluster id -> colour index; others -> -1 (grey)
            cats = np.where(labels >= 0, code[np.maximum(labels, 0)], -1)
            return cats, frame["label"].tolist(), frame["size"].tolist(), "Groupes (HDBSCAN)"
        digits = value[1:] if isinstance(value, str) and value.startswith("k") else ""
        if 0 < len(digits) <= 4 and digits.isascii() and digits.isdigit():  # not « k² », not 5,000 digits
            k = int(digits)
            if k in self.ks():
                topics = self.topics(k)
                return (self.dominant(k), topics["label"].tolist(), topics["prevalence"].tolist(),
                        f"Thèmes (LDA, K = {k})")
        return None

    def clusters(self) -> tuple[np.ndarray, pd.DataFrame]:
        """(cluster per row, int32, -1 = noise), clusters frame (cluster, label, size, terms)."""
        if not self.has_clusters:
            raise ValueError("this build has no embedding clusters: rebuild it")
        return self._cached("clusters", lambda: (
            self.artifacts.npy("clusters.npy", mmap=False).astype(np.int32),
            self.artifacts.parquet("clusters.parquet")))

    def cluster_assignments(self) -> tuple[np.ndarray, list[str]]:
        """For colouring the map by cluster: (cluster per row, -1 = noise), labels by cluster id."""
        labels, frame = self.clusters()
        return labels, frame.sort_values("cluster")["label"].tolist()

    def topic_cluster_matrix(self, k: int | None = None, *, max_clusters: int = 40) -> dict:
        """Mean topic mixture of the datasets of each cluster (rows: the largest clusters, then
        noise): {"matrix": (C, K) list, "clusters": labels, "topics": labels, "sizes"}."""
        k = self.check_k(k)
        labels, frame = self.clusters()
        theta = np.asarray(self.doc_topics(k))
        frame = frame.sort_values("size", ascending=False).head(max_clusters)
        rows, names, sizes = [], [], []
        for rec in frame.itertuples(index=False):
            m = labels == rec.cluster
            rows.append(theta[m].mean(axis=0))
            names.append(f"{rec.cluster} · {rec.label}")
            sizes.append(int(m.sum()))
        noise = labels < 0
        if noise.any():
            rows.append(theta[noise].mean(axis=0))
            names.append(NOISE_LABEL)
            sizes.append(int(noise.sum()))
        matrix = np.vstack(rows) if rows else np.zeros((0, k))
        return {"matrix": matrix.round(4).tolist(), "clusters": names,
                "topics": [f"{i} · {lab}" for i, lab in enumerate(self.labels(k))], "sizes": sizes}

    # ---- live MDS of a selection ------------------------------------------------------------
    def selection_mds(self, rows, *, max_points: int = MAX_MDS_POINTS, seed: int = 42) -> dict:
        """2D metric MDS (cosine distances) of the embeddings of at most ``max_points`` rows:
        {"rows", "x", "y", "seconds", "truncated"}."""
        rows = [int(r) for r in dict.fromkeys(int(r) for r in rows) if 0 <= int(r) < len(self.datasets)]
        truncated = len(rows) > max_points
        rows = rows[:max_points]
        t0 = time.perf_counter()
        xy = mds_2d(np.asarray(self.artifacts.embeddings[rows]), seed=seed) if rows else np.zeros((0, 2))
        dt = time.perf_counter() - t0
        log.info("MDS of %d datasets in %.1f s", len(rows), dt)
        return {"rows": rows, "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
                "seconds": round(dt, 2), "truncated": truncated}
