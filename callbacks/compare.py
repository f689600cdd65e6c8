"""Callbacks of the "Comparer" page (wiring only: Explorer -> builders).

    page load (an example question in the box), button / Enter ──> three result columns, overlap,
        nearest words, STATE
    an example question ──> the box, then Enter
    "Voir sur la carte" ──> MAP_HIGHLIGHT (hybrid results + the query's place) + map tab
    a result ──> SELECTED + map tab
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks import guard
from components import compare_page as cp
from components import ids
from components import labels as L
from components.figures import empty_figure
from models.core.store import ArtifactError
from models.serve.search import clean_query

log = logging.getLogger(__name__)

MAP_TAB = "carte"


def register(app, services) -> None:
    exp = services.explorer
    register_examples(app, services)
    # the example question's comparison, made on every page load: computed once per process
    # (a few entries at most: the page-load question is whatever the client posts)
    on_load: dict[str, dict] = {}

    @app.callback(Output(cp.COLUMNS, "children"), Output(cp.OVERLAP, "figure"),
                  Output(cp.OVERLAP_TEXT, "children"), Output(cp.WORDS, "children"),
                  Output(cp.STATE, "data"), Output(cp.SHOW_ON_MAP, "disabled"),
                  Output(cp.STATUS, "children"),
                  Input(cp.BUTTON, "n_clicks"), Input(cp.INPUT, "n_submit"), State(cp.INPUT, "value"))
    def run_compare(_clicks, _submits, text):
        q = clean_query(guard.as_text(text), exp.max_query_chars)
        if not q:
            if ctx.triggered_id is None:  # page load without an example question
                raise PreventUpdate
            return (None, cp.visualize_overlap(None), "", [], None, True,
                    dbc.Alert(L.COMPARE_EMPTY, color="info", className="py-2"))
        try:
            page_load = ctx.triggered_id is None
            data = on_load.get(q) if page_load else None
            if data is None:
                data = exp.compare(q, modes=cp.COMPARED_MODES, with_words="word" in services.modes)
                if page_load and len(on_load) < 4:
                    on_load[q] = data
        except (ArtifactError, ValueError) as exc:
            log.warning("compare %r failed: %s", q[:80], exc)
            return (None, empty_figure("Comparaison impossible", height=240), "", [], None, True,
                    dbc.Alert(L.COMPARE_FAILED, color="warning", className="py-2"))
        return (cp.result_columns(data["columns"], depth=data["depth"]),
                cp.visualize_overlap(data["overlap"]),
                cp.overlap_sentence(data["overlap"]), cp.words_line(data["words"]),
                {"q": q, "rows": data["rows"]}, not data["rows"], None)

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(cp.SHOW_ON_MAP, "n_clicks"), State(cp.STATE, "data"), prevent_initial_call=True)
    def show_on_map(n_clicks, state):
        state = guard.as_dict(state)
        rows = guard.as_rows(state.get("rows"), exp.n)
        if not n_clicks or not rows:
            return no_update, no_update
        q = clean_query(guard.as_text(state.get("q")), exp.max_query_chars)
        data = {"label": f"Comparer\u202f: {q}", "rows": rows}
        placed = exp.place_query(q) if q else None
        if placed:
            data["query"] = {"x": placed["x"], "y": placed["y"], "text": q}
        return data, MAP_TAB

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input({"type": cp.ITEM, "mode": ALL, "row": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(_clicks):
        trigger = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: items just drawn
        row = guard.as_row(trigger.get("row"), exp.n) if trigger else None
        if row is None:
            return no_update, no_update
        return str(exp.datasets["id"].iat[row]), MAP_TAB


def register_examples(app, services) -> None:
    """A click on an example question: it goes into the box and is compared (as Enter would)."""
    @app.callback(Output(cp.INPUT, "value"), Output(cp.INPUT, "n_submit"),
                  Input({"type": cp.EXAMPLE, "index": ALL}, "n_clicks"), State(cp.INPUT, "n_submit"),
                  prevent_initial_call=True)
    def use_example(_clicks, n_submit):
        trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: links just drawn
        i = guard.as_int(trig.get("index"), 0, len(L.EXAMPLE_QUESTIONS) - 1) if trig else None
        if i is None:
            return no_update, no_update
        return L.EXAMPLE_QUESTIONS[i], (guard.as_int(n_submit, 0, 10**9) or 0) + 1
