"""Progressive first run: a stratified sample build, the « catalogue partiel » line, and the
running app switching to a newer build without a restart."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from werkzeug.test import Client

from components.build_status import banner, partial_message
from models.pipeline.sample import producer_keys, stratified_rows, theme_clusters
from tests.builders import partial_copy
from tests.conftest import small_settings
from tests.fake_encoders import FakeEncoder
from tests.uihelpers import Dash

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.fixture(scope="module")
def sample_df(sample_path):
    from models.pipeline.ingest import read_catalog

    df, _ = read_catalog(str(sample_path))
    return df


def test_stratified_sample_covers_producers_and_themes(sample_df):
    n = 600
    rows = stratified_rows(sample_df, n, seed=1)
    assert len(rows) == n and np.all(np.diff(rows) > 0)  # export order kept
    prod = producer_keys(sample_df)
    sizes = prod.value_counts()
    covered = set(prod.iloc[rows])
    budget = int(n * 0.9)
    if len(sizes) <= budget:
        assert covered == set(sizes.index)  # every producer
    else:  # the largest ones (ties at the boundary either way)
        assert set(sizes[sizes > sizes.iloc[budget - 1]].index) <= covered
        assert len(covered) >= budget
    themes = theme_clusters(sample_df, seed=1)
    floor = int(n * 0.1) // (themes.max() + 1)
    counts = np.bincount(themes[rows], minlength=themes.max() + 1)
    sizes_t = np.bincount(themes, minlength=themes.max() + 1)
    assert np.all(counts >= np.minimum(floor, sizes_t))
    assert np.array_equal(rows, stratified_rows(sample_df, n, seed=1))  # deterministic
    assert len(stratified_rows(sample_df, len(sample_df) + 5)) == len(sample_df)


def test_sample_build_records_partial_and_estimate(tmp_path):
    from models.core.store import read_manifest
    from models.pipeline.steps import run_build

    final = run_build(small_settings(tmp_path, limit=200, sample=80), encoder=FakeEncoder(64))
    m = read_manifest(final)
    assert m["n_datasets"] == 80
    assert m["partial"]["n_rows"] == 80 and m["partial"]["n_total"] == 200
    assert m["partial"]["full_build_seconds"] > sum(v for k, v in m["steps"].items() if k != "embeddings")
    assert m["parameters"]["ingest"]["sample"] == 80


def test_partial_message_is_french_with_typography():
    created = "2026-11-30T10:00:00+0000"
    now = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
    partial = {"n_rows": 5000, "n_total": 70575, "full_build_seconds": 45 * 60}
    assert partial_message(partial, created, now) == (
        f"catalogue partiel{NNBSP}: 5{NNBSP}000 / 70{NNBSP}575 — complet dans ~40{NBSP}min")
    late = now + timedelta(hours=2)
    assert partial_message(partial, created, late).endswith("complet d'un instant à l'autre")
    assert partial_message(None, created, now) is None
    assert partial_message({"n_rows": 5, "n_total": 9}, None, now) == f"catalogue partiel{NNBSP}: 5 / 9"
    children, cls = banner("old", "new", partial, created, now)
    assert "mis à jour" in children[0] and cls.startswith("alert")
    assert banner("b", "b", None, created, now) == ([], "d-none")


def _publish_copy(root: Path, *, partial: dict | None = None, damage: bool = False) -> Path:
    """A new build in ``root/builds`` (a copy of the current one with a new id), made current
    atomically, like BuildWriter.publish."""
    import os

    old = (root / "current").resolve()
    new_id = old.name + "-next"
    new = root / "builds" / new_id
    shutil.copytree(old, new)
    m = json.loads((new / "manifest.json").read_text())
    m["build_id"] = new_id
    m.pop("partial", None)  # the whole catalogue
    if partial:
        m["partial"] = partial
    (new / "manifest.json").write_text(json.dumps(m))
    if damage:
        (new / "umap.npy").write_bytes(b"broken")
    tmp = root / ".current-next"
    tmp.symlink_to(Path("builds") / new_id)
    os.replace(tmp, root / "current")
    return new


def test_running_app_switches_to_the_new_build_and_tells_open_pages(built_root, tmp_path):
    from app import SwitchingServer, create_app
    from components import ids
    from models.core.config import AppSettings

    root = tmp_path / "root"
    m = partial_copy(built_root, root)  # the first build is a partial one
    settings = AppSettings(artifacts=root, encoder=FakeEncoder(64))
    server = SwitchingServer(settings, create_app(settings), check_every=3600)
    client = Client(server)
    dash = Dash(client)
    page_build = m["build_id"]
    out = dash.call({f"{ids.BUILD_CHECK}.n_intervals": 0}, {f"{ids.BUILD_ID}.data": page_build})
    assert out[ids.BUILD_BANNER]["children"][0].startswith(f"catalogue partiel{NNBSP}: 200 / 70{NNBSP}575")
    assert out[ids.BUILD_CHECK]["disabled"] is False  # the page keeps asking

    new = _publish_copy(root)
    server.wait_switch()
    assert server.build_dir == new.resolve()
    assert client.get("/").status_code == 200
    # the open page (old build id) is told to reload; a fresh page sees no banner
    out = dash.call({f"{ids.BUILD_CHECK}.n_intervals": 1}, {f"{ids.BUILD_ID}.data": page_build})
    assert "mis à jour" in out[ids.BUILD_BANNER]["children"][0]
    assert out[ids.BUILD_CHECK]["disabled"] is True  # nothing more to learn: the link stays put
    out = dash.call({f"{ids.BUILD_CHECK}.n_intervals": 1}, {f"{ids.BUILD_ID}.data": new.name})
    assert out[ids.BUILD_BANNER]["className"] == "d-none"
    assert out[ids.BUILD_CHECK]["disabled"] is False
    layout = client.get("/_dash-layout").get_json()
    assert json.dumps(layout).count(new.name) >= 1
    # an open page's search still works against the new build
    from models.bench import callback_body, find_callback

    spec = find_callback(dash.deps, [f"{ids.SEARCH_STATE}.data"], f"{ids.MAP_HIGHLIGHT}.data")
    r = client.post("/_dash-update-component", json=callback_body(
        spec, {f"{ids.SEARCH_STATE}.data": {"q": "eau potable", "mode": "keyword"}}))
    assert r.status_code == 200, r.data[:300]
    assert json.loads(r.data)["response"][ids.MAP_HIGHLIGHT]["data"]["rows"]

    # a damaged newer build: logged, the served one stays, and open pages are told (issue 23)
    from components.build_status import REJECTED

    damaged = _publish_copy(root, damage=True)
    server.wait_switch()
    assert server.build_dir == new.resolve()
    assert client.get("/").status_code == 200
    out = dash.call({f"{ids.BUILD_CHECK}.n_intervals": 2}, {f"{ids.BUILD_ID}.data": new.name})
    assert out[ids.BUILD_BANNER]["children"] == [REJECTED] and "warning" in out[ids.BUILD_BANNER]["className"]
    assert server.app.explorer_services.rejected_build == damaged.name
