"""Search over the artifacts: four modes, each a score for every dataset.

* ``keyword``  — BM25F over title, tags, producer, description (:mod:`models.serve.keyword`);
* ``semantic`` — e5 query embedding · dataset embeddings;
* ``hybrid``   — reciprocal-rank fusion of the two, plus a popularity prior (views, reuses,
  followers), as data.gouv.fr's own search weighs popularity;
* ``word``     — word2vec trained on the catalogue (:mod:`models.serve.wordvec`).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

import numpy as np

# the fusion constants live in models.core (with the fitted search parameters); re-exported here
from models.core.search_params import HybridParams
from models.serve.products import row_products

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MODES = ("keyword", "semantic", "hybrid", "word")
DEFAULT_MODE = "hybrid"


@dataclass
class Hit:
    """One result: its artifact row, its score and the rows of its family ranked below it.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = pd.DataFrame({"id": ["a", "b"], "title": ["Piscines", "Air"], "organization": ["Lyon", "Atmo"]})
    >>> Hit(1, 0.87654).as_dict(ds)
    {'id': 'b', 'title': 'Air', 'organization': 'Atmo', 'score': 0.8765}
    """

    row: int  # artifact row id
    score: float
    versions: tuple[int, ...] = ()  # rows of the same family ranked below it (models.core.families)

    def as_dict(self, datasets) -> dict:
        # column by column: ``datasets.iloc[row]`` would build a whole mixed-type row (~2 ms)
        row = self.row
        return {"id": datasets["id"].iat[row], "title": datasets["title"].iat[row],
                "organization": datasets["organization"].iat[row], "score": round(float(self.score), 4)}


def clean_query(query: str | None, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Drop control characters, collapse spaces, cap the length.

    Examples
    --------
    >>> clean_query("  piscines\\x00 à\\n\\tToulouse  "), clean_query(None), len(clean_query("x" * 600))
    ('piscines à Toulouse', '', 500)
    """
    if not query:
        return ""
    # cut first (a 30 MB string must not be scanned character by character): spaces collapse
    # below, so 4 × max_chars of raw text is enough to fill max_chars
    s = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(query)[:max_chars * 4 + 64])
    s = " ".join(s.split())
    return s[:max_chars]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the ``k`` best scores, best first, ties in row order (at the k-th place too: the
    first tied rows are kept).

    Examples
    --------
    >>> top_k(np.array([0.2, 0.9, -np.inf, 0.5]), 2).tolist(), top_k(np.array([1.0]), 0).tolist()
    ([1, 3], [])
    >>> top_k(np.array([1.0, 2.0, 2.0, 2.0, 1.0]), 2).tolist()  # three tied for the best two places
    [1, 2]
    """
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    neg = -np.asarray(scores)
    kth = np.partition(neg, k - 1)[k - 1]  # the k-th best score (negated)
    if np.isnan(kth):  # NaN scores (never produced by the engine): no tie rule
        part = np.argpartition(neg, k - 1)[:k]
        return part[np.argsort(neg[part], kind="stable")]
    above = np.flatnonzero(neg < kth)
    # rows tied with the k-th best: the first ones in row order (the same rows whether all rows
    # or only some candidates are ranked: candidates() relies on it)
    part = np.concatenate([above, np.flatnonzero(neg == kth)[:k - len(above)]])
    return part[np.argsort(neg[part], kind="stable")]


class SemanticSearcher:
    """Cosine of the encoded query to every dataset vector (``embeddings``: normalised rows;
    ``encoder``: :mod:`models.core.encoders`, ``encode(texts, kind="query")``).

    Examples
    --------
    >>> class Encoder:  # a stand-in for the e5 encoder
    ...     def encode(self, texts, kind):
    ...         return np.array([[1.0, 0.0]])
    >>> s = SemanticSearcher(np.array([[0.0, 1.0], [0.8, 0.6]]), Encoder())
    >>> s.search("eau", k=2)
    [Hit(row=1, score=0.8, versions=()), Hit(row=0, score=0.0, versions=())]
    """

    def __init__(self, embeddings: np.ndarray, encoder) -> None:
        self.embeddings = embeddings
        self.encoder = encoder

    def query_vector(self, query: str) -> np.ndarray:
        return self.encoder.encode([query], kind="query")[0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        q = self.query_vector(query)
        scores = row_products(self.embeddings, q)
        return [Hit(int(i), float(scores[i])) for i in top_k(scores, k)]


# ---- hybrid ---------------------------------------------------------------------------------

def popularity_prior(datasets) -> np.ndarray:
    """Popularity in [0, 1]: mean of log-scaled views, reuses and followers, each / its max.

    Examples
    --------
    >>> import pandas as pd
    >>> p = popularity_prior(pd.DataFrame({"views": [0, 10, 1000], "reuses": [0, 1, 3]}))
    >>> p.astype(float).round(3).tolist()
    [0.0, 0.424, 1.0]
    """
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


def candidates(scores: np.ndarray, depth: int, *, positive_only: bool = False) -> np.ndarray:
    """The ``depth`` best rows, best first (rows scored -inf, or ≤ 0 if asked, left out).

    Examples
    --------
    >>> sc = np.array([0.5, -np.inf, 0.9, 0.0])
    >>> candidates(sc, 3).tolist(), candidates(sc, 4, positive_only=True).tolist()
    ([2, 0, 3], [2, 0])
    """
    valid = np.isfinite(scores)
    if positive_only:
        valid &= scores > 0
    rows = np.flatnonzero(valid)
    if len(rows) > len(scores) // 2:  # most rows are candidates: select among all, then drop
        idx = top_k(scores, depth)
        return idx[valid[idx]]
    # a few rows (a keyword query's matches, a fused pool): select among them only
    return rows[top_k(scores[rows], depth)]


def ranks_of(scores: np.ndarray, depth: int, *, positive_only: bool = False) -> dict[int, int]:
    """Row -> 1-based rank among the ``depth`` best (rows of score -inf never ranked).

    Examples
    --------
    >>> ranks_of(np.array([0.5, -np.inf, 0.9, 0.0]), 3)
    {2: 1, 0: 2, 3: 3}
    """
    return {int(i): r for r, i in enumerate(candidates(scores, depth, positive_only=positive_only), 1)}


def rrf_fuse(rankings: list[dict[int, int]], weights: list[float], *, k: float = 60.0,
             prior: np.ndarray | None = None, prior_weight: float = 0.0) -> dict[int, float]:
    """Weighted reciprocal-rank fusion ``Σ w_m / (k + rank_m)``, times ``1 + prior_weight ·
    prior`` (the popularity factor), over the union of the rankings.

    Examples
    --------
    Row 2 is second for one mode and first for the other; row 0 first for one only:

    >>> fused = rrf_fuse([{0: 1, 2: 2}, {2: 1}], [0.5, 0.5], k=60)
    >>> {row: round(s * 1000, 3) for row, s in fused.items()}
    {0: 8.197, 2: 16.261}
    >>> fused = rrf_fuse([{0: 1, 2: 2}, {2: 1}], [0.5, 0.5], prior=np.array([1.0, 0.0, 0.0]),
    ...                  prior_weight=1.0)
    >>> {row: round(s * 1000, 3) for row, s in fused.items()}  # row 0 is popular: × 2
    {0: 16.393, 2: 16.261}
    """
    out: dict[int, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for row, r in ranking.items():
            out[row] = out.get(row, 0.0) + w / (k + r)
    if prior is not None and prior_weight:
        for row in out:
            out[row] *= 1.0 + prior_weight * float(prior[row])
    return out


def neighbour_smooth(scores: np.ndarray, neighbours: np.ndarray | None, weight: float, *,
                     lift_only: bool = False, families: np.ndarray | None = None) -> np.ndarray:
    """``(1 − weight) · s(d) + weight · mean of s over d's nearest datasets`` (the cluster
    hypothesis: a dataset whose neighbours also answer the query is more likely to answer it than
    an isolated one that happens to lie close to the query). ``scores``: finite, one per row;
    ``neighbours``: the build's ``neighbours.npy`` (rows × k, -1 = none); a row without neighbours
    keeps its score. ``lift_only``: the smoothing may raise a score, never lower it (neighbours
    that answer are evidence; an isolated dataset that alone answers keeps its own score).
    ``families`` (a family key per row, :mod:`models.core.families`): a dataset's own twins are
    left out of its neighbours — ten near-identical files vouch for each other ten times.

    Examples
    --------
    >>> nb = np.array([[1, 2], [0, 2], [0, 1], [-1, -1]])
    >>> neighbour_smooth(np.array([1.0, 0.8, 0.6, 0.9]), nb, 0.5).round(2).tolist()
    [0.85, 0.8, 0.75, 0.9]
    >>> neighbour_smooth(np.array([1.0, 0.8, 0.6, 0.9]), nb, 0.5, lift_only=True).round(2).tolist()
    [1.0, 0.8, 0.75, 0.9]
    """
    if not weight or neighbours is None or not len(scores):
        return scores
    nb = np.asarray(neighbours)
    valid = nb >= 0
    if families is not None:
        valid &= families[np.where(valid, nb, 0)] != families[:, None]
    vals = np.where(valid, scores[np.where(valid, nb, 0)], 0.0)
    cnt = valid.sum(axis=1)
    mean = np.where(cnt > 0, vals.sum(axis=1) / np.maximum(cnt, 1), scores)
    out = (1.0 - weight) * scores + weight * mean
    return np.maximum(scores, out) if lift_only else out


def hybrid_scores(keyword: np.ndarray, semantic: np.ndarray, prior: np.ndarray | None,
                  params: HybridParams = HybridParams(), *, keyword_max: float | None = None) -> np.ndarray:
    """Fused score of every dataset (-inf outside the candidates of both modes).

    ``keyword``: BM25F scores (0 = no match); ``semantic``: cosines (-inf = filtered out);
    ``keyword_max``: the query's best attainable BM25F score (default: the best one found).

    Examples
    --------
    >>> kw = np.array([2.0, 0.0, 1.0, 0.0])  # row 3 is a candidate of neither mode
    >>> sem = np.array([0.2, 0.8, 0.5, -np.inf])
    >>> params = HybridParams(keyword_weight=0.8, popularity=0.0)
    >>> hybrid_scores(kw, sem, None, params).round(2).tolist()
    [0.8, 0.2, 0.5, -inf]
    >>> hybrid_scores(kw, sem, None, params, keyword_max=4.0).round(2).tolist()  # the best attainable
    [0.4, 0.2, 0.3, -inf]
    """
    n = len(semantic)
    out = np.full(n, -np.inf, dtype=np.float64)
    kw_rows = candidates(keyword, params.depth, positive_only=True)
    sem_rows = candidates(semantic, params.depth)
    if params.method == "rrf":
        fused = rrf_fuse([{int(r): i for i, r in enumerate(kw_rows, 1)},
                          {int(r): i for i, r in enumerate(sem_rows, 1)}],
                         [params.keyword_weight, 1.0 - params.keyword_weight], k=params.rrf_k,
                         prior=prior, prior_weight=params.popularity)
        if fused:
            rows = np.fromiter(fused.keys(), dtype=np.int64, count=len(fused))
            out[rows] = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
        return out
    if params.method != "mix":
        raise ValueError(f"unknown fusion method {params.method!r}")
    rows = np.union1d(kw_rows, sem_rows)
    if not len(rows):
        return out
    kmax = keyword_max if keyword_max and keyword_max > 0 else float(np.max(keyword[rows], initial=0.0))
    kn = np.clip(keyword[rows] / kmax, 0.0, 1.0) if kmax > 0 else np.zeros(len(rows))
    if len(sem_rows):
        lo, hi = float(semantic[sem_rows].min()), float(semantic[sem_rows].max())
        sem = np.where(np.isfinite(semantic[rows]), semantic[rows], lo)
        sn = np.clip((sem - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.ones(len(rows))
    else:
        sn = np.zeros(len(rows))
    a = params.keyword_weight
    score = a * kn + (1.0 - a) * sn
    if prior is not None and params.popularity:
        score = score * (1.0 + params.popularity * prior[rows].astype(np.float64))
    out[rows] = score
    return out


# ---- comparing modes ------------------------------------------------------------------------

def cross_ranks(rows_by_mode: dict[str, list[int]]) -> dict[str, dict[int, int]]:
    """Mode -> {row: 1-based rank} for every listed row (to mark a result with its rank
    in the other modes).

    Examples
    --------
    >>> cross_ranks({"keyword": [4, 2], "semantic": [2, 7]})
    {'keyword': {4: 1, 2: 2}, 'semantic': {2: 1, 7: 2}}
    """
    return {m: {int(r): i for i, r in enumerate(rows, 1)} for m, rows in rows_by_mode.items()}


def overlap(rows_by_mode: dict[str, list[int]], k: int = 10) -> dict:
    """How much the top ``k`` of the modes agree: ``{"pairs": {(a, b): n}, "all": n, "k": k}``
    (pairs in the modes' order; ``n`` = rows in both top ``k``).

    Examples
    --------
    >>> overlap({"keyword": [1, 2, 3], "semantic": [2, 3, 4], "word": [3, 9]}, k=3)
    {'pairs': {('keyword', 'semantic'): 2, ('keyword', 'word'): 1, ('semantic', 'word'): 1}, 'all': 1, 'k': 3}
    """
    modes = list(rows_by_mode)
    tops = {m: set(rows_by_mode[m][:k]) for m in modes}
    pairs = {(a, b): len(tops[a] & tops[b]) for i, a in enumerate(modes) for b in modes[i + 1:]}
    common = set.intersection(*tops.values()) if tops else set()
    return {"pairs": pairs, "all": len(common), "k": k}
