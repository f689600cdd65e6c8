"""Does a dataset answer the question? A calibrated confidence, and requests that are not about
data at all (« Traduis "bonjour" en anglais », « Combien font 12 fois 8 ? »).

Two parts, both cheap at query time:

* :func:`confidence_features` — four numbers from what the search already computes:

  ``best_cosine``    the best raw cosine of the query to any dataset (``semantic_sims``, cached);
  ``cosine_margin``  that best cosine minus the 100th best (a query about nothing in particular
                     is about as close to its 100th neighbour as to its first);
  ``known_terms``    the share of the query's index terms (:func:`models.core.text.keyword_terms`)
                     that the keyword index knows;
  ``keyword_ratio``  the best keyword score over the best score the query could reach
                     (:meth:`KeywordSearcher.max_score`): 1 when one dataset holds every term.

  A logistic model turns them into ``P(a dataset answers)``. It is fitted by
  ``scripts/tools/fit_confidence.py`` on the labelled queries (answered = an expected dataset in the
  hybrid top 10), the dialogue topics, and ``tests/data/offtopic.csv`` (off-topic prompts and
  data questions the catalogue cannot answer = not answered); its coefficients and threshold
  are in ``confidence_params.json`` next to this module, read once. Without that file
  (or with a broken one) the confidence is unknown: a warning is logged and every query
  « fits », which is the behaviour before this module.
* :func:`off_topic_kind` — clear French wording of a request that is not a search for data
  (translation, arithmetic, poems / stories / jokes, recipes, general knowledge, chit-chat,
  code, personal advice). Conservative: it fires on none of the labelled queries nor dialogue
  turns, and a request is called off-topic only when that wording is there **and** the
  confidence is below ``off_topic_threshold`` (« Pourquoi les loyers augmentent-ils ? » stays
  a data question when the catalogue answers it) — except « strong » wording that is never a
  search for data (a calculation between numbers, a greeting or thanks alone, a question to the
  assistant about itself), off-topic whatever the confidence: on the full catalogue such short
  prompts meet junk datasets at high cosines (« Quel âge as-tu ? » scores 0.95). The patterns
  are bounded (no nested repetition) and read at most :data:`MAX_CHARS` characters: linear in
  the input.

:func:`assess` combines both for the assistant and the search results header.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.core.text import fold, keyword_terms

log = logging.getLogger(__name__)

PARAMS_PATH = Path(__file__).with_name("confidence_params.json")
FEATURES = ("best_cosine", "cosine_margin", "known_terms", "keyword_ratio")
MARGIN_RANK = 100  # the margin is over the 100th best cosine
MAX_CHARS = 500  # the patterns read the first 500 characters (the assistant reads no more)


# ---------------------------------------------------------------------------------------------
# off-topic wording
# ---------------------------------------------------------------------------------------------
_LANG = (r"(?:anglais|allemand|espagnol|italien|portugais|chinois|japonais|russe|arabe|neerlandais"
         r"|latin|grec|breton|occitan|corse|basque|alsacien|francais)")
_PROG = r"(?:python|javascript|java|typescript|php|ruby|rust|golang|kotlin|swift|sql|c\+\+|html|css|bash)"
_WRITE = (r"(?:ecri[st]|ecrivez|ecrire|redige[sz]?|rediger|compose[sz]?|composer|invente[sz]?|inventer"
          r"|imagine[sz]?|genere[sz]?|fais|faites)(?:-moi|-nous| moi| nous)?")
_FOOD = (r"(?:gateau|pate|crepe|tarte|quiche|soupe|sauce|pain|omelette|mayonnaise|vinaigrette|confiture"
         r"|cookie|biscuit|risotto|pizza|puree|mousse|ratatouille|blanquette|gratin|salade|flan|clafoutis)")
_GAP = r"(?:\W+[\w'-]+){0,5}?\W+"  # up to five words in between (bounded: linear)

# Wording that is never a search for data, whatever the confidence: on the full catalogue a short
# prompt meets a junk dataset (« kezako ? ») at a high cosine — « Quel âge as-tu ? » scores 0.95.
_SMALL_TALK = (r"\b(?:comment (?:vas-tu|allez-vous|tu vas|ca va)|ca va\s*\?|qui es-tu|qui etes-vous|tu es qui"
               r"|tu t'appelles|comment t'appelles-tu|quel age as-tu|tu as quel age|sens de la vie"
               r"|je m'ennuie|tu m'aimes|parle-moi de toi|(?:tu es|es-tu|t'es) (?:un|une) (?:robot|humain"
               r"|ia|machine|intelligence|personne|chatbot|bot))\b|\bparle-moi\W*$")
# (kind, pattern) on the folded text (lower case, no accents, ’ → '); the first match gives the kind
_PATTERNS: tuple[tuple[str, re.Pattern], ...] = tuple((k, re.compile(p)) for k, p in (
    # code first: « écris une fonction Python » is code, not a poem
    ("code", rf"\b(?:programme|fonction|script|code|variable|boucle|requete|algorithme|classe|regex)\b"
             rf"{_GAP}(?:en |avec )?{_PROG}(?![\w+])"),
    ("code", rf"(?<![\w+]){_PROG}(?![\w+]){_GAP}(?:programme|fonction|script|code|variable|boucle"
             rf"|requete|algorithme|classe)\b"),
    ("code", r"\bexpressions? regulieres?\b|\b(?:corrige|debogue|debugge?)[sz]?\b(?:\W+[\w'-]+){0,3}?"
             r"\W+code\b"),
    ("translation", r"\btradui(?:s|sez|re|sons|t)\b|\btraduction (?:de|du|des|d')\W"),
    ("translation", r"\bcomment (?:dit-on|on dit|dire|se dit)\b|\b(?:que|qu'est-ce que) "
                    r"(?:veut dire|signifie)\s*[«'\"]"),
    ("translation", rf"\bdire\b{_GAP}en {_LANG}\b"),
    ("arithmetic", r"\d\s*(?:[x×*+÷^]|fois|plus|moins|divise par|multiplie par|puissance)\s*\d"),
    ("arithmetic", r"\b(?:combien (?:font|fait|vaut|egale?)|calcule[rz]?|resultat de)\W+\d"),
    ("arithmetic", r"\b(?:equation|resous|resoudre|racine carree|au carre)\b|\d\s*=|=\s*\?"),
    ("creative", rf"\b{_WRITE}{_GAP}(?:poemes?|poesies?|haikus?|sonnets?|histoires?|contes?|chansons?"
                 r"|blagues?|lettres?|discours|dissertations?|redactions?|slogans?|recits?|fables?"
                 r"|devinettes?|rap|nouvelles?|textes?)\b"),
    ("creative", r"\braconte[sz]?(?:-moi|-nous| moi| nous)\b|\b(?:blagues?|devinettes?|calembours?)\b"),
    ("recipe", r"\brecette (?:de|du|des|d')\W|\b(?:cuire|cuisiner|cuisson)\b|\b(?:faire|reussir|preparer) "
               rf"(?:un|une|des|le|la|les|du|de la|l') ?{_FOOD}s?\b"),
    ("general", r"\bqui a (?:ecrit|peint|invente|compose|decouvert|realise|construit|fonde|gagne|chante"
                r"|dit)\b|\bqui etait\b|\bcapitale (?:de|du|des|d')\W|\bquand (?:est|a) (?:ne|nee|mort"
                r"|morte|decede)\b|\ben quelle annee\b|^\W*pourquoi\b|\bdistance entre\b|\bcombien de "
                r"(?:pattes|dents|os|planetes|continents|oceans|etoiles)\b"),
    ("chitchat", _SMALL_TALK),
    ("chitchat", r"^\W*(?:tu es|t'es|es-tu)\b"),
    ("advice", r"\b(?:dois-je|devrais-je|faut-il que je|est-ce que je (?:dois|devrais))\b"
               r"|\b(?:conseille|recommande)[sz]?-moi\b|\bme (?:conseilles|conseillez|recommandes"
               r"|recommandez)\b|\bcomment (?:arreter de|perdre du poids|maigrir|mieux dormir|seduire"
               r"|devenir riche)\b|\bquel(?:le)? (?:cadeau|film|livre|serie) (?:offrir|regarder|lire"
               r"|choisir)\b|\bje (?:suis|me sens) (?:triste|deprimee?|seule?|stressee?|malheureuse?)\b"),
))
_STRONG = re.compile(_SMALL_TALK + r"|\d\s*(?:[x×*+÷^]|fois|plus|moins|divise par|multiplie par)\s*\d"
                     r"|\b(?:combien (?:font|fait|vaut|egale?)|calcule[rz]?)\W+\d")
# a message made only of greetings and thanks (« Bonjour », « Merci, au revoir ! »)
_CHAT_WORDS = frozenset("""bonjour bonsoir salut coucou hello hey merci beaucoup au revoir bonne
journee soiree nuit a toi vous plus tard ca va comment vas-tu allez-vous tres bien et""".split())
_CHAT_LEAD = frozenset("bonjour bonsoir salut coucou hello hey merci revoir".split())
_FOLD_WORDS = re.compile(r"[a-z0-9'-]+")


def _folded(text: str) -> str:
    return " ".join(fold(str(text)[:MAX_CHARS].replace("’", "'"), elisions=False).split())


def off_topic_wording(text: str | None) -> tuple[str, bool] | None:
    """``(kind, strong)`` of a non-data request, or None. ``kind``: ``translation``,
    ``arithmetic``, ``creative``, ``recipe``, ``general``, ``chitchat``, ``code``, ``advice``;
    ``strong``: wording that is never a search for data (a calculation between numbers, a
    greeting or thanks alone, a question to the assistant about itself): off-topic whatever
    the confidence. Other wording is off-topic only when no dataset answers (:func:`assess`).

    Examples
    --------
    >>> off_topic_wording("Traduis 'bonjour' en anglais")
    ('translation', False)
    >>> off_topic_wording("Combien font 12 fois 8 ?")
    ('arithmetic', True)
    >>> off_topic_wording("Combien de passagers prennent l'avion ?") is None
    True
    """
    if not text:
        return None
    t = _folded(text)
    words = _FOLD_WORDS.findall(t)
    if words and len(words) <= 8 and set(words) <= _CHAT_WORDS and set(words) & _CHAT_LEAD:
        return ("chitchat", True)
    for kind, pattern in _PATTERNS:
        if pattern.search(t):
            return (kind, bool(_STRONG.search(t)))
    return None


def off_topic_kind(text: str | None) -> str | None:
    """The kind of :func:`off_topic_wording`, or None.

    Examples
    --------
    >>> off_topic_kind("Écris un poème sur la mer")
    'creative'
    >>> off_topic_kind("Où sont les musées ?") is None
    True
    """
    w = off_topic_wording(text)
    return w[0] if w else None


# ---------------------------------------------------------------------------------------------
# features and the logistic model
# ---------------------------------------------------------------------------------------------
def confidence_features(engine, query: str, *, keyword_scores: np.ndarray | None = None) -> np.ndarray:
    """The model's features (:data:`FEATURES`) for a cleaned query, as the search sees it.

    ``keyword_scores``: the keyword scores of every dataset when the caller has them (``-inf``
    or 0 = no match), else computed here (one sparse product).

    Examples
    --------
    A stand-in engine: two datasets, one keyword term known.

    >>> from types import SimpleNamespace
    >>> kw = SimpleNamespace(term_id={"piscin": 0}, max_score=lambda q: 2.0,
    ...                      scores=lambda q: np.array([1.5, 0.0]))
    >>> engine = SimpleNamespace(semantic_sims=lambda q: np.array([0.86, 0.80]), keyword=kw)
    >>> dict(zip(FEATURES, confidence_features(engine, "piscines").round(2).tolist()))
    {'best_cosine': 0.86, 'cosine_margin': 0.06, 'known_terms': 1.0, 'keyword_ratio': 0.75}
    """
    sims = np.asarray(engine.semantic_sims(query), dtype=np.float32)
    if not len(sims):
        return np.zeros(len(FEATURES))
    best = float(sims.max())
    k = min(MARGIN_RANK, len(sims)) - 1
    kth = float(np.partition(sims, len(sims) - 1 - k)[len(sims) - 1 - k])
    kw = engine.keyword
    terms = keyword_terms(query)
    known = sum(t in kw.term_id for t in terms) / len(terms) if terms else 0.0
    top = kw.max_score(query)
    if top > 0:
        sc = kw.scores(query) if keyword_scores is None else np.asarray(keyword_scores)
        finite = sc[np.isfinite(sc)] if len(sc) else sc
        ratio = min(1.0, max(0.0, float(finite.max()) / top)) if len(finite) else 0.0
    else:
        ratio = 0.0
    return np.array([best, best - kth, known, ratio], dtype=np.float64)


@dataclass(frozen=True)
class ConfidenceModel:
    """``P(answered) = 1 / (1 + exp(-(b + Σ w_i (x_i − mean_i) / scale_i)))``; ``threshold``:
    below it no dataset answers; ``off_topic_threshold``: below it a request worded as
    off-topic is off-topic; ``model_id``: the embedding model of the build it was fitted on (its
    cosines mean nothing for another model: :func:`assess` then says « unknown »).

    Examples
    --------
    >>> m = ConfidenceModel.from_dict({"features": list(FEATURES), "weights": [10, 0, 0, 0], "bias": 0,
    ...                                "mean": [0.8, 0, 0, 0], "scale": [1, 1, 1, 1], "threshold": 0.5,
    ...                                "off_topic_threshold": 0.9})
    >>> round(m.probability([0.86, 0.06, 1.0, 0.75]), 3), m.to_dict()["weights"]
    (0.646, [10.0, 0.0, 0.0, 0.0])
    >>> ConfidenceModel.from_dict({**m.to_dict(), "scale": [0, 1, 1, 1]})
    Traceback (most recent call last):
    ...
    ValueError: non-finite coefficient or non-positive scale
    """

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.5
    off_topic_threshold: float = 0.9
    model_id: str | None = None
    features: tuple[str, ...] = FEATURES
    meta: dict | None = None

    @classmethod
    def from_dict(cls, d: dict) -> ConfidenceModel:
        feats = tuple(d["features"])
        if feats != FEATURES:
            raise ValueError(f"features {feats} are not {FEATURES}")
        m = cls(weights=tuple(float(x) for x in d["weights"]), bias=float(d["bias"]),
                mean=tuple(float(x) for x in d["mean"]), scale=tuple(float(x) for x in d["scale"]),
                threshold=float(d["threshold"]), off_topic_threshold=float(d["off_topic_threshold"]),
                model_id=d.get("model_id"), features=feats, meta=d.get("meta"))
        if not (len(m.weights) == len(m.mean) == len(m.scale) == len(FEATURES)):
            raise ValueError("weights, mean and scale must have one value per feature")
        if not all(math.isfinite(x) for x in (*m.weights, m.bias, *m.mean, *m.scale)) or min(m.scale) <= 0:
            raise ValueError("non-finite coefficient or non-positive scale")
        return m

    def to_dict(self) -> dict:
        return {"features": list(self.features), "weights": list(self.weights), "bias": self.bias,
                "mean": list(self.mean), "scale": list(self.scale), "threshold": self.threshold,
                "off_topic_threshold": self.off_topic_threshold, "model_id": self.model_id,
                "meta": self.meta or {}}

    def probability(self, x) -> float:
        """P(a dataset answers) for one feature vector.

        Examples
        --------
        >>> m = ConfidenceModel((2.0, 0, 0, 0), 0.0, (0.8, 0, 0, 0), (0.05, 1, 1, 1))
        >>> round(m.probability([0.8, 0, 0, 0]), 2)
        0.5
        """
        z = self.bias + sum(w * (float(v) - m) / s
                            for w, v, m, s in zip(self.weights, x, self.mean, self.scale, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


_LOADED: dict[str, ConfidenceModel | None] = {}
_LOAD_LOCK = threading.Lock()


def load_model(path: str | Path | None = None) -> ConfidenceModel | None:
    """The fitted model (read once per path), or None with a warning when the file is missing
    or unreadable: the confidence is then unknown.

    Examples
    --------
    >>> load_model("/nonexistent.json") is None
    True
    """
    p = str(path or PARAMS_PATH)
    with _LOAD_LOCK:
        if p in _LOADED:
            return _LOADED[p]
        try:
            model = ConfidenceModel.from_dict(json.loads(Path(p).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("no answer confidence (%s: %s): every query is taken as answered", p, exc)
            model = None
        _LOADED[p] = model
        return model


_WARNED: set = set()


def _same_space(engine, m: ConfidenceModel) -> bool:
    """The build was embedded with the model the confidence was fitted for (or it says none)."""
    if m.model_id is None:
        return True
    built = engine.model_id
    if built == m.model_id:
        return True
    if (built, m.model_id) not in _WARNED:
        _WARNED.add((built, m.model_id))
        log.warning("answer confidence fitted for %s, the build is embedded with %s: confidence "
                    "unknown (refit with scripts/tools/fit_confidence.py)", m.model_id, built)
    return False


@dataclass(frozen=True)
class Assessment:
    """``score``: P(a dataset answers), NaN when unknown; ``fits``: score ≥ threshold (True when
    unknown); ``off_topic``: the request is not about data; ``kind``: its off-topic wording.

    Examples
    --------
    >>> UNKNOWN  # no model, or a model fitted for another embedding
    Assessment(score=nan, fits=True, off_topic=False, kind=None)
    """

    score: float
    fits: bool
    off_topic: bool
    kind: str | None = None


UNKNOWN = Assessment(float("nan"), True, False, None)


def assess(engine, query: str, *, text: str | None = None, keyword_scores: np.ndarray | None = None,
           model: ConfidenceModel | bool | None = True) -> Assessment:
    """How well the catalogue answers ``query`` (the cleaned text the search searched — pass
    the spelling-corrected one: its sentence vector is then already cached), and whether
    ``text`` (the words as typed, default ``query``) is an off-topic request.

    ``model``: True = the fitted one (:func:`load_model`), None or False = none (unknown),
    or a :class:`ConfidenceModel`. Cost beyond the search: a max and a partition over the
    cached cosines, and the keyword product unless ``keyword_scores`` is given.

    Examples
    --------
    A stand-in engine (as in :func:`confidence_features`) and a one-feature model:

    >>> from types import SimpleNamespace
    >>> kw = SimpleNamespace(term_id={"piscin": 0}, max_score=lambda q: 2.0,
    ...                      scores=lambda q: np.array([1.5, 0.0]))
    >>> engine = SimpleNamespace(semantic_sims=lambda q: np.array([0.86, 0.80]), keyword=kw, model_id=None)
    >>> m = ConfidenceModel((10.0, 0, 0, 0), 0.0, (0.8, 0, 0, 0), (1, 1, 1, 1))
    >>> a = assess(engine, "piscines", model=m)
    >>> round(a.score, 3), a.fits, a.off_topic
    (0.646, True, False)
    >>> a = assess(engine, "Combien font 12 fois 8 ?", model=m)  # off-topic whatever the score
    >>> a.fits, a.off_topic, a.kind
    (False, True, 'arithmetic')
    >>> assess(engine, "piscines", model=None) is UNKNOWN
    True
    """
    m = load_model() if model is True else (model or None)
    if m is None or not (query or "").strip() or not _same_space(engine, m):
        return UNKNOWN
    try:
        x = confidence_features(engine, query, keyword_scores=keyword_scores)
    except Exception:  # a bonus: never let it break a search
        log.exception("answer confidence failed")
        return UNKNOWN
    score = m.probability(x)
    wording = off_topic_wording(query if text is None else text)
    kind, strong = wording or (None, False)
    off = kind is not None and (strong or score < m.off_topic_threshold)
    return Assessment(score, score >= m.threshold and not off, off, kind)
