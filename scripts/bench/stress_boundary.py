"""Measures the boundary's bars (issues 14 and 23) on a running app, as an attacker would load it::

    python scripts/bench/stress_boundary.py --artifacts artifacts [--json] [--guards-only]

First, in this process, each function that runs before validation on its worst input at the
largest size the limits allow (2 MB bodies of pathological quotes, escapes, brackets, objects,
unicode; a 64 KB URL path; a 4,000-character query string; a 200 kB tour file; a 500 kB CSV):
the median of 5 runs (``guards``). Then it starts ``python app.py`` on the build (a real, threaded
server) and measures:

- the raw-body probe of issue 23: a 2 MB body of « " » + « \\" »×n posted while another client
  asks ``/_dash-dependencies`` in a loop: the probe's answer time and the other client's delay
  over its idle time (``raw_body_probe``);

- 12 concurrent 3,000-point selection MDS requests: answers (computed or « occupé »), wall
  time, peak resident memory of the server over its idle level (sampled every 20 ms);
- 500 kB relevance uploads of several shapes (83,000 one-character rows, 300 long queries, one
  200,000-character field, random bytes): the time to the answer (evaluated or refused);
- a 300 MB body announced by ``Content-Length``: status, time, memory (refused before reading);
- a 30 MB dropdown search value and a 1,000,000-item pattern list: status and time.

Nothing here runs in CI (the numbers depend on the machine): the README reports them.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models import bench  # noqa: E402  (after the path)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """Peak RSS of ``pid`` while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self):
        self.peak = rss_mb(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def post(port: int, body: bytes, timeout: float = 300) -> tuple[int, bytes, float]:
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", "/_dash-update-component", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data, time.perf_counter() - t


def spec_for(deps: list[dict], output: str) -> dict:
    found = [d for d in deps if output in d["output"]]
    assert len(found) == 1, (output, len(found))
    return found[0]


def body_for(spec: dict, values: dict, changed: str | None = None) -> bytes:
    body = bench.callback_body(spec, values)
    if changed:
        body["changedPropIds"] = [changed]
    return json.dumps(body).encode()


def mds_burst(port: int, pid: int, deps: list[dict], n_rows: int, clients: int = 12) -> dict:
    spec = spec_for(deps, "topics-mds.figure")
    rows = list(range(min(3000, n_rows)))
    body = body_for(spec, {"topics-mds-button.n_clicks": 1, "topics-mds-source.value": "map",
                           "topics-mds-max.value": 3000,
                           "map-highlight.data": {"label": "stress", "rows": rows}})
    idle = rss_mb(pid)
    results: list[tuple[int, bytes, float]] = []
    lock = threading.Lock()

    def one():
        r = post(port, body)
        with lock:
            results.append(r)

    t0 = time.perf_counter()
    with Sampler(pid) as s:
        threads = [threading.Thread(target=one) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - t0
    texts = [json.dumps(json.loads(data), ensure_ascii=False) if st == 200 else "" for st, data, _ in results]
    computed = sum(1 for t in texts if "points disposés" in t)
    busy = sum(1 for t in texts if "occupé" in t)
    return {"clients": clients, "points": len(rows), "computed": computed, "busy": busy,
            "statuses": sorted({st for st, _, _ in results}), "wall_s": round(wall, 2),
            "slowest_s": round(max(dt for _, _, dt in results), 2),
            "idle_rss_mb": round(idle), "peak_rss_mb": round(s.peak),
            "peak_over_idle_mb": round(s.peak - idle)}


def uploads(port: int, deps: list[dict], ds_ids: list[str]) -> list[dict]:
    """Each shape ~500 kB; the expected ids are real ones, so queries are really evaluated."""
    spec = spec_for(deps, "quality-result.data")
    rng = random.Random(0)
    long_query = " ".join(rng.choice(["eau", "transport", "commune", "budget", "école", "air"])
                          for _ in range(260))
    shapes = {
        "83,000 one-character rows": "query,expected\n" + "a,b\n" * 83_000,
        "300 long queries": "query,expected\n" + "".join(f"{long_query} {i},{ds_ids[i % len(ds_ids)]}\n"
                                                          for i in range(300)),
        "300 short queries": "query,expected\n" + "".join(
            f"{rng.choice(['eau', 'budget', 'école'])} {i},{ds_ids[i % len(ds_ids)]}\n" for i in range(300)),
        "one 200,000-character field": 'query,expected\n"' + "x" * 200_000 + '",1\n',
        "random bytes": None,
    }
    out = []
    for name, text in shapes.items():
        raw = bytes(rng.getrandbits(8) for _ in range(500_000)) if text is None else text.encode()[:500_000]
        contents = "data:text/csv;base64," + base64.b64encode(raw).decode()
        body = body_for(spec, {"quality-file.value": None, "quality-upload.contents": contents,
                               "quality-upload.filename": "stress.csv"}, changed="quality-upload.contents")
        status, data, dt = post(port, body)
        text_out = json.dumps(json.loads(data), ensure_ascii=False) if status == 200 else ""
        verdict = next((m for m in ("évalué en partie", "évalué", "refusé", "occupé") if m in text_out),
                       f"HTTP {status}")
        if verdict == "refusé":
            verdict += " (" + text_out.split("refusé")[1][:80].split('"')[0].strip(" :\u202f") + ")"
        out.append({"shape": name, "bytes": len(raw), "status": status, "seconds": round(dt, 2),
                    "answer": verdict})
    return out


def huge_body(port: int, pid: int, size: int = 300_000_000) -> dict:
    idle = rss_mb(pid)
    t = time.perf_counter()
    with Sampler(pid) as s:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.putrequest("POST", "/_dash-update-component")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        sent = 0
        try:  # send until the server answers (or closes)
            chunk = b"[" * (1 << 20)
            while sent < size:
                conn.sock.sendall(chunk)
                sent += len(chunk)
                conn.sock.settimeout(0.001)
                try:
                    if conn.sock.recv(1, 2):  # MSG_PEEK: an answer is waiting
                        break
                except (TimeoutError, BlockingIOError):
                    pass
                finally:
                    conn.sock.settimeout(60)
        except OSError:  # the server answered and closed: what did it say?
            pass
        try:
            r = conn.getresponse()
            r.read()
            status = r.status
        except OSError as exc:
            status = f"connection closed ({type(exc).__name__})"
        conn.close()
    return {"announced_bytes": size, "sent_before_answer_mb": round(sent / 1e6, 1), "status": status,
            "seconds": round(time.perf_counter() - t, 2), "peak_over_idle_mb": round(s.peak - idle)}


def big_inputs(port: int, deps: list[dict]) -> list[dict]:
    out = []
    spec = spec_for(deps, "producers-select.options")
    body = body_for(spec, {"producers-select.search_value": "a" * 30_000_000, "producers-select.value": None})
    status, _, dt = post(port, body)
    out.append({"input": "30 MB dropdown search value", "status": status, "seconds": round(dt, 2)})
    item = {"id": {"type": "producers-producer-item", "value": "x"}, "property": "n_clicks", "value": 1}
    spec = next(d for d in deps if "producers-producer-item" in json.dumps(d["inputs"]))
    outputs = bench.split_output(spec["output"])
    body = json.dumps({"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                       "inputs": [[item] * 1_000_000], "state": [],
                       "changedPropIds": ['{"type":"producers-producer-item","value":"x"}'
                                          '.n_clicks']}).encode()
    status, _, dt = post(port, body)
    out.append({"input": "1,000,000-item pattern list", "bytes": len(body), "status": status,
                "seconds": round(dt, 2)})
    return out


def _median_ms(fn, arg, runs: int = 5) -> dict:
    """{"first_ms": the first run (cold caches), "ms": the median of ``runs``}."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with contextlib.suppress(Exception):  # a refusal is an answer: its time is what is measured
            fn(arg)
        times.append(time.perf_counter() - t)
    return {"first_ms": round(times[0] * 1000, 1), "ms": round(sorted(times)[len(times) // 2] * 1000, 1)}


def guards(explorer=None) -> list[dict]:
    """Each pre-validation function on its worst inputs at the largest allowed size."""
    from callbacks import http_guard, request_shape
    from callbacks.tour import parse_tour_file
    from callbacks.urlstate import parse_url_search
    from components.tour import MAX_FILE_BYTES
    from models.core.csv_safe import safe_csv
    from models.serve.evaluate import MAX_UPLOAD_BYTES, decode_upload, parse_upload_bytes
    from models.serve.search import clean_query

    n = http_guard.MAX_BODY_BYTES
    bodies = {
        '« " » + « \\" »×n': b'"' + b'\\"' * ((n - 1) // 2),
        "« \\ »×n (one backslash run)": b'"' + b"\\" * (n - 2) + b'"',
        "« [ »×n": b"[" * n,
        '« ["\\"]" »×n (brackets in strings)': b'["\\"]"' * (n // 6),
        '« {"a":1}, »×n (objects)': b"[" + b'{"a":1},' * ((n - 2) // 8) + b"1]",
        "« {}, »×n (empty objects)": b"[" + b"{}," * ((n - 2) // 3) + b"1]",
        "« \\u00e9 »×n in a string": b'"' + b"\\u00e9" * ((n - 2) // 6) + b'"',
        "« é » UTF-8 ×n in a string": b'"' + "é".encode() * ((n - 2) // 2) + b'"',
        "random bytes": bytes(random.Random(0).getrandbits(8) for _ in range(n)),
    }
    out = []
    for name, body in bodies.items():
        out.append({"function": "http_guard.json_depth", "input": name, "bytes": len(body),
                    **_median_ms(http_guard.json_depth, body)})
        out.append({"function": "http_guard.parse_body (JSON, duplicate keys)", "input": name,
                    "bytes": len(body), **_median_ms(http_guard.parse_body, body)})
    # the structure check on the largest well-formed shapes: a pattern list of 5,000 items, 100
    # triggers of 2,000 characters each, a 20,000-character output id
    pattern = {"id": '{"k":["ALL"],"type":"t"}', "property": "v"}
    sig = request_shape.Signatures({"o.data": {"output": _Out("o", "data"), "callback": print,
                                               "inputs": [pattern], "state": []}})
    items = [{"id": {"type": "t", "k": i}, "property": "v", "value": "x" * 300}
             for i in range(request_shape.MAX_PATTERN_ITEMS)]
    changed = ['{"k":' + str(i) + ',"type":"t"}.v' + " " * 1_900 for i in range(request_shape.MAX_CHANGED)]
    shaped = {"output": "o.data", "outputs": {"id": "o", "property": "data"}, "inputs": [items],
              "changedPropIds": changed}
    raw = json.dumps(shaped).encode()
    out.append({"function": "request_shape.request_problem", "input": "5,000 pattern items, 100 long "
                "triggers", "bytes": len(raw), **_median_ms(lambda b: request_shape.request_problem(
                    http_guard.parse_body(b), sig), raw)})
    long_path = "/_dash-component-suites/dash/" + "a/" * 32_000 + "x.js"
    out.append({"function": "http_guard.component_suite", "input": "64 KB path", "bytes": len(long_path),
                **_median_ms(http_guard.component_suite, long_path)})
    url = "?" + "&".join(f"q{i}=" + "é" * 20 for i in range(2_000))
    out.append({"function": "urlstate.parse_url_search", "input": "query string of 2,000 fields",
                "bytes": len(url.encode()), **_median_ms(lambda u: parse_url_search(
                    u, modes=["keyword"], default_mode="keyword", max_query_chars=500,
                    is_known_id=lambda i: False), url)})
    out.append({"function": "search.clean_query", "input": "2 MB of spaces and control characters",
                "bytes": n, **_median_ms(clean_query, " \x00" * (n // 2))})
    nested = "[" * 5 + "1" + "]" * 5  # 7 levels with the steps: as deep as a tour may be
    tours = {"200 kB of « [ »": "[" * MAX_FILE_BYTES,
             "200 kB, 7 levels of lists": '{"steps": [' + ",".join([nested] * (MAX_FILE_BYTES // 12)) + "]}"}
    for name, text in tours.items():
        data = text.encode()[:MAX_FILE_BYTES]
        contents = "data:application/json;base64," + base64.b64encode(data).decode()
        out.append({"function": "tour.parse_tour_file", "input": name, "bytes": len(contents),
                    **_median_ms(parse_tour_file, contents)})
    for name, text in {"83,000 one-character rows": "query,expected\n" + "a,b\n" * 83_000,
                       "bare « \\r » ×500,000": "query,expected\n" + "\r" * 499_000,
                       "one 500 kB quoted field": 'query,expected\n"' + "x" * 499_000 + '",1\n'}.items():
        raw = text.encode()[:MAX_UPLOAD_BYTES]
        contents = "data:text/csv;base64," + base64.b64encode(raw).decode()
        out.append({"function": "evaluate.decode_upload + parse_upload_bytes", "input": name,
                    "bytes": len(contents), **_median_ms(lambda c: parse_upload_bytes(
                        decode_upload(c, "x.csv", require_name=True)), contents)})
    cells = [["=1+1\r" * 1_000, "＝" * 5_000, " \u3000" * 3_000 + "@x"]] * 100
    out.append({"function": "csv_safe.safe_csv", "input": "100 rows of hostile 5-10 kB cells",
                "bytes": sum(len(c) for r in cells for c in r), **_median_ms(
                    lambda rows: safe_csv(["a", "b", "c"], rows), cells)})
    speller = explorer.engine.speller if explorer is not None else None
    if speller is not None:
        q = " ".join("déppartementz" + str(i % 10) for i in range(60))[:explorer.max_query_chars]
        out.append({"function": "explorer.speller.correct", "input": f"{len(q)} characters of unknown words",
                    "bytes": len(q.encode()), **_median_ms(speller.correct, q)})
    return out


class _Out:
    def __init__(self, cid, prop):
        self.cid, self.prop = cid, prop

    def to_dict(self):
        return {"id": self.cid, "property": self.prop}


def raw_body_probe(port: int, rounds: int = 9) -> dict:
    """Issue 23's bar: the 2 MB « " » + « \\" »×n body refused in ≤ 100 ms, a concurrent
    ``GET /_dash-dependencies`` delayed ≤ 100 ms."""
    n = 2_000_000
    body = b'"' + b'\\"' * ((n - 1) // 2)

    def get_deps() -> float:
        t = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/_dash-dependencies")
        conn.getresponse().read()
        conn.close()
        return time.perf_counter() - t

    idle = sorted(get_deps() for _ in range(20))[10]
    probes, during = [], []
    for _ in range(rounds):
        stop = threading.Event()

        def loop(stop=stop):
            while not stop.is_set():
                during.append(get_deps())

        t = threading.Thread(target=loop)
        t.start()
        status, _, dt = post(port, body)
        stop.set()
        t.join()
        probes.append((status, dt))
    # the same size of a plain JSON string: what reading 2 MB costs this server, guards aside
    plain = [post(port, b'"' + b"a" * (n - 2) + b'"')[2] for _ in range(rounds)]
    return {"body_bytes": len(body), "statuses": sorted({s for s, _ in probes}),
            "probe_ms_median": round(sorted(dt for _, dt in probes)[rounds // 2] * 1000, 1),
            "probe_ms_max": round(max(dt for _, dt in probes) * 1000, 1),
            "plain_2mb_string_ms_median": round(sorted(plain)[rounds // 2] * 1000, 1),
            "deps_idle_ms_median": round(idle * 1000, 1),
            "deps_during_ms_max": round(max(during) * 1000, 1) if during else None,
            "deps_delay_ms_max": round((max(during) - idle) * 1000, 1) if during else None,
            "deps_requests_during": len(during)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument("--guards-only", action="store_true", help="only the in-process guard timings")
    args = p.parse_args(argv)
    from models.serve.explorer import Explorer

    explorer = Explorer.load(Path(args.artifacts))
    guard_times = guards(explorer)
    if args.guards_only:
        print(json.dumps({"guards": guard_times}, ensure_ascii=False, indent=None if args.json else 2))
        return 0
    port = bench.free_port()
    try:
        proc, _ = bench.start_app(Path(args.artifacts), port, subprocess.DEVNULL, timeout=600)
    except bench.BenchError as exc:
        print(f"stress_boundary: {exc}", file=sys.stderr)
        return 1
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/_dash-dependencies")
        deps = json.loads(conn.getresponse().read())
        from models.core.store import resolve_build_dir

        build = resolve_build_dir(args.artifacts)
        n_rows = json.loads((build / "manifest.json").read_text())["n_datasets"]
        import pandas as pd

        ds_ids = pd.read_parquet(build / "datasets.parquet", columns=["id"])["id"].head(300).tolist()
        time.sleep(2)
        report = {"n_datasets": n_rows, "idle_rss_mb": round(rss_mb(proc.pid)), "guards": guard_times,
                  "raw_body_probe": raw_body_probe(port),
                  "mds_12_concurrent": mds_burst(port, proc.pid, deps, n_rows),
                  "uploads_500kb": uploads(port, deps, ds_ids),
                  "body_300mb": huge_body(port, proc.pid),
                  "big_inputs": big_inputs(port, deps)}
    finally:
        bench.stop_app(proc)
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
