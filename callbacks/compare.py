"""Callbacks of the "Comparer" page (wiring only: Explorer -> builders).

    button / Enter ──> three result columns, overlap, nearest words, STATE
    "Voir sur la carte" ──> MAP_HIGHLIGHT (hybrid results + the query's place) + map tab
    a result ──> SELECTED + map tab
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, no_update

from callbacks import guard
from components import compare_page as cp
from components import ids
from components.figures import empty_figure
from models.core.store import ArtifactError
from models.serve.search import clean_query

log = logging.getLogger(__name__)

MAP_TAB = "carte"


def register(app, services) -> None:
    exp = services.explorer

    @app.callback(Output(cp.COLUMNS, "children"), Output(cp.OVERLAP, "figure"),
                  Output(cp.OVERLAP_TEXT, "children"), Output(cp.WORDS, "children"),
                  Output(cp.STATE, "data"), Output(cp.SHOW_ON_MAP, "disabled"),
                  Output(cp.STATUS, "children"),
                  Input(cp.BUTTON, "n_clicks"), Input(cp.INPUT, "n_submit"), State(cp.INPUT, "value"),
                  prevent_initial_call=True)
    def run_compare(_clicks, _submits, text):
        q = clean_query(guard.as_text(text), exp.max_query_chars)
        if not q:
            return (None, cp.visualize_overlap(None), "", [], None, True,
                    dbc.Alert("Saisissez une requête à comparer.", color="info", className="py-2"))
        try:
            words = "word" in services.modes
            data = exp.compare(q, modes=cp.COMPARED_MODES, with_words=words)
        except (ArtifactError, ValueError) as exc:
            log.warning("compare %r failed: %s", q[:80], exc)
            return (None, empty_figure("Comparaison impossible", height=240), "", [], None, True,
                    dbc.Alert("La comparaison a échoué : ce build ne sert pas tous les modes.",
                              color="warning", className="py-2"))
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
        data = {"label": f"Comparer : {q}", "rows": rows}
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
