"""How fast the pages are useful on first open, measured in headless Chromium.

    python scripts/bench/first_open.py --artifacts DIR [--runs 3] [--json]

Serves ``create_app`` on a free local port (werkzeug, threaded, as ``python app.py`` does;
:func:`scripts.bench.browser.serve`), then in a fresh browser for each run: opens the app, clicks
the "Producteurs" tab and waits for the overview grid's first row (the biggest producer); also
the "Comparer" columns (compared on load) and the "Territoires" list (rendered with the layout).
Prints the times, the sizes of what goes on the wire (the whole layout, the producers page's share
of it, one page of the grid) and the server time of the grid's page requests (first one included:
it computes the quality scores of every dataset). Needs chromium and chromedriver on PATH (Debian
``chromium``, ``chromium-driver``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.browser import browser, serve, wait

log = logging.getLogger("first_open")


# after a grid click: each callback request (its outputs, when it left and came back, ms from the
# click) and the browser's long tasks (start, duration): where a slow page spends its time
TRACE_JS = """
window.__t0 = performance.now(); window.__calls = []; window.__long = [];
const f0 = window.fetch;
window.fetch = function(u, o) {
  const t = performance.now(); let out = '';
  try { out = JSON.parse((o && o.body) || '{}').output || ''; } catch (e) {}
  return f0.apply(this, arguments).then(r => {
    window.__calls.push([String(out).slice(0, 80), Math.round(t - window.__t0),
                         Math.round(performance.now() - window.__t0)]);
    return r; });
};
new PerformanceObserver(list => list.getEntries().forEach(e => window.__long.push(
  [Math.round(e.startTime - window.__t0), Math.round(e.duration)]))).observe({entryTypes: ['longtask']});
"""


def one_run(url: str, biggest: str) -> dict:
    from selenium.webdriver.common.by import By

    from components import compare_page as cp
    from components import ids
    from components import producers_page as pp
    from components import territories_page as tp

    driver = browser()
    try:
        t0 = time.perf_counter()
        driver.get(url)
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link"))
        t_shell = time.perf_counter() - t0
        tab = next(a for a in driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link")
                   if a.text.strip() == "Producteurs")
        t1 = time.perf_counter()
        tab.click()
        rows = f"#{pp.OVERVIEW} .ag-center-cols-container .ag-row"
        wait(lambda: any(biggest[:30] in r.text for r in driver.find_elements(By.CSS_SELECTOR, rows)
                         if r.is_displayed()))
        t_grid = time.perf_counter() - t1
        n_rows = len(driver.find_elements(By.CSS_SELECTOR, rows))
        driver.execute_script(TRACE_JS)
        profile = os.environ.get("FIRST_OPEN_PROFILE")
        if profile:
            driver.execute_cdp_cmd("Profiler.enable", {})
            driver.execute_cdp_cmd("Profiler.setSamplingInterval", {"interval": 1000})
            driver.execute_cdp_cmd("Profiler.start", {})
        t2 = time.perf_counter()
        driver.find_element(By.CSS_SELECTOR, f"{rows}[row-index='0'] .producer-name").click()
        wait(lambda: "Jeux actifs" in driver.find_element(By.ID, pp.FIGURES).text, timeout=180)
        t_detail = time.perf_counter() - t2
        time.sleep(1.0)
        trace = driver.execute_script("return [window.__calls, window.__long]")
        if profile:
            Path(profile).write_text(json.dumps(driver.execute_cdp_cmd("Profiler.stop", {})["profile"]))
        tab = next(a for a in driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link")
                   if a.text.strip() == "Comparer")
        t3 = time.perf_counter()
        tab.click()
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, f"#{cp.COLUMNS} .list-group-item"))
        t_compare = time.perf_counter() - t3
        tab = next(a for a in driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link")
                   if a.text.strip() == "Territoires")
        tab.click()
        wait(lambda: "France" in driver.find_element(By.ID, tp.SUMMARY).text)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        return {"shell_s": round(t_shell, 3), "producers_grid_after_tab_click_s": round(t_grid, 3),
                "grid_rows_in_dom": n_rows, "producer_detail_after_row_click_s": round(t_detail, 3),
                "compare_filled_after_tab_click_s": round(t_compare, 3), "console_errors": len(errors),
                "producer_click_callbacks_ms": trace[0], "producer_click_long_tasks_ms": trace[1]}
    finally:
        driver.quit()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from app import after_start, create_app, prepare_process
    from components import producers_page as pp
    from models.core.config import AppSettings

    settings = AppSettings(artifacts=Path(args.artifacts))
    prepare_process(settings)
    t = time.perf_counter()
    app = create_app(settings)
    start_s = time.perf_counter() - t
    after_start(settings)  # the collector on again, memory given back
    client = app.server.test_client()
    layout = client.get("/_dash-layout").data
    page = json.dumps(next(
        t for t in _tabs(json.loads(layout)) if t["props"].get("tab_id") == "producteurs"))

    # the grid's page requests, as the browser sends them, timed on the server
    def grid(sort=None, filters=None):
        body = {"output": f"{pp.OVERVIEW}.getRowsResponse",
                "outputs": {"id": pp.OVERVIEW, "property": "getRowsResponse"},
                "inputs": [{"id": pp.OVERVIEW, "property": "getRowsRequest",
                            "value": {"startRow": 0, "endRow": pp.OVERVIEW_PAGE_SIZE,
                                      "sortModel": sort or [], "filterModel": filters or {}}}],
                "changedPropIds": [f"{pp.OVERVIEW}.getRowsRequest"]}
        t0 = time.perf_counter()
        r = client.post("/_dash-update-component", json=body)
        return time.perf_counter() - t0, r.data

    first_s, first = grid()
    rows = json.loads(first)["response"][pp.OVERVIEW]["getRowsResponse"]
    timings = {"default": [], "sort_score": [], "filter_name": []}
    for _ in range(5):
        timings["default"].append(grid()[0])
        timings["sort_score"].append(grid([{"colId": "score", "sort": "asc"}])[0])
        timings["filter_name"].append(grid(None, {"organization": {"filterType": "text", "type": "contains",
                                                                   "filter": "commune"}})[0])
    out = {
        "artifacts": str(args.artifacts), "n_producers": rows["rowCount"], "app_start_s": round(start_s, 1),
        "layout_bytes": len(layout), "producers_page_layout_bytes": len(page),
        "grid_page_rows": len(rows["rowData"]), "grid_page_bytes": len(first),
        "grid_first_request_server_s": round(first_s, 3),
        **{f"grid_{k}_server_ms_median": round(1000 * statistics.median(v), 1) for k, v in timings.items()},
    }
    biggest = rows["rowData"][0]["organization"]

    url = serve(app)
    runs = [one_run(url, biggest) for _ in range(args.runs)]
    out["browser_runs"] = runs
    for key in ("producers_grid_after_tab_click_s", "producer_detail_after_row_click_s",
                "compare_filled_after_tab_click_s", "shell_s"):
        out[f"{key}_median"] = statistics.median(r[key] for r in runs)
    sys.stdout.write(json.dumps(out, indent=None if args.json else 2) + "\n")
    return 0


def _tabs(node) -> list[dict]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if n.get("type") == "Tab":
                out.append(n)
            stack.extend(n.get("props", n).values() if "props" in n else n.values())
        elif isinstance(n, list):
            stack.extend(n)
    return out


if __name__ == "__main__":
    sys.exit(main())
