"""The running app switches to a newer build while a page is open (headless Chromium).

The app is served by ``app.SwitchingServer`` on a werkzeug thread (as ``python app.py`` does);
the page shows « catalogue partiel », a new build is published, the page is told to reload,
reloads onto the new build, and its search still works; no error in the browser's console.
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("selenium", reason="selenium (dash[testing]) is not installed")

from components import ids
from tests.browser_helpers import BROWSER_MARKS, TIMEOUT, free_port
from tests.builders import partial_copy
from tests.fake_encoders import FakeEncoder
from tests.test_progressive import NNBSP, _publish_copy

pytestmark = BROWSER_MARKS


def test_open_page_survives_the_switch_and_reloads_onto_the_new_build(built_root, tmp_path, dash_duo,
                                                                      monkeypatch):
    from werkzeug.serving import make_server

    import components.build_status as status
    from app import SwitchingServer, create_app
    from models.core.config import AppSettings

    monkeypatch.setattr(status, "CHECK_EVERY_MS", 1000)  # the page asks every second
    root = tmp_path / "root"
    partial_copy(built_root, root)
    settings = AppSettings(artifacts=root, encoder=FakeEncoder(64))
    server = SwitchingServer(settings, create_app(settings), check_every=0.5)
    port = free_port()
    httpd = make_server("127.0.0.1", port, server, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        dash_duo.server_url = f"http://127.0.0.1:{port}"
        dash_duo.wait_for_contains_text(f"#{ids.BUILD_BANNER}", f"catalogue partiel{NNBSP}: 200",
                                        timeout=TIMEOUT)
        new = _publish_copy(root)
        dash_duo.wait_for_contains_text(f"#{ids.BUILD_BANNER}", "mis à jour", timeout=TIMEOUT)
        assert server.build_dir == new.resolve()
        dash_duo.find_element(f"#{ids.BUILD_BANNER} a").click()
        # the reloaded page has the new build's id (no banner: its build is the one served); the
        # header names the catalogue's date, not a build
        dash_duo.wait_for_class_to_equal(f"#{ids.BUILD_BANNER}", "d-none", timeout=TIMEOUT)
        assert server.build_dir == new.resolve()
        assert "catalogue du" in dash_duo.find_element(f"#{ids.COUNT}").text
        errors = [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
        assert errors == []
    finally:
        httpd.shutdown()
        thread.join(10)
