"""The README's screenshots, taken in headless Chromium from a real build.

    python scripts/tools/screenshots.py --artifacts artifacts [--out docs/screenshots] [--width 1400]

Serves ``create_app`` on a free local port (as ``python app.py`` does), then shows each page the
way a visitor would reach it and saves one PNG per page:

* ``carte.png`` — the map lit by a search typed in plain French;
* ``demander.png`` — a question to the assistant and its answer;
* ``themes.png`` — the topics page;
* ``producteurs.png`` — the producers' overview and the biggest producer's page;
* ``territoires.png`` — the territories page.

A page that does not show what is waited for within ``--timeout`` seconds fails the script (no
half-drawn screenshot is written). Needs chromium and chromedriver on PATH (Debian ``chromium``,
``chromium-driver``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts.bench.browser import browser, serve, wait

log = logging.getLogger("screenshots")

SEARCH = "qualité de l'air"
QUESTION = "Où sont les piscines à Toulouse ?"


def click_tab(driver, label: str) -> None:
    from selenium.webdriver.common.by import By

    from components import ids

    tab = wait(lambda: next(a for a in driver.find_elements(By.CSS_SELECTOR, f"#{ids.TABS} .nav-link")
                            if a.text.strip() == label))
    driver.execute_script("arguments[0].scrollIntoView(); arguments[0].click()", tab)


def shoot(driver, out: Path, name: str) -> Path:
    time.sleep(1.5)  # transitions, map tiles and fonts settle
    path = out / f"{name}.png"
    driver.save_screenshot(str(path))
    log.info("%s written (%d KiB)", path, path.stat().st_size // 1024)
    return path


def take_all(url: str, out: Path, *, width: int, timeout: float) -> list[Path]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from components import ask_page, ids
    from components import producers_page as pp
    from components import territories_page as tp

    driver = browser()
    driver.set_window_size(width, int(width * 0.62))
    paths = []
    try:
        driver.get(f"{url}?q={quote(SEARCH)}")
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, f"#{ids.RESULTS} .list-group-item"), timeout)
        paths.append(shoot(driver, out, "carte"))

        click_tab(driver, "Demander")
        box = wait(lambda: driver.find_element(By.ID, ask_page.INPUT), timeout)
        box.send_keys(QUESTION, Keys.ENTER)
        wait(lambda: QUESTION[:20] in driver.find_element(By.ID, ask_page.TRANSCRIPT).text
             and driver.find_elements(By.CSS_SELECTOR, f"#{ask_page.TRANSCRIPT} .card"), timeout)
        paths.append(shoot(driver, out, "demander"))

        click_tab(driver, "Thèmes")
        wait(lambda: driver.find_element(By.ID, ids.TOPICS_TERMS).text.strip(), timeout)
        paths.append(shoot(driver, out, "themes"))

        click_tab(driver, "Producteurs")
        rows = f"#{pp.OVERVIEW} .ag-center-cols-container .ag-row"
        wait(lambda: driver.find_elements(By.CSS_SELECTOR, f"{rows}[row-index='0'] .producer-name"), timeout)
        driver.find_element(By.CSS_SELECTOR, f"{rows}[row-index='0'] .producer-name").click()
        wait(lambda: "Jeux actifs" in driver.find_element(By.ID, pp.FIGURES).text, timeout)
        driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.ID, pp.DETAIL))
        paths.append(shoot(driver, out, "producteurs"))

        click_tab(driver, "Territoires")
        wait(lambda: "France" in driver.find_element(By.ID, tp.SUMMARY).text, timeout)
        paths.append(shoot(driver, out, "territoires"))
        severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if severe:
            log.warning("browser console errors: %s", severe[:3])
    finally:
        driver.quit()
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True, type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from app import after_start, create_app, prepare_process
    from models.core.config import AppSettings

    settings = AppSettings(artifacts=args.artifacts)
    prepare_process(settings)
    app = create_app(settings)
    after_start(settings)  # the collector on again, memory given back
    url = serve(app)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    paths = take_all(url, args.out, width=args.width, timeout=args.timeout)
    log.info("%d screenshots in %.1f s", len(paths), time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
