"""Where the app's resident memory goes: load a build step by step as ``create_app`` does and
print each step's seconds and the process's RSS (anonymous / file-backed), MiB.

    python scripts/bench/memory_breakdown.py --artifacts artifacts [--query-encoder onnx|build] [--json]

Each line is one piece built on first use (the datasets frame and vectors, producers,
territories, the gazetteer, the territory filter columns, query understanding, quality scores,
the keyword and word2vec indexes, the query encoder), then ``create_app`` and what
``release_memory`` gives back. Linux only (reads ``/proc/self/status``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def rss() -> dict:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, *rest = line.split()
            if key in ("VmRSS:", "RssAnon:", "RssFile:"):
                out[key[:-1]] = int(rest[0]) // 1024
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", required=True)
    p.add_argument("--query-encoder", choices=("build", "onnx"), default="onnx")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    steps: list[dict] = []
    last = [time.perf_counter()]

    def mark(name: str) -> None:
        now = time.perf_counter()
        steps.append({"step": name, "seconds": round(now - last[0], 2), **rss()})
        last[0] = now

    mark("interpreter")
    from app import create_app, load_explorer, release_memory
    from models.core.config import AppSettings

    mark("imports")
    settings = AppSettings(artifacts=Path(args.artifacts), query_encoder=args.query_encoder)
    exp = load_explorer(settings)
    mark("datasets frame, vectors, map")
    for name, build in (("producers", lambda: exp.producers.table),
                        ("territories page", lambda: exp.territories.table),
                        ("gazetteer", lambda: exp.territories.gazetteer),
                        ("territory filter columns", lambda: exp.catalogue.territories),
                        ("query understanding", lambda: exp.engine.understanding_context),
                        ("quality scores", lambda: exp.producers.assessed()),
                        ("keyword index", lambda: exp.engine.keyword),
                        ("word2vec", lambda: exp.engine.word),
                        ("query encoder", lambda: exp.engine.semantic)):
        build()
        mark(name)
    create_app(settings, exp)
    mark("create_app (layout, callbacks)")
    release_memory()
    mark("release_memory")
    if args.json:
        print(json.dumps(steps, ensure_ascii=False))
        return 0
    prev = steps[0]["RssAnon"]
    for s in steps:
        print(f"{s['step']:<32}{s['seconds']:>7.2f} s  RSS {s['VmRSS']:>5} MiB  anonymous "
              f"{s['RssAnon']:>5} ({s['RssAnon'] - prev:+d})  file-backed {s['RssFile']:>4}")
        prev = s["RssAnon"]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
