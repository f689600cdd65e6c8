"""Search over the artifacts: four modes, each a score for every dataset.

* ``keyword``  — BM25F over title, tags, producer, description (:mod:`models.keyword`);
* ``semantic`` — e5 query embedding · dataset embeddings;
* ``hybrid``   — reciprocal-rank fusion of the two, plus a popularity prior (views, reuses,
  followers), as data.gouv.fr's own search weighs popularity;
* ``word``     — word2vec trained on the catalogue (:mod:`models.wordvec`).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MODES = ("keyword", "semantic", "hybrid", "word")
DEFAULT_MODE = "hybrid"


@dataclass
class Hit:
    row: int  # artifact row id
    score: float

    def as_dict(self, datasets) -> dict:
        # column by column: ``datasets.iloc[row]`` would build a whole mixed-type row (~2 ms)
        row = self.row
        return {"id": datasets["id"].iat[row], "title": datasets["title"].iat[row],
                "organization": datasets["organization"].iat[row], "score": round(float(self.score), 4)}


def clean_query(query: str | None, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Drop control characters, collapse spaces, cap the length."""
    if not query:
        return ""
    s = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(query))
    s = " ".join(s.split())
    return s[:max_chars]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class SemanticSearcher:
    def __init__(self, embeddings: np.ndarray, encoder) -> None:
        self.embeddings = embeddings
        self.encoder = encoder

    def query_vector(self, query: str) -> np.ndarray:
        return self.encoder.encode([query], kind="query")[0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        q = self.query_vector(query)
        scores = self.embeddings @ q
        return [Hit(int(i), float(scores[i])) for i in top_k(scores, k)]


# ---- hybrid ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class HybridParams:
    """Generic fusion parameters (tuned on the labelled files as a whole, never per query)."""

    depth: int = 100  # candidates taken from each mode
    rrf_k: float = 60.0  # reciprocal-rank fusion constant
    w_keyword: float = 1.0
    w_semantic: float = 1.0
    prior: float = 0.004  # weight of the popularity prior, in RRF units (1/(60+1) ≈ 0.016)


def popularity_prior(datasets) -> np.ndarray:
    """Popularity in [0, 1]: mean of log-scaled views, reuses and followers, each / its max."""
    parts = []
    for col in ("views", "reuses", "followers"):
        if col not in datasets.columns:
            continue
        v = np.log1p(np.clip(datasets[col].fillna(0).to_numpy(dtype=np.float64), 0, None))
        m = v.max() if len(v) else 0.0
        parts.append(v / m if m > 0 else np.zeros_like(v))
    if not parts:
        return np.zeros(len(datasets), dtype=np.float32)
    return np.mean(parts, axis=0).astype(np.float32)


def ranks_of(scores: np.ndarray, depth: int, *, positive_only: bool = False) -> dict[int, int]:
    """Row -> 1-based rank among the ``depth`` best (rows of score -inf never ranked)."""
    idx = top_k(scores, depth)
    keep = np.isfinite(scores[idx])
    if positive_only:
        keep &= scores[idx] > 0
    return {int(i): r for r, i in enumerate(idx[keep], 1)}


def rrf_fuse(rankings: list[dict[int, int]], weights: list[float], *, k: float = 60.0,
             prior: np.ndarray | None = None, prior_weight: float = 0.0) -> dict[int, float]:
    """Weighted reciprocal-rank fusion ``Σ w_m / (k + rank_m)`` (+ prior) over the union."""
    out: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for row, r in ranking.items():
            out[row] = out.get(row, 0.0) + w / (k + r)
    if prior is not None and prior_weight:
        for row in out:
            out[row] += prior_weight * float(prior[row])
    return out


def hybrid_scores(keyword: np.ndarray, semantic: np.ndarray, prior: np.ndarray | None,
                  params: HybridParams = HybridParams()) -> np.ndarray:
    """Fused score of every dataset (-inf outside the candidates of both modes)."""
    fused = rrf_fuse([ranks_of(keyword, params.depth, positive_only=True),
                      ranks_of(semantic, params.depth)],
                     [params.w_keyword, params.w_semantic], k=params.rrf_k,
                     prior=prior, prior_weight=params.prior)
    out = np.full(len(semantic), -np.inf, dtype=np.float64)
    if fused:
        rows = np.fromiter(fused.keys(), dtype=np.int64, count=len(fused))
        out[rows] = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
    return out


# ---- comparing modes ------------------------------------------------------------------------

def cross_ranks(rows_by_mode: dict[str, list[int]]) -> dict[str, dict[int, int]]:
    """Mode -> {row: 1-based rank} for every listed row (to mark a result with its rank
    in the other modes)."""
    return {m: {int(r): i for i, r in enumerate(rows, 1)} for m, rows in rows_by_mode.items()}


def overlap(rows_by_mode: dict[str, list[int]], k: int = 10) -> dict:
    """How much the top ``k`` of the modes agree: ``{"pairs": {(a, b): n}, "all": n, "k": k}``
    (pairs in the modes' order; ``n`` = rows in both top ``k``)."""
    modes = list(rows_by_mode)
    tops = {m: set(rows_by_mode[m][:k]) for m in modes}
    pairs = {(a, b): len(tops[a] & tops[b]) for i, a in enumerate(modes) for b in modes[i + 1:]}
    common = set.intersection(*tops.values()) if tops else set()
    return {"pairs": pairs, "all": len(common), "k": k}
