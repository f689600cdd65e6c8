"""Wiring shared by several pages."""

from __future__ import annotations

from dash import ALL, Input, Output, ctx, no_update

from components import ids

MAP_TAB = "carte"


def register_open_dataset(app, services, item_type: str) -> None:
    """A click on a dataset item ``{"type": item_type, "row": N}`` opens its card on the map page."""

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input({"type": item_type, "row": ALL}, "n_clicks"), prevent_initial_call=True)
    def open_dataset(clicks):
        trig = ctx.triggered_id
        if not isinstance(trig, dict) or not any(c for c in clicks or [] if c):
            return no_update, no_update
        if not (ctx.triggered and ctx.triggered[0].get("value")):
            return no_update, no_update  # a list was re-rendered, nothing was clicked
        row = int(trig["row"])
        if not 0 <= row < services.explorer.n:
            return no_update, no_update
        return str(services.explorer.datasets["id"].iat[row]), MAP_TAB
