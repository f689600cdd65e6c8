"""Topic-model formulas shared by the build and the Thèmes page: relevance (Sievert & Shirley),
Jensen-Shannon distances."""

from __future__ import annotations

import math

import numpy as np


def relevance(p_wt, p_w, lam: float) -> np.ndarray:
    """Sievert & Shirley (2014): λ·log p(w|t) + (1−λ)·log(p(w|t)/p(w)).

    Examples
    --------
    >>> p_wt, p_w = [0.5, 0.01], [0.05, 0.001]  # a frequent word, a rare one ten times as likely
    >>> relevance(p_wt, p_w, 1.0).round(3).tolist()  # λ = 1: by probability in the topic
    [-0.693, -4.605]
    >>> relevance(p_wt, p_w, 0.0).round(3).tolist()  # λ = 0: by lift, here equal
    [2.303, 2.303]
    """
    p_wt = np.asarray(p_wt, dtype=np.float64)
    p_w = np.asarray(p_w, dtype=np.float64)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"λ must lie in [0, 1], not {lam}")
    tiny = 1e-300
    log_pwt = np.log(np.maximum(p_wt, tiny))
    return lam * log_pwt + (1.0 - lam) * (log_pwt - np.log(np.maximum(p_w, tiny)))


def js_divergence_matrix(p: np.ndarray, q: np.ndarray | None = None, *, base: float = 2.0) -> np.ndarray:
    """Jensen-Shannon divergence between each row of ``p`` and each row of ``q`` (default p).

    Rows are normalised to sum to 1. In base 2 the divergence lies in [0, 1]; in base e in
    [0, ln 2].

    Examples
    --------
    >>> js_divergence_matrix(np.array([[1, 0], [0, 1], [1, 1]])).round(3).tolist()
    [[0.0, 1.0, 0.311], [1.0, 0.0, 0.311], [0.311, 0.311, 0.0]]
    >>> js_divergence_matrix(np.array([[3, 1]]), np.array([[0.75, 0.25], [0.25, 0.75]])).round(3).tolist()
    [[0.0, 0.189]]
    """
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum(axis=1, keepdims=True)
    q = p if q is None else np.asarray(q, dtype=np.float64)
    q = q / q.sum(axis=1, keepdims=True)

    def xlogx_ratio(a, m):  # sum a * log(a / m), with 0 log 0 = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * (np.log(a) - np.log(m)), 0.0)
        return t.sum(axis=-1)

    out = np.empty((len(p), len(q)))
    for i in range(len(p)):
        m = 0.5 * (p[i][None, :] + q)
        out[i] = 0.5 * xlogx_ratio(p[i][None, :], m) + 0.5 * xlogx_ratio(q, m)
    out = np.clip(out, 0.0, None) / math.log(base)
    if q is p:
        out = 0.5 * (out + out.T)
        np.fill_diagonal(out, 0.0)
    return out


def js_distance_matrix(p: np.ndarray, q: np.ndarray | None = None, *, base: float = 2.0) -> np.ndarray:
    """Jensen-Shannon distance = sqrt(divergence): a metric, in [0, 1] in base 2.

    Examples
    --------
    >>> js_distance_matrix(np.array([[1, 0], [0, 1], [1, 1]])).round(3).tolist()
    [[0.0, 1.0, 0.558], [1.0, 0.0, 0.558], [0.558, 0.558, 0.0]]
    """
    return np.sqrt(js_divergence_matrix(p, q, base=base))


