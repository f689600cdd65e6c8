"""The app in a real browser: headless Chromium driven by dash[testing]'s ``dash_duo``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/test.sh`` installs them); the
options come from ``pytest_setup_options`` in conftest.py and ``addopts`` in pyproject.toml; the
helpers every browser test shares are in ``tests/browser_helpers.py``.
Run: ``pytest -m browser`` (or plain ``pytest``: they are part of the suite).
"""

from __future__ import annotations

from urllib.parse import quote_plus

import numpy as np
import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ids
from components.map import HIGHLIGHT_TRACE, SELECTED_TRACE
from models.core.config import AppSettings
from tests.browser_helpers import BROWSER_MARKS, TIMEOUT, free_port, trace_len, trace_value, wait
from tests.builders import with_description
from tests.uihelpers import HOSTILE

pytestmark = BROWSER_MARKS


@pytest.fixture
def app(built_root, explorer):
    return create_app(AppSettings(artifacts=built_root), explorer=explorer)


def test_search_highlights_results_and_selects(dash_duo, app, explorer, caplog):
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    wait(dash_duo, lambda: trace_len(dash_duo, 0) == explorer.n)  # every dataset drawn

    box = dash_duo.find_element(f"#{ids.SEARCH_INPUT}")
    assert box.get_attribute("maxlength") == str(explorer.max_query_chars)
    box.send_keys("vacances scolaires\n")  # Enter submits

    dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=TIMEOUT)
    wait(dash_duo, lambda: len(dash_duo.find_elements(f"#{ids.RESULTS} .dataset-item")) == 20)
    wait(dash_duo, lambda: trace_len(dash_duo, HIGHLIGHT_TRACE) == 20)  # the Patch overlay
    mode = dash_duo.find_element(f"#{ids.SEARCH_MODE} input:checked").get_attribute("value")
    hits = explorer.search("vacances scolaires", mode=mode, k=20)
    assert trace_value(dash_duo, HIGHLIGHT_TRACE, "customdata") == [h.row for h in hits]
    assert trace_len(dash_duo, 0) == explorer.n  # the base trace was not resent or lost
    wait(dash_duo, lambda: "q=vacances+scolaires" in dash_duo.driver.current_url)

    # clicking a result opens its details and stars it on the map
    dash_duo.find_elements(f"#{ids.RESULTS} .dataset-item")[0].click()
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", "Jeux de données similaires", timeout=TIMEOUT)
    title = explorer.datasets["title"].iloc[hits[0].row]
    assert dash_duo.find_element(f"#{ids.DETAILS} h5").text == title.strip()
    wait(dash_duo, lambda: trace_value(dash_duo, SELECTED_TRACE, "customdata") == [hits[0].row])
    wait(dash_duo, lambda: f"id={explorer.datasets['id'].iloc[hits[0].row]}" in dash_duo.driver.current_url)

    # a similar dataset is clickable too
    similar_item = dash_duo.find_elements(f"#{ids.DETAILS} .dataset-item")[0]
    # the details pane scrolls on its own: bring the item to the middle, as a person would
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", similar_item)
    similar_item.click()
    first_similar = explorer.records.similar(hits[0].row)[0].row
    wait(dash_duo, lambda: trace_value(dash_duo, SELECTED_TRACE, "customdata") == [first_similar])
    assert dash_duo.get_logs() == []
    # the renderer's requests (pattern-matching clicks included) pass the structure check (issue 23)
    assert not [r.getMessage() for r in caplog.records if "request refused" in r.getMessage()]


def test_shared_link_reproduces_the_view(dash_duo, app, explorer):
    row = 7
    ds_id = explorer.datasets["id"].iloc[row]
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    dash_duo.driver.get(f"{dash_duo.server_url}/?q={quote_plus('eau potable')}&mode=semantic&id={ds_id}")
    dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value") == "eau potable"
    wait(dash_duo, lambda: trace_len(dash_duo, HIGHLIGHT_TRACE) == 20)
    wait(dash_duo, lambda: trace_value(dash_duo, SELECTED_TRACE, "customdata") == [row])
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", "Jeux de données similaires", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_hostile_catalogue_text_never_runs(dash_duo, built_root, explorer):
    df = explorer.datasets.copy()
    df.loc[0, "title"] = HOSTILE
    df.loc[0, "organization"] = '<img src=x onerror="window.__xss=3">'
    df.loc[0, "url"] = "javascript:window.__xss=6"
    df["tags"] = [np.array(["<script>window.__xss=7</script>"], dtype=object), *df["tags"].iloc[1:]]
    exp = with_description(explorer, 0, (HOSTILE + "\n\n[clic](javascript:window.__xss=4)\n\n"
                                + "<iframe src=javascript:window.__xss=5></iframe>" + " lorem" * 400_000),
                           datasets=df)
    app = create_app(AppSettings(artifacts=built_root), explorer=exp)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    dash_duo.driver.get(f"{dash_duo.server_url}/?id={df['id'].iloc[0]}")
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", "(tronqué)", timeout=TIMEOUT)
    assert dash_duo.find_element(f"#{ids.DETAILS} h5").text == HOSTILE  # shown as text
    details = dash_duo.find_element(f"#{ids.DETAILS}")
    for tag in ("script", "img", "iframe"):
        assert details.find_elements("css selector", tag) == []
    hrefs = [a.get_attribute("href") or "" for a in details.find_elements("css selector", "a")]
    assert not any(h.startswith("javascript:window") for h in hrefs), hrefs
    assert dash_duo.driver.execute_script("return window.__xss === undefined")
    assert dash_duo.get_logs() == []
