"""« Demander »: a question in French → one or two French sentences and up to 5 datasets, with
the passage of each description that best answers it. No Dash here, no language model: the
build's artifacts, its e5 encoder and :mod:`models.serve.understanding`.

One turn, three stages (the retrieve / classify / extract of question answering):

1. **retrieve** — the hybrid search (:meth:`models.serve.engine.SearchEngine.mode_scores`, mode
   ``hybrid``) on the topic words of the conversation; the slots act on its scores:

   * territory — each dataset gets a weight ``t`` from its declared zones and extracted
     territories (``territories.parquet``): the place itself 1, an EPCI of the commune or a
     territory inside the place 0.9, its département 0.6, its région 0.45, a national dataset
     (« France ») 0.25 and no known territory 0. Datasets about *other* places are left out.
     The score is multiplied by ``1 + territory_boost · t``. When no dataset of the place
     itself, around or inside it (``t ≥ 0.45``) is relevant, the national ones are the answer
     and the reply says so;
   * format, producer, period — filters (a dataset offers the format family, is published by the
     producer, covers the years: years in its title, else its temporal coverage, else its
     creation..last update; « récents » / « mis à jour en » use the last update). A filter that
     leaves nothing relevant is dropped and the reply says so.

   « relevant » = hybrid score ≥ ``relevance_floor`` × the best score of the topic.
2. **classify / rerank** — the ``depth`` best candidates get their best passage similarity
   ``p`` = max cosine between the question and the dataset's vectors (the dataset vector, which
   stands for passage 0, and the passages the build embedded, :mod:`models.pipeline.passages`)::

       final = (1 − w) · s / s_max + w · (p − p_min) / (p_max − p_min)

   ``s``: the territory-weighted hybrid score; min / max over the ``depth`` candidates.
   ``w = passage_weight`` is chosen by 5-fold cross-validation on the dialogue file and
   questions-public (:func:`models.serve.assistant_eval.cross_validate`, grid 0 … 0.6; the
   held-out numbers are in the README); the other constants are not fitted (generic choices).
3. **extract** — in each shown dataset, the passage with the best ``cosine + 0.05 × query
   terms it contains`` (passages without a vector: the lowest cosine of the dataset), and in
   it the sentence with the most query terms (the first one on a tie). Returned as text
   segments (``strong``: the key sentence, ``mark``: a query word) — never HTML.

Honesty (:mod:`models.serve.confidence`, switched off with ``AssistantParams(confidence=False)``):
a request worded as something else than a search for data (« Traduis … », « Combien font 12 fois
8 ? », « Écris un poème sur la mer ») that no dataset answers gets a short French reply saying
what the assistant does, with an offer to search, and no cards (the conversation is kept); when
the calibrated confidence that a dataset answers the topic is below its threshold, the reply
says « Aucun jeu ne répond exactement à « … » ; les plus proches : » above the nearest cards.
Every answer carries that ``confidence`` (None when unknown: no fitted model, or one fitted for
another embedding model).

Conversation state: a small JSON-able dict the page keeps in the browser (``dcc.Store``) and
sends back with the next turn; :func:`clean_state` validates it (it comes from the client).
Follow-ups reuse it: « et à Lyon ? » changes the territory only, « plutôt en CSV » the format,
« seulement depuis 2022 » the period, « les plus récents » the order, « qui les publie ? » lists
the producers of the answers, « montre-les sur la carte » asks the page to show them,
« autre chose ? » gives the next 5. When the best answers are about several places (or come
from several producers) and the question did not say which, one clarifying question offers the
3–5 most frequent values and « Peu importe », while showing the best 5 so far. Nothing is
logged about the questions (only counts at debug level).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from models.core import french
from models.core.families import group_ranked
from models.core.formats import FORMAT_LABELS, format_families
from models.core.french import quoted, typography
from models.core.geo import LEVEL_RANK
from models.core.text import keyword_terms, sentence_spans, strip_markup
from models.serve.confidence import load_model
from models.serve.ranking import query_features
from models.serve.search import clean_query, top_k

log = logging.getLogger(__name__)

STATE_VERSION = 1
N_CARDS = 5
SLOT_KINDS = ("territory", "period", "producer", "format")
# « Aucun jeu pertinent ne correspond au lieu « Rennes (commune) » » (à + the slot's name)
SLOT_TO = {"territory": "au lieu", "period": "à la période", "producer": "au producteur",
           "format": "au format"}

# territory weight of a dataset for a place (module docstring)
W_OWN, W_NEAR, W_DEPT, W_REGION, W_NATIONAL = 1.0, 0.9, 0.6, 0.45, 0.25
LOCAL = W_REGION  # from this weight on, a dataset is about the place (not a national fallback)


@dataclass(frozen=True)
class AssistantParams:
    """The assistant's constants (module docstring): how many candidates it reranks with passage
    evidence and with what weight, what counts as relevant, the territory boost, the cards shown.

    Examples
    --------
    >>> AssistantParams().as_dict()
    {'depth': 40, 'passage_weight': 0.3, 'relevance_floor': 0.3, 'territory_boost': 2.0, 'n_cards': 5,
     'confidence': True}
    >>> AssistantParams(passage_weight=0.2).passage_weight
    0.2
    """

    depth: int = 40  # candidates reranked with passage evidence
    # w (module docstring): hand-set from a past fit (5-fold cross-validation, README), not read from a
    # file; `python -m models fit-assistant --dialogues ...` re-runs that fit and only prints its result
    passage_weight: float = 0.3
    relevance_floor: float = 0.3  # relevant = hybrid score ≥ floor × best (not fitted)
    territory_boost: float = 2.0  # × (1 + boost · t) (not fitted)
    n_cards: int = N_CARDS
    confidence: bool = True  # off-topic replies and « aucun jeu ne répond exactement » (confidence.py)

    def as_dict(self) -> dict:
        return dict(vars(self))


# ---------------------------------------------------------------------------------------------
# reading a turn
# ---------------------------------------------------------------------------------------------
_CMD = {
    "restart": re.compile(r"^\W*(recommencer|recommence|on recommence|nouvelle (question|recherche)"
                          r"|reset)\W*$", re.I),
    "producers": re.compile(r"\bqui\s+(les?\s+|la\s+|l['’]\s*)?(publie|publient|produit|produisent"
                            r"|diffuse|diffusent|fournit|fournissent)\b", re.I),
    "map": re.compile(r"\b(sur la carte|montre[- ]?(les|moi)|affiche[- ]?les|voir sur la carte)\b", re.I),
    "more": re.compile(r"^\W*(et\s+)?(autre chose|d['’]\s*autres|la suite|les suivants|suivants|encore"
                       r"|plus de résultats|d['’]autres résultats)\W*$", re.I),
}
_RECENT = re.compile(r"\b(les\s+)?plus\s+r[ée]cent(e?s)?\b|\bdu plus r[ée]cent\b", re.I)
# words that only introduce a follow-up (« et à Lyon ? », « plutôt en CSV », « seulement ceux de »)
_MARKERS = frozenset("""et plutôt plutot seulement uniquement juste mais alors aussi ou sinon
ceux celles celui celle ceux-ci celles-ci les des de du la le l d par pour avec que qui quoi
sont est ça ca cela svp stp merci oui non bien en à a au aux dans sur""".split())
_FILLER = frozenset("""et plutôt plutot seulement uniquement juste mais alors aussi ou sinon
ceux celles celui celle ceux-ci celles-ci les des de du la le l d que qui quoi sont est ça ca
cela svp stp merci oui non bien en à a au aux dans sur pour avec donne donnez montre montrez
voudrais veux cherche je j me moi""".split())
_REFINE_START = re.compile(r"^\W*(et|plutôt|plutot|seulement|uniquement|juste|mais|par|avec|ceux|"
                           r"celles|leur|leurs|en|à|a|au|aux|dans|pour|sur)\b", re.I)
_TAG = re.compile(r"<[^>]{0,500}>")
_WORDS = re.compile(r"[\wÀ-ÿ'’-]+")
_UNKNOWN_PLACE = re.compile(r"\b(?:à|a|au|aux|en|dans|sur)\s+((?:[A-ZÀ-Ý][\w'’-]*)(?:[ -](?:[A-ZÀ-Ý]|"
                            r"sur|sous|en|les|le|la|de|du|des)[\w'’-]*)*)")


def _words(text: str) -> list[str]:
    return [w.lower().strip("'’-") for w in _WORDS.findall(text or "")]


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if w and w not in _FILLER and not w.isdigit()]


def sanitise_question(text) -> tuple[str, bool]:
    """Markup removed (a question is text), control characters and repeated spaces dropped;
    True when it was cut to the length the search reads.

    Examples
    --------
    >>> sanitise_question("<b>Où</b> sont les\\n piscines ?"), sanitise_question(None)
    (('Où sont les piscines ?', False), ('', False))
    >>> text, cut = sanitise_question("x" * 600)
    >>> len(text), cut
    (500, True)
    """
    raw = "" if text is None else str(text)
    s = _TAG.sub(" ", strip_markup(raw[:20_000])) if "<" in raw or "&" in raw else raw
    cleaned = clean_query(s, 10_000)
    return cleaned[:500], len(cleaned) > 500


# ---------------------------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------------------------
def new_state() -> dict:
    """The state of a new dialogue (no topic, no slot, nothing shown yet).

    Examples
    --------
    >>> new_state()
    {'v': 1, 'topic': '', 'slots': {}, 'sort': 'relevance', 'offset': 0, 'asked': [], 'pending': None,
     'results': [], 'turns': 0}
    """
    return {"v": STATE_VERSION, "topic": "", "slots": {}, "sort": "relevance", "offset": 0,
            "asked": [], "pending": None, "results": [], "turns": 0}


def _short(x, n: int = 300) -> str:
    return str(x)[:n] if isinstance(x, str | int | float) else ""


def clean_state(state) -> dict:
    """A valid state from whatever the browser sent back (unknown keys dropped, sizes capped).

    Examples
    --------
    >>> st = clean_state({"v": 1, "topic": "piscines", "offset": 10_000, "evil": 1,
    ...                   "slots": {"period": {"value": [2020, 2026], "label": "depuis 2020"},
    ...                             "format": {"value": 42}}})
    >>> st["topic"], st["slots"], st["offset"], "evil" in st
    ('piscines', {'period': {'value': [2020, 2026], 'label': 'depuis 2020', 'field': 'coverage'}}, 0, False)
    >>> clean_state("not a state") == new_state()
    True
    """
    out = new_state()
    if not isinstance(state, dict) or state.get("v") != STATE_VERSION:
        return out
    out["topic"] = _short(state.get("topic"), 500)
    slots = state.get("slots") if isinstance(state.get("slots"), dict) else {}
    for kind in SLOT_KINDS:
        s = slots.get(kind)
        if not isinstance(s, dict) or "value" not in s:
            continue
        v = s["value"]
        if kind == "period":
            if not (isinstance(v, list | tuple) and len(v) == 2 and all(isinstance(y, int) for y in v)):
                continue
            v = [int(v[0]), int(v[1])]
        elif not isinstance(v, str) or not v or len(v) > 200:
            continue
        out["slots"][kind] = {"value": v, "label": _short(s.get("label"), 200) or str(v)}
        if kind == "period":
            out["slots"][kind]["field"] = s.get("field") if s.get("field") in (
                "coverage", "modified", "created") else "coverage"
    out["sort"] = "recent" if state.get("sort") == "recent" else "relevance"
    off = state.get("offset")
    out["offset"] = int(off) if isinstance(off, int) and 0 <= off <= 200 else 0
    asked = state.get("asked")
    out["asked"] = [a for a in asked if a in SLOT_KINDS][:4] if isinstance(asked, list) else []
    pend = state.get("pending")
    if isinstance(pend, dict) and pend.get("slot") in SLOT_KINDS:
        out["pending"] = {"slot": pend["slot"]}
    res = state.get("results")
    if isinstance(res, list):
        out["results"] = [r for r in res if isinstance(r, str) and len(r) <= 64][:10]
    t = state.get("turns")
    out["turns"] = int(t) if isinstance(t, int) and 0 <= t < 10_000 else 0
    return out


# ---------------------------------------------------------------------------------------------
# per-row facts, computed once per process
# ---------------------------------------------------------------------------------------------
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)")


def _year_of(values) -> np.ndarray:
    d = pd.to_datetime(pd.Series(values), errors="coerce", utc=True, format="mixed")
    return d.dt.year.fillna(-1).astype(np.int32).to_numpy()


class RowFacts:
    """What the assistant needs per row on top of the search filters
    (:class:`models.serve.filters.CatalogueFilters`, ``Explorer.catalogue``): the years a
    dataset covers, its last update to the second, and from the catalogue's (row, territory)
    pairs — declared zones resolved to COG and extracted territories — whether it is about
    somewhere, whether it is national, its finest level and its main territory.

    Examples
    --------
    Three datasets and the catalogue's (row, territory) pairs (a stand-in for
    :class:`models.serve.filters.CatalogueFilters`):

    >>> from types import SimpleNamespace
    >>> ds = pd.DataFrame({"title": ["Budget 2018-2020", "Piscines", "Routes"],
    ...                    "last_modified": ["2025-01-02T10:00:00", "2024-06-01", None],
    ...                    "created_year": [2018, 2021, 2015], "temporal_start": [None, "2019-01-01", None]})
    >>> cat = SimpleNamespace(territories={
    ...     "direct_rows": [0, 1, 1], "direct_ents": [0, 1, 2],
    ...     "levels": np.array(["commune", "departement", "pays"]),
    ...     "keys": ["commune:31555", "departement:31", "pays:FR"]})
    >>> facts = RowFacts(ds, cat)
    >>> facts.cover_lo.tolist(), facts.cover_hi.tolist()  # title years, else coverage, else created..modified
    ([2018, 2019, 2015], [2020, 2024, -1])
    >>> facts.national.tolist(), facts.best_territory
    ([False, True, False], {0: 'commune:31555', 1: 'departement:31'})
    >>> facts.period_mask(cat, 2019, 2019, "coverage").tolist()
    [True, True, False]
    """

    def __init__(self, datasets: pd.DataFrame, catalogue) -> None:
        ds = datasets
        n = len(ds)
        self.n = n
        mod = pd.to_datetime(ds["last_modified"], errors="coerce", utc=True, format="mixed")
        # seconds since 1970 (0: unknown), for « les plus récents »
        self.modified = np.where(mod.isna(), 0, mod.dt.tz_convert(None).to_numpy(
            dtype="datetime64[s]").astype(np.int64))
        modified_year = _year_of(ds["last_modified"])
        created = (ds["created_year"].fillna(-1).astype(np.int32).to_numpy() if "created_year" in ds
                   else _year_of(ds["created_at"]))
        start = _year_of(ds["temporal_start"]) if "temporal_start" in ds else np.full(n, -1, np.int32)
        end = _year_of(ds["temporal_end"]) if "temporal_end" in ds else np.full(n, -1, np.int32)
        lo = np.full(n, -1, np.int32)
        hi = np.full(n, -1, np.int32)
        for i, title in enumerate(ds["title"].fillna("").tolist()):
            ys = [int(y) for y in _YEAR.findall(title)]
            if ys:
                lo[i], hi[i] = min(ys), max(ys)
        use_t = (lo < 0) & (start > 0)
        lo[use_t] = start[use_t]
        hi[use_t] = np.where(end[use_t] > 0, end[use_t], modified_year[use_t])
        rest = lo < 0
        lo[rest] = np.where(created[rest] > 0, created[rest], modified_year[rest])
        hi[rest] = modified_year[rest]
        self.cover_lo, self.cover_hi = lo, hi
        # territories, from the search filters' pairs
        t = catalogue.territories
        rows = np.asarray(t["direct_rows"], dtype=np.int64)
        ents = np.asarray(t["direct_ents"], dtype=np.int64)
        levels = np.asarray(t["levels"])
        rank = np.fromiter((LEVEL_RANK.get(str(levels[e]), 9) for e in ents), dtype=np.int64, count=len(ents))
        self.has_territory = np.zeros(n, dtype=bool)
        self.has_territory[rows] = True
        self.national = np.zeros(n, dtype=bool)
        self.national[rows[rank == LEVEL_RANK["pays"]]] = True
        self.finest_rank = np.full(n, 99, dtype=np.int64)
        np.minimum.at(self.finest_rank, rows, rank)
        # main territory: the finest one, extracted pairs come first in the table (by confidence)
        keys = t["keys"]
        self.best_territory: dict[int, str] = {}
        for r, e, k in zip(rows.tolist(), ents.tolist(), rank.tolist(), strict=True):
            if k == self.finest_rank[r] and k != LEVEL_RANK["pays"] and r not in self.best_territory:
                self.best_territory[r] = keys[e]

    def period_mask(self, catalogue, y1: int, y2: int, field: str) -> np.ndarray:
        """« récents », « mis à jour en » → last update (``modified`` filter); « publiés en » →
        creation (``year`` filter); explicit years → the years the dataset covers (its title's
        years, else its temporal coverage, else creation..last update)."""
        if field == "modified":
            return catalogue.key_mask("modified", (y1, y2))
        if field == "created":
            return catalogue.key_mask("year", (y1, y2))
        return (self.cover_hi >= y1) & (self.cover_lo <= y2) & (self.cover_lo > 0)


# ---------------------------------------------------------------------------------------------
# the assistant
# ---------------------------------------------------------------------------------------------
class Assistant:
    """One per process (``Explorer.assistant``); :meth:`ask` is thread-safe."""

    def __init__(self, engine, *, artifacts, territories, producers,
                 params: AssistantParams | None = None) -> None:
        """``engine``: the search it ranks with (:class:`models.serve.engine.SearchEngine`);
        ``artifacts``: the build (its passage index); ``territories``, ``producers``: the build's
        :class:`models.serve.territories.TerritoryService` and
        :class:`models.serve.producers.ProducerService`."""
        self.engine = engine
        self.artifacts = artifacts
        self.territories = territories
        self.producers = producers
        self.params = params or AssistantParams()
        self._lock = threading.Lock()
        self._territory_cache: dict[str, np.ndarray] = {}

    # ---- lazily loaded data ------------------------------------------------------------
    @cached_property
    def facts(self) -> RowFacts:
        return RowFacts(self.engine.datasets, self.engine.catalogue)

    @cached_property
    def passages(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray] | None:
        arts = self.artifacts
        if not all(arts.has(f) for f in ("passages.parquet", "passage_offsets.npy",
                                          "passage_embeddings.npy")):
            log.warning("no passage index in %s: answers use the dataset vectors only", arts.dir)
            return None
        table = arts.parquet("passages.parquet")
        # offsets from the rows themselves (sorted by row): same as passage_offsets.npy, and
        # right for a build whose rows were rearranged (scripts/tools/synthetic_build.py)
        rows = table["row"].to_numpy()
        if len(rows) > 1 and np.any(np.diff(rows) < 0):
            table = table.sort_values(["row", "start"], kind="stable").reset_index(drop=True)
            rows = table["row"].to_numpy()
        offsets = np.searchsorted(rows, np.arange(self.engine.n + 1))
        return (table, offsets, np.asarray(arts.npy("passage_embeddings.npy"), dtype=np.float32))

    @cached_property
    def confidence_model(self):
        """The answer confidence (:mod:`models.serve.confidence`), None when switched off by the
        parameters or not fitted (then every topic « fits », as before)."""
        return load_model() if self.params.confidence else None

    def warm(self) -> None:
        """Load what the first turn would (row facts, passages, query understanding), so that
        no person waits for it; called once by the app at start."""
        t0 = time.perf_counter()
        _ = self.facts, self.passages, self.engine.understanding_context, self.confidence_model
        log.info("assistant ready in %.1f s", time.perf_counter() - t0)

    def with_params(self, **changes) -> Assistant:
        """A copy with other parameters sharing the loaded data (cross-validation)."""
        return self._copy(self.engine, replace(self.params, **changes))

    def with_engine(self, engine) -> Assistant:
        """A copy that ranks with another search engine (e.g. ``engine.with_params(...)``),
        sharing the loaded data (the protocol compares search settings on the dialogues)."""
        return self._copy(engine, self.params)

    def _copy(self, engine, params: AssistantParams) -> Assistant:
        other = Assistant(engine, artifacts=self.artifacts, territories=self.territories,
                          producers=self.producers, params=params)
        for name in ("facts", "passages"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        other._territory_cache = self._territory_cache
        return other

    # ---- territory weights ---------------------------------------------------------------
    def territory_weights(self, value: str) -> np.ndarray:
        """Weight of every row for the place ``value`` (``level:code``); -1: another place.

        From the search filters' territory index (declared and extracted territories): rows
        about the place itself (1) or a part of it (0.9, ``CatalogueFilters.territory_rows``);
        rows about a territory around it (its EPCI 0.9, département 0.6, région 0.45), only when
        that is the row's finest territory; national rows 0.25."""
        w = self._territory_cache.get(value)
        if w is not None:
            return w
        cat = self.engine.catalogue
        t = cat.territories
        f = self.facts
        w = np.zeros(self.engine.n, dtype=np.float32)
        i = t["pos"].get(value)
        if i is not None and str(t["levels"][i]) == "pays":  # « en France »: the national datasets
            w[f.national] = W_OWN
            return self._keep(value, w)
        w[f.has_territory] = -1.0  # about somewhere, until proven to be about this place
        w[f.national] = W_NATIONAL
        if i is None:
            return self._keep(value, w)
        for a in cat.ancestors(i)[1:][::-1]:  # largest first: the nearer ones win
            lv = str(t["levels"][a])
            if lv == "pays":
                continue
            wt = {"commune": W_NEAR, "epci": W_NEAR, "departement": W_DEPT, "region": W_REGION}[lv]
            rows = cat.direct_rows_of(int(a))
            rows = rows[f.finest_rank[rows] >= LEVEL_RANK[lv]] if wt < W_NEAR else rows
            w[rows] = np.maximum(w[rows], wt)
        inside = cat.territory_rows(value)
        w[inside] = np.maximum(w[inside], W_NEAR)
        own = cat.direct_rows_of(int(i))
        w[own] = W_OWN
        return self._keep(value, w)

    def _keep(self, value: str, w: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(self._territory_cache) > 64:
                self._territory_cache.clear()
            self._territory_cache[value] = w
        return w

    def row_territory_label(self, row: int) -> tuple[str, str]:
        """(label, source) of a row's territory: declared zones first, else the extracted one."""
        ds = self.engine.datasets
        decl = ds["spatial_zones"].iat[row] if "spatial_zones" in ds else None
        if isinstance(decl, str) and decl.strip():
            return (", ".join(p.strip() for p in decl.split(",")[:3]), "déclaré")
        key = self.facts.best_territory.get(row)
        if key:
            e = self.territories.entity(key)
            if e is not None:
                return (e["name"], "extrait")
        if self.facts.national[row]:
            return ("France", "extrait")
        return ("", "")

    # ---- one turn ------------------------------------------------------------------------
    def ask(self, question, state=None, *, choice: dict | None = None) -> dict:
        """Answer one turn. ``choice``: a clarifying button (``{"slot", "value", "label"}``,
        ``value`` None for « peu importe »). Returns a JSON-able dict: ``reply`` (French
        sentences), ``cards``, ``ranking`` (the 10 best ids from the first card shown),
        ``clarify`` (None or ``{"slot", "question", "options": [{"label", "value"}], "none"}``),
        ``action`` (None, ``"map"``, ``"producers"``, ``"restart"``), ``slots`` (of the
        conversation), ``notes`` and ``state`` (to send back with the next turn)."""
        t0 = time.perf_counter()
        st = clean_state(state)
        try:
            out = self._turn(question, st, choice)
        except Exception:  # never a stack trace to the person
            log.exception("assistant turn failed")
            out = self._reply(st, "Désolé, je n'ai pas pu répondre à cette question. "
                                  "Reformulez-la ou recommencez.", [])
        out["ms"] = round(1000 * (time.perf_counter() - t0), 1)
        log.debug("assistant turn: %d cards in %.0f ms", len(out["cards"]), out["ms"])
        return out

    def _reply(self, st: dict, text: str, cards: list, **extra) -> dict:
        return {"reply": typography(text), "cards": cards, "ranking": extra.pop("ranking", []),
                "clarify": extra.pop("clarify", None), "action": extra.pop("action", None),
                "producers": extra.pop("producers", []),
                "notes": [typography(n) for n in extra.pop("notes", [])],
                "slots": {k: dict(v) for k, v in st["slots"].items()}, "state": st, **extra}

    def _turn(self, question, st: dict, choice: dict | None) -> dict:
        st["turns"] += 1
        if choice is not None:
            return self._apply_choice(st, choice)
        text, cut = sanitise_question(question)
        notes = ["Votre question est longue : je n'en ai lu que les 500 premiers caractères."] if cut else []
        if _CMD["restart"].match(text or ""):
            fresh = new_state()
            return self._reply(fresh, "C'est noté, on recommence. Quelle est votre question ?", [],
                               action="restart")
        if not _words(text):
            msg = ("Je n'ai pas compris la question. Posez-la en quelques mots, par exemple "
                   f"{quoted('piscines à Toulouse')} ou {quoted('prix des carburants en Bretagne')}.")
            return self._reply(st, msg, [])
        if st["topic"]:
            for cmd in ("producers", "map", "more"):
                if _CMD[cmd].search(text):
                    return getattr(self, f"_cmd_{cmd}")(st)
        off = self._off_topic(text, st, notes)
        if off is not None:
            return off
        recent = bool(_RECENT.search(text))
        if recent:
            text = _RECENT.sub(" ", text)
        u = self.engine.understand(text)
        new_slots, clarify_slot = self._slots_from(u)
        rest = u.topic_text
        unknown_place = None
        m = _UNKNOWN_PLACE.search(rest)
        if m and not u.territories:
            words = [w for w in _words(m.group(1)) if w not in _FILLER]
            if words and all(self._unknown_word(w) for w in words):
                unknown_place = m.group(1)
                rest = (rest[:m.start()] + rest[m.end():]).strip()
        content = _content(rest)
        followup = bool(st["topic"]) and (not content or bool(_REFINE_START.match(text)))
        if followup:
            if content:
                st["topic"] = (st["topic"] + " " + " ".join(
                    w for w in _words(rest) if w not in _MARKERS or w in content)).strip()[:500]
            st["slots"].update(new_slots)
            st["offset"] = 0
            if recent:
                st["sort"] = "recent"
        else:
            if not content:
                if recent and not new_slots:
                    example = quoted("les plus récents jeux sur la qualité de l'air")
                    return self._reply(st, "Les plus récents… de quoi ? Posez d'abord une question, "
                                           f"par exemple {example}.", [])
                if unknown_place:
                    return self._reply(st, f"Je ne connais pas le lieu {quoted(unknown_place)}. Vérifiez "
                                           "l'orthographe, ou donnez une commune, un département ou "
                                           "une région.", [])
                if not new_slots and clarify_slot is None:
                    return self._reply(st, "Je n'ai pas compris la question. Dites-moi ce que vous "
                                           f"cherchez, par exemple {quoted('piscines à Toulouse')}.", [])
            turns = st["turns"]
            st.update(new_state())
            st["turns"] = turns
            st["topic"] = rest[:500] if content else ""
            st["slots"] = new_slots
            st["sort"] = "recent" if recent else "relevance"
        if unknown_place:
            notes.append(f"Je ne connais pas le lieu {quoted(unknown_place)} : je l'ai laissé de côté.")
        if not st["topic"]:
            if clarify_slot is not None:
                clarify = self.clarification(st, np.empty(0, dtype=np.int64), clarify_slot)
                st["pending"] = {"slot": "territory"}
                return self._reply(st, f"{clarify['question']} Et que cherchez-vous là-bas ?", [],
                                   clarify=clarify, notes=notes)
            what = " et ".join(v["label"] for v in st["slots"].values())
            return self._reply(st, f"Que cherchez-vous pour {what} ? Par exemple "
                                   f"{quoted('piscines')} ou {quoted('budget')}.", [], notes=notes)
        return self._answer(st, notes=notes, clarify_slot=clarify_slot, new_topic=not followup)

    def _unknown_word(self, word: str) -> bool:
        try:
            kw = self.engine.keyword
        except Exception:
            return False
        terms = keyword_terms(word)
        return bool(terms) and all(t not in kw.term_id for t in terms)

    # ---- not a request for data --------------------------------------------------------------
    def _off_topic(self, text: str, st: dict, notes: list) -> dict | None:
        """The reply to a request that is not about data (translation, arithmetic, a poem …):
        what the assistant does and what could be searched, no cards, the conversation kept as
        it was. None when the wording is not off-topic, or the catalogue answers it anyway
        (:func:`models.serve.confidence.assess`), or the confidence is unknown."""
        from models.serve.confidence import assess, off_topic_kind  # at call time: tests patch assess

        kind = off_topic_kind(text)
        m = self.confidence_model
        if kind is None or m is None:
            return None
        exp = self.engine
        query = exp.spell(clean_query(text, exp.max_query_chars)).text
        a = assess(exp, query, text=text, model=m)
        if not a.off_topic:
            return None
        log.debug("off-topic request (%s, confidence %.2f)", kind, a.score)
        lead = _OFF_TOPIC_LEAD.get(kind, "")
        if kind == "chitchat":
            w = _words(text)
            lead = ("Avec plaisir !" if "merci" in w else "Au revoir !" if "revoir" in w
                    else "Bonjour !" if w and w[0] in ("bonjour", "bonsoir", "salut", "coucou", "hello")
                    else "Je suis un programme de recherche, pas un interlocuteur.")
        msg = (f"{lead} Je cherche des jeux de données publiés sur data.gouv.fr, le catalogue des données "
               f"publiques françaises. {self._suggestion(text)}").strip()
        return self._reply(st, msg, [], notes=notes, off_topic=kind, confidence=round(a.score, 3))

    def _suggestion(self, text: str) -> str:
        """An offer to search: about the subject the request names (« un poème sur la mer » →
        the title of the best dataset on « la mer », when one answers), else two examples."""
        from models.serve.confidence import assess  # at call time: tests patch confidence.assess

        generic = (f"Demandez-moi par exemple {quoted('piscines à Toulouse')} ou "
                   f"{quoted('prix des carburants en Bretagne')}.")
        m = _SUBJECT.search(text or "")
        if not m:
            return generic
        subject = " ".join(re.split(r"[?!.;:,«»\"]", m.group(1))[0].split()[:6])
        content = _content(subject)
        if not content or all(self._unknown_word(w) for w in content):
            return generic
        exp = self.engine
        query = exp.spell(clean_query(subject, exp.max_query_chars)).text
        if not assess(exp, query, model=self.confidence_model).fits:
            return generic
        hits = exp.search(query, mode="hybrid", k=1)
        example = _short_title(str(exp.datasets["title"].iat[hits[0].row])) if hits else ""
        if not set(keyword_terms(example)) & set(keyword_terms(subject)):  # a title about the subject
            example = f"données sur {subject}"
        return f"Si vous cherchez des données sur {subject}, demandez par exemple {quoted(example)}."

    def _slots_from(self, u) -> tuple[dict, object]:
        """State slots from an :class:`Understanding`; an ambiguous territory is returned apart
        (the assistant asks which)."""
        out: dict = {}
        clarify = None
        producer_spans = [s.span for s in u.slots if s.kind == "producer"]
        for s in u.slots:
            if s.kind == "territory" and any(a <= s.span[0] and s.span[1] <= b for a, b in producer_spans):
                continue  # « Santé publique France », « Région Bretagne » as a producer
            if s.kind == "territory":
                if s.ambiguous and len(s.candidates) > 1:
                    clarify = s
                    continue
                lv, code = s.value
                out["territory"] = {"value": f"{lv}:{code}", "label": s.label}
            elif s.kind == "period":
                out["period"] = {"value": [int(s.value[0]), int(s.value[1])], "label": s.label,
                                 "field": s.field or "coverage"}
            elif s.kind == "producer":
                out["producer"] = {"value": str(s.value), "label": s.label}
            elif s.kind == "format":
                out["format"] = {"value": str(s.value), "label": s.label}
        return out, clarify

    def _apply_choice(self, st: dict, choice: dict) -> dict:
        slot = choice.get("slot") if isinstance(choice, dict) else None
        if slot not in SLOT_KINDS:
            return self._reply(st, "Je n'ai pas compris ce choix. Posez votre question à nouveau.", [])
        if slot not in st["asked"]:
            st["asked"].append(slot)
        st["pending"] = None
        st["offset"] = 0
        value = choice.get("value")
        if value is None or value == "":
            st["slots"].pop(slot, None)
        elif isinstance(value, str) and len(value) <= 200:
            st["slots"][slot] = {"value": value, "label": _short(choice.get("label"), 200) or value}
        if not st["topic"]:
            what = st["slots"][slot]["label"] if slot in st["slots"] else "ce lieu"
            return self._reply(st, f"C'est noté. Que cherchez-vous pour {what} ?", [])
        return self._answer(st, notes=[])

    # ---- commands ------------------------------------------------------------------------
    def _cmd_more(self, st: dict) -> dict:
        st["offset"] = min(st["offset"] + self.params.n_cards, 200)
        return self._answer(st, notes=[], more=True)

    def _cmd_map(self, st: dict) -> dict:
        out = self._answer(st, notes=[], quiet=True)
        if out["cards"]:
            out["reply"] = typography(f"Je les montre sur la carte : {len(out['cards'])} jeu"
                                      f"{'x' if len(out['cards']) > 1 else ''} de données en surbrillance "
                                      "dans l'onglet « Carte ».".replace("« Carte »", quoted("Carte")))
            out["action"] = "map"
        return out

    def _cmd_producers(self, st: dict) -> dict:
        out = self._answer(st, notes=[], quiet=True)
        counts = Counter(c["producer"] or "producteur inconnu" for c in out["cards"])
        if not counts:
            return out
        listing = ", ".join(f"{p} ({n})" for p, n in counts.most_common())
        n = len(out["cards"])
        head = f"Les {n} réponses affichées sont publiées" if n > 1 else "La réponse affichée est publiée"
        out["reply"] = typography(f"{head} par : {listing}.")
        out["producers"] = [{"name": p, "count": c} for p, c in counts.most_common()]
        out["action"] = "producers"
        return out

    # ---- retrieve, classify, extract -------------------------------------------------------
    def rank(self, st: dict) -> dict:
        """Scores of the conversation's topic under its slots: ``rows`` (best first, up to
        ``depth``), ``final``, ``search``, ``passage`` scores, ``n_relevant``, ``national``
        (the answer is a national fallback), ``dropped`` (slots that left nothing), ``topic``
        (as searched) and ``keyword`` (its raw keyword scores, for the answer confidence)."""
        p = self.params
        exp = self.engine
        topic = exp.spell(clean_query(st["topic"], exp.max_query_chars)).text  # typos corrected
        cache: dict = {}
        base = np.asarray(exp.mode_scores(topic, "hybrid", cache=cache), dtype=np.float64)
        finite = np.isfinite(base)
        out = {"rows": np.empty(0, dtype=np.int64), "final": np.empty(0), "search": np.empty(0),
               "passage": np.empty(0), "n_relevant": 0, "national": False, "dropped": [],
               "local": False, "topic": topic, "keyword": cache.get("_raw", {}).get("keyword"),
               "versions": {}}
        if not finite.any():
            return out
        # relevance is judged on the topical part of the hybrid score (without its popularity
        # factor: a popular national dataset must not make every local one look irrelevant)
        sp = exp.search_params
        beta = sp.hybrid(query_features(topic, sp.short_max_terms).short).popularity
        topical = base / (1.0 + beta * exp.prior.astype(np.float64)) if beta else base
        best = float(topical[finite].max())
        relevant = finite & (topical >= p.relevance_floor * best)
        keep = finite.copy()
        f = self.facts
        slots = st["slots"]
        for kind in ("format", "producer", "period"):
            s = slots.get(kind)
            if not s:
                continue
            cat = exp.catalogue
            if kind in ("format", "producer"):  # the search filters (models.serve.filters)
                mask = cat.key_mask(kind, [s["value"]])
            else:
                mask = f.period_mask(cat, int(s["value"][0]), int(s["value"][1]), s.get("field", "coverage"))
            if (keep & relevant & mask).any():
                keep &= mask
            else:
                out["dropped"].append(kind)
        score = np.where(keep, base, -np.inf)
        tail = np.empty(0, dtype=np.int64)  # national datasets shown after the local ones
        terr = slots.get("territory")
        if terr:
            w = self.territory_weights(terr["value"])
            local = keep & relevant & (w >= LOCAL)
            nat = keep & relevant & (w >= W_NATIONAL) & (w < LOCAL)
            if local.any():
                out["local"] = True
                score = np.where(keep & (w >= LOCAL), base * (1.0 + p.territory_boost * w), -np.inf)
                if int(local.sum()) < p.n_cards and nat.any():
                    ts = np.where(nat, base, -np.inf)
                    tail = np.asarray([i for i in top_k(ts, p.n_cards) if np.isfinite(ts[i])], dtype=np.int64)
            elif nat.any():
                out["national"] = True
                score = np.where(keep & (w >= W_NATIONAL), base, -np.inf)
            else:
                out["dropped"].append("territory")
        n_relevant = int((np.isfinite(score) & relevant).sum())
        if n_relevant:  # only relevant datasets are shown (a weak match is no answer)
            score = np.where(relevant, score, -np.inf)
        cand = [int(i) for i in top_k(score, p.depth) if np.isfinite(score[i])]
        if not cand:
            return out
        rows = np.asarray(cand, dtype=np.int64)
        s = score[rows]
        qv = exp.query_vector(topic)
        psim = self.best_passage_sims(rows, qv)
        s_n = s / s.max() if s.max() > 0 else np.ones(len(s))
        lo, hi = float(psim.min()), float(psim.max())
        p_n = (psim - lo) / (hi - lo) if hi > lo else np.zeros(len(psim))
        final = (1.0 - p.passage_weight) * s_n + p.passage_weight * p_n
        order = np.argsort(-final, kind="stable")
        rows, final, s, psim = rows[order], final[order], s[order], psim[order]
        if len(tail):  # national datasets after the (few) local ones
            tp = self.best_passage_sims(tail, qv)
            rows = np.concatenate([rows, tail])
            final = np.concatenate([final, np.zeros(len(tail))])
            s = np.concatenate([s, base[tail]])
            psim = np.concatenate([psim, tp])
        if st.get("sort") == "recent":  # the strong answers (≥ half the best), newest first
            top = final >= 0.5 * final.max()
            idx = np.flatnonzero(top)
            order = np.concatenate([idx[np.argsort(-f.modified[rows[idx]], kind="stable")],
                                    np.flatnonzero(~top)])
            rows, final, s, psim = rows[order], final[order], s[order], psim[order]
        versions: dict[int, list[int]] = {}
        sp = exp.search_params
        if sp.families and len(rows) > 1:  # one answer per family of near-identical datasets
            groups = group_ranked(rows, exp.family_keys, exp.embeddings, threshold=sp.family_cosine)
            pos = {int(row): i for i, row in enumerate(rows)}
            keep = np.asarray([pos[lead] for lead, _ in groups], dtype=np.int64)
            versions = {lead: members for lead, members in groups if members}
            rows, final, s, psim = rows[keep], final[keep], s[keep], psim[keep]
        out.update(rows=rows, final=final, search=s, passage=psim, n_relevant=n_relevant, versions=versions)
        return out

    def best_passage_sims(self, rows: np.ndarray, qv: np.ndarray) -> np.ndarray:
        """Best cosine of each row's vectors (the dataset's and its embedded passages') with
        the question vector."""
        emb = self.engine.embeddings
        best = (emb[rows] @ qv).astype(np.float64)
        pas = self.passages
        if pas is None:
            return best
        table, offsets, vecs = pas
        vcol = table["vector"].to_numpy()
        for k, r in enumerate(rows):
            a, b = offsets[r], offsets[r + 1]
            v = vcol[a:b]
            v = v[v >= 0]
            if len(v):
                best[k] = max(best[k], float((vecs[v] @ qv).max()))
        return best

    def extract(self, row: int, qv: np.ndarray, terms: set[str]) -> dict | None:
        """The best passage of a row's description and its key sentence, as text segments."""
        text = self.engine.records.description_text(row)
        if not text.strip():
            return None
        pas = self.passages
        spans: list[tuple[int, int, float]] = []
        if pas is not None:
            table, offsets, vecs = pas
            part = table.iloc[offsets[row]:offsets[row + 1]]
            own = float(self.engine.embeddings[row] @ qv)
            sims = []
            for v in part["vector"].to_numpy():
                sims.append(own if v == -1 else (float(vecs[v] @ qv) if v >= 0 else None))
            floor = min([x for x in sims if x is not None], default=0.0)
            spans = [(int(a), int(b), floor if sim is None else sim)
                     for (a, b), sim in zip(part[["start", "end"]].to_numpy(), sims, strict=True)]
        if not spans:
            spans = [(0, min(len(text), 600), 0.0)]
        best = None
        for a, b, sim in spans:
            hits = len(terms & set(keyword_terms(text[a:b])))
            sc = sim + 0.05 * hits
            if best is None or sc > best[2]:
                best = (a, b, sc)
        a, b, _ = best
        passage = text[a:b]
        sents = sentence_spans(passage) or [(0, len(passage))]
        scored = [(len(terms & set(keyword_terms(passage[x:y]))), -i, x, y)
                  for i, (x, y) in enumerate(sents)]
        _, _, ka, kb = max(scored)
        segments = []
        for x, y, strong in ((0, ka, False), (ka, kb, True), (kb, len(passage), False)):
            if y > x:
                segments += _mark_terms(passage[x:y], terms, strong)
        return {"passage": passage, "sentence": passage[ka:kb], "segments": segments,
                "start": a, "end": b}

    def card(self, row: int, qv, terms: set[str], scores: dict) -> dict:
        ds = self.engine.datasets
        lm = ds["last_modified"].iat[row]
        org = ds["organization"].iat[row]
        fams = format_families(ds["resources_formats"].iat[row]) if "resources_formats" in ds else ()
        terr, source = self.row_territory_label(row)
        url = ds["url"].iat[row] if "url" in ds else None
        return {
            "id": str(ds["id"].iat[row]), "row": int(row), "title": str(ds["title"].iat[row] or ""),
            "producer": org if isinstance(org, str) else "",
            "last_update": str(lm)[:10] if isinstance(lm, str) else "",
            "last_update_label": french.month_year(lm),
            "territory": terr, "territory_source": source,
            "formats": [FORMAT_LABELS.get(x, x.upper()) for x in fams],
            "url": url if isinstance(url, str) and url.startswith(("http://", "https://")) else None,
            "answer": self.extract(row, qv, terms), **scores,
        }

    def _answer(self, st: dict, *, notes: list, clarify_slot=None, more: bool = False,
                quiet: bool = False, new_topic: bool = False) -> dict:
        p = self.params
        r = self.rank(st)
        rows = r["rows"]
        topic = st["topic"]
        if not len(rows):
            st["results"] = []
            return self._reply(st, f"Je n'ai trouvé aucun jeu de données sur {quoted(display_topic(topic))}. "
                                   "Essayez d'autres mots.", [], notes=notes)
        if more and st["offset"] >= len(rows):
            st["offset"] = max(0, st["offset"] - p.n_cards)
            return self._reply(st, f"Je n'ai pas d'autre jeu de données sur {quoted(display_topic(topic))}. "
                                   "Reformulez la question, ou recommencez.", [], notes=notes)
        off = st["offset"] if st["offset"] < len(rows) else 0
        st["offset"] = off
        shown = rows[off:off + p.n_cards]
        qv = self.engine.query_vector(r["topic"])
        terms = set(keyword_terms(topic))
        cards = [self.card(int(row), qv, terms,
                           {"score": round(float(r["final"][off + k]), 4),
                            "search_score": round(float(r["search"][off + k]), 4),
                            "passage_score": round(float(r["passage"][off + k]), 4)})
                 for k, row in enumerate(shown)]
        st["results"] = [c["id"] for c in cards]
        ids = self.engine.datasets["id"]
        ranking = [str(ids.iat[int(i)]) for i in rows[off:off + 10]]
        # the other members of each ranked row's family (a card shows one; an evaluation counts them)
        ranking_versions = [[str(ids.iat[v]) for v in r["versions"].get(int(i), ())]
                            for i in rows[off:off + 10]]
        for c, v in zip(cards, ranking_versions, strict=False):  # the cards are the ranking's first rows
            c["versions"] = v
        for kind in r["dropped"]:
            s = st["slots"].get(kind)
            if s:
                notes.append(f"Aucun jeu pertinent ne correspond {SLOT_TO[kind]} "
                             f"{quoted(s['label'])} : je l'ai ignoré.")
        clarify = None
        if not quiet and not more:
            clarify = self.clarification(st, rows, clarify_slot, new_topic)
        st["pending"] = {"slot": clarify["slot"]} if clarify else None
        a = self._confidence(r) if not more else None
        text = self._sentence(st, r, cards, more=more, fits=a is None or a.fits)
        conf = None if a is None or a.score != a.score else round(a.score, 3)  # NaN: unknown
        return self._reply(st, text, cards, ranking=ranking, clarify=clarify, notes=notes, confidence=conf,
                           ranking_versions=ranking_versions)

    def _confidence(self, r: dict):
        """:class:`models.serve.confidence.Assessment` of the searched topic, None when the
        confidence is off or not fitted."""
        from models.serve.confidence import assess  # at call time: tests patch confidence.assess

        m = self.confidence_model
        if m is None:
            return None
        return assess(self.engine, r["topic"], keyword_scores=r.get("keyword"), model=m)

    def _sentence(self, st: dict, r: dict, cards: list, *, more: bool, fits: bool = True) -> str:
        topic = display_topic(st["topic"])
        n = r["n_relevant"]
        terr = st["slots"].get("territory")
        place = _place_name(terr["label"]) if terr else ""
        first = cards[0]
        who = f"publié par {first['producer']}" if first["producer"] else "sans producteur indiqué"
        when = f", mis à jour en {first['last_update_label']}" if first["last_update_label"] else ""
        if more:
            a = st["offset"] + 1
            return (f"Voici les suivants ({a} à {a + len(cards) - 1} sur {max(n, a + len(cards) - 1)} "
                    f"jeux de données pertinents).")
        if not fits:  # the confidence says none of them answers: say so, show the nearest
            where = f" pour {place}" if terr and r["local"] else ""
            return f"Aucun jeu ne répond exactement à {quoted(topic)}{where} ; les plus proches :"
        count = ("un jeu de données" if n <= 1 else f"{n} jeux de données") if n < 200 else \
            "plus de 200 jeux de données"
        if r["national"]:
            head = (f"Je n'ai pas trouvé de jeu de données propre à {place} sur {quoted(topic)} : voici "
                    "des jeux nationaux, qui couvrent tout le territoire.")
        else:
            where = f" pour {place}" if terr and r["local"] else ""
            head = f"J'ai trouvé {count} sur {quoted(topic)}{where}."
        order = " Ils sont classés du plus récent au plus ancien." if st.get("sort") == "recent" else ""
        best = f" Le plus pertinent est {who}{when}." if st.get("sort") != "recent" else \
            f" Le plus récent est {who}{when}."
        return head + best + order

    def clarification(self, st: dict, rows: np.ndarray, slot, new_topic: bool = True) -> dict | None:
        """One question when the best answers disagree on a slot the question left open."""
        if slot is not None:  # an ambiguous place name (« Saint-Denis »)
            opts = [{"label": c.label, "value": f"{c.value[0]}:{c.value[1]}"} for c in slot.candidates[:5]]
            question = typography(f"Quel lieu voulez-vous dire par {quoted(slot.text)} ?")
            return {"slot": "territory", "question": question, "options": opts, "none": "Peu importe"}
        top = [int(x) for x in rows[:10]]
        if new_topic and "territory" not in st["slots"] and "territory" not in st["asked"]:
            keys = [self.facts.best_territory.get(x) for x in top]
            local = [k for k in keys if k and not k.startswith("pays:")]
            cnt = Counter(local)
            top3_local = sum(1 for k in keys[:3] if k and not k.startswith("pays:"))
            if (top3_local >= 2 and len(local) >= 4 and len(cnt) >= 3
                    and cnt.most_common(1)[0][1] < len(local) / 2):
                ranked = Counter(k for k in (self.facts.best_territory.get(int(x)) for x in rows[:20])
                                 if k and not k.startswith("pays:"))
                opts = [{"label": self.territories.entity(k)["name"], "value": k}
                        for k, _ in ranked.most_common(5)]
                st["asked"].append("territory")
                return {"slot": "territory", "question": typography("Les réponses concernent des lieux "
                                                                    "différents. Lequel vous intéresse ?"),
                        "options": opts, "none": "Peu importe"}
        if (new_topic and "producer" not in st["slots"] and "territory" not in st["slots"]
                and "producer" not in st["asked"]):
            prod = self.producers
            pids = [str(prod.table["producer_id"].iat[prod.of_row[x]]) for x in top]
            cnt = Counter(k for k in pids if not k.startswith(("owner:", "(")))
            multi = [k for k, c in cnt.items() if c >= 2]
            if len(multi) >= 3 and cnt.most_common(1)[0][1] < len(top) / 2:
                names = dict(zip(prod.table["producer_id"], prod.table["organization"], strict=True))
                opts = [{"label": str(names.get(k) or k), "value": k}
                        for k, _ in cnt.most_common(5) if not str(k).startswith("(")]
                st["asked"].append("producer")
                return {"slot": "producer", "question": typography("Plusieurs producteurs publient ces "
                                                                   "données. Lequel préférez-vous ?"),
                        "options": opts, "none": "Peu importe"}
        return None


_QUESTION_LEAD = frozenset("""où ou quand quel quelle quels quelles comment combien pourquoi est-ce
qu'est-ce que qu quoi qui sont est il y a-t-il existe-t-il existe peut-on peut trouver trouve
je j'aimerais aimerais voudrais veux cherche recherche connaître connaitre savoir avoir obtenir
donne-moi donnez-moi montre-moi les des le la l un une du de d sur""".split())


def display_topic(topic: str) -> str:
    """The topic as the reply quotes it: without the question's opening words (« Où sont les
    piscines ? » → « piscines ») and its final punctuation.

    Examples
    --------
    >>> display_topic("Où sont les piscines ?"), display_topic("qualité de l'air"), display_topic("?")
    ('piscines', "qualité de l'air", '?')
    """
    words = (topic or "").strip().rstrip(" ?!.;:").split()
    i = 0
    while i < len(words) - 1 and words[i].lower().replace("’", "'") in _QUESTION_LEAD:
        i += 1
    return " ".join(words[i:]) or (topic or "").strip()


_OFF_TOPIC_LEAD = {
    "translation": "Je ne sais pas traduire.",
    "arithmetic": "Je ne fais pas de calculs.",
    "creative": "Je n'écris ni poèmes, ni histoires, ni blagues.",
    "recipe": "Je ne connais pas de recettes de cuisine.",
    "general": "Je ne réponds pas aux questions de culture générale.",
    "code": "Je n'écris pas de code.",
    "advice": "Je ne donne pas de conseils personnels.",
}
# « un poème sur la mer », « une chanson à propos du printemps »: the subject of a request
_SUBJECT = re.compile(r"\b(?:sur|à propos d[eu]|a propos d[eu]|au sujet d[eu]|concernant)\s+([^?!.;:]{1,80})",
                      re.I)


def _short_title(title: str) -> str:
    """A dataset title as an example of a question: before its first « - », « : » or « ( »,
    without its years, first letter in lower case; empty when that leaves fewer than 2 or more
    than 8 words."""
    t = re.split(r"\s[-–—:]\s|\s?\(|\s?\[", title or "", maxsplit=1)[0]
    t = " ".join(_YEAR.sub(" ", t).split()).strip(" -–,")
    if not 2 <= len(t.split()) <= 8:
        return ""
    return t[:1].lower() + t[1:] if not t[:2].isupper() else t


def _place_name(label: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*$", "", label or "").strip()


_SEG_WORD = re.compile(r"[\wÀ-ÿ]+")


def _mark_terms(text: str, terms: set[str], strong: bool) -> list[dict]:
    """Text split into segments, ``mark`` on the words whose index term is a query term."""
    out: list[dict] = []
    pos = 0
    for m in _SEG_WORD.finditer(text):
        t = keyword_terms(m.group(0))
        if t and t[0] in terms:
            if m.start() > pos:
                out.append({"text": text[pos:m.start()], "strong": strong, "mark": False})
            out.append({"text": m.group(0), "strong": strong, "mark": True})
            pos = m.end()
    if pos < len(text):
        out.append({"text": text[pos:], "strong": strong, "mark": False})
    return out
