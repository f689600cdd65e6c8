"""The "Territoires" page: what concerns my commune (pure builders, no I/O).

Builders take plain data prepared by ``callbacks/territories.py`` from
``models.serve.territories.TerritoryService`` and return a Dash component or a ``go.Figure``;
figures have an explicit empty state.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import dcc, html

from components import labels as texts
from components.data_grid import LINK_COL, TITLE_COLUMN, dataset_grid, link_markdown, title_text
from components.figures import FONT, empty_figure
from components.labels import clean_text, plotly_text, typo
from models.core import french

# ---- ids of this page (prefixed, so they cannot collide with the other pages) ---------------
SEARCH = "territories-search"
OPTIONS = "territories-options"
LEVEL = "territories-level"
CHOROPLETH = "territories-choropleth"
OFF_MAP = "territories-off-map"
SUMMARY = "territories-summary"
DATASETS = "territories-datasets"
SHOW_ON_MAP = "territories-show-on-map"
# the datasets that name the territory: one grid (components/data_grid.py); a click opens one
DATASET_GRID = "territories-datasets-grid"
TOP = "territories-most-named"
TOP_ITEM = "territories-top-item"  # pattern-matching {"type": ..., "value": "region:53"}

ENCLOSING = "enclosing"
CONTAINED = "contained"
TITLE = texts.TERRITORIES_TITLE
CHOOSE = texts.TERRITORIES_CHOOSE
UNAVAILABLE = texts.TERRITORIES_UNAVAILABLE
LEVEL_NAMES = {"commune": "commune", "epci": "intercommunalité", "departement": "département",
               "region": "région", "pays": "pays"}
SOURCE_NAMES = {"title": "titre", "description": "description", "tags": "mots-clés",
                "organization": "producteur"}
GRAPH_CONFIG = {"displaylogo": False, "locale": "fr", "scrollZoom": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
COLOURSCALE = [[0.0, "#f5f5fe"], [0.35, "#9a9aff"], [0.7, "#4747d1"], [1.0, "#000091"]]
N_OPTIONS = 20  # territories offered by the dropdown as the name is typed
N_LISTED = 200  # datasets listed for a territory
N_TOP = 12  # « les plus cités »
MAP_LEVELS = ("departement", "region")


def empty_state(message: str = CHOOSE) -> html.Div:
    return html.Div(message, className="text-muted small")


# ---- the choropleth -------------------------------------------------------------------------
def visualize_choropleth(geojson: dict | None, codes: Sequence[str], names: Sequence[str],
                         counts: Sequence[int], direct: Sequence[int] | None = None, *,
                         level: str = "departement", values: Sequence[str] | None = None,
                         selected: Sequence[str] = (), height: int = 520) -> go.Figure:
    """Datasets per département or région. ``codes`` are the outlines' feature codes,
    ``values`` the territory values sent back on click (``departement:29``), ``selected`` the
    feature codes drawn with a thick outline."""
    unit = french.LEVEL_PLURALS["departement" if level == "departement" else "region"]
    if not geojson or not geojson.get("features"):
        return empty_figure(texts.NO_OUTLINES.format(unit=unit), height=height)
    if not len(codes) or not any(int(c) > 0 for c in counts):
        return empty_figure(f"Aucun jeu de données rattaché à un de ces {unit}.", height=height)
    direct = list(direct) if direct is not None else [0] * len(codes)
    hover = [f"<b>{plotly_text(n, 80)}</b> ({plotly_text(c, 5)})<br>{french.datasets(k)}"
             f"<br>{french.integer(d)} {french.plural(d, 'le nomme', 'le nomment')} directement"
             for c, n, k, d in zip(codes, names, counts, direct, strict=True)]
    fig = go.Figure(go.Choropleth(
        geojson=geojson, featureidkey="properties.code", locations=list(codes), z=list(counts),
        colorscale=COLOURSCALE, marker={"line": {"color": "white", "width": 0.6}},
        text=hover, hovertemplate="%{text}<extra></extra>",
        customdata=list(values) if values is not None else list(codes),
        colorbar={"title": {"text": "jeux"}, "thickness": 12, "len": 0.6},
    ))
    sel = [c for c in selected if c in set(codes)]
    if sel:
        fig.add_trace(go.Choropleth(
            geojson=geojson, featureidkey="properties.code", locations=sel, z=[1] * len(sel),
            colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], showscale=False,
            marker={"line": {"color": "#e1000f", "width": 2.5}}, hoverinfo="skip", name="sélection"))
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, font={"family": FONT},
                      paper_bgcolor="white", dragmode=False, meta={"empty": False, "level": level})
    return fig


def off_map_table(items: list[dict], level: str = "departement") -> html.Div:
    """Territories without an outline (overseas): ``items`` code, name, n."""
    shown = [d for d in items if int(d.get("n", 0)) > 0]
    if not shown:
        return html.Div()
    unit = "Départements" if level == "departement" else "Régions"
    chips = [dbc.Badge(f"{clean_text(d['name'], 60)} · {french.integer(d['n'])}", color="light",
                       text_color="dark", className="me-1 mb-1 border") for d in shown]
    return html.Div([html.Span(typo(f"{unit} hors carte (outre-mer) : "), className="small text-muted me-1"),
                     *chips])


# ---- the datasets ---------------------------------------------------------------------------
def summary(entity: dict | None, total: int, *, enclosing: bool, contained: bool,
            around: Sequence[str] = ()) -> html.Div:
    """One line on what is listed."""
    if entity is None:
        return html.Div()
    level = LEVEL_NAMES.get(entity.get("level"), entity.get("level", ""))
    text = [html.Strong(clean_text(entity.get("name"), 120)), typo(f" ({level}) : "),
            html.Strong(french.integer(total)), f" jeu{'x' if total > 1 else ''} de données"]
    extra = []
    if enclosing:
        extra.append("niveaux englobants inclus" + (f" ({', '.join(around)})" if around else ""))
    if contained:
        extra.append("territoires contenus inclus")
    if extra:
        text.append(" — " + typo(" ; ".join(extra)))
    return html.Div(text, className="mb-2")


def datasets_table(items: list[dict], total: int, *, name: str = "") -> html.Div:
    """``items``: row, title, url, organization, via, level, confidence, source, own — one grid
    (:mod:`components.data_grid`), 20 a page; a click on a title opens its card on the map."""
    if not items:
        return empty_state("Aucun jeu de données ne nomme ce territoire." if name else CHOOSE)
    rows = []
    for d in items:
        via = clean_text(d.get("via"), 60)
        if not d.get("own", True):
            level = LEVEL_NAMES.get(d.get("level"), "")
            via = f"{via} ({level})" if level else via
        source = SOURCE_NAMES.get(d.get("source"), d.get("source"))
        found = f"{source} · {french.percent(d.get('confidence'))}"
        rows.append({"key": str(int(d["row"])), "title": title_text(d.get("title")),
                     "link": link_markdown(d.get("url")),
                     "producer": clean_text(d.get("organization"), 60),
                     "via": f"{via} — {found}"})
    # the card is half the page wide: four columns, the territory and where it was found together
    columns = [{**TITLE_COLUMN, "headerName": "Jeu de données (ouvrir sa fiche)", "minWidth": 200},
               {**LINK_COL, "width": 48},
               {"field": "producer", "headerName": "Producteur", "width": 140, "wrapText": True,
                "autoHeight": True},
               {"field": "via", "headerName": "Territoire nommé — trouvé dans", "width": 170,
                "wrapText": True, "autoHeight": True}]
    note = (f"Les {len(items)} premiers sur {french.integer(total)}." if total > len(items)
            else f"{french.integer(total)} jeu{'x' if total > 1 else ''} de données.")
    return html.Div([html.Div(note, className="small text-muted mb-1"),
                     dataset_grid(DATASET_GRID, columns, rows, class_name="territories-list")])


def evaluation_note(report: dict | None) -> html.Div:
    """How far the extraction agrees with the zones producers declare (the build's report)."""
    if not report or not report.get("departement"):
        return html.Div()
    d, e = report["departement"], report.get("entity", {})
    cov = report.get("coverage", {})
    return html.Div(typo(
        f"Territoires trouvés dans les titres, descriptions, mots-clés et noms des producteurs. "
        f"Accord avec les zones déclarées ({french.integer(d.get('n'))} jeux) : précision "
        f"{french.percent(d.get('precision'))}, rappel {french.percent(d.get('recall'))} au niveau "
        f"département ; {french.percent(e.get('precision'))} / {french.percent(e.get('recall'))} "
        "au territoire "
        f"exact. Jeux avec un territoire : {french.percent(cov.get('declared'))} déclarés, "
        f"{french.percent(cov.get('extracted'))} après extraction."),
        className="small text-muted")


# ---- layout ---------------------------------------------------------------------------------
def most_named_list(items: list[dict]) -> html.Div:
    """``items``: value, label, n (``TerritoryService.most_named``); each button opens its territory."""
    if not items:
        return empty_state("Aucun territoire n'est nommé par les jeux de données.")
    return html.Div([html.Span(typo(f"{texts.TERRITORIES_TOP} : "), className="small text-muted me-1"),
                     *[dbc.Button([clean_text(d.get("label"), 120),
                                   html.Span(f" · {french.integer(d.get('n'))}", className="text-muted")],
                                  id={"type": TOP_ITEM, "value": str(d["value"])}, n_clicks=0,
                                  color="light", size="sm", className="me-1 mb-1 border",
                                  title=f"{french.datasets(d.get('n'))} "
                                        f"{french.plural(d.get('n'), 'le nomme', 'le nomment')}")
                       for d in items]])


def build_territories_page(*, available: bool = True, evaluation: dict | None = None,
                           options: list[dict] | None = None,
                           map_figure: go.Figure | None = None, value: str | None = None,
                           summary=None, datasets=None, can_show: bool = False,
                           top: list[dict] | None = None) -> html.Div:
    """The page skeleton; without territories in the build, only an explanation. ``value``,
    ``summary``, ``datasets``, ``can_show``: the territory shown on first open (France) and its
    rendered list; ``top``: the most named territories (:func:`most_named_list`)."""
    if not available:
        return html.Div(dbc.Alert(UNAVAILABLE, color="warning", className="mb-0"),
                        id="territories-unavailable")

    def card(title, body, help_text=None):
        head = [html.Span(title, className="fw-semibold")]
        if help_text:
            head.append(html.Div(help_text, className="small text-muted"))
        return dbc.Card([dbc.CardHeader(head), dbc.CardBody(body)], className="shadow-sm mb-3")

    picker = dbc.Card(dbc.CardBody([
        html.H2(TITLE, className="h5"),
        dcc.Dropdown(id=SEARCH, options=options or [], value=value, searchable=True, clearable=True,
                     placeholder=typo("Tapez le nom d'une commune, d'une intercommunalité, d'un "
                                      "département ou d'une région, par exemple « Brest »"),
                     optionHeight=40, maxHeight=420, search_order="original",
                     labels=texts.dropdown_labels("Nom du territoire", "Aucun territoire trouvé")),
        dbc.Checklist(id=OPTIONS, inline=True, switch=True, value=[], className="mt-2 small",
                      options=[{"label": "inclure les niveaux englobants", "value": ENCLOSING},
                               {"label": "inclure les territoires contenus", "value": CONTAINED}]),
        html.Div(most_named_list(top or []), id=TOP, className="mt-2"),
        html.Div(evaluation_note(evaluation), className="mt-2"),
    ]), className="shadow-sm mb-3")

    return html.Div([
        picker,
        dbc.Row([
            dbc.Col(card("Jeux de données du territoire", [
                html.Div(summary, id=SUMMARY),
                dbc.Button(texts.SHOW_ON_MAP, id=SHOW_ON_MAP, color="primary", size="sm", outline=True,
                           n_clicks=0, disabled=not can_show, className="mb-2"),
                dcc.Loading(html.Div(datasets if datasets is not None else empty_state(CHOOSE), id=DATASETS,
                                     className="territories-table"),
                            type="dot", delay_show=300),
            ], help_text="Ils sont aussi surlignés sur la carte du catalogue."), lg=6),
            dbc.Col(card("Jeux de données par territoire", [
                dbc.RadioItems(id=LEVEL, inline=True, value="departement", className="small mb-1",
                               options=[{"label": "Départements", "value": "departement"},
                                        {"label": "Régions", "value": "region"}]),
                dcc.Loading(dcc.Graph(id=CHOROPLETH, config=GRAPH_CONFIG,
                                      figure=map_figure or empty_figure(texts.LOADING, height=520)),
                            type="dot", delay_show=300),
                html.Div(id=OFF_MAP, className="mt-1"),
            ], help_text=texts.TERRITORIES_MAP_HELP), lg=6),
        ]),
    ])


def selected_codes(entity: dict | None, level: str, codes: Sequence[str],
                   entities: Sequence[str]) -> list[str]:
    """The outlines drawn thick for the chosen territory ``entity``: itself at its own level,
    else its départements, or its région (``codes``/``entities``: the map's outlines and the
    territories they are).

    >>> selected_codes({"level": "commune", "code": "31555", "departements": ["31"], "region": "76"},
    ...                "departement", ["31", "32"], ["31", "32"])
    ['31']
    """
    if entity is None or not len(codes):
        return []
    wanted = set(entity["departements"]) if level == "departement" else {entity["region"] or ""}
    if entity["level"] == level:
        wanted = {entity["code"]}
    return [c for c, ent in zip(codes, entities, strict=True) if ent in wanted]


def choropleth(geojson: dict | None, areas: dict, *, level: str, entity: dict | None) -> go.Figure:
    """The datasets per outline at ``level`` (``areas``: lists ``code``, ``name``, ``n``,
    ``n_direct``, ``entity``), the chosen territory ``entity`` outlined."""
    if not areas["code"]:
        return visualize_choropleth(geojson, [], [], [], level=level)
    return visualize_choropleth(geojson, areas["code"], areas["name"], areas["n"], areas["n_direct"],
                                level=level, values=[f"{level}:{c}" for c in areas["entity"]],
                                selected=selected_codes(entity, level, areas["code"], areas["entity"]))
