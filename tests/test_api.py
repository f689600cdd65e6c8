"""The JSON API ``/api/v1`` (models/api): every endpoint, its errors and limits, its headers, hostile
values on every parameter, the OpenAPI document checked by schemathesis, and two contracts (search
equals the CLI's ``search --json``; ``ask`` follow-ups equal the assistant's own dialogue)."""

from __future__ import annotations

import json
import math
from urllib.parse import quote

import pytest

from models.api import schemas as s
from models.api.limits import MAX_BODY_BYTES, RateLimiter
from models.api.openapi import ENDPOINTS, PREFIX
from tests.test_fuzz_callbacks import HOSTILE, HOSTILE_IDS

NNBSP = "\u202f"


@pytest.fixture(scope="module")
def ids(explorer, api):
    terr = explorer.territories.most_named(1)[0]["value"]
    return {"dataset": str(explorer.datasets["id"].iat[0]),
            "producer": str(explorer.producers.table["producer_id"].iat[0]), "territory": terr}


def assert_error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def assert_headers(resp) -> None:
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["Referrer-Policy"] == "same-origin"
    assert "Access-Control-Allow-Origin" not in h  # no CORS unless configured


# ---- every endpoint ---------------------------------------------------------------------------------
def test_every_endpoint_answers_its_model(client, api, ids):
    calls = {
        "search": client.get(f"{PREFIX}/search?q=transport&k=5&facets=true"),
        "dataset": client.get(f"{PREFIX}/datasets/{ids['dataset']}"),
        "similar": client.get(f"{PREFIX}/datasets/{ids['dataset']}/similar?k=3"),
        "ask": client.post(f"{PREFIX}/ask", json={"question": "données sur les transports"}),
        "producers": client.get(f"{PREFIX}/producers?per_page=5&sort=views"),
        "producer": client.get(f"{PREFIX}/producers/{quote(ids['producer'], safe='')}"),
        "territory_datasets": client.get(f"{PREFIX}/territories/{ids['territory']}/datasets?per_page=5"),
        "topics": client.get(f"{PREFIX}/topics"),
        "catalogue": client.get(f"{PREFIX}/catalogue"),
        "coverage": client.get(f"{PREFIX}/coverage?q=transport"),
        "freshness": client.get(f"{PREFIX}/freshness"),
        "fair": client.get(f"{PREFIX}/fair?top=3"),
    }
    assert set(calls) == {e.name for e in ENDPOINTS}
    for e in ENDPOINTS:
        resp = calls[e.name]
        assert resp.status_code == 200, (e.name, resp.data[:300])
        assert_headers(resp)
        e.response.model_validate(resp.get_json())
    search = calls["search"].get_json()
    assert len(search["results"]) == 5 and search["facets"]["format"]
    assert all(r["url"].startswith("https://") for r in search["results"])
    assert calls["similar"].get_json()["id"] == ids["dataset"]
    assert len(calls["producers"].get_json()["producers"]) == 5
    views = [p["views"] for p in calls["producers"].get_json()["producers"]]
    assert views == sorted(views, reverse=True)
    assert calls["catalogue"].get_json()["n_datasets"] == 200


def test_search_filters_mode_and_words(client, api, explorer):
    r = client.get(f"{PREFIX}/search?format=csv&k=3&facets=1").get_json()
    assert r["results"] and all(v["count"] >= 0 for v in r["facets"]["format"])
    w = client.get(f"{PREFIX}/search?q=eau&mode=word&k=2").get_json()
    assert w["words"] and {"word", "similarity"} == set(w["words"][0])
    msg = client.get(f"{PREFIX}/search?q=eau&year=pas-une-annee").get_json()["messages"]
    assert msg, "a filter the search cannot read is dropped with a French message"


# ---- contracts --------------------------------------------------------------------------------------
CONTRACT = [("risques naturels", []), ("transport", ["format=csv"]), ("données", ["year=2015-2025"]),
            ("", ["format=csv"]), ("eau potable", ["format=json", "format=csv"])]


@pytest.mark.parametrize(("query", "filters"), CONTRACT)
@pytest.mark.parametrize("facets", [False, True])
def test_search_equals_the_cli(client, api, built_root, capsys, query, filters, facets):
    from models.cli import main

    argv = ["search", "--artifacts", str(built_root), "--k", "7", "--json"]
    for f in filters:
        argv += ["--filter", f]
    assert main([*argv, *(["--facets"] if facets else []), query]) == 0
    cli = json.loads(capsys.readouterr().out)
    params = [("q", query), ("k", "7")] + [tuple(f.split("=", 1)) for f in filters]
    if facets:
        params.append(("facets", "true"))
    api_out = client.get(f"{PREFIX}/search", query_string=params).get_json()
    cli_rows = cli["results"] if facets else cli
    keys = ("id", "title", "organization", "score", "why", "versions")
    assert [{k: r[k] for k in keys} for r in api_out["results"]] == cli_rows
    assert cli_rows, "the contract compares real results"
    if facets:
        assert {k: [[v["value"], v["count"]] for v in vals] for k, vals in api_out["facets"].items()} \
            == cli["facets"]


DIALOGUE = ["Où sont les données sur les transports ?", "et en Bretagne ?", "plutôt en CSV", "autre chose ?"]


def test_ask_follow_ups_equal_the_assistant_dialogue(client, api, explorer):
    state, page_state = None, None
    for text in DIALOGUE:
        body = {"question": text} | ({"state": state} if state else {})
        r = client.post(f"{PREFIX}/ask", json=body)
        assert r.status_code == 200
        out = r.get_json()
        ref = explorer.assistant.ask(text, page_state)
        assert out["answer"] == ref["reply"]
        assert [d["id"] for d in out["datasets"]] == [c["id"] for c in ref["cards"]]
        slots = {k: {"value": v["value"], "label": v["label"]} for k, v in ref["slots"].items()}
        assert out["slots"] == slots
        state, page_state = out["state"], ref["state"]
    assert explorer.assistant.ask("x", page_state)["state"]["turns"] == len(DIALOGUE) + 1


def test_ask_follow_ups_equal_the_page_dialogue(client, api, dash):
    """The « Demander » page's turn callback and the API, turn by turn: the same state (the page
    keeps it in the browser, the API hands it out encoded) and the same cards."""
    from components import ask_page as ap
    from models.serve.service import decode_state
    from tests.test_ask_page import turn

    page_state, history, api_state, n_cards = None, [], None, 0
    for text in DIALOGUE:
        resp = turn(dash, text=text, state=page_state, history=history)
        page_state, history = resp[ap.STATE]["data"], resp[ap.HISTORY]["data"]
        out = client.post(f"{PREFIX}/ask", json={"question": text, "state": api_state}).get_json()
        api_state = out["state"]
        assert decode_state(api_state) == page_state
        assert [d["id"] for d in out["datasets"]] == [c["id"] for c in history[-1].get("cards", [])]
        n_cards += len(out["datasets"])
    assert page_state["turns"] == len(DIALOGUE) and n_cards > 0


def test_ask_choice_answers_a_clarifying_question(client, api, ids):
    first = client.post(f"{PREFIX}/ask", json={"question": "transports"}).get_json()
    body = {"state": first["state"], "choice": {"slot": "territory", "value": ids["territory"], "label": "x"}}
    out = client.post(f"{PREFIX}/ask", json=body).get_json()
    assert out["slots"]["territory"]["value"] == ids["territory"]


# ---- errors and limits ------------------------------------------------------------------------------
def test_errors_have_one_shape_and_the_right_status(client, api, ids):
    assert_error(client.get(f"{PREFIX}/datasets/nope"), 404, "introuvable")
    assert_error(client.get(f"{PREFIX}/datasets/nope/similar"), 404, "introuvable")
    assert_error(client.get(f"{PREFIX}/producers/nope"), 404, "introuvable")
    assert_error(client.get(f"{PREFIX}/territories/departement:999/datasets"), 404, "introuvable")
    assert_error(client.get(f"{PREFIX}/nothing-here"), 404, "introuvable")
    assert_error(client.get("/api/v2/search"), 404, "introuvable")
    e = assert_error(client.post(f"{PREFIX}/search", json={}), 405, "methode_non_permise")
    assert "GET" in e["message"]
    assert_error(client.get(f"{PREFIX}/ask"), 405)
    e = assert_error(client.get(f"{PREFIX}/search?k=101"), 400, "parametre_invalide")
    assert e["message"] == f"paramètre «{NNBSP}k{NNBSP}» invalide{NNBSP}: au plus 100"
    e = assert_error(client.get(f"{PREFIX}/search?mode=magic"), 400)
    assert "valeurs possibles" in e["message"] and " ou " in e["message"]
    assert_error(client.get(f"{PREFIX}/search?q=" + "a" * 501), 400)
    assert_error(client.get(f"{PREFIX}/search?k=deux"), 400)
    assert_error(client.get(f"{PREFIX}/producers?sort=pire"), 400)
    assert_error(client.get(f"{PREFIX}/producers?page=0"), 400)
    assert_error(client.post(f"{PREFIX}/ask", data="question=x"), 415, "type_non_supporte")
    assert_error(client.post(f"{PREFIX}/ask", data="{", content_type="application/json"), 400,
                 "json_invalide")
    assert_error(client.post(f"{PREFIX}/ask", data='{"question": "a", "question": "b"}',
                             content_type="application/json"), 400, "json_invalide")
    assert_error(client.post(f"{PREFIX}/ask", data="[" * 50_000, content_type="application/json"), 400)
    assert_error(client.post(f"{PREFIX}/ask", json={"question": "x", "extra": 1}), 400)
    assert_error(client.post(f"{PREFIX}/ask", json={"question": "  "}), 400, "question_vide")
    assert_error(client.post(f"{PREFIX}/ask", json={"question": "x", "state": "%%%"}), 400, "etat_invalide")
    assert_error(client.post(f"{PREFIX}/ask", json={"question": "x" * 501}), 400)
    big = {"question": "x", "state": "a" * (MAX_BODY_BYTES + 10)}
    assert_error(client.post(f"{PREFIX}/ask", json=big), 413, "trop_volumineux")
    for resp in (client.get(f"{PREFIX}/datasets/nope"), client.get(f"{PREFIX}/nothing")):
        assert_headers(resp)


def test_modes_the_build_lacks_are_409(client, api, monkeypatch):
    monkeypatch.setattr(api.service, "modes", ["keyword"])  # a build without its semantic index
    e = assert_error(client.get(f"{PREFIX}/search?q=eau"), 409, "mode_indisponible")
    assert "keyword" in e["message"] and f"«{NNBSP}hybrid{NNBSP}»" in e["message"]
    assert client.get(f"{PREFIX}/search?q=eau&mode=keyword").status_code == 200
    assert_error(client.post(f"{PREFIX}/ask", json={"question": "eau"}), 409, "mode_indisponible")
    doc = client.get(f"{PREFIX}/openapi.json").get_json()["paths"]
    assert "409" in doc[f"{PREFIX}/search"]["get"]["responses"]
    assert "409" in doc[f"{PREFIX}/ask"]["post"]["responses"]


def test_rate_limit_per_client(client, api):
    api.limiter = RateLimiter(rate=0.5, burst=3)
    try:
        codes = [client.get(f"{PREFIX}/catalogue").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        resp = client.get(f"{PREFIX}/topics")
        e = assert_error(resp, 429, "trop_de_requetes")
        assert int(resp.headers["Retry-After"]) >= 1 and "réessayez" in e["message"]
        assert_headers(resp)
        other = client.get(f"{PREFIX}/catalogue", environ_base={"REMOTE_ADDR": "10.0.0.2"})
        assert other.status_code == 200, "another client has its own bucket"
        assert client.get("/").status_code == 200, "the pages are not counted"
    finally:
        api.limiter = RateLimiter(rate=0)


def test_rate_limiter_refills_and_forgets():
    lim = RateLimiter(rate=2.0, burst=2)
    assert lim.allow("a", now=0.0) == 0 and lim.allow("a", now=0.0) == 0
    assert math.isclose(lim.allow("a", now=0.0), 0.5)
    assert lim.allow("a", now=0.5) == 0
    assert RateLimiter(rate=0).allow("a") == 0


def test_cors_only_when_configured(client, api):
    resp = client.get(f"{PREFIX}/catalogue", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    before = api.cors
    api.cors = frozenset({"https://ok.example"})
    try:
        ok = client.get(f"{PREFIX}/catalogue", headers={"Origin": "https://ok.example"})
        assert ok.headers["Access-Control-Allow-Origin"] == "https://ok.example"
        no = client.get(f"{PREFIX}/catalogue", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in no.headers
    finally:
        api.cors = before


# ---- hostile values on every parameter ------------------------------------------------------------
def _as_query(v) -> str:
    return json.dumps(v) if isinstance(v, dict | list) else str(v)


def _check(resp):
    assert resp.status_code < 500, resp.data[:300]
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)
    else:
        assert resp.mimetype in ("application/json", "text/html")
    assert_headers(resp)


def test_hostile_values_on_every_parameter(client, api, ids):
    n = 0
    for e in ENDPOINTS:
        path_ids = {"id": ids["producer"] if e.name == "producer" else ids["dataset"],
                    "code": ids["territory"]}
        base = PREFIX + e.path.format(**path_ids)
        if e.query is not None:
            for name in e.query.model_fields:
                for v in HOSTILE:
                    _check(client.get(base, query_string={name: _as_query(v)}))
                    n += 1
        for p in e.path_params:
            for v in [*HOSTILE_IDS, *HOSTILE]:
                bad = dict(path_ids, **{p: quote(_as_query(v)[:3000], safe="") or "%20"})
                _check(client.open(PREFIX + e.path.format(**bad), method=e.method,
                                   json={"question": "x"} if e.method == "POST" else None))
                n += 1
        if e.body is not None:
            for name in [*e.body.model_fields, "choice.slot", "choice.value"]:
                for v in HOSTILE:
                    body = {"question": "eau"}
                    if name.startswith("choice."):
                        body["choice"] = {"slot": "territory", name.split(".")[1]: v}
                    else:
                        body[name] = v
                    _check(client.post(base, data=json.dumps(body), content_type="application/json"))
                    n += 1
    assert n > 300


def test_hostile_text_stays_text(client, api):
    xss = '<script>alert(1)</script>'
    r = client.get(f"{PREFIX}/search?q={quote(xss)}%00%ED%A0%80%FF")  # NUL, a surrogate, bad UTF-8
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "<script>" not in client.get(f"{PREFIX}/docs").get_data(as_text=True)
    a = client.post(f"{PREFIX}/ask", data=json.dumps({"question": "eau \ud800 " + xss}),
                    content_type="application/json")
    assert a.status_code == 200


# ---- the OpenAPI document and the docs page ------------------------------------------------------
def test_openapi_document_lists_every_endpoint(client, api):
    doc = client.get(f"{PREFIX}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert ops == {(e.method, PREFIX + e.path) for e in ENDPOINTS}
    search = doc["paths"][f"{PREFIX}/search"]["get"]
    k = next(p for p in search["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == 100
    q = next(p for p in search["parameters"] if p["name"] == "q")
    assert q["schema"]["maxLength"] == s.MAX_QUERY_CHARS
    assert "ErrorBody" in doc["components"]["schemas"]


def test_docs_page_is_offline_and_escaped(client, api):
    r = client.get(f"{PREFIX}/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "<script" not in page and "http://" not in page and "https://" not in page  # offline
    for e in ENDPOINTS:
        assert f"{PREFIX}{e.path}" in page
    assert client.get(f"{PREFIX}/").get_data(as_text=True) == page
    assert_headers(r)
    # every value of the document goes through html.escape
    from models.api.openapi import docs_page

    doc = json.loads(json.dumps(api.openapi))
    doc["info"]["description"] = "<img src=x onerror=alert(1)>"
    doc["paths"][f"{PREFIX}/search"]["get"]["summary"] = "<script>alert(2)</script>"
    hostile = docs_page(doc)
    assert "<img" not in hostile and "<script" not in hostile
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile and "&lt;script&gt;alert(2)" in hostile


def test_schemathesis_every_operation(app, api):
    """schemathesis over the live document: every operation, every documented parameter, no
    server error, every response valid against its schema, every status documented."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_wsgi(f"{PREFIX}/openapi.json", app.server)
    checks = [schemathesis.checks.not_a_server_error, response_schema_conformance,
              status_code_conformance, content_type_conformance]
    seen = set()
    for op in schema.get_all_operations():
        operation = op.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=50, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(checks=checks)

        run()
        seen.add((operation.method.upper(), operation.path))
    assert seen == {(e.method, PREFIX + e.path) for e in ENDPOINTS}
