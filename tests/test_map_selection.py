"""A lasso or box selection on the map: its panel, summary, CSV export and callback
(components/selection.py, models/serve/selection.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.map_page import open_map


def test_selection_summary_and_export(explorer):
    from models.serve.selection import EXPORT_COLUMNS, export_frame, summarize

    rows = [*range(0, 120, 2), 3, 3, "x", -1, 10_000, True]  # duplicates and junk ignored
    s = summarize(explorer, rows)
    assert s["n"] == 61
    assert sum(p["n"] for p in s["producers"]) <= 61
    assert s["producers"] == sorted(s["producers"], key=lambda p: -p["n"])
    assert sum(s["years"]["n"]) + s["years"]["left_out"] == 61
    shares = [t["share"] for t in s["topics"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-9
    frame = export_frame(explorer.datasets, rows)
    assert list(frame.columns) == EXPORT_COLUMNS and len(frame) == 61
    assert frame["id"].tolist() == explorer.datasets["id"].iloc[[*range(0, 120, 2), 3]].tolist()
    hostile = explorer.datasets.iloc[:1].copy()
    hostile["title"] = "=HYPERLINK(\"http://x\")"
    assert export_frame(hostile, [0])["title"].iat[0].startswith("'=")  # no formula in a spreadsheet
    assert summarize(explorer, [])["n"] == 0


@pytest.mark.browser
def test_lasso_selection_exports_the_panels_rows(dash_duo, app, explorer):
    import re
    import time
    from pathlib import Path

    from dash.testing.wait import until

    from components import ids

    open_map(dash_duo, app)
    driver = dash_duo.driver
    # The selection as plotly reports a lasso: the points inside a diamond around the middle of
    # the map, sent through plotly's own "plotly_selected" event, which dcc.Graph turns into
    # selectedData. (A mouse-drawn lasso needs WebGL picking, which software WebGL in headless
    # Chromium loses once the page holds many WebGL plots; the path after the event is the same.)
    selected = driver.execute_script("""
        const g = document.querySelector('#map .js-plotly-plot');
        const t = g._fullData[0];
        const xs = t.x, ys = t.y;
        let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
        for (let i = 0; i < xs.length; i++) {
            x0 = Math.min(x0, xs[i]); x1 = Math.max(x1, xs[i]);
            y0 = Math.min(y0, ys[i]); y1 = Math.max(y1, ys[i]);
        }
        const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, rx = (x1 - x0) / 4, ry = (y1 - y0) / 4;
        const points = [];
        for (let i = 0; i < xs.length; i++) {
            if (Math.abs(xs[i] - cx) / rx + Math.abs(ys[i] - cy) / ry <= 1) {
                points.push({curveNumber: 0, pointNumber: i, pointIndex: i, x: xs[i], y: ys[i]});
            }
        }
        g.emit('plotly_selected', {points: points});
        return points.map(p => p.pointIndex);
    """)
    dash_duo.wait_for_element(f"#{ids.SELECTION_COUNT}", timeout=60)
    until(lambda: re.sub(r"\D", "", dash_duo.find_element(f"#{ids.SELECTION_COUNT}").text) != "", timeout=60)
    n = int(re.sub(r"\D", "", dash_duo.find_element(f"#{ids.SELECTION_COUNT}").text))
    assert 0 < n < explorer.n and n == len(selected)  # the panel counts what the map selected

    button = dash_duo.find_element(f"#{ids.SELECTION_EXPORT}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    target = Path(dash_duo.download_path) / "selection-carte.csv"
    until(lambda: target.exists() and target.stat().st_size > 0, timeout=60)
    time.sleep(0.5)  # the browser finishes writing
    frame = pd.read_csv(target, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["id", "title", "producer", "url", "created_at", "last_modified"]
    assert len(frame) == n  # the CSV holds exactly the panel's count
    assert set(frame["id"]) == set(explorer.datasets["id"].iloc[sorted(selected)])
    assert dash_duo.get_logs() == []


def test_selection_panel_builds(explorer):
    from components.selection import selection_panel
    from models.serve.selection import summarize

    panel = selection_panel(summarize(explorer, list(range(50))))
    text = str(panel)
    assert "selection-count" in text and "jeux de données sélectionnés" in text
    assert "Sélectionnez des jeux de données" in str(selection_panel(None))


def test_selection_callback_reads_row_ids_only(app, client, explorer):
    """The browser sends the lasso as row ids (a 20,000-point lasso stays far below the request
    limit); the panel counts the valid distinct ones; junk never breaks it."""
    from components import ids
    from tests.uihelpers import call, text

    out = f"{ids.SELECTION_PANEL}.children"
    rows = [3, 7, 7, 11, 10**9, -4, "12", None, True, 2.5]
    resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": {"rows": rows}})
    assert resp[ids.MAP_SELECTION]["data"] == {"rows": [3, 7, 11]}
    assert "3" in text(resp[ids.SELECTION_PANEL]["children"]).split()
    for junk in (None, {}, {"rows": "x"}, {"rows": [None]}, [1, 2], "x" * 10_000):
        resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": junk})
        assert resp[ids.MAP_SELECTION]["data"] is None
    big = {"rows": list(range(explorer.n)) * 3}  # longer than the catalogue: capped, deduplicated
    resp = call(app, client, out, {f"{ids.MAP_SELECTED_ROWS}.data": big})
    assert resp[ids.MAP_SELECTION]["data"]["rows"] == list(range(explorer.n))
