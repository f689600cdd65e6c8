"""Opening the « Carte » page in headless Chromium, for the map's browser tests."""

from __future__ import annotations

import pytest


def open_map(dash_duo, app) -> None:
    """The app's « Carte » page in headless Chromium, the map drawn."""
    from components import ids
    from tests.test_browser import CHROMEDRIVER, CHROMIUM, free_port

    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs chromium and chromedriver on PATH")  # a failure in CI (conftest)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=90)
