"""Figure helpers shared by the builders: the empty state, the colour palette, the base layout."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

from components.labels import plotly_text

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_PALETTE = list(qualitative.Dark24) + list(qualitative.Light24)


def palette(n: int) -> list[str]:
    """``n`` distinct colours (cycling past 48)."""
    return [_PALETTE[i % len(_PALETTE)] for i in range(max(0, n))]


def empty_figure(message: str = "Rien à afficher", *, height: int | None = None) -> go.Figure:
    """The explicit empty state: no axes, one centred French message."""
    fig = go.Figure()
    fig.update_layout(
        xaxis={"visible": False}, yaxis={"visible": False},
        plot_bgcolor="white", paper_bgcolor="white",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        font={"family": FONT},
        annotations=[{"text": plotly_text(message, 200), "showarrow": False, "x": 0.5, "y": 0.5,
                      "xref": "paper", "yref": "paper", "font": {"size": 15, "color": "#6c757d"}}],
        meta={"empty": True},
    )
    if height:
        fig.update_layout(height=height)
    return fig
