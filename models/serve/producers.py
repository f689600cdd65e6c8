"""The producers page's service: one :class:`ProducerService` per process (``Explorer.producers``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from models.core import quality, serving
from models.core.producers import DUPLICATE_THRESHOLD, FINDABILITY_K, N_SIMILAR, aggregate_producers
from models.core.text import fold
from models.serve import search
from models.serve.mds import mds_2d
from models.serve.search import top_k

log = logging.getLogger(__name__)


class ProducerService:
    """Read-only answers about producers of the build ``artifacts`` (thread-safe reads).
    ``search``: the search the findability of a dataset is measured with (the signature of
    :meth:`models.serve.engine.SearchEngine.search`; called only by :meth:`findability`).

    Examples
    --------
    An in-memory build of three datasets and two producers (without ``producers.parquet``: the
    producers are aggregated from the datasets, and a warning says so):

    >>> from pathlib import Path
    >>> from models.core.store import Artifacts
    >>> ds = pd.DataFrame({"id": ["a", "b", "c"], "title": ["Piscines", "Budget", "Routes"],
    ...                    "organization": ["Ville de Lyon", "Ville de Lyon", "IGN"],
    ...                    "organization_id": ["o1", "o1", "o2"], "views": [10, 50, 5], "reuses": [0, 1, 0],
    ...                    "followers": [0, 0, 0], "downloads": [0, 0, 0],
    ...                    "last_modified": ["2025-01-02", "2024-06-01", "2025-03-01"]})
    >>> arts = Artifacts(dir=Path("b1"), manifest={}, datasets=ds, embeddings=np.eye(3, dtype=np.float32),
    ...                  coords=np.zeros((3, 2)), neighbours=np.zeros((3, 1), dtype=int),
    ...                  neighbour_scores=np.zeros((3, 1)))
    >>> prod = ProducerService(arts)
    >>> len(prod), prod.index_of("o1"), prod.rows(0).tolist(), prod.options("lyon")
    (2, 0, [0, 1], [{'label': 'Ville de Lyon (2 jeux)', 'value': 'o1'}])
    >>> {k: prod.summary(0)[k] for k in ("organization", "n_active", "views", "reuses", "rank")}
    {'organization': 'Ville de Lyon', 'n_active': 2, 'views': 60, 'reuses': 1, 'rank': 1}
    """

    def __init__(self, artifacts, *, search: Callable | None = None) -> None:
        self.artifacts = artifacts
        self.frame = artifacts.datasets  # the build's datasets (datasets(p): a producer's)
        self._search = search
        arts = artifacts
        ds = artifacts.datasets
        if arts.has("producers.parquet") and arts.has("producer_of_row.npy"):
            self.table = arts.parquet("producers.parquet")
            self.centroids = np.asarray(arts.npy("producer_centroids.npy", mmap=False),
                                        dtype=np.float32)
            self.of_row = np.asarray(arts.npy("producer_of_row.npy", mmap=False), dtype=np.int64)
            self.archived_known = True
        else:  # an older build: active rows only, archived counts unknown
            log.warning("no producers.parquet in %s: producers computed from the loaded "
                        "datasets, archived counts unknown (rebuild to get them)", arts.dir)
            self.table, self.centroids, of_row = aggregate_producers(ds, None, arts.embeddings)
            self.of_row = of_row.astype(np.int64)
            self.archived_known = False
        self._pos = {pid: i for i, pid in enumerate(self.table["producer_id"])}
        order = np.argsort(self.of_row, kind="stable")
        bounds = np.searchsorted(self.of_row[order], np.arange(len(self.table) + 1))
        self._rows = [order[bounds[i]:bounds[i + 1]] for i in range(len(self.table))]
        self._folded = [fold(n, elisions=False) for n in self.table["organization"]]
        self._folded_ids = [fold(n, elisions=False) for n in self.table["producer_id"]]
        self._has_centroid = np.linalg.norm(self.centroids, axis=1) > 0 if self.centroids.size \
            else np.zeros(len(self.table), dtype=bool)
        self.as_of = self._export_date()
        self._assessed: pd.DataFrame | None = None
        self._overview: pd.DataFrame | None = None

    def _export_date(self) -> pd.Timestamp | None:
        return serving.export_date(self.artifacts.manifest, self.frame)

    def _places(self) -> pd.DataFrame | None:
        arts = self.artifacts
        if not arts.has("territories.parquet"):
            return None
        return arts.parquet("territories.parquet", columns=["row"])

    # ---- lookups -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def index_of(self, producer_id: str | None) -> int | None:
        return self._pos.get(producer_id) if isinstance(producer_id, str) and producer_id else None

    def producer_of(self, row: int) -> int:
        return int(self.of_row[int(row)])

    def rows(self, p: int) -> np.ndarray:
        """Artifact rows (datasets in the build) of producer ``p``."""
        return self._rows[p]

    def option(self, p: int) -> dict:
        r = self.table.iloc[p]
        n, n_arch = int(r["n_active"]), int(r["n_archived"])
        count = (f"{n} jeu{'x' if n > 1 else ''}" if n
                 else f"aucun jeu actif, {n_arch} archivé{'s' if n_arch > 1 else ''}")
        return {"label": f"{r['organization']} ({count})", "value": r["producer_id"]}

    def options(self, text: str | None = None, *, limit: int = 30,
                keep: str | None = None) -> list[dict]:
        """Dropdown options matching typed ``text`` (accents and case ignored), at most
        ``limit``: names starting with the text first, then containing it, each by size.
        ``keep`` (the current value) is always included so the dropdown can show it."""
        q = fold(text or "", elisions=False).strip()
        if not q:
            picked = list(range(min(limit, len(self.table))))
        else:
            starts, words, contains = [], [], []
            for i, name in enumerate(self._folded):  # table is sorted by size already
                if name.startswith(q) or q == self._folded_ids[i]:
                    starts.append(i)
                elif f" {q}" in name or f"'{q}" in name or f"-{q}" in name:
                    words.append(i)
                elif q in name:
                    contains.append(i)
                if len(starts) >= limit:
                    break
            picked = (starts + words + contains)[:limit]
        k = self.index_of(keep)
        if k is not None and k not in picked:
            picked.append(k)
        return [self.option(i) for i in picked]

    # ---- key figures and listing ------------------------------------------------------
    def summary(self, p: int) -> dict:
        r = self.table.iloc[p]
        out = {c: (r[c].item() if hasattr(r[c], "item") else r[c]) for c in self.table.columns}
        out["archived_known"] = self.archived_known
        out["rank"] = p + 1
        return out

    def datasets(self, p: int, *, limit: int | None = None) -> pd.DataFrame:
        """Its datasets in the build, most viewed first, with their quality score."""
        rows = self.rows(p)
        ds = self.frame
        cols = ["id", "title", "url", "views", "reuses", "followers", "downloads", "last_modified",
                "frequency"]
        t = ds.iloc[rows][cols].copy()
        t.insert(0, "row", rows)
        t["score"] = self.assessed().iloc[rows]["score"].to_numpy()
        t = t.sort_values(["views", "title"], ascending=[False, True], kind="stable")
        return t if limit is None else t.head(limit)

    # ---- topics -------------------------------------------------------------------------
    def topic_mix(self, p: int, *, top: int = 12) -> pd.DataFrame | None:
        """Mean LDA mixture of its datasets vs the catalogue's prevalence, largest gaps shown:
        topic, label, producer, catalogue (shares, 0..1). None when the build has no LDA."""
        arts = self.artifacts
        if not (arts.has("lda_doc_topics.npy") and arts.has("lda_topics.parquet")):
            return None
        rows = self.rows(p)
        if len(rows) == 0:
            return None
        doc_topics = arts.npy("lda_doc_topics.npy")
        topics = arts.parquet("lda_topics.parquet")
        mine = np.asarray(doc_topics[np.sort(rows)], dtype=np.float64).mean(axis=0)
        mine = mine / mine.sum() if mine.sum() > 0 else mine
        if "prevalence" in topics:
            cat = topics.sort_values("topic")["prevalence"].to_numpy(dtype=np.float64)
        else:
            cat = np.asarray(doc_topics, dtype=np.float64).mean(axis=0)
        labels = (topics.sort_values("topic")["label"].astype(str).to_list() if "label" in topics
                  else [f"thème {t}" for t in range(len(mine))])
        t = pd.DataFrame({"topic": np.arange(len(mine)), "label": labels,
                          "producer": mine, "catalogue": cat[:len(mine)]})
        t = t.sort_values("producer", ascending=False, kind="stable").head(top)
        return t.reset_index(drop=True)

    # ---- quality ------------------------------------------------------------------------
    def assessed(self) -> pd.DataFrame:
        """Quality of every dataset of the build (computed once, vectorised)."""
        if self._assessed is None:
            kept = serving.read(self.artifacts, "quality")  # the build's serving step
            if kept is None:
                d = self.artifacts.descriptions  # the texts stay on disk: their lengths
                kept = serving.quality_table(self.frame, as_of=self.as_of, places=self._places(),
                                             description_chars=d.text_chars() if d is not None else None)
            self._assessed = kept
        return self._assessed

    def quality(self, p: int, *, limit: int | None = 50) -> pd.DataFrame:
        """Its datasets to fix first: worst score, then most viewed; with title and reasons."""
        rows = self.rows(p)
        ds = self.frame.iloc[rows]
        a = self.assessed().iloc[rows]
        pr = quality.priorities(ds, a, limit=limit)
        pr = pr.join(ds[["id", "title", "url"]])
        pr.insert(0, "row", pr.index.to_numpy())
        return pr.reset_index(drop=True)

    def quality_overview(self, p: int) -> pd.DataFrame:
        """Per rule: share of its datasets failing vs the catalogue's share; mean scores."""
        a = self.assessed()
        mine = quality.failure_shares(a.iloc[self.rows(p)])
        cat = quality.failure_shares(a)
        return pd.DataFrame({
            "rule": [r.key for r in quality.RULES], "label": [r.label for r in quality.RULES],
            "producer": [mine[r.key] for r in quality.RULES],
            "catalogue": [cat[r.key] for r in quality.RULES],
        })

    def mean_score(self, p: int | None = None) -> float:
        a = self.assessed() if p is None else self.assessed().iloc[self.rows(p)]
        return float(a["score"].mean()) if len(a) else float("nan")

    # ---- near-duplicates ------------------------------------------------------------------
    def near_duplicates(self, p: int, *, threshold: float = DUPLICATE_THRESHOLD,
                        limit: int | None = 200) -> pd.DataFrame:
        """Pairs (its dataset, a neighbour) with cosine >= threshold, from the k nearest
        neighbours of each dataset: columns row_a, row_b, score, same_producer, title_a,
        title_b, organization_b. A pair of two of its own datasets appears once."""
        rows = self.rows(p)
        cols = ["row_a", "row_b", "score", "same_producer", "title_a", "title_b",
                "organization_b", "producer_b"]
        if len(rows) == 0:
            return pd.DataFrame(columns=cols)
        nb = self.artifacts.neighbours[rows]
        sc = self.artifacts.neighbour_scores[rows]
        ii, jj = np.nonzero((sc >= threshold) & (nb >= 0))
        a = rows[ii].astype(np.int64)
        b = nb[ii, jj].astype(np.int64)
        s = sc[ii, jj].astype(np.float64)
        same = self.of_row[b] == p
        lo, hi = np.where(same, np.minimum(a, b), a), np.where(same, np.maximum(a, b), b)
        t = pd.DataFrame({"row_a": lo, "row_b": hi, "score": s, "same_producer": same})
        t = t.sort_values("score", ascending=False, kind="stable")
        t = t.drop_duplicates(["row_a", "row_b"]).reset_index(drop=True)
        if limit is not None:
            t = t.head(limit)
        ds = self.frame
        t["title_a"] = ds["title"].to_numpy()[t["row_a"].to_numpy()] if len(t) else []
        t["title_b"] = ds["title"].to_numpy()[t["row_b"].to_numpy()] if len(t) else []
        pb = self.of_row[t["row_b"].to_numpy()]
        t["organization_b"] = self.table["organization"].to_numpy()[pb] if len(t) else []
        t["producer_b"] = self.table["producer_id"].to_numpy()[pb] if len(t) else []
        return t[cols]

    # ---- similar producers ----------------------------------------------------------------
    def similar_producers(self, p: int, *, k: int = N_SIMILAR) -> pd.DataFrame:
        """The k producers whose embedding centroid is closest (cosine) to p's, best first."""
        cols = ["index", "producer_id", "organization", "n_active", "similarity"]
        if not self._has_centroid[p]:
            return pd.DataFrame(columns=cols)
        sims = self.centroids @ self.centroids[p]
        sims[~self._has_centroid] = -np.inf
        sims[p] = -np.inf
        idx = [i for i in top_k(sims, k) if np.isfinite(sims[i])]
        t = self.table.iloc[idx][["producer_id", "organization", "n_active"]].copy()
        t.insert(0, "index", idx)
        t["similarity"] = sims[idx].astype(np.float64)
        return t.reset_index(drop=True)[cols]

    def neighbourhood(self, p: int, *, k: int = N_SIMILAR, max_datasets: int = 150,
                      seed: int = 42) -> dict | None:
        """2D MDS (cosine) of p's centroid, its k most similar producers' centroids and up to
        ``max_datasets`` of its datasets (most viewed): where its datasets sit among them."""
        sim = self.similar_producers(p, k=k)
        if not self._has_centroid[p]:
            return None
        prods = [p, *sim["index"].tolist()]
        rows = self.datasets(p, limit=max_datasets)["row"].to_numpy()
        vecs = np.vstack([self.centroids[prods],
                          np.asarray(self.artifacts.embeddings[rows], dtype=np.float32)])
        xy = mds_2d(vecs, seed=seed)
        ds = self.frame
        return {
            "producers": pd.DataFrame({
                "index": prods, "organization": self.table["organization"].to_numpy()[prods],
                "n_active": self.table["n_active"].to_numpy()[prods],
                "similarity": [1.0, *sim["similarity"].tolist()],
                "x": xy[:len(prods), 0], "y": xy[:len(prods), 1], "is_self": [True] + [False] * len(sim),
            }),
            "datasets": pd.DataFrame({"row": rows, "title": ds["title"].to_numpy()[rows],
                                      "x": xy[len(prods):, 0], "y": xy[len(prods):, 1]}),
        }

    # ---- findability ------------------------------------------------------------------------
    def findability(self, row: int, queries: list[str] | None = None, *,
                    k: int = FINDABILITY_K) -> pd.DataFrame:
        """Rank of dataset ``row`` for its own title and each typed query, in every search
        mode (``models.serve.search.MODES`` as it is now): query, source, mode, rank (None when not
        in the first k), status (French)."""
        title = str(self.frame["title"].iat[int(row)])
        asks = [("titre", title)] + [("requête", q) for q in (queries or []) if q and q.strip()]
        out = []
        for source, q in asks:
            for mode in search.MODES:
                try:
                    hits = self._search(q, mode=mode, k=k)
                except Exception as exc:  # a mode whose model is unavailable in this build
                    log.warning("findability: mode %s failed for %r: %s", mode, q, exc)
                    out.append({"query": q, "source": source, "mode": mode, "rank": None,
                                "status": "mode indisponible"})
                    continue
                rank = next((i + 1 for i, h in enumerate(hits) if h.row == int(row)), None)
                status = (f"rang {rank}" if rank is not None
                          else f"non trouvé (au-delà de {k})")
                out.append({"query": q, "source": source, "mode": mode, "rank": rank,
                            "status": status})
        return pd.DataFrame(out, columns=["query", "source", "mode", "rank", "status"])

    # ---- overview of all producers (the page's first view) ---------------------------------
    def overview(self) -> pd.DataFrame:
        """One line per producer, biggest first: index, producer_id, organization, kind,
        n_active, n_archived, views, reuses, score (mean metadata-quality score of its datasets
        in the build, NaN without any), last_modified (``YYYY-MM-DD`` or "")."""
        if self._overview is None:
            t = self.table
            scores = self.assessed()["score"].to_numpy(dtype=np.float64)
            n = np.bincount(self.of_row, minlength=len(t)).astype(np.float64)
            total = np.bincount(self.of_row, weights=scores, minlength=len(t))
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
            self._overview = pd.DataFrame({
                "index": np.arange(len(t)), "producer_id": t["producer_id"].astype(str).to_numpy(),
                "organization": t["organization"].astype(str).to_numpy(),
                "kind": t["kind"].astype(str).to_numpy(),
                "n_active": t["n_active"].to_numpy(np.int64),
                "n_archived": t["n_archived"].to_numpy(np.int64),
                "views": t["views"].to_numpy(np.int64), "reuses": t["reuses"].to_numpy(np.int64),
                "score": np.round(mean, 1),
                "last_modified": [str(v)[:10] if isinstance(v, str) else "" for v in t["last_modified"]],
                "_folded": self._folded,
            })
        return self._overview

    def overview_page(self, start: int = 0, end: int = 100, sort_model=None,
                      filter_model=None) -> tuple[pd.DataFrame, int]:
        """Rows ``start:end`` of :meth:`overview` after AG Grid's ``filterModel`` and
        ``sortModel`` (the shapes the grid's infinite row model sends); returns the rows and the
        number of producers that pass the filters. Unknown columns, filter types or malformed
        values are ignored (never an error); at most :data:`MAX_PAGE` rows are returned."""
        t = self.overview()
        mask = np.ones(len(t), dtype=bool)
        if isinstance(filter_model, dict):
            for col, spec in filter_model.items():
                m = _filter_mask(t, col, spec)
                if m is not None:
                    mask &= m
        t = t[mask]
        keys, ascending = [], []
        for s in sort_model if isinstance(sort_model, list) else []:
            col = s.get("colId") if isinstance(s, dict) else None
            if col in OVERVIEW_COLUMNS and s.get("sort") in ("asc", "desc") and col not in keys:
                keys.append("_folded" if col == "organization" else col)
                ascending.append(s["sort"] == "asc")
        if keys:
            t = t.sort_values(keys, ascending=ascending, kind="stable", na_position="last")
        start = max(0, _as_int(start, 0))
        end = min(max(start, _as_int(end, start + 100)), start + MAX_PAGE)
        return t.iloc[start:end].drop(columns="_folded"), int(mask.sum())


MAX_PAGE = 500
OVERVIEW_COLUMNS = {"organization": "text", "kind": "text", "n_active": "number",
                    "n_archived": "number", "views": "number", "reuses": "number",
                    "score": "number", "last_modified": "date"}
_NUMBER_TESTS = {
    "equals": lambda v, a, b: v == a, "notEqual": lambda v, a, b: v != a,
    "lessThan": lambda v, a, b: v < a, "lessThanOrEqual": lambda v, a, b: v <= a,
    "greaterThan": lambda v, a, b: v > a, "greaterThanOrEqual": lambda v, a, b: v >= a,
    "inRange": lambda v, a, b: (v >= a) & (v <= b),
}


def _as_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _as_float(value) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return x if np.isfinite(x) else None


def _condition_mask(t: pd.DataFrame, col: str, kind: str, cond: dict) -> np.ndarray | None:
    op = cond.get("type")
    if kind == "text":
        needle = fold(str(cond.get("filter") or ""), elisions=False).strip()[:200]
        values = t["_folded"] if col == "organization" else t[col].map(lambda s: fold(s, elisions=False))
        if not needle:
            return None
        if op == "contains":
            return values.str.contains(needle, regex=False).to_numpy()
        if op == "notContains":
            return ~values.str.contains(needle, regex=False).to_numpy()
        if op == "startsWith":
            return values.str.startswith(needle).to_numpy()
        if op == "equals":
            return (values == needle).to_numpy()
        return None
    if kind == "date":  # ISO strings compare as dates; the grid sends "YYYY-MM-DD hh:mm:ss"
        a, b = str(cond.get("dateFrom") or "")[:10], str(cond.get("dateTo") or "")[:10]
        v = t[col].to_numpy(dtype=object)
        has = t[col].to_numpy(dtype=object) != ""
        if op == "lessThan" and a:
            return has & (v < a)
        if op == "greaterThan" and a:
            return has & (v > a)
        if op == "equals" and a:
            return v == a
        if op == "inRange" and a and b:
            return has & (v >= a) & (v <= b)
        return None
    test = _NUMBER_TESTS.get(op)
    a, b = _as_float(cond.get("filter")), _as_float(cond.get("filterTo"))
    if test is None or a is None or (op == "inRange" and b is None):
        return None
    v = t[col].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray(test(v, a, b), dtype=bool) & ~np.isnan(v)


def _filter_mask(t: pd.DataFrame, col, spec) -> np.ndarray | None:
    """One column's AG Grid filter model -> a boolean mask (None: ignored)."""
    kind = OVERVIEW_COLUMNS.get(col) if isinstance(col, str) else None
    if kind is None or not isinstance(spec, dict):
        return None
    conditions = spec.get("conditions")
    if isinstance(conditions, list):
        masks = [m for c in conditions[:4] if isinstance(c, dict)
                 and (m := _condition_mask(t, col, kind, c)) is not None]
        if not masks:
            return None
        combine = np.logical_or if spec.get("operator") == "OR" else np.logical_and
        return combine.reduce(masks)
    return _condition_mask(t, col, kind, spec)
