"""The "Carte" page: search bar, map, results and details beside it, topic word cloud below."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids
from components import labels as texts
from components.cloud import TITLE_SPACE, visualize_wordcloud
from components.coverage_view import map_cluster_block
from components.coverage_view import modal as coverage_modal
from components.coverage_view import open_button as coverage_button
from components.details import placeholder
from components.figures import empty_figure
from components.labels import mode_options, typo
from components.map_tools import time_bar
from components.search_results import NO_SEARCH, SORT_OPTIONS, catalogue_filter_panel
from components.selection import selection_tab
from components.topics import topic_name
from components.tour import tour_controls

MAP_CONFIG = {
    "scrollZoom": True, "displaylogo": False, "locale": "fr", "doubleClick": "reset",
    "modeBarButtonsToRemove": ["autoScale2d", "toImage"],  # lasso/box: MDS on the "Thèmes" page
}
CLOUD_CONFIG = {"displayModeBar": False, "locale": "fr"}
SIDE_HEIGHT = "640px"
CLOUD_WIDTH, CLOUD_HEIGHT = 760, 330  # the word cloud under the map (its title above)
NO_CLOUD = "Choisissez un thème pour afficher son nuage de mots."

HELP = [
    html.P("Chaque point est un jeu de données du catalogue. Deux points proches ont des titres et "
           "des descriptions au sens voisin (le sens des phrases, calculé par un modèle de langue, "
           "projeté en 2D par UMAP)."),
    html.P("La couleur donne le thème dominant du jeu de données, trouvé par un modèle de thèmes "
           "(LDA)\u202f; la légende nomme chaque thème par ses mots les plus caractéristiques."),
    html.P(typo("La recherche accepte une phrase ou des mots-clés : « Sémantique » compare le sens, "
                "« Mots-clés » les mots exacts, « Hybride » combine les deux.")),
    html.P(typo("Un lieu, une année, un producteur ou un format cités dans la recherche (« piscines à "
                "Toulouse depuis 2020 ») favorisent les jeux de données correspondants ; l'onglet "
                "« Filtres » restreint les résultats et estompe les autres points de la carte.")),
    html.P(typo("Les noms écrits sur la carte résument chaque région par ses mots les plus "
                "caractéristiques ; en zoomant, des régions plus fines apparaissent.")),
    html.P(typo("Molette : zoom. Glisser : déplacer. Double-clic : vue d'ensemble."), className="mb-0"),
]


def search_bar(modes: list[str], default_mode: str | None, max_query_chars: int) -> dbc.Row:
    disabled = not modes
    return dbc.Row([
        dbc.Label("Rechercher dans le catalogue", html_for=ids.SEARCH_INPUT, class_name="visually-hidden"),
        dbc.Col(dbc.InputGroup([
            dbc.Input(id=ids.SEARCH_INPUT, type="search", maxLength=max_query_chars, debounce=False,
                      placeholder="Une phrase ou des mots-clés, par exemple «\u202fvacances scolaires\u202f»",
                      autocomplete="off", disabled=disabled, n_submit=0),
            dbc.Button("Rechercher", id=ids.SEARCH_BUTTON, color="primary", n_clicks=0,
                       disabled=disabled),
        ]), lg=7, className="mb-2"),
        dbc.Col(html.Div([
            html.Span("Mode\u202f:", className="me-2 small text-muted"),
            dbc.RadioItems(id=ids.SEARCH_MODE, options=mode_options(modes), value=default_mode,
                           inline=True, className="small"),
        ] if modes else [html.Span(texts.NO_SEARCH, className="text-danger small")],
            className="d-flex align-items-center h-100"), lg=5, className="mb-2"),
    ], className="align-items-center")


def build_explorer_page(*, map_figure: go.Figure, cloud_figure: go.Figure, modes: list[str],
                        default_mode: str | None, topic_options: list[dict],
                        default_topic: int | None, max_query_chars: int = 500,
                        colour_options: list[dict] | None = None,
                        colour_value: str | None = None, map_labels: dict | None = None,
                        year_bounds: tuple[int, int] | None = None,
                        catalogue_facets: dict | None = None,
                        clusters: list[dict] | None = None) -> html.Div:
    """``topic_options``: ``[{"label": str, "value": int}]`` for the word-cloud dropdown;
    ``colour_options``: what the map can be coloured by (``ids.MAP_COLOUR``, wired in
    callbacks/topics.py), no selector when empty; ``map_labels``: the region labels
    (``models.serve.map_labels.label_payload``), placed by ``assets/20-map-labels.js``;
    ``year_bounds``: (first, last) plausible year, for the year filter under the map;
    ``catalogue_facets``: the whole catalogue's filters with counts, shown before any search;
    ``clusters``: the embedding clusters, for « Où sont ces données ? » while the map shows them."""
    side = dbc.Card(dbc.Tabs([
        dbc.Tab(html.Div([
            html.Div(NO_SEARCH, id=ids.RESULTS_HEADER, className="small text-muted px-3 pt-2 pb-1"),
            coverage_button(),
            html.Div(id=ids.SEARCH_MESSAGES, className="px-2"),
            html.Div(id=ids.SEARCH_CHIPS),
            html.Div([
                html.Span("Trier par\u00a0:", className="small text-muted me-2"),
                dcc.Dropdown(id=ids.SEARCH_SORT, options=SORT_OPTIONS, value="relevance", clearable=False,
                             searchable=False, className="small flex-grow-1", labels=texts.dropdown_labels()),
            ], className="d-flex align-items-center px-2 pb-1"),
            dcc.Loading(html.Div(id=ids.RESULTS), type="dot", delay_show=300),
        ], className="side-pane", style={"height": SIDE_HEIGHT}), label="Résultats", tab_id=ids.SIDE_RESULTS),
        dbc.Tab(html.Div(catalogue_filter_panel(catalogue_facets), id=ids.FILTERS_PANEL,
                         className="side-pane",
            style={"height": SIDE_HEIGHT}), label="Filtres", tab_id=ids.SIDE_FILTERS, id=ids.FILTERS_TAB),
        dbc.Tab(dcc.Loading(html.Div(placeholder(), id=ids.DETAILS, className="p-3"), type="dot",
                            delay_show=300),
                label="Fiche", tab_id=ids.SIDE_CARD, class_name="side-pane", style={"height": SIDE_HEIGHT}),
        dbc.Tab(selection_tab(), label="Sélection", tab_id=ids.SIDE_SELECTION, class_name="side-pane",
                style={"height": SIDE_HEIGHT}),
    ], id=ids.SIDE_TABS, active_tab=ids.SIDE_RESULTS, class_name="px-2 pt-2"), className="h-100 shadow-sm")

    cloud = dbc.Card([
        dbc.CardHeader(dbc.Row([
            dbc.Col(html.Span("Nuage de mots du thème", className="fw-semibold"), width="auto"),
            dbc.Col(dcc.Dropdown(id=ids.TOPIC_DROPDOWN, options=topic_options, value=default_topic,
                                 clearable=False, searchable=True, placeholder="Choisir un thème",
                                 labels=texts.dropdown_labels("Mot du thème", "Aucun thème trouvé"),
                                 disabled=not topic_options)),
        ], className="align-items-center g-2")),
        dbc.CardBody(dcc.Graph(id=ids.CLOUD, figure=cloud_figure, config=CLOUD_CONFIG), className="p-1"),
    ], className="shadow-sm")

    return html.Div([
        dcc.Store(id=ids.SEARCH_STATE, data=None),
        dcc.Store(id=ids.MAP_FILTER, data=None),
        coverage_modal(),
        search_bar(modes, default_mode, max_query_chars),
        tour_controls(),
        html.Div(dbc.Button("Poser plutôt la question à l'assistant →", id=ids.ASK_FROM_SEARCH,
                            color="link", size="sm", className="p-0", n_clicks=0,
                            disabled=not modes), className="mb-2"),
        dbc.Row([
            dbc.Col(dbc.Card(dbc.CardBody([
                html.Div([
                    *([html.Span("Couleurs\u202f:", className="small text-muted me-2"),
                       dcc.Dropdown(id=ids.MAP_COLOUR, options=colour_options, value=colour_value,
                                    clearable=False, searchable=False, className="flex-grow-1 small",
                                    labels=texts.dropdown_labels())]
                      if colour_options else [html.Span(className="flex-grow-1")]),
                    dbc.Switch(id=ids.MAP_LABELS_TOGGLE, label="Noms des régions", value=bool(map_labels),
                               disabled=not map_labels, class_name="small ms-3 mb-0 text-nowrap"),
                    dbc.Button("Télécharger l'image", id=ids.MAP_IMAGE_BUTTON, size="sm", color="secondary",
                               outline=True, n_clicks=0, class_name="ms-3 text-nowrap",
                               title="La carte telle qu'elle est affichée, en PNG haute définition"),
                ], className="d-flex align-items-center px-2 pt-1"),
                *([map_cluster_block(clusters)] if clusters and colour_options else []),
                html.Div(id=ids.MAP_FILTER_NOTE, className="small text-muted px-2"),
                dcc.Store(id=ids.MAP_IMAGE_VIEW, data=None),
                dcc.Download(id=ids.MAP_IMAGE_DOWNLOAD),
                dcc.Loading(html.Div(id=ids.MAP_IMAGE_STATUS, className="small px-2"), type="dot"),
                dcc.Store(id=ids.MAP_LABELS, data=map_labels),
                dcc.Store(id=ids.MAP_LABELS_STATE, data=None),
                dcc.Graph(id=ids.MAP, figure=map_figure, config=MAP_CONFIG, clear_on_unhover=True),
                dcc.Tooltip(id=ids.MAP_TOOLTIP, direction="bottom"),
                *([time_bar(*year_bounds)] if year_bounds else []),
            ], className="p-1"), className="shadow-sm"), lg=8, className="mb-3"),
            dbc.Col(side, lg=4, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(cloud, lg=8, className="mb-3"),
            dbc.Col(dbc.Card([dbc.CardHeader("Comment lire la carte", className="fw-semibold"),
                              dbc.CardBody(HELP, className="small")], className="shadow-sm"), lg=4),
        ]),
    ])


def topic_cloud(topic: int | None, label: str | None, terms: list[tuple[str, float]]) -> go.Figure:
    """The word cloud under the map: the words of ``topic`` (named ``label``; None: no topic)."""
    if label is None or topic is None:
        return empty_figure(NO_CLOUD, height=CLOUD_HEIGHT + TITLE_SPACE)
    return visualize_wordcloud(terms, topic_name(topic, label), width=CLOUD_WIDTH, height=CLOUD_HEIGHT)
