"""The "Qualité de la recherche" page: every search mode graded on labelled queries
(pure builders, no I/O).

Data in: the result of ``models.serve.evaluate.evaluate`` (``{"metrics": {mode: {"n", "skipped",
"hit@1", ..., "ndcg@10"}}, "per_query": [{"query", "params", "n_relevant", "ranks": {mode: rank}}],
"skipped": [labels]}``).
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import labels as texts
from components.compare_page import MODE_COLOURS
from components.data_grid import dataset_grid
from components.figures import FONT, empty_figure
from components.labels import clean_text, mode_label, plotly_text
from models.core import french

# ---- ids of this page -----------------------------------------------------------------------
FILE = "quality-file"  # dcc.Dropdown of the labelled files
UPLOAD = "quality-upload"
STATUS = "quality-status"
RESULT = "quality-result"  # dcc.Store: the evaluation shown (plain JSON)
SUMMARY = "quality-summary"
CHART = "quality-chart"
FILTER = "quality-filter"  # dbc.RadioItems: "all" or a mode (queries that mode fails)
TABLE = "quality-table"
TABLE_GRID = "quality-table-grid"  # the per-query ranks, one dash-ag-grid
METRICS_TABLE = "quality-metrics"

METRICS = (("hit@1", "Succès@1"), ("hit@3", "Succès@3"), ("hit@10", "Succès@10"),
           ("mrr@10", "MRR@10"), ("ndcg@10", "nDCG@10"))
GRAPH_CONFIG = {"displaylogo": False, "locale": "fr",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
ALL = "all"
QUERY_CHARS = 90

INTRO = [
    html.P("Chaque fichier étiqueté liste des requêtes et, pour chacune, les jeux de données "
           "attendus (format des indicateurs de recherche de data.gouv.fr\u202f: "
           "query,params,expected — une ligne par jeu attendu)."),
    html.P("Succès@k\u202f: part des requêtes dont un jeu attendu figure parmi les k premiers résultats. "
           "MRR@10\u202f: moyenne de 1/rang du premier jeu attendu (0 au-delà de 10). nDCG@10\u202f: "
           "qualité de l'ordre des 10 premiers quand plusieurs jeux sont attendus. Les requêtes "
           "dont aucun jeu attendu n'est dans le catalogue chargé sont écartées.",
           className="mb-0"),
]


def visualize_quality(metrics: dict[str, dict] | None, *, reference: dict | None = None,
                      reference_label: str = "") -> go.Figure:
    """Grouped bars: one group per metric, one bar per mode; ``reference`` ({metric: value})
    adds a black tick per metric (e.g. data.gouv.fr's own search)."""
    metrics = {m: v for m, v in (metrics or {}).items() if v and v.get("n")}
    if not metrics:
        return empty_figure("Aucune requête évaluable dans ce fichier.", height=360)
    labels = [label for _, label in METRICS]
    fig = go.Figure()
    for mode, vals in metrics.items():
        ys = [vals.get(key) for key, _ in METRICS]
        fig.add_trace(go.Bar(
            x=labels, y=ys, name=plotly_text(mode_label(mode)),
            marker_color=MODE_COLOURS.get(mode, "#6c757d"),
            text=[french.number(y, 2) for y in ys], textposition="outside",
            hovertemplate=f"{plotly_text(mode_label(mode))} · %{{x}}\u202f: %{{y:.3f}}<extra></extra>",
        ))
    if reference:
        xs = [label for key, label in METRICS if key in reference]
        fig.add_trace(go.Scatter(
            x=xs, y=[reference[key] for key, _ in METRICS if key in reference], mode="markers",
            marker={"symbol": "line-ew", "size": 40, "line": {"width": 3, "color": "#212529"}},
            name=plotly_text(reference_label or "Référence"),
            hovertemplate="%{x}\u202f: %{y:.2f} (référence)<extra></extra>",
        ))
    fig.update_layout(
        barmode="group", height=360, font={"family": FONT, "size": 12},
        plot_bgcolor="white", paper_bgcolor="white", margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"range": [0, 1.12], "tickformat": ".0%", "gridcolor": "#e9ecef", "title": None},
        legend={"orientation": "h", "y": 1.1, "x": 0},
        separators=", ",
    )
    return fig


def metrics_table(metrics: dict[str, dict] | None) -> html.Div | dbc.Table:
    if not metrics:
        return html.Div()
    head = html.Thead(html.Tr([html.Th("Mode"), html.Th("Requêtes"), html.Th("Écartées"),
                               *[html.Th(label) for _, label in METRICS]]))
    best = {key: max((v.get(key) or 0) for v in metrics.values()) for key, _ in METRICS}
    rows = []
    for mode, v in metrics.items():
        cells = [html.Td(mode_label(mode)), html.Td(str(v.get("n", 0))), html.Td(str(v.get("skipped", 0)))]
        for key, _ in METRICS:
            val = v.get(key)
            strong = val is not None and val == best[key] and val > 0
            cells.append(html.Td(french.number(val, 3), className="fw-bold" if strong else None))
        rows.append(html.Tr(cells))
    return dbc.Table([head, html.Tbody(rows)], size="sm", bordered=False, hover=True,
                     className="small mb-0")


def failed_by(per_query: Sequence[dict], mode: str) -> list[dict]:
    """The queries ``mode`` fails (no expected dataset in its first 10)."""
    return [q for q in per_query if not (q.get("ranks") or {}).get(mode)]


def rank_cell(rank) -> str:
    """A rank as the table shows it: « — » when no expected dataset is in the first 10."""
    return str(int(rank)) if rank else "—"


# colours of a rank cell (the grid's cellClassRules, evaluated in the browser on the cell's text)
RANK_CLASSES = {"text-success fw-bold": "params.value === '1'",
                "text-success": "params.value === '2' || params.value === '3'",
                "text-danger": "params.value === '—'"}


def per_query_table(per_query: Sequence[dict], modes: Sequence[str], *, max_rows: int = 500):
    """One row per query: its text, how many expected datasets are loaded, and the first
    relevant rank in each mode (— : none in the first 10). One grid (a table of 500 rows would
    be ~3,000 Dash components, re-checked by Dash's renderer at every update of the app)."""
    if not per_query:
        return html.Div("Aucune requête à afficher.", className="text-muted small p-2")
    rows = []
    for i, q in enumerate(list(per_query)[:max_rows]):
        label = clean_text(q.get("query"), QUERY_CHARS) or f"[{clean_text(q.get('params'), 60)}]"
        if q.get("query") and q.get("params"):
            label += f" [{clean_text(q['params'], 40)}]"
        ranks = q.get("ranks") or {}
        rows.append({"key": str(i), "query": label, "expected": str(q.get("n_relevant", "")),
                     **{f"rank_{m}": rank_cell(ranks.get(m)) for m in modes}})
    columns = [{"field": "query", "headerName": "Requête", "flex": 1, "minWidth": 240, "wrapText": True,
                "autoHeight": True},
               {"field": "expected", "headerName": "Attendus", "width": 110, "type": "rightAligned",
                "headerTooltip": "jeux attendus présents"},
               *[{"field": f"rank_{m}", "headerName": mode_label(m), "width": 120, "type": "rightAligned",
                  "cellClassRules": RANK_CLASSES} for m in modes]]
    return dataset_grid(TABLE_GRID, columns, rows, class_name="quality-per-query small")


def summary_text(label: str, result: dict | None) -> str:
    if not result:
        return ""
    n = next(iter(result["metrics"].values()))["n"] if result.get("metrics") else 0
    skipped = len(result.get("skipped") or [])
    out = f"{clean_text(label, 80)}\u202f: {n} requêtes évaluées"
    if skipped:
        out += f", {skipped} écartées (aucun jeu attendu dans le catalogue chargé)"
    return out + "."


def filter_options(modes: Sequence[str]) -> list[dict]:
    return [{"label": "Toutes les requêtes", "value": ALL},
            *[{"label": f"Échecs {mode_label(m)}", "value": m} for m in modes]]


def build_quality_page(*, files: Sequence[dict], default_file: str | None, modes: Sequence[str],
                       max_upload_kb: int = 500) -> html.Div:
    """``files``: ``[{"label", "value"}]`` of the labelled files found at start."""
    return html.Div([
        dcc.Store(id=RESULT, data=None),
        dbc.Row([
            dbc.Col([
                dbc.Label("Fichier étiqueté", html_for=FILE, class_name="small mb-1"),
                dcc.Dropdown(id=FILE, options=list(files), value=default_file, clearable=False,
                             placeholder="Aucun fichier étiqueté trouvé" if not files else None,
                             labels=texts.dropdown_labels("Nom du fichier", "Aucun fichier trouvé")),
            ], lg=5, className="mb-2"),
            dbc.Col(dcc.Upload(
                id=UPLOAD, multiple=False, max_size=max_upload_kb * 1000, accept=".csv,text/csv",
                children=html.Div(["Ou déposez ici votre propre fichier CSV (query,params,expected, "
                                   f"{max_upload_kb} ko au plus), ", html.A("ou choisissez-le")]),
                className="upload-zone small text-muted p-2 border rounded text-center",
            ), lg=7, className="mb-2"),
        ], className="align-items-end"),
        html.Div(id=STATUS),
        dbc.Row([
            dbc.Col(dbc.Card([
                dbc.CardHeader(html.Div(id=SUMMARY, className="fw-semibold")),
                dbc.CardBody(dcc.Loading(dcc.Graph(id=CHART, figure=empty_figure("Évaluation en cours…",
                                                                                 height=360),
                                                   config=GRAPH_CONFIG), type="dot", delay_show=300),
                             className="p-1"),
            ], className="shadow-sm mb-3"), lg=8),
            dbc.Col(dbc.Card([dbc.CardHeader("Comment lire ces mesures", className="fw-semibold"),
                              dbc.CardBody(INTRO, className="small")], className="shadow-sm mb-3"), lg=4),
        ]),
        dbc.Card(dbc.CardBody(html.Div(id=METRICS_TABLE)), className="shadow-sm mb-3"),
        dbc.Card([
            dbc.CardHeader(dbc.Row([
                dbc.Col(html.Span("Rang du premier jeu attendu, par requête", className="fw-semibold"),
                        width="auto"),
                dbc.Col(dbc.RadioItems(id=FILTER, options=filter_options(modes), value=ALL, inline=True,
                                       className="small")),
            ], className="align-items-center g-2")),
            dbc.CardBody(html.Div(id=TABLE), className="p-1",
                         style={"maxHeight": "600px", "overflowY": "auto"}),
        ], className="shadow-sm"),
    ])


# ---- what the page says about a file ---------------------------------------------------------
UPLOADED = "fichier envoyé"  # the name of a file sent without one
CHOOSE_FILE = "Choisissez un fichier étiqueté."


def file_label(filename: str | None) -> str:
    """How an uploaded file is named on the page (its name, or « fichier envoyé »)."""
    return clean_text(filename, 80) or UPLOADED


def upload_status(label: str, result: dict) -> dbc.Alert:
    """An uploaded file evaluated, entirely or only in part (``not_evaluated`` queries left)."""
    left = int(result.get("not_evaluated") or 0)
    if not left:
        return dbc.Alert(f"Fichier «\u202f{label}\u202f» évalué.", color="success", className="py-2",
                         duration=6000)
    done = len(result.get("per_query") or [])
    return dbc.Alert(f"Fichier «\u00a0{label}\u00a0» évalué en partie\u202f: {done} requêtes dans le "
                     f"temps imparti, {left} non évaluées (envoyez un fichier plus court).",
                     color="warning", className="py-2")


def file_status(problem: str, detail: str = "") -> dbc.Alert:
    """Why a file is not evaluated: ``unknown`` (not a labelled file), ``refused`` (``detail``:
    what is wrong with it), ``unreadable``, ``busy`` (``detail``: the message), ``no_mode``."""
    if problem == "refused":
        return dbc.Alert(f"Fichier refusé\u202f: {detail}.", color="danger", className="py-2")
    if problem == "unreadable":
        return dbc.Alert("Fichier illisible.", color="danger", className="py-2")
    if problem == "busy":
        return dbc.Alert(detail, color="warning", className="py-2")
    if problem == "no_mode":
        return dbc.Alert(texts.QUALITY_NO_MODE, color="warning")
    return dbc.Alert("Fichier inconnu.", color="warning", className="py-2")


def empty_view(modes: Sequence[str]) -> tuple:
    """(chart, metrics, per-query table, summary) before a file is evaluated."""
    return visualize_quality(None), None, per_query_table([], modes), CHOOSE_FILE


def result_view(result: dict, modes: Sequence[str], which, reference_label: str) -> tuple:
    """(chart, metrics, per-query table, summary) of an evaluation (``which``: a mode whose
    failures only are listed, else every query)."""
    shown = [m for m in modes if m in result["metrics"]]
    per_query = result.get("per_query") or []
    if isinstance(which, str) and which in shown:
        per_query = failed_by(per_query, which)
    metrics = {m: result["metrics"][m] for m in shown}
    chart = visualize_quality(metrics, reference=result.get("reference"), reference_label=reference_label)
    return (chart, metrics_table(metrics), per_query_table(per_query, shown),
            summary_text(result.get("label", ""), result))
