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
from callbacks.common import MAP_TAB, Wiring
from components import ids
from components import labels as texts
from components import producers_page as pp
from components.map import EMPTY_HIGHLIGHT
from models.core.producers import DUPLICATE_THRESHOLD

log = logging.getLogger(__name__)
wiring = Wiring()
MAX_ROW = 10**7  # the overview grid's row numbers


def register(app, services) -> None:
    wiring.register(app, services)


# ---- plain data ---------------------------------------------------------------------------
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


def index(services, value) -> int | None:
    """The position of a producer id the build knows, else None."""
    value = guard.as_key(value)
    return services.explorer.producers.index_of(value) if value else None


# ---- the overview grid --------------------------------------------------------------------
@wiring.callback(Output(pp.OVERVIEW, "getRowsResponse"), Input(pp.OVERVIEW, "getRowsRequest"))
def overview_page(services, request):
    if not isinstance(request, dict):
        return no_update
    # the models are checked item by item by overview_page (anything malformed is ignored)
    start = guard.as_int(request.get("startRow"), 0, MAX_ROW) or 0
    end = guard.as_int(request.get("endRow"), 0, MAX_ROW) or 0
    sort, filters = guard.as_list(request.get("sortModel"), 20), guard.as_dict(request.get("filterModel"))
    page, total = services.explorer.producers.overview_page(start, end, sort, filters)
    return {"rowData": pp.overview_rows(records(page)), "rowCount": total}


@wiring.callback(Output(pp.SELECT, "value", allow_duplicate=True), Input(pp.OVERVIEW, "cellClicked"),
                 prevent_initial_call=True)
def open_from_overview(services, cell):
    value = guard.as_key(guard.as_dict(cell).get("rowId"))
    return value if services.explorer.producers.index_of(value) is not None else no_update


@wiring.callback(Output(pp.DETAIL, "hidden"), Input(pp.SELECT, "value"))
def detail_hidden(services, value):
    return services.explorer.producers.index_of(guard.as_key(value)) is None


wiring.clientside(
    """function (value) {
        var el = document.getElementById("DETAIL");
        if (value && el) {
            window.setTimeout(function () { el.scrollIntoView({block: "start"}); }, 50);
        }
        return value || null;
    }""".replace("DETAIL", pp.DETAIL),
    Output(pp.SCROLL, "data"), Input(pp.SELECT, "value"), prevent_initial_call=True)


# ---- the chosen producer ------------------------------------------------------------------
@wiring.callback(Output(pp.SELECT, "options"), Input(pp.SELECT, "search_value"), Input(pp.SELECT, "value"))
def options(services, search_value, value):
    return services.explorer.producers.options(guard.as_text(search_value, guard.MAX_SEARCH_VALUE_CHARS),
                                               limit=pp.N_OPTIONS, keep=guard.as_key(value))


@wiring.callback(Output(pp.FIGURES, "children"), Output(pp.DATASETS, "children"),
                 Output(pp.SHOW_ON_MAP, "disabled"), Output(pp.FIND_DATASET, "options"),
                 Output(pp.FIND_DATASET, "value"),
                 Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Input(pp.SELECT, "value"), prevent_initial_call=True)
def show_producer(services, value):
    p = index(services, value)
    if p is None:
        return pp.key_figures(None), pp.datasets_table([], 0), True, [], None, EMPTY_HIGHLIGHT
    P = services.explorer.producers
    listing = P.datasets(p)
    items = records(listing.head(pp.N_LISTED))
    summary = {k: _plain(v) for k, v in P.summary(p).items()}
    figures = pp.key_figures(summary, mean_score=P.mean_score(p), catalogue_score=P.mean_score())
    find = pp.find_options(listing["row"], listing["title"])
    highlight = {"label": str(summary["organization"]), "rows": [int(r) for r in listing["row"]]}
    return (figures, pp.datasets_table(items, len(listing)), not items, find,
            find[0]["value"] if find else None, highlight)


@wiring.callback(Output(pp.TOPICS, "figure"), Output(pp.QUALITY_CHART, "figure"),
                 Output(pp.QUALITY_LIST, "children"), Input(pp.SELECT, "value"), prevent_initial_call=True)
def topics_and_quality(services, value):
    p = index(services, value)
    P = services.explorer.producers
    if p is None:
        return pp.empty_figures()
    if len(P.rows(p)) == 0:
        return pp.empty_figures(texts.PRODUCERS_NO_ACTIVE)
    mix = P.topic_mix(p)
    mix = None if mix is None else {k: mix[k].tolist() for k in ("label", "producer", "catalogue")}
    ov = P.quality_overview(p)
    q_fig = pp.visualize_quality_overview(ov["label"].tolist(), ov["producer"].tolist(),
                                          ov["catalogue"].tolist())
    items = [{"row": int(r.row), "title": r.title, "url": r.url, "score": int(r.score),
              "views": int(r.views), "reasons": _reasons_list(r.reasons)}
             for r in P.quality(p, limit=pp.N_PRIORITIES).itertuples()]
    return pp.topic_mix(mix, str(P.table["organization"].iat[p])), q_fig, pp.priority_table(items)


@wiring.callback(Output(pp.DUPLICATES, "children"), Input(pp.SELECT, "value"),
                 Input(pp.DUP_THRESHOLD, "value"), prevent_initial_call=True)
def duplicates(services, value, threshold):
    p = index(services, value)
    if p is None:
        return pp.empty_state()
    t = guard.as_float(threshold, 0.0, 1.01, default=DUPLICATE_THRESHOLD)
    dup = services.explorer.producers.near_duplicates(p, threshold=t, limit=pp.N_DUPLICATES)
    return pp.duplicates_table(records(dup), t)


@wiring.callback(Output(pp.SIMILAR, "children"), Output(pp.NEIGHBOURHOOD, "figure"),
                 Input(pp.SELECT, "value"), prevent_initial_call=True)
def similar(services, value):
    p = index(services, value)
    if p is None:
        return pp.empty_neighbourhood()
    P = services.explorer.producers
    sim = records(P.similar_producers(p))
    nb = P.neighbourhood(p)
    fig = (pp.visualize_neighbourhood([], []) if nb is None else
           pp.visualize_neighbourhood(records(nb["producers"]), records(nb["datasets"])))
    return pp.similar_table(sim), fig


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(pp.SHOW_ON_MAP, "n_clicks"), State(pp.SELECT, "value"), prevent_initial_call=True)
def show_on_map(services, n_clicks, value):
    p = index(services, value)
    if not n_clicks or p is None:
        return no_update, no_update
    P = services.explorer.producers
    rows = sorted(int(r) for r in P.rows(p))
    return {"label": str(P.table["organization"].iat[p]), "rows": rows}, MAP_TAB


wiring.open_from_grid_on({"type": pp.LIST_GRID, "list": ALL})


@wiring.callback(Output(pp.SELECT, "value"), Input({"type": pp.PRODUCER_ITEM, "value": ALL}, "n_clicks"),
                 prevent_initial_call=True)
def open_producer(services, clicks):
    trig = guard.clicked_pattern(ctx.triggered_id, ctx.triggered)
    if trig is None or index(services, trig.get("value")) is None:
        return no_update
    return trig["value"]


@wiring.callback(Output(pp.FIND_BUTTON, "disabled"), Input(pp.FIND_DATASET, "value"))
def find_enabled(services, row):
    return guard.as_row(row, services.explorer.n) is None


@wiring.callback(Output(pp.FIND_RESULT, "children"), Input(pp.FIND_BUTTON, "n_clicks"),
                 State(pp.FIND_DATASET, "value"), State(pp.FIND_QUERIES, "value"), prevent_initial_call=True)
def findability(services, n_clicks, row, queries):
    row = guard.as_row(row, services.explorer.n)
    if not n_clicks or row is None:
        return no_update
    lines = pp.find_queries(guard.as_text(queries, 1000))
    f = services.explorer.producers.findability(row, lines, k=pp.FINDABILITY_K)
    return pp.findability_table(records(f), k=pp.FINDABILITY_K)
