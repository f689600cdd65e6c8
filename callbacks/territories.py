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
from callbacks.common import MAP_TAB, Wiring
from components import ids
from components import territories_page as tp
from components.map import EMPTY_HIGHLIGHT

log = logging.getLogger(__name__)
wiring = Wiring()


def register(app, services) -> None:
    if not services.explorer.territories.available:
        log.warning("territories page: this build has no territories; the page explains why")
        return
    wiring.register(app, services)


def flags(options) -> tuple[bool, bool]:
    """(enclosing, contained) of the page's checkboxes."""
    options = guard.as_choices(options, (tp.ENCLOSING, tp.CONTAINED))
    return tp.ENCLOSING in options, tp.CONTAINED in options


def territory_view(S, value, opts) -> tuple:
    """Summary, datasets list, "Voir sur la carte" disabled, map highlight of territory ``value``."""
    value = guard.as_key(value)
    e = S.entity(value)
    if e is None:
        return (tp.summary(None, 0, enclosing=False, contained=False), tp.datasets_table([], 0), True,
                EMPTY_HIGHLIGHT)
    enclosing, contained = flags(opts)
    listing = S.datasets(value, enclosing=enclosing, contained=contained)
    around = [S.label(v) for v in S.enclosing(value)] if enclosing else []
    items = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
             for r in listing.head(tp.N_LISTED).to_dict("records")]
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
            "can_show": not disabled, "top": S.most_named(tp.N_TOP)}


def map_figure(services, level: str, value: str | None) -> tuple:
    """(choropleth, overseas list) at ``level``, the territory ``value`` outlined."""
    S = services.explorer.territories
    data = S.map_data(level)
    on, off = data["on_map"], data["off_map"]
    areas = {k: on[k].tolist() for k in ("code", "name", "n", "n_direct", "entity")}
    off_items = [{"code": c, "name": n, "n": int(k)}
                 for c, n, k in zip(off["code"], off["name"], off["n"], strict=True)]
    return (tp.choropleth(data["geojson"], areas, level=level, entity=S.entity(value)),
            tp.off_map_table(off_items, level))


@wiring.callback(Output(tp.SEARCH, "options"), Input(tp.SEARCH, "search_value"), Input(tp.SEARCH, "value"))
def options(services, search_value, value):
    return services.explorer.territories.options(guard.as_text(search_value, guard.MAX_SEARCH_VALUE_CHARS),
                                                 limit=tp.N_OPTIONS, keep=guard.as_key(value))


@wiring.callback(Output(tp.SUMMARY, "children"), Output(tp.DATASETS, "children"),
                 Output(tp.SHOW_ON_MAP, "disabled"),
                 Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Input(tp.SEARCH, "value"), Input(tp.OPTIONS, "value"), prevent_initial_call=True)
def show_territory(services, value, opts):
    return territory_view(services.explorer.territories, value, opts)


@wiring.callback(Output(tp.CHOROPLETH, "figure"), Output(tp.OFF_MAP, "children"),
                 Input(tp.LEVEL, "value"), Input(tp.SEARCH, "value"))
def choropleth(services, level, value):
    return map_figure(services, guard.as_choice(level, tp.MAP_LEVELS, "departement"), guard.as_key(value))


@wiring.callback(Output(tp.SEARCH, "value"), Input(tp.CHOROPLETH, "clickData"), prevent_initial_call=True)
def pick_on_map(services, click):
    value = guard.as_key(guard.first_point(click).get("customdata"))
    return value if services.explorer.territories.entity(value) is not None else no_update


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(tp.SHOW_ON_MAP, "n_clicks"), State(tp.SEARCH, "value"),
                 State(tp.OPTIONS, "value"), prevent_initial_call=True)
def show_on_map(services, n_clicks, value, opts):
    S = services.explorer.territories
    value = guard.as_key(value)
    e = S.entity(value)
    if not n_clicks or e is None:
        return no_update, no_update
    enclosing, contained = flags(opts)
    rows = S.rows(value, enclosing=enclosing, contained=contained)
    return {"label": e["name"], "rows": [int(r) for r in rows]}, MAP_TAB


wiring.open_from_grid_on(tp.DATASET_GRID)


@wiring.callback(Output(tp.SEARCH, "value", allow_duplicate=True),
                 Input({"type": tp.TOP_ITEM, "value": ALL}, "n_clicks"), prevent_initial_call=True)
def open_most_named(services, _clicks):
    trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)  # None: items just drawn
    value = guard.as_key(trig.get("value")) if trig else None
    return value if services.explorer.territories.entity(value) is not None else no_update
