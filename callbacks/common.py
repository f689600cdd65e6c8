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
