"""Callbacks of the map's tools (components/map_tools.py, components/selection.py): the year
filter and its play button, the selection panel.

Data flow::

    lasso / box on the map ──(browser: row ids only, not 5,000 point objects)──> MAP_SELECTED_ROWS
    MAP_SELECTED_ROWS ──> MAP_SELECTION + selection panel + the "Sélection" side tab
                      └─> the map's highlight (callbacks/topics.py)
    "Exporter la sélection (CSV)" ──> a CSV download of exactly MAP_SELECTION's rows
    "Disposer la sélection (MDS)" ──> MDS figure of the selection (at most 1,000 points)
    « Télécharger l'image » ──(browser: view, labels shown)──> MAP_IMAGE_VIEW ──> PNG download

    "Filtrer par année" switched on ──> MAP_TIME_DATA (one byte per dataset and kind of date)
    switch, range, kind, MAP_TIME_DATA, MAP_FILTER (the search filters, callbacks/explorer.py)
        ──(browser)──> one fading of the map (both masks at once) + count
    play button ──(browser: a timer, each frame)──> range + 1 year, fading, count

Fading and play run in the browser (assets/30-map-mask.js): a frame costs no server round trip.
"""

from __future__ import annotations

import threading

from dash import ClientsideFunction, Input, Output, State, dcc, html, no_update

from callbacks import guard
from components import ids
from components.figures import empty_figure
from components.map import BASE_TRACE, HIGHLIGHT_TRACE, SELECTED_TRACE, visualize_map
from components.map_image import image_figure, png_bytes, png_size
from components.selection import selection_panel
from components.topics import FRESHNESS_COLOUR, map_colour_options, visualize_selection_mds
from models.serve.map_time import year_payload
from models.serve.selection import clean_rows, export_csv, summarize

MDS_POINTS = 1000
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
CSV_NAME = "selection-carte.csv"
PNG_NAME = "carte-catalogue.png"


def register(app, services) -> None:
    exp = services.explorer
    cache: dict = {}
    lock = threading.Lock()

    def years():
        with lock:
            if "years" not in cache:
                cache["years"] = year_payload(exp.datasets)
            return cache["years"]

    @app.callback(Output(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_TIME_ON, "value"),
                  State(ids.MAP_TIME_DATA, "data"), prevent_initial_call=True)
    def send_years(on, current):
        if not on or current:
            return no_update
        return years()

    app.clientside_callback(ClientsideFunction(namespace="mapTime", function_name="update"),
                            Output(ids.MAP_TIME_COUNT, "children"), Input(ids.MAP_TIME_ON, "value"),
                            Input(ids.MAP_TIME_RANGE, "value"), Input(ids.MAP_TIME_KIND, "value"),
                            Input(ids.MAP_TIME_DATA, "data"), Input(ids.MAP_FILTER, "data"))
    app.clientside_callback(ClientsideFunction(namespace="mapTime", function_name="toggle"),
                            Output(ids.MAP_TIME_PLAY, "children"), Output(ids.MAP_TIME_ON, "value"),
                            Input(ids.MAP_TIME_PLAY, "n_clicks"), prevent_initial_call=True)

    datasets = exp.datasets
    app.clientside_callback(SELECTED_ROWS_JS, Output(ids.MAP_SELECTED_ROWS, "data"),
                            Input(ids.MAP, "selectedData"), prevent_initial_call=True)

    @app.callback(Output(ids.MAP_SELECTION, "data"), Output(ids.SELECTION_PANEL, "children"),
                  Output(ids.SIDE_TABS, "active_tab", allow_duplicate=True),
                  Output(ids.SELECTION_EXPORT, "disabled"), Output(ids.SELECTION_MDS_BUTTON, "disabled"),
                  Output(ids.SELECTION_MDS, "children"),
                  Input(ids.MAP_SELECTED_ROWS, "data"), prevent_initial_call=True)
    def select(selected):
        rows = guard.selected_rows(selected, exp.n, exp.n)
        if not rows:
            return None, selection_panel(None), no_update, True, True, None
        return {"rows": rows}, selection_panel(summarize(exp, rows)), "selection", False, False, None

    @app.callback(Output(ids.SELECTION_DOWNLOAD, "data"), Input(ids.SELECTION_EXPORT, "n_clicks"),
                  State(ids.MAP_SELECTION, "data"), prevent_initial_call=True)
    def export(n_clicks, selection):
        rows = (selection or {}).get("rows") if isinstance(selection, dict) else None
        if not n_clicks or not rows:
            return no_update
        return dcc.send_string(export_csv(datasets, rows), CSV_NAME, type="text/csv")

    @app.callback(Output(ids.SELECTION_MDS, "children", allow_duplicate=True),
                  Input(ids.SELECTION_MDS_BUTTON, "n_clicks"), State(ids.MAP_SELECTION, "data"),
                  prevent_initial_call=True)
    def mds(n_clicks, selection):
        rows = (selection or {}).get("rows") if isinstance(selection, dict) else None
        rows = clean_rows(rows, exp.n).tolist() if rows else []
        if not n_clicks:
            return no_update
        if len(rows) < 3:
            return dcc.Graph(figure=empty_figure("Sélectionnez au moins trois jeux de données.", height=300))
        with guard.HEAVY.slot() as ok:  # shared with the Thèmes page's MDS and the map image
            if not ok:
                return html.Div(guard.BUSY, className="small text-warning")
            res = exp.topics.selection_mds(rows, max_points=MDS_POINTS)
        r = res["rows"]
        groups = exp.topic_of_rows(r) if exp.has_topics else None
        fig = visualize_selection_mds(res["x"], res["y"], r, datasets["title"].iloc[r].tolist(),
                                      datasets["organization"].iloc[r].tolist(), groups=groups,
                                      title=f"MDS de {len(r)} jeux sélectionnés"
                                            + (f" (les {MDS_POINTS} premiers)" if res["truncated"] else ""))
        return dcc.Graph(figure=fig, config={"displaylogo": False, "locale": "fr"})

    app.clientside_callback(ClientsideFunction(namespace="mapImage", function_name="view"),
                            Output(ids.MAP_IMAGE_VIEW, "data"), Input(ids.MAP_IMAGE_BUTTON, "n_clicks"),
                            prevent_initial_call=True)

    # the colour selector exists only when the build has several colourings (as app.py)
    try:  # a build whose topic files are damaged has no selector (app.py empties topic_table)
        has_colours = len(exp.topic_table) > 0 and bool(
            map_colour_options(exp.topics.summary.get("models", []), exp.topics.n_clusters, freshness=True))
    except Exception:  # the image then uses the default colouring
        has_colours = False

    @app.callback(Output(ids.MAP_IMAGE_DOWNLOAD, "data"), Output(ids.MAP_IMAGE_STATUS, "children"),
                  Input(ids.MAP_IMAGE_VIEW, "data"),
                  *([State(ids.MAP_COLOUR, "value")] if has_colours else []),
                  prevent_initial_call=True)
    def download_image(view, colour=None):
        if not isinstance(view, dict):
            return no_update, no_update
        choice = ((exp.freshness.map_colouring() if colour == FRESHNESS_COLOUR
                   else exp.topics.map_colouring(colour)) if isinstance(colour, str) else None)
        if choice is None and exp.has_topics:
            topics = exp.topic_table
            choice = (exp.dominant_topics, topics["label"].tolist(), topics["prevalence"].tolist(), "")
        base = visualize_map(exp.coords, *choice[:3]) if choice else visualize_map(exp.coords)
        if choice and choice[3]:
            base.update_layout(legend_title_text=choice[3])
        w, h, scale = png_size(view)
        with guard.HEAVY.slot() as ok:
            if not ok:
                return no_update, html.Span(guard.BUSY, className="text-warning")
            try:
                png = png_bytes(image_figure(base, view), w, h, scale)
            except RuntimeError as exc:
                return no_update, html.Span(str(exc), className="text-danger")
        return dcc.send_bytes(png, PNG_NAME), ""
