"""Spelling of a search query against the catalogue's own words: a suggestion when the query
finds something as typed, a replacement only when it finds nothing — and never for a real word.

A word is left alone when it is a word (any of these):

* a French form (simplemma's French dictionary, accents folded: the build's
  ``territory_lexicon.npy`` or :func:`models.core.geo.french_lexicon`), or a plural whose singular
  is one — « recharger », « docteurs », « brule », « respire », « veux »;
* a word of the catalogue: each of its keyword stems is in at least one dataset's title, tags,
  producer or description (:mod:`models.pipeline.keyword_index` indexes those four fields) —
  « Ciqual », « Beauty »;
* a name: a capitalised word after the query's first word (« Open Beauty Facts »), a word with a
  capital inside (« SIRET », « OpenData »: acronyms, brands), a place of the gazetteer, or a span
  the caller protects (the places and producers the query names);
* short (fewer than :data:`MIN_LETTERS` letters), long (more than :data:`MAX_LETTERS`), with a
  digit, or between double quotes (« "cicrulation" » is searched as typed).

Any other word is unknown; its correction is the closest word of the catalogue's titles and tags
— one edit for words of up to :data:`SHORT_WORD` letters, two for longer ones (optimal string
alignment: a letter dropped, added, replaced, or two adjacent letters swapped; accents and case
ignored) — whose keyword stem is in at least :data:`MIN_COUNT` titles or tag lists (its forms
together: « déppartements » → « départements » even where « département » is more frequent); the
closest wins, then the most frequent stem, then the most frequent form; none within reach: the
word stays.

What happens to the corrections depends on what the query finds as typed:

* some other content word of the query is in the catalogue (the keyword search has results):
  the query is searched as typed and the corrected query is only *suggested*
  (``Correction.suggestion``, « Vouliez-vous dire … ? »);
* no content word is (the keyword search finds nothing): the corrected query is searched
  (``Correction.text``, ``Correction.changes``) and the page offers the typed one
  (``Correction.verbatim``: the replaced words between double quotes, so it is searched as typed).

Linear in the query: a few hash look-ups per word, at most :data:`MAX_LOOKUPS` fuzzy searches
(distinct unknown words; the words after are kept).

Examples
--------
>>> sp = SpellingCorrector(["circulation", "accidents", "route"], [500, 900, 800],
...                        df_of=lambda w: 100 if w.lower() in {"circulation", "accidents", "route"} else 0)
>>> c = sp.correct("accidents de la cicrulation")
>>> c.text, c.changes, c.suggestion
('accidents de la cicrulation', [], 'accidents de la circulation')
>>> c = sp.correct("cicrulation")
>>> c.text, c.changes, c.verbatim
('circulation', [('cicrulation', 'circulation')], '"cicrulation"')
>>> sp.correct('"cicrulation"').text
'"cicrulation"'
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.core import serving
from models.core.geo import Lexicon, french_lexicon, norm_name
from models.core.spelling_words import MIN_COUNT, MIN_LETTERS, catalogue_words, vocabulary, vocabulary_of  # noqa: F401
from models.core.spelling_words import WORD as _WORD
from models.core.text import fold, fold_accents, keyword_terms

log = logging.getLogger(__name__)

MAX_LETTERS = 30  # longer: not a mistyped word (and no catalogue word is within two edits)
SHORT_WORD = 5  # up to this many letters: one edit; longer: two
MAX_LOOKUPS = 5  # fuzzy searches per query: distinct unknown words (the words after stay)
_PIECE = re.compile(r"[^\W_]+")  # what the keyword index sees as one word (hyphens split)
_QUOTED = re.compile(r"\"[^\"]*\"|«[^»]*»|“[^”]*”")


@dataclass
class Correction:
    """What the spelling makes of a query.

    ``text``: the query as searched — ``original`` unless its words were replaced (``changes``,
    ``(typed, corrected)``: the query as typed found nothing); ``verbatim``: then, the typed query
    with the replaced words between double quotes (searching it keeps them as typed).
    ``suggestion``: the corrected query offered but not searched (the query as typed found
    something), its words in ``suggested``.

    Examples
    --------
    >>> Correction("eau", "eau").changed
    False
    >>> c = Correction("cicrulation", "circulation", [("cicrulation", "circulation")],
    ...                verbatim='"cicrulation"')
    >>> c.changed, c.suggestion
    (True, None)
    """

    original: str
    text: str
    changes: list[tuple[str, str]] = field(default_factory=list)
    suggestion: str | None = None
    suggested: list[tuple[str, str]] = field(default_factory=list)
    verbatim: str = ""

    @property
    def changed(self) -> bool:
        """The searched text is not the typed one."""
        return bool(self.changes)


class SpellingCorrector:
    """Suggests or applies corrections of the unknown words of a query (module docstring).

    ``words``, ``counts``: the catalogue's words and the titles or tag lists holding each (the
    corrections, :data:`MIN_COUNT` for the forms of a stem together), or ``words`` a vocabulary
    already made (:func:`models.core.spelling_words.vocabulary`) and ``counts`` None; ``df_of``: the datasets
    holding a word (the fewest over its keyword stems, 0 if one is in none); ``lexicon``:
    accent-folded lower-case French forms (``in``); ``is_name``: whether a word is a place name
    (the gazetteer).

    Examples
    --------
    >>> sp = SpellingCorrector(["circulation", "accidents", "route"], [500, 900, 800],
    ...                        df_of=lambda w: 100 if w.lower() in {"circulation", "accidents"} else 0,
    ...                        lexicon={"voiture"})
    >>> sp.is_known("SIRET"), sp.is_known("voitures"), sp.is_known("cicrulation")  # an acronym, a plural
    (True, True, False)
    >>> sp.closest("Cicrulation"), sp.closest("zzzzzz"), sp.finds("accidents xyz")
    ('Circulation', None, True)
    """

    def __init__(self, words: Sequence[str] | pd.DataFrame, counts: Sequence[int] | np.ndarray | None,
                 df_of: Callable[[str], int], *, lexicon: Container[str] = frozenset(),
                 is_name: Callable[[str], bool] | None = None) -> None:
        from rapidfuzz.distance import OSA  # noqa: F401 (fail early when missing)

        vocab = words if isinstance(words, pd.DataFrame) else vocabulary_of(words, counts)
        self.words = [str(w) for w in vocab["word"].tolist()]
        self.counts = np.asarray(vocab["count"], dtype=np.int64)
        self.stem_counts = np.asarray(vocab["stem_count"], dtype=np.int64)
        self.folded = [str(f) for f in vocab["folded"].tolist()]
        self.df_of = df_of
        self.lexicon = lexicon
        self.is_name = is_name
        by_len: dict[int, list[int]] = {}
        for i, f in enumerate(self.folded):
            by_len.setdefault(len(f), []).append(i)
        self.by_len = {n: np.asarray(ix, dtype=np.int64) for n, ix in by_len.items()}
        self._pools: dict[int, tuple[np.ndarray, list[str]]] = {}

    @classmethod
    def from_build(cls, artifacts, *, keyword: Callable, gazetteer: Callable) -> SpellingCorrector | None:
        """From a build's titles and tags (:func:`catalogue_words`), its keyword index (None
        without one), the French lexicon and the gazetteer's names. About 1.4 s on the full
        catalogue (70,575 datasets, the gazetteer already loaded; 1.2 s before suggestions).
        ``keyword`` (→ :class:`models.serve.keyword.KeywordSearcher`) and ``gazetteer``
        (→ :class:`models.core.geo.Gazetteer` or None) are called once here."""
        if not artifacts.has("keyword_vocab.parquet"):
            return None
        vocab = serving.read(artifacts, "spelling")  # kept by the build's serving step
        if vocab is None:
            ds = artifacts.datasets
            tags = ds["tags"].tolist() if "tags" in ds else [None] * len(ds)
            vocab = vocabulary(ds["title"].fillna("").astype(str).tolist(), tags)
        kw = keyword()
        df = np.diff(np.asarray(kw.matrix.indptr))

        def df_of(word: str) -> int:
            terms = keyword_terms(word)
            return min((int(df[i]) if (i := kw.term_id.get(t)) is not None else 0 for t in terms),
                       default=0)

        return cls(vocab, None, df_of, lexicon=_lexicon_of(artifacts), is_name=_names_of(gazetteer))

    # ---- what a word is ------------------------------------------------------------------
    def is_french(self, word: str) -> bool:
        """A French form (or a plural whose singular is one), each part of a hyphenated word."""
        f = fold_accents(word).lower()
        if f in self.lexicon:
            return True
        parts = [p for p in f.split("-") if p]
        return bool(parts) and all(p in self.lexicon or (p[-1] in "sx" and p[:-1] in self.lexicon)
                                   for p in parts)

    def is_known(self, word: str, first: bool = False) -> bool:
        """Whether ``word`` is a word to keep as typed (module docstring); ``first``: it is the
        query's first word (a capital there is no sign of a name)."""
        if len(word) < MIN_LETTERS or len(word) > MAX_LETTERS or any(ch.isdigit() for ch in word):
            return True
        if any(ch.isupper() for ch in word[1:]) or (word[0].isupper() and not first):
            return True  # an acronym, a brand, a proper noun
        if not keyword_terms(word):
            return True  # a stop word
        if self.is_french(word) or self.df_of(word) > 0:
            return True
        return bool(self.is_name and self.is_name(word))

    def finds(self, query: str) -> bool:
        """Whether the keyword search finds something for ``query`` as typed: one of its
        content words is in the catalogue."""
        return any(keyword_terms(p) and self.df_of(p) > 0 for p in _PIECE.findall(query))

    def closest(self, word: str) -> str | None:
        """The frequent catalogue word within reach of ``word`` (module docstring), or None."""
        f = fold(word.lower())
        maxd = 1 if len(f) <= SHORT_WORD else 2
        ix, pool = self._pool(len(f), maxd)
        if not pool:
            return None
        from rapidfuzz import process  # lazy: loaded with the first correction
        from rapidfuzz.distance import OSA

        best: tuple[int, int, int, int] | None = None  # (distance, -stem count, -count, index)
        for _, d, j in process.extract(f, pool, scorer=OSA.distance, score_cutoff=maxd, limit=None):
            i = int(ix[j])
            key = (int(d), -int(self.stem_counts[i]), -int(self.counts[i]), i)
            if d > 0 and (best is None or key < best):
                best = key
        if best is None:
            return None
        out = self.words[best[3]]
        return out.capitalize() if word[:1].isupper() else out

    def _pool(self, n: int, maxd: int) -> tuple[np.ndarray, list[str]]:
        """The catalogue words of ``n - maxd`` to ``n + maxd`` letters (cached per length)."""
        key = n * 4 + maxd
        if key not in self._pools:
            parts = [self.by_len[m] for m in range(n - maxd, n + maxd + 1) if m in self.by_len]
            ix = np.concatenate(parts) if parts else np.empty(0, np.int64)
            self._pools[key] = (ix, [self.folded[i] for i in ix])
        return self._pools[key]

    # ---- a query ---------------------------------------------------------------------------
    def correct(self, query: str, protected: Iterable[tuple[int, int]] = ()) -> Correction:
        """The :class:`Correction` of ``query``; its quoted parts and the ``protected`` spans
        (character offsets) are kept as typed."""
        q = query or ""
        spans = [(m.start(), m.end()) for m in _QUOTED.finditer(q)] + list(protected)
        edits: list[tuple[int, int, str, str]] = []
        found: dict[str, str | None] = {}  # unknown word -> its correction (one search per word)
        for n, m in enumerate(_WORD.finditer(q)):
            word = m.group(0)
            if any(a < m.end() and m.start() < b for a, b in spans) or self.is_known(word, n == 0):
                continue
            if word not in found:
                if len(found) >= MAX_LOOKUPS:
                    break
                found[word] = self.closest(word)
            new = found[word]
            if new and new.lower() != word.lower():
                edits.append((m.start(), m.end(), word, new))
        if not edits:
            return Correction(q, q)
        fixed = _splice(q, [(a, b, new) for a, b, _, new in edits])
        pairs = [(word, new) for _, _, word, new in edits]
        if self.finds(q):
            return Correction(q, q, suggestion=fixed, suggested=pairs)
        verbatim = _splice(q, [(a, b, f'"{word}"') for a, b, word, _ in edits])
        return Correction(q, fixed, changes=pairs, verbatim=verbatim)


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with the spans ``(start, end)`` (in order, disjoint) replaced."""
    out, pos = [], 0
    for a, b, new in edits:
        out += [text[pos:a], new]
        pos = b
    out.append(text[pos:])
    return "".join(out)


def _lexicon_of(artifacts) -> Container[str]:
    """The build's French lexicon (``territory_lexicon.npy``), else simplemma's (~0.8 s)."""
    try:
        if artifacts.has("territory_lexicon.npy"):
            return Lexicon(artifacts.npy("territory_lexicon.npy", mmap=False))
        return french_lexicon()
    except Exception:  # the lexicon protects words: without it, the catalogue's words still do
        log.exception("French lexicon unavailable for spelling")
        return frozenset()


def _names_of(gazetteer: Callable) -> Callable[[str], bool] | None:
    """Whether a word is a place name of the build's gazetteer (None without one)."""
    try:
        gaz = gazetteer()
    except Exception:
        log.exception("gazetteer unavailable for spelling")
        return None
    if gaz is None:
        return None
    aliases = gaz.aliases
    return lambda word: norm_name(word) in aliases
