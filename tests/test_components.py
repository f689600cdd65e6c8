"""Pure builders of the app: figures and layout from plain data (no Dash server)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from dash import dcc, html

from callbacks.urlstate import build_url_search, parse_url_search
from components import ids
from components.cloud import text_box, visualize_wordcloud
from components.dataset_list import dataset_list
from components.details import description_markdown, details_panel, safe_url
from components.figures import empty_figure
from components.labels import mode_options, plotly_text
from components.layout import build_layout
from components.map import (
    BASE_TRACE,
    FIRST_LEGEND_TRACE,
    HIGHLIGHT_TRACE,
    SELECTED_TRACE,
    highlight_trace,
    query_trace,
    row_from_point,
    selected_trace,
    visualize_map,
)
from tests.uihelpers import HOSTILE, arr


def walk(component):
    """Every Dash component in a tree (depth first)."""
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def texts(component) -> list[str]:
    out = []
    for c in walk(component):
        ch = getattr(c, "children", None)
        for x in ch if isinstance(ch, list | tuple) else [ch]:
            if isinstance(x, str):
                out.append(x)
    return out


# ---- map ---------------------------------------------------------------------------------
@pytest.fixture
def map_data():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(500, 2)).astype(np.float32)
    topics = rng.integers(0, 4, size=500).astype(np.int32)
    topics[7] = -1  # a row without topic
    labels = ["eau · rivière · qualité", "école · élèves · vacances", "budget · commune · compte",
              "<b>bruit</b> & co"]
    prevalence = [0.1, 0.4, 0.3, 0.2]
    return coords, topics, labels, prevalence


def test_map_one_point_per_dataset_and_row_mapping(map_data):
    coords, topics, labels, prevalence = map_data
    fig = visualize_map(coords, topics, labels, prevalence).to_dict()
    base = fig["data"][BASE_TRACE]
    assert base["type"] == "scattergl"
    x, y = arr(base["x"]), arr(base["y"])
    assert len(x) == len(y) == 500
    # point i of the base trace is row i: pointIndex is the row id, no per-point strings
    np.testing.assert_array_equal(x, coords[:, 0])
    np.testing.assert_array_equal(y, coords[:, 1])
    assert x.dtype == np.float32
    for key in ("text", "hovertext", "customdata"):
        assert key not in base
    assert base["hoverinfo"] == "none"
    codes = arr(base["marker"]["color"])
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes[topics >= 0], topics[topics >= 0])
    assert codes[7] == 4  # no topic -> the extra grey category
    assert row_from_point({"curveNumber": BASE_TRACE, "pointIndex": 123}, 500) == 123
    assert fig["layout"]["uirevision"]
    assert fig["layout"]["hoverdistance"] > 0 and fig["layout"]["spikedistance"] == 0


def test_map_legend_names_topics_by_prevalence(map_data):
    coords, topics, labels, prevalence = map_data
    fig = visualize_map(coords, topics, labels, prevalence).to_dict()
    legend = fig["data"][FIRST_LEGEND_TRACE:]
    assert [t["name"] for t in legend] == [plotly_text(labels[t]) for t in (1, 2, 3, 0)]
    assert legend[-2]["name"] == "&lt;b&gt;bruit&lt;/b&gt; &amp; co"  # markup shown as text
    assert all(t["showlegend"] and t["meta"]["topic"] in range(4) for t in legend)
    # each legend colour is the colour its topic's points get on the colour scale
    scale = fig["data"][BASE_TRACE]["marker"]["colorscale"]
    for t in legend:
        topic = t["meta"]["topic"]
        assert scale[2 * topic][1] == t["marker"]["color"]
    assert fig["data"][HIGHLIGHT_TRACE]["x"] == [] and fig["data"][SELECTED_TRACE]["x"] == []


def test_map_without_topics_and_empty_state():
    fig = visualize_map(np.zeros((3, 2)), None, []).to_dict()
    assert fig["data"][BASE_TRACE]["showlegend"] is True
    assert len(fig["data"]) == FIRST_LEGEND_TRACE
    empty = visualize_map(np.zeros((0, 2))).to_dict()
    assert empty["layout"]["meta"]["empty"] is True
    assert "Aucun jeu de données" in empty["layout"]["annotations"][0]["text"]


def test_map_payload_is_small_for_70k_points():
    rng = np.random.default_rng(1)
    n = 70_500
    fig = visualize_map(rng.normal(size=(n, 2)), rng.integers(0, 30, n), [f"thème {i}" for i in range(30)],
                        rng.random(30))
    size = len(fig.to_json())
    assert size < 1_500_000, size  # ~ (4 + 4 + 1) bytes a point, base64


def test_overlay_traces_are_what_plotly_validates():
    """The overlay traces are plain dicts built without plotly's validation: plotly accepts
    each of them and gives back the same dict (a misspelt property or a bad value fails)."""
    xy = np.array([[0.5, 1.5], [2.0, -1.0]])
    built = [highlight_trace(xy, [10, 3], [HOSTILE, "Vacances"], "Recherche : vacances"),
             highlight_trace(np.empty((0, 2))), selected_trace(np.array([1.0, 2.0]), 7, "x"),
             selected_trace(), query_trace((1.5, -2.0), "eau <b>potable</b>"), query_trace()]
    for tr in built:
        assert go.Scattergl(tr).to_plotly_json() == tr


def test_highlight_and_selected_traces_carry_rows():
    xy = np.array([[0.5, 1.5], [2.0, -1.0]])
    tr = highlight_trace(xy, [10, 3], [HOSTILE, "Vacances"], "Recherche : vacances")
    assert tr["x"] == [0.5, 2.0] and tr["customdata"] == [10, 3] and tr["text"] == ["1", "2"]
    assert "<script" not in json.dumps(tr) and "&lt;script&gt;" in tr["hovertext"][0]
    assert row_from_point({"curveNumber": HIGHLIGHT_TRACE, "pointIndex": 1, "customdata": 3}, 20) == 3
    sel = selected_trace(np.array([1.0, 2.0]), 7, "x")
    assert sel["customdata"] == [7] and sel["showlegend"] is True
    assert row_from_point({"curveNumber": SELECTED_TRACE, "customdata": [7]}, 20) == 7
    assert selected_trace()["x"] == []
    # anything else is no row
    for point in (None, {}, {"curveNumber": FIRST_LEGEND_TRACE, "pointIndex": 0},
                  {"curveNumber": 0, "pointIndex": 99}, {"curveNumber": 0, "pointIndex": True},
                  {"curveNumber": 0, "pointIndex": "3"}, {"curveNumber": 0, "pointIndex": -1}):
        assert row_from_point(point, 20) is None


# ---- word cloud ----------------------------------------------------------------------------
TERMS = [("scolaire", 0.02), ("vacances", 0.05), ("zones", 0.01), ("calendrier", 0.03),
         ("académie", 0.005), ("élèves", 0.012), ("rentrée", 0.008), ("<b>gras</b>", 0.004)]


def test_wordcloud_sizes_follow_weights_without_overlap():
    fig = visualize_wordcloud(TERMS, "Thème 2 : école").to_dict()
    tr = fig["data"][0]
    assert tr["mode"] == "text"
    weights = list(tr["customdata"])
    sizes = list(tr["textfont"]["size"])
    assert weights == sorted(weights, reverse=True)
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert tr["text"][0] == "vacances"  # heaviest first, at the centre
    assert abs(tr["x"][0]) < 1 and abs(tr["y"][0]) < 1
    assert sizes[1] / sizes[0] == pytest.approx(0.03 / 0.05, rel=1e-3)  # proportional to weight
    assert "&lt;b&gt;gras&lt;/b&gt;" in tr["text"]
    boxes = []
    for word, x, y, s in zip(tr["text"], tr["x"], tr["y"], sizes, strict=True):
        w, h = text_box(word, s)
        boxes.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    xr, yr = fig["layout"]["xaxis"]["range"], fig["layout"]["yaxis"]["range"]
    assert all(xr[0] <= b[0] and b[2] <= xr[1] and yr[0] <= b[1] and b[3] <= yr[1] for b in boxes)
    assert fig["layout"]["title"]["text"] == "Thème 2 : école"


def test_wordcloud_is_deterministic_and_has_an_empty_state():
    a = visualize_wordcloud(TERMS * 6, "t").to_json()
    assert a == visualize_wordcloud(TERMS * 6, "t").to_json()
    many = [(f"mot{i}", 1.0 / (i + 1)) for i in range(80)]
    fig = visualize_wordcloud(many, "beaucoup").to_dict()
    assert 10 <= len(fig["data"][0]["text"]) <= 40
    empty = visualize_wordcloud([], "Thème vide").to_dict()
    assert empty["layout"]["meta"]["empty"] is True and empty["data"] == []
    junk = visualize_wordcloud([("a", 0.0), ("", 1.0), ("b", float("nan"))], "x").to_dict()
    assert junk["layout"]["meta"]["empty"]


def test_empty_figure_shows_message():
    fig = empty_figure("Rien ici").to_dict()
    assert fig["layout"]["annotations"][0]["text"] == "Rien ici"
    assert fig["layout"]["xaxis"]["visible"] is False


# ---- details, lists, labels --------------------------------------------------------------------
def test_description_markdown_drops_html_images_and_unsafe_links():
    md, truncated = description_markdown(
        "Intro **gras**\n" + HOSTILE + "\n![pixel](https://tracker.example/p.gif)\n"
        "[ok](https://www.data.gouv.fr) [piège](javascript:alert(1)) <a href='x'>lien</a>\n"
        "[ref]: javascript:alert(2)\n<style>body{display:none}</style>fin")
    assert not truncated
    for bad in ("<script", "onerror", "<img", "javascript:", "<a ", "<style", "tracker.example"):
        assert bad not in md
    assert "**gras**" in md and "[ok](https://www.data.gouv.fr)" in md and "piège" in md
    assert "pixel" in md and md.endswith("fin")
    long_md, truncated = description_markdown("mot " * 500_000, max_chars=4000)  # ~2 MB
    assert truncated and len(long_md) <= 4000


def test_safe_url_keeps_only_http_links():
    assert safe_url("https://www.data.gouv.fr/datasets/x") == "https://www.data.gouv.fr/datasets/x"
    assert safe_url("http://example.org/a?b=1") == "http://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,<script>", "//evil.example", "ftp://x.org/a",
                "https://x.org/a b", 'https://x.org/"onmouseover=1', "", None, float("nan"), "https://"):
        assert safe_url(bad) is None, bad


def test_details_panel_renders_catalogue_text_as_text():
    record = {"title": HOSTILE, "organization": "<b>Org</b>", "description": HOSTILE + " suite " * 2000,
              "url": "javascript:alert(1)", "tags": np.array(["a<script>", "b"]),
              "created_at": "2019-04-06T10:46:00", "last_modified": "2024-12-13T04:02:49.520000"}
    similar = [{"row": 5, "title": HOSTILE, "organization": None, "score": 0.91}]
    panel = details_panel(record, similar, topic_label="eau · rivière")
    comps = list(walk(panel))
    assert not any(isinstance(c, html.A) for c in comps)  # no link for a javascript: url
    assert not any(type(c).__name__ in ("Script", "Iframe", "Img", "ObjectEl", "Embed") for c in comps)
    md = [c for c in comps if isinstance(c, dcc.Markdown)]
    assert len(md) == 1 and md[0].dangerously_allow_html is False
    assert "<script" not in md[0].children and "onerror" not in md[0].children
    strings = texts(panel)
    assert HOSTILE in strings  # the title, as a text node that React escapes
    assert "(tronqué)" in strings and "Créé le 06/04/2019" in strings and "Modifié le 13/12/2024" in strings
    assert "Jeux de données similaires" in strings and "Thème\u202f: eau · rivière" in strings
    items = [c for c in comps if getattr(c, "id", None) == {"type": ids.SIMILAR_ITEM, "row": 5}]
    assert len(items) == 1
    ok = details_panel({"title": "t", "url": "https://www.data.gouv.fr/datasets/t"}, [])
    links = [c for c in walk(ok) if isinstance(c, html.A)]
    assert links[0].href == "https://www.data.gouv.fr/datasets/t" and links[0].rel == "noopener noreferrer"


def test_dataset_list_ids_and_empty_message():
    items = [{"row": 4, "title": "A", "organization": "P", "score": 0.5},
             {"row": 9, "title": None, "organization": None, "score": float("nan")}]
    lst = dataset_list(items)
    ids_ = [c.id for c in walk(lst) if isinstance(getattr(c, "id", None), dict)]
    assert ids_ == [{"type": ids.RESULT_ITEM, "row": 4}, {"type": ids.RESULT_ITEM, "row": 9}]
    assert "(sans titre)" in texts(lst) and " · score 0,500" in texts(lst)
    assert texts(dataset_list([], empty_message="Rien.")) == ["Rien."]


def test_labels():
    assert mode_options(["semantic", "keyword", "hybrid", "word", "other"]) == [
        {"label": "Sémantique", "value": "semantic"}, {"label": "Mots-clés", "value": "keyword"},
        {"label": "Hybride", "value": "hybrid"}, {"label": "Mots (word2vec)", "value": "word"},
        {"label": "other", "value": "other"}]


# ---- layout ---------------------------------------------------------------------------------------
def test_build_layout_holds_pages_and_shared_stores():
    layout = build_layout([("carte", "Carte", html.Div("A")), ("themes", "Thèmes", html.Div("B"))])
    comps = {getattr(c, "id", None): c for c in walk(layout)}
    for shared in (ids.URL, ids.MAP_HIGHLIGHT, ids.SELECTED, ids.TABS):
        assert shared in comps
    tabs = comps[ids.TABS]
    assert tabs.active_tab == "carte"
    assert [(t.tab_id, t.label) for t in tabs.children] == [("carte", "Carte"), ("themes", "Thèmes")]
    assert comps[ids.MAP_HIGHLIGHT].data == {"label": "", "rows": []}
    with pytest.raises(ValueError):
        build_layout([])
    with pytest.raises(ValueError):
        build_layout([("a", "A", html.Div()), ("a", "B", html.Div())])


# ---- URL state -------------------------------------------------------------------------------------
def test_url_state_round_trip_and_validation():
    known = {"5a1b2c"}

    def parse(search):
        st = parse_url_search(search, modes=("semantic", "hybrid"), default_mode="hybrid",
                              max_query_chars=500, is_known_id=known.__contains__)
        return {k: st[k] for k in ("q", "mode", "id")}

    s = build_url_search("vacances scolaires & été", "semantic", "5a1b2c")
    assert parse(s) == {"q": "vacances scolaires & été", "mode": "semantic", "id": "5a1b2c"}
    assert build_url_search("", "hybrid", None) == ""
    assert parse("") == {"q": "", "mode": "hybrid", "id": None}
    assert parse("?q=a&mode=evil&id=unknown") == {"q": "a", "mode": "hybrid", "id": None}
    assert parse("?q=" + "x" * 10_000)["q"] == "x" * 500
    assert parse("?q=%00%01vacances%0A%1b%5B31m&id=" + "5a1b2c" * 30) == {
        "q": "vacances [31m", "mode": "hybrid", "id": None}
    assert parse("?q=%3Cscript%3E")["q"] == "<script>"  # kept as text: shown escaped
    assert parse("?" + "&".join(f"k{i}=1" for i in range(100)))["q"] == ""  # too many fields


def test_url_state_filters_sort_and_removed_chips():
    def parse(search):
        return parse_url_search(search, modes=("semantic", "hybrid"), default_mode="hybrid",
                                max_query_chars=500, is_known_id=lambda _: False)

    s = build_url_search("piscines Toulouse", "hybrid", None,
                         filters={"territory": "departement:31", "year": "2018-2022", "format": "csv|shp"},
                         sort="recent", ignore=["period:2020-2020"])
    st = parse(s)
    assert st["filters"] == {"territory": "departement:31", "year": "2018-2022", "format": "csv|shp"}
    assert st["sort"] == "recent" and st["ignore"] == ["period:2020-2020"]
    # without a query, filters alone are a view (browse the catalogue)
    browse = build_url_search("", "hybrid", None, filters={"format": "csv"})
    assert parse(browse)["filters"] == {"format": "csv"}
    bad = parse("?q=a&sort=evil&colour=red&producer=%3Cb%3E&year=" + "9" * 5000)
    assert bad["sort"] == "relevance" and "colour" not in bad["filters"]
    assert bad["filters"]["producer"] == "<b>" and len(bad["filters"]["year"]) <= 600
