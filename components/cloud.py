"""Word cloud as a plain plotly figure: text marks sized by weight, packed along a spiral.

Deterministic: the same terms give the same picture. Words are placed largest first along an
elliptical Archimedean spiral from the centre, at the first position where their estimated box
overlaps no word already placed and stays inside the canvas; a word with no room is left out.
Positions are in pixels of a nominal ``width`` x ``height`` canvas (the axes span exactly that), so
the picture has no overlap when drawn at least that wide, and only spreads out when wider.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from components.figures import FONT, empty_figure
from components.labels import clean_text, plotly_text

CLOUD_COLOURS = ("#1d3557", "#2a7f9e", "#c1121f", "#2a9d8f", "#6a4c93", "#d17a22", "#3d5a80")
CHAR_WIDTH = 0.6  # average glyph width of the sans-serif font, in em
LINE_HEIGHT = 1.1  # box height, in em
PAD = 3.0  # pixels kept between two words
TITLE_SPACE = 44


def text_box(word: str, size: float) -> tuple[float, float]:
    """Estimated (width, height) in pixels of ``word`` drawn at font ``size``."""
    return CHAR_WIDTH * size * max(len(word), 1) + PAD, LINE_HEIGHT * size + PAD


def _spiral(width: float, height: float, steps: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    angle = np.arange(steps, dtype=np.float64) * 0.25
    r = 1.4 * angle
    aspect = width / height
    return r * np.cos(angle) * aspect, r * np.sin(angle)


def layout_words(words: Sequence[str], sizes: Sequence[float], width: float, height: float
                 ) -> list[tuple[float, float] | None]:
    """Centre of each word (None when it does not fit), in pixels from the canvas centre."""
    sx, sy = _spiral(width, height)
    boxes = np.empty((0, 4))  # x0, y0, x1, y1 of the words placed
    out: list[tuple[float, float] | None] = []
    for word, size in zip(words, sizes, strict=True):
        w, h = text_box(word, size)
        x0, x1, y0, y1 = sx - w / 2, sx + w / 2, sy - h / 2, sy + h / 2
        ok = (x0 >= -width / 2) & (x1 <= width / 2) & (y0 >= -height / 2) & (y1 <= height / 2)
        if len(boxes):
            overlap = ((x0[:, None] < boxes[None, :, 2]) & (x1[:, None] > boxes[None, :, 0])
                       & (y0[:, None] < boxes[None, :, 3]) & (y1[:, None] > boxes[None, :, 1]))
            ok &= ~overlap.any(axis=1)
        hit = np.flatnonzero(ok)
        if not len(hit):
            out.append(None)
            continue
        i = int(hit[0])
        boxes = np.vstack([boxes, [x0[i], y0[i], x1[i], y1[i]]])
        out.append((float(sx[i]), float(sy[i])))
    return out


def _clean_terms(terms, max_words: int) -> list[tuple[str, float]]:
    seen, out = set(), []
    for term, weight in terms or ():
        word = clean_text(term, 40)
        try:
            w = float(weight)
        except (TypeError, ValueError):
            continue
        if not word or word in seen or not math.isfinite(w) or w <= 0:
            continue
        seen.add(word)
        out.append((word, w))
    out.sort(key=lambda tw: -tw[1])  # stable: ties keep the given order
    return out[:max_words]


def visualize_wordcloud(terms: list[tuple[str, float]], title: str, *, width: int = 600,
                        height: int = 330, max_words: int = 40, min_size: float = 11.0,
                        max_size: float = 46.0, colours: Sequence[str] = CLOUD_COLOURS) -> go.Figure:
    """Word cloud of ``terms`` (word, weight): font size proportional to weight (not below
    ``min_size``), largest words nearest the centre. Empty terms -> the empty-state figure."""
    kept = _clean_terms(terms, max_words)
    if not kept:
        return empty_figure(f"{clean_text(title, 80)}\u202f: aucun terme à afficher".lstrip("\u202f:"),
                            height=height + TITLE_SPACE)
    w_max = kept[0][1]
    sizes = [max(min_size, max_size * w / w_max) for _, w in kept]
    words = [w for w, _ in kept]
    centres = layout_words(words, sizes, width, height)
    placed = [i for i, c in enumerate(centres) if c is not None]
    fig = go.Figure(go.Scatter(
        x=[centres[i][0] for i in placed], y=[centres[i][1] for i in placed],
        mode="text", text=[plotly_text(words[i]) for i in placed],
        customdata=[round(kept[i][1], 6) for i in placed],
        textposition="middle center",
        textfont={"size": [round(sizes[i], 2) for i in placed],
                  "color": [colours[i % len(colours)] for i in placed], "family": FONT},
        hovertemplate="%{text} — poids %{customdata:.4f}<extra></extra>",
        showlegend=False,
    ))
    fig.update_layout(
        title={"text": plotly_text(title, 90), "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        height=height + TITLE_SPACE, margin={"l": 4, "r": 4, "t": TITLE_SPACE, "b": 4},
        xaxis={"visible": False, "range": [-width / 2, width / 2], "fixedrange": True},
        yaxis={"visible": False, "range": [-height / 2, height / 2], "fixedrange": True},
        plot_bgcolor="white", paper_bgcolor="white", font={"family": FONT},
        hovermode="closest", dragmode=False,
        meta={"words": len(placed), "dropped": len(kept) - len(placed)},
    )
    return fig
