"""Fuzzing the callback endpoint as an attacker would: every callback the app serves (read from
``/_dash-dependencies``, so pages added later are covered without touching this file), every
input and state replaced in turn by hostile values, pattern-matching ids forged too, then
Hypothesis-generated JSON. Bars (issue 14): no HTTP 500, no traceback in the logs, no callback
rescued by the guard's safety net, every answer JSON (or 204), each within a time bound."""

from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.bench import split_output

ENDPOINT = "/_dash-update-component"
OK_STATUSES = {200, 204, 400, 413}
PER_REQUEST_S = 10.0  # the fixture build answers in milliseconds; this only catches a runaway


def _nested(depth: int):
    v: object = 1
    for _ in range(depth):
        v = [v]
    return v


HOSTILE = [
    None, "", 0, -1, 7, 2**63, 1.5, -0.0, float("nan"), float("inf"), True, [], [1, "a", None],
    {}, {"points": [{"customdata": "x", "pointIndex": -5}], "rows": "0"}, "x" * 100_000,
    '<script>alert(1)</script><img src=x onerror=alert(2)>', "../../etc/passwd",
    "data:text/csv;base64,cXVlcnk=", _nested(20), _nested(200),
    {"metrics": {"hybrid": {"n": "x", "hit@1": [1]}, "keyword": 3},
     "per_query": [{"ranks": {"hybrid": "a"}}, 5], "rows": [1e300, -1, "2", 0], "q": ["x"],
     "mode": {}, "label": {"a": 1}, "query": {"x": "nan", "y": 1}},
]
HOSTILE_IDS = [None, "", "abc", 1.5, -3, 10**9, float("nan"), [], {"a": 1}, "<b>1</b>", True]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz(app):
    """The real app over the fixture build (conftest's ``app``: every page, every callback)."""
    client = app.server.test_client()
    # clientside callbacks run in the browser, the server has nothing to answer for them
    deps = [d for d in client.get("/_dash-dependencies").get_json() if not d.get("clientside_function")]
    layout = client.get("/_dash-layout").get_json()
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    state = {"client": client, "deps": deps, "defaults": _layout_props(layout), "logs": handler,
             "count": 0, "slowest": 0.0}
    yield state
    root.removeHandler(handler)


def _layout_props(node, out=None) -> dict:
    """``{"id.prop": value}`` of every component with a string id in the initial layout: the
    plausible values the other inputs keep while one is fuzzed."""
    out = {} if out is None else out
    if isinstance(node, dict):
        props = node.get("props") if isinstance(node.get("props"), dict) else {}
        if isinstance(props.get("id"), str):
            for k, v in props.items():
                if k not in ("children", "id") and len(json.dumps(v, default=str)) < 5_000:
                    out[f"{props['id']}.{k}"] = v
        for v in node.values():
            _layout_props(v, out)
    elif isinstance(node, list):
        for v in node:
            _layout_props(v, out)
    return out


def _pattern_id(dep_id: str, wildcard_value) -> dict | None:
    if not dep_id.startswith("{"):
        return None
    pid = json.loads(dep_id)
    return {k: (wildcard_value if isinstance(v, list) else v) for k, v in pid.items()}


def _prop_id(cid, prop: str) -> str:
    cid = cid if isinstance(cid, str) else json.dumps(cid, sort_keys=True, separators=(",", ":"))
    return f"{cid}.{prop}"


def _item(dep: dict, defaults: dict, value=..., pattern_value=0):
    """What the renderer sends for one input/state; a pattern input is a list of matches."""
    key = f"{dep['id']}.{dep['property']}"
    if value is ...:
        value = 1 if dep["property"] in ("n_clicks", "n_submit") else defaults.get(key)
    pid = _pattern_id(dep["id"], pattern_value)
    if pid is not None:
        return [{"id": pid, "property": dep["property"], "value": value}]
    return {"id": dep["id"], "property": dep["property"], "value": value}


def _body(spec: dict, defaults: dict, target: int, value=..., pattern_value=0) -> dict:
    deps = spec["inputs"] + spec.get("state", [])
    items = [_item(d, defaults, value if i == target else ..., pattern_value if i == target else 0)
             for i, d in enumerate(deps)]
    outputs = split_output(spec["output"])
    n_in = len(spec["inputs"])
    trig = deps[target] if target < n_in else deps[0]
    trig_item = items[target] if target < n_in else items[0]
    trig_id = trig_item[0]["id"] if isinstance(trig_item, list) else trig["id"]
    return {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": items[:n_in], "state": items[n_in:],
            "changedPropIds": [_prop_id(trig_id, trig["property"])]}


def _post(fuzz, body) -> None:
    data = json.dumps(body, ensure_ascii=True)  # NaN / Infinity as Python writes them
    t = time.perf_counter()
    r = fuzz["client"].post(ENDPOINT, data=data, content_type="application/json")
    dt = time.perf_counter() - t
    fuzz["count"] += 1
    fuzz["slowest"] = max(fuzz["slowest"], dt)
    where = f"{body['output'][:80]} {json.dumps(body['inputs'] + body['state'])[:200]}"
    assert r.status_code in OK_STATUSES, (r.status_code, where, r.data[:300])
    if r.status_code != 204:
        json.loads(r.data)  # valid JSON (raises otherwise)
    assert dt < PER_REQUEST_S, (dt, where)
    _assert_clean_logs(fuzz, where)


def _assert_clean_logs(fuzz, where: str) -> None:
    for rec in fuzz["logs"].records:
        text = rec.getMessage()
        assert rec.exc_info is None and "Traceback" not in text, (where, text[:300])
        assert not getattr(rec, "guard_rescue", False), (where, text[:300])
    fuzz["logs"].records.clear()


def grid_size(deps: list[dict]) -> int:
    """Requests of :func:`test_every_callback_input_resists_hostile_values` for these callbacks."""
    n = 0
    for spec in deps:
        for dep in spec["inputs"] + spec.get("state", []):
            n += len(HOSTILE) + (len(HOSTILE_IDS) if dep["id"].startswith("{") else 0)
    return n


def test_every_callback_input_resists_hostile_values(fuzz):
    deps = fuzz["deps"]
    assert len(deps) >= 30  # the whole app, not an empty page
    start, before = time.perf_counter(), fuzz["count"]
    for spec in deps:
        n = len(spec["inputs"]) + len(spec.get("state", []))
        for target in range(n):
            for value in HOSTILE:
                _post(fuzz, _body(spec, fuzz["defaults"], target, value))
            dep = (spec["inputs"] + spec.get("state", []))[target]
            if dep["id"].startswith("{"):  # forged pattern ids, clicked
                for bad in HOSTILE_IDS:
                    _post(fuzz, _body(spec, fuzz["defaults"], target, 1, pattern_value=bad))
    assert fuzz["count"] - before == grid_size(deps)
    logging.getLogger(__name__).info("%d forged requests in %.1f s (slowest %.2f s)",
                                     fuzz["count"] - before, time.perf_counter() - start, fuzz["slowest"])


def test_malformed_bodies_are_refused_cleanly(fuzz):
    spec = fuzz["deps"][0]
    bodies = [b"", b"null", b"[]", b"{", b'{"output": 3}', b'{"output": "nope.data", "inputs": []}',
              json.dumps({"output": spec["output"], "inputs": "x"}).encode(),
              json.dumps({"output": spec["output"], "inputs": [1, 2], "state": {}}).encode(),
              b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe garbage"]
    for data in bodies:
        r = fuzz["client"].post(ENDPOINT, data=data, content_type="application/json")
        assert r.status_code in OK_STATUSES, (data[:60], r.status_code, r.data[:300])
        if r.status_code != 204:
            json.loads(r.data)
        _assert_clean_logs(fuzz, repr(data[:60]))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=25)


HYPOTHESIS_EXAMPLES = 450


@settings(max_examples=HYPOTHESIS_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hypothesis_json_on_every_callback(fuzz, data):
    deps = fuzz["deps"]
    spec = data.draw(st.sampled_from(deps), label="callback")
    n = len(spec["inputs"]) + len(spec.get("state", []))
    target = data.draw(st.integers(0, n - 1), label="input")
    value = data.draw(JSON_VALUES, label="value")
    pattern_value = data.draw(st.one_of(st.integers(-5, 300), JSON_VALUES), label="pattern id")
    _post(fuzz, _body(spec, fuzz["defaults"], target, value, pattern_value))


def test_enough_forged_requests(fuzz):
    """The bar of issue 14: ≥ 2,000 forged requests (the grid, counted by its test, plus the
    Hypothesis examples); grows with every callback added to the app."""
    assert grid_size(fuzz["deps"]) + HYPOTHESIS_EXAMPLES >= 2_000
