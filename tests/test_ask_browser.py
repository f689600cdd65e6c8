"""« Demander » in headless Chromium: a three-turn dialogue with a clarifying question, and the
map lights up with the answers."""

from __future__ import annotations

import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ask_page as ap
from components import ids
from components.map import HIGHLIGHT_TRACE
from models.core.config import AppSettings
from tests.browser_helpers import BROWSER_MARKS, TIMEOUT, free_port, trace_value, wait
from tests.uihelpers import HOSTILE

pytestmark = BROWSER_MARKS


def topic_words(explorer) -> str:
    for row in sorted(explorer.assistant.facts.best_territory):
        words = [w for w in str(explorer.datasets["title"].iat[row]).split() if len(w) > 4 and w.isalpha()]
        if len(words) >= 2:
            return " ".join(words[:2])
    pytest.fail("no usable title in the fixture")


def ask(dash_duo, text: str) -> None:
    box = dash_duo.find_element(f"#{ap.INPUT}")
    box.send_keys(text + "\n")


def test_three_turns_with_a_clarifying_question_light_up_the_map(dash_duo, built_root, explorer):
    app = create_app(AppSettings(artifacts=built_root), explorer=explorer)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=TIMEOUT)
    tab = dash_duo.driver.find_element("xpath", "//a[contains(@class, 'nav-link') and text()='Demander']")
    tab.click()
    dash_duo.wait_for_element(f"#{ap.INPUT}", timeout=TIMEOUT)

    # 1. a place with several communes: one clarifying question, with buttons
    ask(dash_duo, f"{topic_words(explorer)} à Saint-Denis {HOSTILE}")
    dash_duo.wait_for_element(".ask-clarify button", timeout=TIMEOUT)
    buttons = dash_duo.find_elements(".ask-clarify button")
    labels = [b.text for b in buttons]
    assert 3 <= len(buttons) <= 6 and labels[-1] == "Peu importe"
    assert dash_duo.find_elements(f"#{ap.TRANSCRIPT} script") == []

    # 2. the person picks a commune
    buttons[0].click()
    wait(dash_duo, lambda: len(dash_duo.find_elements(".ask-user")) == 2)
    assert dash_duo.find_elements(".ask-user")[1].text == labels[0]
    wait(dash_duo, lambda: all(not b.is_enabled() for b in dash_duo.find_elements(".ask-clarify button")))

    # 3. « montre-les sur la carte »: the map page, the answers highlighted
    ask(dash_duo, "montre-les sur la carte")
    wait(dash_duo, lambda: len(dash_duo.find_elements(".ask-user")) == 3)
    wait(dash_duo, lambda: (trace_value(dash_duo, HIGHLIGHT_TRACE, "customdata") or []) != [])
    rows = trace_value(dash_duo, HIGHLIGHT_TRACE, "customdata")
    assert 1 <= len(rows) <= 5
    active = dash_duo.driver.find_element("css selector", ".nav-link.active").text
    assert active == "Carte"
    assert dash_duo.driver.execute_script("return window.__xss === undefined")
    assert dash_duo.get_logs() == []
