"""What a result card says about a dataset, as plain data (no Dash): the builders in
``components/result_cards.py`` lay it out. Every value is text from the catalogue, never HTML:
the description snippet is a list of ``(text, highlighted)`` pieces.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa

from models.core import french
from models.core.formats import FORMAT_LABELS
from models.core.quality import FREQUENCY_FR
from models.core.text import keyword_terms

SNIPPET_CHARS = 260
def query_words(query: str) -> list[str]:
    """The words of a query worth highlighting (keyword terms of 3 letters or more, longest
    first, at most 12).

    Examples
    --------
    >>> query_words("Les piscines municipales à Lyon")
    ['municipales', 'piscines', 'Lyon']
    """
    words = []
    for tok in re.findall(r"[^\W_][\w'’-]*", query or ""):
        if keyword_terms(tok) and len(tok) >= 3:
            words.append(tok)
    return sorted(set(words), key=lambda w: (-len(w), w))[:12]  # ties: alphabetical, not set order


def snippet(text: str, query: str, width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """A piece of ``text`` around the first query word, as ``(text, highlighted)`` pieces
    (matching ignores case, accents and plural/feminine endings: same stems as the search).

    Examples
    --------
    >>> snippet("Liste des piscines municipales, avec horaires et tarifs.", "piscine horaire")
    [('Liste des ', False), ('piscines', True), (' municipales, avec ', False), ('horaires', True),
     (' et tarifs.', False)]
    """
    return snippet_pieces(text, query_stems(query), width)


@lru_cache(maxsize=20_000)
def _terms(token: str) -> tuple:
    return tuple(keyword_terms(token))


def query_stems(query: str) -> frozenset:
    """The stems :func:`snippet` looks for in a description (computed once for a results list).

    Examples
    --------
    >>> sorted(query_stems("piscines municipales"))
    ['municipal', 'piscin']
    """
    return frozenset(t for w in query_words(query) for t in _terms(w))


def snippet_pieces(text: str, stems: frozenset, width: int | None = None,
                   focus: frozenset | None = None) -> list[tuple[str, bool]]:
    """A piece of ``text`` around the first word whose stem is in ``stems``, as ``(text,
    highlighted)`` pieces. Each word's stems are cached and the scan stops past the window of
    the first hit (later hits cannot be shown): ~10× faster than a full scan
    (``tests/test_service.py`` compares them). ``focus`` (stems of ``stems``): the window is
    around the first word of ``focus`` when there is one — the topic of « piscines à Rennes »
    rather than the place its title already shows; every word of ``stems`` is highlighted.

    Examples
    --------
    >>> text = "Un long texte sur les piscines municipales de la ville et leurs horaires"
    >>> snippet_pieces(text, query_stems("piscine"), width=30)  # cut around the first hit
    [('… ', False), ('texte sur les ', False), ('piscines', True), (' …', False)]
    >>> snippet_pieces("", query_stems("piscine"))
    []
    >>> text = "Budget de la Ville de Rennes, ventilé par sous-fonction : écoles, piscines, voirie"
    >>> snippet_pieces(text, query_stems("piscines Rennes"), width=30, focus=query_stems("piscines"))
    [('… ', False), (': écoles, ', False), ('piscines', True), (', voirie', False)]
    """
    width = SNIPPET_CHARS if width is None else width
    text = " ".join(str(text or "").split())
    if not text:
        return []
    hits = []
    anchor = None  # where the window starts from: the first hit (of ``focus`` when given)
    for m in _TOKEN.finditer(text):
        if anchor is not None and m.start() > anchor + width:
            break
        ts = _terms(m.group(0))
        if ts and ts[-1] in stems:
            hits.append(m.span())
            if anchor is None and (not focus or ts[-1] in focus):
                anchor = m.start()
    if anchor is None and hits:
        anchor = hits[0][0]  # no word of the focus: around the first hit
    start = 0
    if hits:
        start = max(0, anchor - width // 3)
        sp = text.rfind(" ", 0, start)
        start = sp + 1 if start and sp >= 0 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.rfind(" ", start, end)
        end = sp if sp > start else end
    pieces: list[tuple[str, bool]] = [("… ", False)] if start > 0 else []
    pos = start
    for a, b in hits:
        if a < start or b > end:
            continue
        if a > pos:
            pieces.append((text[pos:a], False))
        pieces.append((text[a:b], True))
        pos = b
    if pos < end:
        pieces.append((text[pos:end], False))
    if end < len(text):
        pieces.append((" …", False))
    return pieces


_TOKEN = re.compile(r"[^\W_][\w'’-]*")


MAX_VERSIONS = 20  # versions listed on a card (the count says how many there are)


CARD_COLUMNS = ("id", "title", "url", "organization", "last_modified", "frequency", "temporal_start",
                "temporal_end", "spatial_zones", "views", "reuses", "followers")
VERSION_COLUMNS = ("id", "title", "url", "last_modified")
_DEFAULTS = {"views": 0, "reuses": 0, "followers": 0}


def _columns(ds, rows: list[int], names) -> dict[str, list]:
    """The values of columns ``names`` at ``rows``, each column read once (a pandas lookup of one
    cell costs ~20 µs: twelve a card, twenty cards a page), Arrow-backed ones through Arrow (a
    page's twelve columns in 0.25 ms instead of 1.1 through pandas; a missing value is None); a
    missing column gives its default."""
    idx = None
    out = {}
    for n in names:
        if n not in ds:
            out[n] = [_DEFAULTS.get(n, "")] * len(rows)
            continue
        values = ds[n].array
        if hasattr(values, "__arrow_array__"):
            idx = pa.array(rows, type=pa.int64()) if idx is None else idx
            out[n] = pa.array(values).take(idx).to_pylist()
        else:
            out[n] = np.asarray(values)[rows].tolist()
    return out


def territory_labels(cat, row: int, k: int = 6) -> list[str]:
    """A card's territories: the first ``k`` of the row's own, each once with where it comes
    from (« France (national) (extrait et déclaré) », not the same name twice).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cat = SimpleNamespace(territory_label=lambda key: {"pays:FR": "France (national)"}.get(key, key),
    ...     row_territories=lambda row: [("pays:FR", "extrait"), ("commune:35238", "extrait"),
    ...                                  ("pays:FR", "déclaré")])
    >>> territory_labels(cat, 0)
    ['France (national) (extrait et déclaré)', 'commune:35238 (extrait)']
    """
    sources: dict[str, list[str]] = {}
    for key, src in cat.row_territories(row):
        if src not in sources.setdefault(key, []):
            sources[key].append(src)
    return [f"{cat.territory_label(key)} ({' et '.join(src)})" for key, src in list(sources.items())[:k]]


def version(explorer, row: int) -> dict:
    """A family member listed under a card: ``row``, ``id``, ``title``, ``url``, ``last_modified``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> explorer = SimpleNamespace(datasets=pd.DataFrame(
    ...     {"id": ["a1"], "title": ["Piscines 2024"], "url": ["https://www.data.gouv.fr/a1"],
    ...      "last_modified": ["2025-03-01T10:00:00"]}))
    >>> version(explorer, 0)
    {'row': 0, 'id': 'a1', 'title': 'Piscines 2024', 'url': 'https://www.data.gouv.fr/a1',
     'last_modified': '1er mars 2025'}
    """
    return _versions(explorer.datasets, [row])[0]


def _versions(ds, rows: list[int]) -> list[dict]:
    cols = _columns(ds, rows, VERSION_COLUMNS)
    return [{"row": int(r), "id": str(i), "title": str(t or ""), "url": str(u or ""),
             "last_modified": french.long_date(m) if "last_modified" in ds else ""}
            for r, i, t, u, m in zip(rows, cols["id"], cols["title"], cols["url"], cols["last_modified"],
                                     strict=True)]


def _score(scores, i: int) -> int | None:
    """The ``i``-th quality score (None: no scores, or not a number)."""
    try:
        return int(scores[i]) if scores is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def card(explorer, row: int, *, query: str = "", why=(), score: float | None = None,
         rank: int | None = None, versions=()) -> dict:
    """Everything a result card shows for ``row`` (plain strings and numbers). ``versions``:
    rows of its family ranked below it (:mod:`models.core.families`), listed under the card."""
    return cards(explorer, [row], query=query, whys=[why], scores=[score], ranks=[rank],
                 versions=[versions])[0]


def cards(explorer, rows, *, query: str = "", whys=None, scores=None, ranks=None, versions=None,
          focus: str | None = None) -> list[dict]:
    """:func:`card` of each of ``rows`` (``whys``, ``scores``, ``ranks``, ``versions``: one item a
    row, or None), every column read once for the whole list: a page of 20 results in ~2 ms
    instead of ~15 (``scripts/bench/search_profile.py``). ``focus``: the part of ``query`` the
    snippets are centred on (:attr:`models.serve.ranking.SearchResult.topic`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> ds = pd.DataFrame({"id": ["a", "b"], "title": ["Piscines", "Air"], "views": [3, 1200]})
    >>> catalogue = SimpleNamespace(format_names=[], format_bits=[0, 0], licence_keys=[],
    ...                             row_territories=lambda row: [])
    >>> explorer = SimpleNamespace(datasets=ds, catalogue=catalogue, producers=None, freshness=None,
    ...                            records=SimpleNamespace(description_text=lambda row: ""))
    >>> [(c["title"], c["views"], c["rank"], c["quality"]) for c in cards(explorer, [1, 0], ranks=[1, 2])]
    [('Air', '1\\u202f200', 1, None), ('Piscines', '3', 2, None)]
    """
    rows = [int(r) for r in rows]
    n = len(rows)
    whys = whys if whys is not None else [()] * n
    scores = scores if scores is not None else [None] * n
    ranks = ranks if ranks is not None else [None] * n
    versions = versions if versions is not None else [()] * n
    ds = explorer.datasets
    cat = explorer.catalogue
    cols = _columns(ds, rows, CARD_COLUMNS)
    try:
        quality = explorer.producers.assessed()["score"].take(rows).tolist()
    except Exception:  # the score is a bonus on the card
        quality = None
    try:  # « En retard de 2 ans (mise à jour mensuelle annoncée) »: a bonus too
        fresh = _columns(explorer.freshness.table, rows, ("badge", "status"))
        badges, statuses = fresh["badge"], fresh["status"]
    except Exception:
        badges = statuses = None
    listed = [[int(v) for v in list(vs)[:MAX_VERSIONS]] for vs in versions]
    flat = _versions(ds, [v for vs in listed for v in vs]) if any(listed) else []
    stems = query_stems(query)
    focus_stems = query_stems(focus) & stems if focus else None  # the snippet's window: the topic
    out, pos = [], 0
    for i, row in enumerate(rows):
        def col(name, i=i):
            return cols[name][i]

        fmts = [FORMAT_LABELS[f] for b, f in enumerate(cat.format_names) if cat.format_bits[row] & (1 << b)]
        freq = str(col("frequency") or "")
        ts, te = str(col("temporal_start") or ""), str(col("temporal_end") or "")
        coverage = ""
        if ts or te:
            a, b = french.long_date(ts), french.long_date(te)
            coverage = f"du {a} au {b}" if a and b else (f"depuis le {a}" if a else f"jusqu'au {b}")
        territories = territory_labels(cat, row)
        declared = str(col("spatial_zones") or "").strip()
        score = scores[i]
        out.append({
            "row": row, "rank": ranks[i], "id": str(col("id")), "title": str(col("title") or ""),
            "url": str(col("url") or ""), "organization": str(col("organization") or ""),
            "last_modified": french.long_date(col("last_modified")),
            "frequency": FREQUENCY_FR.get(freq, "") if freq else "",
            "coverage": coverage, "territories": territories, "declared_zones": declared[:200],
            "formats": fmts, "licence": cat.licence_labels.get(
                cat.licence_keys[cat.licence_codes[row]], "") if len(cat.licence_keys) else "",
            "views": french.integer(col("views"), missing="0"),
            "reuses": french.integer(col("reuses"), missing="0"),
            "followers": french.integer(col("followers"), missing="0"),
            "quality": _score(quality, i),
            "freshness": str(badges[i]) if badges is not None else "",
            "freshness_status": str(statuses[i]) if statuses is not None else "",
            "snippet": snippet_pieces(explorer.records.description_text(row), stems, focus=focus_stems),
            "why": list(whys[i]), "score": None if score is None or not np.isfinite(score) else float(score),
            "n_versions": len(versions[i]),
            "versions": flat[pos:pos + len(listed[i])],
        })
        pos += len(listed[i])
    return out
