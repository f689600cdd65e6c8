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
from components import ids
from components import labels as L
from components.cloud import visualize_wordcloud
from components.figures import empty_figure
from components.map import (
    HIGHLIGHT_TRACE,
    QUERY_TRACE,
    SELECTED_TRACE,
    highlight_trace,
    query_trace,
    read_highlight,
    selected_trace,
    visualize_map,
)
from components.map import MAX_HIGHLIGHT as MAX_MAP_ROWS
from components.results import dataset_list
from components.topics import (
    FRESHNESS_COLOUR,
    map_colour_options,
    topic_name,
    visualize_coherence,
    visualize_producers,
    visualize_selection_mds,
    visualize_term_bars,
    visualize_topic_cluster_heatmap,
    visualize_topic_map,
    visualize_topic_years,
    visualize_topics_over_time,
)
from components.topics_page import shared_terms_table, topic_info, topic_options, topic_periods_block
from models.core import french

log = logging.getLogger(__name__)

MAP_TAB = "carte"
N_TERMS = 30
MDS_GATE = guard.HEAVY  # shared with every heavy callback (callbacks.guard.HEAVY)
MAX_CLUSTER_COLOURS = 47  # the map palette has 48 colours: the smaller clusters are grey


_int = guard.as_int


def register(app, services) -> None:
    svc = services.explorer.topics  # models.serve.topics.TopicService
    datasets = services.explorer.datasets
    if not svc.available:  # an older build: the page only explains how to rebuild
        return

    def valid_k(k) -> int | None:
        k = _int(k)
        return k if k is not None and k in svc.ks() else None

    def valid_topic(k, topic) -> int | None:
        t = _int(topic)
        return t if k is not None and t is not None and 0 <= t < k else None

    @app.callback(Output(ids.TOPICS_SELECT, "options"), Output(ids.TOPICS_SELECT, "value"),
                  Output(ids.TOPICS_SHARED, "children"), Output(ids.TOPICS_QUALITY, "figure"),
                  Output(ids.TOPICS_HEATMAP, "figure"), Input(ids.TOPICS_K, "value"),
                  State(ids.TOPICS_SELECT, "value"))
    def choose_k(k, current):
        k = valid_k(k)
        if k is None:
            msg = empty_figure("Choisissez un modèle.")
            return [], None, None, msg, msg
        topics = svc.topics(k)
        options = topic_options(topics)
        topic = valid_topic(k, current)
        if topic is None or ctx.triggered_id == ids.TOPICS_K:
            topic = options[0]["value"] if options else None  # the most prevalent
        shared = svc.shared_terms(k).to_dict("records")
        quality = visualize_coherence(svc.summary.get("models", []))
        if svc.has_clusters:
            h = svc.topic_cluster_matrix(k)
            heat = visualize_topic_cluster_heatmap(h["matrix"], h["clusters"], h["topics"], h["sizes"])
        else:
            heat = empty_figure(L.NO_CLUSTERS)
        return options, topic, shared_terms_table(shared), quality, heat

    @app.callback(Output(ids.TOPICS_SELECT, "value", allow_duplicate=True),
                  Input(ids.TOPICS_MAP, "clickData"), State(ids.TOPICS_K, "value"),
                  prevent_initial_call=True)
    def click_topic(click, k):
        topic = valid_topic(valid_k(k), guard.first_point(click).get("customdata"))
        return no_update if topic is None else topic

    @app.callback(Output(ids.TOPICS_MAP, "figure"), Output(ids.TOPICS_INFO, "children"),
                  Output(ids.TOPICS_CLOUD, "figure"), Output(ids.TOPICS_YEARS, "figure"),
                  Output(ids.TOPICS_PRODUCERS, "figure"), Output(ids.TOPICS_DATASETS, "children"),
                  Input(ids.TOPICS_K, "value"), Input(ids.TOPICS_SELECT, "value"))
    def show_topic(k, topic):
        k = valid_k(k)
        if k is None:
            e = empty_figure("Choisissez un modèle.")
            return e, topic_info(None), e, e, e, None
        topics = svc.topics(k)
        topic = valid_topic(k, topic)
        bubbles = visualize_topic_map(topics.to_dict("records"), selected=topic)
        if topic is None:
            e = empty_figure("Choisissez un thème sur la carte ou dans la liste.")
            return bubbles, topic_info(None), e, e, e, None
        rec = topics.iloc[topic].to_dict()
        name = topic_name(topic, rec["label"])
        weights = svc.topic_terms(k, topic, n=40, lam=1.0)
        cloud = visualize_wordcloud(list(zip(weights["term"], weights["weight"], strict=True)),
                                    name, width=600, height=330)
        y = svc.years(k, topic)
        years = visualize_topic_years(y["year"].tolist(), y["share"].tolist(), y["datasets"].tolist(),
                                      title=f"Part du thème {topic + 1} selon l'année de création",
                                      left_out=y.attrs.get("left_out", 0), first=y.attrs.get("first"),
                                      last=y.attrs.get("last"))
        p = svc.top_producers(k, topic, n=10)
        producers = visualize_producers(p["organization"].tolist(), p["datasets"].tolist(),
                                        title=f"Producteurs\u202f: jeux dont le thème {topic + 1} est le "
                                              "thème principal")
        items = [{**d, "score": d["share"]} for d in svc.top_datasets(k, topic, n=20)]
        lst = dataset_list(items, item_type=ids.TOPIC_DATASET_ITEM, score_label="part du thème",
                           empty_message="Aucun jeu de données pour ce thème.")
        return bubbles, topic_info(rec), cloud, years, producers, lst

    @app.callback(Output(ids.TOPICS_PERIODS, "children"), Input(ids.TOPICS_K, "value"),
                  Input(ids.TOPICS_SELECT, "value"))
    def show_periods(k, topic):
        k = valid_k(k)
        topic = valid_topic(k, topic) if k is not None else None
        if topic is None:
            return None
        return topic_periods_block(svc.periods(k, topic).to_dict("records"), topic)

    @app.callback(Output(ids.TOPICS_TIMELINE, "figure"), Input(ids.TOPICS_K, "value"))
    def show_timeline(k):
        k = valid_k(k)
        if k is None:
            return empty_figure("Choisissez un modèle.")
        by_year = svc.topics_by_year(k)
        shares = by_year.drop(columns="datasets")
        return visualize_topics_over_time(by_year.index.tolist(), shares.to_numpy(), svc.labels(k),
                                          by_year["datasets"].tolist(),
                                          left_out=by_year.attrs.get("left_out", 0))

    @app.callback(Output(ids.TOPICS_TERMS, "figure"), Input(ids.TOPICS_K, "value"),
                  Input(ids.TOPICS_SELECT, "value"), Input(ids.TOPICS_LAMBDA, "value"))
    def show_terms(k, topic, lam):
        k = valid_k(k)
        topic = valid_topic(k, topic)
        lam = guard.as_float(lam, 0.0, 1.0, default=0.6)
        if topic is None:
            return visualize_term_bars([])
        t = svc.topic_terms(k, topic, n=N_TERMS, lam=lam)
        return visualize_term_bars(t.to_dict("records"), lam=lam,
                                   title=f"Thème {topic + 1}\u202f: {N_TERMS} mots les plus pertinents "
                                         f"(λ = {french.number(lam, 1)})")

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input(ids.TOPICS_SHOW_ON_MAP, "n_clicks"), State(ids.TOPICS_K, "value"),
                  State(ids.TOPICS_SELECT, "value"), prevent_initial_call=True)
    def show_on_map(n_clicks, k, topic):
        k = valid_k(k)
        topic = valid_topic(k, topic)
        if not n_clicks or topic is None:
            return no_update, no_update
        rows = svc.topic_rows(k, topic, limit=MAX_MAP_ROWS)
        return {"label": topic_name(topic, svc.labels(k)[topic]), "rows": rows}, MAP_TAB

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True),
                  Output(ids.TABS, "active_tab", allow_duplicate=True),
                  Input({"type": ids.TOPIC_DATASET_ITEM, "row": ALL}, "n_clicks"),
                  Input(ids.TOPICS_MDS, "clickData"), prevent_initial_call=True)
    def open_dataset(_clicks, mds_click):
        trigger, row = ctx.triggered_id, None
        if trigger == ids.TOPICS_MDS:
            row = guard.as_row(guard.first_point(mds_click).get("customdata"), len(datasets))
        elif guard.clicked_pattern(trigger, ctx.triggered):  # n_clicks 0/None: just drawn
            row = guard.as_row(trigger.get("row"), len(datasets))
        if row is None:
            return no_update, no_update
        return str(datasets["id"].iat[row]), MAP_TAB

    @app.callback(Output(ids.TOPICS_MDS, "figure"), Output(ids.TOPICS_MDS_STATUS, "children"),
                  Input(ids.TOPICS_MDS_BUTTON, "n_clicks"), State(ids.TOPICS_MDS_SOURCE, "value"),
                  State(ids.TOPICS_MDS_MAX, "value"), State(ids.TOPICS_K, "value"),
                  State(ids.TOPICS_SELECT, "value"), State(ids.MAP_HIGHLIGHT, "data"),
                  prevent_initial_call=True)
    def compute_mds(n_clicks, source, max_points, k, topic, highlight):
        if not n_clicks:
            return no_update, no_update
        limit = _int(max_points) or 1000
        limit = max(3, min(limit, 3000))
        k = valid_k(k)
        topic = valid_topic(k, topic)
        source = guard.as_choice(source, ("map", "topic"), "topic")
        if source == "map":
            h = read_highlight(highlight, len(datasets))
            rows = h["rows"]
            what = f"jeux en surbrillance sur la carte ({h['label'] or 'sélection'})"
            groups = None
        else:
            rows = svc.topic_rows(k, topic, limit=limit) if topic is not None else []
            what = f"jeux dont le thème principal est le thème {topic + 1}" if topic is not None else ""
            groups = None
        if len(rows) < 3:
            msg = ("Aucun jeu en surbrillance sur la carte\u202f: lancez une recherche ou montrez un "
                   "thème sur la carte." if source == "map" else "Ce thème a trop peu de jeux de données.")
            return empty_figure(msg, height=460), ""
        with MDS_GATE.slot() as ok:
            if not ok:
                return no_update, guard.BUSY
            res = svc.selection_mds(rows, max_points=limit)
        r = res["rows"]
        if k is not None:
            groups = svc.dominant(k)[r].tolist() if source == "map" else None
        fig = visualize_selection_mds(res["x"], res["y"], r, datasets["title"].iloc[r].tolist(),
                                      datasets["organization"].iloc[r].tolist(), groups=groups,
                                      title=f"MDS de {len(r)} {what}")
        status = (f"{len(r)} points disposés en {french.number(res['seconds'], 2)} s"
                  + (f" (les {limit} premiers sur {len(rows)})" if res["truncated"] else "")
                  + ". Survolez un point pour son titre, cliquez pour sa fiche.")
        return fig, status

    if map_colour_options(svc.summary.get("models", []), svc.n_clusters, freshness=True):  # as app.py
        register_map_colouring(app, services)


def register_map_colouring(app, services) -> None:
    exp = services.explorer
    svc = exp.topics
    coords = np.asarray(exp.coords, dtype=np.float64)
    titles = exp.datasets["title"]

    @app.callback(Output(ids.MAP, "figure", allow_duplicate=True), Input(ids.MAP_COLOUR, "value"),
                  State(ids.MAP_HIGHLIGHT, "data"), State(ids.SELECTED, "data"),
                  prevent_initial_call=True)
    def colour_map(value, highlight, selected):
        choice = (exp.freshness.map_colouring() if value == FRESHNESS_COLOUR
                  else svc.map_colouring(value, max_colours=MAX_CLUSTER_COLOURS))
        if choice is None:
            return no_update
        cats, labels, sizes, legend = choice
        fig = visualize_map(coords, cats, labels, sizes)
        fig.update_layout(legend_title_text=legend)
        h = read_highlight(highlight, exp.n)
        rows = h["rows"]
        if rows:
            fig.data[HIGHLIGHT_TRACE].update(highlight_trace(coords[rows], rows, titles.iloc[rows].tolist(),
                                                             h["label"]))
        if h["query"] is not None:
            fig.data[QUERY_TRACE].update(query_trace(h["query"][:2], h["query"][2][:80]))
        row = exp.row_of(selected) if isinstance(selected, str) else None
        if row is not None:
            fig.data[SELECTED_TRACE].update(selected_trace(coords[row], row, titles.iat[row]))
        return fig

    @app.callback(Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Input(ids.MAP_SELECTED_ROWS, "data"), prevent_initial_call=True)
    def lasso(selected):
        rows = guard.selected_rows(selected, exp.n, MAX_MAP_ROWS)
        if not rows:
            return no_update
        return {"label": f"Sélection sur la carte ({len(rows)} jeux)", "rows": rows}
