"""Callbacks of the "Carte" page: URL <-> state, search, highlight, selection, details, cloud.

Data flow (each arrow one callback)::

    URL ──> search box, mode, SEARCH_STATE, SELECTED   (on load, back/forward)
    button / Enter / mode ──> SEARCH_STATE
    SEARCH_STATE ──> results list, facets, MAP_HIGHLIGHT ("drawn") and the Patch of the map's
                 │   overlay trace, in one response
    MAP_HIGHLIGHT (other pages) ──(browser: DRAW_GATE_JS)──> MAP_HIGHLIGHT_DRAW ──> overlay Patch
                 └─> MAP_FILTER (filter bitmask) ──(browser, assets/30-map-mask.js, with the
                     year filter of callbacks/map_tools.py)──> points outside the filters fade
    map click / result / similar ──> SELECTED ──> details + Patch of the map's star + cloud topic
    SEARCH_STATE, SELECTED ──> URL

The search state and its edits are :mod:`components.search_state`; what a search shows is built
by :mod:`components.search_results` and :mod:`components.map`.
"""

from __future__ import annotations

import logging

import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, State, ctx, no_update

from callbacks import guard
from callbacks.common import Wiring, dataset_id
from callbacks.urlstate import build_url_search, parse_url_search
from components import explorer_page, ids
from components import search_state as ss
from components.details import details_panel, map_tooltip, placeholder
from components.map import (
    DRAW_GATE_JS,
    EMPTY_HIGHLIGHT,
    encode_mask,
    highlight_patch,
    highlight_store,
    read_highlight,
    row_from_point,
    selected_patch,
)
from components.search_results import (
    N_NEIGHBOUR_WORDS,
    NO_SEARCH,
    catalogue_filter_panel,
    chips,
    empty_results,
    filter_chips,
    filter_panel,
    filters_tab_label,
    highlight_label,
    map_filter_note,
    results_block,
    results_header,
    search_failed,
    search_messages,
)
from models.core.store import ArtifactError
from models.serve.cards import cards as result_cards
from models.serve.filters import FACET_DEPTH, RANGE_KEYS, params_to_raw
from models.serve.search import clean_query

log = logging.getLogger(__name__)
wiring = Wiring()
# the pattern-matching inputs that edit the search state, by their type
EDIT_ACTIONS = {ids.MORE_RESULTS: "more", ids.CLEAR_FILTERS: "clear", ids.SLOT_CHIP: "slot",
                ids.FILTER_CHIP: "filter", ids.FACET: "facets"}


def register(app, services) -> None:
    wiring.register(app, services)


# ---- plain-data helpers (services -> what the builders take) ------------------------
def hit_items(services, hits) -> list[dict]:
    items = services.explorer.records.hits_as_dicts(hits)
    return [{"row": h.row, **d} for h, d in zip(hits, items, strict=True)]


def topic_cloud(services, topic):
    """The word cloud of ``topic`` under the map (the page's first one is drawn by app.py)."""
    label = services.explorer.topics.default.label(topic)
    terms = services.explorer.topics.default.terms(topic) if label is not None else []
    return explorer_page.topic_cloud(topic, label, terms)


def catalogue_facets(explorer) -> dict | None:
    """The whole catalogue's filters with counts (the « Filtres » tab before any search), None
    when they cannot be counted (the tab then only explains itself)."""
    try:
        return explorer.engine.catalogue_facets
    except Exception:  # a help, not a page: a damaged column never stops the app
        log.exception("whole-catalogue filters unavailable")
        return None


def first_k(services) -> int:
    return ss.first_k(services.n_results)


def valid_state(services, state) -> dict | None:
    """A state posted by the browser, checked (:func:`components.search_state.read_state`)."""
    max_chars = services.explorer.max_query_chars
    return ss.read_state(state, clean=lambda q: clean_query(q, max_chars), modes=services.modes,
                         default_mode=services.default_mode, k=first_k(services))


def xy(services, rows):
    """The map coordinates of ``rows`` (a list, or one row)."""
    return np.asarray(services.explorer.records.coords[rows], dtype=np.float64)


def titles(services, rows) -> list[str]:
    return services.explorer.datasets["title"].iloc[rows].tolist()


# ---- URL and search state -------------------------------------------------------------
@wiring.callback(Output(ids.SEARCH_INPUT, "value"), Output(ids.SEARCH_MODE, "value"),
                 Output(ids.SEARCH_SORT, "value"),
                 Output(ids.SEARCH_STATE, "data"), Output(ids.SELECTED, "data"),
                 Input(ids.URL, "search"), State(ids.SEARCH_STATE, "data"), State(ids.SELECTED, "data"))
def url_to_state(services, search, current, selected):
    exp = services.explorer
    st = parse_url_search(search, modes=services.modes, default_mode=services.default_mode,
                          max_query_chars=exp.max_query_chars,
                          is_known_id=lambda i: exp.records.row_of(i) is not None)
    k = first_k(services)
    new = ss.make_state(st["q"], st["mode"], st["filters"], st["sort"], st["ignore"], k)
    cur = valid_state(services, current)
    same = new == (dict(cur, k=k) if cur else None)
    return (no_update if same else st["q"], no_update if same or not st["mode"] else st["mode"],
            no_update if same else st["sort"],
            no_update if same else new, no_update if st["id"] == selected else st["id"])


@wiring.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                 Input(ids.SEARCH_BUTTON, "n_clicks"), Input(ids.SEARCH_INPUT, "n_submit"),
                 Input(ids.SEARCH_MODE, "value"), Input(ids.SEARCH_SORT, "value"),
                 State(ids.SEARCH_INPUT, "value"), State(ids.SEARCH_STATE, "data"),
                 prevent_initial_call=True)
def submit(services, _clicks, _submits, mode, sort, text, current):
    q = clean_query(guard.as_text(text), services.explorer.max_query_chars)
    mode = guard.as_choice(mode, services.modes, services.default_mode)
    cur = valid_state(services, current)
    new = ss.submitted_state(cur, q, mode, sort, first_k(services))
    if new == cur or (ctx.triggered_id in (ids.SEARCH_MODE, ids.SEARCH_SORT) and new is None):
        return no_update
    return new


@wiring.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                 Input({"type": ids.FACET, "key": ALL}, "value"),
                 Input({"type": ids.SLOT_CHIP, "key": ALL}, "n_clicks"),
                 Input({"type": ids.FILTER_CHIP, "key": ALL}, "n_clicks"),
                 Input({"type": ids.MORE_RESULTS, "key": ALL}, "n_clicks"),
                 Input({"type": ids.CLEAR_FILTERS, "key": ALL}, "n_clicks"),
                 State({"type": ids.FACET, "key": ALL}, "options"),
                 State(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
def edit_state(services, facet_values, _slots, _filters, _more, _clear, facet_options, current):
    """Facet checkboxes, chips, « 10 de plus » and « retirer tous les filtres » edit the state."""
    cur = valid_state(services, current)
    trig = ctx.triggered_id
    action = EDIT_ACTIONS.get(trig.get("type")) if isinstance(trig, dict) else None
    clicked = ctx.triggered[0]["value"] if ctx.triggered else None
    if cur is None or action is None or (action != "facets" and not clicked):
        return no_update  # a chip or button just drawn (n_clicks 0)
    facets, active = [], None
    if action == "facets":
        facets = list(zip(guard.pattern_keys(ctx.inputs_list[0]), facet_values or [], facet_options or [],
                          strict=False))
        active, _ = services.explorer.engine.clean_filters(params_to_raw(cur["filters"]))
    new = ss.edit_state(cur, action, key=trig.get("key"), facets=facets, active=active, k=first_k(services))
    return no_update if new == cur else new


@wiring.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                 Input({"type": ids.CATALOGUE_FACET, "key": ALL}, "value"),
                 State(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
def browse_catalogue(services, values, current):
    """A filter of the whole catalogue (the « Filtres » tab before any search) starts
    browsing it. Once a search or a filter is active that panel is gone or being replaced:
    what it sends then is ignored (a shared link's filters are never undone by it)."""
    if valid_state(services, current) is not None or not isinstance(values, list):
        return no_update
    filters = ss.browse_filters(list(zip(guard.pattern_keys(ctx.inputs_list[0]), values, strict=False)))
    return ss.make_state("", services.default_mode, filters, "relevance", [], first_k(services)) or no_update


# ---- the search ---------------------------------------------------------------------------
@wiring.callback(Output(ids.RESULTS, "children"), Output(ids.RESULTS_HEADER, "children"),
                 Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.SEARCH_CHIPS, "children"), Output(ids.FILTERS_PANEL, "children"),
                 Output(ids.FILTERS_TAB, "label"), Output(ids.SEARCH_MESSAGES, "children"),
                 Output(ids.MAP_FILTER, "data"), Output(ids.MAP_FILTER_NOTE, "children"),
                 Output(ids.MAP, "figure", allow_duplicate=True),
                 Input(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
def run_search(services, state):
    # any client can post this state: every value is checked again (valid_state)
    st = valid_state(services, state)
    if st is None:  # nothing searched, nothing filtered: the whole catalogue's filters
        panel = catalogue_filter_panel(catalogue_facets(services.explorer))
        return (None, NO_SEARCH, EMPTY_HIGHLIGHT, None, panel, filters_tab_label(0), None, None, "",
                no_update)
    try:
        res = services.explorer.engine.search_result(st["q"], mode=st["mode"], k=st["k"],
                                              filters=params_to_raw(st["filters"]), sort=st["sort"],
                                              ignore_slots=tuple(st["ignore"]))
    except (ArtifactError, ValueError) as exc:
        log.warning("search %r (mode %s) failed: %s", st["q"][:80], st["mode"], exc)
        return (search_failed(), "", EMPTY_HIGHLIGHT, None, no_update, filters_tab_label(0), None, None, "",
                no_update)
    return search_outputs(services, st, res)


def search_outputs(services, st: dict, res) -> tuple:
    """The outputs of :func:`run_search` for a search's result."""
    exp, q = services.explorer, res.query
    cards = result_cards(exp, [h.row for h in res.hits], query=q, focus=res.topic, whys=res.why,
                         scores=[h.score for h in res.hits], ranks=range(1, len(res.hits) + 1),
                         versions=[h.versions for h in res.hits])
    words = ([w for w, _ in services.explorer.engine.query_words(q, k=N_NEIGHBOUR_WORDS)]
             if res.mode == "word" and q else [])
    header = results_header(q, shown=len(res.hits), total=res.total,
                            more_than=FACET_DEPTH if res.total >= FACET_DEPTH else None,
                            mode=res.mode, sort=res.sort, words=words)
    slots = ([{"key": s.key, "label": s.label, "kind": s.kind} for s in res.understanding.slots]
             if res.understanding is not None else [])
    facets = {k: [(f.value, f.label, f.count) for f in vals] for k, vals in res.facets.items()}
    highlight = highlight_store(highlight_label(q), [h.row for h in res.hits], q, place_of(services, q),
                                drawn=True)
    unfit = q if res.assessment is not None and not res.assessment.fits else None
    return (results_block(cards, total=res.total, k=st["k"], empty=empty_results(bool(res.filters))),
            header, highlight, chips(slots, filter_chips(filter_labels(services, res.filters))),
            filter_panel(facets, res.filters), filters_tab_label(len(res.filters)),
            search_messages(res.errors, spelling=spelling_of(st, res), nothing_fits=unfit),
            encode_mask(res.mask), map_filter_note(res.n_filtered, exp.n), overlay(services, highlight))


def filter_labels(services, filters: dict) -> dict[str, list[str]]:
    """What each active filter's values are called (a period, « oui », the producers' names)."""
    cat = services.explorer.catalogue
    return {k: [cat.value_label(k, v)] if k in RANGE_KEYS or k == "has_reuses"
            else [cat.value_label(k, x) for x in v] for k, v in filters.items()}


def spelling_of(st: dict, res) -> dict | None:
    """The search's spelling notice (:func:`components.search_results.spelling_note`), None."""
    spelled = res.spelling
    if spelled is None or not (spelled.changes or spelled.suggestion):
        return None
    corrected = bool(spelled.changes)
    href = build_url_search(spelled.verbatim if corrected else spelled.suggestion, st["mode"], None,
                            filters=st["filters"], sort=st["sort"])
    return {"query": res.query, "typed": spelled.original, "suggestion": spelled.suggestion,
            "corrected": corrected, "href": href}


def place_of(services, q: str) -> dict | None:
    """The query's place on the map (a bonus: None when it cannot be placed)."""
    if not q:
        return None
    try:
        return services.explorer.engine.place_query(q)
    except Exception:  # the marker is a bonus: never fail the search for it
        log.exception("placing the query on the map failed")
        return None


# ---- the map, the card, the cloud, the URL ------------------------------------------------
wiring.clientside(DRAW_GATE_JS, Output(ids.MAP_HIGHLIGHT_DRAW, "data"), Input(ids.MAP_HIGHLIGHT, "data"),
                  prevent_initial_call=True)


@wiring.callback(Output(ids.MAP, "figure", allow_duplicate=True), Input(ids.MAP_HIGHLIGHT_DRAW, "data"),
                 prevent_initial_call=True)
def highlight_map(services, data):
    return overlay(services, data)


def overlay(services, data):
    """The map's overlay Patch for a highlight store's content (checked again: any client can
    post it)."""
    h = read_highlight(data, services.explorer.n)
    rows = h["rows"]
    return highlight_patch(xy(services, rows), rows, titles(services, rows), h["label"], h["query"])


@wiring.callback(Output(ids.SELECTED, "data", allow_duplicate=True), Input(ids.MAP, "clickData"),
                 Input({"type": ids.RESULT_ITEM, "row": ALL}, "n_clicks"),
                 Input({"type": ids.SIMILAR_ITEM, "row": ALL}, "n_clicks"), prevent_initial_call=True)
def select(services, click, _results, _similar):
    trigger, row = ctx.triggered_id, None
    if trigger == ids.MAP:
        row = row_from_point(guard.first_point(click), services.explorer.n)
    elif guard.clicked_pattern(trigger, ctx.triggered):  # n_clicks 0/None: item just drawn
        row = guard.as_row(trigger.get("row"), services.explorer.n)
    return dataset_id(services, row)


@wiring.callback(Output(ids.DETAILS, "children"), Output(ids.MAP, "figure", allow_duplicate=True),
                 Output(ids.TOPIC_DROPDOWN, "value"), Input(ids.SELECTED, "data"), prevent_initial_call=True)
def show_details(services, dataset):
    exp = services.explorer
    row = exp.records.row_of(dataset) if isinstance(dataset, str) else None
    if row is None:
        return placeholder(), selected_patch(), no_update
    topic = exp.topics.default.of_rows([row])[0]
    label = services.explorer.topics.default.label(topic) if topic >= 0 else None
    panel = details_panel(exp.records.dataset(row), hit_items(services, exp.records.similar(row)),
                          topic_label=label)
    star = selected_patch(xy(services, row), row, titles(services, [row])[0])
    return panel, star, (topic if label else no_update)


@wiring.callback(Output(ids.SIDE_TABS, "active_tab"), Input(ids.SEARCH_STATE, "data"),
                 Input(ids.SELECTED, "data"), prevent_initial_call=True)
def side_tab(services, state, selected):
    # one callback, so a shared link (search + dataset, both set at once) always opens the
    # dataset's card; a new search alone shows the results, a new selection its card
    if ids.SELECTED in {t.split(".")[0] for t in ctx.triggered_prop_ids} and selected:
        return ids.SIDE_CARD
    if not state:  # nothing searched (a page just opened): the tab the person chose stays
        return no_update  # (a lasso made while the page loads keeps its « Sélection » tab)
    return ids.SIDE_RESULTS


@wiring.callback(Output(ids.CLOUD, "figure"), Input(ids.TOPIC_DROPDOWN, "value"), prevent_initial_call=True)
def show_cloud(services, topic):
    return topic_cloud(services, guard.as_int(topic, 0))


@wiring.callback(Output(ids.URL, "search"), Input(ids.SEARCH_STATE, "data"), Input(ids.SELECTED, "data"),
                 State(ids.URL, "search"), prevent_initial_call=True)
def state_to_url(services, state, selected, current):
    st = valid_state(services, state) or {}
    search = build_url_search(st.get("q"), st.get("mode"), guard.as_key(selected), filters=st.get("filters"),
                              sort=st.get("sort"), ignore=st.get("ignore"))
    return no_update if search == guard.as_text(current) else search


# region labels: placed in the browser at every zoom (assets/20-map-labels.js)
wiring.clientside(ClientsideFunction(namespace="mapLabels", function_name="update"),
                  Output(ids.MAP_LABELS_STATE, "data"), Input(ids.MAP, "relayoutData"),
                  Input(ids.MAP_LABELS_TOGGLE, "value"), Input(ids.MAP_LABELS, "data"))


@wiring.callback(Output(ids.MAP_TOOLTIP, "show"), Output(ids.MAP_TOOLTIP, "bbox"),
                 Output(ids.MAP_TOOLTIP, "children"), Input(ids.MAP, "hoverData"), prevent_initial_call=True)
def tooltip(services, hover):
    exp = services.explorer
    point = guard.first_point(hover)
    row = row_from_point(point, exp.n) if point.get("curveNumber") == 0 else None
    if row is None:
        return False, no_update, no_update
    topic = exp.topics.default.of_rows([row])[0]
    record = {"title": exp.datasets["title"].iat[row], "organization": exp.datasets["organization"].iat[row]}
    label = services.explorer.topics.default.label(topic) if topic >= 0 else None
    return True, guard.as_dict(point.get("bbox")), map_tooltip(record, label)
