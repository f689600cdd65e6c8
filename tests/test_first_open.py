"""Every page is useful on first open: the producers overview grid, a comparison already made,
France and the most named territories. Callbacks are driven through the Flask client as the
browser calls them; one browser test opens each page."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from components import compare_page as cp
from components import ids
from components import labels as texts
from components import producers_page as pp
from components import territories_page as tp
from models.core import french
from models.core.text import fold
from tests import uihelpers
from tests.uihelpers import call, grid_rows
from tests.uihelpers import text as _text


def find(layout, cid):
    """The serialised component of id ``cid`` in the app's layout."""
    tree = json.loads(json.dumps(layout.to_plotly_json(), default=lambda o: o.to_plotly_json()))
    node = uihelpers.find(tree, cid)
    assert node is not None, f"no component {cid!r} in the layout"
    return node


def grid_page(app, client, start=0, end=20, sort=None, filters=None) -> dict:
    request = {"startRow": start, "endRow": end, "sortModel": sort or [], "filterModel": filters or {}}
    out = call(app, client, f"{pp.OVERVIEW}.getRowsResponse", {f"{pp.OVERVIEW}.getRowsRequest": request})
    return out[pp.OVERVIEW]["getRowsResponse"]


# ---- Producteurs ------------------------------------------------------------------------------
def test_overview_scores_and_dates_are_the_producers(explorer):
    P = explorer.producers
    ov = P.overview()
    assert len(ov) == len(P.table) and list(ov["producer_id"]) == list(P.table["producer_id"])
    for p in (0, 3, len(ov) - 1):
        want = P.mean_score(p)
        got = ov["score"].iat[p]
        assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, abs=0.05)
        assert ov["last_modified"].iat[p] == str(P.table["last_modified"].iat[p])[:10]
    assert ov["score"].notna().sum() == int((P.table["n_in_build"] > 0).sum())


def test_overview_page_sorts_filters_and_ignores_bad_requests(explorer):
    P = explorer.producers
    ov = P.overview()
    page, total = P.overview_page(0, 10, [{"colId": "score", "sort": "asc"}], {})
    scores = page["score"].dropna().to_numpy()
    assert total == len(ov) and len(page) == 10 and np.all(np.diff(scores) >= 0)
    assert scores[0] == ov["score"].min()
    contains = {"organization": {"filterType": "text", "type": "contains", "filter": "DÉPARTEMENT"}}
    page, total = P.overview_page(0, 500, [{"colId": "organization", "sort": "desc"}], contains)
    names = [fold(n, elisions=False) for n in page["organization"]]  # accents and case ignored
    assert 0 < total < len(ov) and total == len(page)
    assert all("departement" in n for n in names) and names == sorted(names, reverse=True)
    page, total = P.overview_page(0, 500, None, {"n_active": {"filterType": "number", "type": "inRange",
                                                              "filter": 2, "filterTo": 3}})
    assert total == int(((ov["n_active"] >= 2) & (ov["n_active"] <= 3)).sum()) and total > 0
    page, total = P.overview_page(0, 500, None, {"last_modified": {
        "filterType": "date", "type": "greaterThan", "dateFrom": "2025-01-01 00:00:00"}})
    assert total == int((ov["last_modified"] > "2025-01-01").sum()) and (page["last_modified"] > "2025").all()
    # anything malformed is ignored, never an error; the page size is capped
    page, total = P.overview_page("x", 10**9, [{"colId": "nope", "sort": "up"}, "junk"],
                                  {"views": {"type": "between", "filter": "a"}, "zzz": {}, "kind": 3})
    assert total == len(ov) and len(page) == min(len(ov), 500)


def test_producers_page_opens_on_the_overview_grid(app, client, explorer):
    grid = find(app.layout, pp.OVERVIEW)
    assert grid["type"] == "AgGrid" and grid["props"]["rowModelType"] == "infinite"
    assert grid["props"]["dashGridOptions"]["localeText"]["noRowsToShow"] == "Aucune ligne à afficher"
    headers = [c["headerName"] for c in grid["props"]["columnDefs"]]
    assert headers == list(texts.PRODUCERS_GRID_COLUMNS.values())
    assert find(app.layout, pp.DETAIL)["props"]["hidden"] is True  # nothing chosen yet
    resp = grid_page(app, client, 0, pp.OVERVIEW_PAGE_SIZE)
    P = explorer.producers
    assert resp["rowCount"] == len(P.table) and len(resp["rowData"]) == pp.OVERVIEW_PAGE_SIZE
    first = resp["rowData"][0]
    assert first["id"] == P.table["producer_id"].iat[0]
    assert first["organization"] == P.table["organization"].iat[0]
    assert first["n_active"] == french.integer(P.table["n_active"].iat[0]) and first["score"].endswith("/100")
    # one page is a few kB whatever the number of producers
    assert len(json.dumps(resp)) < 400 * pp.OVERVIEW_PAGE_SIZE
    by_views = grid_page(app, client, sort=[{"colId": "views", "sort": "desc"}])["rowData"]
    want = P.table.sort_values("views", ascending=False, kind="stable")["producer_id"].head(20).tolist()
    assert [r["id"] for r in by_views] == want
    out = call(app, client, f"{pp.OVERVIEW}.getRowsResponse", {f"{pp.OVERVIEW}.getRowsRequest": None},
               changed=[])
    assert out == {}  # no request yet: nothing sent


def test_a_row_click_opens_the_producer(app, client, explorer):
    P = explorer.producers
    value = P.table["producer_id"].iat[2]
    out = call(app, client, f"{pp.SELECT}.value",
               {f"{pp.OVERVIEW}.cellClicked": {"rowId": value, "colId": "organization", "rowIndex": 2}})
    assert out[pp.SELECT]["value"] == value
    assert call(app, client, f"{pp.SELECT}.value", {f"{pp.OVERVIEW}.cellClicked": {"rowId": "nope"}}) == {}
    shown = call(app, client, f"{pp.DETAIL}.hidden", {f"{pp.SELECT}.value": value})
    assert shown[pp.DETAIL]["hidden"] is False
    assert call(app, client, f"{pp.DETAIL}.hidden", {f"{pp.SELECT}.value": None})[pp.DETAIL]["hidden"] is True
    figures = call(app, client, f"{pp.FIGURES}.children", {f"{pp.SELECT}.value": value})
    assert P.table["organization"].iat[2] in _text(figures[pp.FIGURES]["children"])


# ---- Comparer ---------------------------------------------------------------------------------
def test_compare_opens_on_an_example_question(app, client, explorer):
    box = find(app.layout, cp.INPUT)
    question = "Quand est-ce que les enfants sont en vacances\u202f?"
    assert box["props"]["value"] == texts.EXAMPLE_QUESTIONS[0] == question
    out = call(app, client, f"{cp.COLUMNS}.children",
               {f"{cp.BUTTON}.n_clicks": 0, f"{cp.INPUT}.n_submit": 0},
               state={f"{cp.INPUT}.value": box["props"]["value"]}, changed=[])
    text = _text(out[cp.COLUMNS]["children"])
    top = explorer.search("Quand est-ce que les enfants sont en vacances ?", mode="hybrid", k=1)[0]
    assert str(explorer.datasets["title"].iat[top.row])[:40] in text
    assert out[cp.SHOW_ON_MAP]["disabled"] is False and out[cp.STATE]["data"]["rows"][0] == top.row
    # page load without a question: nothing happens (no "Saisissez une requête" at first sight)
    empty = call(app, client, f"{cp.COLUMNS}.children",
                 {f"{cp.BUTTON}.n_clicks": 0, f"{cp.INPUT}.n_submit": 0},
                 state={f"{cp.INPUT}.value": ""}, changed=[])
    assert empty == {}


def test_the_page_load_comparison_is_made_once(app, client, explorer, monkeypatch):
    calls = []
    real = explorer.engine.compare
    monkeypatch.setattr(explorer.engine, "compare", lambda q, **kw: calls.append(q) or real(q, **kw))
    q = texts.EXAMPLE_QUESTIONS[3]
    inputs = {f"{cp.BUTTON}.n_clicks": 0, f"{cp.INPUT}.n_submit": 0}
    first = call(app, client, f"{cp.COLUMNS}.children", inputs, state={f"{cp.INPUT}.value": q}, changed=[])
    again = call(app, client, f"{cp.COLUMNS}.children", inputs, state={f"{cp.INPUT}.value": q}, changed=[])
    assert first == again and len(calls) == 1  # every visitor's page load: one comparison per process
    call(app, client, f"{cp.COLUMNS}.children", {f"{cp.BUTTON}.n_clicks": 1, f"{cp.INPUT}.n_submit": 0},
         state={f"{cp.INPUT}.value": q})
    assert len(calls) == 2  # a click compares again


def test_an_example_link_fills_the_box_and_compares(app, client):
    out = call(app, client, f"{cp.INPUT}.value",
               {f"{cp.EXAMPLE}.n_clicks": [({"type": cp.EXAMPLE, "index": 0}, 0),
                                           ({"type": cp.EXAMPLE, "index": 2}, 1)]},
               state={f"{cp.INPUT}.n_submit": 4}, changed=json.dumps(
                   {"index": 2, "type": cp.EXAMPLE}, separators=(",", ":")) + ".n_clicks")
    assert out[cp.INPUT] == {"value": texts.EXAMPLE_QUESTIONS[2], "n_submit": 5}


# ---- Territoires ------------------------------------------------------------------------------
def test_territories_open_on_france_with_the_most_named(app, explorer):
    S = explorer.territories
    assert S.country == "pays:FR"
    assert find(app.layout, tp.SEARCH)["props"]["value"] == "pays:FR"
    summary = _text(find(app.layout, tp.SUMMARY)["props"]["children"])
    n_france = len(S.datasets("pays:FR"))
    assert "France" in summary and french.integer(n_france) in summary and n_france > 0
    listing = grid_rows(find(app.layout, tp.DATASETS)["props"]["children"])
    first = S.datasets("pays:FR").iloc[0]
    assert listing[0]["key"] == str(int(first["row"]))
    assert listing[0]["title"].startswith(str(first["title"])[:30])
    assert len(listing) == min(200, n_france)
    assert find(app.layout, tp.SHOW_ON_MAP)["props"]["disabled"] is False
    top = S.most_named(12)
    counts = [d["n"] for d in top]
    assert top and counts == sorted(counts, reverse=True) and all(d["value"] != "pays:FR" for d in top)
    assert counts[0] == max(n for k, n in S.direct_counts.items() if not k.startswith("pays:"))
    shown = _text(find(app.layout, tp.TOP)["props"]["children"])
    assert all(d["label"] in shown for d in top)


def test_a_most_named_territory_opens_it(app, client, explorer):
    top = explorer.territories.most_named(3)
    value = top[1]["value"]
    items = [({"type": tp.TOP_ITEM, "value": d["value"]}, 1 if d["value"] == value else 0) for d in top]
    out = call(app, client, f"{tp.SEARCH}.value", {f"{tp.TOP_ITEM}.n_clicks": items},
               changed=json.dumps({"type": tp.TOP_ITEM, "value": value}, separators=(",", ":")) + ".n_clicks")
    assert out[tp.SEARCH]["value"] == value
    drawn = [(i, 0) for i, _ in items]  # the list just drawn: nothing opens
    assert call(app, client, f"{tp.SEARCH}.value", {f"{tp.TOP_ITEM}.n_clicks": drawn},
                changed=json.dumps(items[0][0], separators=(",", ":")) + ".n_clicks") == {}


def test_header_and_tabs(app, explorer):
    sub = find(app.layout, ids.COUNT)["props"]["children"]
    assert sub.startswith(french.integer(explorer.n)) and "catalogue du " in sub and "build" not in sub


# ---- browser ----------------------------------------------------------------------------------
@pytest.mark.browser
def test_every_page_is_useful_on_first_open(dash_duo, app, explorer):
    from selenium.webdriver.common.by import By

    P = explorer.producers

    def open_tab(label):
        # opening a producer scrolls its detail into view: back to the tabs first, as a person would
        # (else the click can land while the page still scrolls: « click intercepted »)
        dash_duo.driver.execute_script("window.scrollTo(0, 0);")
        tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link")
                   if a.text.strip() == label)
        on_screen = "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom > 0;"
        deadline = time.monotonic() + 5
        while not dash_duo.driver.execute_script(on_screen, tab) and time.monotonic() < deadline:
            dash_duo.driver.execute_script("window.scrollTo(0, 0);")
            time.sleep(0.1)
        tab.click()
        dash_duo.wait_for_contains_text(f"#{ids.TABS} .nav-link.active", label, timeout=10)

    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{ids.TABS}")
    open_tab("Producteurs")
    biggest = P.table["organization"].iat[0]
    dash_duo.wait_for_contains_text(f"#{pp.OVERVIEW} .ag-center-cols-container", biggest, timeout=20)
    rows = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{pp.OVERVIEW} .ag-center-cols-container .ag-row")
    assert len(rows) == min(pp.OVERVIEW_PAGE_SIZE, len(P.table))
    assert "sur" in dash_duo.find_element(f"#{pp.OVERVIEW} .ag-paging-panel").text  # French pagination
    assert not dash_duo.find_element(f"#{pp.DETAIL}").is_displayed()
    first_row = f"#{pp.OVERVIEW} .ag-center-cols-container .ag-row[row-index='0'] .producer-name"
    dash_duo.find_element(first_row).click()
    dash_duo.wait_for_contains_text(f"#{pp.FIGURES}", "Jeux actifs", timeout=20)
    dash_duo.wait_for_contains_text(f"#{pp.FIGURES}", biggest[:20], timeout=10)
    assert dash_duo.find_element(f"#{pp.DETAIL}").is_displayed()

    open_tab("Comparer")
    dash_duo.wait_for_element(f"#{cp.COLUMNS} .list-group-item", timeout=20)
    assert dash_duo.find_element(f"#{cp.INPUT}").get_attribute("value") == texts.EXAMPLE_QUESTIONS[0]
    assert len(dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{cp.COLUMNS} .card")) == 3

    open_tab("Territoires")
    dash_duo.wait_for_contains_text(f"#{tp.SUMMARY}", "France", timeout=10)
    dash_duo.wait_for_element(f"#{tp.DATASETS} .ag-center-cols-container .ag-row", timeout=10)
    top = explorer.territories.most_named(1)[0]
    dash_duo.wait_for_contains_text(f"#{tp.TOP}", top["label"], timeout=10)
    assert dash_duo.get_logs() == []
