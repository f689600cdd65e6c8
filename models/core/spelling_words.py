"""The words a spelling correction may propose: the catalogue's titles and tags, counted, their
forms that differ by accents or case merged, kept when their keyword stem is frequent enough
(:mod:`models.serve.spelling` corrects queries with them). Pure: the build's ``serving`` step
keeps the vocabulary of the whole catalogue (~0.9 s at each start otherwise).

Examples
--------
>>> v = vocabulary(["Bibliothèques de Lyon", "Bibliothèque municipale"] * 6, [["bibliotheques"]] * 12)
>>> v["word"].tolist(), v["count"].tolist(), v["stem_count"].tolist()  # « municipale »: 6 titles only
(['bibliothèque', 'bibliothèques'], [6, 18], [24, 24])
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from models.core.text import fold, keyword_terms

MIN_COUNT = 10  # a correction's stem is in at least this many titles or tag lists (forms summed)
MIN_LETTERS = 4
MARKS = "\u0300-\u036f"  # combining accents: a title written decomposed (« De\u0301livrance ») is one word
WORD = re.compile(rf"[^\W_][{MARKS}]*(?:[\w{MARKS}-]*[^\W_][{MARKS}]*)?")  # apostrophes split
COLUMNS = ("word", "count", "stem_count", "folded")


def vocabulary(titles: Iterable[str], tag_lists: Iterable) -> pd.DataFrame:
    """The correction vocabulary of a catalogue (:func:`catalogue_words`, then
    :func:`vocabulary_of`): columns ``word``, ``count``, ``stem_count``, ``folded``.

    >>> vocabulary(["Accidents de la route"] * 10, [None] * 10)["word"].tolist()
    ['accidents', 'route']
    """
    return vocabulary_of(*catalogue_words(titles, tag_lists))


def vocabulary_of(words: Sequence[str], counts: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """The words worth proposing among ``words`` (with the titles or tag lists holding each):
    at least :data:`MIN_LETTERS` letters, no digit; forms that differ by accents or case merged
    (shown as the most frequent one), kept when the forms of their keyword stem together are in
    at least :data:`MIN_COUNT` titles or tag lists. Columns ``word``, ``count`` (the merged
    forms'), ``stem_count`` (the stem's) and ``folded`` (lower case, accents folded).

    >>> vocabulary_of(["Route", "route", "routes", "rue"], [6, 3, 1, 40]).values.tolist()
    [['Route', 9, 10, 'route'], ['routes', 1, 10, 'routes']]
    """
    pairs = [(str(w), int(c)) for w, c in zip(words, np.asarray(counts).tolist(), strict=True)
             if len(str(w)) >= MIN_LETTERS and WORD.fullmatch(str(w))
             and not any(ch.isdigit() for ch in str(w))]
    words, counts, folded = _merge_accents(pairs)
    stems = [" ".join(keyword_terms(f)) for f in folded]
    by_stem: Counter = Counter()
    for st, c in zip(stems, counts, strict=True):
        by_stem[st] += c
    keep = [i for i, st in enumerate(stems) if st and by_stem[st] >= MIN_COUNT]
    return pd.DataFrame({"word": [words[i] for i in keep],
                         "count": np.asarray([counts[i] for i in keep], dtype=np.int64),
                         "stem_count": np.asarray([by_stem[stems[i]] for i in keep], dtype=np.int64),
                         "folded": [folded[i] for i in keep]}, columns=list(COLUMNS))


def catalogue_words(titles: Iterable[str], tag_lists: Iterable) -> tuple[list[str], list[int]]:
    """The words of the titles and tags, lower case (NFC), and the titles and tag lists holding
    each; a tag is counted for the title word written like it but for accents (tags are slugs
    without accents: « bibliotheques » counts for « bibliothèques »).

    >>> sorted(zip(*catalogue_words(["Bibliothe\u0300ques de Lyon", "Loi de finance"],
    ...                             [["bibliotheques"], None])))
    [('bibliothèques', 2), ('de', 2), ('finance', 1), ('loi', 1), ('lyon', 1)]
    """
    titles_of: Counter = Counter()
    tags_of: Counter = Counter()
    for title, tag_list in zip(titles, tag_lists, strict=True):
        title = title.lower() if title.isascii() else unicodedata.normalize("NFC", title.lower())
        titles_of.update(set(WORD.findall(title)))
        if tag_list is not None:
            tags_of.update({str(t).lower() for t in tag_list})
    shown: dict[str, str] = {}  # folded -> its most frequent form in titles
    for w, c in sorted(titles_of.items()):  # sorted: ties go the same way in every process
        f = _fold(w)
        if f not in shown or c > titles_of[shown[f]]:
            shown[f] = w
    counts = Counter(titles_of)
    for t, c in tags_of.items():
        if WORD.fullmatch(t):
            counts[shown.get(_fold(t), t)] += c
    words = sorted(counts)  # not set order, which changes from one process to the next
    return words, [counts[w] for w in words]


def _merge_accents(pairs: Iterable[tuple[str, int]]) -> tuple[list[str], list[int], list[str]]:
    """The words (with their counts) that differ by accents or case only merged, their counts
    summed, shown as the most frequent one (« finance » rather than « financé »): (shown words,
    counts, folded words)."""
    merged: dict[str, list] = {}  # folded -> [shown, count, count of shown]
    for w, c in pairs:
        m = merged.get(f := _fold(w))
        if m is None:
            merged[f] = [w, c, c]
            continue
        m[1] += c
        if c > m[2]:
            m[0], m[2] = w, c
    return [m[0] for m in merged.values()], [m[1] for m in merged.values()], list(merged)


def _fold(word: str) -> str:
    """:func:`models.core.text.fold` of one word (no apostrophe), without its cost on plain ASCII."""
    return word.lower() if word.isascii() else fold(word)
