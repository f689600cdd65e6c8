"""Shared fixtures: one small build (200 rows of the sample, fake encoder) for the session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.core.config import REPO, BuildSettings
from models.core.encoders import ENCODER_PLUGINS_ENV
from tests.fake_encoders import FakeEncoder  # registers the model name "fake-N" in this process

# ... and in every process a test starts (``python -m models build --model fake-64``, the app,
# gunicorn, Dask workers): the product itself knows no test double.
os.environ[ENCODER_PLUGINS_ENV] = "tests.fake_encoders"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE = SHARED / "catalog" / "sample-3000.csv"
FULL_EXPORT = SHARED / "catalog" / "export-dataset-20260116-055249.csv.gz"
N_ROWS = 200


@pytest.fixture(scope="session")
def sample_path() -> Path:
    assert SAMPLE.exists(), f"missing shared data: {SAMPLE}"
    return SAMPLE


def small_settings(out: Path, limit: int = N_ROWS, **kw) -> BuildSettings:
    kw = {"lda_k": 8, "lda_ks": (4, 8), "lda_passes": 2, **kw}  # two cheap LDA models
    return BuildSettings(catalog=str(SAMPLE), out=out, limit=limit, model="fake-64",
                         show_progress=False, **kw)


@pytest.fixture(scope="session")
def built_root(tmp_path_factory) -> Path:
    """An artifacts root holding one published build of 200 sample rows."""
    from models.pipeline.steps import run_build

    root = tmp_path_factory.mktemp("artifacts")
    run_build(small_settings(root), encoder=FakeEncoder(64))
    return root


@pytest.fixture(scope="session")
def explorer(built_root):
    from models.serve.explorer import Explorer

    return Explorer.load(built_root, encoder=FakeEncoder(64))


@pytest.fixture(scope="session")
def app(built_root, explorer):
    """The Dash app over the shared build (one per session; a module may override it)."""
    from app import create_app
    from models.core.config import AppSettings

    return create_app(AppSettings(artifacts=built_root), explorer=explorer)


@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


@pytest.fixture(scope="module")
def api(app):
    """The app's JSON API state, with no rate limit for the module (a test may put a strict one)."""
    from models.api.blueprint import EXTENSION
    from models.api.limits import RateLimiter

    state = app.server.extensions[EXTENSION]
    before = state.limiter
    state.limiter = RateLimiter(rate=0)
    yield state
    state.limiter = before


@pytest.fixture(scope="module")
def dash(client):
    """Callbacks by exact inputs and states (:class:`tests.uihelpers.Dash`)."""
    from tests.uihelpers import Dash

    return Dash(client)


# ---- headless Chromium for dash[testing]'s dash_duo (tests marked ``browser``) ----------
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,900",
                "--enable-unsafe-swiftshader")  # software WebGL for plotly's scattergl, without GPU


@pytest.hookimpl(optionalhook=True)
def pytest_setup_options():
    """ChromeOptions for dash_duo: Debian's chromium + chromedriver (on PATH), offline."""
    import shutil

    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    return options


# ---- no silent skip in CI ------------------------------------------------------------------
# CI (the CI environment variable, or EXPLORER_STRICT_TESTS=1) must run every test: a browser test
# without chromium, a real-model test without its compiler or model, anything else skipped, fails
# the run instead of passing quietly. Locally, a skip stays a skip (with its reason shown by -ra).
STRICT = (os.environ.get("CI", "").lower() not in ("", "0", "false")
          or os.environ.get("EXPLORER_STRICT_TESTS") == "1")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if STRICT and skipped and exitstatus == 0:
        names = ", ".join(sorted({r.nodeid for r in skipped})[:20])
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped in CI, where every test must run: "
                            f"{names}", red=True)
        session.exitstatus = 1
