"""Opening the « Carte » page in headless Chromium, for the map's browser tests."""

from __future__ import annotations

import pytest


def open_map(dash_duo, app) -> None:
    """The app's « Carte » page in headless Chromium, the map drawn."""
    from components import ids
    from tests.browser_helpers import HAVE_BROWSER, NO_BROWSER, free_port

    if not HAVE_BROWSER:
        pytest.skip(NO_BROWSER)  # a failure in CI (conftest)
    dash_duo.start_server(app, port=free_port())
    dash_duo.wait_for_element(f"#{ids.MAP} .js-plotly-plot", timeout=90)
