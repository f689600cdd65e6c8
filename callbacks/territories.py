"""Callbacks of the "Territoires" page (wiring only: TerritoryService -> builders).

Data flow (each arrow one callback)::

    typed text / value ──> dropdown options (filtered server-side)
    territory, options ──> summary, datasets list, MAP_HIGHLIGHT, "Voir sur la carte" enabled
    level, territory ──> choropleth (selected territory outlined), overseas counts
    click on the choropleth ──> territory
    "Voir sur la carte" ──> MAP_HIGHLIGHT again + map tab
    a dataset title ──> SELECTED + map tab
    a territory of "les plus cités" ──> territory

The page opens on France (:func:`first_view`, rendered with the layout).
"""

from __future__ import annotations

import logging

from dash import ALL, Input, Output, State, ctx, no_update

from callbacks import guard
from callbacks.common import MAP_TAB, register_open_from_grid
from components import ids
from components import territories_page as tp

log = logging.getLogger(__name__)

N_OPTIONS = 20
N_LISTED = 200
N_TOP = 12


def territory_view(S, value, opts) -> tuple:
    """Summary, datasets list, "Voir sur la carte" disabled, map highlight of territory ``value``."""
    value = guard.as_key(value)
    e = S.entity(value)
    if e is None:
        return tp.summary(None, 0, enclosing=False, contained=False), \
            tp.datasets_table([], 0), True, {"label": "", "rows": []}
    opts = guard.as_choices(opts, (tp.ENCLOSING, tp.CONTAINED))
    enclosing, contained = tp.ENCLOSING in opts, tp.CONTAINED in opts
    listing = S.datasets(value, enclosing=enclosing, contained=contained)
    around = [S.label(v) for v in S.enclosing(value)] if enclosing else []
    items = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
             for r in listing.head(N_LISTED).to_dict("records")]
    hl = {"label": e["name"], "rows": sorted(int(r) for r in listing["row"])}
    return (tp.summary(e, len(listing), enclosing=enclosing, contained=contained, around=around),
            tp.datasets_table(items, len(listing), name=e["name"]), listing.empty, hl)


def first_view(services) -> dict:
    """What the page shows on first open (keyword arguments of ``build_territories_page``):
    France chosen, its datasets listed, and the territories the most datasets name."""
    S = services.explorer.territories
    if not S.available:
        return {}
    value = S.country
    summary, table, disabled, _ = territory_view(S, value, [])
    return {"value": value, "summary": summary if value else None, "datasets": table if value else None,
            "can_show": not disabled, "top": S.most_named(N_TOP)}


MAP_LEVELS = ("departement", "region")


def register(app, services) -> None:
    def service():
        return services.explorer.territories

    def flags(options) -> tuple[bool, bool]:
        options = guard.as_choices(options, (tp.ENCLOSING, tp.CONTAINED))
        return tp.ENCLOSING in options, tp.CONTAINED in options

    def highlight(value, options) -> dict:
        S = service()
        value = guard.as_key(value)
        e = S.entity(value)
        if e is None:
            return {"label": "", "rows": []}
        enclosing, contained = flags(options)
        rows = S.rows(value, enclosing=enclosing, contained=contained)
        return {"label": e["name"], "rows": [int(r) for r in rows]}

    def map_figure(level: str, value: str | None):
        S = service()
        data = S.map_data(level)
        on = data["on_map"]
        selected = []
        e = S.entity(value)
        if e is not None and len(on):
            wanted = set(e["departements"]) if level == "departement" else {e["region"] or ""}
            if e["level"] == level:
                wanted = {e["code"]}
            selected = [c for c, ent in zip(on["code"], on["entity"], strict=True) if ent in wanted]
        if len(on):
            fig = tp.visualize_choropleth(
                data["geojson"], on["code"].tolist(), on["name"].tolist(), on["n"].tolist(),
                on["n_direct"].tolist(), level=level,
                values=[f"{level}:{c}" for c in on["entity"]], selected=selected)
        else:
            fig = tp.visualize_choropleth(data["geojson"], [], [], [], level=level)
        off = data["off_map"]
        off_items = [{"code": c, "name": n, "n": int(k)}
                     for c, n, k in zip(off["code"], off["name"], off["n"], strict=True)]
        return fig, tp.off_map_table(off_items, level)

    if not services.explorer.territories.available:
        log.warning("territories page: this build has no territories; the page explains why")
        return

    @app.callback(Output(tp.SEARCH, "options"), Input(tp.SEARCH, "search_value"),
                  Input(tp.SEARCH, "value"))
    def options(search_value, value):
        return service().options(guard.as_text(search_value, guard.MAX_SEARCH_VALUE_CHARS),
                                 limit=N_OPTIONS, keep=guard.as_key(value))

    @app.callback(Output(tp.SUMMARY, "children"), Output(tp.DATASETS, "children"),
                  Output(tp.SHOW_ON_MAP, "disabled"),
                  Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Input(tp.SEARCH, "value"), Input(tp.OPTIONS, "value"), prevent_initial_call=True)
    def show_territory(value, opts):
        return territory_view(service(), value, opts)

    @app.callback(Output(tp.CHOROPLETH, "figure"), Output(tp.OFF_MAP, "children"),
                  Input(tp.LEVEL, "value"), Input(tp.SEARCH, "value"))
    def choropleth(level, value):
        return map_figure(guard.as_choice(level, MAP_LEVELS, "departement"), guard.as_key(value))

    @app.callback(Output(tp.SEARCH, "value"), Input(tp.CHOROPLETH, "clickData"),
                  prevent_initial_call=True)
    def pick_on_map(click):
        value = guard.as_key(guard.first_point(click).get("customdata"))
        return value if service().entity(value) is not None else no_update

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(tp.SHOW_ON_MAP, "n_clicks"), State(tp.SEARCH, "value"),
                  State(tp.OPTIONS, "value"), prevent_initial_call=True)
    def show_on_map(n_clicks, value, opts):
        value = guard.as_key(value)
        if not n_clicks or service().entity(value) is None:
            return no_update, no_update
        return highlight(value, opts), MAP_TAB

    register_open_from_grid(app, services, tp.DATASET_GRID)

    @app.callback(Output(tp.SEARCH, "value", allow_duplicate=True),
                  Input({"type": tp.TOP_ITEM, "value": ALL}, "n_clicks"), prevent_initial_call=True)
    def open_most_named(_clicks):
        trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: items just drawn
        value = guard.as_key(trig.get("value")) if trig else None
        return value if service().entity(value) is not None else no_update
