"""Which French territories a dataset concerns: gazetteer matching over title, description, tags
and producer name, then a comparison with the zones producers declare.

Output, per dataset: ``{level, code, name, confidence, source}`` with ``level`` in
commune / epci / departement / region / pays and ``source`` in title / description / tags /
organization. Codes are COG codes (communes: INSEE code, municipal arrondissements of Paris, Lyon
and Marseille have their own code; EPCI: SIREN; départements and régions: COG code; pays: ``FR``).

How a mention is found
    Every text is cut into word tokens that are lower-cased, stripped of accents and normalised
    (``st`` -> ``saint``, ``ste`` -> ``sainte``, ``lez`` -> ``les``, ``1er``/``15ème`` -> ``1e``/``15e``),
    so that hyphens, spaces, apostrophes and accents do not matter. All gazetteer names and their
    variants live in one token trie; a text is scanned once, left to right, taking the longest
    name that starts at each token (Aho-Corasick-like, linear in the text length).

How an ambiguous mention is resolved (generic rules, no per-name list)
    * Proper nouns: outside tags, the first significant word of a match must be capitalised
      (unless the whole field has no capital letter). Tags only match as a whole tag.
    * Common words: a one-word name that is a French word (the lemmatiser's dictionary, plus
      months, weekdays, numbers and names of one or two letters) and that the corpus itself writes
      in lower case often enough (``Orange``, ``Bar``, ``Vaux``, ``Mars``, ``Sept``, ``Eu``, ``Y``)
      is accepted only when its département is supported by the context, or a level cue precedes
      it (``commune de``, ``département du`` ...).
    * Streets and buildings: a commune name right after ``rue``, ``avenue``, ``place``, ``gare de``,
      ``lycée`` ... is ignored.
    * Articles: a commune whose name has no article is not what an article introduces (``la
      Saône`` the river, ``de la Ville de Toulon``, ``mer des Pertuis``, ``La Baule``); names that
      hold theirs (``La Rochelle``) and islands (``l'Île-d'Aix``) are unaffected.
    * A common word as a one-word tag (``plan``, ``routes``; ``le-cendre`` stays a name) or as the
      first word of a field or sentence (``Plan local d'urbanisme``: its capital letter proves
      nothing) names no commune.
    * Homonyms (communes of the same name, or a commune and a département): every candidate gets
      a support score from the context of the dataset — the producer's own location (its name, and
      the départements its other datasets mention unambiguously), the unambiguous places and the
      département codes such as ``(29)`` in the same dataset, a postcode right before the name.
      The best supported candidate wins; without support a name wins only when one candidate is
      at least ten times as populous as the next, with a lower confidence.
    * Producer names: ``Ville de X``, ``Département du X``, ``X Métropole`` locate the producer;
      national producers (``Ministère``, ``... national ...``, ``... France``) give ``pays FR``.

Evaluation against declared zones (:func:`evaluate`)
    The extractor never reads ``spatial_zones``. Declared names are resolved to COG entities by an
    exact normalised name match (granularity, co-declared zones and population break ties);
    names outside the COG (``Monde``, ``Union Européenne``, foreign countries, ``DROM-COM``) are
    not evaluated. A dataset is evaluated when at least one declared zone resolves. Precision is
    averaged over evaluated datasets with at least one extracted territory, recall over all
    evaluated datasets (macro averages; micro averages over pairs are reported alongside).

    *Entity level*: exact ``(level, code)`` match, after identifying identical territories (a
    région with a single département — overseas — is that département).

    *Département level*: every territory is projected onto départements: a commune onto its
    département, an EPCI onto the départements of its member communes, a département onto
    itself. Coarser territories keep their own level (``region:53``, ``pays:FR``) rather than
    being expanded into all their départements: expanding would turn one région-level statement
    into up to 13 département claims, so that a région matched or missed would weigh more than
    everything else in the dataset. A région therefore matches a région, France matches France.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import numpy as np

from models.core.text import fold_accents

log = logging.getLogger(__name__)

LEVELS = ("commune", "epci", "departement", "region", "pays")
LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}
SOURCES = ("title", "description", "tags", "organization")
COLUMNS = ["row", "level", "code", "name", "confidence", "source"]
LEVEL_LABELS = {"commune": "Commune", "epci": "Intercommunalité", "departement": "Département",
                "region": "Région", "pays": "Pays"}

# base confidence of a mention by where it was found
SOURCE_WEIGHT = {"title": 0.9, "organization": 0.85, "tags": 0.8, "description": 0.65}
SOURCE_PRIORITY = {"title": 0, "organization": 1, "tags": 2, "description": 3}
MIN_CONFIDENCE = 0.3  # kept in territories.parquet
EVAL_CONFIDENCE = 0.5  # used by the evaluation and, by default, by the app

# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+")
_SPLIT = re.compile(r"([^\W_]+)")
_ORDINAL = re.compile(r"^(\d{1,2})(?:er|ere|re|e|eme|ieme|em|me|è)$")
TOKEN_ALIASES = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "mt": "mont"}
ARTICLES = frozenset({"le", "la", "les", "l"})
# an article, or one fused with « de » / « à » (« du », « des », « au », « aux »), right before a name
ARTICLES_BEFORE = ARTICLES | {"du", "des", "au", "aux"}
_SENTENCE_END = frozenset(".!?:;\n")  # in the separator before a word: it starts a sentence or a value
LINK_WORDS = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "et", "en", "sur", "sous",
                        "a", "au", "aux"})
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MONTHS_DAYS_NUMBERS = _words("""
janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
lundi mardi mercredi jeudi vendredi samedi dimanche
un deux trois quatre cinq six sept huit neuf dix onze douze cent mille
nord sud est ouest centre
""")
ENGLISH_WORDS = _words("""
a about all an and any are as at be by can data for from has have his in is it its map new not of
on or our out over she that the their there these they this those to up use was we who with year
you your
""")
# a place name right after these words is a street, a river, a massif, a station, or the name
# of something larger ("Grand Paris Sud" is no Paris: a "Grand X" that is an EPCI matches as such)
BLOCK_WORDS = _words("""
rue rues avenue av bd boulevard place pl allee allees quai quais chemin route impasse square
cours faubourg fg rond point passage sentier ruelle esplanade parvis promenade canal pont porte
gare station arret parc jardin residence cite hotel stade gymnase piscine
bassin riviere fleuve ruisseau massif montagne mont monts foret bois lac etang baie golfe col
plaine plateau pays vallee vallon grand grande
""")
BLOCK_LINKS = frozenset({"de", "du", "des", "d", "la", "le", "l", "a", "au", "aux"})
# ... and right after these, a person's name: "lycée Victor Hugo", "collège Saint-Exupéry"
INSTITUTION_WORDS = _words("""
lycee college ecole eglise chapelle cathedrale basilique abbaye hopital clinique centre salle
espace maison groupe
""")
LEVEL_CUES = {
    "commune": frozenset({"commune", "communes", "ville", "mairie", "municipal", "municipale",
                          "communal", "communale", "cite", "village"}),
    "departement": frozenset({"departement", "departemental", "departementale",
                              "departementaux", "dept", "dpt", "cd", "cg"}),
    "region": frozenset({"region", "regional", "regionale", "regionaux", "cr"}),
}
NATIONAL_ORG = re.compile(
    r"\b(minist[eè]res?|premier ministre|nationale?s?|nationaux|interminist[ée]riel(?:le)?s?|"
    r"r[ée]publique fran[çc]aise|gouvernement)\b|(?<!\w)france\b", re.IGNORECASE)
DEPT_CODE_CONTEXT = re.compile(r"\((\d{2}|2[AaBb]|97[1-6])\)")
PAYS_PHRASES = ("france", "france metropolitaine", "france entiere", "toute la france",
                "territoire national", "niveau national", "echelle nationale", "echelon national",
                "ensemble du territoire national", "ensemble du territoire francais",
                "republique francaise", "metropole et outre mer", "france et outre mer")

# former régions (before 2016) -> current région code
FORMER_REGIONS = {
    "alsace": "44", "lorraine": "44", "champagne ardenne": "44", "aquitaine": "75",
    "limousin": "75", "poitou charentes": "75", "auvergne": "84", "rhone alpes": "84",
    "languedoc roussillon": "76", "midi pyrenees": "76", "bourgogne": "27", "franche comte": "27",
    "nord pas de calais": "32", "picardie": "32", "haute normandie": "28", "basse normandie": "28",
    "provence alpes cote d azur": "93", "paca": "93", "region sud": "93", "centre val de loire": "24",
    "region centre": "24", "nord pas de calais picardie": "32", "alsace champagne ardenne lorraine": "44",
    "aquitaine limousin poitou charentes": "75", "languedoc roussillon midi pyrenees": "76",
}


@lru_cache(maxsize=500_000)
def norm_token(tok: str) -> str:
    """One word as the gazetteer matches it: lower case, accents folded, abbreviations expanded,
    ordinals shortened.

    Examples
    --------
    >>> norm_token("Ste"), norm_token("Élancourt"), norm_token("15ème"), norm_token("1er")
    ('sainte', 'elancourt', '15e', '1e')
    """
    t = fold_accents(tok.lower())
    t = TOKEN_ALIASES.get(t, t)
    m = _ORDINAL.match(t)
    if m:
        return m.group(1) + "e"
    return t


# fast path: fold a whole text at once with a byte table (Latin-1 letters -> plain lower-case
# letters, anything else -> a separator, one byte for one character, so offsets are kept), then map
# the few tokens that have a normal form of their own (st -> saint, 15eme -> 15e)
def _byte_table() -> bytes:
    out = bytearray(b" " * 256)
    for b in range(256):
        if b < 128:
            out[b] = ord(chr(b).lower())
            continue
        f = fold_accents(chr(b)).lower()
        if len(f) == 1 and f.isascii() and f.isalnum():
            out[b] = ord(f)
    return bytes(out)


_BYTE_TABLE = _byte_table()
_ASCII_SPLIT = re.compile(r"([a-z0-9]+)")
_TOKEN_MAP = dict(TOKEN_ALIASES)
for _n in range(1, 21):
    for _suffix in ("er", "ere", "re", "e", "eme", "ieme", "em", "me"):
        _TOKEN_MAP[f"{_n}{_suffix}"] = f"{_n}e"
_token_get = _TOKEN_MAP.get


def tokenize(text: str) -> tuple[list[str], list[str]]:
    """``(parts, norms)``: ``parts`` alternates separators and words (``separator, word, ...,
    separator``) with the lengths they have in ``text``; ``norms`` are the normalised words.

    Examples
    --------
    >>> tokenize("St-Étienne (42)")  # parts are folded, one character for one
    (['', 'st', '-', 'etienne', ' (', '42', ')'], ['saint', 'etienne', '42'])
    """
    if "œ" not in text and "Œ" not in text and "æ" not in text and "Æ" not in text:
        folded = text.encode("latin-1", "replace").translate(_BYTE_TABLE).decode("ascii")
        parts = _ASCII_SPLIT.split(folded)
        words = parts[1::2]
        return parts, list(map(_token_get, words, words))
    parts = _SPLIT.split(text)  # rare: ligatures, kept as two letters
    return parts, [norm_token(w) for w in parts[1::2]]


def norm_name(text: str) -> str:
    """The matching key of a name: normalised tokens joined by spaces (as :func:`scan` sees them).

    Examples
    --------
    >>> norm_name("St-Étienne-d'Orthe"), norm_name("Paris 15ème"), norm_name("")
    ('saint etienne d orthe', 'paris 15e', '')
    """
    return " ".join(tokenize(text)[1]) if text else ""


class Lexicon:
    """A set of words held as sorted 64-bit hashes (blake2b): ~2 MiB for French's 234,000
    accent-folded forms instead of ~50 MiB of Python strings; ``word in lexicon`` only.

    Examples
    --------
    >>> lex = Lexicon.from_words(["orange", "plan"])
    >>> "orange" in lex, "toulouse" in lex, len(lex)
    (True, False, 2)
    """

    def __init__(self, hashes: np.ndarray) -> None:
        h = np.asarray(hashes, dtype=np.uint64)
        self.hashes = h if len(h) < 2 or bool((h[1:] > h[:-1]).all()) else np.unique(h)

    @staticmethod
    def hash(word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Lexicon:
        return cls(np.fromiter((cls.hash(w) for w in words), dtype=np.uint64))

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        h = np.uint64(self.hash(word))
        i = int(np.searchsorted(self.hashes, h))
        return i < len(self.hashes) and self.hashes[i] == h

    def __len__(self) -> int:
        return len(self.hashes)


_LEXICON: Lexicon | None = None


def use_lexicon(lexicon: Lexicon | None) -> None:
    """Serve this lexicon (a build's ``territory_lexicon.npy``) instead of computing it."""
    global _LEXICON
    _LEXICON = lexicon


def french_lexicon() -> Lexicon:
    """Accent-folded French word forms (simplemma's dictionary), used to flag common words;
    computed once per process (~0.8 s) unless a build's copy was given to :func:`use_lexicon`.

    Examples
    --------
    >>> lex = french_lexicon()
    >>> "orange" in lex, "eleve" in lex, "toulouse" in lex  # accent-folded forms only
    (True, True, False)
    """
    global _LEXICON
    if _LEXICON is None:
        _LEXICON = Lexicon.from_words(_lexicon_words())
    return _LEXICON


def _lexicon_words() -> set[str]:
    try:  # lazy: simplemma's dictionaries load on first use
        from simplemma.strategies.dictionaries import DefaultDictionaryFactory

        d = DefaultDictionaryFactory().get_dictionary("fr")
        words = set()
        for k in d:
            w = k.decode() if isinstance(k, bytes) else k
            words.add(w.lower().encode("latin-1", "replace").translate(_BYTE_TABLE).decode("ascii"))
        return {w for w in words if w.isalpha()}
    except Exception as exc:  # pragma: no cover - optional signal
        log.warning("French lexicon unavailable (%s): common-word communes rely on short names only", exc)
        return set()


# ---------------------------------------------------------------------------------------------
# gazetteer
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)  # slots: 36,000 of them in the app, ~150 bytes less each
class Entity:
    """A territory of the COG: its level, code, name and where it lies.

    Examples
    --------
    >>> Entity("commune", "31555", "Toulouse", 504078, ("31",), "76").key
    ('commune', '31555')
    """

    level: str
    code: str
    name: str
    population: int = 0
    departements: tuple[str, ...] = ()
    region: str | None = None
    epci: str | None = None
    parent: str | None = None  # the commune of a municipal arrondissement
    postcodes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.level, self.code)


@dataclass(frozen=True, slots=True)
class Alias:
    """One name of an entity (its normalised form is the key of :attr:`Gazetteer.aliases`): its
    kind and a confidence factor (a former région's name weighs less).

    Examples
    --------
    >>> Alias(("region", "75"), "former", 0.8)
    Alias(entity=('region', '75'), kind='former', factor=0.8)
    """

    entity: tuple[str, str]
    kind: str  # name | variant | core | former | article
    factor: float = 1.0


_EPCI_PREFIX = re.compile(r"^(CC|CA|CU|Métropole|Metropole)\s+", re.IGNORECASE)
_EPCI_EXPAND = {"CC": "communauté de communes", "CA": "communauté d'agglomération",
                "CU": "communauté urbaine"}
_PAREN = re.compile(r"\s*\([^)]*\)\s*")


class Gazetteer:
    """COG entities, their names and variants in one token trie.

    Examples
    --------
    >>> gaz = Gazetteer.build(
    ...     [{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "departement": "31",
    ...       "region": "76", "population": 504078, "codesPostaux": ["31000"]},
    ...      {"code": "84087", "nom": "Orange", "type": "commune-actuelle", "departement": "84",
    ...       "region": "93", "population": 28000}], [],
    ...     [{"code": "31", "nom": "Haute-Garonne", "region": "76"},
    ...      {"code": "84", "nom": "Vaucluse", "region": "93"}],
    ...     [{"code": "76", "nom": "Occitanie"}, {"code": "93", "nom": "Provence-Alpes-Côte d'Azur"}])
    >>> [(e.level, e.code) for e in gaz.lookup("la haute garonne")]  # names with their article too
    [('departement', '31')]
    >>> [e.name for e in gaz.enclosing(gaz.get("commune", "31555"))]
    ['Haute-Garonne', 'Occitanie', 'France']
    >>> "orange" in gaz.lexical, "toulouse" in gaz.lexical  # a common French word, a proper noun
    (True, False)
    >>> gaz.postcodes["31000"], gaz.canonical(("region", "93"))  # a région of one département here
    ({('commune', '31555')}, ('departement', '84'))
    """

    def __init__(self, entities: dict[tuple[str, str], Entity],
                 aliases: dict[str, list[Alias]]) -> None:
        self.entities = entities
        self.aliases = aliases
        self.trie: dict = {}
        for key in aliases:
            node = self.trie
            for tok in key.split():
                node = node.setdefault(tok, {})
            node[""] = key
        lex = french_lexicon()
        self.lexical: set[str] = set()  # names made of one common word ("Orange", "Le Plan")
        self.always_weak: set[str] = set()  # ... that are never trusted without context
        for k in aliases:
            sig = [t for t in k.split() if t not in LINK_WORDS]
            if len(sig) != 1:
                continue
            w = sig[0]
            if len(w) <= 3 or w in MONTHS_DAYS_NUMBERS or w in ENGLISH_WORDS:
                self.lexical.add(k)
                self.always_weak.add(k)
            elif w in lex:
                self.lexical.add(k)
        self.postcodes: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for e in entities.values():
            for pc in e.postcodes:
                self.postcodes[pc].add(e.key)
        self.dept_region = {e.code: e.region for e in entities.values() if e.level == "departement"}
        self._by_level: dict[str, list[Entity]] = defaultdict(list)
        for e in entities.values():
            self._by_level[e.level].append(e)

    # ---- construction --------------------------------------------------------------------
    @classmethod
    def load(cls, folder: str | Path) -> Gazetteer:
        folder = Path(folder)
        missing = [n for n in ("communes.json", "epci.json", "departements.json", "regions.json")
                   if not (folder / n).exists()]
        if missing:
            raise FileNotFoundError(f"gazetteer folder {folder} lacks {', '.join(missing)}")

        def read(name):
            return json.loads((folder / name).read_text(encoding="utf-8"))

        return cls.build(read("communes.json"), read("epci.json"), read("departements.json"),
                         read("regions.json"))

    @classmethod
    def build(cls, communes: list[dict], epcis: list[dict], departements: list[dict],
              regions: list[dict]) -> Gazetteer:
        entities: dict[tuple[str, str], Entity] = {}
        aliases: dict[str, list[Alias]] = defaultdict(list)

        def add(name: str, ent: tuple[str, str], kind: str = "name", factor: float = 1.0) -> None:
            k = norm_name(name)
            if not k or all(t in LINK_WORDS or t.isdigit() for t in k.split()):
                return  # "Lez", "Les": never a name on their own
            if all(a.entity != ent for a in aliases[k]):
                aliases[k].append(Alias(ent, kind, factor))
            if " lez " in f" {k} ":  # Sailly-lez-Lannoy is also written Sailly-lès-Lannoy
                add(f" {k} ".replace(" lez ", " les ").strip(), ent, "variant", factor)

        commune_epci: dict[str, str] = {}
        for e in epcis:
            for m in e.get("membres", []):
                commune_epci[m["code"]] = e["code"]
        actual = {c["code"]: c for c in communes if c.get("type") == "commune-actuelle"}
        dept_pop: Counter = Counter()
        reg_pop: Counter = Counter()
        for c in actual.values():
            dept_pop[c.get("departement")] += c.get("population", 0) or 0
            reg_pop[c.get("region")] += c.get("population", 0) or 0

        for c in communes:
            typ = c.get("type")
            if typ == "commune-actuelle":
                code = c["code"]
                ent = Entity("commune", code, c["nom"], int(c.get("population") or 0),
                             (c.get("departement"),), c.get("region"), commune_epci.get(code),
                             postcodes=tuple(c.get("codesPostaux", ())))
                entities[ent.key] = ent
                _commune_aliases(add, c["nom"], ent.key)
            elif typ == "arrondissement-municipal":
                code = c["code"]
                parent = c.get("commune")
                ent = Entity("commune", code, c["nom"], int(c.get("population") or 0),
                             (c.get("departement"),), c.get("region"), commune_epci.get(parent),
                             parent=parent, postcodes=tuple(c.get("codesPostaux", ())))
                entities[ent.key] = ent
                _arrondissement_aliases(add, c["nom"], ent.key)
        for c in communes:  # former communes merged into a new one: names of the new commune
            if c.get("type") in ("commune-deleguee", "commune-associee"):
                target = ("commune", c.get("chefLieu") or "")
                if target in entities and norm_name(c["nom"]) != norm_name(entities[target].name):
                    add(c["nom"], target, "variant", 0.85)

        # a city is a distinctive word even when it is also a common one ("Grand Paris", "Tours")
        big_places = frozenset(norm_name(c["nom"]) for c in actual.values()
                               if (c.get("population") or 0) >= 20_000 and " " not in norm_name(c["nom"]))
        for e in epcis:
            members = [actual[m["code"]] for m in e.get("membres", []) if m["code"] in actual]
            depts = Counter()
            for m in members:
                depts[m["departement"]] += m.get("population", 0) or 1
            ent = Entity("epci", e["code"], e["nom"], int(e.get("populationTotale") or 0),
                         tuple(d for d, _ in depts.most_common()),
                         members[0]["region"] if members else None)
            entities[ent.key] = ent
            _epci_aliases(add, e["nom"], ent.key, big_places)

        for d in departements:
            ent = Entity("departement", d["code"], d["nom"], int(dept_pop.get(d["code"], 0)),
                         (d["code"],), d.get("region"))
            entities[ent.key] = ent
            add(d["nom"], ent.key)
            _article_aliases(add, d["nom"], ent.key)
        region_depts = defaultdict(list)
        for d in departements:
            region_depts[d.get("region")].append(d["code"])
        for r in regions:
            ent = Entity("region", r["code"], r["nom"], int(reg_pop.get(r["code"], 0)),
                         tuple(region_depts.get(r["code"], ())), r["code"])
            entities[ent.key] = ent
            add(r["nom"], ent.key)
            _article_aliases(add, r["nom"], ent.key)
        for name, code in FORMER_REGIONS.items():
            if ("region", code) in entities:
                add(name, ("region", code), "former", 0.8)
        fr = Entity("pays", "FR", "France", sum(reg_pop.values()))
        entities[fr.key] = fr
        for phrase in PAYS_PHRASES:
            add(phrase, fr.key, "name" if phrase.startswith("france") else "phrase")
        return cls(entities, dict(aliases))

    # ---- queries -------------------------------------------------------------------------
    def get(self, level: str, code: str) -> Entity | None:
        return self.entities.get((level, code))

    def of_level(self, level: str) -> list[Entity]:
        return self._by_level.get(level, [])

    def lookup(self, name: str) -> list[Entity]:
        """Entities whose name (or variant) is exactly ``name`` once normalised."""
        return [self.entities[a.entity] for a in self.aliases.get(norm_name(name), [])]

    def departements_of(self, ent: Entity) -> tuple[str, ...]:
        if ent.level in ("commune", "epci", "departement"):
            return ent.departements
        return ()

    def enclosing(self, ent: Entity) -> list[Entity]:
        """The larger territories that contain ``ent`` (EPCI, département, région, France)."""
        out: list[Entity] = []
        if ent.level == "commune":
            if ent.parent and ("commune", ent.parent) in self.entities:
                out.append(self.entities[("commune", ent.parent)])
            if ent.epci and ("epci", ent.epci) in self.entities:
                out.append(self.entities[("epci", ent.epci)])
        if ent.level in ("commune", "epci"):
            for d in ent.departements:
                if ("departement", d) in self.entities:
                    out.append(self.entities[("departement", d)])
        if ent.level in ("commune", "epci", "departement") and ent.region:
            r = self.entities.get(("region", ent.region))
            if r is not None and r.code not in ent.departements:
                out.append(r)
        if ent.level != "pays":
            out.append(self.entities[("pays", "FR")])
        return out

    def canonical(self, key: tuple[str, str]) -> tuple[str, str]:
        """One key per territory: a région with a single département is that département."""
        if key[0] == "region":
            ent = self.entities.get(key)
            if ent is not None and len(ent.departements) == 1:
                return ("departement", ent.departements[0])
        return key

    def dept_units(self, key: tuple[str, str]) -> set[str]:
        """Département-level projection (see the module docstring)."""
        level, code = self.canonical(key)
        ent = self.entities.get((level, code))
        if ent is None:
            return set()
        if level in ("commune", "epci", "departement"):
            return set(ent.departements)
        return {f"{level}:{code}"}


def _article_aliases(add, name: str, key) -> None:
    """"la Creuse", "le Nord", "l'Ain", "les Landes" and "La Réunion" / "Réunion": the scan
    takes the longest name, so the article must be part of the département's names too."""
    toks = norm_name(name).split()
    if toks and toks[0] in ARTICLES:
        if len(toks) > 1:
            add(" ".join(toks[1:]), key, "article", 0.9)
        return
    for article in ("le", "la", "les", "l"):
        add(f"{article} {' '.join(toks)}", key, "article", 1.0)


def _commune_aliases(add, name: str, key) -> None:
    add(name, key)
    toks = norm_name(name).split()
    if toks and toks[0] in ("le", "les") and len(toks) > 1:
        rest = " ".join(toks[1:])
        contracted = ("du", "au") if toks[0] == "le" else ("des", "aux")
        for c in contracted:
            add(f"{c} {rest}", key, "article", 1.0)


def _arrondissement_aliases(add, name: str, key) -> None:
    # "Paris 15e Arrondissement" -> "Paris 15e", "15e arrondissement de Paris", "Paris 15e arrt"
    add(name, key)
    m = re.match(r"^(.*?)\s+(\d+)(?:er|e)\s+Arrondissement$", name)
    if not m:
        return
    city, n = m.group(1), m.group(2)
    for form in (f"{city} {n}e", f"{n}e arrondissement de {city}", f"{n}e arrondissement {city}",
                 f"{city} {n}e arr", f"{city} {n}e arrt", f"{city} arrondissement {n}"):
        add(form, key, "variant", 1.0)


def _epci_aliases(add, name: str, key, big_places: frozenset[str] = frozenset()) -> None:
    add(name, key)
    base = _PAREN.sub(" ", name).strip()
    if base != name:
        add(base, key)
    m = _EPCI_PREFIX.match(base)
    core = base
    if m:
        prefix = m.group(1)
        core = base[m.end():]
        if prefix.upper() in _EPCI_EXPAND:
            add(f"{_EPCI_EXPAND[prefix.upper()]} {core}", key)
        else:  # "Métropole du Grand Nancy" -> also "Grand Nancy Métropole"
            pass
    core_toks = norm_name(core).split()
    while core_toks and core_toks[0] in ("de", "du", "des", "d", "la", "le", "les", "l"):
        core_toks = core_toks[1:]
    if not core_toks:
        return
    core_key = " ".join(core_toks)
    significant = [t for t in core_toks if t not in LINK_WORDS]
    lex = french_lexicon()
    distinctive = [t for t in significant if (t not in lex or t in big_places)
                   and t not in MONTHS_DAYS_NUMBERS and not t.isdigit()]
    if distinctive and (len(significant) >= 2 or len(core_key) >= 6):
        add(core_key, key, "core", 0.9)
    for suffix in ("agglo", "agglomeration", "communaute", "metropole"):
        if core_toks[-1] != suffix and distinctive:
            add(f"{core_key} {suffix}", key, "variant", 1.0)
    add(f"le {core_key}", key, "variant", 1.0)


# ---------------------------------------------------------------------------------------------
# matching
# ---------------------------------------------------------------------------------------------
@dataclass
class Mention:
    """A gazetteer name found in one field of a dataset (:func:`scan`), with the clues the
    resolution weighs: capital letter, level cue before it, street or building before it,
    postcode next to it.

    Examples
    --------
    >>> m = Mention("title", "toulouse", "Toulouse", capitalised=True, cue="commune")
    >>> m.key, m.cue, m.blocked, m.code_near
    ('toulouse', 'commune', False, None)
    """

    source: str
    key: str
    surface: str
    capitalised: bool
    cue: str | None = None  # level announced by the words right before (commune, departement ...)
    blocked: bool = False  # right after "rue", "gare de", "bassin du", "lycée" ...
    code_near: str | None = None  # a 5-digit postcode or INSEE code right before or after
    article: bool = False  # an article right before, outside the name: « la Saône », « de la Ville de »
    initial: bool = False  # first word of the field or of a sentence: its capital letter proves nothing


def _is_code(tok: str) -> bool:
    return len(tok) == 5 and (tok.isdigit() or (tok[:2] in ("2a", "2b") and tok[2:].isdigit()))


def scan(gaz: Gazetteer, text: str, source: str) -> list[Mention]:
    """Leftmost-longest matches of gazetteer names in ``text`` (one pass over its tokens).

    Examples
    --------
    >>> gaz = Gazetteer.build(
    ...     [{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "departement": "31",
    ...       "region": "76"}], [], [{"code": "31", "nom": "Haute-Garonne", "region": "76"}], [])
    >>> [(m.key, m.surface, m.cue, m.blocked, m.code_near)
    ...  for m in scan(gaz, "31000 Toulouse : piscines de la ville de Toulouse, rue de Toulouse", "title")]
    [('toulouse', 'Toulouse', None, False, '31000'), ('toulouse', 'Toulouse', 'commune', False, None),
     ('toulouse', 'Toulouse', None, True, None)]
    >>> [m.key for m in scan(gaz, "Haute-Garonne et Juan-les-Toulouse", "description")]
    ['haute garonne']
    >>> text = "Toulouse. La Toulouse d’antan, l’Toulouse"
    >>> [(m.key, m.article, m.initial) for m in scan(gaz, text, "description")]
    [('toulouse', False, True), ('toulouse', True, False), ('toulouse', True, False)]
    """
    if not text:
        return []
    parts, norms = tokenize(text)
    seps = parts[0::2]  # seps[i] precedes word i; seps[i + 1] follows it
    has_upper = not text.islower()
    trie = gaz.trie
    found: list[tuple[int, int, str]] = []  # (first token, last token, key)
    n = len(norms)
    last = -1
    for i in [i for i, t in enumerate(norms) if t in trie]:
        if i <= last:
            continue
        node = trie[norms[i]]
        best_end, best_key = -1, None
        j = i
        while node is not None:
            if "" in node:
                best_end, best_key = j, node[""]
            j += 1
            if j >= n:
                break
            node = node.get(norms[j])
        if best_key is not None:
            found.append((i, best_end, best_key))
            last = best_end
    if not found:
        return []
    ends = list(accumulate(map(len, parts)))  # word t is text[ends[2t]:ends[2t + 1]]

    def word(t: int) -> str:
        return text[ends[2 * t]:ends[2 * t + 1]]

    out: list[Mention] = []
    for k, (i, j, key) in enumerate(found):
        # the tail or the head of a hyphenated word ("Juan-les-Pins", "Météo-France",
        # "Loire-Bretagne") is no place, unless every part of the compound is one ("Metz-Thionville")
        if i > 0 and seps[i] == "-" and not (k > 0 and found[k - 1][1] == i - 1):
            continue
        if j + 1 < n and seps[j + 1] == "-" and not (k + 1 < len(found) and found[k + 1][0] == j + 1):
            continue
        surf = text[ends[2 * i]:ends[2 * j + 1]]
        first_sig = next((word(t) for t in range(i, j + 1) if norms[t] not in LINK_WORDS), word(i))
        capitalised = (first_sig[:1].isupper() or first_sig[:1].isdigit()) if has_upper else True
        if i == j and first_sig.isupper() and 1 < len(first_sig) <= 4 and not text.isupper():
            capitalised = False  # "EU", "DROM", "BAR": an acronym, not a name
        prev = norms[max(0, i - 3):i]
        cue = None
        for lv, cue_words in LEVEL_CUES.items():
            if any(p in cue_words for p in prev):
                cue = lv
        blocked = False
        if prev:
            p1 = prev[-1]
            blocked = p1 in BLOCK_WORDS or p1 in INSTITUTION_WORDS or (
                p1 in BLOCK_LINKS and len(prev) >= 2 and prev[-2] in BLOCK_WORDS)
        code = None
        if i > 0 and _is_code(norms[i - 1]):
            code = norms[i - 1].upper()
        elif j + 1 < n and _is_code(norms[j + 1]) and len(seps[j + 1]) <= 3:
            code = norms[j + 1].upper()
        before = text[ends[2 * i - 1]:ends[2 * i]] if i > 0 else ""  # as written (seps are folded: ’ → ?)
        article = i > 0 and norms[i - 1] in ARTICLES_BEFORE and before.strip() in ("", "'", "\u2019")
        initial = i == 0 or any(ch in _SENTENCE_END for ch in before)
        out.append(Mention(source, key, surf, capitalised, cue, blocked, code, article, initial))
    return out


def scan_tags(gaz: Gazetteer, tags: Iterable[str] | None) -> list[Mention]:
    """Tags match only as a whole: the tag ``saint-malo`` names Saint-Malo, ``fete-de-la-musique`` nothing.

    Examples
    --------
    >>> gaz = Gazetteer.build(
    ...     [{"code": "35288", "nom": "Saint-Malo", "type": "commune-actuelle", "departement": "35",
    ...       "region": "53"}], [], [], [])
    >>> [(m.key, m.surface) for m in scan_tags(gaz, ["saint-malo", "plages-de-saint-malo", "st malo"])]
    [('saint malo', 'saint-malo'), ('saint malo', 'st malo')]
    """
    out = []
    if tags is None:
        return out
    for tag in tags:
        k = norm_name(tag)
        if k in gaz.aliases:
            out.append(Mention("tags", k, tag, True))
    return out


