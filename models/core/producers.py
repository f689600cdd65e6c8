"""Producers (organisations, else users): keys and aggregates over a frame of datasets.

Shared by the pipeline's ``producers`` step (:mod:`models.pipeline.producers`, over the whole
export) and by the producers page's service (:mod:`models.serve.producers`, over a filtered
selection). A dataset without organisation belongs to its owner (``producer_id`` =
``owner:<name>``, kind ``utilisateur``), else to ``(sans organisation)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NO_ORG = "(sans organisation)"
OWNER_PREFIX = "owner:"
METRIC_COLUMNS = ("views", "reuses", "followers", "downloads")
DUPLICATE_THRESHOLD = 0.95
N_SIMILAR = 15
FINDABILITY_K = 100


# ---- keys and aggregates -------------------------------------------------------------
def producer_keys(organization_id: pd.Series, organization: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(producer_id, kind) of each row: the organisation id, else ``owner:<name>``, else NO_ORG.

    Examples
    --------
    >>> key, kind = producer_keys(pd.Series(["5a1", None, ""]), pd.Series(["Ville de Lyon", "Jean", None]))
    >>> key.tolist(), kind.tolist()
    (['5a1', 'owner:Jean', '(sans organisation)'], ['organisation', 'utilisateur', 'aucun'])
    """
    org_id = organization_id.fillna("").astype(str).str.strip()
    name = organization.fillna("").astype(str).str.strip()
    key = np.where(org_id != "", org_id, np.where(name != "", OWNER_PREFIX + name, NO_ORG))
    kind = np.where(org_id != "", "organisation", np.where(name != "", "utilisateur", "aucun"))
    return pd.Series(key, index=organization.index), pd.Series(kind, index=organization.index)


def aggregate_producers(df: pd.DataFrame, archived: pd.DataFrame | None = None,
                        embeddings: np.ndarray | None = None
                        ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per-producer aggregates of the build's rows ``df`` plus the ``archived`` rows left out.

    Returns (producers, centroids float32 (P, dim), producer_of_row int32 (len(df),)).
    Rows of ``df`` flagged ``archived`` (a build made with include_archived) count as archived.

    Examples
    --------
    >>> df = pd.DataFrame({"organization": ["Ville de Lyon", "Ville de Lyon", "Jean"],
    ...                    "organization_id": ["o1", "o1", None],
    ...                    "last_modified": ["2024-01-01", "2025-03-01", "2023-05-05"],
    ...                    "views": [10, 5, 1], "reuses": [1, 0, 0], "followers": [0, 0, 0],
    ...                    "downloads": [3, None, 0]})
    >>> archived = df.iloc[:1].assign(views=100)
    >>> prod, centroids, of_row = aggregate_producers(df, archived)
    >>> prod[["producer_id", "kind", "n_active", "n_archived", "views", "last_modified"]].values.tolist()
    [['o1', 'organisation', 2, 1, 115, '2025-03-01'], ['owner:Jean', 'utilisateur', 1, 0, 1, '2023-05-05']]
    >>> of_row.tolist(), centroids.shape  # no embeddings given: no centroids
    ([0, 0, 1], (2, 0))
    """
    cols = ["organization", "organization_id", "last_modified", *METRIC_COLUMNS]
    active_flag = ~df["archived"].astype(bool) if "archived" in df else pd.Series(True, index=df.index)
    parts = [df[cols].assign(_active=active_flag.to_numpy(), _in_build=True)]
    if archived is not None and len(archived):
        parts.append(archived.reindex(columns=cols).assign(_active=False, _in_build=False))
    allrows = pd.concat(parts, ignore_index=True)
    for c in METRIC_COLUMNS:
        allrows[c] = pd.to_numeric(allrows[c], errors="coerce").fillna(0).astype(np.int64)
    for c in ("organization", "organization_id", "last_modified"):
        allrows[c] = allrows[c].fillna("").astype(str)
    allrows["producer_id"], allrows["kind"] = producer_keys(allrows["organization_id"],
                                                            allrows["organization"])
    allrows["organization_id"] = np.where(allrows["kind"] == "organisation",
                                          allrows["organization_id"], "")
    allrows["_name"] = allrows["organization"].where(allrows["organization"] != "", NO_ORG)
    g = allrows.groupby("producer_id", sort=False)
    prod = pd.DataFrame({
        "organization_id": g["organization_id"].first(),
        "organization": g["_name"].agg(lambda s: s.mode().iat[0]),
        "kind": g["kind"].first(),
        "n_active": g["_active"].sum().astype(np.int64),
        "n_total": g.size().astype(np.int64),
        "n_in_build": g["_in_build"].sum().astype(np.int64),
        **{c: g[c].sum().astype(np.int64) for c in METRIC_COLUMNS},
        "last_modified": g["last_modified"].max(),
    })
    prod["n_archived"] = prod["n_total"] - prod["n_active"]
    prod = prod.reset_index().sort_values(["n_active", "n_total", "organization"],
                                          ascending=[False, False, True], kind="stable")
    prod = prod.reset_index(drop=True)
    pos = pd.Series(np.arange(len(prod), dtype=np.int32), index=prod["producer_id"])
    build_keys = allrows.loc[allrows["_in_build"], "producer_id"].to_numpy()
    of_row = pos.reindex(build_keys).to_numpy().astype(np.int32)

    dim = 0 if embeddings is None else int(embeddings.shape[1])
    centroids = np.zeros((len(prod), dim), dtype=np.float32)
    medoid = np.full(len(prod), -1, dtype=np.int64)
    if embeddings is not None and len(df):
        centroids, medoid = _centroids(np.asarray(embeddings, dtype=np.float32), of_row, len(prod))
    prod["medoid_row"] = medoid
    order = ["producer_id", "organization_id", "organization", "kind", "n_active", "n_archived",
             "n_total", "n_in_build", *METRIC_COLUMNS, "last_modified", "medoid_row"]
    return prod[order], centroids, of_row


def _centroids(emb: np.ndarray, of_row: np.ndarray, n_producers: int,
               block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    from scipy import sparse  # lazy: the app starts without scipy (~0.2 s to import)

    n = len(emb)
    member = sparse.csr_matrix((np.ones(n, dtype=np.float32), (of_row, np.arange(n))),
                               shape=(n_producers, n))
    sums = np.asarray(member @ emb, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0).astype(np.float32)
    sim = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        e = emb[start:start + block]
        sim[start:start + block] = np.einsum("ij,ij->i", e, centroids[of_row[start:start + block]])
    # the row of each producer with the highest similarity to its centroid
    order = np.lexsort((-sim, of_row))
    first = np.ones(n, dtype=bool)
    first[1:] = of_row[order][1:] != of_row[order][:-1]
    medoid = np.full(n_producers, -1, dtype=np.int64)
    medoid[of_row[order][first]] = order[first]
    return centroids, medoid
