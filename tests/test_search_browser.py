"""Search filters in a real browser (headless Chromium, ``dash_duo``): a shared link with filters,
the map fading the points outside them, a facet click, bad input from the URL."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from components import ids
from tests.browser_helpers import BROWSER_MARKS, LIT_POINTS, TIMEOUT, free_port, wait

pytestmark = BROWSER_MARKS


def selected_count(dash_duo) -> int:
    """Points left bright by the fading (drawn on the lit layer, which then has lit pixels, over
    a grey WebGL map); -1: nothing faded (colours, full opacity, empty lit layer); < -1: inconsistent."""
    return dash_duo.driver.execute_script(LIT_POINTS)


def js_click(dash_duo, element) -> None:
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   element)


def open_url(dash_duo, search: str) -> None:
    dash_duo.driver.get(dash_duo.server_url + "/" + search)
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)


def test_shared_link_with_filters_fades_the_map_and_a_facet_filters(dash_duo, app, explorer, caplog):
    cat = explorer.catalogue
    fmt = cat.counts("format", np.arange(cat.n))[0]
    dash_duo.start_server(app, port=free_port())
    open_url(dash_duo, f"?q=donn%C3%A9es&format={fmt.value}")
    dash_duo.wait_for_element(f"#{ids.RESULTS} .result-card", timeout=TIMEOUT)
    # the map: every point outside the filter fades, the count is stated
    wait(dash_duo, lambda: selected_count(dash_duo) == fmt.count)
    dash_duo.wait_for_contains_text(f"#{ids.MAP_FILTER_NOTE}", "correspond", timeout=TIMEOUT)
    cards = dash_duo.find_elements(f"#{ids.RESULTS} .result-card")
    assert len(cards) == min(20, fmt.count)
    # the year filter combines with the search filters (one fading): both must keep a point
    from models.serve.map_time import row_years

    created = row_years(explorer.datasets, "created")
    fmask = cat.mask({"format": [fmt.value]})
    years, counts = np.unique(created[fmask & (created >= 1990)], return_counts=True)
    year = int(years[np.argmax(counts)])
    switch = dash_duo.find_element(f"#{ids.MAP_TIME_ON}")
    js_click(dash_duo, switch)
    dash_duo.driver.execute_script(
        f"window.dash_clientside.set_props('{ids.MAP_TIME_RANGE}', {{value: [{year}, {year}]}});")
    both = int((fmask & (created == year)).sum())
    wait(dash_duo, lambda: selected_count(dash_duo) == both)
    dash_duo.wait_for_contains_text(f"#{ids.MAP_TIME_COUNT}", "avec les filtres de la recherche",
                                    timeout=TIMEOUT)
    js_click(dash_duo, switch)  # years off: the filters alone
    wait(dash_duo, lambda: selected_count(dash_duo) == fmt.count)
    # removing the filter chip clears the fade and the URL
    chip = dash_duo.find_element(f"#{ids.SEARCH_CHIPS} button")
    js_click(dash_duo, chip)
    wait(dash_duo, lambda: selected_count(dash_duo) == -1)
    wait(dash_duo, lambda: "format=" not in dash_duo.driver.current_url)
    # a facet checkbox of the « Filtres » tab filters again and goes into the URL
    tab_links = [a for a in dash_duo.find_elements(f"#{ids.SIDE_TABS} .nav-link") if "Filtres" in a.text]
    tab_links[0].click()
    box = dash_duo.find_elements(f"#{ids.FILTERS_PANEL} input[type=checkbox]")[0]
    box.click()
    from models.serve.filters import FILTER_KEYS

    wait(dash_duo, lambda: any(f"{k}=" in dash_duo.driver.current_url for k in FILTER_KEYS))
    wait(dash_duo, lambda: selected_count(dash_duo) > 0)
    # every request the browser sent had the structure the server checks (issue 23): none refused
    assert not [r.getMessage() for r in caplog.records if "request refused" in r.getMessage()]


def test_bad_input_from_the_url(dash_duo, app):
    dash_duo.start_server(app, port=free_port())
    # unknown filter values: a French message, the search still runs
    open_url(dash_duo, "?q=budget&producer=nope&year=demain")
    dash_duo.wait_for_contains_text(f"#{ids.SEARCH_MESSAGES}", "ignoré", timeout=TIMEOUT)
    dash_duo.wait_for_element(f"#{ids.RESULTS} .result-card", timeout=TIMEOUT)
    # contradictory filters: a message and a way back
    open_url(dash_duo, "?q=budget&year=2015&modified=2001")
    dash_duo.wait_for_contains_text(f"#{ids.RESULTS}", "Aucun jeu de données ne correspond", timeout=TIMEOUT)
    dash_duo.find_element(f"#{ids.RESULTS} .no-result button").click()
    dash_duo.wait_for_element(f"#{ids.RESULTS} .result-card", timeout=TIMEOUT)
    wait(dash_duo, lambda: "year=" not in dash_duo.driver.current_url)
    # HTML and a 10,000-character query: shown as text, capped, nothing injected
    hostile = "<img src=x onerror=window.__pwned=1>" + "budget " * 1500
    open_url(dash_duo, "?q=" + quote(hostile) + "&format=csv")
    dash_duo.wait_for_contains_text(f"#{ids.RESULTS_HEADER}", "<img", timeout=TIMEOUT)
    assert dash_duo.driver.execute_script("return window.__pwned === undefined")
    assert not dash_duo.find_elements(f"#{ids.RESULTS_HEADER} img")
    assert len(dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value")) <= 500


def test_quality_page_lists_each_query_in_a_grid(dash_duo, app):
    """The search-quality page: the labelled file chosen by default is evaluated, each query is a
    row of one grid with its rank per mode, coloured (1: bold green, none: red « — »)."""
    from selenium.webdriver.common.by import By

    from components import quality_page as qp

    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.TABS}", timeout=TIMEOUT)
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip().startswith("Qualité"))
    dash_duo.driver.execute_script("arguments[0].click();", tab)
    dash_duo.wait_for_element(f"#{qp.TABLE} .ag-center-cols-container .ag-row", timeout=TIMEOUT)
    summary = dash_duo.wait_for_element(f"#{qp.SUMMARY}", timeout=TIMEOUT).text
    rows = dash_duo.find_elements(f"#{qp.TABLE} .ag-center-cols-container .ag-row")
    assert 0 < len(rows) <= 20 and "requêtes évaluées" in summary
    cells = dash_duo.find_elements(f"#{qp.TABLE} .ag-cell[col-id^='rank_']")
    assert cells
    for cell in cells:
        text, cls = cell.text.strip(), cell.get_attribute("class")
        assert text == "—" or text.isdigit()
        if text == "1":
            assert "text-success" in cls and "fw-bold" in cls
        if text == "—":
            assert "text-danger" in cls
    assert dash_duo.get_logs() == []


def test_a_misspelt_query_is_corrected_and_says_so(dash_duo, app, explorer):
    """Only a typo: its correction is searched, the notice offers the query as typed (one click);
    a typo beside a word the catalogue knows: searched as typed, the correction offered."""
    from tests.test_spelling import _frequent_title_word, _other_word, _typo

    word = _frequent_title_word(explorer)
    typo = _typo(word)
    note = f"#{ids.SEARCH_MESSAGES} .spelling-note"
    dash_duo.start_server(app, port=free_port())
    open_url(dash_duo, "?q=" + quote(typo))
    dash_duo.wait_for_contains_text(f"#{ids.SEARCH_MESSAGES}", "Chercher plutôt", timeout=TIMEOUT)
    assert f"Résultats pour «\u202f{word}\u202f»" in dash_duo.find_element(note).text
    dash_duo.wait_for_element(f"#{ids.RESULTS} .result-card", timeout=TIMEOUT)
    assert word in dash_duo.find_element(f"#{ids.RESULTS_HEADER}").text
    assert dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value") == typo  # as typed
    # the link: the typed word between double quotes, searched as typed, no notice
    js_click(dash_duo, dash_duo.find_element(f"{note} a.spelling-link"))
    dash_duo.wait_for_contains_text(f"#{ids.RESULTS_HEADER}", f'"{typo}"', timeout=TIMEOUT)
    wait(dash_duo, lambda: not dash_duo.find_elements(note))
    assert dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value") == f'"{typo}"'
    # a typo beside a known word: searched as typed, the correction is a link
    other = _other_word(explorer, word)
    open_url(dash_duo, "?q=" + quote(f"{other} {typo}"))
    dash_duo.wait_for_contains_text(f"#{ids.SEARCH_MESSAGES}", "Vouliez-vous dire", timeout=TIMEOUT)
    assert f"{other} {typo}" in dash_duo.find_element(f"#{ids.RESULTS_HEADER}").text
    js_click(dash_duo, dash_duo.find_element(f"{note} a.spelling-link"))
    dash_duo.wait_for_contains_text(f"#{ids.RESULTS_HEADER}", f"{other} {word}", timeout=TIMEOUT)
    wait(dash_duo, lambda: not dash_duo.find_elements(note))
    assert dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value") == f"{other} {word}"
    assert dash_duo.get_logs() == []
