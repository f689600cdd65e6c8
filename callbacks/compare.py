"""Callbacks of the "Comparer" page (wiring only: Explorer -> builders).

    page load (an example question in the box), button / Enter ──> three result columns, overlap,
        nearest words, STATE
    an example question ──> the box, then Enter
    "Voir sur la carte" ──> MAP_HIGHLIGHT (hybrid results + the query's place) + map tab
    a result ──> SELECTED + map tab
"""

from __future__ import annotations

import logging

from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks import guard
from callbacks.common import MAP_TAB, Wiring, open_dataset
from components import compare_page as cp
from components import ids
from components import labels as texts
from components.map import highlight_store
from models.core.store import ArtifactError
from models.serve.search import clean_query

log = logging.getLogger(__name__)
wiring = Wiring()
MAX_ON_LOAD = 4  # page-load comparisons kept (the page-load question is whatever the client posts)


def register(app, services) -> None:
    wiring.register(app, services)


def compared(services, q: str, page_load: bool) -> dict:
    """``Explorer.compare`` of ``q``; the example question's comparison, made on every page load,
    is computed once per app."""
    on_load = services.memo.setdefault("compare_on_load", {})
    data = on_load.get(q) if page_load else None
    if data is None:
        data = services.explorer.engine.compare(q, modes=cp.COMPARED_MODES,
                                                with_words="word" in services.modes)
        if page_load and len(on_load) < MAX_ON_LOAD:
            on_load[q] = data
    return data


@wiring.callback(Output(cp.COLUMNS, "children"), Output(cp.OVERLAP, "figure"),
                 Output(cp.OVERLAP_TEXT, "children"), Output(cp.WORDS, "children"),
                 Output(cp.STATE, "data"), Output(cp.SHOW_ON_MAP, "disabled"),
                 Output(cp.STATUS, "children"),
                 Input(cp.BUTTON, "n_clicks"), Input(cp.INPUT, "n_submit"), State(cp.INPUT, "value"))
def run_compare(services, _clicks, _submits, text):
    q = clean_query(guard.as_text(text), services.explorer.max_query_chars)
    page_load = ctx.triggered_id is None
    if not q:
        if page_load:  # page load without an example question
            raise PreventUpdate
        return None, cp.visualize_overlap(None), "", [], None, True, cp.empty_status()
    try:
        data = compared(services, q, page_load)
    except (ArtifactError, ValueError) as exc:
        log.warning("compare %r failed: %s", q[:80], exc)
        figure, status = cp.failed_outputs()
        return None, figure, "", [], None, True, status
    return (*cp.comparison(data), {"q": q, "rows": data["rows"]}, not data["rows"], None)


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(cp.SHOW_ON_MAP, "n_clicks"), State(cp.STATE, "data"), prevent_initial_call=True)
def show_on_map(services, n_clicks, state):
    state = guard.as_dict(state)
    rows = guard.as_rows(state.get("rows"), services.explorer.n)
    if not n_clicks or not rows:
        return no_update, no_update
    q = clean_query(guard.as_text(state.get("q")), services.explorer.max_query_chars)
    placed = services.explorer.engine.place_query(q) if q else None
    return highlight_store(cp.highlight_label(q), rows, q, placed), MAP_TAB


wiring.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                Output(ids.TABS, "active_tab", allow_duplicate=True),
                Input({"type": cp.ITEM, "mode": ALL, "row": ALL}, "n_clicks"),
                prevent_initial_call=True)(open_dataset)


@wiring.callback(Output(cp.INPUT, "value"), Output(cp.INPUT, "n_submit"),
                 Input({"type": cp.EXAMPLE, "index": ALL}, "n_clicks"), State(cp.INPUT, "n_submit"),
                 prevent_initial_call=True)
def use_example(services, _clicks, n_submit):
    """A click on an example question: it goes into the box and is compared (as Enter would)."""
    trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: links just drawn
    i = guard.as_int(trig.get("index"), 0, len(texts.EXAMPLE_QUESTIONS) - 1) if trig else None
    if i is None:
        return no_update, no_update
    return texts.EXAMPLE_QUESTIONS[i], (guard.as_int(n_submit, 0, 10**9) or 0) + 1
