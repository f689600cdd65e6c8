"""The selection panel beside the map (a lasso or box selection): count, topic mix against the
catalogue, producers, years, territories, MDS, CSV export. Pure builders from
``models.serve.selection.summarize``."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids
from components.figures import FONT, empty_figure
from components.labels import plotly_text
from models.core import french

SMALL = {"displayModeBar": False, "locale": "fr"}
MDS_POINTS = 1000  # the selection's MDS places at most this many datasets
MDS_EMPTY_HEIGHT = 300
TOO_FEW = "Sélectionnez au moins trois jeux de données."
CSV_NAME = "selection-carte.csv"
BAR = "#3a6ea5"
CATALOGUE = "#adb5bd"
HINT = ("Sélectionnez des jeux de données sur la carte : outil « lasso » ou « sélection "
        "rectangulaire » dans la barre de la carte, puis tracez autour des points.")


def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    kw.setdefault("showlegend", False)
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 8, "b": 8}, plot_bgcolor="white",
                      paper_bgcolor="white", font={"family": FONT, "size": 11}, **kw)
    return fig


def topic_mix_figure(topics: list[dict]) -> go.Figure:
    if not topics:
        return empty_figure("Pas de thèmes pour ce build.", height=200)
    names = [plotly_text(f"{t['topic'] + 1}. {t['label']}", 34) for t in topics][::-1]
    sel = [100 * t["share"] for t in topics][::-1]
    cat = [100 * t["catalogue"] for t in topics][::-1]
    fig = go.Figure([
        go.Bar(y=names, x=cat, orientation="h", name="catalogue", marker_color=CATALOGUE,
               hovertemplate="%{y}<br>catalogue : %{x:.1f} %<extra></extra>"),
        go.Bar(y=names, x=sel, orientation="h", name="sélection", marker_color=BAR,
               hovertemplate="%{y}<br>sélection : %{x:.1f} %<extra></extra>"),
    ])
    return _layout(fig, 40 + 26 * len(topics), barmode="group", showlegend=True,
                   legend={"orientation": "h", "y": -0.15, "font": {"size": 10}},
                   xaxis={"ticksuffix": " %", "gridcolor": "#eef1f4"},
                   yaxis={"automargin": True, "tickfont": {"size": 10}})


def years_figure(years: dict) -> go.Figure:
    if not years["year"]:
        return empty_figure("Aucune date de création plausible.", height=160)
    fig = go.Figure(go.Bar(x=years["year"], y=years["n"], marker_color=BAR,
                           hovertemplate="%{x} : %{y} jeux créés<extra></extra>"))
    return _layout(fig, 160, xaxis={"dtick": 2 if len(years["year"]) > 10 else 1},
                   yaxis={"gridcolor": "#eef1f4"})


def _counts_list(items: list[dict], what: str) -> html.Div:
    if not items:
        return html.Div(f"Aucun {what}.", className="text-muted small")
    def item(it):
        level = [html.Span(f" ({it['level']})", className="text-muted")] if it.get("level") else []
        count = html.Span(french.integer(it["n"]), className="text-muted ms-2")
        return html.Li([html.Span(it["name"]), *level, count])
    return html.Ul([item(it) for it in items], className="small mb-0 ps-3")


def selection_panel(summary: dict | None) -> html.Div:
    """The panel's content (the export and MDS buttons live beside it, see :func:`selection_tab`)."""
    if not summary or not summary.get("n"):
        return html.Div(HINT, className="small text-muted p-3")
    n = summary["n"]
    years = summary["years"]
    out = [
        html.Div([html.Span(french.integer(n), id=ids.SELECTION_COUNT, className="fs-4 fw-semibold me-2"),
                  html.Span("jeu de données sélectionné" if n == 1 else "jeux de données sélectionnés")],
                 className="mb-2"),
        html.H6("Thèmes : sélection et catalogue", className="mt-2"),
        dcc.Graph(figure=topic_mix_figure(summary["topics"]), config=SMALL),
        html.H6("Principaux producteurs", className="mt-2"),
        _counts_list(summary["producers"], "producteur"),
        html.H6("Années de création", className="mt-3"),
        dcc.Graph(figure=years_figure(years), config=SMALL),
    ]
    if years.get("left_out"):
        out.append(html.Div(f"{french.integer(years['left_out'])} sans date de création plausible.",
                            className="small text-muted"))
    out += [html.H6("Territoires nommés", className="mt-3"),
            _counts_list(summary["territories"], "territoire")]
    return html.Div(out, className="p-2")


def selection_tab() -> html.Div:
    """The "Sélection" side tab: buttons, the panel, the MDS of the selection."""
    return html.Div([
        dcc.Store(id=ids.MAP_SELECTED_ROWS, data=None),
        dcc.Store(id=ids.MAP_SELECTION, data=None),
        dcc.Download(id=ids.SELECTION_DOWNLOAD),
        html.Div([
            dbc.Button("Exporter la sélection (CSV)", id=ids.SELECTION_EXPORT, size="sm", color="primary",
                       n_clicks=0, disabled=True, class_name="me-2"),
            dbc.Button("Disposer la sélection (MDS)", id=ids.SELECTION_MDS_BUTTON, size="sm",
                       color="secondary", outline=True, n_clicks=0, disabled=True, class_name="me-2"),
            dbc.Button("Où sont ces jeux\u202f?", id=ids.COVERAGE_OPEN_SELECTION, size="sm", color="link",
                       n_clicks=0, class_name="p-0"),
        ], className="px-2 pt-2"),
        dcc.Loading(html.Div(selection_panel(None), id=ids.SELECTION_PANEL), type="dot", delay_show=300),
        dcc.Loading(html.Div(id=ids.SELECTION_MDS), type="dot", delay_show=300),
    ])


def mds_title(n: int, truncated: bool) -> str:
    """The title of the selection's MDS (``truncated``: the selection had more than
    :data:`MDS_POINTS` datasets)."""
    return (f"MDS de {french.count(n, 'jeu sélectionné', 'jeux sélectionnés')}"
            + (f" (les {MDS_POINTS} premiers)" if truncated else ""))


def mds_block(figure: go.Figure | None = None) -> dcc.Graph:
    """The selection's MDS under the panel (None: too few datasets selected)."""
    if figure is None:
        return dcc.Graph(figure=empty_figure(TOO_FEW, height=MDS_EMPTY_HEIGHT))
    return dcc.Graph(figure=figure, config={"displaylogo": False, "locale": "fr"})


def busy_note(message: str) -> html.Div:
    return html.Div(message, className="small text-warning")


def lasso_label(n: int) -> str:
    """The map's legend for the datasets of a lasso or box selection."""
    return f"Sélection sur la carte ({french.count(n, 'jeu', 'jeux')})"
