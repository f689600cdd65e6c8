"""Spelling correction of a search query against the catalogue's own words.

A query word is corrected only when the catalogue hardly knows it — its keyword stem occurs in
fewer than :data:`KNOWN_DF` datasets and the word itself is not a frequent catalogue word — and a
catalogue word lies within one edit (words of up to :data:`SHORT_WORD` letters) or two edits
(longer words; optimal string alignment: a deletion, an insertion, a substitution or a swap of two
adjacent letters, accents and case ignored) and is frequent (at least :data:`MIN_COUNT`
occurrences and :data:`RATIO` times the typo's own frequency: the catalogue has its own typos,
« assocaition » is in a few datasets, « associations » in hundreds of titles). The closest candidate wins,
then the most frequent.

Never corrected: words of fewer than :data:`MIN_LETTERS` letters, words with a digit, words in
capitals (acronyms: « AMDAC »), words between double quotes (« "cicrulation" » is searched as
typed), and the spans the caller protects (the places and producers the query names, which the
gazetteer knows even when no dataset does).

The dictionary is the words of the build's titles and tags, each counted once per dataset, so a
correction is a real catalogue word with its accents (« cicrulation » → « circulation »,
« bilbiothèques » → « bibliothèques », « siert » → « siret »).

Examples
--------
>>> sp = SpellingCorrector(["circulation", "accidents", "route"], [500, 900, 800],
...                        df_of=lambda w: 100 if w in {"circulation", "accidents", "route"} else 0)
>>> c = sp.correct("accidents de la cicrulation")
>>> c.text, c.changes
('accidents de la circulation', [('cicrulation', 'circulation')])
>>> sp.correct('accidents de la "cicrulation"').changes
[]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from models.core.text import fold

KNOWN_DF = 20  # a stem in at least this many datasets is a word of the catalogue
MIN_COUNT = 10  # a correction is a word of at least this many titles or tag lists
RATIO = 10.0  # … and this many times more often than the typo itself
MIN_LETTERS = 4
SHORT_WORD = 5  # up to this many letters: one edit; longer: two
MAX_CHANGES = 5
_WORD = re.compile(r"[^\W_][\w-]*[^\W_]|[^\W_]")  # apostrophes split (« l'éducation »)
_QUOTED = re.compile(r"\"[^\"]*\"|«[^»]*»|“[^”]*”")


@dataclass
class Correction:
    """The query as searched (``text``) and the words changed, ``(typed, corrected)``."""

    original: str
    text: str
    changes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class SpellingCorrector:
    """Corrects the words of a query the catalogue does not know (module docstring)."""

    def __init__(self, words: Sequence[str], counts: Sequence[int] | np.ndarray,
                 df_of: Callable[[str], int]) -> None:
        from rapidfuzz.distance import OSA  # noqa: F401 (fail early when missing)

        counts = np.asarray(counts, dtype=np.int64)
        keep = [i for i, w in enumerate(words)
                if counts[i] >= MIN_COUNT and len(w) >= MIN_LETTERS and _WORD.fullmatch(w)
                and not any(ch.isdigit() for ch in w)]
        self.words = [str(words[i]) for i in keep]
        self.counts = counts[keep]
        self.folded = [fold(w) for w in self.words]
        self.count_of = {}
        for w, c in zip(words, counts, strict=True):
            f = fold(str(w))
            self.count_of[f] = max(self.count_of.get(f, 0), int(c))
        self.df_of = df_of  # datasets holding the word (its rarest keyword stem)
        by_len: dict[int, list[int]] = {}
        for i, f in enumerate(self.folded):
            by_len.setdefault(len(f), []).append(i)
        self.by_len = {n: np.asarray(ix, dtype=np.int64) for n, ix in by_len.items()}

    @classmethod
    def from_explorer(cls, exp) -> SpellingCorrector | None:
        """From a build's titles and tags (a word's count: the datasets whose title or tags hold
        it) and its keyword index (None without one). About 0.5 s on the full catalogue."""
        if not exp.artifacts.has("keyword_vocab.parquet"):
            return None
        from models.core.text import keyword_terms

        ds = exp.datasets
        counts: Counter = Counter()
        tags = ds["tags"].tolist() if "tags" in ds else [None] * len(ds)
        for title, tag_list in zip(ds["title"].fillna("").astype(str).tolist(), tags, strict=True):
            words = {w.lower() for w in _WORD.findall(title)}
            if tag_list is not None:
                words.update(str(t).lower() for t in tag_list if _WORD.fullmatch(str(t)))
            counts.update(words)
        kw = exp.keyword
        df = np.diff(np.asarray(kw.matrix.indptr))

        def df_of(word: str) -> int:
            terms = keyword_terms(word)
            if not terms:
                return KNOWN_DF  # a stop word
            return min(int(df[i]) if (i := kw.term_id.get(t)) is not None else 0 for t in terms)

        words = list(counts)
        return cls(words, [counts[w] for w in words], df_of)

    def suggest(self, word: str) -> str | None:
        """The catalogue word meant by ``word``, or None (known, protected or nothing close)."""
        if len(word) < MIN_LETTERS or any(ch.isdigit() for ch in word) or word.isupper():
            return None
        f = fold(word.lower())
        own = self.count_of.get(f, 0)
        if own >= MIN_COUNT:
            return None
        own = max(own, self.df_of(word))
        if own >= KNOWN_DF:
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        maxd = 1 if len(f) <= SHORT_WORD else 2
        pool = [self.by_len[n] for n in range(len(f) - maxd, len(f) + maxd + 1) if n in self.by_len]
        best: tuple[int, int, int] | None = None  # (distance, -count, index)
        if pool:
            ix = np.concatenate(pool)
            for _, d, j in process.extract(f, [self.folded[i] for i in ix], scorer=OSA.distance,
                                           score_cutoff=maxd, limit=None):
                i = int(ix[j])
                key = (int(d), -int(self.counts[i]), i)
                if d > 0 and (best is None or key < best):
                    best = key
        if best is None or -best[1] < RATIO * max(own, 1):
            return None
        out = self.words[best[2]]
        return out.capitalize() if word[:1].isupper() else out

    def correct(self, query: str, protected: Iterable[tuple[int, int]] = ()) -> Correction:
        """``query`` with its unknown words corrected, outside quotes and ``protected`` spans."""
        q = query or ""
        spans = [(m.start(), m.end()) for m in _QUOTED.finditer(q)] + list(protected)
        pieces, changes, pos = [], [], 0
        for m in _WORD.finditer(q):
            if len(changes) >= MAX_CHANGES:
                break
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            new = self.suggest(m.group(0))
            if new and new.lower() != m.group(0).lower():
                pieces.append(q[pos:m.start()])
                pieces.append(new)
                pos = m.end()
                changes.append((m.group(0), new))
        pieces.append(q[pos:])
        return Correction(q, "".join(pieces), changes)
