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

What the modal shows (``COVERAGE_SOURCE``): :data:`SEARCH`, :data:`SELECTION`, a question
``{"q"}``, a topic ``{"k", "topic"}`` or a cluster ``{"cluster"}``.
"""

from __future__ import annotations

import logging

from dash import Input, Output, State, ctx, dcc, no_update

from callbacks.common import Wiring
from components import ask_page as ask_ids
from components import coverage_view as cv
from components import ids
from components.ask_page import clean_history
from models.serve.coverage import cluster_rows, clusters_list, coverage, coverage_csv
from models.serve.filters import params_to_raw
from models.serve.search import clean_query

log = logging.getLogger(__name__)
wiring = Wiring()

SEARCH, SELECTION = "search", "selection"
CLUSTERS_COLOUR = "clusters"  # the map's « Groupes » colouring (components.topics.map_colour_options)
MAX_SELECTION = 100_000
NOTHING = (no_update,) * 5
MODAL = (Output(ids.COVERAGE_MODAL, "is_open", allow_duplicate=True),
         Output(ids.COVERAGE_SUMMARY, "children", allow_duplicate=True),
         Output(ids.COVERAGE_FIGURE, "figure", allow_duplicate=True),
         Output(ids.COVERAGE_DATA, "data", allow_duplicate=True),
         Output(ids.COVERAGE_SOURCE, "data", allow_duplicate=True))
VIEW = (State(ids.COVERAGE_PER_100K, "value"), State(ids.COVERAGE_LEVEL, "value"))


def register(app, services) -> None:
    wiring.register(app, services)


# ---- pure helpers -------------------------------------------------------------------------
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


# ---- the sources: what the build knows of them ------------------------------------------------
def cluster_names(services) -> dict[int, str]:
    """The build's embedding clusters, ``{cluster: label}`` (read once per app)."""
    if "coverage_clusters" not in services.memo:
        clusters = clusters_list(services.explorer)
        services.memo["coverage_clusters"] = {c["cluster"]: c["label"] for c in clusters}
    return services.memo["coverage_clusters"]


def question_of(services, source) -> str:
    """The question of a ``{"q": …}`` source (the « Demander » page), cleaned; "" otherwise."""
    q = source.get("q") if isinstance(source, dict) else None
    return clean_query(q, services.explorer.max_query_chars) if isinstance(q, str) else ""


def topic_of(services, source) -> tuple[int, int] | None:
    """(k, topic) of a topic source ``{"k": K, "topic": t}`` the build knows, else None."""
    if not isinstance(source, dict):
        return None
    k, t = source.get("k"), source.get("topic")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (k, t)):
        return None
    try:
        return (k, t) if k in services.explorer.topics.ks() and 0 <= t < k else None
    except Exception:  # no usable topics: nothing to show
        return None


def cluster_of(services, source) -> int | None:
    """The cluster of a ``{"cluster": c}`` source the build knows, else None."""
    c = source.get("cluster") if isinstance(source, dict) else None
    return c if isinstance(c, int) and not isinstance(c, bool) and c in cluster_names(services) else None


def known_source(services, source):
    """``source`` when the build knows it, else :data:`SEARCH`."""
    known = (source in (SEARCH, SELECTION) or question_of(services, source)
             or topic_of(services, source) is not None or cluster_of(services, source) is not None)
    return source if known else SEARCH


def topic_coverage(services, kt, per) -> dict | None:
    exp, (k, t) = services.explorer, kt
    try:
        rows = exp.topics.topic_rows(k, t, limit=exp.n)
        name = exp.topics.labels(k)[t]
    except Exception:  # damaged topic files: the view says there is nothing to show
        log.exception("topic %s of K=%s unavailable for the coverage", t, k)
        return None
    return coverage(exp, "", per_inhabitants=per, rows=rows, rule=cv.topic_rule(k),
                    label=cv.topic_label(t, name))


def cluster_coverage(services, c, per) -> dict | None:
    rows = cluster_rows(services.explorer, c)
    if rows is None:
        return None
    return coverage(services.explorer, "", per_inhabitants=per, rows=rows, rule=cv.cluster_rule(),
                    label=cv.cluster_label(c, cluster_names(services)[c]))


def source_answer(services, source, per: bool, state, selection) -> tuple[dict | None, str, object]:
    """(the coverage of ``source`` or None, what to say when None, the source kept)."""
    exp = services.explorer
    if question_of(services, source):
        return coverage(exp, question_of(services, source), per_inhabitants=per), cv.NO_SEARCH, source
    for of, answer in ((cluster_of, cluster_coverage), (topic_of, topic_coverage)):
        key = of(services, source)
        if key is not None:
            out = answer(services, key, per)
            return out, cv.NO_SELECTION, source if out is not None else SEARCH
    if source == SELECTION:
        rows = selection_rows(selection, exp.n)
        out = coverage(exp, "", per_inhabitants=per, rows=rows) if rows else None
        return out, cv.NO_SELECTION, source
    search = search_of(state)
    if search is None:
        return None, cv.NO_SEARCH, source
    return coverage(exp, search[0], filters=search[1], per_inhabitants=per), cv.NO_SEARCH, source


def outlines(services, level: str):
    try:
        return services.explorer.territories.outlines(level)
    except Exception:  # the outlines are a bonus: the summary still answers
        log.exception("département outlines unavailable")
        return None


def modal(services, is_open, out: dict | None, empty: str, level, per: bool, source) -> tuple:
    """The modal's outputs: open, summary, map, the answer kept for the CSV, what it shows."""
    if out is None:
        return (is_open, *cv.empty_view(empty), None, source)
    level = cv.level_of(level)
    figure = cv.coverage_figure(out, outlines(services, level), level, per)
    return is_open, cv.summary(out), figure, out, source


# ---- callbacks ----------------------------------------------------------------------------
@wiring.callback(Output(ids.COVERAGE_MODAL, "is_open"), Output(ids.COVERAGE_SUMMARY, "children"),
                 Output(ids.COVERAGE_FIGURE, "figure"), Output(ids.COVERAGE_DATA, "data"),
                 Output(ids.COVERAGE_SOURCE, "data"),
                 Input(ids.COVERAGE_OPEN, "n_clicks"), Input(ids.COVERAGE_OPEN_SELECTION, "n_clicks"),
                 Input(ids.COVERAGE_PER_100K, "value"), Input(ids.COVERAGE_LEVEL, "value"),
                 State(ids.SEARCH_STATE, "data"), State(ids.MAP_SELECTION, "data"),
                 State(ids.COVERAGE_SOURCE, "data"), prevent_initial_call=True)
def show(services, n_search, n_selection, per_100k, level, state, selection, source):
    opened = {ids.COVERAGE_OPEN: (n_search, SEARCH), ids.COVERAGE_OPEN_SELECTION: (n_selection, SELECTION)}
    clicks, opened_source = opened.get(ctx.triggered_id, (None, None))
    if opened_source is not None and not clicks:
        return NOTHING
    source = opened_source or known_source(services, source)
    out, empty, source = source_answer(services, source, bool(per_100k), state, selection)
    return modal(services, True if opened_source else no_update, out, empty, level, bool(per_100k), source)


@wiring.callback(*MODAL, Input(ids.COVERAGE_OPEN_ASK, "n_clicks"), State(ask_ids.HISTORY, "data"), *VIEW,
                 prevent_initial_call=True)
def show_question(services, n_clicks, history, per_100k, level):
    turns = [h for h in clean_history(history) if h.get("role") == "user" and h.get("text")]
    if not n_clicks:
        return NOTHING
    if not turns:
        return modal(services, True, None, cv.NO_QUESTION, level, bool(per_100k), SEARCH)
    source = {"q": turns[-1]["text"]}
    out = coverage(services.explorer, question_of(services, source), per_inhabitants=bool(per_100k))
    return modal(services, True, out, cv.NO_QUESTION, level, bool(per_100k), source)


@wiring.callback(*MODAL, Input(ids.COVERAGE_OPEN_TOPIC, "n_clicks"), State(ids.TOPICS_K, "value"),
                 State(ids.TOPICS_SELECT, "value"), *VIEW, prevent_initial_call=True,
                 when=lambda app, services: services.explorer.topics.available)
def show_topic(services, n_clicks, k, topic, per_100k, level):
    kt = topic_of(services, {"k": k, "topic": topic})
    out = topic_coverage(services, kt, bool(per_100k)) if n_clicks and kt is not None else None
    if out is None:
        return NOTHING
    return modal(services, True, out, cv.NO_SELECTION, level, bool(per_100k), {"k": kt[0], "topic": kt[1]})


def open_cluster(services, n_clicks, cluster, per_100k, level) -> tuple:
    c = cluster_of(services, {"cluster": cluster})
    out = cluster_coverage(services, c, bool(per_100k)) if n_clicks and c is not None else None
    if out is None:
        return NOTHING
    return modal(services, True, out, cv.NO_SELECTION, level, bool(per_100k), {"cluster": c})


def shows(*needed: str):
    """``when``: the build has clusters and the layout (when known) has these components (a page
    disabled by damaged files has no cluster chooser)."""
    def when(app, services) -> bool:
        present = layout_ids(app)
        return bool(cluster_names(services)) and (present is None or set(needed) <= present)

    return when


for _button, _chooser in ((ids.COVERAGE_OPEN_CLUSTER, ids.COVERAGE_CLUSTER),  # « Thèmes » page
                          (ids.COVERAGE_OPEN_MAP_CLUSTER, ids.COVERAGE_MAP_CLUSTER)):  # under the map
    wiring.callback(*MODAL, Input(_button, "n_clicks"), State(_chooser, "value"), *VIEW,
                    prevent_initial_call=True, when=shows(_button))(open_cluster)


@wiring.callback(Output(ids.COVERAGE_CLUSTER, "value"), Input(ids.TOPICS_HEATMAP, "clickData"),
                 prevent_initial_call=True, when=shows(ids.COVERAGE_CLUSTER, ids.TOPICS_HEATMAP))
def cluster_from_heatmap(services, click):
    c = heatmap_cluster(click)
    return c if c in cluster_names(services) else no_update


@wiring.callback(Output(ids.COVERAGE_MAP_CLUSTER_ROW, "style"), Input(ids.MAP_COLOUR, "value"),
                 when=shows(ids.COVERAGE_MAP_CLUSTER_ROW, ids.MAP_COLOUR))
def map_cluster_row(services, colour):
    return cv.cluster_row_style(colour == CLUSTERS_COLOUR)


@wiring.callback(Output(ids.COVERAGE_DOWNLOAD, "data"), Input(ids.COVERAGE_CSV, "n_clicks"),
                 State(ids.COVERAGE_DATA, "data"), prevent_initial_call=True)
def download(services, n_clicks, data):
    if not n_clicks or not isinstance(data, dict) or "departements" not in data:
        return no_update
    return dcc.send_string(coverage_csv(data), cv.CSV_FILENAME)
