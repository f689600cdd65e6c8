"""Callbacks of the "Carte" page: URL <-> state, search, highlight, selection, details, cloud.

Data flow (each arrow one callback)::

    URL ──> search box, mode, SEARCH_STATE, SELECTED   (on load, back/forward)
    button / Enter / mode ──> SEARCH_STATE
    SEARCH_STATE ──> results list + MAP_HIGHLIGHT ──> Patch of the map's overlay trace
    map click / result / similar ──> SELECTED ──> details + Patch of the map's star + cloud topic
    SEARCH_STATE, SELECTED ──> URL
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
import numpy as np
from dash import ALL, ClientsideFunction, Input, Output, Patch, State, ctx, no_update

from callbacks import guard
from callbacks.urlstate import build_url_search, parse_url_search
from components import ids
from components.cloud import visualize_wordcloud
from components.details import details_panel, map_tooltip, placeholder
from components.figures import empty_figure
from components.labels import clean_text, mode_label
from components.map import (
    HIGHLIGHT_TRACE,
    QUERY_TRACE,
    SELECTED_TRACE,
    highlight_trace,
    query_trace,
    read_highlight,
    row_from_point,
    selected_trace,
)
from components.results import dataset_list
from models.core.store import ArtifactError
from models.serve.search import clean_query

log = logging.getLogger(__name__)

NO_SEARCH = "Saisissez une recherche pour lister les jeux de données les plus proches."
EMPTY_HIGHLIGHT = {"label": "", "rows": []}


# ---- plain-data helpers (services -> what the builders take) ------------------------
def hit_items(services, hits) -> list[dict]:
    return [{"row": h.row, **d} for h, d in zip(hits, services.explorer.hits_as_dicts(hits), strict=True)]


def topic_cloud(services, topic):
    label = services.explorer.topic_label(topic)
    if label is None:
        return empty_figure("Choisissez un thème pour afficher son nuage de mots.", height=374)
    return visualize_wordcloud(services.explorer.topic_terms(topic), f"Thème {int(topic) + 1} : {label}",
                               width=760, height=330)


def register(app, services) -> None:
    exp = services.explorer
    coords = np.asarray(exp.coords, dtype=np.float64)
    titles = exp.datasets["title"]
    ds_ids = exp.datasets["id"]

    def parse(search):
        return parse_url_search(search, modes=services.modes, default_mode=services.default_mode,
                                max_query_chars=exp.max_query_chars,
                                is_known_id=lambda i: exp.row_of(i) is not None)

    @app.callback(Output(ids.SEARCH_INPUT, "value"), Output(ids.SEARCH_MODE, "value"),
                  Output(ids.SEARCH_STATE, "data"), Output(ids.SELECTED, "data"),
                  Input(ids.URL, "search"), State(ids.SEARCH_STATE, "data"), State(ids.SELECTED, "data"))
    def url_to_state(search, current, selected):
        st = parse(search)
        new = {"q": st["q"], "mode": st["mode"]} if st["q"] and st["mode"] else None
        same = new == current
        return (no_update if same else st["q"], no_update if same or not st["mode"] else st["mode"],
                no_update if same else new, no_update if st["id"] == selected else st["id"])

    @app.callback(Output(ids.SEARCH_STATE, "data", allow_duplicate=True),
                  Input(ids.SEARCH_BUTTON, "n_clicks"), Input(ids.SEARCH_INPUT, "n_submit"),
                  Input(ids.SEARCH_MODE, "value"), State(ids.SEARCH_INPUT, "value"),
                  State(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
    def submit(_clicks, _submits, mode, text, current):
        q = clean_query(guard.as_text(text), exp.max_query_chars)
        mode = guard.as_choice(mode, services.modes, services.default_mode)
        new = {"q": q, "mode": mode} if q and mode else None
        if new == current or (ctx.triggered_id == ids.SEARCH_MODE and new is None):
            return no_update
        return new

    @app.callback(Output(ids.RESULTS, "children"), Output(ids.RESULTS_HEADER, "children"),
                  Output(ids.MAP_HIGHLIGHT, "data", allow_duplicate=True),
                  Input(ids.SEARCH_STATE, "data"), prevent_initial_call=True)
    def run_search(state):
        if not isinstance(state, dict) or not state.get("q"):
            return None, NO_SEARCH, EMPTY_HIGHLIGHT
        # any client can post this state: cleaned and capped again, like the search box
        q = clean_query(state["q"] if isinstance(state["q"], str) else "", exp.max_query_chars)
        mode = guard.as_choice(state.get("mode"), services.modes)
        if not q:
            return None, NO_SEARCH, EMPTY_HIGHLIGHT
        try:
            hits = services.explorer.search(q, mode=mode, k=services.n_results)
        except (ArtifactError, ValueError) as exc:
            log.warning("search %r (mode %s) failed: %s", q[:80], mode, exc)
            return (dbc.Alert("La recherche a échoué pour ce mode ; essayez un autre mode.", color="warning"),
                    "", EMPTY_HIGHLIGHT)
        items = hit_items(services, hits)
        header = f"{len(items)} jeux de données pour « {clean_text(q, 80)} » (mode {mode_label(mode)})"
        if mode == "word":
            words = services.explorer.query_words(q, k=6)
            if words:
                header += " · mots voisins : " + ", ".join(clean_text(w, 30) for w, _ in words)
        highlight = {"label": f"Recherche : {q}", "rows": [h.row for h in hits]}
        try:
            placed = services.explorer.place_query(q)
        except Exception:  # the marker is a bonus: never fail the search for it
            log.exception("placing the query on the map failed")
            placed = None
        if placed:
            highlight["query"] = {"x": placed["x"], "y": placed["y"], "text": q}
        return (dataset_list(items, empty_message="Aucun résultat : essayez d'autres mots ou un autre mode."),
                header, highlight)

    @app.callback(Output(ids.MAP, "figure", allow_duplicate=True), Input(ids.MAP_HIGHLIGHT, "data"),
                  prevent_initial_call=True)
    def highlight_map(data):
        h = read_highlight(data, exp.n)
        rows = h["rows"]
        patch = Patch()
        patch["data"][HIGHLIGHT_TRACE] = highlight_trace(coords[rows], rows, titles.iloc[rows].tolist(),
                                                         clean_text(h["label"], 60))
        q = h["query"]
        patch["data"][QUERY_TRACE] = query_trace(q[:2] if q else None, clean_text(q[2] if q else "", 80))
        return patch

    @app.callback(Output(ids.SELECTED, "data", allow_duplicate=True), Input(ids.MAP, "clickData"),
                  Input({"type": ids.RESULT_ITEM, "row": ALL}, "n_clicks"),
                  Input({"type": ids.SIMILAR_ITEM, "row": ALL}, "n_clicks"), prevent_initial_call=True)
    def select(click, _results, _similar):
        trigger, row = ctx.triggered_id, None
        if trigger == ids.MAP:
            row = row_from_point(guard.first_point(click), exp.n)
        elif guard.clicked_pattern(trigger, ctx.triggered):  # n_clicks 0/None: item just drawn
            row = guard.as_row(trigger.get("row"), exp.n)
        return no_update if row is None else str(ds_ids.iat[row])

    @app.callback(Output(ids.DETAILS, "children"), Output(ids.MAP, "figure", allow_duplicate=True),
                  Output(ids.TOPIC_DROPDOWN, "value"), Input(ids.SELECTED, "data"), prevent_initial_call=True)
    def show_details(dataset_id):
        row = exp.row_of(dataset_id) if isinstance(dataset_id, str) else None
        patch = Patch()
        if row is None:
            patch["data"][SELECTED_TRACE] = selected_trace()
            return placeholder(), patch, no_update
        topic = exp.topic_of_rows([row])[0]
        label = exp.topic_label(topic) if topic >= 0 else None
        patch["data"][SELECTED_TRACE] = selected_trace(coords[row], row, titles.iat[row])
        panel = details_panel(exp.dataset(row), hit_items(services, exp.similar(row)), topic_label=label)
        return panel, patch, (topic if label else no_update)

    @app.callback(Output(ids.SIDE_TABS, "active_tab"), Input(ids.SEARCH_STATE, "data"),
                  Input(ids.SELECTED, "data"), prevent_initial_call=True)
    def side_tab(_state, selected):
        # one callback, so a shared link (search + dataset, both set at once) always opens the
        # dataset's card; a new search alone shows the results, a new selection its card
        if ids.SELECTED in {t.split(".")[0] for t in ctx.triggered_prop_ids} and selected:
            return "fiche"
        return "resultats"

    @app.callback(Output(ids.CLOUD, "figure"), Input(ids.TOPIC_DROPDOWN, "value"), prevent_initial_call=True)
    def show_cloud(topic):
        return topic_cloud(services, guard.as_int(topic, 0))

    @app.callback(Output(ids.URL, "search"), Input(ids.SEARCH_STATE, "data"), Input(ids.SELECTED, "data"),
                  State(ids.URL, "search"), prevent_initial_call=True)
    def state_to_url(state, selected, current):
        state = guard.as_dict(state)
        selected = guard.as_key(selected)
        search = build_url_search(guard.as_text(state.get("q"), exp.max_query_chars),
                                  guard.as_choice(state.get("mode"), services.modes), selected)
        return no_update if search == guard.as_text(current) else search

    # region labels: placed in the browser at every zoom (assets/20-map-labels.js)
    app.clientside_callback(ClientsideFunction(namespace="mapLabels", function_name="update"),
                            Output(ids.MAP_LABELS_STATE, "data"), Input(ids.MAP, "relayoutData"),
                            Input(ids.MAP_LABELS_TOGGLE, "value"), Input(ids.MAP_LABELS, "data"))

    @app.callback(Output(ids.MAP_TOOLTIP, "show"), Output(ids.MAP_TOOLTIP, "bbox"),
                  Output(ids.MAP_TOOLTIP, "children"), Input(ids.MAP, "hoverData"), prevent_initial_call=True)
    def tooltip(hover):
        point = guard.first_point(hover)
        row = row_from_point(point, exp.n) if point.get("curveNumber") == 0 else None
        if row is None:
            return False, no_update, no_update
        topic = exp.topic_of_rows([row])[0]
        record = {"title": titles.iat[row], "organization": exp.datasets["organization"].iat[row]}
        label = exp.topic_label(topic) if topic >= 0 else None
        return True, guard.as_dict(point.get("bbox")), map_tooltip(record, label)
