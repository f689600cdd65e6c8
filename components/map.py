"""The catalogue map: every dataset at its 2D (UMAP) position, coloured by dominant topic.

Trace layout of the figure (callbacks patch traces by index, never resend the figure):

* ``BASE_TRACE`` (0): one Scattergl of all datasets; point ``i`` is row ``i`` of the artifacts
  (``pointIndex`` is the row id, so no customdata is sent); colour = dominant topic code.
* ``HIGHLIGHT_TRACE`` (1): overlay of highlighted rows (search results, a producer, ...);
  ``customdata`` holds their row ids, ``text`` their rank.
* ``SELECTED_TRACE`` (2): the selected dataset (a star), ``customdata`` = ``[row]``.
* ``QUERY_TRACE`` (3): the search query placed on the map (a cross), from
  ``Explorer.place_query``; ``customdata`` is empty, so a click on it selects nothing.
* ``FIRST_LEGEND_TRACE`` (4) and after: one empty trace per topic, only to name its colour in
  the legend (ordered by prevalence).

Arrays go out as float32 / uint8 numpy arrays, which plotly serialises as base64 typed arrays:
about 8 bytes a point for the coordinates plus 1 for the colour, before base64 (4/3).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from dash import Patch

from components.figures import FONT, empty_figure, palette
from components.labels import clean_text, plotly_text

BASE_TRACE = 0
HIGHLIGHT_TRACE = 1
SELECTED_TRACE = 2
QUERY_TRACE = 3
FIRST_LEGEND_TRACE = 4
UIREVISION = "catalogue-map"  # constant: zoom and pan survive figure updates
NO_TOPIC_COLOUR = "#adb5bd"
SINGLE_COLOUR = "#3a6ea5"
HIGHLIGHT_COLOUR = "#e63946"
SELECTED_COLOUR = "#ffd60a"
QUERY_COLOUR = "#111111"
LEGEND_LABEL_CHARS = 48


def marker_size(n: int) -> float:
    """Smaller points for bigger maps: ~6 px for 500 points, ~3.5 px for 70,000."""
    return float(np.clip(9.0 - 1.1 * np.log10(max(n, 1)), 3.0, 7.0))


def topic_codes(topics: np.ndarray, k: int) -> np.ndarray:
    """Dominant topic per row -> compact colour codes; rows without a topic get code ``k``."""
    t = np.asarray(topics, dtype=np.int64)
    codes = np.where((t >= 0) & (t < k), t, k)
    return codes.astype(np.uint8 if k < 255 else np.uint16)


def _stepwise_colorscale(colours: list[str]) -> list[list]:
    """One flat band per category, for integer colour codes with cmin=-0.5, cmax=len-0.5."""
    m = len(colours)
    scale = []
    for i, c in enumerate(colours):
        scale.append([i / m, c])
        scale.append([(i + 1) / m, c])
    return scale


def _scattergl(**props) -> dict:
    """A Scattergl trace as the plain dict ``go.Scattergl(**props).to_plotly_json()`` gives (a
    property set to None left out), without plotly's validation of every property (~0.5 ms a
    trace, two a search): the properties are this module's own, and a test compares both.

    >>> _scattergl(x=[1.0], y=[2.0], hovertext=None, mode="markers")
    {'x': [1.0], 'y': [2.0], 'mode': 'markers', 'type': 'scattergl'}
    """
    return {**{k: v for k, v in props.items() if v is not None}, "type": "scattergl"}


def highlight_trace(xy, rows: Sequence[int] = (), titles: Sequence[str] = (), label: str = "") -> dict:
    """The overlay trace (a plain dict, for a ``dash.Patch``): highlighted rows, numbered."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    rows = [int(r) for r in rows]
    name = plotly_text(label, LEGEND_LABEL_CHARS) or "Sélection sur la carte"
    return _scattergl(
        x=[round(float(v), 5) for v in xy[:, 0]], y=[round(float(v), 5) for v in xy[:, 1]],
        customdata=rows, mode="markers+text",
        text=[str(i + 1) for i in range(len(rows))], textposition="top center",
        textfont={"size": 11, "color": "#212529"},
        hovertext=[plotly_text(t, 120) for t in titles] if len(titles) == len(rows) else None,
        hovertemplate="%{text}. %{hovertext}<extra></extra>",
        marker={"size": 11, "color": HIGHLIGHT_COLOUR, "line": {"width": 1.5, "color": "white"}},
        name=name, showlegend=bool(rows), legendrank=1,
    )


def selected_trace(xy=None, row: int | None = None, title: str = "") -> dict:
    """The selected dataset as a star (a plain dict, for a ``dash.Patch``); empty if no row."""
    if row is None or xy is None:
        x, y, rows = [], [], []
    else:
        p = np.asarray(xy, dtype=np.float64).reshape(2)
        x, y, rows = [round(float(p[0]), 5)], [round(float(p[1]), 5)], [int(row)]
    return _scattergl(
        x=x, y=y, customdata=rows, mode="markers",
        hovertext=[plotly_text(title, 120)] if rows else None,
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"size": 20, "symbol": "star", "color": SELECTED_COLOUR,
                "line": {"width": 1.5, "color": "#212529"}},
        name="Jeu de données choisi", showlegend=bool(rows), legendrank=2,
    )


def query_trace(xy=None, query: str = "") -> dict:
    """The query's place on the map (a plain dict, for a ``dash.Patch``); empty if no point."""
    if xy is None:
        x, y = [], []
    else:
        p = np.asarray(xy, dtype=np.float64).reshape(2)
        x, y = [round(float(p[0]), 5)], [round(float(p[1]), 5)]
    text = plotly_text(query, 80)
    return _scattergl(
        x=x, y=y, mode="markers", customdata=[], hovertext=[f"Requête\u202f: {text}"] if x else None,
        hovertemplate="%{hovertext}<extra></extra>",
        marker={"size": 18, "symbol": "x", "color": QUERY_COLOUR, "line": {"width": 2, "color": "white"}},
        name="Votre requête", showlegend=bool(x), legendrank=0,
    )


def focus_range(values: np.ndarray, tail: float = 0.5, pad: float = 0.05) -> dict:
    """An initial axis range on the bulk of the points: UMAP leaves a few far-flung isolated
    points (exact duplicates, odd texts) that would otherwise shrink the map to a blob.
    Double-click still autoscales to every point."""
    v = values[np.isfinite(values)]
    if len(v) < 1000:
        return {}
    lo, hi = np.percentile(v, [tail, 100 - tail])
    span = float(hi - lo) or 1.0
    return {"range": [float(lo) - pad * span, float(hi) + pad * span], "autorange": False}


def visualize_map(coords, topics=None, topic_labels: Sequence[str] = (),
                  prevalence: Sequence[float] | None = None, *, height: int = 640) -> go.Figure:
    """All datasets as one Scattergl, coloured by dominant topic, with a legend of topics.

    ``coords``: (n, 2) array; ``topics``: (n,) dominant topic per row (or None; -1 = none);
    ``topic_labels[t]``: the name of topic ``t``; ``prevalence[t]`` orders the legend."""
    coords = np.asarray(coords, dtype=np.float32).reshape(-1, 2)
    n = len(coords)
    if n == 0:
        return empty_figure("Aucun jeu de données à afficher", height=height)
    k = len(topic_labels) if topics is not None else 0
    colours = palette(k)
    marker: dict = {"size": marker_size(n), "opacity": 0.8}
    if k:
        codes = topic_codes(topics, k)
        marker.update(color=codes, colorscale=_stepwise_colorscale([*colours, NO_TOPIC_COLOUR]),
                      cmin=-0.5, cmax=k + 0.5, showscale=False)
    else:
        marker["color"] = SINGLE_COLOUR
    base = go.Scattergl(
        x=np.ascontiguousarray(coords[:, 0]), y=np.ascontiguousarray(coords[:, 1]),
        mode="markers", marker=marker, name="Jeux de données", showlegend=not k,
        hoverinfo="none",  # no per-point strings: the app shows a tooltip from the row id
    )
    traces = [base, go.Scattergl(highlight_trace(np.empty((0, 2)))),
              go.Scattergl(selected_trace()), go.Scattergl(query_trace())]
    order = list(range(k))
    if prevalence is not None and len(prevalence) == k:
        order.sort(key=lambda t: -float(prevalence[t]))
    for rank, t in enumerate(order):
        traces.append(go.Scattergl(
            x=[None], y=[None], mode="markers", name=plotly_text(topic_labels[t], LEGEND_LABEL_CHARS),
            marker={"size": 10, "color": colours[t]}, legendgroup="topics", legendrank=10 + rank,
            hoverinfo="skip", showlegend=True, meta={"topic": int(t)},
        ))
    fig = go.Figure(traces)
    fig.update_layout(
        height=height, uirevision=UIREVISION, dragmode="pan",
        hovermode="closest", hoverdistance=10, spikedistance=0,
        margin={"l": 4, "r": 4, "t": 30, "b": 4},  # top: room for the mode bar
        plot_bgcolor="white", paper_bgcolor="white", font={"family": FONT, "size": 12},
        xaxis={"visible": False, **focus_range(coords[:, 0])},
        yaxis={"visible": False, **focus_range(coords[:, 1])},
        legend={"title": {"text": "Thèmes (LDA)" if k else ""}, "itemclick": False,
                "itemdoubleclick": False, "font": {"size": 11}, "tracegroupgap": 2},
        meta={"n": n, "topics": k},
    )
    return fig


def row_from_point(point: dict | None, n: int | None = None) -> int | None:
    """The artifact row of a clicked or hovered point (``clickData["points"][0]``), or None.

    Base trace: the point index is the row. Overlay traces: the row is in ``customdata``."""
    if not isinstance(point, dict):
        return None
    curve = point.get("curveNumber")
    if curve == BASE_TRACE:
        value = point.get("pointIndex", point.get("pointNumber"))
    elif curve in (HIGHLIGHT_TRACE, SELECTED_TRACE):
        value = point.get("customdata")
        if isinstance(value, list):
            value = value[0] if value else None
    else:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value)):
        return None
    row = int(value)
    if row < 0 or (n is not None and row >= n):
        return None
    return row


# ---- the highlight store (components.ids.MAP_HIGHLIGHT), read the same way everywhere ----------
MAX_HIGHLIGHT = 20_000  # rows the highlight overlay accepts


def valid_rows(rows, n: int, limit: int = MAX_HIGHLIGHT) -> list[int]:
    """The integer row ids in ``rows`` that exist in a map of ``n`` points (at most ``limit``)."""
    out = []
    for r in (rows if isinstance(rows, list | tuple) else [])[:limit]:
        if (isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r) and r == int(r)
                and 0 <= r < n):
            out.append(int(r))
    return out


def read_highlight(data, n: int) -> dict:
    """The highlight store's content, checked: ``{"rows", "label", "query"}`` where ``query`` is
    ``(x, y, text)`` with finite coordinates, or None.

    Examples
    --------
    >>> read_highlight({"rows": [2, "x", 99], "label": "a", "query": {"x": 1, "y": "nan"}}, 10)
    {'rows': [2], 'label': 'a', 'query': None}
    """
    data = data if isinstance(data, dict) else {}
    query = data.get("query") if isinstance(data.get("query"), dict) else {}
    try:
        xy = (float(query["x"]), float(query["y"]))
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: float(10**400)
        xy = None
    if xy is not None and not all(math.isfinite(v) for v in xy):
        xy = None
    label = data.get("label")
    return {"rows": valid_rows(data.get("rows"), n), "label": label if isinstance(label, str) else "",
            "query": None if xy is None else (*xy, str(query.get("text") or ""))}


EMPTY_HIGHLIGHT = {"label": "", "rows": []}


def highlight_store(label: str, rows, query: str = "", place: dict | None = None, *,
                    drawn: bool = False) -> dict:
    """What the highlight store holds (read back by :func:`read_highlight`): the points to
    highlight and their legend, and the query's place on the map when it has one; ``drawn``:
    the writer sends the map's overlay itself (:data:`DRAW_GATE_JS` then skips the server's).

    >>> highlight_store("Recherche", [3, 1], "eau", {"x": 0.5, "y": -1.0, "n": 15})
    {'label': 'Recherche', 'rows': [3, 1], 'query': {'x': 0.5, 'y': -1.0, 'text': 'eau'}}
    >>> highlight_store("Recherche", [3], drawn=True)["drawn"]
    True
    """
    out = {"label": label, "rows": [int(r) for r in rows]}
    if query and place:
        out["query"] = {"x": place["x"], "y": place["y"], "text": query}
    if drawn:
        out["drawn"] = True
    return out


# the browser's gate between the highlight store and the server's overlay callback: a highlight
# its writer already drew (``"drawn"``) costs no second request
DRAW_GATE_JS = """
function(highlight) {
    return (highlight && highlight.drawn) ? window.dash_clientside.no_update : highlight;
}
"""


# the map's base trace fades the points outside the filters: the server sends a bitmask (≤ 9 KB
# for 70,500 datasets, base64) or the row list when shorter, never the map
def encode_mask(mask) -> dict | None:
    """The filter mask for the map (``ids.MAP_FILTER``, read by ``assets/30-map-mask.js``):
    ``{"n", "count", "bits"}`` (little-endian bitmask, base64) or ``{"n", "count", "rows"}`` when
    the row list is shorter; None without filter.

    >>> encode_mask([False] * 100 + [True])
    {'n': 101, 'count': 1, 'rows': [100]}
    >>> encode_mask([True, False] * 8)
    {'n': 16, 'count': 8, 'bits': 'VVU='}
    """
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    count = int(mask.sum())
    rows = np.flatnonzero(mask)
    if count * 7 < len(mask) // 6:  # ~7 characters a row in JSON vs 8 rows a byte in base64
        return {"n": len(mask), "count": count, "rows": [int(r) for r in rows]}
    bits = base64.b64encode(np.packbits(mask, bitorder="little").tobytes()).decode("ascii")
    return {"n": len(mask), "count": count, "bits": bits}


def highlight_patch(xy, rows: Sequence[int], titles: Sequence[str], label: str, query=None) -> Patch:
    """The map's update for a highlight (:func:`read_highlight`): its points, named ``label``,
    and the query's cross (``query``: ``(x, y, text)`` or None)."""
    patch = Patch()
    patch["data"][HIGHLIGHT_TRACE] = highlight_trace(xy, rows, titles, clean_text(label, 60))
    patch["data"][QUERY_TRACE] = query_trace(query[:2] if query else None,
                                             clean_text(query[2] if query else "", 80))
    return patch


def selected_patch(xy=None, row: int | None = None, title: str = "") -> Patch:
    """The map's update for the chosen dataset (its star; none without a row)."""
    patch = Patch()
    patch["data"][SELECTED_TRACE] = selected_trace(xy, row, title)
    return patch


def coloured_map(coords, colouring: tuple | None = None) -> go.Figure:
    """The map coloured by ``colouring``: ``(categories, labels, sizes, legend title)`` (the
    topics' or clusters' or the freshness' colouring); None: one colour."""
    if colouring is None:
        return visualize_map(coords)
    categories, labels, sizes, legend = colouring
    fig = visualize_map(coords, categories, labels, sizes)
    if legend:
        fig.update_layout(legend_title_text=legend)
    return fig


def add_overlays(fig: go.Figure, *, highlight: tuple | None = None, query: tuple | None = None,
                 selected: tuple | None = None) -> go.Figure:
    """Draw on a map figure what the page shows over it: the highlighted points ``(xy, rows,
    titles, label)``, the query's cross ``(x, y, text)``, the chosen dataset ``(xy, row, title)``."""
    if highlight is not None and len(highlight[1]):
        fig.data[HIGHLIGHT_TRACE].update(highlight_trace(*highlight))
    if query is not None:
        fig.data[QUERY_TRACE].update(query_trace(query[:2], query[2][:80]))
    if selected is not None:
        fig.data[SELECTED_TRACE].update(selected_trace(*selected))
    return fig
