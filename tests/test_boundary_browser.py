"""In headless Chromium (issue 14): a description holding a tracking pixel and script links
fetches nothing and runs nothing when its card opens, and the whole app works under the
Content-Security-Policy (no violation in the console, the WebGL map draws, a search answers)."""

from __future__ import annotations

import shutil
import time

import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ids
from models.core.config import AppSettings
from tests.browser_helpers import BROWSER_MARKS, WEBGL_DRAWN, free_port, wait
from tests.builders import build_with_crafted_row

pytestmark = BROWSER_MARKS

PIXEL_ID = "pixel-0001"


PIXEL_HOST = "http://127.0.0.1:9"  # the discard port: any fetch would show in the resource timings


@pytest.fixture(scope="module")
def pixel_root(tmp_path_factory):
    pixel_server = PIXEL_HOST
    folder = tmp_path_factory.mktemp("pixel")
    description = (f"Suivi des piscines. ![a [b] c]({pixel_server}/nested.png)\n\n"
                   f"![x\n[y]]({pixel_server}/multiline.png) "
                   f"[![badge]({pixel_server}/badge.png)](https://www.data.gouv.fr)\n"
                   f"[a [b] c](javascript:window.__xss=3) [lien](javascript:window.__xss=4)\n"
                   f"<img src=\"{pixel_server}/html.png\">\n\nFin de la description.")
    root = build_with_crafted_row(folder, {"id": PIXEL_ID, "title": "Piscines municipales",
                                           "description": description, "organization": "Ville",
                                           "tags": "piscines"})
    yield root
    shutil.rmtree(folder, ignore_errors=True)


def test_description_images_fetch_nothing_and_the_app_works_under_csp(pixel_root, dash_duo):
    app = create_app(AppSettings(artifacts=pixel_root))
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=90)
    # scattergl (WebGL) draws under the CSP: no « WebGL is not supported » notice, lit pixels
    wait(dash_duo, lambda: dash_duo.driver.execute_script(WEBGL_DRAWN) > 0)
    notices = f"return document.querySelectorAll('#{ids.MAP} .no-webgl').length"
    assert dash_duo.driver.execute_script(notices) == 0
    dash_duo.driver.get(f"{dash_duo.server_url}/?q=piscines&mode=keyword&id={PIXEL_ID}")
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", "Fin de la description", timeout=90)
    details = dash_duo.find_element(f"#{ids.DETAILS}")
    assert "Suivi des piscines" in details.text and "badge" in details.text
    assert details.find_elements("css selector", "img") == []
    hrefs = [a.get_attribute("href") or "" for a in details.find_elements("css selector", "a")]
    assert not [h for h in hrefs if not h.startswith(("http://", "https://"))], hrefs
    dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=90)  # the search answered
    time.sleep(1.0)
    entries = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [e for e in entries if not e.startswith(dash_duo.server_url)], entries  # nothing left the page
    assert dash_duo.driver.execute_script("return typeof window.__xss") == "undefined"
    # every page with plotly figures draws under the CSP (no inline script)
    for label in ("Thèmes", "Producteurs", "Qualité de la recherche"):
        dash_duo.driver.find_element(
            "xpath", f"//a[contains(@class, 'nav-link') and normalize-space()='{label}']").click()
        dash_duo.wait_for_element(".tab-pane.active .js-plotly-plot .main-svg", timeout=90)
    # no WebGL figure of any page fell back to plotly's « WebGL is not supported » notice
    assert dash_duo.driver.execute_script("return document.querySelectorAll('.no-webgl').length") == 0
    assert dash_duo.get_logs() == []  # no CSP violation, no error
    wait(dash_duo, lambda: "Piscines municipales" in dash_duo.find_element(f"#{ids.RESULTS}")
         .get_attribute("textContent"))
