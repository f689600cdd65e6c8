"""Load test: gunicorn (2 workers) on a build, locust visitors (``scripts/bench/locustfile.py``) against
it, the servers' memory sampled meanwhile; prints one JSON summary. Loopback only.

    pip install -e '.[load]'
    python scripts/bench/load_test.py --artifacts /tmp/load/artifacts --users 50 --duration 5m --out /tmp/load

Writes ``OUT/locust_stats.csv`` (locust's own tables), ``OUT/memory.csv`` (seconds, RSS, PSS and
USS of the gunicorn master and workers, every ``--every`` s) and ``OUT/gunicorn.log``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def wait_ready(url: str, timeout: float) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"the app did not answer on {url} within {timeout:.0f} s")


def sample_memory(pid: int, out: Path, every: float, stop: threading.Event) -> None:
    import psutil

    master = psutil.Process(pid)
    t0 = time.monotonic()
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["seconds", "processes", "rss_mib", "pss_mib", "uss_mib", "workers_rss_mib"])
        while not stop.is_set():
            procs = [master, *master.children(recursive=True)]
            rss = pss = uss = workers = 0
            for p in procs:
                try:
                    m = p.memory_full_info()
                except psutil.Error:
                    continue
                rss, pss, uss = rss + m.rss, pss + m.pss, uss + m.uss
                if p.pid != pid:
                    workers += m.rss
            mib = 1024 * 1024
            w.writerow([round(time.monotonic() - t0, 1), len(procs), round(rss / mib), round(pss / mib),
                        round(uss / mib), round(workers / mib)])
            fh.flush()
            stop.wait(every)


def summary(out: Path) -> dict:
    with open(out / "locust_stats.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    agg = next(r for r in rows if r["Name"] == "Aggregated")
    per = {r["Name"]: {"requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                       "p50_ms": float(r["50%"]), "p95_ms": float(r["95%"]),
                       "max_ms": float(r["Max Response Time"])}
           for r in rows if r["Name"] != "Aggregated"}
    with open(out / "memory.csv") as fh:
        mem = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    first = [m for m in mem if m["seconds"] <= 60] or mem[:1]
    last = [m for m in mem if m["seconds"] >= mem[-1]["seconds"] - 60] or mem[-1:]
    return {
        "requests": int(agg["Request Count"]), "failures": int(agg["Failure Count"]),
        "requests_per_s": round(float(agg["Requests/s"]), 1),
        "p50_ms": float(agg["50%"]), "p95_ms": float(agg["95%"]), "p99_ms": float(agg["99%"]),
        "per_request": per,
        "memory_pss_mib": {"first_minute_mean": round(sum(m["pss_mib"] for m in first) / len(first)),
                           "last_minute_mean": round(sum(m["pss_mib"] for m in last) / len(last)),
                           "max": max(m["pss_mib"] for m in mem), "samples": len(mem)},
        "memory_rss_mib": {"first": mem[0]["rss_mib"], "last": mem[-1]["rss_mib"],
                           "max": max(m["rss_mib"] for m in mem)},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--spawn-rate", type=float, default=5)
    p.add_argument("--duration", default="5m", help="locust --run-time (e.g. 90s, 5m)")
    p.add_argument("--port", type=int, default=8071)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (README)")
    p.add_argument("--keep-alive", type=int, default=10,
                   help="gunicorn keep-alive seconds: above the visitors' longest pause (4 s), else the "
                        "server closes idle connections as the client reuses them (connection resets)")
    p.add_argument("--locust", default=None,
                   help="the locust command, e.g. .venv-load/bin/locust (default: python -m locust); "
                        "locust is best kept in its own environment (see README)")
    p.add_argument("--every", type=float, default=5.0, help="seconds between memory samples")
    p.add_argument("--out", default="/tmp/load")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # every visitor comes from 127.0.0.1: the API's per-client rate would throttle them as one
    env = {"EXPLORER_API_RATE": "0", **os.environ, "EXPLORER_ARTIFACTS": str(Path(args.artifacts).resolve())}
    url = f"http://{HOST}:{args.port}"
    with open(out / "gunicorn.log", "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--preload", "-w", str(args.workers),
                                   "--threads", str(args.threads), "--keep-alive", str(args.keep_alive),
                                   "-b", f"{HOST}:{args.port}", "--timeout", "120",
                                   "app:server_from_env()"], cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    stop = threading.Event()
    try:
        wait_ready(url + "/", 300)
        sampler = threading.Thread(target=sample_memory, daemon=True,
                                   args=(server.pid, out / "memory.csv", args.every, stop))
        sampler.start()
        locust = [args.locust] if args.locust else [sys.executable, "-m", "locust"]
        subprocess.run([*locust, "-f", str(REPO / "scripts" / "bench" / "locustfile.py"),
                        "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
                        "-t", args.duration, "--host", url, "--csv", str(out / "locust"),
                        "--only-summary", "--loglevel", "WARNING"], cwd=REPO, check=False)
        stop.set()
        sampler.join(timeout=30)
    finally:
        stop.set()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    result = summary(out)
    result.update({"users": args.users, "duration": args.duration, "gunicorn_workers": args.workers,
                   "gunicorn_threads": args.threads, "keep_alive_s": args.keep_alive,
                   "artifacts": str(args.artifacts)})
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
