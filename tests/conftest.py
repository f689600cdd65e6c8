"""Shared fixtures: one small build (200 rows of the sample, fake encoder) for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.core.config import BuildSettings
from models.core.encoders import FakeEncoder

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
    from models.build.pipeline import run_build

    root = tmp_path_factory.mktemp("artifacts")
    run_build(small_settings(root), encoder=FakeEncoder(64))
    return root


@pytest.fixture(scope="session")
def explorer(built_root):
    from models.serve.explorer import Explorer

    return Explorer.load(built_root, encoder=FakeEncoder(64))


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
