"""The "Comparer" page: one query, the keyword / semantic / hybrid results side by side
(pure builders, no I/O).

Each result carries its rank in the other columns (a badge ``Sémantique 4``, or ``—`` when it is
not among that mode's first ``depth`` results); a small heat map gives the overlap of the top 10.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import labels as texts
from components.figures import FONT, empty_figure
from components.labels import NO_PRODUCER, NO_TITLE, clean_text, mode_label, plotly_text, typo
from models.core import french

# ---- ids of this page -----------------------------------------------------------------------
INPUT = "compare-input"
BUTTON = "compare-button"
STATUS = "compare-status"
WORDS = "compare-words"
COLUMNS = "compare-columns"
OVERLAP = "compare-overlap"
OVERLAP_TEXT = "compare-overlap-text"
SHOW_ON_MAP = "compare-show-on-map"
STATE = "compare-state"  # dcc.Store: {"q": str, "rows": [int]} (the hybrid results)
# pattern-matching id of a result: {"type": ITEM, "mode": str, "row": int}
ITEM = "compare-item"
EXAMPLE = "compare-example"  # pattern-matching {"type": EXAMPLE, "index": int}: EXAMPLE_QUESTIONS[index]

COMPARED_MODES = ("keyword", "semantic", "hybrid")
TITLE_CHARS = 140
MODE_COLOURS = {"keyword": "#3a6ea5", "semantic": "#2a9d8f", "hybrid": "#e63946", "word": "#8d6cab"}
GRAPH_CONFIG = {"displayModeBar": False, "locale": "fr"}
OVERLAP_HEIGHT = 240
COMPARE_IMPOSSIBLE = "Comparaison impossible"

INTRO = texts.COMPARE_INTRO


def _score_text(score) -> str:
    s = french.score(score)
    return f" · score {s}" if s else ""


def rank_badges(ranks: dict[str, int | None], depth: int) -> list:
    """``{mode: rank or None}`` -> one small badge per other mode."""
    out = []
    for mode, rank in ranks.items():
        text = f"{mode_label(mode)} {rank}" if rank else f"{mode_label(mode)} —"
        title = (f"rang {rank} en mode {mode_label(mode)}" if rank
                 else f"absent des {depth} premiers en mode {mode_label(mode)}")
        out.append(dbc.Badge(text, color="light", text_color="dark" if rank else "secondary",
                             className="me-1 border", title=title,
                             style={"borderColor": MODE_COLOURS.get(mode, "#adb5bd")}))
    return out


def result_column(mode: str, items: Sequence[dict], *, depth: int = 100) -> dbc.Card:
    """``items``: ``{"row", "title", "organization", "score", "ranks": {other mode: rank|None}}``."""
    if items:
        body = dbc.ListGroup([
            dbc.ListGroupItem([
                html.Div([dbc.Badge(str(rank), pill=True, className="me-2 rank-badge",
                                    color=MODE_COLOURS.get(mode, "secondary")),
                          html.Span(clean_text(it.get("title"), TITLE_CHARS) or NO_TITLE,
                                    className="fw-semibold")]),
                html.Div([clean_text(it.get("organization"), 90) or NO_PRODUCER,
                          _score_text(it.get("score"))], className="small text-muted"),
                html.Div(rank_badges(it.get("ranks", {}), depth), className="mt-1 small"),
            ], id={"type": ITEM, "mode": mode, "row": int(it["row"])}, action=True, n_clicks=0,
                class_name="py-2 dataset-item")
            for rank, it in enumerate(items, 1)], flush=True)
    else:
        body = html.Div("Aucun résultat dans ce mode.", className="text-muted small p-3")
    return dbc.Card([
        dbc.CardHeader(html.Span(mode_label(mode), className="fw-semibold"),
                       style={"borderTop": f"4px solid {MODE_COLOURS.get(mode, '#6c757d')}"}),
        body,
    ], className="h-100 shadow-sm")


def result_columns(columns: dict[str, list[dict]], *, depth: int = 100) -> dbc.Row:
    return dbc.Row([dbc.Col(result_column(m, items, depth=depth), lg=4, className="mb-3")
                    for m, items in columns.items()])


def overlap_sentence(ov: dict | None) -> str:
    """``models.serve.search.overlap`` -> one French sentence."""
    if not ov:
        return ""
    parts = [f"{mode_label(a)} ∩ {mode_label(b)}\u202f: {n}" for (a, b), n in ov["pairs"].items()]
    return typo(f"Jeux en commun parmi les {ov['k']} premiers — " + " · ".join(parts)
                + f" · les trois : {ov['all']}.")


def visualize_overlap(ov: dict | None, modes: Sequence[str] = COMPARED_MODES) -> go.Figure:
    """Heat map of the top-k overlap between modes (diagonal: k)."""
    if not ov or not ov.get("pairs"):
        return empty_figure("Lancez une comparaison pour voir le recouvrement.", height=OVERLAP_HEIGHT)
    k = ov["k"]
    labels = [mode_label(m) for m in modes]
    z = [[k if a == b else ov["pairs"].get((a, b), ov["pairs"].get((b, a), 0)) for b in modes]
         for a in modes]
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, zmin=0, zmax=k, colorscale="Blues", showscale=False,
        text=[[str(v) for v in row] for row in z], texttemplate="%{text}",
        hovertemplate=typo("%{y} ∩ %{x} : %{z} jeux<extra></extra>"),
    ))
    fig.update_layout(height=OVERLAP_HEIGHT, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      font={"family": FONT, "size": 12}, plot_bgcolor="white", paper_bgcolor="white",
                      title={"text": plotly_text(f"Recouvrement des {k} premiers"), "x": 0.5,
                             "font": {"size": 13}},
                      yaxis={"autorange": "reversed"})
    return fig


def words_line(words: Sequence[tuple[str, float]]) -> list:
    """The query's nearest words in the word2vec space, as small badges."""
    if not words:
        return []
    return [html.Span(typo("Mots voisins de la requête (word2vec) : "), className="text-muted me-1"),
            *[dbc.Badge(f"{clean_text(w, 40)} {french.score(s)}", color="light", text_color="dark",
                        className="me-1 border") for w, s in words]]


def examples_line(questions: Sequence[str] = texts.EXAMPLE_QUESTIONS) -> html.Div:
    """The study's example questions, as links that run the comparison."""
    return html.Div([html.Span(texts.EXAMPLES, className="text-muted me-1"),
                     *[dbc.Button(q, id={"type": EXAMPLE, "index": i}, color="link", size="sm", n_clicks=0,
                                  className="p-0 me-3 align-baseline") for i, q in enumerate(questions)]],
                    className="small mb-2")


def build_compare_page(*, modes: Sequence[str], max_query_chars: int = 500,
                       example: str | None = texts.EXAMPLE_QUESTIONS[0]) -> html.Div:
    """``modes``: the modes this build serves (the page needs keyword and semantic); ``example``:
    the query in the box on first open, compared as soon as the page loads."""
    usable = all(m in modes for m in COMPARED_MODES)
    return html.Div([
        dcc.Store(id=STATE, data=None),
        html.P(INTRO, className="small text-muted"),
        dbc.Row([
            dbc.Col(dbc.InputGroup([
                dbc.Input(id=INPUT, type="search", maxLength=max_query_chars, n_submit=0,
                          value=example if usable else None,
                          placeholder=typo("Une requête à comparer, par exemple « accidents de la route »"),
                          autocomplete="off", disabled=not usable),
                dbc.Button("Comparer", id=BUTTON, color="primary", n_clicks=0, disabled=not usable),
            ]), lg=7, className="mb-2"),
            dbc.Col(dbc.Button("Voir les résultats hybrides sur la carte", id=SHOW_ON_MAP,
                               color="secondary", outline=True, n_clicks=0, disabled=True),
                    lg=5, className="mb-2"),
        ], className="align-items-center"),
        examples_line() if usable else None,
        html.Div(None if usable else dbc.Alert(texts.COMPARE_UNAVAILABLE, color="warning"), id=STATUS),
        html.Div(id=WORDS, className="small mb-2"),
        dbc.Row([
            dbc.Col(dcc.Graph(id=OVERLAP, figure=visualize_overlap(None), config=GRAPH_CONFIG), lg=4),
            dbc.Col(html.Div(id=OVERLAP_TEXT, className="small text-muted pt-4"), lg=8),
        ], className="mb-2"),
        dcc.Loading(html.Div(id=COLUMNS), type="dot", delay_show=300),
    ])


def empty_status() -> dbc.Alert:
    """Compare was asked with no query."""
    return dbc.Alert(texts.COMPARE_EMPTY, color="info", className="py-2")


def failed_outputs() -> tuple:
    """(figure, status) when a mode failed: nothing to compare."""
    return (empty_figure(COMPARE_IMPOSSIBLE, height=OVERLAP_HEIGHT),
            dbc.Alert(texts.COMPARE_FAILED, color="warning", className="py-2"))


def comparison(data: dict) -> tuple:
    """(columns, overlap figure, overlap sentence, nearest words) of ``Explorer.compare``'s answer."""
    return (result_columns(data["columns"], depth=data["depth"]), visualize_overlap(data["overlap"]),
            overlap_sentence(data["overlap"]), words_line(data["words"]))


def highlight_label(q: str) -> str:
    """The map's legend for the compared query's hybrid results."""
    return f"Comparer\u202f: {q}"
