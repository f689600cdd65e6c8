"""Topic-model formulas shared by the build and the Thèmes page: relevance (Sievert & Shirley),
Jensen-Shannon distances."""

from __future__ import annotations

import math

import numpy as np


def relevance(p_wt, p_w, lam: float) -> np.ndarray:
    """Sievert & Shirley (2014): λ·log p(w|t) + (1−λ)·log(p(w|t)/p(w))."""
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
    """Jensen-Shannon distance = sqrt(divergence): a metric, in [0, 1] in base 2."""
    return np.sqrt(js_divergence_matrix(p, q, base=base))


