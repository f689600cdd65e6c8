"""Search results of the "Carte" page: rich cards, understood-slot and filter chips, the filter
panel with counts, the sort, « 10 de plus ». Pure builders from plain data (``models.serve.cards``
and ``Explorer.search_result``); every catalogue value is rendered as text, never as HTML."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.details import safe_url
from components.labels import (
    NO_PRODUCER,
    NO_TITLE,
    clean_text,
    mode_label,
    spelling_replaced,
    spelling_suggestion,
)
from components.plain import DBC, div, node, span
from models.core import french

FACET_ORDER = ("territory", "producer", "format", "licence", "frequency", "freshness", "modified", "year",
               "topic", "has_reuses")
FACET_TITLES = french.FILTER_TITLES
SORT_OPTIONS = [{"label": "Pertinence", "value": "relevance"},
                {"label": "Plus récents", "value": "recent"},
                {"label": "Plus populaires", "value": "popular"}]
SORT_LABELS = {"relevance": "pertinence", "recent": "plus récents d'abord",
               "popular": "plus populaires d'abord"}  # in the results header
MAX_K = 100
STEP_K = 10
NO_SEARCH = "Saisissez une recherche pour lister les jeux de données les plus proches."
FILTERS_TAB = "Filtres"
SEARCH_FAILED = "La recherche a échoué pour ce mode\u00a0; essayez un autre mode."
NO_RESULT_FILTERED = ("Aucun jeu de données ne correspond à la recherche avec ces filtres. Retirez un "
                      "filtre ou élargissez la période.")
NO_RESULT = "Aucun résultat\u00a0: essayez d'autres mots ou un autre mode."
MAX_MESSAGES = 5
SHOWN_FILTER_VALUES = 3  # values of one filter named on its chip, then « … »
N_NEIGHBOUR_WORDS = 6  # nearest words of a « Mots » search, in the results header


def _fact(label: str, value) -> dict | None:
    v = clean_text(value, 160)
    if not v:
        return None
    return span([span(f"{label}\u00a0: ", className="text-muted"), v], className="me-3 d-inline-block")


STAT_WORDS = (("views", "vue"), ("reuses", "réutilisation"), ("followers", "abonné"))


def _stat(shown, word: str) -> str:
    """A card's count as shown (« 1 200 », already formatted) and its word, singular for 0 and 1.

    >>> _stat("1\u202f200", "vue"), _stat("1", "abonné"), _stat(None, "réutilisation")
    ('1\u202f200 vues', '1 abonné', '0 réutilisation')
    """
    shown = str(shown if shown not in (None, "") else "0")
    digits = "".join(ch for ch in shown if ch in "0123456789")
    return f"{shown} {french.plural(int(digits) if digits else 0, word)}"


def snippet_children(pieces) -> list:
    """``[(text, highlighted)]`` → text children, highlighted words in ``html.Mark`` (as text).
    A piece keeps the spaces at its ends: they separate it from the highlighted words beside it.

    Examples
    --------
    >>> kids = snippet_children([("… ", False), ("prix ", False), ("des", True), (" carburants", False)])
    >>> "".join(k if isinstance(k, str) else "[" + k["props"]["children"] + "]" for k in kids)
    '… prix [des] carburants'
    """
    out = []
    for text, hl in pieces or []:
        raw = str(text or "")
        t = clean_text(raw, 400)
        if t:
            t = (" " if raw[:1].isspace() else "") + t + (" " if raw[-1:].isspace() else "")
        elif raw.isspace():
            t = " "
        else:
            continue
        out.append(node("Mark", t) if hl else t)
    return out


def result_card(c: dict) -> dict:
    """One rich result (``models.serve.cards.card``): a ``dbc.ListGroupItem``, as the plain JSON
    Dash sends (:mod:`components.plain`: 20 cards per search)."""
    title = clean_text(c.get("title"), 200) or NO_TITLE
    head = [span(title, className="fw-semibold")]
    if c.get("rank"):
        head.insert(0, node("Badge", str(c["rank"]), namespace=DBC, color="danger", pill=True,
                            className="me-2 rank-badge"))
    facts1 = [_fact("Producteur", c.get("organization") or NO_PRODUCER),
              _fact("Mise à jour", c.get("last_modified")), _fact("Fréquence", c.get("frequency"))]
    facts2 = [_fact("Couverture", c.get("coverage")),
              _fact("Territoire", ", ".join(c.get("territories") or []) or c.get("declared_zones")),
              _fact("Formats", ", ".join(c.get("formats") or [])), _fact("Licence", c.get("licence"))]
    stats = " · ".join(_stat(c.get(k), word) for k, word in STAT_WORDS)
    if c.get("quality") is not None:
        stats += f" · qualité des métadonnées {int(c['quality'])}/100"
    body = [div(head)]
    body.append(div([f for f in facts1 if f], className="small"))
    if any(facts2):
        body.append(div([f for f in facts2 if f], className="small"))
    body.append(div(stats, className="small text-muted"))
    if c.get("freshness"):
        body.append(div(clean_text(c["freshness"], 160), className="small text-danger result-freshness"))
    snip = snippet_children(c.get("snippet"))
    if snip:
        body.append(div(snip, className="small result-snippet mt-1"))
    if c.get("why"):
        body.append(div([span("Pourquoi ce résultat\u00a0: ", className="fw-semibold"),
                         " · ".join(clean_text(w, 120) for w in c["why"])],
                        className="small text-success result-why mt-1"))
    url = safe_url(c.get("url"))
    if url:
        body.append(node("A", "Voir sur data.gouv.fr ↗", href=url, target="_blank", rel="noopener noreferrer",
                         className="small result-link"))
    if c.get("n_versions"):
        body.append(versions_block(c))
    return node("ListGroupItem", body, namespace=DBC, id={"type": ids.RESULT_ITEM, "row": int(c["row"])},
                action=True, n_clicks=0, class_name="py-2 dataset-item result-card")


def versions_label(n: int) -> str:
    """« 1 autre version », « 3 autres versions » (the family under a card)."""
    return "1 autre version" if n == 1 else f"{french.integer(n)} autres versions"


def versions_block(c: dict) -> dict:
    """The other members of a card's family (same producer, same title but for years or places),
    folded under the card: title, last update, link to data.gouv.fr (an ``html.Details``, as
    plain JSON like the card)."""
    items = []
    for v in c.get("versions") or []:
        line = [clean_text(v.get("title"), 160) or NO_TITLE]
        if v.get("last_modified"):
            updated = clean_text(v["last_modified"], 40)
            line.append(span(f" · mis à jour le {updated}", className="text-muted"))
        url = safe_url(v.get("url"))
        if url:
            line.append(node("A", " data.gouv.fr ↗", href=url, target="_blank", rel="noopener noreferrer",
                             className="ms-1"))
        items.append(node("Li", line))
    n = int(c.get("n_versions") or 0)
    if n > len(items):
        items.append(node("Li", f"… et {french.integer(n - len(items))} de plus", className="text-muted"))
    return node("Details", [node("Summary", versions_label(n), className="small fw-semibold"),
                            node("Ul", items, className="small mb-0 ps-3")], className="result-versions mt-1")


def nothing_fits_note(query: str) -> str:
    """What the results say when no dataset answers the query well enough
    (:mod:`models.serve.confidence`): the nearest ones follow.

    >>> nothing_fits_note("poème sur la mer")
    'Aucun jeu ne répond exactement à «\u00a0poème sur la mer\u00a0»\u202f; voici les plus proches.'
    """
    return (f"Aucun jeu ne répond exactement à «\u00a0{clean_text(query, 80)}\u00a0»\u202f; "
            "voici les plus proches.")


def results_block(cards: list[dict], *, total: int, k: int, empty: html.Div | None = None) -> html.Div:
    """The cards and, while more are available (up to 100), the « 10 de plus » button."""
    if not cards:
        return empty or html.Div("Aucun résultat.", className="text-muted small px-1")
    more = total > len(cards) and k < MAX_K
    return html.Div([
        dbc.ListGroup([result_card(c) for c in cards], flush=True),
        html.Div(dbc.Button("10 de plus", id={"type": ids.MORE_RESULTS, "key": "more"}, size="sm",
                            color="secondary", outline=True, n_clicks=0), className="text-center my-2")
        if more else None,
    ])


def no_result(message: str, *, has_filters: bool) -> html.Div:
    """A French message and a way back (remove the filters)."""
    return html.Div([
        html.Div(clean_text(message, 300), className="mb-2"),
        dbc.Button("Retirer tous les filtres", id={"type": ids.CLEAR_FILTERS, "key": "clear"}, size="sm",
                   color="primary", outline=True, n_clicks=0) if has_filters else None,
    ], className="text-muted small px-2 py-2 no-result")


def chips(slots: list[dict], filters: list[tuple[str, str]]) -> html.Div:
    """Removable chips: what the query was understood to name (``slots``: key, label, kind) and
    the active filters (``(key, label)``)."""
    kinds = {"territory": "Lieu", "period": "Période", "producer": "Producteur", "format": "Format"}
    out = []
    for s in slots:
        out.append(dbc.Button([f"{kinds.get(s.get('kind'), '')} : " if s.get("kind") in kinds else "",
                               clean_text(s.get("label"), 60), html.Span(" ×", **{"aria-hidden": "true"})],
                              id={"type": ids.SLOT_CHIP, "key": str(s.get("key"))[:80]}, n_clicks=0,
                              size="sm", color="info", outline=True, className="me-1 mb-1 chip",
                              title="Ne plus en tenir compte"))
    for key, label in filters:
        out.append(dbc.Button([clean_text(label, 80), html.Span(" ×", **{"aria-hidden": "true"})],
                              id={"type": ids.FILTER_CHIP, "key": key}, n_clicks=0, size="sm",
                              color="primary", outline=True, className="me-1 mb-1 chip",
                              title="Retirer ce filtre"))
    return html.Div(out, className="px-2")


def facet_value(key: str, value) -> str | int:
    if key in ("year", "modified"):
        return int(value[0])
    if key == "has_reuses":
        return "1"
    if key == "topic":
        return int(value)
    return str(value)


def filter_panel(facets: dict, active: dict, *, kind: str = ids.FACET) -> html.Div:
    """One checklist per filter key, each value with its count on the current results
    (``facets[key] = [(value, label, count)]``); checked: the active filter values. ``kind``:
    the pattern id's type (``ids.CATALOGUE_FACET`` for the whole catalogue before a search)."""
    blocks = []
    for key in FACET_ORDER:
        vals = facets.get(key) or []
        if not vals and key not in active:
            continue
        options, checked = [], []
        act = active.get(key)
        for value, label, count in vals[:15]:
            v = facet_value(key, value)
            options.append({"label": f"{clean_text(label, 60)} ({count})", "value": v})
            in_range = key in ("year", "modified") and act is not None and act[0] <= v <= act[1]
            if act is not None and (in_range or key == "has_reuses" or (isinstance(act, list) and v in act)):
                checked.append(v)
        if act is not None and isinstance(act, list):  # an active value absent from the counts
            for v in act:
                if v not in [o["value"] for o in options]:
                    options.append({"label": f"{clean_text(str(v), 60)} (0)", "value": v})
                    checked.append(v)
        blocks.append(html.Div([
            html.Div(FACET_TITLES[key], className="fw-semibold small mt-2"),
            dcc.Checklist(id={"type": kind, "key": key}, options=options, value=checked,
                          className="small facet-list", inputClassName="me-1"),
        ]))
    if not blocks:
        return html.Div("Aucun filtre disponible pour ces résultats.", className="small text-muted px-2")
    return html.Div(blocks, className="px-2 pb-2 filter-panel")


CATALOGUE_FILTERS_INTRO = ("Filtrez le catalogue entier\u00a0: les jeux de données hors des filtres "
                           "s'estompent sur la carte. Avec une recherche, les nombres portent sur ses "
                           "résultats.")


def catalogue_filter_panel(facets: dict | None) -> html.Div:
    """The « Filtres » tab before any search: the whole catalogue's facets (a click browses it).

    Examples
    --------
    >>> panel = catalogue_filter_panel({"format": [("csv", "CSV", 120)]})
    >>> panel.children[1].children[0].children[1].options[0]["label"]
    'CSV (120)'
    """
    intro = html.Div(CATALOGUE_FILTERS_INTRO, className="small text-muted px-2 pt-2")
    if not facets:
        return html.Div([intro])
    return html.Div([intro, filter_panel(facets, {}, kind=ids.CATALOGUE_FACET)])


def map_filter_note(count: int | None, n: int) -> str:
    """« 1 234 jeux de données sur 70 575 correspondent aux filtres » ("" without filter)."""
    if count is None:
        return ""
    if count == 0:
        return f"Aucun jeu de données sur {french.integer(n)} ne correspond aux filtres."
    if count == 1:
        return (f"1 jeu de données sur {french.integer(n)} correspond aux filtres "
                "(les autres points sont estompés).")
    return (f"{french.integer(count)} jeux de données sur {french.integer(n)} correspondent aux filtres "
            "(les autres points sont estompés).")


# ---- what a search answers, around the cards -------------------------------------------------
def results_header(q: str, *, shown: int, total: int, more_than: int | None, mode: str, sort: str,
                   words: list[str] = ()) -> str:
    """The line above the results: how many, for what query, in which mode and order
    (``more_than``: the count is a lower bound, the facets' depth); ``words``: the nearest words
    of the « Mots » mode.

    >>> print(results_header("eau", shown=20, total=1000, more_than=1000, mode="hybrid", sort="relevance"))
    20 jeux de données pour «\u00a0eau\u00a0» (sur plus de 1\u202f000 trouvés, mode Hybride)
    >>> print(results_header("", shown=3, total=3, more_than=None, mode="hybrid", sort="popular"))
    3 jeux de données correspondent aux filtres (les plus consultés d'abord)
    >>> print(results_header("Ciqual", shown=1, total=1, more_than=None, mode="keyword", sort="relevance"))
    1 jeu de données pour «\u00a0Ciqual\u00a0» (sur 1 trouvé, mode Mots-clés)
    """
    if not q:
        order = "les plus récents" if sort == "recent" else "les plus consultés"
        verb = french.plural(total, "correspond", "correspondent")
        return f"{french.datasets(total)} {verb} aux filtres ({order} d'abord)"
    found = (f"plus de {french.integer(more_than)} trouvés" if more_than is not None
             else f"{french.integer(total)} {french.plural(total, 'trouvé')}")
    order = ", " + SORT_LABELS[sort] if sort in SORT_LABELS and sort != "relevance" else ""
    header = (f"{french.datasets(shown)} pour «\u00a0{clean_text(q, 80)}\u00a0» "
              f"(sur {found}, mode {mode_label(mode)}{order})")
    if words:
        header += " · mots voisins\u00a0: " + ", ".join(clean_text(w, 30) for w in words)
    return header


def filters_tab_label(n_filters: int) -> str:
    """« Filtres (2) » while filters are active."""
    return f"{FILTERS_TAB} ({n_filters})" if n_filters else FILTERS_TAB


def filter_chips(value_labels: dict[str, list[str]]) -> list[tuple[str, str]]:
    """``(key, label)`` of the active filters' chips: « Format : CSV, JSON », the first values.

    >>> filter_chips({"format": ["CSV", "JSON", "XLS", "PDF"]})
    [('format', 'Format\xa0: CSV, JSON, XLS …')]
    """
    out = []
    for key, labels in value_labels.items():
        text = ", ".join(labels[:SHOWN_FILTER_VALUES]) + (" …" if len(labels) > SHOWN_FILTER_VALUES else "")
        out.append((key, f"{FACET_TITLES.get(key, key)}\u00a0: {text}"))
    return out


def empty_results(has_filters: bool) -> html.Div:
    """What the results say when nothing answers (with a way back when filters are active)."""
    return no_result(NO_RESULT_FILTERED if has_filters else NO_RESULT, has_filters=has_filters)


def search_failed() -> dbc.Alert:
    return dbc.Alert(SEARCH_FAILED, color="warning")


def spelling_note(spelling: dict) -> dbc.Alert:
    """The notice of a corrected query: ``spelling`` holds ``query`` (searched), ``typed``,
    ``suggestion``, ``corrected`` (the corrected words were searched) and ``href`` (the link
    that searches the other text)."""
    before, linked, after = (spelling_replaced(spelling["query"], spelling["typed"]) if spelling["corrected"]
                             else spelling_suggestion(spelling["suggestion"]))
    return dbc.Alert([before, dcc.Link(linked, href=spelling["href"], className="spelling-link"), after],
                     color="info", className="small py-1 mb-1 spelling-note")


def search_messages(errors: list[str], *, spelling: dict | None = None,
                    nothing_fits: str | None = None) -> list | None:
    """The notices above the results: nothing fits ``nothing_fits`` (the query), the spelling
    (:func:`spelling_note`), then the filters the search refused (``errors``); None when none."""
    out = [dbc.Alert(clean_text(m, 200), color="warning", className="small py-1 mb-1")
           for m in errors[:MAX_MESSAGES]]
    if spelling is not None:
        out.insert(0, spelling_note(spelling))
    if nothing_fits is not None:
        out.insert(0, dbc.Alert(nothing_fits_note(nothing_fits), color="secondary",
                                className="small py-1 mb-1 nothing-fits"))
    return out or None


def highlight_label(q: str) -> str:
    """The name of the search's points on the map (its legend)."""
    return f"Recherche\u00a0: {q}" if q else FILTERS_TAB
