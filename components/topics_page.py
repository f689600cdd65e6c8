"""The "Thèmes" page: LDA topics you can inspect (layout only; callbacks/topics.py fills it).

Top: the model (K), its quality, the intertopic distance map and the chosen topic's terms
(relevance slider λ). Then the topic's word cloud, its share by year of creation, its top
datasets and producers, an MDS layout of its datasets (or of the map's highlighted datasets),
the keywords several topics share and the topics × embedding clusters heatmap.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html

from components import ids
from components import labels as texts
from components.cloud import visualize_wordcloud
from components.coverage_view import open_cluster_block
from components.coverage_view import open_topic_button as coverage_topic_button
from components.dataset_list import dataset_list
from components.figures import empty_figure
from components.labels import clean_text
from components.topics import topic_name, visualize_producers, visualize_term_bars, visualize_topic_years
from models.core import french

GRAPH_CONFIG = {"displaylogo": False, "locale": "fr",
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toImage"]}
STATIC_CONFIG = {"displayModeBar": False, "locale": "fr"}
DEFAULT_LAMBDA = 0.6
MDS_SIZES = (300, 1000, 2000, 3000)
MDS_DEFAULT, MDS_MIN, MDS_MAX = 1000, 3, 3000  # points the MDS places
MDS_HEIGHT = 460
N_TERMS = 30  # the term bars
N_CLOUD_TERMS = 40
CLOUD_WIDTH, CLOUD_HEIGHT = 600, 330
N_PRODUCERS = 10
N_DATASETS = 20
NO_MODEL = "Choisissez un modèle."
NO_TOPIC = "Choisissez un thème sur la carte ou dans la liste."

HELP = [
    html.P("Un thème est une liste de mots qui apparaissent souvent ensemble dans les titres, "
           "descriptions et mots-clés des jeux de données (modèle LDA sur les lemmes français). "
           "Chaque jeu de données mélange plusieurs thèmes."),
    html.P("Carte des thèmes\u202f: deux bulles proches ont des vocabulaires voisins (distance de "
           "Jensen-Shannon, projetée en 2D)\u202f; l'aire d'une bulle est la part du catalogue qui "
           "parle de ce thème. Cliquez sur une bulle pour l'explorer."),
    html.P("Pertinence λ\u202f: à 1, les mots les plus fréquents du thème\u202f; vers 0, les mots propres au "
           "thème (rares ailleurs). λ = 0,6 est un bon compromis (Sievert et Shirley, 2014)."),
    html.P("Cohérence c_v\u202f: les mots d'un thème apparaissent-ils ensemble dans les textes\u202f? "
           "(plus haut = mieux). Stabilité\u202f: le thème revient-il quand on relance le modèle "
           "avec une autre graine\u202f? (1 = identique).", className="mb-0"),
]


def k_options(models: list[dict]) -> list[dict]:
    """``models``: dicts with ``k``, ``default`` (and ``coherence_cv``)."""
    out = []
    for m in sorted(models, key=lambda m: m["k"]):
        cv = m.get("coherence_cv")
        extra = f" · c_v {french.number(cv, 2)}" if cv is not None else ""
        out.append({"label": f"K = {m['k']}{extra}" + (" (par défaut)" if m.get("default") else ""),
                    "value": int(m["k"])})
    return out


def topic_options(topics: pd.DataFrame) -> list[dict]:
    """Dropdown options, the most prevalent topic first."""
    t = topics.sort_values("prevalence", ascending=False, kind="stable")
    return [{"label": f"{int(i) + 1}. {clean_text(lab, 80)} ({french.percent(p, 1)})", "value": int(i)}
            for i, lab, p in zip(t["topic"], t["label"], t["prevalence"], strict=True)]


def topic_info(topic: dict | None) -> list:
    """Small summary of the chosen topic: ``topic`` is a row of the topics table as a dict."""
    if not topic:
        return [html.Span("Choisissez un thème.", className="text-muted")]

    return [
        html.Div(f"Thème {int(topic['topic']) + 1}\u202f: {clean_text(topic['label'], 120)}",
                 className="fw-semibold"),
        html.Div([
            html.Span(f"part du catalogue {french.percent(topic['prevalence'], 1)}"),
            html.Span(f" · stabilité {french.number(topic.get('stability'), 2)}"),
            html.Span(f" · cohérence c_v {french.number(topic.get('coherence_cv'), 2)}"),
        ], className="small text-muted"),
    ]


def _topic_list(topics, labels, shown: int = 4) -> list:
    """"3. eau · rivière, 7. …" for the first ``shown`` topics, then "+ n autres" (all on hover)."""
    parts = [f"{int(t) + 1}. {clean_text(lab, 40)}" for t, lab in zip(topics, labels, strict=True)]
    text = "\u202f; ".join(parts[:shown])
    rest = len(parts) - shown
    return [html.Span(text, title="\u202f; ".join(parts)),
            html.Span(f" + {rest} autres", className="text-muted") if rest > 0 else None]


def shared_terms_table(rows: list[dict], *, max_rows: int = 40) -> html.Div:
    """``rows``: dicts with ``term`` and ``topics`` (0-based ids) and ``labels``."""
    if not rows:
        return html.Div("Aucun mot n'est partagé par plusieurs thèmes parmi leurs 20 premiers mots.",
                        className="text-muted small")
    body = [html.Tr([
        html.Td(clean_text(r["term"], 40), className="fw-semibold"),
        html.Td(len(r["topics"])),
        html.Td(_topic_list(r["topics"], r["labels"]), className="small"),
    ]) for r in rows[:max_rows]]
    return html.Div(dbc.Table([html.Thead(html.Tr([html.Th("mot"), html.Th("thèmes"),
                                                   html.Th("lesquels")])), html.Tbody(body)],
                              size="sm", hover=True, className="mb-0"),
                    style={"maxHeight": "420px", "overflowY": "auto"})


def topic_periods_block(periods: list[dict], topic: int | None = None) -> html.Div:
    """The chosen topic's own words period by period (``models.serve.topics.TopicService.periods``:
    dicts with start, end, datasets, words). Plain text, never markup.

    Examples
    --------
    >>> block = topic_periods_block([{"start": 2019, "end": 2020, "datasets": 120,
    ...                               "words": ["covid", "hospitalisations"]}], topic=3)
    >>> block.children[1].children[0].children[2].children
    'covid · hospitalisations'
    """
    if not periods:
        return html.Div("Les mots par période ne sont pas disponibles pour ce catalogue.",
                        className="small text-muted px-2")
    title = "Ses mots propres, période par période" + (f" (thème {topic + 1})" if topic is not None else "")
    items = []
    for p in periods:
        span = str(p["start"]) if p["start"] == p["end"] else f"{p['start']}\u2013{p['end']}"
        n = int(p["datasets"])
        count = french.count(n, "jeu", "jeux")
        words = " · ".join(clean_text(str(w), 30) for w in p["words"]) if p["words"] else (
            "trop peu de jeux de données pour en dire les mots")
        items.append(html.Li([html.Span(span, className="fw-semibold me-2"),
                              html.Span(f"({count})\u00a0: ", className="text-muted"),
                              html.Span(words, className="" if p["words"] else "text-muted fst-italic")],
                             className="small"))
    return html.Div([html.Div(title, className="small fw-semibold px-2 pt-1"),
                     html.Ul(items, className="mb-1 ps-4")], className="topic-periods")


def _card(title, body, **kw) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title, className="fw-semibold"),
                     dbc.CardBody(body, className=kw.pop("body_class", "p-2"))],
                    className="shadow-sm h-100", **kw)


def _graph(id_, height, config=STATIC_CONFIG) -> dcc.Graph:
    return dcc.Graph(id=id_, figure=empty_figure("Chargement…", height=height), config=config)


def build_topics_page(*, models: list[dict], default_k: int | None, has_clusters: bool = False,
                      lam: float = DEFAULT_LAMBDA, clusters: list[dict] | None = None) -> html.Div:
    """``models``: lda_models.json's ``models`` (k, default, coherence_cv, ...). No model ->
    an explanation instead of the page. ``clusters``: the embedding clusters (cluster, label,
    size), largest first, for « Où sont ces données ? » by the heatmap."""
    if not models or default_k is None:
        return html.Div(dbc.Alert(
            texts.TOPICS_UNAVAILABLE, color="warning"), className="p-2")
    controls = dbc.Row([
        dbc.Col([html.Label("Modèle", htmlFor=ids.TOPICS_K, className="small text-muted mb-1"),
                 dcc.Dropdown(id=ids.TOPICS_K, options=k_options(models), value=int(default_k),
                              clearable=False, searchable=False, labels=texts.dropdown_labels())],
                lg=3, className="mb-2"),
        dbc.Col([html.Label("Thème", htmlFor=ids.TOPICS_SELECT, className="small text-muted mb-1"),
                 dcc.Dropdown(id=ids.TOPICS_SELECT, options=[], value=None, clearable=False,
                              placeholder="Choisir un thème",
                              labels=texts.dropdown_labels("Mot du thème", "Aucun thème trouvé"))],
                lg=6, className="mb-2"),
        dbc.Col([dbc.Button("Montrer ses jeux sur la carte", id=ids.TOPICS_SHOW_ON_MAP, n_clicks=0,
                            color="primary", outline=True, className="w-100"),
                 coverage_topic_button()],
                lg=3, className="mb-2 d-flex flex-column align-items-stretch justify-content-end"),
    ], className="align-items-end")

    terms_body = [
        html.Div([html.Span("Pertinence λ", className="small text-muted me-2"),
                  html.Div(dcc.Slider(id=ids.TOPICS_LAMBDA, min=0, max=1, step=0.1, value=lam,
                                      marks={0: "0", 0.5: "0,5", 1: "1"},
                                      tooltip={"placement": "bottom"}), className="flex-grow-1")],
                 className="d-flex align-items-center px-2"),
        _graph(ids.TOPICS_TERMS, 520),
    ]
    mds_controls = dbc.Row([
        dbc.Col(dbc.RadioItems(id=ids.TOPICS_MDS_SOURCE, inline=True, value="topic",
                               options=[{"label": "jeux du thème", "value": "topic"},
                                        {"label": "jeux en surbrillance sur la carte", "value": "map"}],
                               className="small"), md=6),
        dbc.Col(dcc.Dropdown(id=ids.TOPICS_MDS_MAX, value=1000, clearable=False, searchable=False,
                             labels=texts.dropdown_labels(),
                             options=[{"label": f"au plus {n} points", "value": n} for n in MDS_SIZES]),
                md=3),
        dbc.Col(dbc.Button("Calculer la disposition MDS", id=ids.TOPICS_MDS_BUTTON, n_clicks=0,
                           color="secondary", size="sm", className="w-100"), md=3),
    ], className="g-2 align-items-center mb-1")

    return html.Div([
        controls,
        dbc.Row([
            dbc.Col(_card("Carte des thèmes (distance entre vocabulaires)", [
                html.Div(id=ids.TOPICS_INFO, className="px-2 pb-1"),
                _graph(ids.TOPICS_MAP, 520, GRAPH_CONFIG)]), lg=6, className="mb-3"),
            dbc.Col(_card("Mots du thème", terms_body), lg=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(_card("Nuage de mots", _graph(ids.TOPICS_CLOUD, 374)), lg=6, className="mb-3"),
            dbc.Col(_card("Le thème dans le temps", [_graph(ids.TOPICS_YEARS, 300),
                                                      html.Div(id=ids.TOPICS_PERIODS)]), lg=6,
                    className="mb-3"),
        ]),
        dbc.Row(dbc.Col(_card("Les thèmes dans le temps", _graph(ids.TOPICS_TIMELINE, 420)),
                        className="mb-3")),
        dbc.Row([
            dbc.Col(_card("Jeux de données les plus représentatifs",
                          dcc.Loading(html.Div(id=ids.TOPICS_DATASETS, className="side-pane",
                                               style={"maxHeight": "420px", "overflowY": "auto"}),
                                      type="dot", delay_show=300)), lg=6, className="mb-3"),
            dbc.Col(_card("Producteurs", _graph(ids.TOPICS_PRODUCERS, 300)), lg=6, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(_card(texts.TOPICS_MDS_TITLE, [
                mds_controls,
                html.Div(id=ids.TOPICS_MDS_STATUS, className="small text-muted px-1"),
                dcc.Loading(dcc.Graph(id=ids.TOPICS_MDS, config=GRAPH_CONFIG, figure=empty_figure(
                    "Choisissez une source puis «\u202fCalculer la disposition MDS\u202f».",
                    height=MDS_HEIGHT)),
                    type="dot", delay_show=300),
            ]), lg=8, className="mb-3"),
            dbc.Col(_card("Lire cette page", HELP, body_class="small p-3"), lg=4, className="mb-3"),
        ]),
        dbc.Row([
            dbc.Col(_card("Mots partagés par plusieurs thèmes", html.Div(id=ids.TOPICS_SHARED)),
                    lg=5, className="mb-3"),
            dbc.Col(_card("Qualité des modèles selon K", _graph(ids.TOPICS_QUALITY, 260)),
                    lg=7, className="mb-3"),
        ]),
        dbc.Row(dbc.Col(_card(
            texts.TOPICS_X_CLUSTERS,
            [open_cluster_block(clusters), _graph(ids.TOPICS_HEATMAP, 400)] if has_clusters and clusters
            else _graph(ids.TOPICS_HEATMAP, 400) if has_clusters else html.Div(
                texts.NO_CLUSTERS, className="text-muted small")),
            className="mb-3")),
    ])


# ---- the chosen topic ---------------------------------------------------------------------------
def no_model() -> go.Figure:
    return empty_figure(NO_MODEL)


def no_topic() -> go.Figure:
    return empty_figure(NO_TOPIC)


def no_clusters() -> go.Figure:
    """The heatmap of a build without embedding clusters."""
    return empty_figure(texts.NO_CLUSTERS)


def topic_cloud(topic: int, label: str, terms: list[tuple[str, float]]) -> go.Figure:
    """The word cloud of ``topic`` (its :data:`N_CLOUD_TERMS` words and their weights)."""
    return visualize_wordcloud(terms, topic_name(topic, label), width=CLOUD_WIDTH, height=CLOUD_HEIGHT)


def topic_years(topic: int, years: dict) -> go.Figure:
    """The topic's share by year of creation (``years``: lists ``year``, ``share``, ``datasets``;
    ``left_out``, ``first``, ``last``: the years not counted)."""
    return visualize_topic_years(years["year"], years["share"], years["datasets"],
                                 title=f"Part du thème {topic + 1} selon l'année de création",
                                 left_out=years.get("left_out", 0), first=years.get("first"),
                                 last=years.get("last"))


def topic_producers(topic: int, organizations: list[str], counts: list[int]) -> go.Figure:
    return visualize_producers(organizations, counts, title=f"Producteurs\u202f: jeux dont le thème "
                                                            f"{topic + 1} est le thème principal")


def topic_datasets(items: list[dict]):
    """The topic's most representative datasets (``items``: with their ``share`` of the topic)."""
    return dataset_list([{**d, "score": d["share"]} for d in items], item_type=ids.TOPIC_DATASET_ITEM,
                        score_label="part du thème", empty_message="Aucun jeu de données pour ce thème.")


def term_bars(topic: int | None, terms: list[dict], lam: float) -> go.Figure:
    """The topic's :data:`N_TERMS` most relevant words at relevance ``lam`` (λ)."""
    if topic is None:
        return visualize_term_bars([])
    return visualize_term_bars(terms, lam=lam, title=f"Thème {topic + 1}\u202f: {N_TERMS} mots les plus "
                                                     f"pertinents (λ = {french.number(lam, 1)})")


# ---- the MDS of a topic's datasets or of the map's highlight -------------------------------------
def mds_limit(value: int | None) -> int:
    """The number of points the MDS places (the page's choice, within bounds).

    >>> mds_limit(None), mds_limit(1), mds_limit(10_000)
    (1000, 3, 3000)
    """
    return max(MDS_MIN, min(value or MDS_DEFAULT, MDS_MAX))


def mds_what(source: str, label: str, topic: int | None) -> str:
    """What the MDS places: the map's highlighted datasets (``label``), or the topic's."""
    if source == "map":
        return f"jeux en surbrillance sur la carte ({label or 'sélection'})"
    return f"jeux dont le thème principal est le thème {topic + 1}" if topic is not None else ""


def mds_too_few(source: str) -> go.Figure:
    """Fewer than three datasets to place."""
    msg = ("Aucun jeu en surbrillance sur la carte\u202f: lancez une recherche ou montrez un "
           "thème sur la carte." if source == "map" else "Ce thème a trop peu de jeux de données.")
    return empty_figure(msg, height=MDS_HEIGHT)


def mds_title(n: int, what: str) -> str:
    return f"MDS de {n} {what}"


def mds_status(n: int, seconds: float, *, limit: int, total: int, truncated: bool) -> str:
    """The line over the MDS: how many points, in how long (``truncated``: the first ``limit``
    of ``total``).

    >>> mds_status(40, 0.5, limit=1000, total=40, truncated=False)
    '40 points disposés en 0,50 s. Survolez un point pour son titre, cliquez pour sa fiche.'
    """
    return (f"{n} points disposés en {french.number(seconds, 2)} s"
            + (f" (les {limit} premiers sur {total})" if truncated else "")
            + ". Survolez un point pour son titre, cliquez pour sa fiche.")
