"""What a free French query asks for: places, years, producers and formats ("slots"), and the
words that are left for the topic.

One module, no Dash, shared by the search (soft boosts, chips, filters) and the question
assistant (which asks back when a slot is ambiguous). Everything it knows comes from the build:

* **territories** — the build's COG gazetteer (:class:`models.core.geo.Gazetteer`: its token
  trie over every normalised name and variant, scanned leftmost-longest by
  :func:`models.core.geo.scan`; no second matcher here). A name with several territories
  (« Saint-Denis »: four communes) gives one slot with several ``candidates``; context in the same
  query settles it (« Saint-Denis 93 », « Saint-Denis La Réunion »), else one candidate must be ten
  times as populous as the next, else the slot is ``ambiguous`` (the assistant asks which).
  A commune and a département of one name and one population (« Paris ») are one territory: the
  commune is kept. « en France », « national » … name the country (``("pays", "FR")``). A
  one-word name that is also a French word (« Orange », « Mars », « Bar ») needs a level cue
  (« commune de », « ville d' »), « à » right before it, a capital letter in a query that has
  lower-case letters, or 100,000 inhabitants.
* **periods** — « 2020 », « en 2020 », « depuis 2020 », « après 2019 », « avant 2015 »,
  « entre 2018 et 2022 », « 2018-2022 », « cette année », « l'an dernier », « les 5 dernières
  années », « récents », judged against the **export date** of the build (``ctx.as_of``), never
  the wall clock. ``value = (first_year, last_year)``; an open start is :data:`OPEN_START`.
  ``field`` says what the years are about: ``"coverage"`` (what the data covers: explicit
  years), ``"modified"`` (« récents », « mis à jour en 2024 », « cette année ») or ``"created"``
  (« publiés en 2021 »).
* **producers** — names and acronyms of the build's producers (``ProducerService.table``): the
  whole name (« Ministère de l'Intérieur »), the name without its parenthesis, the acronym in
  parentheses, a leading acronym (« DREAL Grand Est » → « DREAL », at most 5 producers per
  acronym: more would be no answer). An acronym that is a French word must be written in capitals.
  A one-word producer name that is a place name is left to the territory slot.
* **formats** — CSV, JSON, GeoJSON, shapefile, Excel/XLS, ODS, PDF, KML, GeoPackage, Parquet,
  WMS, WFS, API, GTFS … normalised by :mod:`models.core.formats` (the same families as the
  search filter).

Every slot has ``kind`` (territory / period / producer / format), ``value``, a French ``label``
(« Toulouse (commune) »), the character ``span`` in the query, the matched ``text`` and a
``confidence`` in [0, 1]. ``topic_text`` is the query without the slots and the small words
that only introduced them (« à », « en », « depuis », « au format » …).

Examples
--------
A context from a gazetteer of one commune and one producer (a build's has every one):

>>> from models.core.geo import Gazetteer
>>> gaz = Gazetteer.build(
...     [{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "departement": "31",
...       "region": "76", "population": 504078}], [],
...     [{"code": "31", "nom": "Haute-Garonne", "region": "76"}], [{"code": "76", "nom": "Occitanie"}])
>>> ctx = UnderstandingContext.build(gazetteer=gaz, as_of="2026-03-01",
...                                  producers=[("ign", "Institut géographique national (IGN)", 900)])
>>> u = understand("piscines à Toulouse depuis 2020 en CSV", ctx)
>>> [(s.kind, s.value, s.label) for s in u.slots]
[('territory', ('commune', '31555'), 'Toulouse (commune)'),
 ('period', (2020, 2026), 'depuis 2020'), ('format', 'csv', 'CSV')]
>>> u.topic_text
'piscines'
>>> [(s.kind, s.value, s.field) for s in understand("cadastre IGN publié en 2021", ctx).slots]
[('producer', 'ign', None), ('period', (2021, 2021), 'created')]
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import accumulate
from typing import Any

from models.core.formats import FORMAT_LABELS, FORMAT_WORD_RE, QUERY_FORMAT_WORDS
from models.core.geo import (
    LEVEL_LABELS,
    LINK_WORDS,
    Gazetteer,
    french_lexicon,
    norm_name,
    scan,
    tokenize,
)

# the gazetteer rebuilt from a build lives in models.core (its writer is the pipeline); re-exported
from models.core.territory_entities import gazetteer_from_entities  # noqa: F401
from models.core.text import fold_keep_offsets

log = logging.getLogger(__name__)

KINDS = ("territory", "period", "producer", "format")
OPEN_START = 1900  # first year of an open period (« avant 2015 » = (1900, 2014))
MAX_TEXT_CHARS = 2000  # longer texts are understood on their first 2,000 characters
POPULATION_DOMINANCE = 10  # a homonym wins alone when 10 times as populous as the next
BIG_CITY = 100_000  # a commune named by a French word is accepted from this population
MAX_ACRONYM_PRODUCERS = 5


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One possible meaning of a slot: ``value`` as in :class:`Slot`, its label and confidence.

    Examples
    --------
    >>> Candidate(("commune", "31555"), "Toulouse (commune)", 0.9).label
    'Toulouse (commune)'
    """

    value: Any
    label: str
    confidence: float


@dataclass(frozen=True)
class Slot:
    """One thing found in the query.

    ``value``: territory → ``(level, code)`` (COG level among commune / epci / departement /
    region / pays, and its code: INSEE, SIREN, COG, ``FR``); period → ``(first_year,
    last_year)``; producer → producer id; format → a format family (``"csv"``). For an ambiguous
    territory or producer, ``value`` is the most likely candidate and ``candidates`` lists them
    all, best first. ``span``: ``text[span[0]:span[1]]`` of the query is ``text``.

    Examples
    --------
    >>> s = Slot("period", (2018, 2022), "2018–2022", (7, 16), "2018-2022", 0.9, field="coverage")
    >>> s.key
    'period:2018-2022'
    >>> {k: s.as_dict()[k] for k in ("value", "span", "confidence")}
    {'value': [2018, 2022], 'span': [7, 16], 'confidence': 0.9}
    """

    kind: str
    value: Any
    label: str
    span: tuple[int, int]
    text: str
    confidence: float
    candidates: tuple[Candidate, ...] = ()
    ambiguous: bool = False  # several candidates and nothing to choose between them
    field: str | None = None  # period only: coverage | modified | created

    @property
    def key(self) -> str:
        """A stable string naming the slot's meaning (``territory:commune:31555``,
        ``period:2018-2022``, ``producer:<id>``, ``format:csv``), e.g. for a removable chip."""
        v = self.value
        if self.kind == "territory":
            return f"territory:{v[0]}:{v[1]}"
        if self.kind == "period":
            return f"period:{v[0]}-{v[1]}"
        return f"{self.kind}:{v}"

    def as_dict(self) -> dict:
        v = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"kind": self.kind, "value": v, "label": self.label, "span": list(self.span),
                "text": self.text, "confidence": round(self.confidence, 3), "key": self.key,
                "ambiguous": self.ambiguous, "field": self.field,
                "candidates": [{"value": list(c.value) if isinstance(c.value, tuple) else c.value,
                                "label": c.label, "confidence": round(c.confidence, 3)}
                               for c in self.candidates]}


@dataclass(frozen=True)
class Understanding:
    """The slots of a query (in the order of the text) and what is left for the topic.

    Examples
    --------
    >>> ctx = UnderstandingContext.build(gazetteer=None, as_of="2026-03-01")
    >>> u = understand("budget 2018-2022 au format JSON", ctx)
    >>> u.period(), [s.key for s in u.formats], u.topic_text
    ((2018, 2022), ['format:json'], 'budget')
    >>> u.without(["format:json"]).topic_text  # a chip removed: its words go back to the topic
    'budget au format JSON'
    """

    text: str
    slots: tuple[Slot, ...]
    topic_text: str

    def of_kind(self, kind: str) -> list[Slot]:
        return [s for s in self.slots if s.kind == kind]

    @property
    def territories(self) -> list[Slot]:
        return self.of_kind("territory")

    @property
    def periods(self) -> list[Slot]:
        return self.of_kind("period")

    @property
    def producers(self) -> list[Slot]:
        return self.of_kind("producer")

    @property
    def formats(self) -> list[Slot]:
        return self.of_kind("format")

    def period(self) -> tuple[int, int] | None:
        """The union of the period slots (None: no year in the query)."""
        ps = self.periods
        if not ps:
            return None
        return (min(s.value[0] for s in ps), max(s.value[1] for s in ps))

    def without(self, keys: Iterable[str]) -> Understanding:
        """The same understanding without the slots whose :attr:`Slot.key` is in ``keys`` (a
        chip the person removed); their words go back to the topic."""
        keys = set(keys)
        kept = tuple(s for s in self.slots if s.key not in keys)
        if len(kept) == len(self.slots):
            return self
        return Understanding(self.text, kept, topic_text(self.text, kept))

    def as_dict(self) -> dict:
        return {"text": self.text, "topic_text": self.topic_text,
                "slots": [s.as_dict() for s in self.slots]}


# ---------------------------------------------------------------------------------------------
# context
# ---------------------------------------------------------------------------------------------
class ProducerIndex:
    """Normalised producer names and acronyms → producers (see the module docstring).

    Examples
    --------
    >>> idx = ProducerIndex([("ign", "Institut géographique national (IGN)", 900),
    ...                      ("dreal-ge", "DREAL Grand Est", 40), ("o", "Orange", 3)])
    >>> len(idx), sorted(idx.acronyms)  # « Orange » alone is a French word: not a producer key
    (3, ['dreal', 'ign'])
    >>> idx.keys["dreal grand est"]
    [('dreal-ge', 40)]
    """

    def __init__(self, producers: Iterable[tuple[str, str, int]],
                 gazetteer: Gazetteer | None = None) -> None:
        lex = french_lexicon()
        place_names = gazetteer.aliases if gazetteer is not None else {}
        self.names: dict[str, str] = {}  # producer id -> display name
        by_key: dict[str, dict[str, int]] = defaultdict(dict)
        acronyms: dict[str, dict[str, int]] = defaultdict(dict)
        for pid, name, n in producers:
            name = str(name or "").strip()
            if not name or not pid or str(pid).startswith("owner:") or name.startswith("("):
                continue
            self.names[pid] = name
            n = int(n or 0)
            forms = {name, re.sub(r"\s*\([^)]*\)\s*", " ", name).strip()}
            for form in forms:
                k = norm_name(form)
                toks = k.split()
                if not toks:
                    continue
                if len(toks) == 1:
                    w = toks[0]
                    if len(w) < 3 or w in lex or k in place_names or w.isdigit():
                        continue
                by_key[k][pid] = n
            for acr in re.findall(r"\(([A-Za-z0-9][\w&-]{1,11})\)", name):
                if sum(c.isupper() for c in acr) >= 2:
                    acronyms[norm_name(acr)][pid] = n
            first = name.split()[0] if name.split() else ""
            if (len(name.split()) > 1 and 3 <= len(first) <= 8 and first.isalpha() and first.isupper()
                    and not name.isupper()):  # « DREAL Grand Est », not « OFFICE DE TOURISME »
                acronyms[norm_name(first)][pid] = n
        self.keys = {k: sorted(v.items(), key=lambda x: -x[1]) for k, v in by_key.items()}
        self.acronyms = {k: sorted(v.items(), key=lambda x: -x[1]) for k, v in acronyms.items()
                         if len(v) <= MAX_ACRONYM_PRODUCERS and k not in self.keys}
        self.lexical_acronyms = {k for k in self.acronyms if k in lex or k in place_names}
        self.max_tokens = max((len(k.split()) for k in self.keys), default=1)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class UnderstandingContext:
    """What :func:`understand` knows about the build: its gazetteer (None: no territory slots),
    its export date (periods are relative to it) and its producers.

    Examples
    --------
    >>> ctx = UnderstandingContext.build(gazetteer=None, as_of="2026-03-01T10:00:00")
    >>> ctx.as_of, ctx.year, len(ctx.producers)
    (datetime.date(2026, 3, 1), 2026, 0)
    >>> [s.label for s in understand("les données récentes", ctx).slots]  # relative to the export
    ['récents (2025–2026)']
    """

    gazetteer: Gazetteer | None
    as_of: date
    producers: ProducerIndex | None = None
    known_formats: frozenset[str] = field(default_factory=lambda: frozenset(FORMAT_LABELS))

    @classmethod
    def build(cls, *, gazetteer: Gazetteer | None, as_of, producers: Iterable[tuple[str, str, int]] = (),
              ) -> UnderstandingContext:
        """``producers``: ``(producer_id, name, n_datasets)`` triples; ``as_of``: a date,
        datetime, pandas Timestamp or ISO string (the export date)."""
        return cls(gazetteer, _as_date(as_of), ProducerIndex(producers, gazetteer))

    @property
    def year(self) -> int:
        return self.as_of.year


def _as_date(value) -> date:
    if value is None:
        raise ValueError("the export date is needed to understand relative periods")
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if hasattr(value, "date") and callable(value.date):
        return value.date()
    return value


# ---------------------------------------------------------------------------------------------
# text helpers
# ---------------------------------------------------------------------------------------------
def _words(text: str) -> tuple[list[str], list[int], list[int]]:
    """Normalised words of ``text`` (as the gazetteer sees them) and their character spans."""
    parts, norms = tokenize(text)
    ends = list(accumulate(map(len, parts)))
    starts = [ends[2 * t] for t in range(len(norms))]
    stops = [ends[2 * t + 1] for t in range(len(norms))]
    return norms, starts, stops


def _territory_label(ent, *, with_dept: bool = False) -> str:
    level = LEVEL_LABELS[ent.level].lower()
    if ent.level == "pays":
        return "France (national)"
    if with_dept and ent.level in ("commune", "epci") and ent.departements:
        return f"{ent.name} ({level}, {ent.departements[0]})"
    return f"{ent.name} ({level})"


# ---------------------------------------------------------------------------------------------
# territories
# ---------------------------------------------------------------------------------------------
NATIONAL_WORDS = re.compile(r"\b(national|nationale|nationaux|nationales|toute la france|"
                            r"france entiere|echelle nationale|niveau national)\b")
STREET_WORDS = frozenset({"rue", "avenue", "boulevard", "bd", "allee", "quai", "chemin", "impasse",
                          "route", "lycee", "college", "ecole", "gare"})
_DEPT_CODE = re.compile(r"(?<![\w-])(\d{2}|2[ab]|97[1-6])(?![\w-])")
_POSTCODE = re.compile(r"(?<![\w-])(\d{5})(?![\w-])")


def _dept_of_postcode(code: str) -> str:
    if code.startswith("97"):
        return code[:3]
    if code.startswith("20"):
        return "2A" if code < "20200" else "2B"
    return code[:2]


def _territory_slots(text: str, folded: str, ctx: UnderstandingContext) -> list[Slot]:
    gaz = ctx.gazetteer
    if gaz is None:
        return []
    mentions = scan(gaz, text, "title")
    norms, starts, _ = _words(text)
    has_lower = any(c.islower() for c in text)
    # context: département codes written in the query (« 93 », « (29) ») and postcodes
    codes = {m.upper() for m in _DEPT_CODE.findall(folded)}
    codes |= {_dept_of_postcode(m) for m in _POSTCODE.findall(folded)}
    found = []  # (span, mention, entity candidates, scores)
    pos = 0
    for m in mentions:
        i = text.find(m.surface, pos)
        if i < 0:
            continue
        span = (i, i + len(m.surface))
        pos = span[1]
        aliases = gaz.aliases.get(m.key, [])
        ents = []
        for a in aliases:
            e = gaz.entities[gaz.canonical(a.entity)]
            if all(e.key != x.key for x, _ in ents):
                ents.append((e, a))
        if not ents:
            continue
        w = next((k for k, s in enumerate(starts) if s == span[0]), None)
        prev = norms[max(0, w - 3):w] if w is not None else []
        if all(a.kind == "phrase" for _, a in ents) or ents[0][0].level == "pays":
            found.append((span, m, [(ents[0][0], 1.0)]))
            continue
        if prev and (prev[-1] in STREET_WORDS or (
                len(prev) >= 2 and prev[-1] in ("de", "du", "d") and prev[-2] in STREET_WORDS)):
            continue  # « rue de Paris », « lycée Victor Hugo »
        lexical = m.key in gaz.lexical
        if lexical:
            capital = any(c.isupper() for c in m.surface[:1]) and has_lower and span[0] > 0
            big = max(e.population for e, _ in ents) >= BIG_CITY and m.key not in gaz.always_weak
            after_a = bool(prev) and prev[-1] in ("a", "au")
            if not (m.cue or after_a or big or (capital and m.key not in gaz.always_weak)):
                continue
        scored = []
        for e, a in ents:
            s = 0.0
            if m.cue and m.cue == e.level:
                s += 2.0
            if codes & set(e.departements) or (e.level == "departement" and e.code in codes):
                s += 3.0
            scored.append((s, e, a.factor))
        found.append((span, m, scored))
    # places that are settled support their homonym neighbours (« Saint-Denis La Réunion »)
    first = [_resolve(text, span, m, sc, set(), set()) for span, m, sc in found]
    out = []
    for (span, m, sc), slot in zip(found, first, strict=True):
        if slot.ambiguous:
            depts: set[str] = set()
            regs: set[str] = set()
            for o in first:  # a name cannot vouch for itself
                if o is not slot and not o.ambiguous and o.value[0] != "pays":
                    e = gaz.entities[o.value]
                    depts.update(e.departements)
                    if e.level == "region":
                        regs.add(e.code)
            if depts or regs:
                slot = _resolve(text, span, m, sc, depts, regs)
        out.append(slot)
    # a département code right after a place it settled belongs to the place (« Saint-Denis 93 »)
    for k, slot in enumerate(out):
        mt = re.match(r"\s*\(?\s*(\d{2}|2[abAB]|97[1-6])\s*\)?(?![\w-])", text[slot.span[1]:])
        if mt and slot.value[0] != "pays" and mt.group(1).upper() in gaz.entities[slot.value].departements:
            end = slot.span[1] + mt.end()
            out[k] = replace(slot, span=(slot.span[0], end), text=text[slot.span[0]:end])
    # « données nationales », « à l'échelle nationale »: the country
    if not any(s.value == ("pays", "FR") for s in out):
        for mt in NATIONAL_WORDS.finditer(folded):
            span = mt.span()
            if any(a < span[1] and span[0] < b for a, b in (s.span for s in out)):
                continue
            c = Candidate(("pays", "FR"), "France (national)", 0.7)
            out.append(Slot("territory", ("pays", "FR"), "France (national)", span,
                            text[span[0]:span[1]], 0.7, (c,)))
            break
    return out


def _resolve(text: str, span, m, sc, support_depts: set[str], support_regions: set[str]) -> Slot:
    """One territory slot from a mention's scored candidates (module docstring: homonyms)."""
    if len(sc) == 1 and len(sc[0]) == 2:  # the country
        e = sc[0][0]
        return Slot("territory", e.key, _territory_label(e), span, text[span[0]:span[1]], 0.9,
                    (Candidate(e.key, _territory_label(e), 0.9),))
    rescored = []
    for s, e, factor in sc:
        if len(sc) > 1 and (set(e.departements) & support_depts
                            or (e.region and e.region in support_regions and e.level != "region")):
            s += 1.5
        rescored.append((s, e, factor))
    rescored.sort(key=lambda x: (-x[0], -x[1].population, x[1].level != "commune"))
    best_s, best, factor = rescored[0]
    ambiguous = False
    if len(rescored) == 1:
        conf = 0.9
    else:
        s2, second, _ = rescored[1]
        if best_s > s2:
            conf = 0.85
        elif best.population == second.population and best.departements == second.departements:
            conf = 0.9  # one territory at two levels (Paris)
            rescored = [x for x in rescored if x[1] is best or not (
                x[1].population == best.population and x[1].departements == best.departements)]
        elif best.population >= POPULATION_DOMINANCE * max(second.population, 1):
            conf = 0.7
        else:
            conf, ambiguous = 0.5, True
    conf *= factor
    same_level = sum(1 for _, e, _ in rescored if e.level == best.level) > 1
    cands = tuple(Candidate(e.key, _territory_label(e, with_dept=same_level),
                            round(conf if e is best else min(conf, 0.5) * (0.5 if s < best_s else 1), 3))
                  for s, e, _ in rescored)
    return Slot("territory", best.key, _territory_label(best, with_dept=ambiguous), span,
                text[span[0]:span[1]], conf, cands, ambiguous)


# ---------------------------------------------------------------------------------------------
# periods
# ---------------------------------------------------------------------------------------------
_Y = r"((?:19|20)\d{2})"
_NUMBERS = {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
            "neuf": 9, "dix": 10, "quinze": 15, "vingt": 20}
_CREATED = r"(?:cree|crees|creee|creees|publie|publies|publiee|publiees|mis en ligne|mises en ligne|parus?)"
_MODIFIED = (r"(?:mis a jour|mise a jour|mises a jour|modifie|modifies|modifiee|modifiees|"
             r"actualise|actualises|actualisee|actualisees)")
PERIOD_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("range", re.compile(r"\b(?:entre|de|du)\s+(?:l'?an(?:nee)?s?\s+)?" + _Y + r"\s+(?:et|a|au)\s+"
                         r"(?:l'?an(?:nee)?\s+)?" + _Y + r"\b")),
    ("range", re.compile(r"(?<![\w-])" + _Y + r"\s*(?:-|–|—|/|a)\s*" + _Y + r"(?![\w-])")),
    ("since", re.compile(r"\b(?:depuis|a partir de|a compter de|des)\s+(?:l'?an(?:nee)?\s+)?" + _Y + r"\b")),
    ("after", re.compile(r"\b(?:apres|post|plus tard que)\s+(?:l'?an(?:nee)?\s+)?" + _Y + r"\b")),
    ("before", re.compile(r"\b(?:avant|anterieurs? a|anterieures? a)\s+(?:l'?an(?:nee)?\s+)?" + _Y + r"\b")),
    ("until", re.compile(r"\bjusqu'?\s*(?:en|a)\s+(?:l'?an(?:nee)?\s+)?" + _Y + r"\b")),
    ("last_n", re.compile(r"\b(?:les|ces|des|sur les)\s+(\d{1,2}|" + "|".join(_NUMBERS) +
                          r")\s+dernieres\s+annees\b")),
    ("this_year", re.compile(r"\bcette annee\b|\bannee en cours\b")),
    ("last_year", re.compile(r"\bl'?\s*an(?:nee)? (?:dernier|derniere|passe|passee)\b")),
    ("recent", re.compile(r"\b(?:les plus recents?|les plus recentes?|recents?|recentes?|recemment|"
                          r"dernieres donnees|derniere version|plus a jour)\b")),
    ("year", re.compile(r"(?<![\w-])" + _Y + r"(?![\w-])")),
)


def _period_slots(text: str, folded: str, ctx: UnderstandingContext) -> list[Slot]:
    y_now = ctx.year
    max_year = y_now + 10
    taken: list[tuple[int, int]] = []
    out: list[Slot] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def ok(y: int) -> bool:
        return OPEN_START <= y <= max_year

    for kind, rx in PERIOD_PATTERNS:
        for mt in rx.finditer(folded):
            a, b = mt.span()
            if not free(a, b):
                continue
            g = mt.groups()
            fld = "coverage"
            if kind == "range":
                y1, y2 = sorted((int(g[0]), int(g[1])))
                if not (ok(y1) and ok(y2)):
                    continue
                label, conf = f"{y1}–{y2}", 0.9
            elif kind == "since":
                y1, y2 = int(g[0]), max(y_now, int(g[0]))
                label, conf = f"depuis {g[0]}", 0.9
            elif kind == "after":
                y1, y2 = int(g[0]) + 1, max(y_now, int(g[0]) + 1)
                label, conf = f"après {g[0]}", 0.9
            elif kind == "before":
                y1, y2 = OPEN_START, int(g[0]) - 1
                label, conf = f"avant {g[0]}", 0.9
            elif kind == "until":
                y1, y2 = OPEN_START, int(g[0])
                label, conf = f"jusqu'en {g[0]}", 0.9
            elif kind == "last_n":
                n = int(g[0]) if g[0].isdigit() else _NUMBERS[g[0]]
                if not 1 <= n <= 50:
                    continue
                y1, y2 = y_now - n + 1, y_now
                label, conf, fld = f"{n} dernières années ({y1}–{y2})", 0.8, "modified"
            elif kind == "this_year":
                y1 = y2 = y_now
                label, conf, fld = f"cette année ({y_now})", 0.8, "modified"
            elif kind == "last_year":
                y1 = y2 = y_now - 1
                label, conf, fld = f"l'an dernier ({y1})", 0.8, "coverage"
            elif kind == "recent":
                y1, y2 = y_now - 1, y_now
                label, conf, fld = f"récents ({y1}–{y2})", 0.7, "modified"
            else:  # a single year
                y1 = y2 = int(g[0])
                if not ok(y1):
                    continue
                label, conf = str(y1), 0.85
            if y1 > y2 or not ok(y2):
                continue
            before = folded[max(0, a - 30):a]
            if re.search(_CREATED + r"\s+(?:en|depuis|entre|avant|apres|a partir de|de|du)?\s*$", before):
                fld = "created"
            elif re.search(_MODIFIED + r"\s+(?:en|depuis|entre|avant|apres|a partir de|de|du)?\s*$", before):
                fld = "modified"
            taken.append((a, b))
            out.append(Slot("period", (y1, y2), label, (a, b), text[a:b], conf,
                            (Candidate((y1, y2), label, conf),), False, fld))
    return out


# ---------------------------------------------------------------------------------------------
# producers and formats
# ---------------------------------------------------------------------------------------------
def _producer_slots(text: str, ctx: UnderstandingContext) -> list[Slot]:
    idx = ctx.producers
    if idx is None or not len(idx):
        return []
    norms, starts, stops = _words(text)
    out = []
    i = 0
    n = len(norms)
    while i < n:
        hit = None
        for j in range(min(n, i + idx.max_tokens), i, -1):
            k = " ".join(norms[i:j])
            if k in idx.keys:
                hit = (j, idx.keys[k], 0.85)
                break
        if hit is None and norms[i] in idx.acronyms:
            k = norms[i]
            surf = text[starts[i]:stops[i]]
            if k not in idx.lexical_acronyms or (surf.isupper() and len(surf) >= 2):
                hit = (i + 1, idx.acronyms[k], 0.75)
        if hit is None:
            i += 1
            continue
        j, prods, conf = hit
        span = (starts[i], stops[j - 1])
        ambiguous = len(prods) > 1
        if ambiguous:
            conf = min(conf, 0.5)
        cands = tuple(Candidate(pid, idx.names[pid], conf if r == 0 else min(conf, 0.4))
                      for r, (pid, _) in enumerate(prods))
        best = prods[0][0]
        out.append(Slot("producer", best, idx.names[best], span, text[span[0]:span[1]], conf, cands,
                        ambiguous))
        i = j
    return out


def _format_slots(text: str, folded: str, ctx: UnderstandingContext) -> list[Slot]:
    out = []
    seen = set()
    for mt in FORMAT_WORD_RE.finditer(folded):
        fam = QUERY_FORMAT_WORDS[mt.group(1)]
        if fam not in ctx.known_formats or fam in seen:
            continue
        seen.add(fam)
        a, b = mt.span()
        label = FORMAT_LABELS.get(fam, fam.upper())
        out.append(Slot("format", fam, label, (a, b), text[a:b], 0.9, (Candidate(fam, label, 0.9),)))
    return out


# ---------------------------------------------------------------------------------------------
# the whole query
# ---------------------------------------------------------------------------------------------
LEAD_WORDS = frozenset(LINK_WORDS | {"dans", "pour", "par", "depuis", "format", "formats",
                                     "fichier", "fichiers", "commune", "ville", "departement",
                                     "region", "territoire", "intercommunalite", "chez", "produit",
                                     "produits", "publie", "publies", "publiees", "publiee"})
TRAIL_WORDS = frozenset({"format", "formats"})


def topic_text(text: str, slots: Iterable[Slot]) -> str:
    """``text`` without the slots' spans and the small words right before them (at most 3:
    « à », « en », « au format », « de la commune de » …).

    Examples
    --------
    >>> toulouse = Slot("territory", ("commune", "31555"), "Toulouse (commune)", (11, 19), "Toulouse", 0.9)
    >>> topic_text("piscines à Toulouse", [toulouse]), topic_text("  piscines   couvertes ", [])
    ('piscines', 'piscines couvertes')
    """
    spans = sorted(s.span for s in slots)
    if not spans:
        return " ".join(text.split())
    norms, starts, stops = _words(text)
    cut = []
    for a, b in spans:
        w = [k for k in range(len(norms)) if stops[k] <= a]
        lead = a
        n_lead = 0
        for k in reversed(w):
            if norms[k] in LEAD_WORDS and n_lead < 3 and not any(x <= starts[k] < y for x, y in cut):
                lead = starts[k]
                n_lead += 1
            else:
                break
        cut.append((lead, b))
    keep = []
    pos = 0
    for a, b in sorted(cut):
        if a > pos:
            keep.append(text[pos:a])
        pos = max(pos, b)
    keep.append(text[pos:])
    out = " ".join(" ".join(keep).split())
    out = re.sub(r"\s+([,.;:?!])", r"\1", out)
    return out.strip(" ,;:-")


def understand(text: str | None, ctx: UnderstandingContext) -> Understanding:
    """The slots of a free French ``text`` and its topic words (module docstring).

    Never raises on odd input: an empty or non-text query gives no slot; a text longer than
    :data:`MAX_TEXT_CHARS` is understood on its beginning.

    Examples
    --------
    >>> ctx = UnderstandingContext.build(gazetteer=None, as_of="2026-03-01")
    >>> [(s.kind, s.value, s.text) for s in understand("qualité de l'air avant 2015 (xls)", ctx).slots]
    [('period', (1900, 2014), 'avant 2015'), ('format', 'xls', 'xls')]
    >>> understand(None, ctx).slots, understand("   ", ctx).topic_text
    ((), '')
    """
    text = "" if text is None else str(text)
    text = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)[:MAX_TEXT_CHARS]
    if not text.strip():
        return Understanding(text, (), "")
    folded = fold_keep_offsets(text)
    periods = _period_slots(text, folded, ctx)
    formats = _format_slots(text, folded, ctx)

    def overlaps(span, others):
        return any(span[0] < b and a < span[1] for a, b in others)

    taken = [s.span for s in periods + formats]
    territories = [s for s in _territory_slots(text, folded, ctx) if not overlaps(s.span, taken)]
    producers = [s for s in _producer_slots(text, ctx) if not overlaps(s.span, taken)]
    # a producer named like a place (« Toulouse Métropole », « Région Bretagne ») is both: the
    # territory slot is kept when its span lies inside the producer's
    slots = sorted(periods + formats + territories + producers, key=lambda s: (s.span, KINDS.index(s.kind)))
    return Understanding(text, tuple(slots), topic_text(text, slots))


def with_confidence(slot: Slot, confidence: float) -> Slot:
    """A copy of ``slot`` with another confidence (e.g. once the person confirmed it).

    Examples
    --------
    >>> s = Slot("format", "csv", "CSV", (0, 3), "csv", 0.9)
    >>> with_confidence(s, 1).confidence, s.confidence
    (1.0, 0.9)
    """
    return replace(slot, confidence=float(confidence))
