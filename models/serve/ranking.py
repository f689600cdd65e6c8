"""Query-type-aware fusion, soft boosts from what the query names, sorts, and the reasons a
result ranks (« why »).

Query features (:func:`query_features`), all computed from the query text alone:

* ``n_terms`` — keyword terms after French normalisation and stop words
  (:func:`models.core.text.keyword_terms`: « Où sont les musées ? » → ``musee``: 1 term);
* ``question`` — starts with a question word (où, quand, comment, quel·le·s, combien, pourquoi,
  qui, que, quoi, est-ce, y a-t-il, existe-t-il …) or contains « ? »;
* ``acronym`` — a word of 2 to 8 capitals (« SIRENE », « RNA », « PLU »).

A query is **short** (a keyword query: « siren », « prenoms », « base adresse nationale ») when
it is no question and has at most ``short_max_terms`` terms (one more if it holds an acronym);
else **long** (a question in plain words). Each class has its own fusion constants: the keyword
weight α and the popularity weight β of ``(α · bm25/bm25_max + (1 − α) · cosine_minmax) ·
(1 + β · popularity)`` (:func:`models.search.hybrid_scores`). On the labelled files, popularity
is decisive for short keyword queries (the expected dataset of « sirene » is the most viewed one);
it was first thought harmful for long questions (the most viewed datasets are not the answer to
« où sont les musées ? »), but without it (``beta_long = 0``) every question set loses, our
never-tuned forum questions most (pooled MRR@10 −0.069, p 0.0001, docs/search-protocol.md). β is
fitted separately for each class. So was the Rocchio pseudo-relevance feedback of the semantic
side (``prf_docs_*``, ``prf_weight_*``: the query vector plus the mean of its nearest datasets'
vectors), removed since under the protocol. Before the fusion,
the semantic score may be smoothed over each dataset's nearest datasets (the build's
``neighbours.npy``) with weight γ (``smooth_short`` / ``smooth_long``,
:func:`models.serve.search.neighbour_smooth`): a dataset whose neighbours also answer a question is
more likely to answer it than an isolated one that happens to lie close to it (« combien de
passagers prennent l'avion » → the airports' files, a family of near-twins, before a regional
transport digest). It is off (γ = 0 for both classes) since it was re-decided under the protocol:
its one clear gain was on the 20 public questions it had been fitted on, no significant one on
the sets it was not fitted on (docs/search-protocol.md; a fresh set of short questions leans its
way, p 0.16), and it lifted families of look-alike tables above the answer
(« Quand est-ce que les enfants sont en vacances ? »: the national school calendars 1st and 2nd
without it, 12th with it).

Soft boosts (:func:`boost_factors`): a place, a period, a producer or a format named in the query
(:mod:`models.serve.understanding`) multiplies the fused score of the datasets that match it by
``1 + boost × match`` — never a hard filter, so a national dataset can still win when nothing
local exists. Territory match: 1 for a dataset about the territory or a part of it, 0.5 for one
about an enclosing territory (a département for a commune), not for France. Period match: 1
when the dataset's temporal coverage (else its creation to last-modification years) overlaps the
period; for « récents », « mis à jour en … » its last-modified year; for « publiés en … » its
creation year.

Every constant lives in :class:`SearchParams`, fitted by ``scripts/tools/tune_search.py`` with k-fold
cross-validation over the labelled files and stored in ``models/core/search_params.json``
(:mod:`models.core.search_params`); a
build records the parameters in effect in its manifest (``parameters.search``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass

import numpy as np

from models.core import french
from models.core.geo import norm_name

# the constants live in models.core (the pipeline records them too); re-exported here
from models.core.search_params import (  # noqa: F401
    _INTS,
    _LEGACY,
    PARAMS_FILE,
    HybridParams,
    SearchParams,
    load_search_params,
)
from models.core.text import fold, keyword_terms
from models.serve.filters import FACET_DEPTH
from models.serve.search import DEFAULT_MODE, MODES, candidates, clean_query

log = logging.getLogger(__name__)

SORTS = {"relevance": "pertinence", "recent": "plus récents", "popular": "plus populaires"}
DEFAULT_SORT = "relevance"
QUESTION_WORDS = frozenset({"ou", "quand", "comment", "quel", "quelle", "quels", "quelles",
                            "combien", "pourquoi", "qui", "que", "quoi", "lequel", "laquelle",
                            "lesquels", "lesquelles", "est", "existe", "y", "puis", "peut", "dois",
                            "faut"})
_ACRONYM = re.compile(r"\b[A-ZÀ-Ý]{2,8}\b")


@dataclass(frozen=True)
class QueryFeatures:
    """What :func:`query_features` reads in a query: its number of keyword terms, whether it is
    a question, whether it holds an acronym, and so whether it is short (module docstring).

    Examples
    --------
    >>> query_features("siren").as_dict()
    {'n_terms': 1, 'question': False, 'acronym': False, 'short': True}
    """

    n_terms: int
    question: bool
    acronym: bool
    short: bool

    def as_dict(self) -> dict:
        return asdict(self)


def query_features(query: str, short_max_terms: int | None = None) -> QueryFeatures:
    """The query's type (module docstring); ``short_max_terms`` defaults to the fitted value.

    Examples
    --------
    >>> query_features("Où sont les musées ?")
    QueryFeatures(n_terms=1, question=True, acronym=False, short=False)
    >>> query_features("base SIRENE")  # an acronym allows one more term
    QueryFeatures(n_terms=2, question=False, acronym=True, short=True)
    >>> query_features("prix des carburants en Bretagne par station", short_max_terms=3).short
    False
    """
    q = query or ""
    n_terms = len(keyword_terms(q))
    words = re.findall(r"[a-z]+", fold(q.lower()))
    question = "?" in q or (bool(words) and words[0] in QUESTION_WORDS)
    acronym = bool(_ACRONYM.search(q)) and not q.isupper()
    if short_max_terms is None:
        short_max_terms = SearchParams().short_max_terms
    limit = short_max_terms + (1 if acronym else 0)
    return QueryFeatures(n_terms, question, acronym, (not question) and n_terms <= limit)


# ---- boosts ----------------------------------------------------------------------------------
def territory_match(catalogue, slot) -> np.ndarray:
    """Per row, how well it matches a territory slot: 1 about it or a part of it, 0.5 about an
    enclosing territory other than France; weighted by the candidates' confidences.

    Examples
    --------
    A stand-in catalogue: row 0 is about Toulouse, row 1 about the Haute-Garonne, row 2 nowhere.

    >>> from types import SimpleNamespace
    >>> from models.serve.understanding import Candidate, Slot
    >>> cat = SimpleNamespace(
    ...     n=3, territories={"pos": {"commune:31555": 0, "departement:31": 1},
    ...                       "keys": ["commune:31555", "departement:31"]},
    ...     territory_rows=lambda key: np.array({"commune:31555": [0], "departement:31": [0, 1]}[key]),
    ...     ancestors=lambda i: np.array([[0, 1], [1]][i]), direct_rows_of=lambda i: np.array([[0], [1]][i]))
    >>> toulouse = Candidate(("commune", "31555"), "Toulouse (commune)", 0.9)
    >>> slot = Slot("territory", toulouse.value, toulouse.label, (0, 8), "Toulouse", 0.9, (toulouse,))
    >>> territory_match(cat, slot).tolist()
    [1.0, 0.5, 0.0]
    """
    t = catalogue.territories
    out = np.zeros(catalogue.n, dtype=np.float32)
    cands = slot.candidates or ()
    best = max((c.confidence for c in cands), default=1.0) or 1.0
    for c in cands or ():
        key = f"{c.value[0]}:{c.value[1]}"
        w = float(c.confidence) / best
        i = t["pos"].get(key)
        if i is None:
            continue
        rows = catalogue.territory_rows(key)
        out[rows] = np.maximum(out[rows], w)
        if c.value[0] == "pays":
            continue
        for a in catalogue.ancestors(i)[1:]:
            if t["keys"][a] == "pays:FR":
                continue
            r = catalogue.direct_rows_of(a)
            out[r] = np.maximum(out[r], 0.5 * w)
    return out


def period_match(catalogue, slot) -> np.ndarray:
    """Per row, 1 when it matches a period slot (module docstring: the years it covers, else
    its creation to last-modification years; its last update or creation year when the slot
    says so), else 0.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from models.serve.understanding import Slot
    >>> cat = SimpleNamespace(modified_year=np.array([2025, 2019, 2024]),
    ...                       created_year=np.array([2018, 2019, 2024]),
    ...                       coverage_start=np.array([-1, 2010, -1]), coverage_end=np.array([-1, 2015, -1]))
    >>> period_match(cat, Slot("period", (2018, 2020), "2018–2020", (0, 9), "2018-2020", 0.9,
    ...                        field="coverage")).tolist()
    [1.0, 0.0, 0.0]
    >>> period_match(cat, Slot("period", (2024, 2025), "récents", (0, 7), "récents", 0.7,
    ...                        field="modified")).tolist()
    [1.0, 0.0, 1.0]
    """
    y1, y2 = slot.value
    if slot.field == "modified":
        y = catalogue.modified_year
        return ((y >= y1) & (y <= y2)).astype(np.float32)
    if slot.field == "created":
        y = catalogue.created_year
        return ((y >= y1) & (y <= y2)).astype(np.float32)
    cs, ce = catalogue.coverage_start, catalogue.coverage_end
    has = cs >= 0
    ce2 = np.where(ce >= 0, ce, np.where(has, cs, -1))
    lo = np.where(has, cs, catalogue.created_year)
    hi = np.where(has, ce2, catalogue.modified_year)
    ok = (lo >= 0) & (hi >= 0) & (lo <= y2) & (hi >= y1)
    return ok.astype(np.float32)


def boost_factors(catalogue, understanding, params: SearchParams) -> np.ndarray | None:
    """``1 + Σ boost × match`` per row for the slots of a query (None: nothing to boost).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from models.serve.understanding import Slot, Understanding
    >>> cat = SimpleNamespace(n=3, format_names=("csv", "json"),
    ...                       format_bits=np.array([1, 2, 3], dtype=np.uint32))  # csv, json, both
    >>> und = Understanding("budget csv", (Slot("format", "csv", "CSV", (7, 10), "csv", 0.9),), "budget")
    >>> boost_factors(cat, und, SearchParams(format_boost=0.3)).astype(float).round(2).tolist()
    [1.3, 1.0, 1.3]
    >>> boost_factors(cat, None, SearchParams()) is None
    True
    """
    if understanding is None or not understanding.slots:
        return None
    out = np.ones(catalogue.n, dtype=np.float32)
    any_boost = False
    for slot in understanding.slots:
        if slot.kind == "territory" and params.place_boost:
            m = territory_match(catalogue, slot)
            w = params.place_boost
        elif slot.kind == "period" and params.period_boost:
            m, w = period_match(catalogue, slot), params.period_boost
        elif slot.kind == "producer" and params.producer_boost:
            m = np.zeros(catalogue.n, dtype=np.float32)
            for c in slot.candidates or ():
                if c.value in catalogue._producer_pos:
                    m[catalogue.producer_of_row == catalogue._producer_pos[c.value]] = max(
                        c.confidence / max(slot.confidence, 1e-6), 0.0) if c.value != slot.value else 1.0
            w = params.producer_boost
        elif slot.kind == "format" and params.format_boost:
            if slot.value not in catalogue.format_names:
                continue
            bit = np.uint32(1 << catalogue.format_names.index(slot.value))
            m, w = ((catalogue.format_bits & bit) != 0).astype(np.float32), params.format_boost
        else:
            continue
        out += np.float32(w * min(max(slot.confidence, 0.0), 1.0) / 0.9) * m
        any_boost = True
    return out if any_boost else None


# ---- sorts -----------------------------------------------------------------------------------
def sort_rows(rows: np.ndarray, scores: np.ndarray, sort: str, catalogue, prior: np.ndarray) -> np.ndarray:
    """``rows`` (the relevant candidates) in the order of ``sort``; ties by relevance.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rows, scores = np.array([0, 1, 2]), np.array([0.9, 0.5, 0.7])
    >>> sort_rows(rows, scores, "relevance", None, None).tolist()
    [0, 2, 1]
    >>> sort_rows(rows, scores, "popular", None, np.array([0.1, 0.8, 0.1])).tolist()
    [1, 0, 2]
    >>> sort_rows(rows, scores, "recent", SimpleNamespace(modified_order=np.array([1, 3, 2])), None).tolist()
    [1, 2, 0]
    """
    rows = np.asarray(rows, dtype=np.int64)
    if sort == "recent":
        return rows[np.lexsort((-scores[rows], -catalogue.modified_order[rows]))]
    if sort == "popular":
        return rows[np.lexsort((-scores[rows], -prior[rows]))]
    return rows[np.argsort(-scores[rows], kind="stable")]


# ---- a results page: hits, reasons, facets ---------------------------------------------------
@dataclass
class SearchResult:
    """What a results page shows. ``total``: results one can page through (the filtered
    candidates, at most :data:`models.serve.filters.FACET_DEPTH` with a query; every filtered
    row without); ``n_filtered``: catalogue rows passing the filters (None: no filter);
    ``mask``: those rows (for the map); ``errors``: French messages about dropped input;
    ``corrections``: the query's words corrected before searching, ``(typed, corrected)``
    (:meth:`models.serve.engine.SearchEngine.spell`); ``query`` is the corrected text.

    Examples
    --------
    >>> from models.serve.spelling import Correction
    >>> r = SearchResult("circulation", "hybrid", "relevance", {}, [], None, [], [], 0, None, {}, None,
    ...                  None, spelling=Correction("cicrulation", "circulation",
    ...                                            [("cicrulation", "circulation")]))
    >>> r.corrections, r.total
    ([('cicrulation', 'circulation')], 0)
    """

    query: str
    mode: str
    sort: str
    filters: dict
    errors: list
    understanding: object | None
    hits: list
    why: list
    total: int
    n_filtered: int | None
    facets: dict
    mask: np.ndarray | None
    features: QueryFeatures | None
    # how well the catalogue answers the query (models.serve.confidence.Assessment; None: no query)
    assessment: object | None = None
    # the whole spelling verdict (models.serve.spelling.Correction: replacements or a suggestion)
    spelling: object | None = None

    @property
    def corrections(self) -> list:
        """The words replaced before searching, ``(typed, corrected)`` (none for a suggestion)."""
        return list(self.spelling.changes) if self.spelling is not None else []

    @property
    def topic(self) -> str:
        """The query without the places, years, producers and formats understood in it (« piscines »
        for « piscines à Rennes »): what a result's snippet shows first. The query itself when
        nothing was understood, or when nothing else is left.

        >>> from dataclasses import replace
        >>> from types import SimpleNamespace
        >>> r = SearchResult("piscines à Rennes", "hybrid", "relevance", {}, [],
        ...                  SimpleNamespace(topic_text="piscines"), [], [], 0, None, {}, None, None)
        >>> r.topic, replace(r, understanding=None).topic
        ('piscines', 'piscines à Rennes')
        """
        topic = getattr(self.understanding, "topic_text", "") or ""
        return topic.strip() or self.query

    def as_json(self, records) -> dict:
        """``{"results": [{id, title, organization, score, why, versions}], "facets": {key: [[value,
        count]]}}`` (``versions``: the ids of the other members of the result's family;
        ``records``: the build's :class:`models.serve.records.Records`)."""
        rows = records.hits_as_dicts(self.hits)
        for r, w in zip(rows, self.why, strict=True):
            r["why"] = list(w)
        out = {"results": rows, "facets": {k: [[_jsonable(f.value), f.count] for f in v]
                                           for k, v in self.facets.items()}}
        return out


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def reasons(engine, row: int, query: str, understanding, keyword_score: float,
            features: QueryFeatures | None, params: SearchParams) -> list[str]:
    """Why ``row`` ranks for ``query``, in short French phrases (plain text, never HTML).

    Examples
    --------
    With a stand-in engine (no slot, no query type: only the words and the keyword score):

    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> engine = SimpleNamespace(datasets=pd.DataFrame({"title": ["Piscines de Lyon", "Horaires"]}),
    ...                          catalogue=None)
    >>> print(reasons(engine, 0, "piscines ouvertes", None, 2.5, None, SearchParams())[0])
    « piscines » dans le titre
    >>> reasons(engine, 1, "piscines", None, 0.0, None, SearchParams())
    ['proche par le sens (aucun mot exact)']
    """
    ds = engine.datasets
    out: list[str] = []
    title = str(ds["title"].iat[row] or "")
    title_terms = set(keyword_terms(title))
    words, seen = [], set()
    slot_spans = [s.span for s in understanding.slots] if understanding is not None else []
    for m in re.finditer(r"[^\W_][\w'’-]*", query or ""):
        tok = m.group(0)
        if any(a <= m.start() < b for a, b in slot_spans):
            continue  # a place, a year …: said by its own reason below
        t = keyword_terms(tok)
        if t and t[0] in title_terms and t[0] not in seen:
            seen.add(t[0])
            words.append(tok)
    if words:
        out.append(", ".join(f"« {w} »" for w in words[:4]) + " dans le titre")
    elif np.isfinite(keyword_score) and keyword_score > 0:
        out.append("mots de la requête dans la description ou les mots-clés")
    cat = engine.catalogue
    if understanding is not None:
        for slot in understanding.slots:
            if slot.kind == "territory":
                r = _territory_reason(cat, row, slot, title)
            elif slot.kind == "period":
                r = _period_reason(cat, row, slot)
            elif slot.kind == "producer":
                r = (f"producteur : {slot.label}"
                     if cat.producer_ids[cat.producer_of_row[row]] == slot.value else None)
            elif slot.kind == "format":
                ok = slot.value in cat.format_names and bool(
                    cat.format_bits[row] & np.uint32(1 << cat.format_names.index(slot.value)))
                r = f"format {slot.label}" if ok else None
            else:
                r = None
            if r:
                out.append(r)
    if not (np.isfinite(keyword_score) and keyword_score > 0):
        out.append("proche par le sens (aucun mot exact)")
    if features is not None:
        beta = params.beta_short if features.short else params.beta_long
        if beta > 0 and float(engine.prior[row]) >= 0.5:
            views = int(ds["views"].iat[row]) if "views" in ds else 0
            out.append(f"très consulté ({french.integer(views)} vues)")
    return out


def _territory_reason(cat, row: int, slot, title: str) -> str | None:
    t = cat.territories
    targets = [f"{c.value[0]}:{c.value[1]}" for c in (slot.candidates or ())] or \
              [f"{slot.value[0]}:{slot.value[1]}"]
    for target in targets:
        ti = t["pos"].get(target)
        if ti is None:
            continue
        name = str(t["names"][ti])
        if f" {norm_name(name)} " in f" {norm_name(title)} ":
            return f"{name} dans le titre"
        for key, src in cat.row_territories(row):
            ki = t["pos"][key]
            label = cat.territory_label(key)
            if key == target:
                return f"territoire {src} : {label}"
            if ti in set(cat.ancestors(ki).tolist()):
                return f"territoire {src} : {label}, dans {name}"
            if target != "pays:FR" and key != "pays:FR" and ki in set(cat.ancestors(ti).tolist()):
                return f"territoire {src} : {label}, qui englobe {name}"
    return None


def _period_reason(cat, row: int, slot) -> str | None:
    y1, y2 = slot.value
    if slot.field == "modified":
        y = int(cat.modified_year[row])
        return f"mis à jour en {y}" if y1 <= y <= y2 else None
    if slot.field == "created":
        y = int(cat.created_year[row])
        return f"créé en {y}" if y1 <= y <= y2 else None
    cs, ce = int(cat.coverage_start[row]), int(cat.coverage_end[row])
    if cs >= 0:
        ce = ce if ce >= 0 else cs
        if cs <= y2 and ce >= y1:
            return f"couvre {cs}" if cs == ce else f"couvre {cs}–{ce}"
        return None
    lo, hi = int(cat.created_year[row]), int(cat.modified_year[row])
    if lo >= 0 and hi >= 0 and lo <= y2 and hi >= y1:
        return f"publié de {lo} à {hi}" if lo != hi else f"publié en {lo}"
    return None


def search_result(engine, query: str, *, mode: str, k: int, filters, sort: str, facets: bool,
                  ignore_slots: tuple[str, ...] = (), tag: str | None = None) -> SearchResult:
    """See :meth:`models.serve.engine.SearchEngine.search_result`. Never raises on bad input: unknown
    filters, sorts or modes are dropped with a French message."""
    clean, errors = engine.clean_filters(filters)
    if sort not in SORTS:
        errors.append(f"tri « {str(sort)[:30]} » inconnu : tri par pertinence")
        sort = DEFAULT_SORT
    if mode not in MODES:
        errors.append(f"mode « {str(mode)[:30]} » inconnu : mode {DEFAULT_MODE}")
        mode = DEFAULT_MODE
    raw_q = "" if query is None else str(query)
    q = clean_query(raw_q, engine.max_query_chars)
    if len(" ".join(raw_q.split())) > engine.max_query_chars:
        errors.append(f"requête tronquée à {engine.max_query_chars} caractères")
    correction = engine.spell(q)
    q = correction.text
    k = max(0, int(k))
    cat = engine.catalogue
    mask = engine.filter_mask(clean, tag=tag)
    n_filtered = int(mask.sum()) if mask is not None else None
    und = engine.query_understanding(q, ignore_slots) if q else None
    boost_und = und if mode == "hybrid" else None
    feats = query_features(q, engine.search_params.short_max_terms) if q else None
    raw: dict = {}

    def ranked(m: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """(candidate rows, scores) under mask ``m``."""
        if not q:
            rows = np.flatnonzero(m) if m is not None else np.arange(engine.n)
            return rows, None
        sc = engine.mode_scores(q, mode, mask=m, cache={"_raw": raw}, understanding=boost_und)
        return candidates(sc, FACET_DEPTH), sc

    if not q and mask is None:
        pool, scores = np.arange(engine.n), None
        hits_rows = np.empty(0, np.int64)
    else:
        pool, scores = ranked(mask)
        if scores is None:  # browse: most popular first (or most recent)
            key = cat.modified_order[pool] if sort == "recent" else engine.prior[pool]
            if k and len(pool):
                depth = min(len(pool), FACET_DEPTH)  # enough rows to group k families
                sel = np.argpartition(-key, depth - 1)[:depth]
                hits_rows = pool[sel][np.argsort(-key[sel], kind="stable")]
            else:
                hits_rows = np.empty(0, np.int64)
        else:
            hits_rows = sort_rows(pool, scores, sort, cat, engine.prior)
    hits = engine.cards(hits_rows, engine.prior if scores is None else scores, k)
    kw = raw.get("keyword")
    why = [reasons(engine, h.row, q, und, float(kw[h.row]) if kw is not None else -np.inf, feats,
                   engine.search_params) if q else [] for h in hits]
    fac: dict = {}
    if facets:
        pools = {None: pool}
        for key in clean:
            if scores is None and not q:
                m2 = engine.filter_mask({k2: v for k2, v in clean.items() if k2 != key}, tag=tag)
                pools[key] = np.flatnonzero(m2) if m2 is not None else np.arange(engine.n)
            else:
                pools[key] = ranked(engine.filter_mask(
                    {k2: v for k2, v in clean.items() if k2 != key}, tag=tag))[0]
        fac = cat.facets(pools)
    total = len(pool) if (q or mask is not None) else 0
    assessment = None
    if q and hits:
        from models.serve.confidence import assess  # at call time: tests patch confidence.assess

        assessment = assess(engine, q, text=raw_q, keyword_scores=kw)
    return SearchResult(q, mode, sort, clean, errors, und, hits, why, total, n_filtered, fac, mask, feats,
                        assessment, correction if q else None)
