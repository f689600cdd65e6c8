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
from functools import lru_cache
from pathlib import Path

from models.core.families import FAMILY_COSINE

log = logging.getLogger(__name__)

PARAMS_FILE = Path(__file__).with_name("search_params.json")

# the constants scripts/tools/tune_search.py fits: their only value is in search_params.json
FITTED_FIELDS = ("short_max_terms", "alpha_short", "beta_short", "alpha_long", "beta_long",
                 "prf_docs_short", "prf_weight_short", "prf_docs_long", "prf_weight_long",
                 "smooth_short", "smooth_long", "place_boost", "period_boost", "producer_boost",
                 "format_boost")
# the constants set by hand (their value is in SearchParams' code; a JSON may override them)
HAND_SET_FIELDS = ("depth", "smooth_lift_only", "smooth_other_families", "context_min_terms",
                   "rrf_context", "families", "family_cosine")


class SearchParamsError(ValueError):
    """The search parameters file is missing or unusable (one line: the file and the problem).

    Examples
    --------
    >>> try:
    ...     load_search_params(Path("/nonexistent/search_params.json"))
    ... except SearchParamsError as exc:
    ...     print(exc)
    search parameters file missing: /nonexistent/search_params.json
    """


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
    """Every constant of the search (see the module docstring). The fitted ones
    (:data:`FITTED_FIELDS`, chosen by ``scripts/tools/tune_search.py``) have a single source, the
    package's ``search_params.json``: a field left unset takes its value there, so ``SearchParams()``
    is the fitted parameters. The others (:data:`HAND_SET_FIELDS`) are hand-set here.

    Examples
    --------
    >>> p = SearchParams(alpha_short=0.9, alpha_long=0.6, rrf_context=1, context_min_terms=8)
    >>> p.hybrid(short=True).keyword_weight, p.hybrid(short=False).keyword_weight
    (0.9, 0.6)
    >>> p.hybrid(short=False, n_terms=3).method, p.hybrid(short=False, n_terms=9).method
    ('mix', 'rrf')
    >>> SearchParams.from_dict({"prf_docs": 2, "prf_weight": 0.5}).prf(short=False)  # old keys
    (2, 0.5)
    >>> SearchParams() == load_search_params()
    True
    """

    # hand-set (not fitted): candidates taken from each mode, a cost bound
    depth: int = 1000
    # fitted (FITTED_FIELDS): no value in code, the default is the package's search_params.json
    short_max_terms: int = None  # type: ignore[assignment]
    alpha_short: float = None  # type: ignore[assignment]
    beta_short: float = None  # type: ignore[assignment]
    alpha_long: float = None  # type: ignore[assignment]
    beta_long: float = None  # type: ignore[assignment]
    prf_docs_short: int = None  # type: ignore[assignment]
    prf_weight_short: float = None  # type: ignore[assignment]
    prf_docs_long: int = None  # type: ignore[assignment]
    prf_weight_long: float = None  # type: ignore[assignment]
    smooth_short: float = None  # type: ignore[assignment]
    smooth_long: float = None  # type: ignore[assignment]
    place_boost: float = None  # type: ignore[assignment]
    period_boost: float = None  # type: ignore[assignment]
    producer_boost: float = None  # type: ignore[assignment]
    format_boost: float = None  # type: ignore[assignment]
    # hand-set from here on (HAND_SET_FIELDS)
    smooth_lift_only: int = 0  # hand-set: 1 = the neighbour smoothing only raises scores
    smooth_other_families: int = 0  # hand-set: 1 = a dataset's own family is left out of its smoothing
    # hand-set (docs/search-protocol.md): a query of at least context_min_terms terms is a long
    # question with context (« Je débute l'inventaire d'une cathédrale… où trouver … ? »); with
    # rrf_context = 1 its two sides are fused by reciprocal rank instead of the score mix
    context_min_terms: int = 8
    rrf_context: int = 1  # adopted 2026-12-07 on a held-out set written for it (docs/search-protocol.md)
    families: int = 1  # hand-set, not fitted: one result per family of near-identical datasets (0: off)
    family_cosine: float = FAMILY_COSINE  # hand-set: members' least cosine (docs/search-protocol.md)

    def __post_init__(self) -> None:
        missing = [name for name in FITTED_FIELDS if getattr(self, name) is None]
        if missing:  # the fitted values of the package's JSON (read once)
            fitted = _package_fitted()
            for name in missing:
                object.__setattr__(self, name, fitted[name])

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


def _read_params(path: Path) -> dict:
    """The ``params`` of a parameters file, checked: every fitted field, numbers only, no unknown key
    (the old keys ``prf_docs`` / ``prf_weight`` stand for both query classes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SearchParamsError(f"search parameters file missing: {path}") from None
    except OSError as exc:
        raise SearchParamsError(f"search parameters file unreadable: {path} ({exc.strerror or exc})"
                                ) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SearchParamsError(f"search parameters file is not JSON: {path} ({exc})") from None
    params = data.get("params", data) if isinstance(data, dict) else None
    if not isinstance(params, dict):
        raise SearchParamsError(f"search parameters file has no 'params' object: {path}")
    covered = set()
    for key, value in params.items():
        names = _LEGACY.get(key, (key,))
        if not set(names) <= set(FITTED_FIELDS) | set(HAND_SET_FIELDS):
            raise SearchParamsError(f"search parameters file {path}: unknown parameter {key!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SearchParamsError(f"search parameters file {path}: {key} must be a number, "
                                    f"not {json.dumps(value)[:40]}")
        covered.update(names)
    missing = [name for name in FITTED_FIELDS if name not in covered]
    if missing:
        raise SearchParamsError(f"search parameters file {path}: fitted parameter(s) missing: "
                                f"{', '.join(missing)}")
    return params


@lru_cache(maxsize=1)
def _package_fitted() -> dict:
    """The fitted values of the package's ``search_params.json`` (read once)."""
    params = SearchParams.from_dict(_read_params(PARAMS_FILE))
    return {name: getattr(params, name) for name in FITTED_FIELDS}


def load_search_params(path: Path | None = None) -> SearchParams:
    """The fitted parameters (``search_params.json``: ``{"params": {...}, ...}``, the package's by
    default); :class:`SearchParamsError` (one line) when the file is missing, not JSON, lacks a
    fitted parameter or holds a value that is not a number — never a silent default.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "search_params.json"
    ...     _ = path.write_text(json.dumps({"params": {**{k: 1 for k in FITTED_FIELDS},
    ...                                                "alpha_short": 0.5, "depth": 200}}))
    ...     params = load_search_params(path)
    ...     _ = path.write_text('{"params": {"alpha_short": 0.5}}')
    ...     try:
    ...         load_search_params(path)
    ...     except SearchParamsError as exc:
    ...         error = str(exc)
    >>> params.alpha_short, params.depth
    (0.5, 200)
    >>> "fitted parameter(s) missing: short_max_terms, beta_short" in error
    True
    """
    return SearchParams.from_dict(_read_params(Path(path or PARAMS_FILE)))
