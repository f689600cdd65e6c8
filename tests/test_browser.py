"""The app in a real browser: headless Chromium driven by dash[testing]'s ``dash_duo``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/test.sh`` installs them); the
options come from ``pytest_setup_options`` in conftest.py and ``addopts`` in pyproject.toml.
Run: ``pytest -m browser`` (or plain ``pytest``: they are part of the suite).
"""

from __future__ import annotations

import shutil
import socket
from urllib.parse import quote_plus

import numpy as np
import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from app import create_app
from components import ids
from components.map import HIGHLIGHT_TRACE, SELECTED_TRACE
from models.core.config import AppSettings
from tests.builders import with_description
from tests.uihelpers import HOSTILE

TIMEOUT = 90  # seconds: generous, CI machines have 2 busy cores
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs chromium and chromedriver on PATH "
                              "(apt-get install -y chromium chromium-driver)"),
]

# plotly.js keeps base64 arrays as given in gd.data; gd._fullData holds the decoded ones
TRACE_VALUE = """
const g = document.querySelector('#{map} .js-plotly-plot');
const t = g && g._fullData && g._fullData[{trace}];
if (!t) {{ return null; }}
return Array.from(t.{key} || []);
"""

# the map's WebGL canvas really drew points: its lit pixels (plotly keeps the drawing buffer);
# 0 when plotly shows its « WebGL is not supported » notice instead
WEBGL_DRAWN = """
const g = document.querySelector('#map .js-plotly-plot');
const gl = g && g.querySelector('canvas.gl-canvas-context');
if (!gl || !gl.width || g.querySelector('.no-webgl')) { return 0; }
const c = document.createElement('canvas');
c.width = gl.width; c.height = gl.height;
const ctx = c.getContext('2d');
ctx.drawImage(gl, 0, 0);
const px = ctx.getImageData(0, 0, c.width, c.height).data;
let k = 0;
for (let i = 3; i < px.length; i += 4) { if (px[i]) { k++; } }
return k;
"""

# the fading (assets/30-map-mask.js): the WebGL points grey, the kept ones drawn on the lit layer
LIT_POINTS = """
const g = document.querySelector('#map .js-plotly-plot');
const t = g && g.data && g.data[0];
if (!t) { return -2; }
const o = t.marker && t.marker.opacity;
const c = g.querySelector('canvas.map-mask-layer');
const lit = (cv) => {
  if (!cv || !cv.width || !cv.height) { return 0; }
  const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  let k = 0;
  for (let i = 3; i < px.length; i += 4) { if (px[i]) { k++; } }
  return k;
};
const grey = t.marker && t.marker.color === '#c9ced6';
if (!grey && (o === undefined || o === null || o === 0.8)) { return lit(c) ? -3 : -1; }  // nothing faded
if (!grey || o !== 0.45 || !c) { return -4; }  // faded: the WebGL map one light grey
const drawn = Number(g.dataset.maskDrawn);
return drawn > 0 && !lit(c) ? -5 : drawn;
"""

# the lit layer is drawn where plotly draws the points: for kept rows inside the view, the canvas
# pixel at plotly's own position of the point (its axes' l2p) is lit; returns [checked, lit]
LIT_ALIGNED = """
const g = document.querySelector('#map .js-plotly-plot');
const c = g && g.querySelector('canvas.map-mask-layer'), keep = g && g.__maskKeep;
if (!c || !keep || g.__maskBusy) { return [0, 0]; }  // no lit layer, or a restyle under way
const t = g._fullData[0], xa = g._fullLayout.xaxis, ya = g._fullLayout.yaxis, s = g._fullLayout._size;
const k = c.width / s.w, px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let checked = 0, lit = 0;
for (let i = 0; i < keep.length && checked < 300; i++) {
  if (!keep[i]) { continue; }
  const x = Math.round(xa.l2p(t.x[i]) * k), y = Math.round(ya.l2p(t.y[i]) * k);
  if (x < 2 || y < 2 || x >= c.width - 2 || y >= c.height - 2) { continue; }
  checked++;
  if (px[(y * c.width + x) * 4 + 3]) { lit++; }
}
return [checked, lit];
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trace_value(dash_duo, trace: int, key: str):
    return dash_duo.driver.execute_script(TRACE_VALUE.format(map=ids.MAP, trace=trace, key=key))


def trace_len(dash_duo, trace: int, key: str = "x") -> int:
    value = trace_value(dash_duo, trace, key)
    return -1 if value is None else len(value)


def wait(dash_duo, predicate, timeout: float = TIMEOUT):
    from dash.testing.wait import until

    until(predicate, timeout=timeout)




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
