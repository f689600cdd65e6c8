"""Callbacks of « Où sont ces données ? » (wiring only: models.serve.coverage -> builders in
components/coverage_view.py).

Data flow::

    the button by the results header (the search shown), the button of the « Sélection » tab
    (the datasets selected on the map), the per-100,000 switch, the level
        ──> modal open, summary, choropleth, the answer kept for the CSV, what it shows
    « Télécharger » ──> the CSV of the counts
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, ctx, dcc, no_update

from components import coverage_view as cv
from components import ids
from models.serve.coverage import coverage, coverage_csv
from models.serve.filters import params_to_raw

log = logging.getLogger(__name__)


SEARCH, SELECTION = "search", "selection"
MAX_SELECTION = 100_000


def selection_rows(selection, n: int) -> list[int]:
    """The rows of the map selection store (``{"rows": [int, ...]}``), checked."""
    rows = selection.get("rows") if isinstance(selection, dict) else None
    if not isinstance(rows, list):
        return []
    return sorted({r for r in rows[:MAX_SELECTION]
                   if isinstance(r, int) and not isinstance(r, bool) and 0 <= r < n})


def search_of(state) -> tuple[str, dict] | None:
    """(query, raw filters) of the search state the browser holds; None when nothing is shown."""
    if not isinstance(state, dict):
        return None
    q = state.get("q") if isinstance(state.get("q"), str) else ""
    filters = state.get("filters") if isinstance(state.get("filters"), dict) else {}
    filters = {str(k)[:40]: v[:600] for k, v in filters.items() if isinstance(v, str)}
    if not q.strip() and not filters:
        return None
    return q, params_to_raw(filters)


def register(app, services) -> None:
    exp = services.explorer

    def outlines(level):
        try:
            return exp.territories.outlines(level)
        except Exception:  # the outlines are a bonus: the summary still answers
            log.exception("département outlines unavailable")
            return None

    @app.callback(Output(ids.COVERAGE_MODAL, "is_open"), Output(ids.COVERAGE_SUMMARY, "children"),
                  Output(ids.COVERAGE_FIGURE, "figure"), Output(ids.COVERAGE_DATA, "data"),
                  Output(ids.COVERAGE_SOURCE, "data"),
                  Input(ids.COVERAGE_OPEN, "n_clicks"), Input(ids.COVERAGE_OPEN_SELECTION, "n_clicks"),
                  Input(ids.COVERAGE_PER_100K, "value"), Input(ids.COVERAGE_LEVEL, "value"),
                  State(ids.SEARCH_STATE, "data"), State(ids.MAP_SELECTION, "data"),
                  State(ids.COVERAGE_SOURCE, "data"), prevent_initial_call=True)
    def show(n_search, n_selection, per_100k, level, state, selection, source):
        trigger = ctx.triggered_id
        if (trigger == ids.COVERAGE_OPEN and not n_search) or \
                (trigger == ids.COVERAGE_OPEN_SELECTION and not n_selection):
            return no_update, no_update, no_update, no_update, no_update
        if trigger == ids.COVERAGE_OPEN:
            source = SEARCH
        elif trigger == ids.COVERAGE_OPEN_SELECTION:
            source = SELECTION
        elif source not in (SEARCH, SELECTION):
            source = SEARCH
        is_open = True if trigger in (ids.COVERAGE_OPEN, ids.COVERAGE_OPEN_SELECTION) else no_update
        per = bool(per_100k)
        if source == SELECTION:
            rows = selection_rows(selection, exp.n)
            if not rows:
                return (is_open, cv.summary(None, cv.NO_SELECTION),
                        cv.empty_figure(cv.NO_SELECTION, height=460), None, source)
            out = coverage(exp, "", per_inhabitants=per, rows=rows)
        else:
            search = search_of(state)
            if search is None:
                return is_open, cv.summary(None), cv.empty_figure(cv.NO_SEARCH, height=460), None, source
            q, raw = search
            out = coverage(exp, q, filters=raw, per_inhabitants=per)
        level = "region" if level == "region" else "departement"
        key = "regions" if level == "region" else "departements"
        counts = out["per_100k"][key] if per else out[key]
        if level == "region":
            names = {k.split(":", 1)[1]: v for k, v in out["names"].items() if k.startswith("region:")}
        else:
            names = {k: v for k, v in out["names"].items() if not k.startswith("region:")}
        fig = cv.figure(outlines(level), counts, names, per_100k=per, level=level)
        return is_open, cv.summary(out), fig, out, source

    @app.callback(Output(ids.COVERAGE_DOWNLOAD, "data"), Input(ids.COVERAGE_CSV, "n_clicks"),
                  State(ids.COVERAGE_DATA, "data"), prevent_initial_call=True)
    def download(n_clicks, data):
        if not n_clicks or not isinstance(data, dict) or "departements" not in data:
            return no_update
        return dcc.send_string(coverage_csv(data), cv.CSV_FILENAME)
