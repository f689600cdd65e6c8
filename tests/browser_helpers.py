"""Helpers of the tests that drive the app in headless Chromium (dash[testing]'s ``dash_duo``,
options from ``pytest_setup_options`` in conftest.py): whether the browser is there, the marks of a
browser test, a free port, the polling wait, and the scripts that read the map in the page.

Imports nothing heavy (no selenium): a module of fast tests may import it for its few browser ones.
"""

from __future__ import annotations

import shutil
import socket

import pytest

TIMEOUT = 90  # seconds: generous, CI machines have 2 busy cores
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
HAVE_BROWSER = bool(CHROMIUM and CHROMEDRIVER)
NO_BROWSER = "needs chromium and chromedriver on PATH (apt-get install -y chromium chromium-driver)"

# a browser test: ``@browser_test`` on a test, or ``pytestmark = BROWSER_MARKS`` for a whole module
# (skipped without the browser; a failure in CI, see conftest.py)
needs_browser = pytest.mark.skipif(not HAVE_BROWSER, reason=NO_BROWSER)
BROWSER_MARKS = [pytest.mark.browser, needs_browser]


def browser_test(fn):
    """Marks a test ``browser`` and skips it without chromium and chromedriver."""
    return pytest.mark.browser(needs_browser(fn))


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
    """A TCP port free on 127.0.0.1 right now (for ``dash_duo.start_server(app, port=...)``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trace_value(dash_duo, trace: int, key: str):
    """A trace's decoded array (``gd._fullData``) of the map in the page, as a list (None: no trace)."""
    from components import ids

    return dash_duo.driver.execute_script(TRACE_VALUE.format(map=ids.MAP, trace=trace, key=key))


def trace_len(dash_duo, trace: int, key: str = "x") -> int:
    value = trace_value(dash_duo, trace, key)
    return -1 if value is None else len(value)


def wait(dash_duo, predicate, timeout: float = TIMEOUT):
    """dash.testing's ``until``: ``predicate`` true within ``timeout`` seconds, else a failure."""
    from dash.testing.wait import until

    until(predicate, timeout=timeout)
