"""Time every MCP tool the way a desktop assistant calls it: ``python -m models mcp --artifacts DIR``
started over stdio by the ``mcp`` SDK's client, ``tools/list``, then each of the seven tools
(twice or more, a dialogue follow-up through its state). Prints JSON: seconds to start and list,
and per tool the slowest call in seconds (the issue's bar: each call ≤ 2 s on the full catalogue).

    .venv/bin/python scripts/bench/time_mcp.py --artifacts artifacts
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import anyio

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger("time_mcp")

CALLS = [
    ("catalogue_overview", {}),
    ("search_datasets", {"query": "qualité de l'eau potable"}),
    ("search_datasets", {"query": "accidents de la route", "territory": "Bretagne", "format": "csv"}),
    ("search_datasets", {"query": "Quand sont les vacances scolaires ?", "k": 20}),
    ("ask_catalogue", {"question": "Où sont les piscines à Toulouse ?"}),
    ("ask_catalogue", {"question": "et à Lyon ?", "state": "<previous>"}),
    ("ask_catalogue", {"question": "prix des carburants"}),
    ("get_dataset", {"dataset_id": "<first>"}),
    ("similar_datasets", {"dataset_id": "<first>", "k": 10}),
    ("producer_profile", {"producer": "INSEE"}),
    ("producer_profile", {"producer": "Météo-France"}),
    ("territory_datasets", {"territory": "Rennes"}),
    ("territory_datasets", {"territory": "Occitanie", "page": 2}),
]


def _data(result) -> dict:
    if result.isError:
        raise RuntimeError(result.content[0].text)
    if result.structuredContent is not None:
        return result.structuredContent.get("result", result.structuredContent)
    return json.loads(result.content[0].text)


async def main_async(artifacts: str) -> dict:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "models", "mcp", "--artifacts", artifacts],
                                   env=dict(os.environ), cwd=str(REPO))
    out: dict = {"artifacts": artifacts, "calls": {}}
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
        await s.initialize()
        tools = await s.list_tools()
        out["start_and_list_s"] = round(time.perf_counter() - t0, 2)
        out["tools"] = sorted(t.name for t in tools.tools)
        first, state = None, None
        for name, args in CALLS:
            args = dict(args)
            if args.get("state") == "<previous>":
                args["state"] = state
            if args.get("dataset_id") == "<first>":
                args["dataset_id"] = first
            t = time.perf_counter()
            data = _data(await s.call_tool(name, args))
            dt = time.perf_counter() - t
            out["calls"].setdefault(name, []).append(round(dt, 3))
            if name == "search_datasets" and first is None:
                first = data["results"][0]["id"]
            if name == "ask_catalogue":
                state = data["state"]
            log.info("%s %s: %.3f s", name, json.dumps(args, ensure_ascii=False)[:80], dt)
    out["slowest_s"] = {k: max(v) for k, v in out["calls"].items()}
    out["all_within_2s"] = all(v <= 2.0 for v in out["slowest_s"].values())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--artifacts", default=str(REPO / "artifacts"))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    print(json.dumps(anyio.run(main_async, args.artifacts), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
