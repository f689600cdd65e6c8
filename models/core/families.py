"""Families of near-identical datasets, and one result per family.

A producer often publishes one dataset per year or per place: « Budget primitif 2019 - Commune de
Cénac », « Budget primitif 2021 - Commune de Lignan »; « Liste des monuments historiques classés
en Aquitaine » three times. Such twins fill a top 10 with one answer. Two datasets are of one
**family** when

* they have the same producer,
* their titles are equal once lower-cased, accents folded, digits removed, the place names found
  in the title removed (the ``territories`` step's title matches) and the small words dropped
  (:func:`family_keys`), and
* their sentence embeddings are close: cosine ≥ :data:`FAMILY_COSINE` (the title alone can hide
  different content: « Délibérations » of two councils of one producer).

:func:`group_ranked` walks a ranked list and keeps the first member of each family as its card,
the later members as its « versions » (in rank order). The threshold is measured in
``docs/search-protocol.md`` (cosine of the same-key pairs of the full catalogue).

Examples
--------
>>> keys = family_keys(["Budget 2019 - Cénac", "Budget 2021 - Lignan", "Budget 2021", "Écoles"],
...                    ["p1", "p1", "p2", "p1"], [["cenac"], ["lignan"], [], []])
>>> keys.tolist()  # one family (same producer), another producer, another title
[0, 0, 1, 2]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from models.core.text import fold_accents

FAMILY_COSINE = 0.9  # docs/search-protocol.md: « one result per family »
# the version of :func:`family_keys`' output, recorded with the keys a build keeps
# (``family_keys.npy``): change it with any change of what the keys are, so that the app
# recomputes them for an older build instead of reading stale ones
FAMILY_KEYS_VERSION = 1
FAMILY_KEYS_FILE = "family_keys.npy"
MAX_LEADERS = 8  # cards of one key a row is compared with (bounds the walk on look-alike titles)
_NON_WORD = re.compile(r"[^a-z]+")
# small words, and the words that name an administrative level (« [EPCI] », « [Communal] »,
# « … à l'échelle départementale »): the same table published per level is one family
FAMILY_STOP = frozenset(
    "de du des la le les l d a au aux et en sur pour par commune communes ville communal communale "
    "communaux epci departement departements departemental departementale region regions regional "
    "regionale national nationale iris canton arrondissement metropole echelle niveau".split())


def family_keys(titles: Sequence[str], producers: Sequence[str],
                title_places: Sequence[Sequence[str]] | None = None) -> np.ndarray:
    """One integer per row; rows of one family key share it, a row whose title keeps no word
    (only digits or places) gets a key of its own.

    Examples
    --------
    >>> family_keys(["Budget primitif 2019", "Budget Primitif 2021", "2020", "2021"],
    ...             ["p1", "p1", "p1", "p1"]).tolist()
    [0, 0, 1, 2]
    """
    out = np.empty(len(titles), dtype=np.int64)
    ids: dict[str, int] = {}
    for i, (title, producer) in enumerate(zip(titles, producers, strict=True)):
        s = fold_accents(str(title or "").lower())
        for name in sorted(title_places[i] if title_places is not None else (), key=len, reverse=True):
            s = s.replace(name, " ")
        words = [w for w in _NON_WORD.split(s) if w and w not in FAMILY_STOP]
        key = f"{producer or ''}|{' '.join(words)}" if words else f"#row{i}"
        out[i] = ids.setdefault(key, len(ids))
    return out


def group_ranked(rows: Sequence[int] | np.ndarray, keys: np.ndarray, embeddings: np.ndarray, *,
                 threshold: float = FAMILY_COSINE, limit: int | None = None) -> list[tuple[int, list[int]]]:
    """``[(leader row, [other member rows])]`` in rank order: each row joins the first earlier
    leader of its key whose embedding is within ``threshold`` cosine, else leads a card.
    ``limit``: stop once that many cards are complete *and* every later row is grouped (all of
    ``rows`` are read, so a leader's versions are every member among them). One sort of the
    rows' keys, then one pass: a row whose key is alone among ``rows`` leads a card at once (most
    rows: ~0.3 ms for a search's 1,000 candidates instead of ~2 ms); the others are compared with
    at most :data:`MAX_LEADERS` earlier leaders of their key.

    Examples
    --------
    >>> emb = np.array([[1, 0], [1, 0], [0, 1], [1, 0]], dtype=np.float32)
    >>> group_ranked([0, 2, 1, 3], np.array([7, 7, 7, 8]), emb)
    [(0, [1]), (2, []), (3, [])]
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    row_keys = np.asarray(keys)[rows]
    _, inverse, counts = np.unique(row_keys, return_inverse=True, return_counts=True)
    alone = counts[inverse.reshape(-1)] == 1  # a key met once in `rows`: its row leads a card
    leaders: dict[int, list[int]] = {}
    cards: list[tuple[int, list[int]]] = []
    pos: dict[int, int] = {}
    for r, key, single in zip(rows.tolist(), row_keys.tolist(), alone.tolist(), strict=True):
        if single:
            cards.append((r, []))
            continue
        joined = False
        for lead in leaders.get(key, ())[:MAX_LEADERS]:
            if float(np.dot(embeddings[r], embeddings[lead])) >= threshold:
                cards[pos[lead]][1].append(r)
                joined = True
                break
        if not joined:
            leaders.setdefault(key, []).append(r)
            pos[r] = len(cards)
            cards.append((r, []))
    return cards if limit is None else cards[:limit]


def dataset_family_keys(datasets, places=None) -> np.ndarray:
    """:func:`family_keys` of a build's rows: ``datasets`` (its ``title`` and ``organization_id``
    or ``organization``), ``places`` the ``territories.parquet`` frame (``row``, ``name``,
    ``source``: the names matched in titles are removed) or None.

    Examples
    --------
    >>> import pandas as pd
    >>> ds = pd.DataFrame({"title": ["Budget 2023 de Lyon", "Budget 2024 de Paris", "Piscines"],
    ...                    "organization_id": ["o1", "o1", "o1"]})
    >>> places = pd.DataFrame({"row": [0, 1], "name": ["Lyon", "Paris"], "source": ["title", "title"]})
    >>> dataset_family_keys(ds, places).tolist()  # one budget, several years and places
    [0, 0, 1]
    """
    n = len(datasets)
    by_row: list[list[str]] = [[] for _ in range(n)]
    if places is not None and len(places):
        t = places[places["source"].astype(str) == "title"]
        for row, name in zip(t["row"].to_numpy(), t["name"].astype(str), strict=True):
            by_row[int(row)].append(fold_accents(name.lower()))
    col = "organization_id" if "organization_id" in datasets else "organization"
    return family_keys(datasets["title"].fillna("").astype(str).tolist(),
                       datasets[col].fillna("").astype(str).tolist() if col in datasets else [""] * n,
                       by_row)
