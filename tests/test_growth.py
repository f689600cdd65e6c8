"""scripts/bench/growth.py: synthetic catalogues readable by the build, exponents, projections."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench" / "growth.py"


@pytest.fixture(scope="module")
def growth():
    spec = importlib.util.spec_from_file_location("growth", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_synthetic_catalogue_beyond_the_real_rows_is_a_valid_export(growth, sample_path, tmp_path):
    from models.pipeline.ingest import read_catalog

    real, _ = read_catalog(str(sample_path))
    n = len(real) + 700
    out = growth.make_catalog([n], str(tmp_path / "cat-{n}.csv"), source=sample_path)
    assert out["real_rows"] == len(real)
    df, report = read_catalog(out["files"][n])
    assert len(df) == n and report.rows_kept == n
    assert df["id"].is_unique
    extra = df.iloc[len(real):]
    assert extra["id"].str.contains("-g").all()
    # mixed rows: title of one real row, description of another (new texts, real vocabulary)
    pairs = set(zip(real["title"], real["description_text"], strict=True))
    mixed = sum((t, d) not in pairs for t, d in zip(extra["title"], extra["description_text"], strict=True))
    assert mixed > 0.9 * len(extra)


def _run(n: int, steps: dict[str, float]) -> dict:
    return {"n": n, "steps": {k: {"cpu_seconds": v, "seconds": v, "peak_rss_mib": 100.0}
                              for k, v in steps.items()}}


def test_fit_recovers_exponents_and_projects_with_workers(growth):
    runs = [_run(n, {"embeddings": 1e-3 * n, "umap": 2e-3 * n, "neighbours_exact": 1e-7 * n * n})
            for n in (1000, 2000, 4000)]
    fits = growth.fit(runs)
    assert fits["embeddings"]["exponent"] == pytest.approx(1.0, abs=0.01)
    assert fits["neighbours_exact"]["exponent"] == pytest.approx(2.0, abs=0.01)
    proj = growth.project(fits, runs, [8000])
    assert proj["umap"]["seconds"][8000] == pytest.approx(16.0, rel=0.01)
    assert proj["neighbours_exact"]["seconds"][8000] == pytest.approx(6.4, rel=0.01)
    # embeddings: the real model's rate, divided among the workers; umap stays on one machine;
    # the exact product is not part of a build that size
    one = growth.wall_time(proj, 8000, 1, passages_per_s=100.0)
    four = growth.wall_time(proj, 8000, 4, passages_per_s=100.0)
    assert one == pytest.approx(80.0 + 16.0, rel=0.01)
    assert four == pytest.approx(20.0 + 16.0, rel=0.01)
