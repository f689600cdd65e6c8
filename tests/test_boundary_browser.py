"""In headless Chromium (issue 14): a description holding a tracking pixel and script links
fetches nothing and runs nothing when its card opens, and the whole app works under the
Content-Security-Policy (no violation in the console, the WebGL map draws, a search answers)."""

from __future__ import annotations

import csv
import shutil
import time

import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ids
from models.core.config import AppSettings, BuildSettings
from tests.conftest import SAMPLE
from tests.fake_encoders import FakeEncoder
from tests.test_browser import CHROMEDRIVER, CHROMIUM, free_port, wait

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs chromium and chromedriver on PATH"),
]

PIXEL_ID = "pixel-0001"


PIXEL_HOST = "http://127.0.0.1:9"  # the discard port: any fetch would show in the resource timings


@pytest.fixture(scope="module")
def pixel_root(tmp_path_factory):
    pixel_server = PIXEL_HOST
    from models.build.pipeline import STEPS, run_build

    folder = tmp_path_factory.mktemp("pixel")
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        rows = [r for r, _ in zip((r for r in reader if len(r) == len(header)
                                   and r[header.index("archived")] in ("", "False", "false")), range(40),
                                  strict=False)]
    description = (f"Suivi des piscines. ![a [b] c]({pixel_server}/nested.png)\n\n"
                   f"![x\n[y]]({pixel_server}/multiline.png) "
                   f"[![badge]({pixel_server}/badge.png)](https://www.data.gouv.fr)\n"
                   f"[a [b] c](javascript:window.__xss=3) [lien](javascript:window.__xss=4)\n"
                   f"<img src=\"{pixel_server}/html.png\">\n\nFin de la description.")
    rec = dict.fromkeys(header, "")
    rec.update({"id": PIXEL_ID, "title": "Piscines municipales", "description": description,
                "organization": "Ville", "archived": "False", "created_at": "2024-01-01T00:00:00",
                "last_modified": "2025-12-01T00:00:00", "tags": "piscines"})
    path = folder / "crafted.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerow([rec[c] for c in header])
        w.writerows(rows)
    root = folder / "artifacts"
    steps = [s for s in STEPS if s[0] != "territories"]
    run_build(BuildSettings(catalog=str(path), out=root, model="fake-64", lda_ks=(4,), lda_k=4,
                            show_progress=False), encoder=FakeEncoder(64), steps=steps)
    yield root
    shutil.rmtree(folder, ignore_errors=True)


def test_description_images_fetch_nothing_and_the_app_works_under_csp(pixel_root, dash_duo):
    app = create_app(AppSettings(artifacts=pixel_root))
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=90)
    dash_duo.wait_for_element(f"#{ids.MAP} canvas", timeout=90)  # scattergl (WebGL) drew under the CSP
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
    # every page with plotly figures draws under the CSP (no 'unsafe-eval', no inline script)
    for label in ("Thèmes", "Producteurs", "Qualité de la recherche"):
        dash_duo.driver.find_element(
            "xpath", f"//a[contains(@class, 'nav-link') and normalize-space()='{label}']").click()
        dash_duo.wait_for_element(".tab-pane.active .js-plotly-plot .main-svg", timeout=90)
    assert dash_duo.get_logs() == []  # no CSP violation, no error
    wait(dash_duo, lambda: "Piscines municipales" in dash_duo.find_element(f"#{ids.RESULTS}")
         .get_attribute("textContent"))
