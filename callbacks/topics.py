"""Callbacks of the "Thèmes" page (components/topics_page.py).

Data flow (each arrow one callback)::

    K ──> topic map, topic list (+ chosen topic), shared words, quality, heatmap
    topic map click ──> chosen topic
    K, topic ──> info, bubble highlight, word cloud, years, producers, datasets
    K, topic, λ ──> term bars
    MDS button (source: the topic's datasets | the map's highlighted rows) ──> MDS figure
    "Montrer sur la carte" ──> MAP_HIGHLIGHT + the "carte" tab
    a dataset (list item or MDS point) ──> SELECTED + the "carte" tab

On the "Carte" page (when the build has several LDA models or clusters)::

    colour selector (MAP_COLOUR) ──> the map figure, coloured by that model's dominant topics
                                     or by embedding cluster (highlight, query, star kept)
    lasso / box selection on the map ──> MAP_HIGHLIGHT (then "MDS" here, source "carte")
"""

from __future__ import annotations

import logging

import numpy as np
from dash import ALL, Input, Output, State, ctx, no_update

from callbacks import guard
from callbacks.common import MAP_TAB, Wiring, open_card
from components import ids
from components import topics_page as tpg
from components.map import MAX_HIGHLIGHT as MAX_MAP_ROWS
from components.map import add_overlays, coloured_map, read_highlight
from components.selection import lasso_label
from components.topics import (
    FRESHNESS_COLOUR,
    MAX_CLUSTER_COLOURS,
    map_colour_options,
    topic_name,
    visualize_coherence,
    visualize_selection_mds,
    visualize_topic_cluster_heatmap,
    visualize_topic_map,
    visualize_topics_over_time,
)
from components.topics_page import shared_terms_table, topic_info, topic_options, topic_periods_block

log = logging.getLogger(__name__)
wiring = Wiring()
MDS_GATE = guard.HEAVY  # shared with every heavy callback (callbacks.guard.HEAVY)


def register(app, services) -> None:
    if not services.explorer.topics.available:  # an older build: the page only explains how to rebuild
        return
    wiring.register(app, services)


def valid_k(services, k) -> int | None:
    k = guard.as_int(k)
    return k if k is not None and k in services.explorer.topics.ks() else None


def valid_topic(k, topic) -> int | None:
    t = guard.as_int(topic)
    return t if k is not None and t is not None and 0 <= t < k else None


def k_and_topic(services, k, topic) -> tuple[int | None, int | None]:
    k = valid_k(services, k)
    return k, valid_topic(k, topic)


@wiring.callback(Output(ids.TOPICS_SELECT, "options"), Output(ids.TOPICS_SELECT, "value"),
                 Output(ids.TOPICS_SHARED, "children"), Output(ids.TOPICS_QUALITY, "figure"),
                 Output(ids.TOPICS_HEATMAP, "figure"), Input(ids.TOPICS_K, "value"),
                 State(ids.TOPICS_SELECT, "value"))
def choose_k(services, k, current):
    svc = services.explorer.topics
    k = valid_k(services, k)
    if k is None:
        return [], None, None, tpg.no_model(), tpg.no_model()
    options = topic_options(svc.topics(k))
    topic = valid_topic(k, current)
    if topic is None or ctx.triggered_id == ids.TOPICS_K:
        topic = options[0]["value"] if options else None  # the most prevalent
    quality = visualize_coherence(svc.summary.get("models", []))
    shared = shared_terms_table(svc.shared_terms(k).to_dict("records"))
    return options, topic, shared, quality, heatmap(services, k)


def heatmap(services, k: int):
    """The topics × embedding clusters heatmap of model ``k``."""
    svc = services.explorer.topics
    if not svc.has_clusters:
        return tpg.no_clusters()
    h = svc.topic_cluster_matrix(k)
    return visualize_topic_cluster_heatmap(h["matrix"], h["clusters"], h["topics"], h["sizes"])


@wiring.callback(Output(ids.TOPICS_SELECT, "value", allow_duplicate=True),
                 Input(ids.TOPICS_MAP, "clickData"), State(ids.TOPICS_K, "value"), prevent_initial_call=True)
def click_topic(services, click, k):
    topic = valid_topic(valid_k(services, k), guard.first_point(click).get("customdata"))
    return no_update if topic is None else topic


@wiring.callback(Output(ids.TOPICS_MAP, "figure"), Output(ids.TOPICS_INFO, "children"),
                 Output(ids.TOPICS_CLOUD, "figure"), Output(ids.TOPICS_YEARS, "figure"),
                 Output(ids.TOPICS_PRODUCERS, "figure"), Output(ids.TOPICS_DATASETS, "children"),
                 Input(ids.TOPICS_K, "value"), Input(ids.TOPICS_SELECT, "value"))
def show_topic(services, k, topic):
    svc = services.explorer.topics
    k, topic = k_and_topic(services, k, topic)
    if k is None:
        e = tpg.no_model()
        return e, topic_info(None), e, e, e, None
    topics = svc.topics(k)
    bubbles = visualize_topic_map(topics.to_dict("records"), selected=topic)
    if topic is None:
        e = tpg.no_topic()
        return bubbles, topic_info(None), e, e, e, None
    rec = topics.iloc[topic].to_dict()
    weights = svc.topic_terms(k, topic, n=tpg.N_CLOUD_TERMS, lam=1.0)
    cloud = tpg.topic_cloud(topic, rec["label"], list(zip(weights["term"], weights["weight"], strict=True)))
    y = svc.years(k, topic)
    years = {"year": y["year"].tolist(), "share": y["share"].tolist(), "datasets": y["datasets"].tolist(),
             "left_out": y.attrs.get("left_out", 0), "first": y.attrs.get("first"),
             "last": y.attrs.get("last")}
    p = svc.top_producers(k, topic, n=tpg.N_PRODUCERS)
    producers = tpg.topic_producers(topic, p["organization"].tolist(), p["datasets"].tolist())
    datasets = tpg.topic_datasets(svc.top_datasets(k, topic, n=tpg.N_DATASETS))
    return bubbles, topic_info(rec), cloud, tpg.topic_years(topic, years), producers, datasets


@wiring.callback(Output(ids.TOPICS_PERIODS, "children"), Input(ids.TOPICS_K, "value"),
                 Input(ids.TOPICS_SELECT, "value"))
def show_periods(services, k, topic):
    k, topic = k_and_topic(services, k, topic)
    if topic is None:
        return None
    return topic_periods_block(services.explorer.topics.periods(k, topic).to_dict("records"), topic)


@wiring.callback(Output(ids.TOPICS_TIMELINE, "figure"), Input(ids.TOPICS_K, "value"))
def show_timeline(services, k):
    svc = services.explorer.topics
    k = valid_k(services, k)
    if k is None:
        return tpg.no_model()
    by_year = svc.topics_by_year(k)
    shares = by_year.drop(columns="datasets")
    return visualize_topics_over_time(by_year.index.tolist(), shares.to_numpy(), svc.labels(k),
                                      by_year["datasets"].tolist(), left_out=by_year.attrs.get("left_out", 0))


@wiring.callback(Output(ids.TOPICS_TERMS, "figure"), Input(ids.TOPICS_K, "value"),
                 Input(ids.TOPICS_SELECT, "value"), Input(ids.TOPICS_LAMBDA, "value"))
def show_terms(services, k, topic, lam):
    k, topic = k_and_topic(services, k, topic)
    lam = guard.as_float(lam, 0.0, 1.0, default=tpg.DEFAULT_LAMBDA)
    if topic is None:
        return tpg.term_bars(None, [], lam)
    terms = services.explorer.topics.topic_terms(k, topic, n=tpg.N_TERMS, lam=lam)
    return tpg.term_bars(topic, terms.to_dict("records"), lam)


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input(ids.TOPICS_SHOW_ON_MAP, "n_clicks"), State(ids.TOPICS_K, "value"),
                 State(ids.TOPICS_SELECT, "value"), prevent_initial_call=True)
def show_on_map(services, n_clicks, k, topic):
    svc = services.explorer.topics
    k, topic = k_and_topic(services, k, topic)
    if not n_clicks or topic is None:
        return no_update, no_update
    rows = svc.topic_rows(k, topic, limit=MAX_MAP_ROWS)
    return {"label": topic_name(topic, svc.labels(k)[topic]), "rows": rows}, MAP_TAB


@wiring.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                 Output(ids.TABS, "active_tab", allow_duplicate=True),
                 Input({"type": ids.TOPIC_DATASET_ITEM, "row": ALL}, "n_clicks"),
                 Input(ids.TOPICS_MDS, "clickData"), prevent_initial_call=True)
def open_dataset(services, _clicks, mds_click):
    trigger, row, n = ctx.triggered_id, None, services.explorer.n
    if trigger == ids.TOPICS_MDS:
        row = guard.as_row(guard.first_point(mds_click).get("customdata"), n)
    elif guard.clicked_pattern(trigger, ctx.triggered):  # n_clicks 0/None: just drawn
        row = guard.as_row(trigger.get("row"), n)
    return open_card(services, row)


def mds_rows(services, source: str, k, topic, limit: int, highlight) -> tuple[list, str]:
    """(rows to place, what they are) of the MDS's source."""
    if source == "map":
        h = read_highlight(highlight, services.explorer.n)
        return h["rows"], tpg.mds_what(source, h["label"], None)
    rows = services.explorer.topics.topic_rows(k, topic, limit=limit) if topic is not None else []
    return rows, tpg.mds_what(source, "", topic)


@wiring.callback(Output(ids.TOPICS_MDS, "figure"), Output(ids.TOPICS_MDS_STATUS, "children"),
                 Input(ids.TOPICS_MDS_BUTTON, "n_clicks"), State(ids.TOPICS_MDS_SOURCE, "value"),
                 State(ids.TOPICS_MDS_MAX, "value"), State(ids.TOPICS_K, "value"),
                 State(ids.TOPICS_SELECT, "value"), State(ids.MAP_HIGHLIGHT, "data"),
                 prevent_initial_call=True)
def compute_mds(services, n_clicks, source, max_points, k, topic, highlight):
    if not n_clicks:
        return no_update, no_update
    svc, ds = services.explorer.topics, services.explorer.datasets
    limit = tpg.mds_limit(guard.as_int(max_points))
    k, topic = k_and_topic(services, k, topic)
    source = guard.as_choice(source, ("map", "topic"), "topic")
    rows, what = mds_rows(services, source, k, topic, limit, highlight)
    if len(rows) < 3:
        return tpg.mds_too_few(source), ""
    with MDS_GATE.slot() as ok:
        if not ok:
            return no_update, guard.BUSY
        res = svc.selection_mds(rows, max_points=limit)
    r = res["rows"]
    groups = svc.dominant(k)[r].tolist() if k is not None and source == "map" else None
    fig = visualize_selection_mds(res["x"], res["y"], r, ds["title"].iloc[r].tolist(),
                                  ds["organization"].iloc[r].tolist(), groups=groups,
                                  title=tpg.mds_title(len(r), what))
    status = tpg.mds_status(len(r), res["seconds"], limit=limit, total=len(rows), truncated=res["truncated"])
    return fig, status


# ---- the map page's colours and lasso -------------------------------------------------------
def map_colours(app, services) -> bool:
    """The map has a colour selector (as app.py)."""
    svc = services.explorer.topics
    return bool(map_colour_options(svc.summary.get("models", []), svc.n_clusters, freshness=True))


@wiring.callback(Output(ids.MAP, "figure", allow_duplicate=True), Input(ids.MAP_COLOUR, "value"),
                 State(ids.MAP_HIGHLIGHT, "data"), State(ids.SELECTED, "data"),
                 prevent_initial_call=True, when=map_colours)
def colour_map(services, value, highlight, selected):
    exp = services.explorer
    choice = (exp.freshness.map_colouring() if value == FRESHNESS_COLOUR
              else exp.topics.map_colouring(value, max_colours=MAX_CLUSTER_COLOURS))
    if choice is None:
        return no_update
    coords, titles = np.asarray(exp.records.coords, dtype=np.float64), exp.datasets["title"]
    h = read_highlight(highlight, exp.n)
    rows = h["rows"]
    row = exp.records.row_of(selected) if isinstance(selected, str) else None
    star = None if row is None else (coords[row], row, titles.iat[row])
    return add_overlays(coloured_map(coords, choice), query=h["query"], selected=star,
                        highlight=(coords[rows], rows, titles.iloc[rows].tolist(), h["label"]))


@wiring.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                 Input(ids.MAP_SELECTED_ROWS, "data"), prevent_initial_call=True, when=map_colours)
def lasso(services, selected):
    rows = guard.selected_rows(selected, services.explorer.n, MAX_MAP_ROWS)
    if not rows:
        return no_update
    return {"label": lasso_label(len(rows)), "rows": rows}
