"""Verified artifacts (issue 14): every damaged-artifact case stops ``python app.py`` (and
gunicorn) with ONE line ``cannot start: …`` and exit 2; ``python -m models verify`` checks every
file's sha256; a damaged optional file that passes the size check disables its page with a
French notice instead of stopping the app."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models import bench
from models.core.config import REPO
from models.core.store import resolve_build_dir


def damaged(src: Path, dest: Path, name: str, how) -> Path:
    shutil.copytree(src, dest)
    how(dest / name)
    return dest


def garbage(p: Path) -> None:
    p.write_bytes(b"\x00garbage\xff" * 100)


def same_size_garbage(p: Path) -> None:
    n = p.stat().st_size
    p.write_bytes((b"\x13\x37garbage" * (n // 9 + 1))[:n])


def npy_edit(fn):
    def how(p: Path) -> None:
        a = np.load(p)
        np.save(p, fn(a.copy()), allow_pickle=False)  # same dtype and shape: same size
    return how


def manifest_edit(fn):
    def how(p: Path) -> None:
        p.write_text(json.dumps(fn(json.loads(p.read_text()))))
    return how


def _without_model(m: dict) -> dict:
    m.pop("model")
    return m


def _optional(build: Path, prefix: str) -> str:
    names = sorted(json.loads((build / "manifest.json").read_text())["files"])
    return next(n for n in names if n.startswith(prefix))


CASES = [  # (case id, file, damage, what the one line says)
    ("neighbours-out-of-range", "neighbours.npy", npy_edit(lambda a: a + 10**6), "outside"),
    ("umap-all-nan", "umap.npy", npy_edit(lambda a: np.full_like(a, np.nan)), "finite coordinates"),
    ("lda-garbage", "lda/", garbage, "manifest says"),
    ("producers-garbage", "producers.parquet", garbage, "manifest says"),
    ("territories-garbage", "territories.parquet", garbage, "manifest says"),
    ("clusters-garbage", "clusters.npy", garbage, "manifest says"),
    ("manifest-list", "manifest.json", lambda p: p.write_text("[]"), "not a JSON object"),
    ("manifest-without-model", "manifest.json", manifest_edit(_without_model), "embedding model"),
    # the row table the app memory-maps (datasets.parquet is the pipeline's; verify checks it)
    ("rows-same-size-garbage", "datasets.arrow", same_size_garbage, "unreadable"),
]


@pytest.fixture(scope="module")
def build(built_root) -> Path:
    return resolve_build_dir(built_root)


def test_every_damaged_artifact_case_is_one_line_and_exit_2(build, tmp_path):
    procs = []
    for case, prefix, how, msg in CASES:
        name = _optional(build, prefix) if prefix.endswith("/") else prefix
        folder = damaged(build, tmp_path / case, name, how)
        cmd = [sys.executable, str(REPO / "app.py"), "--artifacts", str(folder),
               "--port", str(bench.free_port())]
        procs.append((case, msg, subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True)))
    for case, msg, proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (case, err[-2000:])
        lines = [line for line in err.splitlines() if "cannot start" in line]
        assert len(lines) == 1 and msg in lines[0], (case, err[-2000:])
        assert "Traceback" not in err + out, (case, err[-2000:])


def test_verify_checks_every_hash(build, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "models", "verify", "--artifacts", str(build)],
                        cwd=REPO, capture_output=True, text=True, timeout=300)
    n_files = len(json.loads((build / "manifest.json").read_text())["files"])
    assert ok.returncode == 0 and f"{n_files} files" in ok.stdout, ok.stderr[-2000:]
    # one flipped byte in the middle of a file: same size, so only the hash can tell
    folder = damaged(build, tmp_path / "flipped", "embeddings.npy", lambda p: _flip(p, p.stat().st_size // 2))
    bad = subprocess.run([sys.executable, "-m", "models", "verify", "--artifacts", str(folder)],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    lines = [line for line in bad.stderr.splitlines() if "verify:" in line]
    assert len(lines) == 1 and "embeddings.npy" in lines[0] and "sha256" in lines[0]
    assert "Traceback" not in bad.stderr


def _flip(p: Path, at: int) -> None:
    data = bytearray(p.read_bytes())
    data[at] ^= 0x01
    p.write_bytes(bytes(data))


@pytest.mark.parametrize("prefix, tab", [("producers.parquet", "producteurs"),
                                         ("lda/k4_topics.parquet", "themes"),
                                         ("territories.parquet", "territoires")])
def test_damaged_optional_file_disables_its_page(build, tmp_path, prefix, tab, caplog):
    from app import DAMAGED_PAGE, create_app
    from models.core.config import AppSettings
    from models.serve.explorer import Explorer
    from tests.fake_encoders import FakeEncoder

    name = _optional(build, prefix) if prefix.endswith("/") else prefix
    folder = damaged(build, tmp_path / "optional", name, same_size_garbage)
    explorer = Explorer.load(folder, encoder=FakeEncoder(64))  # sizes match: it loads
    app = create_app(AppSettings(artifacts=folder), explorer=explorer)
    layout = json.dumps(app.server.test_client().get("/_dash-layout").get_json(), ensure_ascii=False)
    assert DAMAGED_PAGE in layout
    disabled = [r for r in caplog.records if "disabled" in r.getMessage()]
    # one line per disabled page (the producers' quality rules read the territories too)
    assert any(f"page {tab} " in r.getMessage() for r in disabled)
    assert all(r.exc_info is None for r in disabled)
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    outputs = " ".join(d["output"] for d in deps)
    page_ids = {"producteurs": "producers-figures", "themes": "topics-map",
                "territoires": "territories-summary"}
    assert page_ids[tab] not in outputs  # its callbacks are not registered
    assert "search-results" in outputs  # the map page serves


GUNICORN = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")


@pytest.mark.skipif(not Path(GUNICORN).exists(), reason="gunicorn is not installed (pip install -e .[serve])")
def test_gunicorn_preload_refuses_damaged_artifacts_in_one_line(build, tmp_path):
    folder = damaged(build, tmp_path / "nan", "umap.npy", npy_edit(lambda a: np.full_like(a, np.nan)))
    env = {**__import__("os").environ, "EXPLORER_ARTIFACTS": str(folder)}
    proc = subprocess.run([GUNICORN, "--preload", "-w", "2", "-b", f"127.0.0.1:{bench.free_port()}",
                           "app:server_from_env()"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if "cannot start" in line]
    assert len(lines) == 1 and "finite coordinates" in lines[0]
    assert "Traceback" not in proc.stderr
