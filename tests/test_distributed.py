"""``build --dask``: the partitionable steps on a Dask cluster give the same files as a local build;
an unreachable scheduler is a one-line error and no build; approximate neighbours above a size."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import small_settings
from tests.fake_encoders import FakeEncoder

pytest.importorskip("distributed")


def _files(build: Path) -> dict[str, bytes]:
    """Every file of a build (sub-folders included) but the manifest, by relative path."""
    return {str(p.relative_to(build)): p.read_bytes() for p in sorted(build.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def _without_timings(obj):
    """A JSON document without its wall-clock measurements (``seconds``, ``*_seconds``)."""
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items()
                if not (k == "seconds" or k.endswith("_seconds"))}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> tuple[Path, Path]:
    """A local build and a ``local:2`` Dask build of the same 200 rows. word2vec trains with one
    thread in both: with two, its vectors differ between any two builds, Dask or not."""
    import functools

    import models.pipeline.word2vec as w2v
    from models.pipeline.steps import run_build

    mp = pytest.MonkeyPatch()
    mp.setattr(w2v, "Word2VecParams", functools.partial(w2v.Word2VecParams, workers=1))
    try:
        local = run_build(small_settings(tmp_path_factory.mktemp("local")), encoder=FakeEncoder(64))
        dask = run_build(small_settings(tmp_path_factory.mktemp("dask"), dask="local:2",
                                        dask_processes=False), encoder=FakeEncoder(64))
    finally:
        mp.undo()
    return local, dask


def test_dask_build_writes_the_same_files_as_a_local_build(builds):
    local, dask_build = builds
    a, b = _files(local), _files(dask_build)
    assert sorted(a) == sorted(b) and len(a) > 20
    different = [name for name in a if a[name] != b[name]]
    assert different == ["lda_models.json"]  # its timings; the rest of it below
    assert _without_timings(json.loads(a["lda_models.json"])) == _without_timings(
        json.loads(b["lda_models.json"]))
    manifest = json.loads((dask_build / "manifest.json").read_text())
    assert manifest["parameters"]["build"]["dask"] == "local:2"
    assert manifest["embedding_stats"]["encoded"] == manifest["n_datasets"] == 200


def test_partitioned_helpers_match_the_local_functions(sample_path):
    """Each partitioned piece on its own, with several slices per worker (order kept)."""
    from models.core.text import tokenize_fr
    from models.pipeline.distributed import LOADS, DaskRunner, frame_chunks, keyword_terms_chunk, tokens_chunk
    from models.pipeline.ingest import read_catalog
    from models.pipeline.keyword_index import field_terms

    df, _ = read_catalog(str(sample_path), limit=120)
    texts = (df["title"] + " " + df["description_text"]).tolist()
    with DaskRunner("local:2", processes=False) as runner:
        assert runner.n_workers == 2
        assert runner.map_concat(tokens_chunk, texts, per_worker=7) == [tokenize_fr(t) for t in texts]
        chunks = frame_chunks(runner, df, ["title", "acronym", "tags", "organization", "description_text"])
        assert len(chunks) == 8
        parts = runner.map(keyword_terms_chunk, chunks, 5000)
        whole = field_terms(df)
        assert {f: [t for p in parts for t in p[f]] for f in whole} == whole
        # a model named in the settings is loaded once per worker process, never on the client
        from models.pipeline.distributed import encode_chunk, encoder_info

        spec = ("fake-32", "/nonexistent", 128)
        assert runner.call(encoder_info, spec)["dim"] == 32
        vecs = runner.map(encode_chunk, [texts[:40], texts[40:80], texts[80:]], spec, 8)
        np.testing.assert_array_equal(np.concatenate(vecs), FakeEncoder(32).encode(texts, kind="passage"))
        loads = runner.client.run(lambda: dict(LOADS))
        assert all(v.get("encoder:fake-32") == 1 for v in loads.values())  # threads: one process


def test_unreachable_scheduler_is_one_line_and_no_build(tmp_path, sample_path, caplog):
    from models.cli import main

    t0 = time.perf_counter()
    rc = main(["build", "--catalog", str(sample_path), "--out", str(tmp_path), "--limit", "30",
               "--model", "fake-16", "--quiet", "--dask", "tcp://127.0.0.1:9"])
    elapsed = time.perf_counter() - t0
    assert rc == 2
    assert elapsed < 10
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "injoignable" in errors[0] and "unreachable" in errors[0] and "tcp://127.0.0.1:9" in errors[0]
    assert not (tmp_path / "current").exists()
    assert list((tmp_path / "builds").iterdir()) == []


@pytest.mark.parametrize("spec", ["local:0", "local:x", "nowhere"])
def test_bad_dask_spec_is_refused(spec):
    from models.pipeline.distributed import DaskError, parse_spec

    with pytest.raises(DaskError, match="--dask"):
        parse_spec(spec)


def test_approximate_neighbours_find_the_exact_ones_on_clustered_vectors():
    from models.pipeline.neighbours import approximate_knn, knn, recall_at_k

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 48))
    x = centres[rng.integers(0, 40, 3000)] + rng.normal(scale=0.6, size=(3000, 48))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    exact, _ = knn(x, k=10)
    approx, approx_s = approximate_knn(x, k=10, seed=1)
    assert approx.shape == exact.shape and approx.dtype == np.int32
    assert (approx != np.arange(3000)[:, None]).all()  # never itself
    assert np.all(np.diff(approx_s, axis=1) <= 1e-6)  # best first
    assert recall_at_k(approx, exact) >= 0.95
    again, _ = approximate_knn(x, k=10, seed=1)
    np.testing.assert_array_equal(again, approx)  # reproducible


def test_identical_vectors_list_each_other_first_in_row_order():
    """Templated descriptions give identical vectors: when more than k rows tie at cosine 1, the
    exact and the approximate search used to keep different (equally near) twins. Both now list
    a row's twins first, in row order, then the others, so they agree on them."""
    from models.pipeline.neighbours import approximate_knn, knn, recall_at_k

    rng = np.random.default_rng(3)
    x = rng.normal(size=(2000, 32))
    x[100:130] = x[100]  # 30 identical rows: more than k
    x[500:504] = x[500]  # 4 identical rows: fewer than k
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    exact, exact_s = knn(x, k=10)
    approx, _ = approximate_knn(x, k=10, seed=1)
    assert exact[117].tolist() == [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]
    assert exact[100].tolist() == list(range(101, 111))
    assert exact[502].tolist()[:3] == [500, 501, 503] and 502 not in exact[502]
    assert np.allclose(exact_s[117], 1.0, atol=1e-5)
    assert len(set(exact[502].tolist())) == 10  # the other 7 follow, no repeat
    assert np.all(np.diff(exact_s, axis=1) <= 1e-5)  # still best first
    np.testing.assert_array_equal(approx[100:130], exact[100:130])
    assert recall_at_k(approx, exact) >= 0.95


# ---- a worker process that dies mid-build -----------------------------------------------------
def die_once(x: int, marker: str) -> int:
    """Kills its worker process the first time any worker runs it, then returns ``x * 2``."""
    import os

    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return x * 2
    os.close(fd)
    os._exit(1)


class DyingEncoder(FakeEncoder):
    """Kills the worker process that encodes with it, every time."""

    def encode(self, texts, **kw):
        import os

        os._exit(1)


def test_killed_worker_task_is_rerun_then_a_lost_build_is_one_clear_error(tmp_path, sample_path):
    from models.pipeline.distributed import DaskError, DaskRunner
    from models.pipeline.steps import run_build

    with DaskRunner("local:2", processes=True) as runner:
        assert runner.map(die_once, [1, 2, 3, 4], str(tmp_path / "died")) == [2, 4, 6, 8]
    assert (tmp_path / "died").exists()  # a worker did die, and its task ran again elsewhere

    root = tmp_path / "artifacts"
    settings = small_settings(root, limit=40, dask="local:2", dask_processes=True)
    with pytest.raises(DaskError, match="worker Dask") as err:
        run_build(settings, encoder=DyingEncoder(16))
    assert "\n" not in str(err.value)
    assert not (root / "current").exists()
    assert [p.name for p in (root / "builds").iterdir()] == []


def test_a_running_scheduler_is_used_by_its_address():
    from distributed import LocalCluster

    from models.core.text import tokenize_fr
    from models.pipeline.distributed import DaskRunner, tokens_chunk

    texts = ["Les écoles maternelles de Paris", "Qualité de l'air à Lyon", "Budget 2024"]
    with LocalCluster(n_workers=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with DaskRunner(cluster.scheduler_address) as runner:
            assert runner.cluster is None and runner.n_workers == 1
            assert runner.map_concat(tokens_chunk, texts) == [tokenize_fr(t) for t in texts]


@pytest.mark.parametrize(("exact_max", "method"), [(1000, "exact"), (100, "pynndescent")])
def test_neighbours_step_switches_to_the_index_above_the_threshold(exact_max, method):
    from models.core.config import BuildSettings
    from models.pipeline.steps import STEP_BY_NAME, BuildContext

    class Writer:
        def __init__(self):
            self.saved = {}

        def save_npy(self, name, arr):
            self.saved[name] = arr

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 24)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ctx = BuildContext(settings=BuildSettings(n_neighbours=5, exact_neighbours_max=exact_max,
                                              show_progress=False), writer=Writer())
    ctx.embeddings = x
    STEP_BY_NAME["neighbours"].run(ctx)
    assert ctx.manifest["parameters"]["neighbours"]["method"] == method
    idx = ctx.writer.saved["neighbours.npy"]
    assert idx.shape == (300, 5) and (idx >= 0).all() and (idx != np.arange(300)[:, None]).all()
