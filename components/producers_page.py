"""The "Producteurs" page: who publishes what, and how well (pure builders, no I/O).

Every builder takes plain data (dicts, lists of numbers) prepared by ``callbacks/producers.py``
from ``models.serve.producers.ProducerService`` and returns a Dash component or a ``go.Figure``;
figures have an explicit empty state (``components.figures.empty_figure``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import labels as texts
from components.data_grid import LINK_COL, TITLE_COL, dataset_grid, link_markdown, title_text
from components.fair_view import section as fair_section
from components.figures import FONT, empty_figure
from components.labels import clean_text, mode_label, plotly_text, typo
from models.core import french

# ---- ids of this page (prefixed, so they cannot collide with the other pages) ---------------
SELECT = "producers-select"
OVERVIEW = "producers-overview"  # dash-ag-grid of every producer (infinite row model, sorted server-side)
DETAIL = "producers-detail"  # the chosen producer's sections, hidden until one is chosen
SCROLL = "producers-scroll"  # dcc.Store written by the clientside "scroll to the detail" callback
FIGURES = "producers-figures"
DATASETS = "producers-datasets"
SHOW_ON_MAP = "producers-show-on-map"
TOPICS = "producers-topics"
QUALITY_CHART = "producers-quality-chart"
QUALITY_LIST = "producers-quality-list"
DUP_THRESHOLD = "producers-dup-threshold"
DUPLICATES = "producers-duplicates"
SIMILAR = "producers-similar"
NEIGHBOURHOOD = "producers-neighbourhood"
FIND_DATASET = "producers-find-dataset"
FIND_QUERIES = "producers-find-queries"
FIND_BUTTON = "producers-find-button"
FIND_RESULT = "producers-find-result"
# pattern-matching ids: {"type": PRODUCER_ITEM, "value": str}
PRODUCER_ITEM = "producers-producer-item"
# the chosen producer's lists (datasets, what to fix first, near duplicates): one dash-ag-grid each,
# {"type": LIST_GRID, "list": name}; a click on a row opens its dataset (its ``key``: the row id,
# "row_a:row_b" for a pair, whose column says which). One component per list, not a table of rows:
# Dash's renderer re-checks every component at each update (26.5 s for the largest producer with
# ~2,100 of them in tables, scripts/bench/first_open.py)
LIST_GRID = "producers-list-grid"

TITLE = texts.PRODUCERS_TITLE
CHOOSE = texts.PRODUCERS_CHOOSE
OVERVIEW_PAGE_SIZE = 20
GRAPH_CONFIG = {"displaylogo": False, "locale": "fr",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
PRODUCER_COLOUR = "#000091"
CATALOGUE_COLOUR = "#adb5bd"
DATASET_COLOUR = "#e63946"
MAX_QUERIES = 5
TOPICS_HEIGHT, QUALITY_HEIGHT, NEIGHBOURHOOD_HEIGHT = 420, 360, 460
N_OPTIONS = 30  # producers offered by the dropdown as the name is typed
N_LISTED = 100  # rows of the producer's lists, 20 a page (one grid component each)
N_PRIORITIES = 50
N_DUPLICATES = 50
N_FIND_OPTIONS = 500  # datasets offered by the findability test
FINDABILITY_K = 100  # the findability test looks this deep in the results


def _base_layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(height=height, font={"family": FONT}, plot_bgcolor="white",
                      paper_bgcolor="white", margin={"l": 10, "r": 10, "t": 56, "b": 10},
                      # above the plot, anchored by its bottom: a legend on two lines (a long
                      # producer's name) grows upwards, not over the first bars
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.01, "x": 0})
    return fig


def empty_state(message: str = CHOOSE) -> html.Div:
    """The explicit empty state of a list: one muted French sentence."""
    return html.Div(message, className="text-muted small")


dropdown_labels = texts.dropdown_labels


# ---- overview of all producers (the page's first view) -------------------------------------
def overview_rows(items: list[dict]) -> list[dict]:
    """``ProducerService.overview_page`` records -> the grid's rows: the producer id (the grid's
    row id, sent back on a click) and French display strings; sorting and filtering are done on
    the server, on the numbers, so the grid only shows these strings."""
    out = []
    for d in items:
        score = d.get("score")
        has_score = score is not None and not (isinstance(score, float) and math.isnan(score))
        out.append({
            "id": str(d["producer_id"]), "organization": clean_text(d.get("organization"), 160),
            "kind": texts.PRODUCER_KINDS.get(d.get("kind"), clean_text(d.get("kind"), 40)),
            "n_active": french.integer(d.get("n_active")), "n_archived": french.integer(d.get("n_archived")),
            "views": french.integer(d.get("views")), "reuses": french.integer(d.get("reuses")),
            "score": f"{float(score):.0f}/100" if has_score else "—",
            "last_modified": french.short_date(d.get("last_modified")) or "—",
        })
    return out


def overview_grid(*, page_size: int = OVERVIEW_PAGE_SIZE) -> dag.AgGrid:
    """Every producer, sortable and filterable by column; rows are asked page by page
    (``getRowsRequest`` -> ``getRowsResponse``): a few kB on the wire, whatever their number."""
    names = texts.PRODUCERS_GRID_COLUMNS
    number = {"filter": "agNumberColumnFilter", "type": "rightAligned", "width": 150,
              "filterParams": {"filterOptions": ["greaterThanOrEqual", "lessThanOrEqual", "inRange",
                                                 "equals"], "maxNumConditions": 1}}
    columns = [
        {"field": "organization", "headerName": names["organization"], "flex": 1, "minWidth": 240,
         "filter": "agTextColumnFilter", "floatingFilter": True,
         "filterParams": {"filterOptions": ["contains", "startsWith", "notContains"],
                          "maxNumConditions": 1}, "cellClass": "producer-name"},
        {"field": "kind", "headerName": names["kind"], "width": 140, "filter": False},
        {"field": "n_active", "headerName": names["n_active"], "sort": "desc", **number},
        {"field": "n_archived", "headerName": names["n_archived"], **number},
        {"field": "views", "headerName": names["views"], **number},
        {"field": "reuses", "headerName": names["reuses"], **number, "width": 170},
        {"field": "score", "headerName": names["score"], **number},
        {"field": "last_modified", "headerName": names["last_modified"], "width": 190,
         "filter": "agDateColumnFilter",
         "filterParams": {"filterOptions": ["greaterThan", "lessThan", "inRange"], "maxNumConditions": 1}},
    ]
    return dag.AgGrid(
        id=OVERVIEW, columnDefs=columns, rowModelType="infinite", getRowId="params.data.id",
        defaultColDef={"sortable": True, "resizable": True, "suppressHeaderMenuButton": True},
        dashGridOptions={"localeText": texts.AG_GRID_LOCALE, "pagination": True,
                         "paginationPageSize": page_size, "paginationPageSizeSelector": False,
                         "cacheBlockSize": page_size, "maxBlocksInCache": 50,
                         "infiniteInitialRowCount": page_size, "rowHeight": 34,
                         "suppressCellFocus": True, "animateRows": False},
        style={"height": f"{page_size * 34 + 170}px"}, className="producers-overview")


# ---- layout --------------------------------------------------------------------------------
def build_producers_page(options: list[dict], *, threshold: float) -> html.Div:
    """The page skeleton; ``options``: the dropdown's first options ``[{label, value}]``;
    ``threshold``: the near-duplicate slider's start (``models.core.producers.DUPLICATE_THRESHOLD``,
    passed by ``app.py``: a component imports nothing from models but ``models.core.french``)."""
    def card(title: str, body, *, help_text: str | None = None) -> dbc.Card:
        head = [html.Span(title, className="fw-semibold")]
        if help_text:
            head.append(html.Div(help_text, className="small text-muted"))
        return dbc.Card([dbc.CardHeader(head), dbc.CardBody(body)], className="shadow-sm mb-3 h-100")

    def loading(child):
        return dcc.Loading(child, type="dot", delay_show=300)

    overview = dbc.Card(dbc.CardBody([
        html.H2(TITLE, className="h5"),
        html.P(texts.PRODUCERS_INTRO, className="small text-muted mb-2"),
        dcc.Dropdown(id=SELECT, options=options, value=None, searchable=True, clearable=True,
                     placeholder=texts.PRODUCERS_PICK, optionHeight=44, maxHeight=420,
                     search_order="original", className="mb-2",
                     labels=dropdown_labels("Nom du producteur", "Aucun producteur trouvé")),
        overview_grid(),
        html.Div(texts.PRODUCERS_OVERVIEW_HELP, className="small text-muted mt-1"),
    ]), className="shadow-sm mb-3")

    return html.Div([overview, dcc.Store(id=SCROLL), html.Div([
        loading(html.Div(empty_state(CHOOSE), id=FIGURES, className="mb-3")),
        dbc.Row([
            dbc.Col(card("Ses jeux de données", [
                dbc.Button("Voir sur la carte", id=SHOW_ON_MAP, color="primary", size="sm",
                           outline=True, n_clicks=0, disabled=True, className="mb-2"),
                loading(html.Div(empty_state(CHOOSE), id=DATASETS, className="producers-table")),
            ], help_text=typo("Les plus consultés d'abord ; ils sont surlignés sur la carte.")),
                lg=6, className="mb-3"),
            dbc.Col(card("Ses thèmes face au catalogue", loading(dcc.Graph(
                id=TOPICS, figure=empty_figure(CHOOSE, height=TOPICS_HEIGHT), config=GRAPH_CONFIG)),
                help_text="Part moyenne de chaque thème (LDA) dans ses jeux, et dans tout le catalogue."),
                lg=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(card("Qualité des métadonnées", loading(dcc.Graph(
                id=QUALITY_CHART, figure=empty_figure(CHOOSE, height=QUALITY_HEIGHT), config=GRAPH_CONFIG)),
                help_text="Part de ses jeux qui échouent à chaque règle, face au catalogue."),
                lg=5, className="mb-3"),
            dbc.Col(card("À corriger en priorité", loading(html.Div(empty_state(CHOOSE), id=QUALITY_LIST,
                                                                   className="producers-table")),
                         help_text=typo("Score sur 100 (100 : rien à corriger), le plus bas "
                                        "d'abord, puis les plus consultés.")), lg=7, className="mb-3"),
        ]),
        fair_section(),
        dbc.Row(dbc.Col(card("Quasi-doublons", [
            html.Div([html.Span(typo("Similarité minimale (cosinus) :"), className="small me-2"),
                      html.Div(dcc.Slider(id=DUP_THRESHOLD, min=0.8, max=1.0, step=0.01, value=threshold,
                                          marks={v / 100: french.number(v / 100, 2)
                                                 for v in range(80, 101, 5)},
                                          tooltip={"placement": "bottom"}), className="flex-grow-1")],
                     className="d-flex align-items-center mb-2"),
            loading(html.Div(empty_state(CHOOSE), id=DUPLICATES, className="producers-table")),
        ], help_text=typo("Paires de jeux au contenu presque identique : entre ses propres jeux, ou "
                          "avec ceux d'autres producteurs (parmi les 10 plus proches voisins de "
                          "chaque jeu).")),
            className="mb-3")),
        dbc.Row([
            dbc.Col(card("Producteurs les plus proches", loading(html.Div(empty_state(CHOOSE), id=SIMILAR)),
                         help_text=texts.PRODUCERS_SIMILAR_HELP),
                    lg=5, className="mb-3"),
            dbc.Col(card("Où se situent ses jeux parmi eux", loading(dcc.Graph(
                id=NEIGHBOURHOOD, figure=empty_figure(CHOOSE, height=NEIGHBOURHOOD_HEIGHT),
                config=GRAPH_CONFIG)),
                help_text="Projection 2D (MDS) du centre de chaque producteur et de ses jeux."),
                lg=7, className="mb-3"),
        ]),
        dbc.Row(dbc.Col(card(typo("Est-ce qu'on trouve mon jeu de données ?"), [
            dbc.Row([
                dbc.Col(dcc.Dropdown(id=FIND_DATASET, options=[], value=None, searchable=True,
                                     placeholder="Un de ses jeux de données",
                                     labels=dropdown_labels("Titre du jeu", "Aucun jeu trouvé")),
                        lg=6, className="mb-2"),
                dbc.Col(dbc.Textarea(id=FIND_QUERIES, rows=2, maxLength=1000,
                                     placeholder=typo(f"Des requêtes à tester, une par ligne "
                                                      f"({MAX_QUERIES} au plus) ; son titre est "
                                                      "toujours testé")),
                        lg=4, className="mb-2"),
                dbc.Col(dbc.Button("Tester", id=FIND_BUTTON, color="primary", n_clicks=0,
                                   disabled=True), lg=2, className="mb-2"),
            ]),
            loading(html.Div(empty_state(typo("Choisissez un de ses jeux, puis « Tester ».")),
                             id=FIND_RESULT)),
        ], help_text="Rang du jeu dans les 100 premiers résultats de chaque mode de recherche."),
            className="mb-3")),
    ], id=DETAIL, hidden=True)], className="producers-page")


# ---- key figures and lists ----------------------------------------------------------------
def key_figures(summary: dict | None, *, mean_score: float | None = None,
                catalogue_score: float | None = None) -> html.Div | dbc.Row:
    """Cards: active / archived datasets, views, reuses, followers, downloads, quality."""
    if not summary:
        return empty_state(CHOOSE)
    archived = french.integer(summary.get("n_archived")) if summary.get("archived_known", True) else "inconnu"
    items = [
        ("Jeux actifs", french.integer(summary.get("n_active")),
         f"rang {french.integer(summary.get('rank'))} par taille"),
        ("Jeux archivés", archived, f"{french.integer(summary.get('n_total'))} au total"),
        ("Vues", french.integer(summary.get("views")), "archivés compris"),
        ("Réutilisations", french.integer(summary.get("reuses")), "archivés compris"),
        ("Abonnés", french.integer(summary.get("followers")), "archivés compris"),
        ("Téléchargements", french.integer(summary.get("downloads")), "des ressources"),
    ]
    if mean_score is not None and math.isfinite(mean_score):
        cat = (typo(f"catalogue : {catalogue_score:.0f}/100") if catalogue_score is not None
               and math.isfinite(catalogue_score) else "")
        items.append(("Qualité moyenne", f"{mean_score:.0f}/100", cat))
    kind = {"utilisateur": "Utilisateur (sans organisation)",
            "aucun": "Jeux sans organisation ni propriétaire"}.get(summary.get("kind"), "Organisation")
    head = html.Div([html.H3(clean_text(summary.get("organization"), 200), className="h5 mb-0"),
                     html.Div(kind, className="small text-muted")], className="mb-2")
    cards = [dbc.Col(dbc.Card(dbc.CardBody([
        html.Div(label, className="small text-muted"),
        html.Div(value, className="fs-4 fw-semibold key-figure"),
        html.Div(note, className="small text-muted"),
    ], className="py-2")), xs=6, md=4, lg=True, className="mb-2") for label, value, note in items]
    return html.Div([head, dbc.Row(cards, className="g-2")])


def _table(header: Sequence[str], rows: list[list], *, small: bool = True) -> dbc.Table:
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])),
                      html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
                     size="sm" if small else None, hover=True, responsive=True, className="mb-0")


def list_grid(name: str, columns: list[dict], rows: list[dict]):
    """One list of the producer's page as a grid (:func:`components.data_grid.dataset_grid`)."""
    return dataset_grid({"type": LIST_GRID, "list": name}, columns, rows,
                        class_name=f"producers-list producers-list-{name}")


def datasets_table(items: list[dict], total: int) -> html.Div:
    """``items``: row, title, url, views, reuses, last_modified, score (most viewed first)."""
    if not items:
        return empty_state(texts.PRODUCERS_NONE_ACTIVE)
    rows = [{"key": str(int(d["row"])), "title": title_text(d.get("title")),
             "link": link_markdown(d.get("url")),
             "views": french.integer(d.get("views")),
             "reuses": french.integer(d.get("reuses")), "modified": french.short_date(d.get("last_modified")),
             "score": f"{int(d.get('score', 0))}"} for d in items]
    columns = [{"field": "title", "headerName": "Titre (ouvrir sa fiche)", **TITLE_COL}, LINK_COL,
               {"field": "views", "headerName": "Vues", "width": 110, "type": "rightAligned"},
               {"field": "reuses", "headerName": "Réutil.", "width": 100, "type": "rightAligned"},
               {"field": "modified", "headerName": "Modifié le", "width": 150},
               {"field": "score", "headerName": "Qualité", "width": 100, "type": "rightAligned"}]
    note = (f"Les {len(items)} plus consultés sur {french.integer(total)}." if total > len(items)
            else f"{french.integer(total)} jeu{'x' if total > 1 else ''} de données.")
    return html.Div([html.Div(note, className="small text-muted mb-1"),
                     list_grid("datasets", columns, rows)])


def priority_table(items: list[dict]) -> html.Div:
    """``items``: row, title, url, score, views, reasons (list of French reasons)."""
    if not items:
        return empty_state(typo("Rien à corriger : toutes les règles sont respectées."))
    rows = [{"key": str(int(d["row"])), "title": title_text(d.get("title")),
             "link": link_markdown(d.get("url")),
             "score": f"{int(d['score'])}",
             "views": french.integer(d.get("views")),
             "reasons": " · ".join(typo(clean_text(r, 300)) for r in d.get("reasons", []))} for d in items]
    columns = [{"field": "title", "headerName": "Jeu de données (ouvrir sa fiche)", **TITLE_COL},
               LINK_COL, {"field": "score", "headerName": "Score", "width": 90, "type": "rightAligned"},
               {"field": "views", "headerName": "Vues", "width": 100, "type": "rightAligned"},
               {"field": "reasons", "headerName": "À corriger", "flex": 1, "minWidth": 220,
                "wrapText": True, "autoHeight": True}]
    return html.Div(list_grid("priorities", columns, rows))


def _score_colour(score) -> str:
    s = float(score)
    return "danger" if s < 50 else "warning" if s < 80 else "success"


def duplicates_table(items: list[dict], threshold: float) -> html.Div:
    """``items``: row_a, title_a, row_b, title_b, organization_b, same_producer, score."""
    if not items:
        return empty_state(f"Aucune paire au-dessus de {french.score(threshold)}.")
    n_own = sum(1 for d in items if d.get("same_producer"))
    rows = [{"key": f"{int(d['row_a'])}:{int(d['row_b'])}", "title_a": title_text(d.get("title_a")),
             "title_b": title_text(d.get("title_b")),
             "producer": "même producteur" if d.get("same_producer")
             else clean_text(d.get("organization_b"), 100),
             "score": french.score(d.get("score"))} for d in items]
    columns = [{"field": "title_a", "headerName": "Son jeu (ouvrir sa fiche)", **TITLE_COL},
               {"field": "title_b", "headerName": "Jeu proche (ouvrir sa fiche)", **TITLE_COL},
               {"field": "producer", "headerName": "Producteur du jeu proche", "width": 200,
                "wrapText": True, "autoHeight": True},
               {"field": "score", "headerName": "Similarité", "width": 110, "type": "rightAligned"}]
    note = (f"{len(items)} paire{'s' if len(items) > 1 else ''} dont {n_own} entre ses propres jeux "
            f"(similarité ≥ {french.score(threshold)}).")
    return html.Div([html.Div(note, className="small text-muted mb-1"),
                     list_grid("duplicates", columns, rows)])


def similar_table(items: list[dict]) -> html.Div | dbc.ListGroup:
    """``items``: producer_id, organization, n_active, similarity; each opens that producer."""
    if not items:
        return empty_state(texts.PRODUCERS_NO_SIMILAR)
    return dbc.ListGroup([dbc.ListGroupItem(
        [html.Div(clean_text(d.get("organization"), 140), className="fw-semibold"),
         html.Div(f"{french.count(d.get('n_active'), 'jeu', 'jeux')} · similarité "
                  f"{french.score(d.get('similarity'))}", className="small text-muted")],
        id={"type": PRODUCER_ITEM, "value": str(d["producer_id"])}, action=True, n_clicks=0,
        class_name="py-1 dataset-item") for d in items], flush=True)


def findability_table(items: list[dict], *, k: int = FINDABILITY_K) -> html.Div | dbc.Table:
    """``items``: query, source (titre / requête), mode, rank (None if beyond k), status."""
    if not items:
        return empty_state(typo("Choisissez un de ses jeux, puis « Tester »."))
    modes = list(dict.fromkeys(d["mode"] for d in items))
    queries = list(dict.fromkeys((d["source"], d["query"]) for d in items))
    cell = {(d["source"], d["query"], d["mode"]): d for d in items}
    rows = []
    for source, q in queries:
        line = [html.Span([dbc.Badge(source, color="light", text_color="dark", className="me-1"),
                           clean_text(q, 200)])]
        for m in modes:
            d = cell.get((source, q, m))
            rank = None if d is None else d.get("rank")
            found = rank is not None and not (isinstance(rank, float) and math.isnan(rank))
            text = d["status"] if d else ""
            colour = ("success" if found and int(rank) <= 10 else "warning" if found
                      else "secondary" if d and d["status"] == "mode indisponible" else "danger")
            line.append(dbc.Badge(text, color=colour) if d else "")
        rows.append(line)
    return html.Div([_table(["Requête", *[mode_label(m) for m in modes]], rows),
                     html.Div(f"Rang parmi les {k} premiers résultats de chaque mode.",
                              className="small text-muted mt-1")])


# ---- figures -----------------------------------------------------------------------------
def visualize_topic_mix(labels: Sequence[str], producer: Sequence[float], catalogue: Sequence[float],
                        *, name: str = "Ce producteur", height: int = TOPICS_HEIGHT) -> go.Figure:
    """Horizontal bars: mean share of each topic in its datasets vs the whole catalogue."""
    if not len(labels):
        return empty_figure(texts.PRODUCERS_NO_TOPICS, height=height)
    ys = [plotly_text(f"{label}", 60) for label in labels][::-1]
    fig = go.Figure([
        go.Bar(y=ys, x=[100 * float(v) for v in catalogue][::-1], orientation="h",
               name="Tout le catalogue", marker_color=CATALOGUE_COLOUR,
               hovertemplate=typo("%{y}<br>catalogue : %{x:.1f} %<extra></extra>")),
        go.Bar(y=ys, x=[100 * float(v) for v in producer][::-1], orientation="h",
               name=plotly_text(name, 60), marker_color=PRODUCER_COLOUR,
               hovertemplate=typo("%{y}<br>ce producteur : %{x:.1f} %<extra></extra>")),
    ])
    fig.update_layout(barmode="group", xaxis={"title": "part moyenne (%)", "ticksuffix": " %"},
                      yaxis={"automargin": True}, bargap=0.25)
    return _base_layout(fig, height)


def visualize_quality_overview(labels: Sequence[str], producer: Sequence[float],
                               catalogue: Sequence[float], *, height: int = QUALITY_HEIGHT) -> go.Figure:
    """Share of datasets failing each rule: this producer vs the catalogue."""
    if not len(labels):
        return empty_figure("Aucun jeu de données à évaluer.", height=height)
    ys = [plotly_text(label, 60) for label in labels][::-1]
    fig = go.Figure([
        go.Bar(y=ys, x=[100 * float(v) for v in catalogue][::-1], orientation="h",
               name="Tout le catalogue", marker_color=CATALOGUE_COLOUR,
               hovertemplate=typo("%{y}<br>catalogue : %{x:.0f} % des jeux en défaut<extra></extra>")),
        go.Bar(y=ys, x=[100 * float(v) for v in producer][::-1], orientation="h",
               name="Ce producteur", marker_color=DATASET_COLOUR,
               hovertemplate=typo("%{y}<br>ce producteur : %{x:.0f} % des jeux en défaut<extra></extra>")),
    ])
    fig.update_layout(barmode="group", xaxis={"title": "jeux en défaut (%)", "range": [0, 100],
                                              "ticksuffix": " %"}, yaxis={"automargin": True})
    return _base_layout(fig, height)


def visualize_neighbourhood(producers: list[dict], datasets: list[dict], *,
                            height: int = NEIGHBOURHOOD_HEIGHT) -> go.Figure:
    """Scattergl: the producer (first, ``is_self``), its nearest producers, and its datasets.

    ``producers``: organization, n_active, similarity, x, y, is_self;
    ``datasets``: title, x, y."""
    if not producers:
        return empty_figure(texts.PRODUCERS_NO_SIMILAR, height=height)
    others = [p for p in producers if not p.get("is_self")]
    me = [p for p in producers if p.get("is_self")]
    traces = []
    if datasets:
        traces.append(go.Scattergl(
            x=[d["x"] for d in datasets], y=[d["y"] for d in datasets], mode="markers",
            name="Ses jeux de données", marker={"size": 6, "color": DATASET_COLOUR, "opacity": 0.55},
            text=[plotly_text(d.get("title"), 120) for d in datasets],
            hovertemplate="%{text}<extra>son jeu</extra>"))
    if others:
        sizes = [8 + 4 * math.log10(1 + max(0, int(p.get("n_active", 0)))) for p in others]
        traces.append(go.Scattergl(
            x=[p["x"] for p in others], y=[p["y"] for p in others], mode="markers+text",
            name="Producteurs proches", marker={"size": sizes, "color": CATALOGUE_COLOUR,
                                                "line": {"width": 1, "color": "#495057"}},
            text=[plotly_text(p.get("organization"), 28) for p in others], textposition="top center",
            textfont={"size": 10},
            customdata=[[plotly_text(p.get("organization"), 120), int(p.get("n_active", 0)),
                         french.score(p.get("similarity"))] for p in others],
            hovertemplate="%{customdata[0]}<br>%{customdata[1]} jeux · similarité %{customdata[2]}"
                          "<extra></extra>"))
    if me:
        traces.append(go.Scattergl(
            x=[me[0]["x"]], y=[me[0]["y"]], mode="markers+text",
            name=plotly_text(me[0].get("organization"), 40),
            marker={"size": 18, "color": PRODUCER_COLOUR, "symbol": "star"},
            text=[plotly_text(me[0].get("organization"), 28)], textposition="bottom center",
            hovertemplate="%{text} (centre de ses jeux)<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
                      hovermode="closest")
    return _base_layout(fig, height)


def empty_figures(message: str = CHOOSE) -> tuple:
    """(topic mix, quality chart, priorities) with nothing to show yet, saying why."""
    return (empty_figure(message, height=TOPICS_HEIGHT), empty_figure(message, height=QUALITY_HEIGHT),
            empty_state(message))


def empty_neighbourhood() -> tuple:
    """(similar producers, neighbourhood) before a producer is chosen."""
    return empty_state(), empty_figure(CHOOSE, height=NEIGHBOURHOOD_HEIGHT)


def topic_mix(mix: dict | None, name: str) -> go.Figure:
    """The producer's topics against the catalogue's (``mix``: lists ``label``, ``producer`` and
    ``catalogue``, the shares; None: the build has no topics)."""
    if mix is None:
        return empty_figure(texts.PRODUCERS_NO_TOPICS, height=TOPICS_HEIGHT)
    return visualize_topic_mix(mix["label"], mix["producer"], mix["catalogue"], name=name)


def find_options(rows, titles) -> list[dict]:
    """The findability test's dataset choices (the producer's first :data:`N_FIND_OPTIONS`)."""
    pairs = itertools.islice(zip(rows, titles, strict=True), N_FIND_OPTIONS)
    return [{"label": clean_text(t, 120) or texts.NO_TITLE, "value": int(r)} for r, t in pairs]


def find_queries(text: str) -> list[str]:
    """The queries of the findability test: one a line, the first :data:`MAX_QUERIES`.

    >>> find_queries(" eau \\n\\n  rivière\\n")
    ['eau', 'rivière']
    """
    return [q.strip() for q in text.splitlines() if q.strip()][:MAX_QUERIES]
