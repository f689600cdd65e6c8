"""Browser-side timings of the map (headless Chromium, software WebGL) on a build:

    python scripts/bench/map_browser_bench.py --artifacts DIR [--json]

* ``label_update_ms`` — zoom (Plotly.relayout of the axes) to region labels placed: the
  placement and the annotations' redraw (``data-label-ms``, median over 6 zooms);
* ``play_fps`` — frames of the year play drawn per second, over 6 s (``play_ticks_per_s``: the
  timer's ticks; a tick finding the previous frame still drawing is skipped); ``fade_frame_ms``
  (median) / ``fade_frame_max_ms``: a frame's mask, count and drawing of the kept points on the
  lit layer (assets/30-map-mask.js); ``play_painted_fps`` / ``fade_frame_painted_ms`` the same
  frames once on screen (the second animation frame after the drawing);
* ``slider_frame_ms`` — the year slider set to a new year (as a hand on the slider does): from
  the new value to its frame on screen, through Dash's clientside callback (median of 6);
  ``pan_with_fading_ms`` a pan of the faded map, the WebGL redraw and the lit layer's (median of 3);
* ``selection_panel_ms`` — a box selection of about ``--select`` points (default 5,000): from the
  selection event to the panel's count shown (the browser's reading of the points, the server's
  summary, the render); ``selection_requests_ms`` when the callbacks reading the selection leave
  and are answered; ``box_redraw_ms`` the box's own redraw of the map before the event.

``layout_components``: the Dash components of the whole layout on first open (Dash's renderer
re-checks each of them at every update, anywhere in the app); ``layout_largest``: the subtrees
with an id holding more than 150 of them.

Starts ``python app.py`` on a free port (stopped at the end) and drives Chromium with selenium.
Times include the software renderer's cost: a laptop with a GPU is faster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.bench.browser import browser, free_port, wait  # noqa: E402

GD = "document.querySelector('#map .js-plotly-plot')"


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--artifacts", required=True)
    p.add_argument("--select", type=int, default=5000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    port = free_port()
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--artifacts", args.artifacts,
                            "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    driver = None
    out: dict = {}
    try:
        driver = browser(1400, 1000)
        wait(lambda: driver.get(f"http://127.0.0.1:{port}/") or True, timeout=180, step=0.5)
        js = lambda s, *a: driver.execute_script(s, *a)  # noqa: E731
        wait(lambda: js(f"return {GD} && {GD}.dataset.labelCount"), timeout=180)
        # Dash components in the layout: the renderer re-checks each of them at every update
        out["layout_components"] = js(
            "let n = 0; const walk = (o) => { if (!o || typeof o !== 'object') { return; }"
            " if (Array.isArray(o)) { o.forEach(walk); return; }"
            " if (o.type && o.namespace && o.props) { n++; walk(o.props); return; }"
            " Object.values(o).forEach(walk); };"
            " walk(window.store.getState().layout); return n;")
        # and the largest subtrees with an id (> 150 components): where they are
        out["layout_largest"] = js(
            "const size = (o) => { let k = 0; const w = (x) => { if (!x || typeof x !== 'object') { return; }"
            " if (Array.isArray(x)) { x.forEach(w); return; }"
            " if (x.type && x.namespace && x.props) { k++; Object.values(x.props).forEach(w); return; }"
            " Object.values(x).forEach(w); }; w(o); return k; };"
            "const out = {}; const walk = (o) => { if (!o || typeof o !== 'object') { return; }"
            " if (Array.isArray(o)) { o.forEach(walk); return; }"
            " if (o.type && o.namespace && o.props) { const id = o.props.id;"
            "  if (typeof id === 'string' && id !== 'pages') {"
            "   const k = size(o); if (k > 150) { out[id] = k; } }"
            "  Object.values(o.props).forEach(walk); return; }"
            " Object.values(o).forEach(walk); };"
            " walk(window.store.getState().layout); return out;")
        x0, x1 = js(f"return {GD}._fullLayout.xaxis.range")
        y0, y1 = js(f"return {GD}._fullLayout.yaxis.range")
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        times = []
        for f in (1.5, 2.5, 4, 6, 3, 1.2):
            js(f"{GD}.dataset.labelMs = ''")
            hx, hy = (x1 - x0) / f / 2, (y1 - y0) / f / 2
            js(f"Plotly.relayout({GD}, {{'xaxis.range': [{cx - hx}, {cx + hx}], "
               f"'yaxis.range': [{cy - hy}, {cy + hy}]}})")
            with contextlib.suppress(TimeoutError):  # the same labels as before: nothing redrawn
                times.append(float(wait(lambda: js(f"return {GD}.dataset.labelMs"), timeout=20)))
        out["label_update_ms"] = round(statistics.median(times), 1) if times else None
        out["label_updates_measured"] = len(times)
        js(f"Plotly.relayout({GD}, {{'xaxis.range': [{x0}, {x1}], 'yaxis.range': [{y0}, {y1}]}})")

        # play: the filter switches on, the window moves a year per frame
        js("document.getElementById('map-time-play').click()")
        wait(lambda: js("return window.__maskFrames && window.__maskFrames.length > 2"), timeout=120)
        js("window.__maskFrames = []")
        time.sleep(6)
        frames = js("return window.__maskFrames.slice()")
        js("document.getElementById('map-time-play').click()")
        span_s = (frames[-1] - frames[0]) / 1000 if len(frames) > 1 else 0
        out["play_fps"] = round((len(frames) - 1) / span_s, 2) if span_s else 0.0
        ticks = js("return (window.__tickTimes || []).slice()")
        out["play_ticks_per_s"] = round(len([t for t in ticks if t >= frames[0]]) / 6, 2) if frames else 0
        ms = js("return (window.__maskFrameMs || []).slice(-Math.max(1, arguments[0]))", len(frames))
        out["fade_frame_ms"] = round(statistics.median(ms), 1) if ms else None
        out["fade_frame_max_ms"] = round(max(ms), 1) if ms else None
        painted = [t for t in js("return (window.__maskPainted || []).slice()") if t >= frames[0]]
        span_p = (painted[-1] - painted[0]) / 1000 if len(painted) > 1 else 0
        out["play_painted_fps"] = round((len(painted) - 1) / span_p, 2) if span_p else 0.0
        pms = js("return (window.__maskPaintMs || []).slice(-Math.max(1, arguments[0]))", len(painted))
        out["fade_frame_painted_ms"] = round(statistics.median(pms), 1) if pms else None
        # the year slider moved by hand (the range set as the slider sets it): from the new value
        # to the frame drawn, through Dash's clientside callback
        slider = []
        for year in (2014, 2018, 2021, 2016, 2023, 2019):
            slider.append(driver.execute_async_script(
                "const done = arguments[1], n0 = (window.__maskFrames || []).length,"
                "      t0 = performance.now();"
                "window.dash_clientside.set_props('map-time-range', {value: [arguments[0], arguments[0]]});"
                "const poll = () => { const f = window.__maskFrames || [];"
                "  if (f.length > n0) { requestAnimationFrame(() => requestAnimationFrame("
                "    () => done(performance.now() - t0))); }"
                "  else if (performance.now() - t0 > 10000) { done(null); }"
                "  else { setTimeout(poll, 1); } };"
                "poll();", year))
        slider = [v for v in slider if v is not None]
        out["slider_frame_ms"] = round(statistics.median(slider), 1) if slider else None
        out["slider_frames_measured"] = len(slider)
        # a pan with the year filter on: the lit layer follows (redrawn in the next animation frame)
        pan = []
        for f in (0.1, -0.2, 0.1):
            pan.append(driver.execute_async_script(
                "const done = arguments[1], g = " + GD + ", d = arguments[0];"
                "const x = g._fullLayout.xaxis.range, w = x[1] - x[0], t0 = performance.now();"
                "Plotly.relayout(g, {'xaxis.range': [x[0] + d * w, x[1] + d * w]}).then(() =>"
                "  requestAnimationFrame(() => done(performance.now() - t0)));", f))
        out["pan_with_fading_ms"] = round(statistics.median(pan), 1)
        js("document.getElementById('map-time-on').click()")

        # a box selection around the centre, grown until it holds about --select points
        coords = js(f"const t = {GD}._fullData[0]; return [Array.from(t.x), Array.from(t.y)];")
        import numpy as np

        xs, ys = np.asarray(coords[0]), np.asarray(coords[1])
        mx, my = np.median(xs), np.median(ys)
        d = np.maximum(np.abs(xs - mx) / (np.ptp(xs) or 1), np.abs(ys - my) / (np.ptp(ys) or 1))
        r = float(np.sort(d)[min(args.select, len(d)) - 1])
        sx, sy = r * (np.ptp(xs) or 1), r * (np.ptp(ys) or 1)
        t0 = time.perf_counter()
        js(f"Plotly.relayout({GD}, {{dragmode: 'select', selections: [{{type: 'rect', xref: 'x', yref: 'y', "
           f"x0: {mx - sx}, x1: {mx + sx}, y0: {my - sy}, y1: {my + sy}}}]}})")
        # plotly emits no selection event for a programmatic shape: send the points as it would
        idx = np.flatnonzero((np.abs(xs - mx) <= sx) & (np.abs(ys - my) <= sy))
        # the box's redraw of 70,575 points (software WebGL here) ends before the selection event:
        # wait for two animation frames, so that the time below is the selection's own
        driver.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => "
                                    "requestAnimationFrame(() => done(true)));")
        out["box_redraw_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        # when the callback request leaves and its answer comes back (the rest is the browser's)
        js("window.__sel = []; const f0 = window.fetch; window.fetch = function(u, o) {"
           " const t = performance.now(); const b = (o && o.body) || '';"
           " const mine = String(b).indexOf('map-selected-rows') >= 0;"
           " return f0.apply(this, arguments).then(r => {"
           " if (mine) window.__sel.push([t, performance.now()]); return r; }); };"
           " window.__selT0 = performance.now();")
        t0 = time.perf_counter()
        js("const g = " + GD + "; const pts = arguments[0].map(i => ({curveNumber: 0, pointIndex: i, "
           "pointNumber: i, x: g._fullData[0].x[i], y: g._fullData[0].y[i]}));"
           "g.emit('plotly_selected', {points: pts});", idx.tolist())
        count_js = "const e = document.getElementById('selection-count'); return e && e.innerText"
        text = wait(lambda: js(count_js), timeout=60, step=0.02)
        out["selection_panel_ms"] = round(1000 * (time.perf_counter() - t0), 1)
        sel = js("return (window.__sel || []).map(p => [p[0] - window.__selT0, p[1] - window.__selT0])")
        if sel:  # the callbacks reading the selection: requests sent / answered after ... ms
            out["selection_requests_ms"] = [[round(a, 1), round(b, 1)] for a, b in sel]
        out["selection_points"] = len(idx)
        out["selection_count_shown"] = text
    finally:
        if driver is not None:
            driver.quit()
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
    lines = "\n".join(f"{k}: {v}" for k, v in out.items())
    print(json.dumps(out, ensure_ascii=False) if args.json else lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
