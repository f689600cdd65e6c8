"""« Où sont ces données ? »: the builders (components/coverage_view.py), the wiring
(callbacks/coverage.py) and, in a real browser, the view opened from the results header."""

from __future__ import annotations

import plotly.graph_objects as go

from components import coverage_view as cv
from components import ids
from models.serve.coverage import coverage, coverage_csv
from tests.browser_helpers import TIMEOUT, browser_test, free_port
from tests.test_ui_text import typography_errors

GEO = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"code": "31"},
     "geometry": {"type": "Polygon", "coordinates": [[[1, 43], [2, 43], [2, 44], [1, 43]]]}},
    {"type": "Feature", "properties": {"code": "29"},
     "geometry": {"type": "Polygon", "coordinates": [[[-4, 48], [-3, 48], [-3, 49], [-4, 48]]]}}]}


def texts(c) -> str:
    """Every string of a component tree, joined."""
    if isinstance(c, str):
        return c
    if isinstance(c, (list, tuple)):
        return " ".join(texts(x) for x in c)
    ch = getattr(c, "children", None)
    return texts(ch) if ch is not None else ""


def test_figure_draws_every_departement_and_has_empty_states():
    fig = cv.figure(GEO, {"31": 4}, {"31": "Haute-Garonne", "29": "Finistère"})
    assert isinstance(fig, go.Figure) and fig.data[0].type == "choropleth"
    assert list(fig.data[0].locations) == ["31", "29"] and list(fig.data[0].z) == [4.0, 0.0]
    assert "Haute-Garonne" in fig.data[0].text[0] and "4 jeux" in fig.data[0].text[0]
    per = cv.figure(GEO, {"31": 0.25}, {}, per_100k=True)
    assert "0,25 jeux pour 100\u202f000 habitants" in per.data[0].text[0]
    assert cv.figure(None, {"31": 1}, {}).layout.meta["empty"] is True
    assert cv.figure(GEO, {}, {}).layout.meta["empty"] is True
    reg = cv.figure(GEO, {"31": 2}, {"31": "Occitanie"}, level="region")
    assert "Occitanie" in reg.data[0].text[0]


COMMUNES = [
    {"code": "31555", "name": "Toulouse", "departement": "31", "population": 504078, "n": 9,
     "lat": 43.6, "lon": 1.43, "per_100k": 1.786},
    {"code": "29019", "name": "Brest", "departement": "29", "population": 139456, "n": 1,
     "lat": 48.4, "lon": -4.5, "per_100k": 0.717},
    {"code": "29232", "name": "Quimper", "departement": "29", "population": 63000, "n": 0,
     "lat": 48.0, "lon": -4.1},
    {"code": "97411", "name": "Saint-Denis", "departement": "974", "population": 153000, "n": 2,
     "lat": -20.9, "lon": 55.4},
    {"code": "99999", "name": "Sans centre", "departement": "31", "population": 60000, "n": 0, "lat": None,
     "lon": None},
]


def test_big_communes_as_points():
    fig = cv.figure(GEO, {"31": 9, "29": 1}, {"31": "Haute-Garonne"}, communes=COMMUNES, threshold=50_000)
    assert [t.type for t in fig.data] == ["choropleth", "scattergeo", "scattergeo"]
    some, none = fig.data[1], fig.data[2]
    # with answers: sized by their count, names on hover; overseas and unplaced ones not drawn
    assert list(some.customdata) == ["31555", "29019"] and some.marker.size[0] > some.marker.size[1]
    assert "Toulouse" in some.text[0] and "9 jeux" in some.text[0]
    assert "504\u202f078 habitants" in some.text[0]
    assert some.name == "Villes de 50\u202f000 habitants ou plus"
    # with none: apart, grey rings
    assert list(none.customdata) == ["29232"] and none.marker.symbol == "circle-open"
    assert none.name.endswith("sans jeu") and "0 jeux" in none.text[0]
    assert fig.layout.showlegend is True
    per = cv.figure(GEO, {"31": 0.5}, {}, per_100k=True, communes=COMMUNES)
    assert "1,79 jeux pour 100\u202f000 habitants" in per.data[1].text[0]
    assert cv.commune_traces([]) == [] and len(cv.figure(GEO, {"31": 1}, {}).data) == 1
    text = cv.communes_summary({"communes": COMMUNES, "commune_threshold": 50_000})
    assert text.startswith("Villes de 50\u202f000 habitants ou plus\u202f: 3 sur 5 ont au moins un jeu")
    assert "sans jeu\u202f: Quimper, Sans centre." in text
    assert not typography_errors(text), text


def test_summary_states_the_rule_national_and_gaps(explorer):
    out = coverage(explorer, "données")
    text = texts(cv.summary(out))
    assert "répondent à «\u202fdonnées\u202f»" in text and "Règle\u202f:" in text
    assert "Jeux nationaux" in text and "département" in out["gap_message"]
    assert "Outre-mer (hors carte)\u202f: Guadeloupe" in text
    assert "Villes de 50\u202f000 habitants ou plus\u202f:" in text
    for s in (cv.OPEN_LABEL, cv.NO_SEARCH, out["gap_message"], cv.PER_100K_LABEL):
        assert not typography_errors(s), s
    csv = coverage_csv(coverage(explorer, "données", per_inhabitants=True))
    lines = csv.strip().splitlines()
    assert lines[0].startswith("niveau,code,nom,jeux") and len(lines) >= 1 + 101 + 1


def test_the_search_state_is_read_safely():
    from callbacks.coverage import search_of

    assert search_of(None) is None and search_of({"q": "", "filters": {}}) is None
    assert search_of({"q": "eau", "filters": {"format": "csv|json", "x": 3}}) == (
        "eau", {"format": ["csv", "json"]})
    assert search_of({"q": ["pas", "une", "chaîne"], "filters": "non"}) is None


@browser_test
def test_opened_from_the_results_header(dash_duo, built_root, explorer):
    from app import create_app
    from models.core.config import AppSettings

    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    dash_duo.find_element(f"#{ids.SEARCH_INPUT}").send_keys("données\n")
    dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=TIMEOUT)
    dash_duo.find_element(f"#{ids.COVERAGE_OPEN}").click()
    dash_duo.wait_for_element(f"#{ids.COVERAGE_MODAL}", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "répondent à", timeout=TIMEOUT)
    dash_duo.wait_for_element(f"#{ids.COVERAGE_FIGURE} .js-plotly-plot", timeout=TIMEOUT)
    n = explorer.n and coverage(explorer, "données")["n_answers"]
    assert str(n) in dash_duo.find_element(f"#{ids.COVERAGE_SUMMARY}").text.replace("\u202f", "")
    dash_duo.find_element(f"#{ids.COVERAGE_PER_100K}").click()
    from dash.testing.wait import until

    def n_locations():
        return dash_duo.driver.execute_script(
            f"const g = document.querySelector('#{ids.COVERAGE_FIGURE} .js-plotly-plot');"
            "const t = g && g._fullData && g._fullData[0]; return t ? (t.locations || []).length : -1;")

    until(lambda: n_locations() == len(explorer.territories.outlines("departement")["features"]), TIMEOUT)
    dash_duo.find_elements(f"#{ids.COVERAGE_LEVEL} input")[1].click()  # régions
    until(lambda: n_locations() == len(explorer.territories.outlines("region")["features"]), TIMEOUT)
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "répondent à", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_opened_from_the_selection_tab(app, client, explorer):
    from callbacks.coverage import selection_rows
    from tests.uihelpers import call

    assert selection_rows({"rows": [3, 1, 1, -2, True, "4", 10**9]}, explorer.n) == [1, 3]
    assert selection_rows("non", explorer.n) == [] and selection_rows({"rows": "x"}, 5) == []
    from models.serve.coverage import answer_mask

    ans, _ = answer_mask(explorer, "données")
    rows = [int(r) for r in ans.nonzero()[0]]
    inputs = {f"{ids.COVERAGE_OPEN}.n_clicks": 0, f"{ids.COVERAGE_OPEN_SELECTION}.n_clicks": 1,
              f"{ids.COVERAGE_PER_100K}.value": False, f"{ids.COVERAGE_LEVEL}.value": "departement"}
    state = {f"{ids.SEARCH_STATE}.data": None, f"{ids.MAP_SELECTION}.data": {"rows": rows},
             f"{ids.COVERAGE_SOURCE}.data": "search"}
    out = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state,
               changed=[f"{ids.COVERAGE_OPEN_SELECTION}.n_clicks"])
    assert out[ids.COVERAGE_MODAL]["is_open"] is True and out[ids.COVERAGE_SOURCE]["data"] == "selection"
    data = out[ids.COVERAGE_DATA]["data"]
    assert data["n_answers"] == len(rows)
    assert data["departements"] == coverage(explorer, "données")["departements"]
    # the level switch keeps showing the selection
    inputs[f"{ids.COVERAGE_LEVEL}.value"] = "region"
    state[f"{ids.COVERAGE_SOURCE}.data"] = "selection"
    again = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state,
                 changed=[f"{ids.COVERAGE_LEVEL}.value"])
    assert again[ids.COVERAGE_DATA]["data"]["selection"] is True
    # nothing selected: the view says how to select
    state[f"{ids.MAP_SELECTION}.data"] = None
    empty = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state,
                 changed=[f"{ids.COVERAGE_OPEN_SELECTION}.n_clicks"])
    assert cv.NO_SELECTION in str(empty[ids.COVERAGE_SUMMARY]["children"])


@browser_test
def test_opened_from_a_topic(dash_duo, built_root, explorer):
    from dash.testing.wait import until
    from selenium.webdriver.common.by import By

    from app import create_app
    from models.core.config import AppSettings

    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.TABS}", timeout=TIMEOUT)
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Thèmes")
    tab.click()
    dash_duo.wait_for_element(f"#{ids.COVERAGE_OPEN_TOPIC}", timeout=TIMEOUT)
    until(lambda: dash_duo.find_element(f"#{ids.TOPICS_SELECT}").text.strip() != "", TIMEOUT)
    dash_duo.find_element(f"#{ids.COVERAGE_OPEN_TOPIC}").click()
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "ont pour thème dominant", timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.COVERAGE_MODAL}").is_displayed()
    # the level switch keeps the topic
    dash_duo.find_elements(f"#{ids.COVERAGE_LEVEL} input")[1].click()
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "ont pour thème dominant", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_opened_from_the_assistant_callback(app, client, explorer):
    from tests.uihelpers import call

    history = [{"role": "user", "text": "données"}, {"role": "assistant", "reply": "…"}]
    inputs = {f"{ids.COVERAGE_OPEN_ASK}.n_clicks": 1}
    state = {"ask-history.data": history, f"{ids.COVERAGE_PER_100K}.value": False,
             f"{ids.COVERAGE_LEVEL}.value": "departement"}
    out = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state)
    assert out[ids.COVERAGE_MODAL]["is_open"] is True and out[ids.COVERAGE_SOURCE]["data"] == {"q": "données"}
    assert out[ids.COVERAGE_DATA]["data"]["n_answers"] == coverage(explorer, "données")["n_answers"]
    state["ask-history.data"] = []
    empty = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state)
    assert empty[ids.COVERAGE_SUMMARY]["children"]["props"]["children"] == cv.NO_QUESTION
    # the switches keep the question
    inputs = {f"{ids.COVERAGE_OPEN}.n_clicks": 0, f"{ids.COVERAGE_OPEN_SELECTION}.n_clicks": 0,
              f"{ids.COVERAGE_PER_100K}.value": True, f"{ids.COVERAGE_LEVEL}.value": "departement"}
    state = {f"{ids.SEARCH_STATE}.data": None, f"{ids.MAP_SELECTION}.data": None,
             f"{ids.COVERAGE_SOURCE}.data": {"q": "données"}}
    again = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state,
                 changed=[f"{ids.COVERAGE_PER_100K}.value"])
    assert "per_100k" in again[ids.COVERAGE_DATA]["data"]


@browser_test
def test_opened_from_the_assistant(dash_duo, built_root, explorer):
    from app import create_app
    from components import ask_page as ap
    from models.core.config import AppSettings

    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    tab = dash_duo.driver.find_element("xpath", "//a[contains(@class, 'nav-link') and text()='Demander']")
    tab.click()
    dash_duo.wait_for_element(f"#{ap.INPUT}", timeout=TIMEOUT).send_keys("données\n")
    dash_duo.wait_for_element(f"#{ap.TRANSCRIPT} .ask-reply", timeout=TIMEOUT)
    link = dash_duo.find_element(f"#{ids.COVERAGE_OPEN_ASK}")
    # below the transcript, which grows: brought into view and clicked as a person would
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   link)
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "répondent à «\u202fdonnées\u202f»",
                                    timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.COVERAGE_MODAL}").is_displayed()
    assert dash_duo.get_logs() == []


def test_cluster_entry_builders(explorer):
    from callbacks.coverage import heatmap_cluster
    from models.serve.coverage import clusters_list

    clusters = clusters_list(explorer)
    opts = cv.cluster_options(clusters)
    assert [o["value"] for o in opts] == [c["cluster"] for c in clusters]
    first = clusters[0]
    assert opts[0]["label"].startswith(f"{first['cluster']} · ") and opts[0]["label"].endswith(" jeux)")
    assert cv.cluster_options([{"cluster": 3, "label": "x", "size": 1}])[0]["label"] == "3 · x (1 jeu)"
    block = cv.open_cluster_block(clusters)
    assert ids.COVERAGE_OPEN_CLUSTER in str(block) and cv.OPEN_LABEL in texts(block)
    for s in (cv.cluster_rule(), cv.cluster_label(3, "vote · élection")):
        assert not typography_errors(s), s
    assert heatmap_cluster({"points": [{"y": "12 · vote · tour (1\u202f585)"}]}) == 12
    for bad in (None, {}, {"points": []}, {"points": [{"y": "bruit (-1)"}]}, {"points": [{"y": "-1 · x"}]}):
        assert heatmap_cluster(bad) is None, bad


def test_opened_from_a_cluster_callback(app, client, explorer):
    from models.serve.coverage import cluster_rows, clusters_list
    from tests.uihelpers import call

    c = clusters_list(explorer)[1]["cluster"]
    rows = cluster_rows(explorer, c)
    inputs = {f"{ids.COVERAGE_OPEN_CLUSTER}.n_clicks": 1}
    state = {f"{ids.COVERAGE_CLUSTER}.value": c, f"{ids.COVERAGE_PER_100K}.value": False,
             f"{ids.COVERAGE_LEVEL}.value": "departement"}
    out = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state)
    assert out[ids.COVERAGE_MODAL]["is_open"] is True and out[ids.COVERAGE_SOURCE]["data"] == {"cluster": c}
    data = out[ids.COVERAGE_DATA]["data"]
    want = coverage(explorer, "", rows=rows)
    assert data["n_answers"] == len(rows) == want["n_answers"]
    assert data["departements"] == want["departements"] and data["communes"] == want["communes"]
    assert "forment le groupe" in str(out[ids.COVERAGE_SUMMARY]["children"])
    # an unknown cluster: nothing happens
    state[f"{ids.COVERAGE_CLUSTER}.value"] = 10**6
    assert call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state) == {}
    # the switches keep the cluster
    inputs = {f"{ids.COVERAGE_OPEN}.n_clicks": 0, f"{ids.COVERAGE_OPEN_SELECTION}.n_clicks": 0,
              f"{ids.COVERAGE_PER_100K}.value": True, f"{ids.COVERAGE_LEVEL}.value": "region"}
    state = {f"{ids.SEARCH_STATE}.data": None, f"{ids.MAP_SELECTION}.data": None,
             f"{ids.COVERAGE_SOURCE}.data": {"cluster": c}}
    again = call(app, client, f"{ids.COVERAGE_SUMMARY}.children", inputs, state,
                 changed=[f"{ids.COVERAGE_PER_100K}.value"])
    assert again[ids.COVERAGE_SOURCE]["data"] == {"cluster": c}
    assert again[ids.COVERAGE_DATA]["data"]["n_answers"] == len(rows)
    assert "per_100k" in again[ids.COVERAGE_DATA]["data"]
    # the same from the chooser under the map
    out = call(app, client, f"{ids.COVERAGE_SUMMARY}.children",
               {f"{ids.COVERAGE_OPEN_MAP_CLUSTER}.n_clicks": 1},
               {f"{ids.COVERAGE_MAP_CLUSTER}.value": c, f"{ids.COVERAGE_PER_100K}.value": False,
                f"{ids.COVERAGE_LEVEL}.value": "departement"})
    assert out[ids.COVERAGE_SOURCE]["data"] == {"cluster": c}
    assert out[ids.COVERAGE_DATA]["data"]["n_answers"] == len(rows)
    # ... shown only while the map is coloured by « Groupes »
    for colour, style in (("clusters", {}), ("k4", {"display": "none"}), (None, {"display": "none"})):
        got = call(app, client, f"{ids.COVERAGE_MAP_CLUSTER_ROW}.style", {f"{ids.MAP_COLOUR}.value": colour})
        assert got[ids.COVERAGE_MAP_CLUSTER_ROW]["style"] == style, colour
    # a click on a heatmap row chooses its cluster
    label = f"{c} · whatever (12)"
    picked = call(app, client, f"{ids.COVERAGE_CLUSTER}.value",
                  {f"{ids.TOPICS_HEATMAP}.clickData": {"points": [{"y": label, "x": "1"}]}})
    assert picked[ids.COVERAGE_CLUSTER]["value"] == c


@browser_test
def test_opened_from_a_cluster(dash_duo, built_root, explorer):
    from dash.testing.wait import until
    from selenium.webdriver.common.by import By

    from app import create_app
    from models.core.config import AppSettings
    from models.serve.coverage import clusters_list

    first = clusters_list(explorer)[0]
    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.TABS}", timeout=TIMEOUT)
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Thèmes")
    tab.click()
    link = dash_duo.wait_for_element(f"#{ids.COVERAGE_OPEN_CLUSTER}", timeout=TIMEOUT)
    until(lambda: dash_duo.find_element(f"#{ids.COVERAGE_CLUSTER}").text.strip().startswith(
        f"{first['cluster']} · "), TIMEOUT)
    # at the bottom of the page: brought into view and clicked as a person would
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   link)
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "forment le groupe", timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.COVERAGE_MODAL}").is_displayed()
    text = dash_duo.find_element(f"#{ids.COVERAGE_SUMMARY}").text.replace("\u202f", "")
    assert f"{first['size']} jeux" in text and "Villes de 50000 habitants ou plus" in text
    dash_duo.wait_for_element(f"#{ids.COVERAGE_FIGURE} .js-plotly-plot", timeout=TIMEOUT)
    # the level switch keeps the cluster
    dash_duo.find_elements(f"#{ids.COVERAGE_LEVEL} input")[1].click()
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "forment le groupe", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


@browser_test
def test_opened_from_the_map_coloured_by_cluster(dash_duo, built_root, explorer):
    from dash.testing.wait import until
    from selenium.webdriver.common.by import By

    from app import create_app
    from models.core.config import AppSettings
    from models.serve.coverage import clusters_list

    first = clusters_list(explorer)[0]
    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    def row_hidden():
        style = dash_duo.find_element(f"#{ids.COVERAGE_MAP_CLUSTER_ROW}").get_attribute("style") or ""
        return "display: none" in style

    assert row_hidden()  # coloured by topics: no cluster to choose
    dash_duo.find_element(f"#{ids.MAP_COLOUR}").click()  # Dash 4: a button opening a popover
    dash_duo.wait_for_contains_text(".dash-dropdown-content", "Groupes", timeout=TIMEOUT)
    next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
         if o.text.startswith("Groupes")).click()
    until(lambda: not row_hidden(), TIMEOUT)
    chosen = dash_duo.find_element(f"#{ids.COVERAGE_MAP_CLUSTER}").text.strip()
    assert chosen.startswith(f"{first['cluster']} · "), chosen
    dash_duo.find_element(f"#{ids.COVERAGE_OPEN_MAP_CLUSTER}").click()
    dash_duo.wait_for_contains_text(f"#{ids.COVERAGE_SUMMARY}", "forment le groupe", timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.COVERAGE_MODAL}").is_displayed()
    text = dash_duo.find_element(f"#{ids.COVERAGE_SUMMARY}").text.replace("\u202f", "")
    assert f"{first['size']} jeux" in text
    dash_duo.wait_for_element(f"#{ids.COVERAGE_FIGURE} .js-plotly-plot", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_cluster_callbacks_only_for_the_choosers_in_the_layout(built_root, explorer):
    """A « Thèmes » page disabled by damaged files has no cluster chooser: no callback on it."""
    import dash
    from dash import html

    from callbacks import Services
    from callbacks.coverage import layout_ids, register
    from models.core.config import AppSettings

    bare = dash.Dash(__name__)
    bare.layout = html.Div([html.Div(id=ids.COVERAGE_OPEN), html.Div(id=ids.MAP_COLOUR)])
    assert layout_ids(bare) == {ids.COVERAGE_OPEN, ids.MAP_COLOUR}
    register(bare, Services(explorer=explorer, settings=AppSettings(artifacts=built_root)))
    inputs = {i["id"] for cb in bare.callback_map.values() for i in cb["inputs"]}
    assert ids.COVERAGE_OPEN in inputs
    choosers = {ids.COVERAGE_OPEN_CLUSTER, ids.COVERAGE_OPEN_MAP_CLUSTER, ids.TOPICS_HEATMAP, ids.MAP_COLOUR}
    assert not choosers & inputs
