"""Shared fixtures: one small build (200 rows of the sample, fake encoder) for the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.config import BuildSettings
from models.embeddings import FakeEncoder

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SAMPLE = SHARED / "catalog" / "sample-3000.csv"
FULL_EXPORT = SHARED / "catalog" / "export-dataset-20260116-055249.csv.gz"
N_ROWS = 200


@pytest.fixture(scope="session")
def sample_path() -> Path:
    assert SAMPLE.exists(), f"missing shared data: {SAMPLE}"
    return SAMPLE


def small_settings(out: Path, limit: int = N_ROWS, **kw) -> BuildSettings:
    return BuildSettings(catalog=str(SAMPLE), out=out, limit=limit, model="fake-64",
                         show_progress=False, lda_k=8, lda_passes=2, **kw)


@pytest.fixture(scope="session")
def built_root(tmp_path_factory) -> Path:
    """An artifacts root holding one published build of 200 sample rows."""
    from models.pipeline import run_build

    root = tmp_path_factory.mktemp("artifacts")
    run_build(small_settings(root), encoder=FakeEncoder(64))
    return root


@pytest.fixture(scope="session")
def explorer(built_root):
    from models.services import Explorer

    return Explorer.load(built_root, encoder=FakeEncoder(64))
