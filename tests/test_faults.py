"""Faults survived with nothing lost (issue 23, item 4): a full disk during a build, SIGTERM to
gunicorn while requests are in flight, a Dask worker killed while a build is embedding.

(A damaged embedding-cache shard: ``tests/test_cache_faults.py``; a new ``current`` that fails
verification while the app serves: ``tests/test_progressive.py``.)"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import FULL_EXPORT, SAMPLE, small_settings
from tests.fake_encoders import FakeEncoder

# ---- a full disk during a build ---------------------------------------------------------------
# ENOSPC is simulated in-process: the writers the build uses (numpy.save, DataFrame.to_parquet,
# Path.write_text) write a few bytes of the chosen file, then raise OSError(ENOSPC), as a real
# full disk does half-way through a file.


class DiskFull:
    """Makes the ``occurrence``-th write to a file whose name contains ``name`` fail with ENOSPC."""

    def __init__(self, name: str, occurrence: int = 1) -> None:
        self.name, self.occurrence, self.seen, self.failed = name, occurrence, 0, None

    def wrap(self, orig, head: bytes):
        def write(target, *args, **kw):
            # a path, or an open file (the cache): never a Path's .name (its bare file name,
            # which would write the half file into the current directory)
            path = target if isinstance(target, (str, os.PathLike)) else getattr(target, "name", target)
            if self.failed is None and self.name in Path(str(path)).name:
                self.seen += 1
                if self.seen == self.occurrence:
                    self.failed = str(path)
                    if hasattr(target, "write"):
                        target.write(head)
                    else:
                        Path(str(path)).write_bytes(head)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            return orig(target, *args, **kw)

        return write

    def install(self, mp: pytest.MonkeyPatch) -> None:
        mp.setattr(np, "save", self.wrap(np.save, b"\x93NUMPY\x01\x00"))
        mp.setattr(pd.DataFrame, "to_parquet", lambda df, p, *a, **k: self.wrap(
            _to_parquet, b"PAR1")(p, df, *a, **k))
        mp.setattr(Path, "write_text", lambda path, *a, **k: self.wrap(
            _write_text, b"{\n  ")(path, *a, **k))


_ORIG_TO_PARQUET, _ORIG_WRITE_TEXT = pd.DataFrame.to_parquet, Path.write_text


def _to_parquet(path, df, *a, **k):
    return _ORIG_TO_PARQUET(df, path, *a, **k)


def _write_text(path, *a, **k):
    return _ORIG_WRITE_TEXT(Path(path), *a, **k)


def _build_args(root: Path, limit: int, *extra: str) -> list[str]:
    return ["build", "--catalog", str(SAMPLE), "--out", str(root), "--limit", str(limit),
            "--model", "fake-16", "--lda-ks", "4,8", "--lda-k", "8", "--quiet", *extra]


@pytest.fixture(scope="module")
def good_root(tmp_path_factory) -> Path:
    """An artifacts root with one published build of 40 rows and their embedding cache."""
    from models.cli import main

    root = tmp_path_factory.mktemp("good")
    assert main(_build_args(root, 40)) == 0
    return root


def _cache_dir(root: Path) -> Path:
    (folder,) = (root / "cache" / "embeddings").iterdir()
    return folder


def _cache_is_whole(root: Path, model_id: str = "fake-hash-16", dim: int = 16) -> int:
    """Every shard of the cache complete (keys, vectors, checksum), nothing half-written; the
    number of passages it holds."""
    from models.pipeline.embed import EmbeddingCache

    folder = _cache_dir(root)
    names = sorted(p.name for p in folder.iterdir())
    shards = {n.split("-")[1].split(".")[0] for n in names}
    assert names == sorted(f"{kind}-{s}.{ext}" for s in shards
                           for kind, ext in (("keys", "npy"), ("vecs", "npy"), ("sum", "txt"))), names
    cache = EmbeddingCache(root / "cache" / "embeddings", model_id, dim)
    assert cache.damaged == []
    return len(cache)


@pytest.mark.parametrize("fail_on, occurrence, early", [
    ("vecs-", 1, False),               # the embedding cache's first file of a new shard
    ("keys-", 1, False),               # its last file: vectors and checksum already written
    ("umap.npy", 1, False),            # a build file, half-way through the steps
    ("manifest.json.tmp", 2, True),    # publishing the complete build, after the early one
])
def test_disk_full_during_a_build_is_one_line_and_loses_nothing(good_root, tmp_path, monkeypatch,
                                                                 caplog, capsys, fail_on, occurrence,
                                                                 early):
    from models.cli import main
    from models.core.store import read_manifest, verify_build

    root = tmp_path / "artifacts"
    shutil.copytree(good_root, root, symlinks=True)
    before = (root / "current").resolve()
    assert before.parent == root / "builds"
    n_before = _cache_is_whole(root)  # the 40 rows' vectors and their passages'
    disk = DiskFull(fail_on, occurrence)
    disk.install(monkeypatch)
    caplog.set_level(logging.INFO)
    # 60 rows: 20 passages are not in the cache, so the build writes a new cache shard
    rc = main(_build_args(root, 60, "--publish-early" if early else "--no-publish-early"))
    monkeypatch.undo()

    assert disk.failed is not None, f"no write to {fail_on} happened"
    assert rc == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert "No space left on device" in errors[0] and "espace disque" in errors[0], errors[0]
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err

    # nothing half-written is left: no temporary build folder or link, no partial cache entry
    assert list((root / "builds").glob(".tmp-*")) == [] and list(root.glob(".current-*")) == []
    n_cached = _cache_is_whole(root)
    current = (root / "current").resolve()
    if not early:
        assert current == before  # still served, untouched
        assert sorted(p.name for p in (root / "builds").iterdir()) == [before.name]
        # the shard being written is not there at all; the ones written before are whole
        assert n_cached == n_before if fail_on in ("vecs-", "keys-") else n_cached == n_before + 20
    else:
        # the early build was published before the disk filled: it stays served, whole
        assert current != before and before.exists()
        manifest = read_manifest(current)
        assert manifest["n_datasets"] == 60 and manifest["pending"]["steps"]
        assert n_cached > n_before + 20  # the new rows' vectors and their passages'
    n_files, problems = verify_build(root)
    assert problems == [] and n_files > 10
    n_files, problems = verify_build(before)
    assert problems == []


@pytest.mark.parametrize("fails", ["symlink", "replace"])
def test_disk_full_while_switching_current_keeps_the_previous_build_served(good_root, tmp_path,
                                                                          monkeypatch, caplog, fails):
    """The last write of a build is the link ``current`` points through: a full disk there (a
    symlink needs a directory entry) leaves the previous build served, no stray link, and no
    unserved build folder taking the space that is missing."""
    from models.cli import main
    from models.core.store import verify_build

    root = tmp_path / "artifacts"
    shutil.copytree(good_root, root, symlinks=True)
    before = (root / "current").resolve()
    calls = []

    def enospc(*a, **k):
        calls.append(a)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(a[0]))

    if fails == "symlink":
        monkeypatch.setattr(Path, "symlink_to", enospc)
    else:
        real_replace = os.replace

        def replace(src, dst, *a, **k):  # only the swap of ``current`` fails
            if Path(dst).name == "current":
                return enospc(src, dst)
            return real_replace(src, dst, *a, **k)

        monkeypatch.setattr(os, "replace", replace)
    caplog.set_level(logging.INFO)
    rc = main(_build_args(root, 40, "--no-publish-early"))
    monkeypatch.undo()

    assert calls and rc == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "espace disque" in errors[0], errors
    assert (root / "current").resolve() == before
    assert sorted(p.name for p in (root / "builds").iterdir()) == [before.name]
    assert list(root.glob(".current-*")) == []
    assert verify_build(root)[1] == []


SITECUSTOMIZE = '''
import errno, os
import numpy as np

_save = np.save


def save(file, *args, **kw):  # the disk fills up while the first build file is written
    if str(file).endswith("embeddings.npy"):
        with open(file, "wb") as fh:
            fh.write(b"\\x93NUMPY")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))
    return _save(file, *args, **kw)


np.save = save
'''


def test_disk_full_on_the_command_line_is_one_error_line(good_root, tmp_path):
    """``python -m models build`` itself: exit code 2, one ERROR line on stderr, no traceback."""
    import subprocess
    import sys

    from models.core.config import REPO

    root = tmp_path / "artifacts"
    shutil.copytree(good_root, root, symlinks=True)
    before = (root / "current").resolve()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), os.environ["PYTHONPATH"]]))
    proc = subprocess.run([sys.executable, "-m", "models", *_build_args(root, 40)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "espace disque épuisé" in errors[0], proc.stderr[-3000:]
    assert "No space left on device" in errors[0] and "embeddings.npy" in errors[0]
    assert (root / "current").resolve() == before
    assert list((root / "builds").glob(".tmp-*")) == []


# ---- SIGTERM to gunicorn while requests are in flight -----------------------------------------
SLOW_QUERIES = '''
"""Queries take QUERY_SECONDS to encode: requests long enough to be in flight at SIGTERM."""
import time

from models.core.encoders import register_encoder
from tests.fake_encoders import FakeEncoder

QUERY_SECONDS = 2.0


class SlowQueries(FakeEncoder):
    def encode(self, texts, *, kind, **kw):
        if kind == "query":
            time.sleep(QUERY_SECONDS)
        return super().encode(texts, kind=kind, **kw)


register_encoder("fake", lambda name, n: SlowQueries(int(name.rsplit("-", 1)[-1])))
'''


def test_sigterm_to_gunicorn_lets_in_flight_requests_complete(built_root, tmp_path):
    """Six semantic searches of ~2 s each (a query encoder that sleeps) on two workers of two
    threads; SIGTERM to the master while they run: all six answer 200 with their results, after
    the signal, then gunicorn exits 0 (the workers finish within the graceful timeout)."""
    import json
    import signal
    import subprocess
    import threading
    import time
    import urllib.request

    from models.bench import free_port
    from models.core.config import REPO
    from models.core.encoders import ENCODER_PLUGINS_ENV
    from tests.test_hardening import GUNICORN

    (tmp_path / "slow_queries.py").write_text(SLOW_QUERIES)
    env = dict(os.environ, EXPLORER_ARTIFACTS=str(built_root),
               PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ["PYTHONPATH"]]))
    env[ENCODER_PLUGINS_ENV] = "tests.fake_encoders,slow_queries"
    port = free_port()
    proc = subprocess.Popen([GUNICORN, "--preload", "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
                             "--timeout", "120", "app:server_from_env()"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            try:
                with opener.open(base + "/api/v1/openapi.json", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)

        results: dict[int, tuple] = {}

        def search(i: int) -> None:
            url = f"{base}/api/v1/search?q=eau+potable+{i}&mode=semantic&k=5"
            try:
                with opener.open(url, timeout=90) as r:
                    results[i] = (r.status, json.loads(r.read()), time.monotonic())
            except Exception as exc:  # the test reports any failure
                results[i] = (type(exc).__name__, str(exc), time.monotonic())

        threads = [threading.Thread(target=search, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.8)  # every request sent, none finished (each encodes its query for ~2 s)
        assert results == {}
        sigterm_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=120)
        rc = proc.wait(timeout=120)
        print(f"SIGTERM -> last answer {max(r[2] for r in results.values()) - sigterm_at:.1f} s, "
              f"-> exit {time.monotonic() - sigterm_at:.1f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read()
    assert sorted(results) == list(range(6))
    for i, (status, body, done_at) in sorted(results.items()):
        assert status == 200, (i, status, body, out[-3000:])
        assert body["results"] and done_at > sigterm_at
    assert rc == 0, out[-3000:]
    assert "Handling signal: term" in out and "Shutting down: Master" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]


# ---- a Dask worker killed while a build embeds ------------------------------------------------
class StallsOnce(FakeEncoder):
    """The first chunk any Dask worker encodes writes its process id to ``marker`` and stalls
    (the test kills that process from outside, SIGKILL); the other chunks take 0.3 s each, so
    the embedding is still running when the worker dies. On the client (the passages step) it is
    a plain :class:`FakeEncoder`."""

    def __init__(self, dim: int, marker: str) -> None:
        super().__init__(dim)
        self.marker = marker

    def encode(self, texts, **kw):
        import time

        try:
            from distributed import get_worker

            get_worker()
        except ValueError:  # not on a worker
            return super().encode(texts, **kw)
        try:  # the first chunk of all claims the stall (the claim stays)
            os.close(os.open(self.marker + ".claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            time.sleep(0.3)
            return super().encode(texts, **kw)
        Path(self.marker + ".tmp").write_bytes(str(os.getpid()).encode())
        os.replace(self.marker + ".tmp", self.marker)
        time.sleep(120)  # killed long before
        raise AssertionError("this worker should have been killed")


def test_a_dask_worker_killed_while_embedding_loses_nothing(tmp_path):
    """A 600-row build (its steps up to the neighbours) on a local cluster of two worker
    processes; one worker is killed (SIGKILL) while it encodes a chunk of passages: the chunk is
    encoded again on a worker alive, the build completes, and its embeddings equal those of a
    local build of the same rows, byte for byte.

    ``FAULT_DASK_ROWS=5000`` runs it on the first 5,000 rows of the full export (a measurement,
    ~2 min; CI keeps 600 sample rows)."""
    import json
    import signal
    import threading
    import time

    from models.pipeline.steps import STEPS, run_build

    def read_manifest(build: Path) -> dict:  # a partial build: no file check
        return json.loads((build / "manifest.json").read_text())

    marker = tmp_path / "stalled-worker.pid"
    killed: list[int] = []

    def kill_the_stalled_worker() -> None:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if marker.exists():
            pid = int(marker.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    # the steps up to the neighbours (the ones that read the vectors next; a whole 600-row build
    # on Dask takes ~60 s on two loaded cores)
    steps = [s for s in STEPS if s[0] in ("ingest", "descriptions", "embeddings", "neighbours")]
    killer = threading.Thread(target=kill_the_stalled_worker, daemon=True)
    killer.start()
    t0 = time.monotonic()
    rows = int(os.environ.get("FAULT_DASK_ROWS", "600"))

    def settings(out: Path, **kw):
        s = small_settings(out, limit=rows, **kw)
        if rows > 3000:  # the sample has 3,021 rows
            s.catalog = str(FULL_EXPORT)
        return s

    dask_build = run_build(settings(tmp_path / "dask", dask="local:2", dask_processes=True),
                           encoder=StallsOnce(64, str(marker)), steps=steps)
    dask_seconds = time.monotonic() - t0
    killer.join(timeout=5)
    assert killed and killed[0] != os.getpid()  # a worker process did die, mid-embedding
    t0 = time.monotonic()
    local_build = run_build(settings(tmp_path / "local"), encoder=FakeEncoder(64), steps=steps)
    print(f"dask build with a killed worker {dask_seconds:.1f} s, local build "
          f"{time.monotonic() - t0:.1f} s")

    manifest = read_manifest(dask_build)
    assert manifest["n_datasets"] == rows and "pending" not in manifest
    stats = manifest["embedding_stats"]  # every distinct text encoded once, none lost
    assert stats["encoded"] + stats.get("duplicates", 0) == rows and stats["encoded"] > 0
    files = sorted(read_manifest(local_build)["files"])
    assert sorted(manifest["files"]) == files and "embeddings.npy" in files and "neighbours.npy" in files
    for name in files:  # embeddings, neighbours, ... byte for byte
        assert (dask_build / name).read_bytes() == (local_build / name).read_bytes(), name
    assert (tmp_path / "dask" / "current").resolve() == dask_build
    # the cache holds each distinct passage, whole, as the local build's does
    assert (_cache_is_whole(tmp_path / "dask", "fake-hash-64", 64)
            == _cache_is_whole(tmp_path / "local", "fake-hash-64", 64) > 0.8 * rows)


# ---- gunicorn's workers stop cleanly with the ONNX query encoder -----------------------------

def test_gunicorn_workers_exit_cleanly_with_the_onnx_query_encoder(built_root, tmp_path):
    """ONNX Runtime cannot cross a fork: a worker forked from a master that had imported it hangs
    or aborts (``std::system_error``, SIGABRT) when it exits, in ONNX Runtime's exit handlers.
    The workers then leave without them (``gunicorn.conf.py``). With the ONNX query encoder (a
    tiny twin of the fixture's model), ``--preload``, two workers and ten semantic searches, then
    SIGTERM: gunicorn exits 0 within seconds, both workers log their exit, nothing aborts and
    nothing is killed."""
    import json
    import signal
    import subprocess
    import time
    import urllib.request

    from models.bench import free_port
    from models.core import onnx_encoder as ox
    from models.core.config import REPO
    from tests.test_hardening import GUNICORN
    from tests.test_onnx_encoder import write_tiny_onnx_folder

    root = tmp_path / "root"
    shutil.copytree(built_root, root, symlinks=True)
    manifest = root / "current" / "manifest.json"
    meta = json.loads(manifest.read_text())
    write_tiny_onnx_folder(root / "models" / ox.ONNX_MODEL, dim=64, source_id=meta["model"]["id"])
    meta["model"]["name"] = ox.ONNX_MODEL  # a build embedded with the int8 encoder
    manifest.write_text(json.dumps(meta))
    port = free_port()
    proc = subprocess.Popen([GUNICORN, "--preload", "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
                             "--graceful-timeout", "20", "app:server_from_env()"], cwd=REPO,
                            env=dict(os.environ, EXPLORER_ARTIFACTS=str(root)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            try:
                with opener.open(f"http://127.0.0.1:{port}/api/v1/search?q=eau+potable&mode=semantic&k=3",
                                 timeout=30) as r:
                    body = json.loads(r.read())
                    assert r.status == 200 and len(body["results"]) == 3, body
                    break
            except OSError:
                time.sleep(0.2)
            assert time.monotonic() < deadline, "gunicorn never answered"
        for _ in range(9):  # more searches, spread over the workers
            with opener.open(f"http://127.0.0.1:{port}/api/v1/search?q=carte+du+bruit&mode=semantic",
                             timeout=30) as r:
                assert r.status == 200
        sigterm_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        took = time.monotonic() - sigterm_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read()
    assert rc == 0, out[-3000:]
    assert took < 10, (took, out[-3000:])  # not the graceful timeout of a hung worker
    assert out.count("Worker exiting") == 2, out[-3000:]
    for sign in ("terminate called", "system_error", "SIGABRT", "SIGKILL", "exited with code", "Traceback"):
        assert sign not in out, (sign, out[-3000:])
