"""Hostile catalogue text, from the export to the browser: a crafted CSV goes through the real
pipeline (fake encoder) and the app shows it in headless Chromium; nothing it holds may run."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ids
from models.core.config import AppSettings
from tests.browser_helpers import BROWSER_MARKS, free_port, wait
from tests.builders import build_with_crafted_row

pytestmark = BROWSER_MARKS

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
HOSTILE_ID = "hostile-0001"
HOSTILE_TITLE = f"Horaires des piscines {SCRIPT}{IMG}"
HOSTILE_DESCRIPTION = (f"Horaires d'ouverture des piscines municipales. {SCRIPT}\n\n{IMG}\n\n"
                       "Mise à jour chaque semaine.")


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory):
    """40 real rows of the sample plus one hostile row, built with the fake encoder."""
    folder = tmp_path_factory.mktemp("hostile")
    root = build_with_crafted_row(folder, {"id": HOSTILE_ID, "title": HOSTILE_TITLE,
                                           "description": HOSTILE_DESCRIPTION,
                                           "organization": f"Ville {IMG}", "tags": "piscines,sport"})
    yield root
    shutil.rmtree(folder, ignore_errors=True)


def test_hostile_description_is_text_and_runs_nothing(dash_duo, hostile_root):
    app = create_app(AppSettings(artifacts=hostile_root))  # the build's model: fake-64
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=60)
    dash_duo.driver.get(f"{dash_duo.server_url}/?q=piscines&mode=keyword&id={HOSTILE_ID}")
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", "Mise à jour chaque semaine", timeout=60)
    details = dash_duo.find_element(f"#{ids.DETAILS}")
    assert dash_duo.find_element(f"#{ids.DETAILS} h5").text == HOSTILE_TITLE  # the title, as text
    assert "Horaires d'ouverture des piscines municipales." in details.text
    assert f"Ville {IMG}" in details.text  # the producer, as text
    for tag in ("script", "img", "iframe"):
        assert details.find_elements("css selector", tag) == []
    # listed in the search results (a tab hidden behind the details: its textContent), as text too
    dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=60)
    def results_text():
        return dash_duo.find_element(f"#{ids.RESULTS}").get_attribute("textContent")

    wait(dash_duo, lambda: HOSTILE_TITLE in results_text())
    assert dash_duo.find_elements(f"#{ids.RESULTS} script") == []
    assert dash_duo.find_elements(f"#{ids.RESULTS} img") == []
    assert dash_duo.driver.execute_script("return typeof window.__xss") == "undefined"
    assert dash_duo.get_logs() == []
