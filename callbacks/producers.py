"""Callbacks of the "Producteurs" page (wiring only: ProducerService -> builders).

Data flow (each arrow one callback)::

    typed text / value ──> dropdown options (filtered server-side, small payload)
    producer ──> key figures, datasets list, MAP_HIGHLIGHT, "find" dataset choices
    producer ──> topic mix, quality chart, "à corriger en priorité"
    producer, threshold ──> near-duplicates
    producer ──> similar producers, MDS neighbourhood
    overview grid's page request (sort, filters) ──> a page of rows;  a row ──> producer
    producer ──> detail shown (and scrolled to)
    "Voir sur la carte" ──> MAP_HIGHLIGHT again + map tab
    a dataset title ──> SELECTED + map tab;  a similar producer ──> dropdown value
    "Tester" ──> findability table
"""

from __future__ import annotations

import logging
import math

from dash import ALL, Input, Output, State, ctx, no_update

from callbacks import guard
from callbacks.common import MAP_TAB, register_open_from_grid
from components import ids
from components import labels as L
from components import producers_page as pp
from components.figures import empty_figure
from components.labels import NO_TITLE, clean_text
from models.core.producers import DUPLICATE_THRESHOLD

log = logging.getLogger(__name__)

N_OPTIONS = 30
N_LISTED = 100  # rows of the producer's lists, 20 a page (one grid component each)
N_PRIORITIES = 50
N_DUPLICATES = 50
N_FIND_OPTIONS = 500
FINDABILITY_K = 100
NO_ACTIVE = L.PRODUCERS_NO_ACTIVE


def _plain(value):
    """numpy / pandas scalars -> Python (None for NaN)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(df) -> list[dict]:
    if df is None:
        return []
    return [{k: (v if isinstance(v, list | tuple) else _plain(v)) for k, v in r.items()}
            for r in df.to_dict("records")]


def _reasons_list(value) -> list[str]:
    return [str(x) for x in value] if value is not None else []


def register(app, services) -> None:
    register_overview(app, services)

    def service():
        return services.explorer.producers

    def index(value):
        value = guard.as_key(value)
        return service().index_of(value) if value else None

    @app.callback(Output(pp.SELECT, "options"), Input(pp.SELECT, "search_value"),
                  Input(pp.SELECT, "value"))
    def options(search_value, value):
        return service().options(guard.as_text(search_value, guard.MAX_SEARCH_VALUE_CHARS),
                                 limit=N_OPTIONS, keep=guard.as_key(value))

    @app.callback(Output(pp.FIGURES, "children"), Output(pp.DATASETS, "children"),
                  Output(pp.SHOW_ON_MAP, "disabled"), Output(pp.FIND_DATASET, "options"),
                  Output(pp.FIND_DATASET, "value"),
                  Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Input(pp.SELECT, "value"), prevent_initial_call=True)
    def show_producer(value):
        p = index(value)
        if p is None:
            return (pp.key_figures(None), pp.datasets_table([], 0), True, [], None,
                    {"label": "", "rows": []})
        P = service()
        listing = P.datasets(p)
        items = records(listing.head(N_LISTED))
        summary = {k: _plain(v) for k, v in P.summary(p).items()}
        figures = pp.key_figures(summary, mean_score=P.mean_score(p), catalogue_score=P.mean_score())
        find_options = [{"label": clean_text(t, 120) or NO_TITLE, "value": int(r)}
                        for r, t in zip(listing["row"].head(N_FIND_OPTIONS),
                                        listing["title"].head(N_FIND_OPTIONS), strict=True)]
        highlight = {"label": str(summary["organization"]), "rows": [int(r) for r in listing["row"]]}
        return (figures, pp.datasets_table(items, len(listing)), not items, find_options,
                find_options[0]["value"] if find_options else None, highlight)

    @app.callback(Output(pp.TOPICS, "figure"), Output(pp.QUALITY_CHART, "figure"),
                  Output(pp.QUALITY_LIST, "children"), Input(pp.SELECT, "value"),
                  prevent_initial_call=True)
    def topics_and_quality(value):
        p = index(value)
        if p is None:
            return (empty_figure(pp.CHOOSE, height=420), empty_figure(pp.CHOOSE, height=360),
                    pp.empty_state())
        P = service()
        if len(P.rows(p)) == 0:
            return (empty_figure(NO_ACTIVE, height=420), empty_figure(NO_ACTIVE, height=360),
                    pp.empty_state(NO_ACTIVE))
        mix = P.topic_mix(p)
        name = str(P.table["organization"].iat[p])
        topic_fig = (empty_figure(L.PRODUCERS_NO_TOPICS, height=420) if mix is None
                     else pp.visualize_topic_mix(mix["label"].tolist(), mix["producer"].tolist(),
                                                 mix["catalogue"].tolist(), name=name))
        ov = P.quality_overview(p)
        q_fig = pp.visualize_quality_overview(ov["label"].tolist(), ov["producer"].tolist(),
                                              ov["catalogue"].tolist())
        prio = P.quality(p, limit=N_PRIORITIES)
        items = [{"row": int(r.row), "title": r.title, "url": r.url, "score": int(r.score),
                  "views": int(r.views), "reasons": _reasons_list(r.reasons)}
                 for r in prio.itertuples()]
        return topic_fig, q_fig, pp.priority_table(items)

    @app.callback(Output(pp.DUPLICATES, "children"), Input(pp.SELECT, "value"),
                  Input(pp.DUP_THRESHOLD, "value"), prevent_initial_call=True)
    def duplicates(value, threshold):
        p = index(value)
        if p is None:
            return pp.empty_state()
        t = guard.as_float(threshold, 0.0, 1.01, default=DUPLICATE_THRESHOLD)
        dup = service().near_duplicates(p, threshold=t, limit=N_DUPLICATES)
        return pp.duplicates_table(records(dup), t)

    @app.callback(Output(pp.SIMILAR, "children"), Output(pp.NEIGHBOURHOOD, "figure"),
                  Input(pp.SELECT, "value"), prevent_initial_call=True)
    def similar(value):
        p = index(value)
        if p is None:
            return pp.empty_state(), empty_figure(pp.CHOOSE, height=460)
        P = service()
        sim = records(P.similar_producers(p))
        nb = P.neighbourhood(p)
        fig = (pp.visualize_neighbourhood([], []) if nb is None else
               pp.visualize_neighbourhood(records(nb["producers"]), records(nb["datasets"])))
        return pp.similar_table(sim), fig

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(pp.SHOW_ON_MAP, "n_clicks"), State(pp.SELECT, "value"),
                  prevent_initial_call=True)
    def show_on_map(n_clicks, value):
        p = index(value)
        if not n_clicks or p is None:
            return no_update, no_update
        P = service()
        rows = sorted(int(r) for r in P.rows(p))
        return {"label": str(P.table["organization"].iat[p]), "rows": rows}, MAP_TAB

    register_open_from_grid(app, services, {"type": pp.LIST_GRID, "list": ALL})

    @app.callback(Output(pp.SELECT, "value"), Input({"type": pp.PRODUCER_ITEM, "value": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def open_producer(clicks):
        trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)
        if trig is None or index(trig.get("value")) is None:
            return no_update
        return trig["value"]

    @app.callback(Output(pp.FIND_BUTTON, "disabled"), Input(pp.FIND_DATASET, "value"))
    def find_enabled(row):
        return guard.as_row(row, services.explorer.n) is None

    @app.callback(Output(pp.FIND_RESULT, "children"), Input(pp.FIND_BUTTON, "n_clicks"),
                  State(pp.FIND_DATASET, "value"), State(pp.FIND_QUERIES, "value"),
                  prevent_initial_call=True)
    def findability(n_clicks, row, queries):
        row = guard.as_row(row, services.explorer.n)
        if not n_clicks or row is None:
            return no_update
        lines = [q.strip() for q in guard.as_text(queries, 1000).splitlines() if q.strip()][:pp.MAX_QUERIES]
        f = service().findability(row, lines, k=FINDABILITY_K)
        return pp.findability_table(records(f), k=FINDABILITY_K)



def register_overview(app, services) -> None:
    """The overview grid of every producer: its pages, a click on a row, the detail shown."""
    def service():
        return services.explorer.producers

    @app.callback(Output(pp.OVERVIEW, "getRowsResponse"), Input(pp.OVERVIEW, "getRowsRequest"))
    def overview_page(request):
        if not isinstance(request, dict):
            return no_update
        # the models are checked item by item by overview_page (anything malformed is ignored)
        page, total = service().overview_page(guard.as_int(request.get("startRow"), 0, 10**7) or 0,
                                              guard.as_int(request.get("endRow"), 0, 10**7) or 0,
                                              guard.as_list(request.get("sortModel"), 20),
                                              guard.as_dict(request.get("filterModel")))
        return {"rowData": pp.overview_rows(records(page)), "rowCount": total}

    @app.callback(Output(pp.SELECT, "value", allow_duplicate=True), Input(pp.OVERVIEW, "cellClicked"),
                  prevent_initial_call=True)
    def open_from_overview(cell):
        value = guard.as_key(guard.as_dict(cell).get("rowId"))
        return value if service().index_of(value) is not None else no_update

    @app.callback(Output(pp.DETAIL, "hidden"), Input(pp.SELECT, "value"))
    def detail_hidden(value):
        return service().index_of(guard.as_key(value)) is None

    app.clientside_callback(
        """function (value) {
            var el = document.getElementById("DETAIL");
            if (value && el) {
                window.setTimeout(function () { el.scrollIntoView({block: "start"}); }, 50);
            }
            return value || null;
        }""".replace("DETAIL", pp.DETAIL),
        Output(pp.SCROLL, "data"), Input(pp.SELECT, "value"), prevent_initial_call=True)
