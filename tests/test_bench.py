"""``python -m models bench``: the app started as a subprocess and measured over loopback HTTP.

Keys, types and sanity only: timings are reported by the benchmark, never asserted here."""

from __future__ import annotations

import json
import shutil

import psutil
import pytest

from models import bench
from models.core.store import resolve_build_dir
from tests.conftest import N_ROWS


def app_children() -> list[psutil.Process]:
    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if any(part.endswith("app.py") for part in p.cmdline()):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def test_ids_are_the_apps():
    from components import ids

    assert (bench.MAP_ID, bench.SEARCH_STATE_ID, bench.SEARCH_MODE_ID, bench.HIGHLIGHT_ID,
            bench.MAP_LABELS_ID) == (ids.MAP, ids.SEARCH_STATE, ids.SEARCH_MODE, ids.MAP_HIGHLIGHT,
                                     ids.MAP_LABELS)
    from components import ask_page

    assert (bench.ASK_SEND_ID, bench.ASK_STATE_ID, bench.ASK_HISTORY_ID, bench.ASK_INPUT_ID,
            bench.ASK_TRANSCRIPT_ID) == (ask_page.SEND, ask_page.STATE, ask_page.HISTORY, ask_page.INPUT,
                                         ask_page.TRANSCRIPT)


def test_queries_are_fixed_varied_french():
    assert len(bench.QUERIES) == 50 and len(set(bench.QUERIES)) == 50
    assert any("?" in q for q in bench.QUERIES) and any(len(q.split()) == 1 for q in bench.QUERIES)
    concurrent = bench.concurrent_queries(bench.QUERIES)
    assert not set(concurrent) & set(bench.QUERIES)  # no query vector from the app's cache


def test_callback_body_is_what_dash_renderer_posts():
    spec = {"output": "..a.children...b.data@123..", "inputs": [{"id": "s", "property": "data"}],
            "state": [{"id": {"type": "x", "row": 1}, "property": "value"}]}
    body = bench.callback_body(spec, {"s.data": {"q": "eau"}})
    assert body["outputs"] == [{"id": "a", "property": "children"}, {"id": "b", "property": "data@123"}]
    assert body["inputs"] == [{"id": "s", "property": "data", "value": {"q": "eau"}}]
    assert body["state"] == [{"id": {"type": "x", "row": 1}, "property": "value", "value": None}]
    assert body["changedPropIds"] == ["s.data"]
    one = bench.callback_body({"output": "map.figure@9", "inputs": spec["inputs"]}, {})
    assert one["outputs"] == {"id": "map", "property": "figure@9"} and one["state"] == []


def test_bench_measures_the_fixture_build(built_root):
    result = bench.run_bench(built_root, queries=bench.QUERIES[:12], clients=4, per_client=3)
    assert tuple(result) == bench.BENCH_KEYS
    assert result["n_datasets"] == N_ROWS
    for key in ("map_payload_bytes", "map_labels_bytes", "highlight_payload_bytes", "n_datasets"):
        assert isinstance(result[key], int) and result[key] > 0, key
    assert result["search_requests"] == 1  # the map's overlay comes with the results
    for key in ("start_s", "search_p50_ms", "search_p95_ms", "search_concurrent_p95_ms", "rss_mb",
                "rss_anon_mb", "rss_file_mb",
                "passages_per_s", "filtered_search_p95_ms", "facet_counts_p95_ms", "ask_p50_ms",
                "ask_p95_ms", "api_search_p95_ms", "api_search_concurrent_p95_ms", "api_ask_p95_ms",
                "api_ask_concurrent_p95_ms", "coverage_p95_ms"):
        assert isinstance(result[key], float) and result[key] > 0, key
    # the map ships x, y (float32) and a colour (uint8) per point, base64: at least 12 bytes each
    assert 12 * N_ROWS < result["map_payload_bytes"] < 1_500_000
    assert result["map_with_labels_bytes"] == result["map_payload_bytes"] + result["map_labels_bytes"]
    assert result["highlight_payload_bytes"] < 20_000  # a Patch of the overlay, not a figure
    assert 0 < result["filter_payload_bytes"] < 20_000  # the filter mask, not the map
    assert result["search_p50_ms"] <= result["search_p95_ms"]
    assert 0 < result["start_s"] < result["first_search_s"]  # the layout, then a search, after the 200
    assert result["ask_p50_ms"] <= result["ask_p95_ms"]
    assert 50 < result["rss_mb"] < 4000
    assert 0 < result["rss_anon_mb"] < result["rss_mb"] and 0 < result["rss_file_mb"] < result["rss_mb"]
    assert app_children() == []  # the app subprocess was stopped
    json.dumps(result)


def test_bench_stops_the_app_that_cannot_start(built_root, tmp_path):
    """A damaged build the manifest does not catch (same size, other bytes): the app exits 2,
    the bench says so and leaves no process behind."""
    bad = tmp_path / "damaged"
    shutil.copytree(resolve_build_dir(built_root), bad)
    rows = bad / "datasets.arrow"  # the row table the app reads
    rows.write_bytes(b"\0" * rows.stat().st_size)
    with pytest.raises(bench.BenchError, match="exited with status 2"):
        bench.run_bench(bad, skip_embedding=True, start_timeout=300)
    assert app_children() == []


def test_cli_prints_json_or_a_table(built_root, monkeypatch, capsys):
    from models.cli import main

    fake = dict.fromkeys(bench.BENCH_KEYS, 1.0) | {"n_datasets": 70_575, "search_p95_ms": 151.0,
                                                    "passages_per_s": None}
    seen = {}

    def run(artifacts, **kw):
        seen.update(kw, artifacts=artifacts)
        return fake

    monkeypatch.setattr(bench, "run_bench", run)
    assert main(["bench", "--artifacts", str(built_root), "--json", "--skip-embedding"]) == 0
    assert json.loads(capsys.readouterr().out) == fake
    assert seen["skip_embedding"] is True and seen["artifacts"] == str(built_root)
    assert main(["bench", "--artifacts", str(built_root)]) == 0
    table = capsys.readouterr().out
    for key in bench.BENCH_KEYS:
        assert key in table
    assert "70 575" in table and "DÉPASSÉ" in table  # 151 ms > 150 ms


def test_cli_refuses_missing_artifacts(tmp_path, caplog):
    from models.cli import main

    assert main(["bench", "--artifacts", str(tmp_path / "nowhere"), "--json"]) == 2
    assert "no artifacts" in caplog.text


def test_search_profile_times_every_stage_of_a_search(built_root, capsys):
    """scripts/bench/search_profile.py: each stage's mean and p95 per search, nested stages no
    longer than the whole."""
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("search_profile",
                                                  REPO / "scripts" / "bench" / "search_profile.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--artifacts", str(built_root), "--repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    stages = out["stages_ms"]
    assert out["n_searches"] == len(bench.QUERIES) and out["mode"] == "hybrid"
    total = stages["total (recherche + cartes)"]["mean"]
    for label in ("search_result (tout)", "encodage de la requête", "cartes de résultats",
                  "comptes des filtres", "familles (regroupement)"):
        assert 0 < stages[label]["mean"] <= total, label
    assert stages["encodage de la requête"]["mean"] <= stages["similarités (encodage compris)"]["mean"]
