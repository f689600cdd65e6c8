"""Callbacks of « Où sont ces données ? » (wiring only: models.serve.coverage -> builders in
components/coverage_view.py).

Data flow::

    the button by the results header (the search shown), the button of the « Sélection » tab
    (the datasets selected on the map), the link of the « Thèmes » page (the chosen topic's
    datasets), the link by its groups heatmap (the chosen embedding cluster's datasets; a click
    on a heatmap row chooses that cluster), the same link under the map while it is coloured by
    « Groupes », the per-100,000 switch, the level
        ──> modal open, summary, choropleth, the answer kept for the CSV, what it shows
    « Télécharger » ──> the CSV of the counts
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, ctx, dcc, no_update

from components import ask_page as ask_ids
from components import coverage_view as cv
from components import ids
from components.ask_page import clean_history
from models.serve.coverage import cluster_rows, clusters_list, coverage, coverage_csv
from models.serve.filters import params_to_raw
from models.serve.search import clean_query

log = logging.getLogger(__name__)


SEARCH, SELECTION = "search", "selection"
CLUSTERS_COLOUR = "clusters"  # the map's « Groupes » colouring (components.topics.map_colour_options)
MAX_SELECTION = 100_000


def selection_rows(selection, n: int) -> list[int]:
    """The rows of the map selection store (``{"rows": [int, ...]}``), checked."""
    rows = selection.get("rows") if isinstance(selection, dict) else None
    if not isinstance(rows, list):
        return []
    return sorted({r for r in rows[:MAX_SELECTION]
                   if isinstance(r, int) and not isinstance(r, bool) and 0 <= r < n})


def layout_ids(app) -> set[str] | None:
    """The string ids of the app's layout (set before the callbacks), None when there is none."""
    layout = getattr(app, "layout", None)
    if layout is None or callable(layout) or not hasattr(layout, "_traverse"):
        return None
    out = {layout.id} if isinstance(getattr(layout, "id", None), str) else set()
    out.update(c.id for c in layout._traverse() if isinstance(getattr(c, "id", None), str))
    return out


def heatmap_cluster(click) -> int | None:
    """The cluster of a click on the topics × groups heatmap: its row reads « 12 · label (n) »."""
    try:
        y = click["points"][0]["y"]
        head = str(y).split("\u00b7", 1)[0].strip()
        return int(head) if head.isascii() and head.isdigit() and len(head) <= 6 else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def search_of(state) -> tuple[str, dict] | None:
    """(query, raw filters) of the search state the browser holds; None when nothing is shown."""
    if not isinstance(state, dict):
        return None
    q = state.get("q") if isinstance(state.get("q"), str) else ""
    filters = state.get("filters") if isinstance(state.get("filters"), dict) else {}
    filters = {str(k)[:40]: v[:600] for k, v in filters.items() if isinstance(v, str)}
    if not q.strip() and not filters:
        return None
    return q, params_to_raw(filters)


def register(app, services) -> None:
    exp = services.explorer

    def outlines(level):
        try:
            return exp.territories.outlines(level)
        except Exception:  # the outlines are a bonus: the summary still answers
            log.exception("département outlines unavailable")
            return None

    @app.callback(Output(ids.COVERAGE_MODAL, "is_open"), Output(ids.COVERAGE_SUMMARY, "children"),
                  Output(ids.COVERAGE_FIGURE, "figure"), Output(ids.COVERAGE_DATA, "data"),
                  Output(ids.COVERAGE_SOURCE, "data"),
                  Input(ids.COVERAGE_OPEN, "n_clicks"), Input(ids.COVERAGE_OPEN_SELECTION, "n_clicks"),
                  Input(ids.COVERAGE_PER_100K, "value"), Input(ids.COVERAGE_LEVEL, "value"),
                  State(ids.SEARCH_STATE, "data"), State(ids.MAP_SELECTION, "data"),
                  State(ids.COVERAGE_SOURCE, "data"), prevent_initial_call=True)
    def show(n_search, n_selection, per_100k, level, state, selection, source):
        trigger = ctx.triggered_id
        if (trigger == ids.COVERAGE_OPEN and not n_search) or \
                (trigger == ids.COVERAGE_OPEN_SELECTION and not n_selection):
            return no_update, no_update, no_update, no_update, no_update
        if trigger == ids.COVERAGE_OPEN:
            source = SEARCH
        elif trigger == ids.COVERAGE_OPEN_SELECTION:
            source = SELECTION
        elif source not in (SEARCH, SELECTION) and topic_of(source) is None and not question_of(source) \
                and cluster_of(source) is None:
            source = SEARCH
        is_open = True if trigger in (ids.COVERAGE_OPEN, ids.COVERAGE_OPEN_SELECTION) else no_update
        per = bool(per_100k)
        if question_of(source):
            out = coverage(exp, question_of(source), per_inhabitants=per)
            return (is_open, cv.summary(out), *draw(out, level, per), source)
        if cluster_of(source) is not None:
            out = cluster_coverage(cluster_of(source), per)
            if out is None:
                return (is_open, cv.summary(None, cv.NO_SELECTION),
                        cv.empty_figure(cv.NO_SELECTION, height=460), None, SEARCH)
            return (is_open, cv.summary(out), *draw(out, level, per), source)
        if topic_of(source) is not None:
            out = topic_coverage(topic_of(source), per)
            if out is None:
                return (is_open, cv.summary(None, cv.NO_SELECTION),
                        cv.empty_figure(cv.NO_SELECTION, height=460), None, SEARCH)
            return (is_open, cv.summary(out), *draw(out, level, per), source)
        if source == SELECTION:
            rows = selection_rows(selection, exp.n)
            if not rows:
                return (is_open, cv.summary(None, cv.NO_SELECTION),
                        cv.empty_figure(cv.NO_SELECTION, height=460), None, source)
            out = coverage(exp, "", per_inhabitants=per, rows=rows)
        else:
            search = search_of(state)
            if search is None:
                return is_open, cv.summary(None), cv.empty_figure(cv.NO_SEARCH, height=460), None, source
            q, raw = search
            out = coverage(exp, q, filters=raw, per_inhabitants=per)
        return (is_open, cv.summary(out), *draw(out, level, per), source)

    def draw(out, level, per) -> tuple:
        """(figure, data) of a coverage answer at a level."""
        level = "region" if level == "region" else "departement"
        key = "regions" if level == "region" else "departements"
        counts = out["per_100k"][key] if per else out[key]
        if level == "region":
            names = {k.split(":", 1)[1]: v for k, v in out["names"].items() if k.startswith("region:")}
        else:
            names = {k: v for k, v in out["names"].items() if not k.startswith("region:")}
        return cv.figure(outlines(level), counts, names, per_100k=per, level=level,
                         communes=out.get("communes"), threshold=out.get("commune_threshold", 50_000)), out

    def question_of(source) -> str:
        """The question of a ``{"q": …}`` source (the « Demander » page), cleaned; "" otherwise."""
        q = source.get("q") if isinstance(source, dict) else None
        return clean_query(q, exp.max_query_chars) if isinstance(q, str) else ""

    @app.callback(Output(ids.COVERAGE_MODAL, "is_open", allow_duplicate=True),
                  Output(ids.COVERAGE_SUMMARY, "children", allow_duplicate=True),
                  Output(ids.COVERAGE_FIGURE, "figure", allow_duplicate=True),
                  Output(ids.COVERAGE_DATA, "data", allow_duplicate=True),
                  Output(ids.COVERAGE_SOURCE, "data", allow_duplicate=True),
                  Input(ids.COVERAGE_OPEN_ASK, "n_clicks"), State(ask_ids.HISTORY, "data"),
                  State(ids.COVERAGE_PER_100K, "value"), State(ids.COVERAGE_LEVEL, "value"),
                  prevent_initial_call=True)
    def show_question(n_clicks, history, per_100k, level):
        turns = [h for h in clean_history(history) if h.get("role") == "user" and h.get("text")]
        if not n_clicks:
            return no_update, no_update, no_update, no_update, no_update
        if not turns:
            return True, cv.summary(None, cv.NO_QUESTION), cv.empty_figure(cv.NO_QUESTION, height=460), \
                None, SEARCH
        source = {"q": turns[-1]["text"]}
        out = coverage(exp, question_of(source), per_inhabitants=bool(per_100k))
        return (True, cv.summary(out), *draw(out, level, bool(per_100k)), source)

    def topic_of(source) -> tuple[int, int] | None:
        """(k, topic) of a topic source ``{"k": K, "topic": t}`` the build knows, else None."""
        if not isinstance(source, dict):
            return None
        k, t = source.get("k"), source.get("topic")
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (k, t)):
            return None
        try:
            return (k, t) if k in exp.topics.ks() and 0 <= t < k else None
        except Exception:  # no usable topics: nothing to show
            return None

    def topic_coverage(kt, per) -> dict | None:
        k, t = kt
        try:
            rows = exp.topics.topic_rows(k, t, limit=exp.n)
            name = exp.topics.labels(k)[t]
        except Exception:  # damaged topic files: the view says there is nothing to show
            log.exception("topic %s of K=%s unavailable for the coverage", t, k)
            return None
        return coverage(exp, "", per_inhabitants=per, rows=rows, rule=cv.topic_rule(k),
                        label=cv.topic_label(f"{t + 1}. {name}"))

    if exp.topics.available:
        @app.callback(Output(ids.COVERAGE_MODAL, "is_open", allow_duplicate=True),
                      Output(ids.COVERAGE_SUMMARY, "children", allow_duplicate=True),
                      Output(ids.COVERAGE_FIGURE, "figure", allow_duplicate=True),
                      Output(ids.COVERAGE_DATA, "data", allow_duplicate=True),
                      Output(ids.COVERAGE_SOURCE, "data", allow_duplicate=True),
                      Input(ids.COVERAGE_OPEN_TOPIC, "n_clicks"), State(ids.TOPICS_K, "value"),
                      State(ids.TOPICS_SELECT, "value"), State(ids.COVERAGE_PER_100K, "value"),
                      State(ids.COVERAGE_LEVEL, "value"), prevent_initial_call=True)
        def show_topic(n_clicks, k, topic, per_100k, level):
            kt = topic_of({"k": k, "topic": topic})
            if not n_clicks or kt is None:
                return no_update, no_update, no_update, no_update, no_update
            out = topic_coverage(kt, bool(per_100k))
            if out is None:
                return no_update, no_update, no_update, no_update, no_update
            return (True, cv.summary(out), *draw(out, level, bool(per_100k)), {"k": kt[0], "topic": kt[1]})

    cluster_names = {c["cluster"]: c["label"] for c in clusters_list(exp)}

    def cluster_of(source) -> int | None:
        """The cluster of a ``{"cluster": c}`` source the build knows, else None."""
        c = source.get("cluster") if isinstance(source, dict) else None
        return c if isinstance(c, int) and not isinstance(c, bool) and c in cluster_names else None

    def cluster_coverage(c, per) -> dict | None:
        rows = cluster_rows(exp, c)
        if rows is None:
            return None
        return coverage(exp, "", per_inhabitants=per, rows=rows, rule=cv.cluster_rule(),
                        label=cv.cluster_label(c, cluster_names[c]))

    def open_cluster(n_clicks, cluster, per_100k, level) -> tuple:
        c = cluster_of({"cluster": cluster})
        if not n_clicks or c is None:
            return no_update, no_update, no_update, no_update, no_update
        out = cluster_coverage(c, bool(per_100k))
        if out is None:
            return no_update, no_update, no_update, no_update, no_update
        return (True, cv.summary(out), *draw(out, level, bool(per_100k)), {"cluster": c})

    present = layout_ids(app)  # a page disabled by damaged files has no cluster chooser
    if cluster_names:
        for button, chooser in ((ids.COVERAGE_OPEN_CLUSTER, ids.COVERAGE_CLUSTER),  # « Thèmes » page
                                (ids.COVERAGE_OPEN_MAP_CLUSTER, ids.COVERAGE_MAP_CLUSTER)):  # under the map
            if present is not None and button not in present:
                continue
            app.callback(Output(ids.COVERAGE_MODAL, "is_open", allow_duplicate=True),
                         Output(ids.COVERAGE_SUMMARY, "children", allow_duplicate=True),
                         Output(ids.COVERAGE_FIGURE, "figure", allow_duplicate=True),
                         Output(ids.COVERAGE_DATA, "data", allow_duplicate=True),
                         Output(ids.COVERAGE_SOURCE, "data", allow_duplicate=True),
                         Input(button, "n_clicks"), State(chooser, "value"),
                         State(ids.COVERAGE_PER_100K, "value"), State(ids.COVERAGE_LEVEL, "value"),
                         prevent_initial_call=True)(open_cluster)

    if cluster_names and (present is None or {ids.COVERAGE_CLUSTER, ids.TOPICS_HEATMAP} <= present):
        @app.callback(Output(ids.COVERAGE_CLUSTER, "value"), Input(ids.TOPICS_HEATMAP, "clickData"),
                      prevent_initial_call=True)
        def cluster_from_heatmap(click):
            c = heatmap_cluster(click)
            return c if c in cluster_names else no_update

    if cluster_names and (present is None or {ids.COVERAGE_MAP_CLUSTER_ROW, ids.MAP_COLOUR} <= present):
        @app.callback(Output(ids.COVERAGE_MAP_CLUSTER_ROW, "style"), Input(ids.MAP_COLOUR, "value"))
        def map_cluster_row(colour):
            return cv.cluster_row_style(colour == CLUSTERS_COLOUR)

    @app.callback(Output(ids.COVERAGE_DOWNLOAD, "data"), Input(ids.COVERAGE_CSV, "n_clicks"),
                  State(ids.COVERAGE_DATA, "data"), prevent_initial_call=True)
    def download(n_clicks, data):
        if not n_clicks or not isinstance(data, dict) or "departements" not in data:
            return no_update
        return dcc.send_string(coverage_csv(data), cv.CSV_FILENAME)
