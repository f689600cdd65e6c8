"""The "Producteurs" page: builders, callbacks through the Flask test client, and the browser."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from components import ids
from components import producers_page as pp
from components.labels import NO_TITLE
from models.core import french
from tests.uihelpers import call, strings
from tests.uihelpers import text as _text


@pytest.fixture(scope="module")
def producer(explorer):
    """The biggest organisation of the shared build, and its rows."""
    P = explorer.producers
    t = P.table
    p = int(t.index[t["kind"] == "organisation"][0])
    return {"index": p, "id": t["producer_id"].iat[p], "name": t["organization"].iat[p],
            "rows": sorted(int(r) for r in P.rows(p))}


# ---- builders ------------------------------------------------------------------------------
def test_the_two_bar_legend_sits_above_the_plot():
    """A long producer's name wraps the legend on two lines: anchored by its bottom above the
    plot, it grows into the top margin instead of covering the first bars (as it did at y 1.08
    anchored by its middle, in a 30 px margin)."""
    fig = pp.visualize_topic_mix(["a", "b"], [0.5, 0.5], [0.2, 0.8], name="Direction " * 12)
    legend = fig.layout.legend
    assert legend.yanchor == "bottom" and legend.y >= 1 and fig.layout.margin.t >= 50


def test_builders_empty_states():
    for fig in (pp.visualize_topic_mix([], [], []), pp.visualize_quality_overview([], [], []),
                pp.visualize_neighbourhood([], [])):
        assert isinstance(fig, go.Figure) and fig.layout.meta["empty"]
    assert pp.CHOOSE in _text(json.loads(json.dumps(pp.key_figures(None).to_plotly_json(),
                                                       default=lambda o: o.to_plotly_json())))


def test_list_grids_hold_text_and_safe_links():
    """The producer's lists are grids of plain text; the only Markdown is a link built from an
    http(s) URL (others give none), brackets and parentheses encoded."""
    items = [{"row": 1, "title": "<img src=x onerror=alert(1)> **gras**", "views": 1200, "reuses": 0,
              "last_modified": "2024-05-02", "score": 80, "url": "https://www.data.gouv.fr/fr/datasets/a(b)[c]/"},
             {"row": 2, "title": "", "views": 0, "reuses": 0, "last_modified": None, "score": 10,
              "url": "javascript:alert(1)"}]
    grid = pp.datasets_table(items, 5).to_plotly_json()["props"]["children"][1]
    rows = grid.rowData
    assert grid.id == {"type": pp.LIST_GRID, "list": "datasets"}
    assert rows[0]["title"].startswith("<img src=x") and rows[0]["key"] == "1"
    assert rows[0]["link"] == "[↗](https://www.data.gouv.fr/fr/datasets/a%28b%29%5Bc%5D/)"
    assert rows[1]["link"] == "" and rows[1]["title"] == NO_TITLE
    markdown = [c for c in grid.columnDefs if c.get("cellRenderer") == "markdown"]
    assert [c["field"] for c in markdown] == ["link"]  # titles are never rendered as Markdown


def test_neighbourhood_figure_uses_scattergl():
    fig = pp.visualize_neighbourhood(
        [{"organization": "Moi", "n_active": 3, "similarity": 1.0, "x": 0, "y": 0, "is_self": True},
         {"organization": "Autre <b>", "n_active": 9, "similarity": 0.8, "x": 1, "y": 1, "is_self": False}],
        [{"title": "Jeu", "x": 0.1, "y": 0.2}])
    assert [t.type for t in fig.data] == ["scattergl"] * 3
    assert fig.data[1].text[0] == "Autre &lt;b&gt;"  # catalogue text is escaped for plotly


# ---- callbacks ------------------------------------------------------------------------------
def test_page_is_in_the_app(app):
    layout = json.dumps(app.layout.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert '"producteurs"' in layout and "Producteurs" in layout and pp.SELECT in layout


def test_options_are_filtered_server_side(app, client, producer):
    word = producer["name"].split()[0][:5]
    out = call(app, client, f"{pp.SELECT}.options",
               {f"{pp.SELECT}.search_value": word.upper(), f"{pp.SELECT}.value": None})
    opts = out[pp.SELECT]["options"]
    assert 0 < len(opts) <= 30
    assert producer["id"] in [o["value"] for o in opts]
    assert all(word.lower() in o["label"].lower() for o in opts)
    # the chosen value stays among the options, whatever is typed
    out = call(app, client, f"{pp.SELECT}.options",
               {f"{pp.SELECT}.search_value": "zzzqqq", f"{pp.SELECT}.value": producer["id"]})
    assert [o["value"] for o in out[pp.SELECT]["options"]] == [producer["id"]]


def test_choosing_a_producer_fills_figures_list_and_map_highlight(app, client, explorer, producer):
    out = call(app, client, f"{pp.FIGURES}.children", {f"{pp.SELECT}.value": producer["id"]})
    text = _text(out[pp.FIGURES]["children"])
    assert "Jeux actifs" in text and "Jeux archivés" in text and producer["name"] in text
    summary = explorer.producers.summary(producer["index"])
    assert french.integer(summary["n_active"]) in text and french.integer(summary["views"]) in text
    hl = out[ids.MAP_HIGHLIGHT]["data"]
    assert hl["label"] == producer["name"] and sorted(hl["rows"]) == producer["rows"]
    listing = " ".join(strings(out[pp.DATASETS]["children"]))
    top = explorer.producers.datasets(producer["index"]).iloc[0]
    assert str(top["title"])[:40] in listing
    assert out[pp.SHOW_ON_MAP]["disabled"] is False
    assert out[pp.FIND_DATASET]["value"] == int(top["row"])
    # cleared: explicit empty state, highlight removed
    out = call(app, client, f"{pp.FIGURES}.children", {f"{pp.SELECT}.value": None})
    assert pp.CHOOSE in _text(out[pp.FIGURES]["children"])
    assert out[ids.MAP_HIGHLIGHT]["data"] == {"label": "", "rows": []}


def test_topics_and_quality(app, client, explorer, producer):
    out = call(app, client, f"{pp.TOPICS}.figure", {f"{pp.SELECT}.value": producer["id"]})
    topic_fig = out[pp.TOPICS]["figure"]
    assert [t["type"] for t in topic_fig["data"]] == ["bar", "bar"]
    q_fig = out[pp.QUALITY_CHART]["figure"]
    assert len(q_fig["data"][0]["y"]) == 6
    prio = explorer.producers.quality(producer["index"], limit=50)
    text = " ".join(strings(out[pp.QUALITY_LIST]["children"]))
    if len(prio):
        assert str(prio["title"].iat[0])[:40] in text and prio["reasons"].iat[0][0] in text
    else:
        assert "Rien à corriger" in text


def test_duplicates_follow_the_threshold(app, client, explorer, producer):
    out = call(app, client, f"{pp.DUPLICATES}.children",
               {f"{pp.SELECT}.value": producer["id"], f"{pp.DUP_THRESHOLD}.value": 1.0001})
    assert "Aucune paire" in _text(out[pp.DUPLICATES]["children"])
    low = explorer.producers.near_duplicates(producer["index"], threshold=0.3)
    assert len(low) > 0
    out = call(app, client, f"{pp.DUPLICATES}.children",
               {f"{pp.SELECT}.value": producer["id"], f"{pp.DUP_THRESHOLD}.value": 0.3})
    text = " ".join(strings(out[pp.DUPLICATES]["children"]))
    assert f"{min(len(low), pp.N_DUPLICATES)} paire" in text and str(low["title_a"].iat[0])[:30] in text


def test_similar_producers_and_neighbourhood(app, client, explorer, producer):
    out = call(app, client, f"{pp.SIMILAR}.children", {f"{pp.SELECT}.value": producer["id"]})
    sim = explorer.producers.similar_producers(producer["index"])
    text = _text(out[pp.SIMILAR]["children"])
    assert str(sim["organization"].iat[0])[:30] in text
    fig = out[pp.NEIGHBOURHOOD]["figure"]
    assert {t["type"] for t in fig["data"]} == {"scattergl"}
    assert fig["data"][-1]["marker"]["symbol"] == "star"


def test_clicks_open_dataset_producer_and_map(app, client, explorer, producer):
    row, other_row = producer["rows"][0], producer["rows"][-1]

    def click(name, cell):
        grid = {"type": pp.LIST_GRID, "list": name}
        return call(app, client, f"{ids.SELECTED}.data", {f"{pp.LIST_GRID}.cellClicked": [(grid, cell)]},
                    changed=json.dumps(grid, sort_keys=True, separators=(",", ":")) + ".cellClicked")

    out = click("datasets", {"rowId": str(row), "colId": "title", "rowIndex": 0, "value": "x"})
    assert out[ids.SELECTED]["data"] == explorer.datasets["id"].iat[row]
    assert out[ids.TABS]["active_tab"] == "carte"
    # a pair of near duplicates: the column clicked says which dataset opens
    pair = f"{row}:{other_row}"
    assert click("duplicates", {"rowId": pair, "colId": "title_b"})[ids.SELECTED]["data"] == \
        explorer.datasets["id"].iat[other_row]
    assert click("duplicates", {"rowId": pair, "colId": "title_a"})[ids.SELECTED]["data"] == \
        explorer.datasets["id"].iat[row]
    # nothing clicked, a forged or out-of-range key, the data.gouv.fr link: nothing opens here
    for cell in (None, {}, {"rowId": "abc"}, {"rowId": str(10**9)}, {"rowId": "-1"}, "1", [1],
                 {"rowId": str(row), "colId": "link"}):
        assert click("datasets", cell) == {}, cell
    other = explorer.producers.similar_producers(producer["index"])["producer_id"].iat[0]
    pitem = {"type": pp.PRODUCER_ITEM, "value": other}
    out = call(app, client, f"{pp.SELECT}.value", {f"{pp.PRODUCER_ITEM}.n_clicks": [(pitem, 1)]},
               changed=json.dumps(pitem, sort_keys=True, separators=(",", ":")) + ".n_clicks")
    assert out[pp.SELECT]["value"] == other
    out = call(app, client, f"{ids.TABS}.active_tab", {f"{pp.SHOW_ON_MAP}.n_clicks": 1},
               state={f"{pp.SELECT}.value": producer["id"]})
    assert out[ids.TABS]["active_tab"] == "carte"
    assert out[ids.MAP_HIGHLIGHT]["data"]["rows"] == producer["rows"]


def test_findability(app, client, explorer, producer):
    from models.serve import search

    row = producer["rows"][0]
    out = call(app, client, f"{pp.FIND_RESULT}.children", {f"{pp.FIND_BUTTON}.n_clicks": 1},
               state={f"{pp.FIND_DATASET}.value": row,
                      f"{pp.FIND_QUERIES}.value": "transport scolaire\n\nzzz introuvable"})
    text = _text(out[pp.FIND_RESULT]["children"])
    assert explorer.datasets["title"].iat[row][:30] in text  # its title is always tried
    assert "transport scolaire" in text and "zzz introuvable" in text
    assert "rang " in text  # found by its own title in semantic mode at least
    from components.labels import mode_label

    for mode in search.MODES:
        assert mode_label(mode) in text


# ---- browser ---------------------------------------------------------------------------------
@pytest.mark.browser
def test_producers_page_in_browser(dash_duo, app, explorer, producer):
    from selenium.webdriver.common.by import By

    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{ids.TABS}")
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Producteurs")
    tab.click()
    dash_duo.wait_for_element(f"#{pp.SELECT}").click()  # Dash 4: a button opening a popover
    box = dash_duo.wait_for_element(".dash-dropdown-content input.dash-dropdown-search")
    assert box.get_attribute("placeholder") == "Nom du producteur"
    box.send_keys(producer["name"][:12])
    dash_duo.wait_for_contains_text(".dash-dropdown-content", producer["name"], timeout=10)
    option = next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                  if o.text.startswith(producer["name"] + " ("))
    option.click()
    dash_duo.wait_for_contains_text(f"#{pp.SELECT}", producer["name"], timeout=10)
    dash_duo.wait_for_contains_text(f"#{pp.FIGURES}", "Jeux actifs", timeout=20)
    dash_duo.wait_for_contains_text(f"#{pp.FIGURES}", producer["name"][:20], timeout=10)
    dash_duo.wait_for_element(f"#{pp.NEIGHBOURHOOD} .scatterlayer, #{pp.NEIGHBOURHOOD} canvas",
                              timeout=20)
    # its datasets: one grid, most viewed first, text only
    first = ".producers-list-datasets .ag-row[row-index='0'] .producers-list-title"
    top = str(explorer.producers.datasets(producer["index"])["title"].iat[0])[:25]
    dash_duo.wait_for_contains_text(first, top, timeout=20)
    link = dash_duo.find_element(".producers-list-datasets .ag-row[row-index='0'] [col-id='link'] a")
    assert link.get_attribute("href").startswith("http") and link.get_attribute("target") == "_blank"
    # "Voir sur la carte": back to the map tab, its datasets highlighted there
    # (below the overview grid, while the sections above it still grow: clicked by script)
    button = dash_duo.wait_for_element(f"#{pp.SHOW_ON_MAP}:not([disabled])", timeout=10)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   button)
    dash_duo.wait_for_contains_text(f"#{ids.TABS} .nav-link.active", "Carte", timeout=10)
    # a click on a dataset of its list opens its card on the map page
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Producteurs")
    dash_duo.driver.execute_script("window.scrollTo(0, 0); arguments[0].click();", tab)
    cell = dash_duo.wait_for_element(first, timeout=20)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   cell)
    dash_duo.wait_for_contains_text(f"#{ids.TABS} .nav-link.active", "Carte", timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", top, timeout=20)
    # other pages' geo figures may ask plotly's CDN for topojson (offline here): not this page's
    errors = [e for e in dash_duo.get_logs() or []
              if not (e.get("source") == "network" and "cdn.plot.ly" in e.get("message", ""))]
    assert errors == []


def test_producer_without_active_dataset(app, client, explorer):
    t = explorer.producers.table
    only_archived = t.loc[t["n_in_build"] == 0, "producer_id"]
    if only_archived.empty:
        pytest.skip("every producer of the shared build has an active dataset")
    value = only_archived.iat[0]
    out = call(app, client, f"{pp.TOPICS}.figure", {f"{pp.SELECT}.value": value})
    assert out[pp.TOPICS]["figure"]["layout"]["meta"]["empty"]
    assert "tous archivés" in _text(out[pp.QUALITY_LIST]["children"])
    out = call(app, client, f"{pp.FIGURES}.children", {f"{pp.SELECT}.value": value})
    assert "Jeux archivés" in _text(out[pp.FIGURES]["children"])
    assert out[ids.MAP_HIGHLIGHT]["data"]["rows"] == [] and out[pp.SHOW_ON_MAP]["disabled"] is True
    out = call(app, client, f"{pp.SIMILAR}.children", {f"{pp.SELECT}.value": value})
    assert out[pp.NEIGHBOURHOOD]["figure"]["layout"]["meta"]["empty"]
