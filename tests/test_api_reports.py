"""The reports of issue 26 through the JSON API (``/coverage``, ``/freshness``, ``/fair``): the
same answers as the command line's ``--json``, the same refusals as the other endpoints; the
OpenAPI document and schemathesis cover them with the rest (tests/test_api.py)."""

from __future__ import annotations

import json

import pytest

from models import cli
from models.api.openapi import PREFIX


@pytest.fixture(scope="module")
def producer(explorer) -> str:
    return str(explorer.producers.table["producer_id"].iat[0])


def cli_json(capsys, *argv) -> dict:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def without_timing(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "elapsed_ms"}


@pytest.mark.parametrize("query,filters", [("transport", []), ("eau potable", ["format=csv"]), ("", [])])
def test_coverage_equals_the_cli(client, api, built_root, capsys, query, filters):
    args = "&".join(f"{f.split('=')[0]}={f.split('=')[1]}" for f in filters)
    r = client.get(f"{PREFIX}/coverage?q={query}&per_100k=true" + (f"&{args}" if args else ""))
    assert r.status_code == 200, r.data[:300]
    got = r.get_json()
    ref = cli_json(capsys, "coverage", "--artifacts", str(built_root), "--json", query, "--per-100k",
                   *[x for f in filters for x in ("--filter", f)])
    assert without_timing(got) == without_timing(ref)
    assert sum(got["departements"].values()) >= 0 and set(got["gaps"]).isdisjoint(got["departements"])
    assert "per_100k" in got and got["rule"]


def test_freshness_and_fair_equal_the_cli(client, api, built_root, capsys, producer):
    cases = (("freshness?top=5", ["freshness", "--top", "5"]),
             (f"freshness?top=3&producer={producer}", ["freshness", "--top", "3", "--producer", producer]),
             ("fair?top=4&max_ids=7", ["fair", "--top", "4", "--max-ids", "7"]),
             (f"fair?producer={producer}", ["fair", "--producer", producer, "--max-ids", "50"]))
    for path, (command, *rest) in cases:
        r = client.get(f"{PREFIX}/{path}")
        assert r.status_code == 200, (path, r.data[:300])
        assert r.get_json() == cli_json(capsys, command, "--artifacts", str(built_root), "--json", *rest)
    fresh = client.get(f"{PREFIX}/freshness").get_json()
    assert sum(fresh["counts"].values()) == fresh["n"]
    fair = client.get(f"{PREFIX}/fair?max_ids=2").get_json()
    assert all(len(item["ids"]) <= 2 for item in fair["todo"])


def test_reports_refuse_in_french(client, api):
    for path in ("freshness?producer=inconnu", "fair?producer=%3Cscript%3E"):
        r = client.get(f"{PREFIX}/{path}")
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "producteur_inconnu"
        assert r.mimetype == "application/json"  # an id echoed as JSON text, never as HTML
        assert r.headers["X-Content-Type-Options"] == "nosniff"
    for path in ("fair?top=0", "fair?max_ids=5000", "freshness?top=abc", "coverage?q=" + "x" * 600,
                 "coverage?per_100k=peut-être"):
        r = client.get(f"{PREFIX}/{path}")
        assert r.status_code == 400, path
        assert r.get_json()["error"]["message"].startswith("paramètre")
