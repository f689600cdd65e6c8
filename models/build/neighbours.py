"""Exact cosine nearest neighbours on L2-normalised vectors, in blocks."""

from __future__ import annotations

import numpy as np


def knn(vectors: np.ndarray, k: int = 10, *, block: int = 2048,
        show_progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other rows of each row: (indices int32 (n,k), cosine float32 (n,k))."""
    from tqdm.auto import tqdm

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
    return idx, scores
