"""The producer page's « Score FAIR et fraîcheur » section (pure builders, no I/O): the MQA-shaped
score (models.core.fair) with its rating and rank among producers of the same kind, the
ranked to-do list (each item opens its datasets), the CSV, and the freshness of its datasets
(models.core.freshness). Plain data comes from ``callbacks/producer_fair.py``."""

from __future__ import annotations

import re

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components.figures import FONT, empty_figure
from components.labels import clean_text, plotly_text
from models.core import french

SECTION = "producers-fair"  # the section's body
CHART = "producers-fair-chart"
CSV_BUTTON = "producers-fair-csv"
DOWNLOAD = "producers-fair-download"
TITLE = "Score FAIR et fraîcheur"
HELP = ("Score des métadonnées sur le modèle de l'évaluation européenne (MQA de data.europa.eu)\u202f: "
        "trouvabilité, accessibilité, interopérabilité, réutilisabilité, contexte. Les indicateurs qui "
        "demandent le réseau (liens vérifiés) ou un champ absent de l'export sont laissés de côté.")
CHOOSE = "Choisissez un producteur."
CSV_LABEL = "Télécharger le détail (CSV)"
KIND_PLURAL = {"commune": "communes", "intercommunalité": "intercommunalités", "département": "départements",
               "région": "régions", "ministère": "ministères", "service de l'État": "services de l'État",
               "établissement public": "établissements publics", "entreprise": "entreprises",
               "association": "associations", "utilisateur": "comptes personnels",
               "autre organisation": "autres organisations"}
STATUS_ORDER = ("a_jour", "en_retard", "jamais_mis_a_jour", "sans_frequence")
N_TODO = 8  # fixes listed
N_LATE = 8  # late datasets listed
CHART_HEIGHT = 300
MAX_IDS_SHOWN = 50
GRAPH_CONFIG = {"displaylogo": False, "locale": "fr",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


def rank_text(rank: dict | None) -> str:
    """« 12ᵉ sur 531 communes » (1er for the first)."""
    if not rank or not rank.get("rank") or rank.get("kind") not in KIND_PLURAL:
        return ""
    r = int(rank["rank"])
    return f"{r}{'er' if r == 1 else 'e'} sur {french.number(rank['of'])} {KIND_PLURAL[rank['kind']]}"


def dimensions_figure(producer: list[dict], catalogue: list[dict], *, name: str = "",
                      height: int = CHART_HEIGHT) -> go.Figure:
    """Share of each dimension's maximum: the producer against the catalogue."""
    if not producer:
        return empty_figure(CHOOSE, height=height)
    labels = [d["label"] for d in producer]
    p = [100 * d["points"] / d["max"] if d["max"] else 0 for d in producer]
    c = [100 * d["points"] / d["max"] if d["max"] else 0 for d in catalogue]
    fig = go.Figure([
        go.Bar(y=labels, x=c, orientation="h", name="Catalogue", marker_color="#adb5bd",
               hovertemplate="%{y}\u202f: %{x:.0f}\u202f% du maximum<extra>Catalogue</extra>"),
        go.Bar(y=labels, x=p, orientation="h", name=plotly_text(name, 40) or "Producteur",
               marker_color="#000091",
               hovertemplate="%{y}\u202f: %{x:.0f}\u202f% du maximum<extra></extra>"),
    ])
    fig.update_layout(height=height, barmode="group", margin={"l": 10, "r": 10, "t": 10, "b": 30},
                      font={"family": FONT, "size": 14}, paper_bgcolor="white", plot_bgcolor="white",
                      xaxis={"range": [0, 100], "title": {"text": "% des points possibles"}},
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": -0.25})
    return fig


def todo_list(items: list[dict], titles: dict[str, str]) -> html.Div:
    """The fixes, most points first; each opens the datasets it concerns (title, else id)."""
    if not items:
        return html.Div("Rien à corriger sur les indicateurs calculables.", className="small text-muted")
    out = []
    for it in items:
        ids = it.get("ids") or []
        shown = [html.Li(clean_text(titles.get(i) or i, 140)) for i in ids[:MAX_IDS_SHOWN]]
        more = len(ids) - len(shown)
        if more > 0:
            shown.append(html.Li(f"… et {french.number(more)} autres (voir le CSV)", className="text-muted"))
        out.append(html.Details([html.Summary(clean_text(it.get("label"), 240), className="fair-todo-item"),
                                 html.Ul(shown, className="small mb-1")], className="mb-1"))
    return html.Div(out, className="fair-todo")


def freshness_block(summary: dict | None, catalogue_share: float | None, late: list[dict]) -> html.Div:
    """Counts per status, the share of late datasets against the catalogue, the most late."""
    if not summary:
        return html.Div(CHOOSE, className="small text-muted")
    labels = summary.get("labels", {})
    counts = summary.get("counts", {})
    rows = [html.Tr([html.Td(clean_text(labels.get(k, k), 60)), html.Td(french.number(counts.get(k, 0)),
                                                                       className="text-end")])
            for k in STATUS_ORDER]
    share = summary.get("late_share")
    if share is None:
        line = "Aucun de ses jeux n'annonce de fréquence de mise à jour."
    else:
        cat = "" if catalogue_share is None else f" (catalogue\u202f: {french.percent(catalogue_share)})"
        line = (f"{french.percent(share)} de ses jeux à fréquence annoncée sont en retard ou jamais "
                f"mis à jour{cat}.")
    body = [html.P(line, className="mb-1"),
            dbc.Table(html.Tbody(rows), size="sm", className="small mb-2", bordered=False)]
    if late:
        body.append(html.Div("Les plus en retard\u202f:", className="small fw-semibold"))
        body.append(html.Ul([html.Li([clean_text(x.get("title"), 120), html.Span(
            " — " + clean_text(x.get("badge"), 160), className="text-danger")]) for x in late],
            className="small"))
    return html.Div(body)


def fair_panel(score: dict, rank: dict | None, catalogue: dict, todo: list[dict], titles: dict[str, str],
               freshness: dict | None, catalogue_late_share: float | None, late: list[dict]) -> html.Div:
    """Everything the section shows once a producer is chosen (the chart is drawn apart)."""
    rating = score.get("rating_fr") or score.get("rating") or ""
    points, best = french.number(score.get("points", 0)), french.number(score.get("max", 0))
    head = [html.Span(f"{points} / {best} points", className="h5 me-2"),
            dbc.Badge(rating, color="primary", className="me-2")]
    rt = rank_text(rank)
    if rt:
        head.append(html.Span(rt, className="small text-muted"))
    cat = (f"Catalogue\u202f: {french.number(catalogue.get('points', 0))} points "
           f"({catalogue.get('rating_fr') or catalogue.get('rating', '')}).")
    return html.Div([
        html.Div(head, className="mb-1"), html.Div(cat, className="small text-muted mb-2"),
        html.Div("À corriger d'abord (points gagnés en moyenne sur ses jeux)\u202f:",
                 className="fw-semibold small"),
        todo_list(todo, titles),
        html.Hr(),
        html.Div("Fraîcheur (fréquence annoncée et dernière modification)",
                 className="fw-semibold small mb-1"),
        freshness_block(freshness, catalogue_late_share, late),
    ])


def section() -> dbc.Card:
    """The section's skeleton in the producer page."""
    return dbc.Card([
        dbc.CardHeader([html.Span(TITLE, className="fw-semibold"),
                        html.Div(HELP, className="small text-muted")]),
        dbc.CardBody(dbc.Row([
            dbc.Col([dcc.Loading(dcc.Graph(id=CHART, figure=empty_figure(CHOOSE, height=CHART_HEIGHT),
                                           config=GRAPH_CONFIG), type="dot", delay_show=300),
                     dbc.Button(CSV_LABEL, id=CSV_BUTTON, color="secondary", size="sm", outline=True,
                                n_clicks=0, className="mt-2"),
                     dcc.Download(id=DOWNLOAD)], lg=5),
            dbc.Col(dcc.Loading(html.Div(html.Div(CHOOSE, className="small text-muted"), id=SECTION),
                                type="dot", delay_show=300), lg=7),
        ])),
    ], className="shadow-sm mb-3")


def empty_view() -> tuple:
    """(chart, section) before a producer with datasets is chosen."""
    return empty_figure(CHOOSE, height=CHART_HEIGHT), freshness_block(None, None, [])


def csv_name(producer_id: str) -> str:
    """The CSV's file name: « fair-<the producer's id, as a slug>.csv ».

    >>> csv_name("Ministère de l'Intérieur"), csv_name("???")
    ('fair-minist-re-de-l-int-rieur.csv', 'fair-producteur.csv')
    """
    slug = re.sub(r"[^a-z0-9]+", "-", producer_id.lower()).strip("-")[:40] or "producteur"
    return f"fair-{slug}.csv"
