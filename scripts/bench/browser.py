"""Headless Chromium for the scripts that drive the app in a browser (``first_open.py``,
``map_browser_bench.py``, ``../tools/screenshots.py``): one place for the browser's options, the
polling wait, a free local port and the app served in a thread.

Needs chromium and chromedriver on PATH (Debian ``chromium``, ``chromium-driver``; ``scripts/test.sh``
installs them) and selenium (the ``test`` extra). Not a script: imported as ``scripts.bench.browser``
by scripts that put the repository on ``sys.path``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

# software WebGL (plotly's scattergl) without a GPU; no sandbox: CI containers run as root
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--enable-unsafe-swiftshader")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float = 60.0, step: float = 0.02):
    """Poll ``predicate`` until it returns something true, and return that; an exception inside it
    (element not there yet, stale element, page still loading) counts as not yet. Raises
    ``TimeoutError`` after ``timeout`` seconds."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            value = predicate()
        except Exception:  # element not there yet, stale element...
            value = None
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"the page did not show it within {timeout:g} s")


def browser(width: int = 1400, height: int = 900):
    """A fresh headless Chromium (selenium ``webdriver.Chrome``); the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in (*FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    return webdriver.Chrome(options=options)


def serve(app, timeout: float = 30.0) -> str:
    """Serve a Dash app (``create_app(...)``) on a free local port in a daemon thread (werkzeug,
    threaded, as ``python app.py`` does); returns its URL once the port accepts connections."""
    port = free_port()
    threading.Thread(target=lambda: app.run(host="127.0.0.1", port=port, debug=False, threaded=True),
                     daemon=True).start()
    wait(lambda: _accepts(port), timeout)
    return f"http://127.0.0.1:{port}/"


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
