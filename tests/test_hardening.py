"""Bad input and safe defaults, end to end: hostile queries through the HTTP callback endpoint,
broken artifacts refused by ``python app.py``, no file read from a client path, the encoder
loaded once per process, gunicorn with several workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import create_app
from components import ids
from models import bench
from models.core.config import REPO, AppSettings
from models.core.store import resolve_build_dir
from tests.uihelpers import HOSTILE, all_of

HOSTILE_QUERIES = [
    "",
    "   \t\n  ",
    "eau " * 2_500,  # 10,000 characters
    "vacances\x00\x07\x1b[31m\u202e\ufeff scolaires\r\n",
    HOSTILE,
    '"><svg onload=alert(1)>',
    "javascript:alert(document.cookie)",
    "{{7*7}} ${7*7} '; DROP TABLE datasets; --",
    "\ud800 demi-surrogate",  # not encodable as UTF-8
]


@pytest.fixture(scope="module")
def deps(client):
    return client.get("/_dash-dependencies").get_json()


def post(client, deps, inputs: list[str], output: str, values: dict):
    spec = bench.find_callback(deps, inputs, output)
    body = bench.callback_body(spec, values)
    return client.post("/_dash-update-component", data=json.dumps(body, ensure_ascii=True),
                       content_type="application/json")


def rendered_as_html(node) -> list[str]:
    """Strings of a response that a browser could read as HTML: Markdown or anything allowed to
    hold raw HTML (the rest are text children and props, escaped by React)."""
    out = []
    if isinstance(node, dict):
        props = node.get("props", {}) if isinstance(node.get("props"), dict) else {}
        if node.get("type") == "Markdown" or props.get("dangerously_allow_html"):
            out.append(json.dumps(props))
        for v in node.values():
            out += rendered_as_html(v)
    elif isinstance(node, list):
        for v in node:
            out += rendered_as_html(v)
    return out


def plotly_strings(patch) -> str:
    """Trace names and hover texts of a Patch (plotly reads a subset of HTML in them)."""
    return json.dumps([op["params"] for op in patch["operations"]])


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_hostile_queries_are_handled_and_escaped(client, deps, app, explorer, query):
    modes = ["keyword", "semantic", "hybrid", "word", "no-such-mode"]
    for mode in modes:
        r = post(client, deps, [f"{ids.SEARCH_STATE}.data"], f"{ids.MAP_HIGHLIGHT}.data",
                 {f"{ids.SEARCH_STATE}.data": {"q": query, "mode": mode}})
        assert r.status_code in (200, 204), (mode, r.status_code, r.data[:300])
        if r.status_code == 204:
            continue
        resp = r.get_json()["response"]
        for html in rendered_as_html(resp):
            assert "<script" not in html.lower() and "onerror" not in html.lower()
        highlight = resp.get(ids.MAP_HIGHLIGHT, {}).get("data") or {}
        assert len(highlight.get("label", "")) <= explorer.max_query_chars + 20
        if ids.MAP in resp:  # the overlay drawn with the results
            assert "<script" not in plotly_strings(resp[ids.MAP]["figure"]).lower()
        r = post(client, deps, [f"{ids.MAP_HIGHLIGHT_DRAW}.data"], f"{ids.MAP}.figure",
                 {f"{ids.MAP_HIGHLIGHT_DRAW}.data": highlight})
        assert r.status_code == 200, r.data[:300]
        names = plotly_strings(r.get_json()["response"][ids.MAP]["figure"])
        assert "<script" not in names.lower() and "<svg" not in names.lower() and "<img" not in names.lower()
    # the search box: cleaned and capped before it becomes the search state
    r = post(client, deps, [f"{ids.SEARCH_BUTTON}.n_clicks", f"{ids.SEARCH_INPUT}.n_submit",
                            f"{ids.SEARCH_MODE}.value", f"{ids.SEARCH_SORT}.value"],
             f"{ids.SEARCH_STATE}.data",
             {f"{ids.SEARCH_BUTTON}.n_clicks": 1, f"{ids.SEARCH_INPUT}.n_submit": 0,
              f"{ids.SEARCH_MODE}.value": "semantic", f"{ids.SEARCH_INPUT}.value": query})
    assert r.status_code in (200, 204)
    if r.status_code == 200:
        state = (r.get_json()["response"] or {}).get(ids.SEARCH_STATE, {}).get("data")
        assert state is None or (0 < len(state["q"]) <= explorer.max_query_chars
                                 and not any(ord(c) < 32 for c in state["q"]))
    # the same query in a shared link
    from urllib.parse import quote

    r = post(client, deps, [f"{ids.URL}.search"], f"{ids.SEARCH_STATE}.data",
             {f"{ids.URL}.search": "?q=" + quote(query.encode("utf-8", "replace")) + "&mode=semantic"})
    assert r.status_code in (200, 204)


@pytest.mark.parametrize("state", ["texte", 42, [1, 2], {"q": 123, "mode": "semantic"},
                                   {"q": ["eau"], "mode": "semantic"}, {"q": "eau", "mode": ["hybrid"]},
                                   {"q": {"$ne": 1}}])
def test_malformed_search_state_is_not_a_server_error(client, deps, state):
    r = post(client, deps, [f"{ids.SEARCH_STATE}.data"], f"{ids.MAP_HIGHLIGHT}.data",
             {f"{ids.SEARCH_STATE}.data": state})
    assert r.status_code in (200, 204), r.data[:300]


@pytest.mark.parametrize("highlight", ["x", [1], {"rows": "0,1"}, {"rows": [0], "label": ["<b>"]},
                                       {"rows": [0], "query": {"x": "nan", "y": 1e308, "text": HOSTILE}}])
def test_malformed_highlight_is_not_a_server_error(client, deps, highlight):
    r = post(client, deps, [f"{ids.MAP_HIGHLIGHT_DRAW}.data"], f"{ids.MAP}.figure",
             {f"{ids.MAP_HIGHLIGHT_DRAW}.data": highlight})
    assert r.status_code == 200, r.data[:300]
    assert "<script" not in plotly_strings(r.get_json()["response"][ids.MAP]["figure"])


def test_compare_page_handles_hostile_queries(client, deps):
    from components import compare_page as cp

    for query in HOSTILE_QUERIES:
        r = post(client, deps, [f"{cp.BUTTON}.n_clicks", f"{cp.INPUT}.n_submit"], f"{cp.COLUMNS}.children",
                 {f"{cp.BUTTON}.n_clicks": 1, f"{cp.INPUT}.n_submit": 0, f"{cp.INPUT}.value": query})
        assert r.status_code in (200, 204), (query[:40], r.data[:300])
        if r.status_code == 200:
            for html in rendered_as_html(r.get_json()["response"]):
                assert "<script" not in html.lower()


# ---- safe defaults ------------------------------------------------------------------------

def test_defaults_bind_loopback_without_debug(monkeypatch, built_root, explorer):
    import dash

    import app as app_module

    for name in ("EXPLORER_HOST", "EXPLORER_DEBUG", "EXPLORER_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = AppSettings()
    assert settings.host == "127.0.0.1" and settings.debug is False
    seen = {}
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: seen.update(kw))
    monkeypatch.setattr(app_module, "load_explorer", lambda s: explorer)
    assert app_module.main(["--artifacts", str(built_root)]) == 0
    assert seen["host"] == "127.0.0.1" and seen["debug"] is False


def test_query_length_is_limited_everywhere(client, explorer):
    from models.serve.search import MAX_QUERY_CHARS, clean_query

    assert explorer.max_query_chars == MAX_QUERY_CHARS == 500
    assert len(clean_query("é" * 10_000)) == 500
    layout = json.dumps(client.get("/_dash-layout").get_json())
    # every text box of the app has a maxLength (search, compare)
    boxes = [b for b in all_of(json.loads(layout), lambda n: n.get("type") == "Input"
                                       and n.get("props", {}).get("type") in ("search", "text", None))]
    assert boxes
    for box in boxes:
        assert 0 < box["props"].get("maxLength", 0) <= explorer.max_query_chars, box["props"].get("id")


def test_no_route_reads_a_path_from_the_client(app, client, deps, tmp_path):
    routes = sorted({r.rule for r in app.server.url_map.iter_rules()})
    allowed = ("/", "/_dash-", "/_reload-hash", "/_favicon.ico", "/assets/", "/static/", "/<path:path>",
               "/_alive_")
    assert all(r.startswith(allowed) for r in routes), routes
    for path in ("/assets/../app.py", "/assets/..%2fapp.py", "/assets/%2e%2e/models/config.py",
                 "/_dash-component-suites/../../app.py", "/_dash-component-suites/dash/../../../app.py",
                 "/assets//etc/passwd", "/_favicon.ico/../app.py"):
        r = client.get(path)
        assert b"create_app" not in r.data and b"root:" not in r.data, path
    # the labelled-files page only reads the files it listed, never a path sent by the client
    secret = tmp_path / "secret.csv"
    secret.write_text("query,params,expected\nsecret,,x\n")
    from components import quality_page as qp

    for name in (str(secret), "../../etc/passwd", "/etc/passwd", "..", "%2e%2e/x.csv"):
        r = post(client, deps, [f"{qp.FILE}.value", f"{qp.UPLOAD}.contents"], f"{qp.RESULT}.data",
                 {f"{qp.FILE}.value": name, f"{qp.UPLOAD}.contents": None})
        assert r.status_code == 200
        resp = r.get_json()["response"]
        assert resp[qp.RESULT]["data"] is None and "secret" not in json.dumps(resp), name


# ---- the encoder: once per process ---------------------------------------------------------

def test_encoder_loads_once_and_serves_every_search(built_root, monkeypatch):
    import models.core.encoders as emb

    loaded = []
    real = emb.load_query_encoder

    def counting(*args, **kw):
        enc = real(*args, **kw)
        loaded.append(enc)
        return enc

    monkeypatch.setattr(emb, "load_query_encoder", counting)
    app = create_app(AppSettings(artifacts=built_root))  # no injected encoder: the build's model
    assert len(loaded) == 1  # loaded at start (the search modes are probed), not on first use
    client = app.server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    encoder = loaded[0]
    calls = encoder.calls
    for q in ("qualité de l'eau", "transports scolaires"):
        r = post(client, deps, [f"{ids.SEARCH_STATE}.data"], f"{ids.MAP_HIGHLIGHT}.data",
                 {f"{ids.SEARCH_STATE}.data": {"q": q, "mode": "semantic"}})
        assert r.status_code == 200
    assert len(loaded) == 1 and encoder.calls > calls  # the same encoder served both searches


# ---- broken artifacts: python app.py refuses them --------------------------------------------

def run_app(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "app.py"), "--port", str(bench.free_port()), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_app_refuses_broken_artifacts(built_root, tmp_path):
    src = resolve_build_dir(built_root)
    missing, schema = tmp_path / "missing", tmp_path / "schema"
    shutil.copytree(src, missing)
    (missing / "umap.npy").unlink()
    shutil.copytree(src, schema)
    manifest = json.loads((schema / "manifest.json").read_text())
    manifest["schema_version"] = 999
    (schema / "manifest.json").write_text(json.dumps(manifest))
    cases = [(["--artifacts", str(missing)], "artifact file missing"),
             (["--artifacts", str(schema)], "schema version 999"),
             (["--artifacts", str(built_root), "--model", "fake-32"], "embedded with 'fake-hash-64'"),
             (["--artifacts", str(tmp_path / "nowhere")], "no artifacts in")]
    procs = [(subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(bench.free_port()), *a],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), msg)
             for a, msg in cases]
    for proc, msg in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (msg, err[-2000:])
        lines = [line for line in err.splitlines() if "cannot start" in line]
        assert len(lines) == 1 and msg in lines[0] and " ERROR app: " in lines[0], err[-2000:]
        assert "Traceback" not in err and "Traceback" not in out


def test_the_product_knows_no_test_double(tmp_path):
    """Without the tests' plugin variable, ``--model fake-64`` is an unknown model: a one-line
    error and no build published (the tests inject their encoder themselves)."""
    from models.core.encoders import ENCODER_PLUGINS_ENV
    from tests.conftest import SAMPLE

    env = {k: v for k, v in os.environ.items() if k != ENCODER_PLUGINS_ENV}
    res = subprocess.run([sys.executable, "-m", "models", "build", "--catalog", str(SAMPLE), "--out",
                          str(tmp_path / "out"), "--limit", "20", "--model", "fake-64", "--quiet"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "unknown model 'fake-64'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out" / "current").exists()
    assert "fake" not in (REPO / "models" / "core" / "encoders.py").read_text().lower()


# ---- a build killed half-way ----------------------------------------------------------------

def test_build_killed_mid_way_leaves_the_previous_build_served(built_root, tmp_path):
    from models.core.store import load_artifacts
    from models.pipeline.writer import BuildWriter

    root = tmp_path / "root"
    good = resolve_build_dir(built_root)
    (root / "builds").mkdir(parents=True)
    shutil.copytree(good, root / "builds" / good.name)
    (root / "current").symlink_to(Path("builds") / good.name)
    from tests.conftest import SAMPLE

    cmd = [sys.executable, "-m", "models", "build", "--catalog", str(SAMPLE),
           "--out", str(root), "--limit", "300", "--model", "fake-64", "--lda-ks", "4", "--lda-k", "4",
           "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list((root / "builds").glob(".tmp-*/embeddings.npy")):  # half-way: files written
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build never reached its embeddings"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # what is served is still the previous build, whole
    assert resolve_build_dir(root) == (root / "builds" / good.name).resolve()
    arts = load_artifacts(root, verify_hashes=True)
    assert arts.manifest["build_id"] == good.name and arts.n == arts.manifest["n_datasets"]
    visible = [p.name for p in (root / "builds").iterdir() if not p.name.startswith(".")]
    assert visible == [good.name]
    stale = list((root / "builds").glob(".tmp-*"))
    assert len(stale) == 1  # the killed build's temporary folder, never linked
    # the next build clears what a dead build left behind
    writer = BuildWriter(root)
    assert not stale[0].exists() and writer.dir.exists()
    writer.abort()


# ---- gunicorn -------------------------------------------------------------------------------

GUNICORN = shutil.which("gunicorn") or str(Path(sys.executable).parent / "gunicorn")


@pytest.mark.skipif(not Path(GUNICORN).exists(), reason="gunicorn is not installed (pip install -e .[serve])")
def test_gunicorn_preload_two_workers_serve_searches(built_root):
    port = bench.free_port()
    env = dict(os.environ, EXPLORER_ARTIFACTS=str(built_root))
    proc = subprocess.Popen([GUNICORN, "--preload", "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}",
                             "--timeout", "120", "app:server"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        client = bench.AppClient(port, timeout=60)
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            try:
                if client.request("/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)
        driver = bench.SearchDriver(client)
        for q in bench.QUERIES[:8]:  # spread over both workers
            _, size = driver.search(q, "semantic")
            assert size > 0
        # gunicorn's own answer to a header over its 8 KB limit: French, with the security headers
        import http.client

        from components.labels import HTTP_REFUSED

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.putrequest("GET", "/")
        conn.putheader("X-Long", "a" * 9_000)
        conn.endheaders()
        r = conn.getresponse()
        body = r.read().decode()
        assert r.status == 431 and HTTP_REFUSED[431] in body and "Error parsing" not in body
        assert r.getheader("X-Frame-Options") == "DENY" and r.getheader("X-Content-Type-Options") == "nosniff"
        assert r.getheader("Content-Security-Policy").startswith("default-src 'none'")
        assert r.getheader("Server") == "explorateur"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    assert out.count("app ready") == 1, out[-3000:]  # built once, before the fork (--preload)
    assert out.count("Booting worker") == 2, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
