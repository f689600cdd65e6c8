"""Structural fuzzing (issue 23): the callback endpoint and GET paths attacked on their *shape*.

Bodies are built from ``/_dash-dependencies`` (every callback, client-side ones included, so
pages added later are covered) as dash-renderer would send them, then Hypothesis mutates their
structure: lists too long or too short, a wrong type at any level, a duplicated key in any object,
reordered outputs and inputs, pattern-matching ids of every shape, forged properties and triggers,
unknown top-level keys, another callback's output. GET paths mix component-suite files (``.py``
files, other packages), assets and traversal (``..``, ``%2e%2e``, ``%2f``, NUL).

Bars: ≥ 10,000 generated requests, no HTTP 5xx, no error rescued by a safety net (the callbacks'
last-resort 204, ``callbacks.guard.RESCUES``, nor the Dash-exception net,
``callbacks.http_guard.RESCUES``), no traceback in the log; every refusal a French JSON 4xx; a
well-formed request to a server-side callback is served (never refused), one to a client-side
callback is a 400.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import time
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callbacks import guard, http_guard
from components.labels import HTTP_REFUSED
from models.bench import split_output
from tests.test_fuzz_callbacks import _layout_props

ENDPOINT = "/_dash-update-component"
BODY_EXAMPLES = 8_200
PATH_EXAMPLES = 2_000
WILDCARD_VALUES = ["ALL", "MATCH", "ALLSMALLER"]

log = logging.getLogger(__name__)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def world(app, client):
    deps = client.get("/_dash-dependencies").get_json()
    layout = client.get("/_dash-layout").get_json()
    client.get("/")  # Dash registers the page's component files when it serves the page
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    state = {"client": client, "app": app, "deps": deps, "defaults": _layout_props(layout),
             "logs": handler, "count": 0, "statuses": {}, "suites": _suite_files(app)}
    yield state
    root.removeHandler(handler)


def _suite_files(app) -> list[tuple[str, str]]:
    return sorted((pkg, path) for pkg, paths in app.registered_paths.items() for path in paths)


# ---- a body as dash-renderer sends it -----------------------------------------------------------

def _declared(dep_id: str):
    if not dep_id.startswith("{"):
        return dep_id
    return json.loads(dep_id)


def _concrete(pattern: dict, rnd: random.Random, match: dict) -> dict:
    out = {}
    for k, v in pattern.items():
        if isinstance(v, list):  # a wildcard
            if v == ["MATCH"]:
                out[k] = match.setdefault(k, rnd.randint(0, 30))
            else:
                out[k] = rnd.choice([rnd.randint(0, 30), f"k{rnd.randint(0, 9)}"])
        else:
            out[k] = v
    return out


def _is_multi(dep_id) -> bool:
    return isinstance(dep_id, dict) and any(v in (["ALL"], ["ALLSMALLER"]) for v in dep_id.values())


def _items(dep: dict, rnd: random.Random, match: dict, defaults: dict, value: bool):
    did = _declared(dep["id"])
    key = f"{dep['id']}.{dep['property']}"

    def one(cid):
        item = {"id": cid, "property": dep["property"]}
        if value:
            clicks = dep["property"] in ("n_clicks", "n_submit")
            item["value"] = 1 if clicks else copy.deepcopy(defaults.get(key))
        return item

    if isinstance(did, str):
        return one(did)
    if _is_multi(did):
        return [one(_concrete(did, rnd, match)) for _ in range(rnd.randint(0, 3))]
    return one(_concrete(did, rnd, match))


def _prop_id(item: dict) -> str:
    cid = item["id"]
    cid = cid if isinstance(cid, str) else json.dumps(cid, sort_keys=True, separators=(",", ":"))
    return f"{cid}.{item['property']}"


def well_formed(spec: dict, defaults: dict, seed: int) -> dict:
    """The request dash-renderer sends for ``spec`` (an entry of ``/_dash-dependencies``)."""
    rnd, match = random.Random(seed), {}
    outs = split_output(spec["output"])
    outputs = []
    for o in outs:
        dep = {"id": o["id"] if isinstance(o["id"], str) else json.dumps(o["id"]), "property": o["property"]}
        outputs.append(_items(dep, rnd, match, defaults, value=False))
    inputs = [_items(d, rnd, match, defaults, value=True) for d in spec["inputs"]]
    body = {"output": spec["output"], "outputs": outputs if spec["output"].startswith("..") else outputs[0],
            "inputs": inputs}
    flat = [i for x in inputs for i in (x if isinstance(x, list) else [x])]
    changed = [_prop_id(flat[0])] if flat else []
    body["changedPropIds"] = changed
    body["parsedChangedPropsIds"] = [c if not c.startswith("{") else json.loads(c.rpartition(".")[0])
                                     for c in changed]
    if spec.get("state"):
        body["state"] = [_items(d, rnd, match, defaults, value=True) for d in spec["state"]]
    return body


# ---- mutations of its structure ---------------------------------------------------------------

SCALARS = st.sampled_from([None, True, False, 0, -1, 1.5, 2**70, "", "x", "ALL", ["ALL"], ["MATCH"], [], {},
                           {"id": "x"}, [[[]]], "é²⁰²⁰", "<b>x</b>", "x" * 3000, float("nan")])
JSON_VALUES = st.recursive(
    SCALARS | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
ID_KEYS = st.sampled_from(["type", "key", "row", "index", "value", "mode", "list", "slot", "label", "", "id"])
PATTERN_IDS = st.one_of(
    st.dictionaries(ID_KEYS, st.one_of(JSON_VALUES, st.sampled_from(WILDCARD_VALUES).map(lambda w: [w])),
                    max_size=5),
    JSON_VALUES, st.text(max_size=30))


def _paths(node, prefix=()):
    """Every (path, node) of a JSON tree, the root first."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _set(body, path, value):
    if not path:
        return value
    node = body
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return body


def _get(body, path):
    for p in path:
        body = body[p]
    return body


def _items_paths(body) -> list[tuple]:
    """Paths of every {"id", "property"} item of outputs, inputs and state."""
    return [p for p, n in _paths(body) if isinstance(n, dict) and "property" in n and p
            and p[0] in ("outputs", "inputs", "state")]


def _type_change(old, draw):
    new = draw(JSON_VALUES, label="new value")
    if type(new) is type(old):
        new = [new] if not isinstance(old, list) else {"x": new}
    return new


def mutate(body: dict, spec: dict, deps: list[dict], draw) -> tuple[dict | str, str]:
    """One structural mutation of ``body``: (the body, or its JSON text, the mutation's name)."""
    kind = draw(st.sampled_from(["length", "type", "type", "duplicate", "reorder", "pattern", "pattern",
                                 "property", "changed", "top", "shape", "other-output"]), label="mutation")
    lists = [k for k in ("outputs", "inputs", "state") if isinstance(body.get(k), list)]
    if kind == "length" and lists:
        k = draw(st.sampled_from(lists))
        seq = body[k]
        how = draw(st.sampled_from(["drop", "append", "empty", "double"]))
        if how == "drop" and seq:
            del seq[draw(st.integers(0, len(seq) - 1))]
        elif how == "append":
            seq.append(copy.deepcopy(seq[-1]) if seq else {"id": "x", "property": "value"})
        elif how == "double":
            seq.extend(copy.deepcopy(seq) or [[]])
        else:
            body[k] = []
        return body, kind
    if kind == "type":  # anywhere but inside an input's value (values: tests/test_fuzz_callbacks.py)
        paths = [p for p, _ in _paths(body) if "value" not in p[2:] or "id" in p[2:]]
        path = draw(st.sampled_from(paths), label="path")
        return _set(body, path, _type_change(_get(body, path), draw)), kind
    if kind == "duplicate":
        dicts = [p for p, n in _paths(body) if isinstance(n, dict) and n]
        path = draw(st.sampled_from(dicts), label="object")
        node = _get(body, path)
        key = draw(st.sampled_from(sorted(node)))
        other = draw(JSON_VALUES) if draw(st.booleans()) else node[key]
        inner = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in node.items())
        text = "{" + inner + f", {json.dumps(key)}: {json.dumps(other)}" + "}"
        marker = "__duplicate_key_marker__"
        return json.dumps(_set(body, path, marker)).replace(json.dumps(marker), text), kind
    if kind == "reorder":
        k = draw(st.sampled_from(lists)) if lists else "inputs"
        seq = body.get(k)
        if isinstance(seq, list) and len(seq) >= 2:
            perm = draw(st.permutations(range(len(seq))))
            if list(perm) == list(range(len(seq))):
                perm = list(reversed(perm))
            body[k] = [seq[i] for i in perm]
        elif isinstance(seq, list) and seq and isinstance(seq[0], list) and len(seq[0]) >= 2:
            seq[0].reverse()
        return body, kind
    items = _items_paths(body)
    if kind == "pattern" and items:
        path = draw(st.sampled_from(items), label="item")
        how = draw(st.sampled_from(["id", "id", "wrap", "unwrap", "key-wildcard"]))
        item = _get(body, path)
        if how == "id":
            item["id"] = draw(PATTERN_IDS, label="forged id")
        elif how == "wrap":
            _set(body, path, [item, copy.deepcopy(item)])
        elif how == "unwrap" and len(path) >= 2 and isinstance(_get(body, path[:-1]), list):
            _set(body, path[:-1], item)
        elif isinstance(item["id"], dict) and item["id"]:
            k = draw(st.sampled_from(sorted(item["id"])))
            item["id"][k] = draw(st.sampled_from([["ALL"], ["MATCH"], {"wild": "ALL"}, None, [1], 1e308,
                                                  "x" * 500, True]))
        else:
            item["id"] = {"type": item["id"], "index": ["ALL"]}
        return body, kind
    if kind == "property" and items:
        path = draw(st.sampled_from(items), label="item")
        item = _get(body, path)
        prop = str(item["property"])
        item["property"] = draw(st.one_of(JSON_VALUES, st.sampled_from(
            [prop + "@x", prop + ".x", "value", "children", "", "@"])))
        return body, kind
    if kind == "changed":
        forged = st.one_of(st.text(max_size=40), st.sampled_from(
            ["{", "{.value", '{"a":1}.n_clicks', "[1].value", "x", ".", "url.search", "map.figure",
             '{"row":[1],"type":"result-item"}.n_clicks', '{"row":{"a":1},"type":"result-item"}.n_clicks']),
            JSON_VALUES)
        body["changedPropIds"] = draw(st.one_of(st.lists(forged, max_size=4), JSON_VALUES))
        return body, kind
    if kind == "top":
        how = draw(st.sampled_from(["extra", "drop", "parsed"]))
        if how == "extra":
            body[draw(st.text(max_size=10))] = draw(JSON_VALUES)
        elif how == "drop":
            body.pop(draw(st.sampled_from(sorted(body))))
        else:
            body["parsedChangedPropsIds"] = draw(JSON_VALUES)
        return body, kind
    if kind == "shape":
        outputs = body.get("outputs")
        body["outputs"] = outputs[0] if isinstance(outputs, list) and outputs else [outputs]
        return body, kind
    other = draw(st.sampled_from(deps), label="other callback")
    body["output"] = other["output"]
    return body, "other-output"


# ---- one request -------------------------------------------------------------------------------

def _rescues() -> int:
    return sum(guard.RESCUES.values()) + sum(http_guard.RESCUES.values())


def _check_logs(world, where: str) -> None:
    for rec in world["logs"].records:
        text = rec.getMessage()
        assert rec.exc_info is None and "Traceback" not in text, (where, text[:300])
        assert not getattr(rec, "guard_rescue", False), (where, text[:300])
        assert not getattr(rec, "structure_rescue", False), (where, text[:300])
    world["logs"].records.clear()


def _count(world, status: int) -> None:
    world["count"] += 1
    world["statuses"][status] = world["statuses"].get(status, 0) + 1


def post(world, body) -> int:
    data = body if isinstance(body, str) else json.dumps(body)
    before = _rescues()
    r = world["client"].post(ENDPOINT, data=data, content_type="application/json")
    _count(world, r.status_code)
    where = data[:300]
    assert r.status_code in (200, 204, 400, 413), (r.status_code, where, r.data[:300])
    if r.status_code == 400:
        assert r.get_json() == {"error": HTTP_REFUSED[400]}, (where, r.data[:300])
    elif r.status_code == 200:
        json.loads(r.data)
    assert _rescues() == before, where
    _check_logs(world, where)
    return r.status_code


def get(world, path: str) -> int:
    before = _rescues()
    r = world["client"].get(path)
    _count(world, r.status_code)
    assert r.status_code in (200, 304, 404), (path, r.status_code, r.data[:300])
    if r.status_code == 404:
        assert r.get_json() == {"error": HTTP_REFUSED[404]}, (path, r.data[:300])
    assert _rescues() == before, path
    _check_logs(world, path)
    return r.status_code


# ---- the tests ---------------------------------------------------------------------------------

def test_well_formed_requests_are_served_and_client_side_ones_refused(world):
    """The validator refuses nothing dash-renderer sends: every server-side callback, with its
    pattern-matching lists of 0 to 3 items, is served; a client-side callback's output is a 400."""
    served = refused = 0
    for spec in world["deps"]:
        for seed in range(3):
            status = post(world, well_formed(spec, world["defaults"], seed))
            if spec.get("clientside_function"):
                assert status == 400, spec["output"]
                refused += 1
            else:
                assert status in (200, 204), (spec["output"], seed)
                served += 1
    assert served >= 3 * 50 and refused >= 3 * 8


def test_structurally_forged_callback_requests(world):
    deps, defaults = world["deps"], world["defaults"]
    start, before = time.perf_counter(), world["count"]
    kinds: dict[str, int] = {}

    @settings(max_examples=BODY_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def forged(data):
        spec = data.draw(st.sampled_from(deps), label="callback")
        body = well_formed(spec, defaults, data.draw(st.integers(0, 5), label="seed"))
        for _ in range(data.draw(st.integers(1, 2), label="mutations")):
            if not isinstance(body, dict):  # JSON text (a duplicated key) or a root replaced
                break
            body, kind = mutate(copy.deepcopy(body), spec, deps, data.draw)
            kinds[kind] = kinds.get(kind, 0) + 1
        post(world, body)

    forged()
    n = world["count"] - before
    assert n >= BODY_EXAMPLES
    assert set(kinds) >= {"length", "type", "duplicate", "reorder", "pattern", "property", "changed",
                          "top", "shape", "other-output"}
    log.info("%d structurally forged requests in %.1f s, statuses %s, mutations %s", n,
             time.perf_counter() - start, world["statuses"], kinds)


SEGMENTS = ["dash", "os", "callbacks", "dash_ag_grid", "dash_bootstrap_components", "plotly", "..", "%2e%2e",
            "%2e%2e%2f", "..%2f..%2f", "%2f", "%00", "%c0%ae%c0%ae", "etc", "passwd", "dash.py", "path.py",
            "guard.py", "__init__.py", "app.py", "deps", "dcc", "async-graph.js", "x.v1m1.js", "~", ".", "",
            "%5c..%5c", "assets", "_dash-layout", "build", "é", "%ff"]
# /api/ is the API's (issue 25): not fuzzed here
PREFIXES = ["/_dash-component-suites/", "/assets/", "/", "/static/", "/_dash-layout/", "/_reload-hash/",
            "/_favicon.ico/"]


def test_forged_get_paths(world):
    start, before = time.perf_counter(), world["count"]
    suites = world["suites"]
    fixed = {r.rule for r in world["app"].server.url_map.iter_rules() if "<" not in r.rule}  # /_dash-layout…

    @settings(max_examples=PATH_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def paths(data):
        prefix = data.draw(st.sampled_from(PREFIXES), label="prefix")
        segs = data.draw(st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(
            st.characters(codec="ascii", exclude_characters="?#"), max_size=12)), min_size=0, max_size=5))
        if prefix == "/_dash-component-suites/" and data.draw(st.booleans()):
            pkg, path = data.draw(st.sampled_from(suites), label="registered file")
            last = path.split("/")[-1]
            end = data.draw(st.sampled_from([last, last + ".py", "..", "%2e%2e", "x.py"]))
            segs = [pkg, *path.split("/")[:-1], end, *segs[:1]]
        path = prefix + "/".join(segs)
        if path.startswith(("//", "/api")):  # no host part; /api/ is the API's (issue 25)
            path = "/x" + path
        status = get(world, path)
        if status == 200:  # what may be served: the page, a registered file, an asset
            rest = re.sub("/+", "/", unquote(path.split("?")[0]))  # « /%2f » is « // »: the page
            assert rest in fixed or rest.startswith(("/_dash-component-suites/", "/assets/")), path

    paths()
    assert world["count"] - before >= PATH_EXAMPLES
    log.info("%d forged GET paths in %.1f s", world["count"] - before, time.perf_counter() - start)


def test_named_findings_of_the_issue(world):
    """The 13 HTTP 500 of issue 23, each a 4xx now."""
    spec = next(d for d in world["deps"] if d["output"].startswith("..") and d.get("state"))
    ok = well_formed(spec, world["defaults"], 0)
    forged = []
    for change in ("short", "long", "few-inputs", "many-inputs", "state-empty", "outputs-dict",
                   "id-dict", "reversed"):
        b = json.loads(json.dumps(ok))
        if change == "short":
            b["outputs"] = b["outputs"][:-1]
        elif change == "long":
            b["outputs"] = b["outputs"] + b["outputs"][:1]
        elif change == "few-inputs":
            b["inputs"] = b["inputs"][:-1]
        elif change == "many-inputs":
            b["inputs"] = b["inputs"] + b["inputs"][:1]
        elif change == "state-empty":
            b["state"] = []
        elif change == "outputs-dict":
            b["outputs"] = b["outputs"][0]
        elif change == "id-dict":
            b["outputs"][0]["id"] = {"type": "x", "index": 1}
        else:
            b["outputs"] = b["outputs"][::-1]
        forged.append(b)
    text = json.dumps(ok)
    forged.append(text[:-1] + f', "output": {json.dumps(world["deps"][0]["output"])}' + "}")
    for b in forged:
        assert post(world, b) == 400
    for path in ("/_dash-component-suites/dash/dash.py", "/_dash-component-suites/os/path.py",
                 "/_dash-component-suites/callbacks/guard.py",
                 "/_dash-component-suites/dash/%2e%2e/%2e%2e/callbacks/guard.py", "/etc/passwd"):
        assert get(world, path) == 404
    clientside = [d for d in world["deps"] if d.get("clientside_function")]
    assert len(clientside) >= 8
    for spec in clientside:
        assert post(world, well_formed(spec, world["defaults"], 0)) == 400


def test_enough_structural_requests():
    """The bar of issue 23: ≥ 10,000 generated structural requests in CI."""
    assert BODY_EXAMPLES + PATH_EXAMPLES >= 10_000
