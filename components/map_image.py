"""« Télécharger l'image »: the map as the user sees it (view, colours, region labels), as a
PNG at least 2,000 pixels wide, through plotly's static export (kaleido, which drives the
machine's Chromium: it works offline)."""

from __future__ import annotations

import math
import threading

import plotly.graph_objects as go
from dash import html

from components.labels import plotly_text

MIN_WIDTH_PX = 2000
PNG_NAME = "carte-catalogue.png"
_LOCK = threading.Lock()  # one export at a time: each one drives a headless browser


def image_figure(base: go.Figure, view: dict | None, *, title: str = "") -> go.Figure:
    """``base`` (a map figure) set to the browser's ``view``: ``{"x": [x0, x1], "y": [y0, y1],
    "width", "height", "labels": [{"x", "y", "text", "size"}]}`` (labels as placed on screen)."""
    fig = go.Figure(base)
    view = view if isinstance(view, dict) else {}
    for axis in ("x", "y"):
        r = view.get(axis)
        if isinstance(r, list | tuple) and len(r) == 2 and all(isinstance(v, int | float) for v in r):
            fig.update_layout({f"{axis}axis": {"range": [float(r[0]), float(r[1])], "autorange": False}})
    annotations = []
    labels = view.get("labels")
    for lab in (labels if isinstance(labels, list) else [])[:400]:  # « labels: true » is no list
        if not isinstance(lab, dict):
            continue
        try:
            x, y, size = float(lab["x"]), float(lab["y"]), float(lab.get("size", 12))
        except (KeyError, TypeError, ValueError, OverflowError):
            continue
        if not all(math.isfinite(v) for v in (x, y, size)):
            continue
        lines = [plotly_text(part, 80) for part in str(lab.get("text", "")).split("\n")][:3]
        if not any(lines):
            continue
        text = "<br>".join(lines)
        annotations.append({"x": x, "y": y, "xref": "x", "yref": "y",
                            "text": f"<b>{text}</b>" if lab.get("bold") else text,
                            "showarrow": False, "bgcolor": "rgba(255,255,255,0.78)", "borderpad": 2,
                            "font": {"size": max(8.0, min(size, 24.0)), "color": "#1b1f24"}})
    fig.update_layout(annotations=annotations, dragmode=False,
                      title={"text": plotly_text(title, 120), "x": 0.01} if title else None)
    return fig


def png_size(view: dict | None) -> tuple[int, int, float]:
    """(width, height, scale): the browser's plot size, scaled to at least MIN_WIDTH_PX."""
    view = view if isinstance(view, dict) else {}
    try:
        w = int(min(max(float(view.get("width") or 1200), 400), 3000))
        h = int(min(max(float(view.get("height") or 800), 300), 3000))
    except (TypeError, ValueError):
        w, h = 1200, 800
    return w, h, max(1.0, math.ceil(100 * MIN_WIDTH_PX / w) / 100)


def png_bytes(fig: go.Figure, width: int, height: int, scale: float) -> bytes:
    """The figure as PNG bytes (raises RuntimeError with a French message when it cannot)."""
    try:
        import plotly.io as pio  # lazy: only the PNG export needs it

        with _LOCK:
            return pio.to_image(fig, format="png", width=width, height=height, scale=scale)
    except Exception as exc:  # kaleido missing, no Chromium, a crash of the headless browser
        raise RuntimeError("L'image n'a pas pu être produite sur ce serveur "
                           "(export statique indisponible).") from exc


def image_status(message: str = "", *, failed: bool = False) -> html.Span | str:
    """What the line under the map says about the image: nothing once sent, the server busy
    (a warning) or the export failed (``failed``: an error)."""
    if not message:
        return ""
    return html.Span(message, className="text-danger" if failed else "text-warning")
