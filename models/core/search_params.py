"""The search constants: :class:`SearchParams`, fitted by ``scripts/tools/tune_search.py`` with k-fold
cross-validation over the labelled files and stored in ``models/core/search_params.json``
(:func:`load_search_params`), and the fusion constants of one query, :class:`HybridParams`.

Shared by the app (:mod:`models.serve.ranking`, :mod:`models.serve.search`) and by the pipeline,
which records the parameters in effect in a build's manifest (``parameters.search``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from models.core.families import FAMILY_COSINE

log = logging.getLogger(__name__)

PARAMS_FILE = Path(__file__).with_name("search_params.json")


@dataclass(frozen=True)
class HybridParams:
    """Generic fusion parameters, tuned on the labelled files as a whole (never per query,
    no query-specific rule, no boost of any dataset).

    ``method="mix"`` (default), a calibrated score mix over the union of both modes' ``depth``
    best candidates::

        score = (α · kw / kw_max + (1 − α) · sem_minmax) · (1 + β · popularity)

    ``kw_max`` is the best BM25F score the query could reach (Σ idf of its terms; a term unknown
    to the catalogue counts as the rarest term), so a keyword match on a few words of a long
    question weighs little; ``sem_minmax`` rescales the cosine to [0, 1] over the semantic
    candidates. The semantic side first expands the query with its ``prf_docs`` nearest datasets
    (Rocchio pseudo-relevance feedback). ``method="rrf"``: reciprocal-rank fusion
    ``Σ w / (rrf_k + rank)``, then the same popularity factor.

    Examples
    --------
    >>> h = HybridParams(keyword_weight=0.5, prf_docs=0)
    >>> h.method, h.keyword_weight, sorted(h.as_dict())
    ('mix', 0.5, ['depth', 'keyword_weight', 'method', 'popularity', 'prf_docs', 'prf_weight', 'rrf_k'])
    """

    method: str = "mix"
    depth: int = 1000  # candidates taken from each mode
    keyword_weight: float = 0.8  # α
    popularity: float = 3.5  # β: the most popular dataset weighs up to 1 + β times more
    prf_docs: int = 3  # 0: no pseudo-relevance feedback
    prf_weight: float = 1.0
    rrf_k: float = 60.0

    def as_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class SearchParams:
    """Every constant of the search (see the module docstring), with their fitted values.

    Examples
    --------
    >>> p = SearchParams(alpha_short=0.9, alpha_long=0.6, rrf_context=1, context_min_terms=8)
    >>> p.hybrid(short=True).keyword_weight, p.hybrid(short=False).keyword_weight
    (0.9, 0.6)
    >>> p.hybrid(short=False, n_terms=3).method, p.hybrid(short=False, n_terms=9).method
    ('mix', 'rrf')
    >>> SearchParams.from_dict({"prf_docs": 2, "prf_weight": 0.5}).prf(short=False)  # old keys
    (2, 0.5)
    """

    depth: int = 1000  # candidates taken from each mode (not fitted: a cost bound)
    short_max_terms: int = 3
    alpha_short: float = 0.8
    beta_short: float = 3.5
    alpha_long: float = 0.8
    beta_long: float = 3.5
    prf_docs_short: int = 3
    prf_weight_short: float = 1.0
    prf_docs_long: int = 3
    prf_weight_long: float = 1.0
    smooth_short: float = 0.0
    smooth_long: float = 0.0
    place_boost: float = 1.0
    period_boost: float = 0.3
    producer_boost: float = 1.0
    format_boost: float = 0.3
    smooth_lift_only: int = 0  # hand-set: 1 = the neighbour smoothing only raises scores
    smooth_other_families: int = 0  # hand-set: 1 = a dataset's own family is left out of its smoothing
    # hand-set (docs/search-protocol.md): a query of at least context_min_terms terms is a long
    # question with context (« Je débute l'inventaire d'une cathédrale… où trouver … ? »); with
    # rrf_context = 1 its two sides are fused by reciprocal rank instead of the score mix
    context_min_terms: int = 8
    rrf_context: int = 0
    families: int = 1  # hand-set, not fitted: one result per family of near-identical datasets (0: off)
    family_cosine: float = FAMILY_COSINE  # hand-set: members' least cosine (docs/search-protocol.md)

    def hybrid(self, short: bool, n_terms: int = 0) -> HybridParams:
        """Fusion constants for a short (keyword) or long (question) query of ``n_terms`` terms."""
        prf_docs, prf_weight = self.prf(short)
        context = self.rrf_context and not short and n_terms >= self.context_min_terms
        return HybridParams(method="rrf" if context else "mix", depth=self.depth,
                            keyword_weight=self.alpha_short if short else self.alpha_long,
                            popularity=self.beta_short if short else self.beta_long,
                            prf_docs=prf_docs, prf_weight=prf_weight)

    def prf(self, short: bool) -> tuple[int, float]:
        """Rocchio feedback (datasets, weight) for a short or long query."""
        return ((self.prf_docs_short, self.prf_weight_short) if short
                else (self.prf_docs_long, self.prf_weight_long))

    def smooth(self, short: bool) -> float:
        """Weight of the neighbour smoothing of the semantic score for a short or long query."""
        return self.smooth_short if short else self.smooth_long

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> SearchParams:
        if not d:
            return cls()
        names = {f.name: f.type for f in fields(cls)}
        kw = {}
        for k, v in d.items():
            for name in _LEGACY.get(k, (k,)):
                if name in names and (name == k or name not in d):
                    kw[name] = int(v) if name in _INTS else float(v)
        return cls(**kw)


_INTS = ("depth", "short_max_terms", "prf_docs_short", "prf_docs_long", "smooth_lift_only",
         "smooth_other_families", "context_min_terms", "rrf_context", "families")
# parameters recorded before the feedback had one setting per query class applied to both
_LEGACY = {"prf_docs": ("prf_docs_short", "prf_docs_long"),
           "prf_weight": ("prf_weight_short", "prf_weight_long")}


def load_search_params(path: Path | None = None) -> SearchParams:
    """The fitted parameters (``search_params.json``: ``{"params": {...}, ...}``), else defaults.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "search_params.json"
    ...     _ = path.write_text('{"params": {"alpha_short": 0.5, "depth": 200}}')
    ...     params = load_search_params(path)
    >>> params.alpha_short, params.depth
    (0.5, 200)
    """
    p = Path(path or PARAMS_FILE)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return SearchParams.from_dict(data.get("params", data))
    except (OSError, ValueError, TypeError) as exc:
        log.info("search parameters from defaults (%s)", exc)
        return SearchParams()
