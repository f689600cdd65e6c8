"""Wiring shared by several pages."""

from __future__ import annotations

from dash import ALL, Input, Output, ctx, no_update

from callbacks import guard
from components import ids

MAP_TAB = "carte"


def register_open_dataset(app, services, item_type: str) -> None:
    """A click on a dataset item ``{"type": item_type, "row": N}`` opens its card on the map page."""

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input({"type": item_type, "row": ALL}, "n_clicks"), prevent_initial_call=True)
    def open_dataset(clicks):
        trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: a list re-rendered
        row = guard.as_row(trig.get("row"), services.explorer.n) if trig else None
        if row is None:
            return no_update, no_update
        return str(services.explorer.datasets["id"].iat[row]), MAP_TAB


def grid_row(cell, n: int) -> int | None:
    """The dataset a click on a list's grid opens (:mod:`components.data_grid`): ``cellClicked``
    carries the row's key (a row id, or "row_a:row_b" for a pair of near duplicates, whose second
    title opens ``row_b``); a click on the link column opens data.gouv.fr, not the card."""
    if not isinstance(cell, dict) or cell.get("colId") == "link":
        return None
    parts = str(cell.get("rowId") or "").split(":")
    pick = parts[1] if cell.get("colId") == "title_b" and len(parts) == 2 else parts[0]
    try:
        return guard.as_row(int(pick), n) if pick.isdigit() else None
    except ValueError:
        return None


def register_open_from_grid(app, services, grid_id) -> None:
    """A click on a row of the grid ``grid_id`` (a string, or a pattern with ``ALL``) opens its
    card on the map page."""

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(grid_id, "cellClicked"), prevent_initial_call=True)
    def open_from_grid(_cells):
        row = grid_row(ctx.triggered[0]["value"] if ctx.triggered else None, services.explorer.n)
        if row is None:
            return no_update, no_update
        return str(services.explorer.datasets["id"].iat[row]), MAP_TAB
