"""« Où sont ces données ? »: where the datasets answering the current search are (pure builders,
no I/O). Plain data comes from :func:`models.serve.coverage.coverage` through
``callbacks/coverage.py``; every French text of the view is here."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import ids
from components.figures import FONT, empty_figure
from components.labels import clean_text, dropdown_labels, plotly_text
from models.core import french

OPEN_LABEL = "Où sont ces données\u202f?"
TITLE = "Où sont ces données\u202f?"
PER_100K_LABEL = "Pour 100\u202f000 habitants"
LEVEL_OPTIONS = [{"label": "Départements", "value": "departement"}, {"label": "Régions", "value": "region"}]
OVERSEAS = {"971": "Guadeloupe", "972": "Martinique", "973": "Guyane", "974": "La Réunion", "976": "Mayotte"}
CSV_LABEL = "Télécharger (CSV)"
CSV_FILENAME = "couverture-departements.csv"
NO_QUESTION = "Posez d'abord une question\u202f: la carte montre où sont les jeux qui y répondent."
NO_SELECTION = "Sélectionnez d'abord des jeux sur la carte (lasso ou rectangle)."
NO_SEARCH = ("Lancez d'abord une recherche ou choisissez des filtres\u202f: la carte montre où sont "
             "leurs réponses.")
COLOURSCALE = [[0.0, "#f5f5fe"], [0.35, "#9a9aff"], [0.7, "#4747d1"], [1.0, "#000091"]]
GRAPH_CONFIG = {"displaylogo": False, "locale": "fr", "scrollZoom": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


FIGURE_HEIGHT = 460
COMMUNE_THRESHOLD = 50_000  # the communes drawn as points: this many inhabitants or more
POINT_COLOUR = "#e1000f"
NO_DATA_COLOUR = "#6a6a6a"


def communes_label(threshold: int) -> str:
    return f"Villes de {french.number(threshold)} habitants ou plus"


def communes_none_label(threshold: int) -> str:
    return f"{communes_label(threshold)} sans jeu"


def commune_traces(communes: list[dict] | None, *, per_100k: bool = False,
                   threshold: int = COMMUNE_THRESHOLD) -> list[go.Scattergeo]:
    """The big communes as points over the choropleth: those with answers sized by their count
    (or count per 100,000 inhabitants), those with none as grey rings; names on hover. Communes
    with no centroid or overseas (off the metropolitan map) are left out of the drawing (the CSV
    lists them)."""
    pts = [c for c in communes or [] if c.get("lat") is not None and c.get("lon") is not None
           and not str(c.get("departement", "")).startswith("97")]
    if not pts:
        return []
    unit = f"jeux {french.PER_100K}" if per_100k else "jeux"

    def value(c):
        return float(c.get("per_100k") or 0) if per_100k else float(c.get("n") or 0)

    def hover(c):
        where = plotly_text(c.get("departement", ""), 3)
        return (f"<b>{plotly_text(c.get('name', ''), 60)}</b> ({where})<br>"
                f"{french.number(c.get('population', 0))} habitants<br>"
                f"{french.number(value(c), 2 if per_100k else 0)} {unit}")

    some = [c for c in pts if c.get("n")]
    none = [c for c in pts if not c.get("n")]
    top = max((value(c) for c in some), default=0.0) or 1.0
    traces = []
    if some:
        traces.append(go.Scattergeo(
            lat=[c["lat"] for c in some], lon=[c["lon"] for c in some], mode="markers",
            name=communes_label(threshold), text=[hover(c) for c in some],
            customdata=[c["code"] for c in some],
            hovertemplate="%{text}<extra></extra>",
            marker={"size": [7 + 23 * (value(c) / top) ** 0.5 for c in some], "color": POINT_COLOUR,
                    "opacity": 0.85, "line": {"color": "white", "width": 1}}))
    if none:
        traces.append(go.Scattergeo(
            lat=[c["lat"] for c in none], lon=[c["lon"] for c in none], mode="markers",
            name=communes_none_label(threshold), text=[hover(c) for c in none],
            customdata=[c["code"] for c in none], hovertemplate="%{text}<extra></extra>",
            marker={"size": 8, "symbol": "circle-open", "color": NO_DATA_COLOUR, "line": {"width": 2}}))
    return traces


def communes_summary(out: dict) -> str:
    """« Villes de 50 000 habitants ou plus : 30 sur 134 ont au moins un jeu ; sans jeu : … »."""
    communes = out.get("communes") or []
    if not communes:
        return ""
    none = [clean_text(c.get("name"), 60) for c in communes if not c.get("n")]
    k = len(communes) - len(none)
    threshold = out.get("commune_threshold") or COMMUNE_THRESHOLD
    text = (f"{communes_label(threshold)}\u202f: {french.number(k)} sur "
            f"{french.number(len(communes))} {'ont' if k > 1 else 'a'} au moins un jeu")
    if none:
        shown = ", ".join(none[:12]) + (f" et {len(none) - 12} autres" if len(none) > 12 else "")
        text += f"\u202f; sans jeu\u202f: {shown}"
    return text + "."


def figure(geojson: dict | None, counts: dict[str, float], names: dict[str, str], *,
           per_100k: bool = False, level: str = "departement", height: int = FIGURE_HEIGHT,
           communes: list[dict] | None = None, threshold: int = COMMUNE_THRESHOLD) -> go.Figure:
    """Choropleth of the départements (or régions): ``counts`` by code (answers, or answers per
    100,000 inhabitants), every territory of the outlines drawn (0 where none); ``communes``: the
    big communes of the answer (:func:`commune_traces`) as points on top."""
    unit_name = french.LEVEL_PLURALS["region" if level == "region" else "departement"]
    if not geojson or not geojson.get("features"):
        return empty_figure(f"Contours des {unit_name} indisponibles.", height=height)
    codes = [str(f.get("properties", {}).get("code", "")) for f in geojson["features"]]
    codes = [c for c in codes if c]
    z = [float(counts.get(c, 0)) for c in codes]
    if not any(z):
        return empty_figure(f"Aucun jeu de cette recherche n'est rattaché à un de ces {unit_name}.",
                            height=height)
    unit = f"jeux {french.PER_100K}" if per_100k else "jeux"
    hover = [f"<b>{plotly_text(names.get(c, c), 60)}</b> ({plotly_text(c, 5)})<br>"
             f"{french.number(v, 2 if per_100k else 0)} {unit}" for c, v in zip(codes, z, strict=True)]
    fig = go.Figure(go.Choropleth(
        geojson=geojson, featureidkey="properties.code", locations=codes, z=z,
        colorscale=COLOURSCALE, marker={"line": {"color": "white", "width": 0.6}},
        text=hover, hovertemplate="%{text}<extra></extra>",
        colorbar={"title": {"text": "pour 100\u202f000 hab." if per_100k else "jeux"}, "thickness": 12,
                  "len": 0.6}))
    for trace in commune_traces(communes, per_100k=per_100k, threshold=threshold):
        fig.add_trace(trace)
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      font={"family": FONT, "size": 15},
                      paper_bgcolor="white", dragmode=False, meta={"empty": False},
                      showlegend=len(fig.data) > 1,
                      legend={"x": 0.01, "y": 0.01, "xanchor": "left", "yanchor": "bottom",
                              "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 13}})
    return fig


def level_of(level) -> str:
    """The level a map shows: « region », else « departement »."""
    return "region" if level == "region" else "departement"


def coverage_figure(out: dict, outlines: dict | None, level: str, per_100k: bool) -> go.Figure:
    """The map of a coverage answer (``models.serve.coverage.coverage``) at ``level``
    (:func:`level_of`), counts or counts per 100,000 inhabitants."""
    key = "regions" if level == "region" else "departements"
    counts = out["per_100k"][key] if per_100k else out[key]
    if level == "region":
        names = {k.split(":", 1)[1]: v for k, v in out["names"].items() if k.startswith("region:")}
    else:
        names = {k: v for k, v in out["names"].items() if not k.startswith("region:")}
    return figure(outlines, counts, names, per_100k=per_100k, level=level, communes=out.get("communes"),
                  threshold=out.get("commune_threshold", COMMUNE_THRESHOLD))


def empty_view(message: str) -> tuple:
    """(summary, figure) when there is nothing to count, saying why."""
    return summary(None, message), empty_figure(message, height=FIGURE_HEIGHT)


def summary(out: dict | None, empty: str = NO_SEARCH) -> html.Div:
    """What the map counts and how (the answer-set rule stated), national datasets apart, the
    départements with none; ``empty``: what to say when there is nothing to count."""
    if not out:
        return html.Div(empty, className="text-muted")
    q = clean_text(out.get("query"), 80)
    what = f"«\u202f{q}\u202f»" if q else "les filtres choisis"
    n = out.get("n_answers", 0)
    if out.get("label"):
        head = f" {clean_text(out['label'], 160)}."
    elif out.get("selection"):
        head = f" choisi{'s' if n > 1 else ''} sur la carte."
    else:
        head = f" répondent à {what}."
    lines = [
        html.P([html.Strong(french.count(n, "jeu", "jeux")), head], className="mb-1"),
        html.P(f"Règle\u202f: {clean_text(out.get('rule'), 300)}.", className="small text-muted mb-1"),
        html.P("Jeux nationaux (France entière), comptés à part\u202f: "
               f"{french.number(out.get('national', 0))}.", className="mb-1"),
        html.P(clean_text(out.get("gap_message"), 2000), className="small mb-1 coverage-gaps"),
    ]
    if out.get("communes"):
        lines.append(html.P(communes_summary(out), className="small mb-1 coverage-communes"))
    deps = out.get("departements") or {}
    overseas = ", ".join(f"{name} {french.number(deps.get(code, 0))}" for code, name in OVERSEAS.items())
    lines.append(html.P(f"Outre-mer (hors carte)\u202f: {overseas}.", className="small text-muted mb-1"))
    for m in (out.get("messages") or [])[:3]:
        lines.append(dbc.Alert(clean_text(m, 200), color="warning", className="small py-1 mb-1"))
    return html.Div(lines)


def topic_rule(k: int) -> str:
    return f"les jeux dont c'est le thème dominant (LDA, K = {int(k)})"


def topic_label(topic: int, name: str) -> str:
    """What the datasets of ``topic`` (numbered from 0) have in common, in the summary."""
    return f"ont pour thème dominant «\u202f{clean_text(f'{int(topic) + 1}. {name}', 80)}\u202f»"


def open_topic_button() -> dbc.Button:
    """On the « Thèmes » page: where the datasets of the chosen topic are."""
    return dbc.Button(OPEN_LABEL, id=ids.COVERAGE_OPEN_TOPIC, color="link", size="sm", n_clicks=0,
                      className="p-0 coverage-open-topic")


CLUSTER_LABEL = "Groupe (HDBSCAN)"
CLUSTER_PLACEHOLDER = "Choisir un groupe"


def cluster_rule() -> str:
    return ("les jeux du groupe (regroupement HDBSCAN des plongements, celui des couleurs "
            "«\u202fGroupes\u202f» de la carte)")


def cluster_label(cluster: int, name: str) -> str:
    return f"forment le groupe «\u202f{int(cluster)} · {clean_text(name, 80)}\u202f»"


def cluster_options(clusters: list[dict]) -> list[dict]:
    """Dropdown options of the embedding clusters (``{"cluster", "label", "size"}``)."""
    def size(n):
        return french.count(n, "jeu", "jeux")

    return [{"label": f"{int(c['cluster'])} · {clean_text(c.get('label'), 60)} "
                      f"({size(int(c.get('size', 0)))})",
             "value": int(c["cluster"])} for c in clusters]


def _cluster_chooser(dropdown_id: str, button_id: str, clusters: list[dict], **kw) -> html.Div:
    return html.Div([
        html.Label(CLUSTER_LABEL, htmlFor=dropdown_id, className="small text-muted me-2 mb-0"),
        html.Div(dcc.Dropdown(id=dropdown_id, options=cluster_options(clusters),
                              value=int(clusters[0]["cluster"]) if clusters else None, clearable=False,
                              placeholder=CLUSTER_PLACEHOLDER,
                              labels=dropdown_labels("Mot du groupe", "Aucun groupe trouvé")),
                 style={"minWidth": "22rem"}, className="me-2 small"),
        dbc.Button(OPEN_LABEL, id=button_id, color="link", size="sm", n_clicks=0, className="p-0"),
    ], className="d-flex align-items-center flex-wrap px-2 pb-2", **kw)


def open_cluster_block(clusters: list[dict]) -> html.Div:
    """On the « Thèmes » page, by the topics × groups heatmap: choose an embedding cluster (or
    click its row) and see where its datasets are."""
    return _cluster_chooser(ids.COVERAGE_CLUSTER, ids.COVERAGE_OPEN_CLUSTER, clusters)


def cluster_row_style(shown: bool) -> dict:
    return {} if shown else {"display": "none"}


def map_cluster_block(clusters: list[dict]) -> html.Div:
    """Under the map's colour choice, shown while the map is coloured by « Groupes »: the same
    chooser for the clusters of the legend."""
    return _cluster_chooser(ids.COVERAGE_MAP_CLUSTER, ids.COVERAGE_OPEN_MAP_CLUSTER, clusters,
                            id=ids.COVERAGE_MAP_CLUSTER_ROW, style=cluster_row_style(False))


def open_ask_button() -> html.Div:
    """On the « Demander » page: where the datasets answering the last question are."""
    return html.Div(dbc.Button(OPEN_LABEL, id=ids.COVERAGE_OPEN_ASK, color="link", size="sm", n_clicks=0,
                               className="p-0 coverage-open-ask"), className="mt-1")


def open_button() -> dbc.Button:
    return dbc.Button(OPEN_LABEL, id=ids.COVERAGE_OPEN, color="link", size="sm", n_clicks=0,
                      className="px-3 py-0 small coverage-open")


def modal() -> html.Div:
    """The view (a large modal) and its stores; filled by ``callbacks/coverage.py``."""
    return html.Div([
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(TITLE)),
            dbc.ModalBody([
                html.Div(summary(None), id=ids.COVERAGE_SUMMARY),
                html.Div([
                    dbc.RadioItems(id=ids.COVERAGE_LEVEL, options=LEVEL_OPTIONS, value="departement",
                                   inline=True, className="me-4"),
                    dbc.Switch(id=ids.COVERAGE_PER_100K, label=PER_100K_LABEL, value=False),
                ], className="d-flex align-items-center my-1"),
                dcc.Loading(dcc.Graph(id=ids.COVERAGE_FIGURE,
                                      figure=empty_figure(NO_SEARCH, height=FIGURE_HEIGHT),
                                      config=GRAPH_CONFIG), type="dot", delay_show=300),
                dbc.Button(CSV_LABEL, id=ids.COVERAGE_CSV, color="secondary", size="sm", n_clicks=0,
                           className="mt-2"),
            ]),
        ], id=ids.COVERAGE_MODAL, is_open=False, size="xl", scrollable=True),
        dcc.Store(id=ids.COVERAGE_DATA),
        dcc.Store(id=ids.COVERAGE_SOURCE, data="search"),
        dcc.Download(id=ids.COVERAGE_DOWNLOAD),
    ])
