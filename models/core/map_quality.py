"""How faithful and how readable the 2D map is (``python -m models map-quality``).

* ``neighbour_preservation@k``: for every dataset, the share of its k nearest neighbours in
  embedding space (cosine, ``neighbours.npy``) that are also among its k nearest on the 2D map,
  averaged over datasets. 1 = the map keeps every local neighbourhood; higher is better.
* ``blob_share``: the share of datasets in the single largest *dense component* of the map.
  Two datasets are linked when one is among the other's k nearest 2D neighbours and they are
  closer than the median distance from a dataset to its k-th 2D neighbour (the map's typical
  local spacing); a dense component is a connected set of such links. A map that is one
  undifferentiated mass scores near 1; a map whose regions are separated by gaps scores lower.
  Lower is better (read it together with neighbour preservation: scattering points at random
  would also lower it, and would wreck neighbour preservation).
"""

from __future__ import annotations

import numpy as np


def map_neighbours(coords: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, k), distances (n, k)) of the k nearest other points on the 2D map."""
    from sklearn.neighbors import NearestNeighbors  # lazy: sklearn takes seconds to import

    xy = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    kk = min(k + 1, n)
    dist, idx = NearestNeighbors(n_neighbors=kk).fit(xy).kneighbors(xy)
    # drop each point itself: the first hit, or wherever it landed among exact duplicates
    is_self = idx == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), np.argmax(is_self, axis=1), kk - 1)
    keep = np.ones_like(idx, dtype=bool)
    keep[np.arange(n), drop] = False
    return idx[keep].reshape(n, kk - 1), dist[keep].reshape(n, kk - 1)


def neighbour_preservation(embedding_neighbours: np.ndarray, map_idx: np.ndarray) -> float:
    """Mean share of each row's embedding neighbours found among its map neighbours (``-1``:
    no neighbour, left out).

    Examples
    --------
    >>> emb = np.array([[1, 2], [0, 2], [0, 1]])
    >>> neighbour_preservation(emb, np.array([[1, 2], [0, 2], [1, 0]]))
    1.0
    >>> neighbour_preservation(emb, np.array([[2, 1], [2, 0], [1, 2]]))  # row 2 keeps one of two
    0.8333333333333334
    """
    a = np.asarray(embedding_neighbours)
    b = np.asarray(map_idx)
    k = min(a.shape[1], b.shape[1])
    if not len(a) or k == 0:
        return 0.0
    a, b = a[:, :k], b[:, :k]
    valid = a >= 0
    hits = (a[:, :, None] == b[:, None, :]).any(axis=2) & valid
    per_row = hits.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    return float(per_row[valid.any(axis=1)].mean()) if valid.any() else 0.0


def blob_share(map_idx: np.ndarray, map_dist: np.ndarray) -> float:
    """Share of points in the largest dense component (see the module docstring).

    Examples
    --------
    >>> idx = np.array([[1], [0], [3], [2]])  # two pairs of points, far apart
    >>> blob_share(idx, np.array([[1.0], [1.0], [1.0], [1.0]]))
    0.5
    >>> blob_share(np.array([[1], [2], [1]]), np.array([[1.0], [1.0], [1.0]]))  # one chain
    1.0
    """
    from scipy import sparse  # lazy: the app starts without scipy
    from scipy.sparse.csgraph import connected_components

    n, k = map_idx.shape
    if n == 0 or k == 0:
        return 0.0
    radius = float(np.median(map_dist[:, -1]))
    rows = np.repeat(np.arange(n), k)
    cols = map_idx.ravel()
    keep = map_dist.ravel() <= radius
    graph = sparse.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    return float(np.bincount(comp).max() / n)


def layout_quality(coords: np.ndarray, emb_neighbours: np.ndarray, k: int = 10) -> dict:
    idx, dist = map_neighbours(coords, k)
    return {f"neighbour_preservation@{k}": round(neighbour_preservation(emb_neighbours, idx), 4),
            "blob_share": round(blob_share(idx, dist), 4)}


def label_levels(hierarchy) -> dict:
    """{"levels": int, "per_level": [int, ...]} from ``hierarchy.parquet`` (None: no labels).

    Examples
    --------
    >>> import pandas as pd
    >>> label_levels(pd.DataFrame({"level": [0, 0, 1, 1, 1]})), label_levels(None)
    ({'levels': 2, 'per_level': [2, 3]}, {'levels': 0, 'per_level': []})
    """
    if hierarchy is None or not len(hierarchy):
        return {"levels": 0, "per_level": []}
    counts = hierarchy.groupby("level").size().sort_index()
    return {"levels": len(counts), "per_level": [int(c) for c in counts]}
