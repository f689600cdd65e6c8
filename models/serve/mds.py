"""MDS of small sets (a topic's or a selection's datasets, similar producers)."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def classical_mds(d: np.ndarray, *, seed: int = 42) -> np.ndarray:
    """Torgerson's classical MDS to 2D: the top two eigenvectors of the double-centred squared
    distances (ARPACK, so a few seconds for 3,000 points where a full eigh takes much longer).
    One n × n float32 work matrix besides ``d`` (36 MB for 3,000 points).

    Examples
    --------
    The corners of a 3 × 4 rectangle, from their distances (up to a rotation):

    >>> x = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0]])
    >>> d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    >>> classical_mds(d).round(3).tolist()
    [[2.0, 1.5], [2.0, -1.5], [-2.0, 1.5], [-2.0, -1.5]]
    """
    from scipy.sparse.linalg import eigsh  # lazy: only the MDS views need scipy

    n = len(d)
    b = np.square(d, dtype=np.float32)
    r = b.mean(axis=1, dtype=np.float64).astype(np.float32)
    b -= r[:, None]
    b -= r[None, :]
    b += np.float32(r.mean())
    b *= np.float32(-0.5)
    if n <= 3:
        w, v = np.linalg.eigh(b.astype(np.float64))
        w, v = w[-2:], v[:, -2:]
    else:
        v0 = np.random.default_rng(seed).normal(size=n).astype(np.float32)
        w, v = eigsh(b, k=2, which="LA", v0=v0)
    del b
    order = np.argsort(-w)
    w, v = w[order].astype(np.float64), v[:, order].astype(np.float64)
    v = v * np.where(v[np.abs(v).argmax(axis=0), range(2)] < 0, -1.0, 1.0)  # deterministic signs
    return v * np.sqrt(np.maximum(w, 0.0))


def _pairwise_distances32(x: np.ndarray, metric: str) -> np.ndarray:
    """n × n float32 distances, symmetric, zero diagonal (cosine without a float64 copy)."""
    if metric == "cosine":
        u = np.asarray(x, dtype=np.float32)
        norms = np.linalg.norm(u, axis=1, keepdims=True)
        u = u / np.where(norms > 0, norms, 1.0).astype(np.float32)
        d = u @ u.T
        np.subtract(np.float32(1.0), d, out=d)
    else:
        from sklearn.metrics import pairwise_distances  # lazy: sklearn takes seconds to import

        d = pairwise_distances(x, metric=metric).astype(np.float32)
    d += d.T.copy()
    d *= np.float32(0.5)
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def smacof_2d(d: np.ndarray, init: np.ndarray, *, max_iter: int = 50, eps: float = 1e-3) -> np.ndarray:
    """Metric SMACOF (Guttman transform) from ``init``, in float32 with two n × n work matrices
    reused across iterations (sklearn's ``smacof`` allocates several float64 ones per
    iteration: ~460 MB for 3,000 points, against ~110 MB here). Stops when the relative
    stress decrease falls under ``eps``.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [3.0, 4.0]])
    >>> d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)).astype(np.float32)
    >>> y = smacof_2d(d, x + [[0.3, 0.0], [0.0, 0.2], [0.0, 0.0], [-0.2, 0.1]])
    >>> bool(np.abs(np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)) - d).max() < 0.01)  # distances kept
    True
    """
    n = len(d)
    x = np.asarray(init, dtype=np.float64).copy()
    dist = np.empty_like(d)
    ratio = np.empty_like(d)
    old = None
    for _ in range(max_iter):
        xf = x.astype(np.float32)
        sq = (xf * xf).sum(axis=1)
        np.matmul(xf, xf.T, out=dist)
        dist *= np.float32(-2.0)
        dist += sq[:, None]
        dist += sq[None, :]
        np.maximum(dist, 0.0, out=dist)
        np.sqrt(dist, out=dist)
        np.subtract(dist, d, out=ratio)
        stress = float(np.einsum("ij,ij->", ratio, ratio, dtype=np.float64)) / 2
        if old is not None and old - stress < eps * old:
            break
        old = stress
        ratio.fill(0.0)
        np.divide(d, dist, out=ratio, where=dist > 0)
        b_diag = ratio.sum(axis=1, dtype=np.float64)
        x = (b_diag[:, None] * x - (ratio @ x.astype(np.float32)).astype(np.float64)) / n
    return x


def mds_2d(vectors: np.ndarray, *, seed: int = 42, metric: str = "cosine",
           max_iter: int = 50) -> np.ndarray:
    """Metric MDS of a few thousand points at most: classical MDS, then SMACOF stress
    majorisation from there (converges in a few iterations). About 1 s for 1,000 points and
    3 s for 3,000 on 2 cores; memory: four n × n float32 matrices at most (~150 MB for 3,000).

    Examples
    --------
    >>> v = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> xy = mds_2d(v)  # cosine distances
    >>> xy.shape, xy.dtype, bool(np.linalg.norm(xy[0] - xy[1]) < np.linalg.norm(xy[0] - xy[2]))
    ((4, 2), dtype('float32'), True)
    >>> mds_2d(v[:2]).tolist()  # fewer than 3 points: all at the origin
    [[0.0, 0.0], [0.0, 0.0]]
    """
    x = np.asarray(vectors)
    if len(x) < 3:
        return np.zeros((len(x), 2), dtype=np.float32)
    d = _pairwise_distances32(x, metric)
    if not d.any():
        return np.zeros((len(x), 2), dtype=np.float32)
    init = classical_mds(d, seed=seed)
    return smacof_2d(d, init, max_iter=max_iter).astype(np.float32)
