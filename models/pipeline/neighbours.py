"""Exact cosine nearest neighbours on L2-normalised vectors, in blocks."""

from __future__ import annotations

import numpy as np


def knn(vectors: np.ndarray, k: int = 10, *, block: int = 2048,
        show_progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other rows of each row: (indices int32 (n,k), cosine float32 (n,k))."""
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    k_eff = min(k, max(n - 1, 0))
    idx = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    if k_eff == 0:
        return idx, scores
    for start in tqdm(range(0, n, block), desc="voisins", unit="bloc", disable=not show_progress):
        sims = x[start:start + block] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # not its own neighbour
        part = np.argpartition(-sims, k_eff - 1, axis=1)[:, :k_eff]
        part_scores = np.take_along_axis(sims, part, axis=1)
        order = np.argsort(-part_scores, axis=1, kind="stable")
        idx[start:start + block, :k_eff] = np.take_along_axis(part, order, axis=1)
        scores[start:start + block, :k_eff] = np.take_along_axis(part_scores, order, axis=1)
    return twins_first(x, idx, scores)


def twins_first(x: np.ndarray, idx: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with identical vectors (templated descriptions: 7.9 % of the catalogue has 10 or
    more) list each other first, in row order, then the other neighbours found. Among such
    twins every choice is equally near (cosine 1); without a rule the exact search keeps the ones
    rounding favours and an index another 10, so the lists differ for no reason. With it, the
    exact and the approximate search agree (``scripts/bench/growth.py recall``) and "similar datasets"
    are stable from one build to the next."""
    n, k = idx.shape
    if n < 2 or k == 0:
        return idx, scores
    rows = np.ascontiguousarray(x).view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    _, group, counts = np.unique(rows, return_inverse=True, return_counts=True)
    group = group.ravel()
    dup = np.flatnonzero(counts[group] > 1)
    if not len(dup):
        return idx, scores
    order = np.argsort(group, kind="stable")  # rows of a group together, in row order
    starts = np.concatenate([[0], np.cumsum(counts)])
    idx, scores = idx.copy(), scores.copy()
    for r in dup:
        g = group[r]
        twins = order[starts[g]:starts[g + 1]]
        twins = twins[twins != r][:k]
        rest = [(int(j), float(s)) for j, s in zip(idx[r], scores[r], strict=True)
                if j >= 0 and group[j] != g]
        head = [(int(j), float(x[r] @ x[j])) for j in twins]
        merged = (head + rest)[:k]
        idx[r] = -1
        scores[r] = 0.0
        idx[r, :len(merged)] = [j for j, _ in merged]
        scores[r, :len(merged)] = [s for _, s in merged]
    return idx, scores


def approximate_knn(vectors: np.ndarray, k: int = 10, *, seed: int = 42, graph_k: int = 30,
                    n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The same arrays as :func:`knn` from a nearest-neighbour-descent graph (pynndescent), in
    about ``n^1.1`` time instead of ``n^2``. The graph is built with ``graph_k`` (> k) neighbours
    for recall (measured: ``scripts/bench/growth.py --recall``); a fixed seed and one thread make it
    reproducible. Cosine scores are recomputed exactly for the pairs found."""
    from pynndescent import NNDescent  # lazy: numba-compiled, seconds to import

    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    idx = np.full((n, k), -1, dtype=np.int32)
    scores = np.zeros((n, k), dtype=np.float32)
    if n <= graph_k + 1:  # too small for a graph: exact
        return knn(x, k=k)
    index = NNDescent(x, metric="dot", n_neighbors=min(graph_k + 1, n - 1), random_state=seed,
                      n_jobs=n_jobs, low_memory=True, compressed=True)
    cand, _ = index.neighbor_graph
    cand = cand.astype(np.int64)
    cand[cand == np.arange(n)[:, None]] = -1  # not its own neighbour
    sims = np.empty(cand.shape, dtype=np.float32)
    for start in range(0, n, 8192):  # blocks: x[cand] of every row at once would be n x graph_k x dim
        c = cand[start:start + 8192]
        sims[start:start + 8192] = np.einsum("nd,nkd->nk", x[start:start + 8192], x[np.maximum(c, 0)])
    sims[cand < 0] = -np.inf
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(cand, order, axis=1)
    top_s = np.take_along_axis(sims, order, axis=1)
    ok = top >= 0
    idx[ok] = top[ok]
    scores[ok] = top_s[ok]
    return twins_first(x, idx, scores)


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Share of the exact k neighbours that ``found`` also lists (row by row, averaged)."""
    hits = sum(len(set(f[f >= 0]) & set(e[e >= 0])) for f, e in zip(found, exact, strict=True))
    total = int((exact >= 0).sum())
    return hits / total if total else 1.0
