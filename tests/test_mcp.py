"""The MCP server (models/mcp): a real client session over stdio against
``python -m models mcp --artifacts <the test build>`` (conftest's environment gives the subprocess
the fake encoder): the seven tools listed, each called, a follow-up through the dialogue state."""

from __future__ import annotations

import json
import os
import sys
import time

import anyio
import pytest

from models.core.config import REPO

TOOLS = {"search_datasets", "ask_catalogue", "get_dataset", "similar_datasets", "producer_profile",
         "territory_datasets", "catalogue_overview"}


def _json(result) -> dict:
    assert not result.isError, result.content
    if result.structuredContent is not None:
        return result.structuredContent.get("result", result.structuredContent)
    return json.loads(result.content[0].text)


async def _session(built_root, body):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "models", "mcp", "--artifacts", str(built_root)],
                                   env=dict(os.environ), cwd=str(REPO))
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            return await body(s)


@pytest.fixture(scope="module")
def session_results(built_root, explorer):
    """One server process, every call of the tests below (the results, and how long each took)."""
    ids = {"dataset": str(explorer.datasets["id"].iat[0]),
           "producer": str(explorer.producers.table["organization"].iat[0]),
           "territory": explorer.territories.entity(explorer.territories.most_named(1)[0]["value"])["name"]}

    async def body(s):
        out: dict = {"tools": await s.list_tools(), "times": {}}

        async def timed(name, args):
            t0 = time.perf_counter()
            res = await s.call_tool(name, args)
            out["times"].setdefault(name, []).append(time.perf_counter() - t0)
            return res

        out["overview"] = await timed("catalogue_overview", {})
        out["search"] = await timed("search_datasets", {"query": "transports", "k": 3})
        out["search_filtered"] = await timed("search_datasets", {"query": "données", "format": "csv",
                                                                 "territory": ids["territory"], "k": 5})
        out["search_unknown_place"] = await timed("search_datasets", {"query": "eau", "territory": "zzqqxx"})
        out["dataset"] = await timed("get_dataset", {"dataset_id": ids["dataset"]})
        out["dataset_unknown"] = await timed("get_dataset", {"dataset_id": "nope"})
        out["similar"] = await timed("similar_datasets", {"dataset_id": ids["dataset"], "k": 3})
        out["producer"] = await timed("producer_profile", {"producer": ids["producer"]})
        out["territory"] = await timed("territory_datasets", {"territory": ids["territory"]})
        first = await timed("ask_catalogue", {"question": "Où sont les données sur les transports ?"})
        out["ask"] = first
        state = _json(first)["state"]
        out["ask_follow_up"] = await timed("ask_catalogue", {"question": "et en Bretagne ?", "state": state})
        return out

    return anyio.run(_session, built_root, body), ids


def test_lists_the_seven_tools_with_french_docstrings(session_results):
    res, _ = session_results
    tools = {t.name: t for t in res["tools"].tools}
    assert set(tools) == TOOLS
    for t in tools.values():
        assert len(t.description) > 120 and "\u202f" not in t.name
        assert any(w in t.description for w in ("À utiliser", "À appeler")), t.name


def test_each_tool_answers_compactly(session_results, explorer):
    res, ids = session_results
    ov = _json(res["overview"])
    assert ov["n_datasets"] == explorer.n and ov["topics"]
    s = _json(res["search"])
    assert len(s["results"]) == 3
    assert set(s["results"][0]) == {"id", "title", "producer", "url", "why"}
    assert all(len(r["why"]) <= 160 for r in s["results"])
    assert _json(res["search_filtered"])["results"] is not None
    d = _json(res["dataset"])
    assert d["id"] == ids["dataset"] and d["url"].startswith("https://") and len(d["description"]) <= 1200
    assert len(_json(res["similar"])["similar"]) == 3
    p = _json(res["producer"])
    assert p["name"] == ids["producer"] and p["top_datasets"]
    t = _json(res["territory"])
    assert t["total"] >= 1 and len(t["datasets"]) <= 10
    for bad in ("search_unknown_place", "dataset_unknown"):
        assert res[bad].isError and "«\u202f" in res[bad].content[0].text


def test_ask_carries_the_dialogue_state(session_results, explorer):
    res, _ = session_results
    a1, a2 = _json(res["ask"]), _json(res["ask_follow_up"])
    r1 = explorer.assistant.ask("Où sont les données sur les transports ?")
    r2 = explorer.assistant.ask("et en Bretagne ?", r1["state"])
    assert a1["answer"] == r1["reply"] and a2["answer"] == r2["reply"]
    assert [d["id"] for d in a2["datasets"]] == [c["id"] for c in r2["cards"]]
    assert a2["understood"] == {k: v["label"] for k, v in r2["slots"].items()}


def test_each_call_is_quick_on_the_test_build(session_results):
    res, _ = session_results
    slowest = max(max(v) for v in res["times"].values())
    assert slowest < 2.0, res["times"]


def test_streamable_http_on_loopback(built_root):
    """``--http``: the same tools over streamable HTTP, bound to 127.0.0.1 only."""
    import socket
    import subprocess

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "models", "mcp", "--artifacts", str(built_root), "--http",
                             "--port", str(port)], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "the server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.3)
        listening = [c for c in __import__("psutil").Process(proc.pid).net_connections("tcp")
                     if c.status == "LISTEN"]
        assert listening and all(c.laddr.ip == "127.0.0.1" for c in listening)

        async def body():
            async with streamablehttp_client(f"http://127.0.0.1:{port}/mcp") as (read, write, _), \
                    ClientSession(read, write) as s:
                await s.initialize()
                names = {t.name for t in (await s.list_tools()).tools}
                overview = _json(await s.call_tool("catalogue_overview", {}))
                return names, overview

        names, overview = anyio.run(body)
        assert names == TOOLS and overview["n_datasets"] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
