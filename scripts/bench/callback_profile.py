"""The page's search callback in process (Flask's test client, no HTTP), on three kinds of thread:
the thread that loaded the app, a new thread for each search (what ``python app.py`` did for each
connection before ``models/serve/warm_threads.py``), and a new thread handing the search to a
persistent one (what it does now). Caches are emptied before each query, so each pays for its
encoding and its products. The map's overlay comes with the search's response; a highlight the
search did not draw (``"drawn"`` missing, an older app) is drawn by the overlay callback, timed apart.

    python scripts/bench/callback_profile.py --artifacts artifacts [--repeat 2] [--blocks] [--json]

By default the kinds take turns query by query; ``--blocks`` runs all the queries on one kind,
then on the next (a thread that searched just before is faster: the two orders give different
gaps, both reported in docs/measurements.md). Prints p50 and p95 milliseconds per kind of
thread. Measure on an idle machine (load average < 2.5) and give the load with the numbers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

log = logging.getLogger("callback_profile")

KINDS = {"same": "même thread", "new": "nouveau thread par recherche",
         "warm": "nouveau thread, recherche confiée à un thread persistant"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the queries, kinds alternated")
    ap.add_argument("--blocks", action="store_true", help="all queries on one kind, then the next")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import app as appmod
    from models.bench import (
        HIGHLIGHT_DRAW_ID,
        HIGHLIGHT_ID,
        MAP_ID,
        QUERIES,
        SEARCH_STATE_ID,
        callback_body,
        find_callback,
    )
    from models.serve.warm_threads import WarmPool

    settings = appmod.AppSettings(artifacts=Path(args.artifacts))
    appmod.prepare_process(settings)
    explorer = appmod.load_explorer(settings)
    dash_app = appmod.create_app(settings, explorer=explorer)
    appmod.after_start(settings)
    client = dash_app.server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    search_spec = find_callback(deps, [f"{SEARCH_STATE_ID}.data"], f"{HIGHLIGHT_ID}.data")
    overlay_spec = find_callback(deps, [f"{HIGHLIGHT_DRAW_ID}.data"], f"{MAP_ID}.figure")
    lock = threading.Lock()  # one test-client request at a time

    def search(q: str) -> tuple[float, float]:
        explorer.engine.clear_caches()
        with lock:
            t0 = time.perf_counter()
            body = callback_body(search_spec, {f"{SEARCH_STATE_ID}.data": {"q": q, "mode": None}})
            r = client.post("/_dash-update-component", json=body)
            t1 = time.perf_counter()
            highlight = json.loads(r.data)["response"][HIGHLIGHT_ID]["data"]
            if highlight.get("drawn"):  # the overlay came with the results
                return t1 - t0, 0.0
            body = callback_body(overlay_spec, {f"{HIGHLIGHT_DRAW_ID}.data": highlight})
            client.post("/_dash-update-component", json=body)
            return t1 - t0, time.perf_counter() - t1

    warm = WarmPool(1, "profile")

    def on_new_thread(fn, q):
        out = []
        th = threading.Thread(target=lambda: out.append(fn(q)))
        th.start()
        th.join()
        return out[0]

    runners = {"same": search, "new": lambda q: on_new_thread(search, q),
               "warm": lambda q: on_new_thread(lambda x: warm.run(search, x), q)}
    for q in QUERIES[:5]:  # first calls of every kind of thread
        for run in runners.values():
            run(q + " amorce")
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in runners}
    for _ in range(max(args.repeat, 1)):
        if args.blocks:
            for kind, run in runners.items():
                times[kind].extend(run(q) for q in QUERIES)
        else:
            for q in QUERIES:
                for kind, run in runners.items():
                    times[kind].append(run(q))
    load = os.getloadavg()[0]
    report = {kind: {"search_p50_ms": round(float(np.percentile([a for a, _ in t], 50)) * 1000, 1),
                     "search_p95_ms": round(float(np.percentile([a for a, _ in t], 95)) * 1000, 1),
                     "overlay_p50_ms": round(float(np.percentile([b for _, b in t], 50)) * 1000, 1),
                     "n": len(t)}
              for kind, t in times.items()}
    if args.json:
        print(json.dumps({"load": round(load, 2), "order": "blocks" if args.blocks else "turns",
                          "kinds": report}))
        return 0
    order = "par blocs" if args.blocks else "à tour de rôle"
    print(f"{len(QUERIES)} requêtes × {max(args.repeat, 1)}, {order}, charge {load:.2f}")
    for kind, r in report.items():
        print(f"{KINDS[kind]:<58} recherche p50 {r['search_p50_ms']:6.1f} ms"
              f"  p95 {r['search_p95_ms']:6.1f} ms  superposition p50 {r['overlay_p50_ms']:5.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
