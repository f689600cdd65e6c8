"""The producer page's « Score FAIR et fraîcheur » section: builders, wiring (callbacks/
producer_fair.py) and, in a real browser, the section filled once a producer is chosen."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from components import fair_view as fv
from components import producers_page as pp
from tests.browser_helpers import browser_test
from tests.test_coverage_page import texts
from tests.test_ui_text import typography_errors
from tests.uihelpers import call


@pytest.fixture(scope="module")
def producer(explorer):
    t = explorer.producers.table
    p = int(t.index[t["kind"] == "organisation"][0])
    return {"index": p, "id": t["producer_id"].iat[p], "name": t["organization"].iat[p]}


def json_texts(obj) -> str:
    """Every string under the ``children`` of a serialised component tree."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, list):
        return " ".join(json_texts(x) for x in obj)
    if isinstance(obj, dict):
        return json_texts(obj.get("props", {}).get("children", "")) if "props" in obj else ""
    return ""


def test_builders():
    assert fv.rank_text({"kind": "commune", "rank": 1, "of": 531}) == "1er sur 531 communes"
    assert fv.rank_text({"kind": "région", "rank": 3, "of": 17}) == "3e sur 17 régions"
    assert fv.rank_text(None) == ""
    dims = [{"label": "Trouvabilité", "points": 35, "max": 70}]
    fig = fv.dimensions_figure(dims, dims, name="X")
    assert isinstance(fig, go.Figure) and list(fig.data[1].x) == [50.0]
    assert fv.dimensions_figure([], []).layout.meta["empty"] is True
    todo = [{"label": "Ajouter des mots-clés à 2 jeux\u202f: +30 points", "ids": ["a", "b"]}]
    t = texts(fv.todo_list(todo, {"a": "Titre A"}))
    assert "Ajouter des mots-clés" in t and "Titre A" in t and " b" in t
    for s in (fv.HELP, fv.TITLE, fv.CSV_LABEL, todo[0]["label"]):
        assert not typography_errors(s), s


def test_choosing_a_producer_fills_the_section(app, client, explorer, producer):
    out = call(app, client, f"{fv.SECTION}.children", {f"{pp.SELECT}.value": producer["id"]})
    text = json_texts(out[fv.SECTION]["children"])
    score = explorer.fair.summary(producer["id"])
    points = f"{score['points']:,.0f}".replace(",", "\u202f")
    assert f"{points} / 210 points" in text and "Fraîcheur" in text
    assert score["rating_fr"] in text and "À corriger d'abord" in text
    rank = explorer.fair.producer_rank(producer["id"])
    assert fv.rank_text(rank) in text
    fig = out[fv.CHART]["figure"]
    assert [b["type"] for b in fig["data"]] == ["bar", "bar"]
    cleared = call(app, client, f"{fv.SECTION}.children", {f"{pp.SELECT}.value": None})
    assert fv.CHOOSE in str(cleared[fv.SECTION]["children"])
    csv = call(app, client, f"{fv.DOWNLOAD}.data", {f"{fv.CSV_BUTTON}.n_clicks": 1},
               {f"{pp.SELECT}.value": producer["id"]})
    content = csv[fv.DOWNLOAD]["data"]["content"]
    assert content.startswith("id,titre,") and content.count("\n") == score["n"] + 1


@browser_test
def test_section_in_browser(dash_duo, app, explorer, producer):
    from selenium.webdriver.common.by import By

    dash_duo.start_server(app)
    dash_duo.wait_for_element("#pages")
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Producteurs")
    tab.click()
    dash_duo.wait_for_element(f"#{pp.SELECT}").click()
    box = dash_duo.wait_for_element(".dash-dropdown-content input.dash-dropdown-search")
    box.send_keys(producer["name"][:12])
    dash_duo.wait_for_contains_text(".dash-dropdown-content", producer["name"], timeout=10)
    option = next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                  if o.text.startswith(producer["name"] + " ("))
    option.click()
    dash_duo.wait_for_contains_text(f"#{fv.SECTION}", "points", timeout=30)
    dash_duo.wait_for_contains_text(f"#{fv.SECTION}", "Fraîcheur", timeout=10)
    dash_duo.wait_for_element(f"#{fv.CHART} .barlayer", timeout=20)
    assert dash_duo.get_logs() == []
