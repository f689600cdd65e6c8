"""Callbacks of the map's tools (components/map_tools.py, components/selection.py): the year
filter and its play button, the selection panel.

Data flow::

    lasso / box on the map ──(browser: row ids only, not 5,000 point objects)──> MAP_SELECTED_ROWS
    MAP_SELECTED_ROWS ──> MAP_SELECTION + selection panel + the "Sélection" side tab
                      └─> the map's highlight (callbacks/topics.py)
    "Exporter la sélection (CSV)" ──> a CSV download of exactly MAP_SELECTION's rows
    "Disposer la sélection (MDS)" ──> MDS figure of the selection (at most 1,000 points)
    « Télécharger l'image » ──(browser: view, labels shown)──> MAP_IMAGE_VIEW ──> PNG download

    "Filtrer par année" switched on ──> MAP_TIME_DATA (one byte per dataset and kind of date)
    switch, range, kind, MAP_TIME_DATA, MAP_FILTER (the search filters, callbacks/explorer.py)
        ──(browser)──> one fading of the map (both masks at once) + count
    play button ──(browser: a timer, each frame)──> range + 1 year, fading, count

Fading and play run in the browser (assets/30-map-mask.js): a frame costs no server round trip.
"""

from __future__ import annotations

import threading

from dash import ClientsideFunction, Input, Output, State, dcc, no_update

from callbacks import guard
from callbacks.common import Wiring
from components import ids
from components import selection as sel
from components.map import BASE_TRACE, HIGHLIGHT_TRACE, SELECTED_TRACE, coloured_map
from components.map_image import PNG_NAME, image_figure, image_status, png_bytes, png_size
from components.topics import FRESHNESS_COLOUR, map_colour_options, visualize_selection_mds
from models.serve.map_time import year_payload
from models.serve.selection import clean_rows, export_csv, summarize

wiring = Wiring()
_YEARS_LOCK = threading.Lock()  # the year payload is computed once per app
# selectedData -> the rows it selects, in the browser (components.map.row_from_point's rule): a
# lasso of 20,000 points would otherwise upload ~2.5 MB of point objects, twice
SELECTED_ROWS_JS = """
function(selected) {
    var pts = selected && Array.isArray(selected.points) ? selected.points : [];
    var rows = [], seen = new Set();
    for (var i = 0; i < pts.length; i++) {
        var p = pts[i] || {}, v = null;
        if (p.curveNumber === BASE) {
            v = p.pointIndex !== undefined ? p.pointIndex : p.pointNumber;
        } else if (p.curveNumber === HIGHLIGHT || p.curveNumber === SELECTED) {
            v = Array.isArray(p.customdata) ? p.customdata[0] : p.customdata;
        }
        if (Number.isInteger(v) && v >= 0 && !seen.has(v)) { seen.add(v); rows.push(v); }
    }
    return rows.length ? {"rows": rows} : null;
}
""".replace("BASE", str(BASE_TRACE)).replace("HIGHLIGHT", str(HIGHLIGHT_TRACE)).replace(
    "SELECTED", str(SELECTED_TRACE))


def register(app, services) -> None:
    wiring.register(app, services)


def selection_of(services, selection) -> list:
    """The rows of the MAP_SELECTION store (unchecked: the services check them)."""
    rows = selection.get("rows") if isinstance(selection, dict) else None
    return rows or []


# ---- the year filter ----------------------------------------------------------------------
@wiring.callback(Output(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_TIME_ON, "value"),
                 State(ids.MAP_TIME_DATA, "data"), prevent_initial_call=True)
def send_years(services, on, current):
    if not on or current:
        return no_update
    with _YEARS_LOCK:
        if "map_years" not in services.memo:
            services.memo["map_years"] = year_payload(services.explorer.datasets)
        return services.memo["map_years"]


wiring.clientside(ClientsideFunction(namespace="mapTime", function_name="update"),
                  Output(ids.MAP_TIME_COUNT, "children"), Input(ids.MAP_TIME_ON, "value"),
                  Input(ids.MAP_TIME_RANGE, "value"), Input(ids.MAP_TIME_KIND, "value"),
                  Input(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_FILTER, "data"))
wiring.clientside(ClientsideFunction(namespace="mapTime", function_name="toggle"),
                  Output(ids.MAP_TIME_PLAY, "children"), Output(ids.MAP_TIME_ON, "value"),
                  Input(ids.MAP_TIME_PLAY, "n_clicks"), prevent_initial_call=True)

# ---- the selection ------------------------------------------------------------------------
wiring.clientside(SELECTED_ROWS_JS, Output(ids.MAP_SELECTED_ROWS, "data"),
                  Input(ids.MAP, "selectedData"), prevent_initial_call=True)


@wiring.callback(Output(ids.MAP_SELECTION, "data"), Output(ids.SELECTION_PANEL, "children"),
                 Output(ids.SIDE_TABS, "active_tab", allow_duplicate=True),
                 Output(ids.SELECTION_EXPORT, "disabled"), Output(ids.SELECTION_MDS_BUTTON, "disabled"),
                 Output(ids.SELECTION_MDS, "children"),
                 Input(ids.MAP_SELECTED_ROWS, "data"), prevent_initial_call=True)
def select(services, selected):
    exp = services.explorer
    rows = guard.selected_rows(selected, exp.n, exp.n)
    if not rows:
        return None, sel.selection_panel(None), no_update, True, True, None
    return {"rows": rows}, sel.selection_panel(summarize(exp, rows)), ids.SIDE_SELECTION, False, False, None


@wiring.callback(Output(ids.SELECTION_DOWNLOAD, "data"), Input(ids.SELECTION_EXPORT, "n_clicks"),
                 State(ids.MAP_SELECTION, "data"), prevent_initial_call=True)
def export(services, n_clicks, selection):
    rows = selection_of(services, selection)
    if not n_clicks or not rows:
        return no_update
    return dcc.send_string(export_csv(services.explorer.datasets, rows), sel.CSV_NAME, type="text/csv")


@wiring.callback(Output(ids.SELECTION_MDS, "children", allow_duplicate=True),
                 Input(ids.SELECTION_MDS_BUTTON, "n_clicks"), State(ids.MAP_SELECTION, "data"),
                 prevent_initial_call=True)
def mds(services, n_clicks, selection):
    exp = services.explorer
    rows = selection_of(services, selection)
    rows = clean_rows(rows, exp.n).tolist() if rows else []
    if not n_clicks:
        return no_update
    if len(rows) < 3:
        return sel.mds_block(None)
    with guard.HEAVY.slot() as ok:  # shared with the Thèmes page's MDS and the map image
        if not ok:
            return sel.busy_note(guard.BUSY)
        res = exp.topics.selection_mds(rows, max_points=sel.MDS_POINTS)
    r = res["rows"]
    groups = exp.topics.default.of_rows(r) if exp.topics.default.available else None
    ds = exp.datasets
    fig = visualize_selection_mds(res["x"], res["y"], r, ds["title"].iloc[r].tolist(),
                                  ds["organization"].iloc[r].tolist(), groups=groups,
                                  title=sel.mds_title(len(r), res["truncated"]))
    return sel.mds_block(fig)


# ---- the map image ------------------------------------------------------------------------
wiring.clientside(ClientsideFunction(namespace="mapImage", function_name="view"),
                  Output(ids.MAP_IMAGE_VIEW, "data"), Input(ids.MAP_IMAGE_BUTTON, "n_clicks"),
                  prevent_initial_call=True)


def has_colours(app, services) -> bool:
    """The colour selector exists only when the build has several colourings (as app.py); a
    build whose topic files are damaged has none (app.py empties topic_table)."""
    exp = services.explorer
    try:
        return len(exp.topics.default.table) > 0 and bool(
            map_colour_options(exp.topics.summary.get("models", []), exp.topics.n_clusters, freshness=True))
    except Exception:  # the image then uses the default colouring
        return False


def map_colouring(services, colour) -> tuple | None:
    """The colouring the map shows (the selector's ``colour``; the topics' by default)."""
    exp = services.explorer
    choice = ((exp.freshness.map_colouring() if colour == FRESHNESS_COLOUR
               else exp.topics.map_colouring(colour)) if isinstance(colour, str) else None)
    if choice is None and exp.topics.default.available:
        topics = exp.topics.default.table
        choice = (exp.topics.default.dominant, topics["label"].tolist(), topics["prevalence"].tolist(), "")
    return choice


def download_image(services, view, colour=None):
    if not isinstance(view, dict):
        return no_update, no_update
    base = coloured_map(services.explorer.records.coords, map_colouring(services, colour))
    w, h, scale = png_size(view)
    with guard.HEAVY.slot() as ok:
        if not ok:
            return no_update, image_status(guard.BUSY)
        try:
            png = png_bytes(image_figure(base, view), w, h, scale)
        except RuntimeError as exc:
            return no_update, image_status(str(exc), failed=True)
    return dcc.send_bytes(png, PNG_NAME), image_status()


IMAGE = (Output(ids.MAP_IMAGE_DOWNLOAD, "data"), Output(ids.MAP_IMAGE_STATUS, "children"),
         Input(ids.MAP_IMAGE_VIEW, "data"))
wiring.callback(*IMAGE, State(ids.MAP_COLOUR, "value"), prevent_initial_call=True,
                when=has_colours)(download_image)
wiring.callback(*IMAGE, prevent_initial_call=True,
                when=lambda app, services: not has_colours(app, services))(download_image)
