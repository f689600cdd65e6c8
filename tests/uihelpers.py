"""Helpers shared by the app's tests: hostile text, figure arrays, component-tree search and
``call`` / :class:`Dash`, which run a callback through the Flask client as dash-renderer does."""

from __future__ import annotations

import base64
import contextlib
import json

import numpy as np

from models.bench import find_component

# catalogue text an attacker could publish: must never run in the page
HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def arr(value) -> np.ndarray:
    """A figure array from ``fig.to_dict()`` or JSON: plotly 7 writes numpy arrays as base64
    typed arrays (``{"dtype": "f4", "bdata": ...}``)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


# ---- component trees (layouts and callback responses, as JSON) --------------------------------
find = find_component  # a component (as JSON) by id in a layout / response tree


def all_of(node, pred) -> list:
    """Every dict of a tree for which ``pred`` holds."""
    out = []
    if isinstance(node, dict):
        if pred(node):
            out.append(node)
        for v in node.values():
            out += all_of(v, pred)
    elif isinstance(node, list):
        for v in node:
            out += all_of(v, pred)
    return out


def grid_rows(tree) -> list[dict]:
    """The rows of the dash-ag-grids of a component tree (as JSON or components)."""
    if hasattr(tree, "to_plotly_json"):
        tree = json.loads(json.dumps(tree.to_plotly_json(), default=lambda o: o.to_plotly_json()))
    grids = all_of(tree, lambda d: d.get("type") == "AgGrid" and isinstance(d.get("props"), dict))
    return [r for g in grids for r in g["props"].get("rowData") or []]


def text(node) -> str:
    """The visible text of a serialised component tree (its children, not ids or classes)."""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return " ".join(text(c) for c in node)
    if isinstance(node, dict):
        props = node.get("props", node)
        return text(props.get("children", "")) if isinstance(props, dict) else ""
    return "" if node is None else str(node)


def ids_of(node, kind: str) -> list[dict]:
    """Every pattern-matching id of type ``kind`` in a tree."""
    return [n["props"]["id"] for n in all_of(node, lambda n: isinstance(n.get("props"), dict)
                                              and isinstance(n["props"].get("id"), dict)
                                              and n["props"]["id"].get("type") == kind)]


def strings(node) -> list[str]:
    """Every string of a tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return []


def patched(patch: dict, trace: int) -> dict:
    """The operation of a ``dash.Patch`` (as JSON) that sets trace ``trace`` of a figure."""
    assert patch["__dash_patch_update"] == "__dash_patch_update"
    ops = [op for op in patch["operations"] if op["location"] == ["data", trace]]
    assert len(ops) == 1, patch["operations"]
    return ops[0]


# ---- calling callbacks through the Flask test client ------------------------------------------
def _name(cid: str, prop: str) -> str:
    """``id.prop``; a pattern-matching id is named by its ``type``."""
    return f"{json.loads(cid)['type'] if cid.startswith('{') else cid}.{prop}"


def _items(items: list[dict], values: dict) -> list:
    out = []
    for item in items:
        cid, prop = item["id"], item["property"]
        if cid.startswith("{"):  # pattern-matching (ALL): a list of (concrete id, value)
            ptype = json.loads(cid)["type"]
            pairs = values.get(f"{ptype}.{prop}", [])
            out.append([{"id": i, "property": prop, "value": v} for i, v in pairs])
        else:
            out.append({"id": cid, "property": prop, "value": values.get(f"{cid}.{prop}")})
    return out


def _post(client, spec: dict, inputs: dict, state: dict | None, changed) -> dict:
    parts = spec["output"].strip(".").split("...")
    outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
    body = {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": _items(spec["inputs"], inputs), "state": _items(spec["state"], state or {}),
            "changedPropIds": changed if isinstance(changed, list) else [changed or next(iter(inputs))]}
    r = client.post("/_dash-update-component", json=body)
    if r.status_code == 204:
        return {}
    assert r.status_code == 200, r.data[:2000]
    return r.get_json()["response"]


def call(app, client, output: str, inputs: dict, state: dict | None = None, changed=None) -> dict:
    """POST the callback whose outputs include ``output`` ("id.prop") and whose inputs are exactly
    (else include) the keys of ``inputs``; returns ``{id: {prop: value}}`` ({} for no update).

    ``inputs``/``state``: {"id.prop": value}; a pattern-matching input is given as
    {"<type>.prop": [(id_dict, value), ...]}.
    """
    deps = client.get("/_dash-dependencies").get_json()
    outs = [d for d in deps if output in [p.rsplit("@", 1)[0] for p in d["output"].strip(".").split("...")]]
    exact = [d for d in outs if {_name(i["id"], i["property"]) for i in d["inputs"]} == set(inputs)]
    subset = [d for d in outs if set(inputs) <= {_name(i["id"], i["property"]) for i in d["inputs"]}]
    found = exact or subset
    assert found, f"no callback outputs {output} from inputs {sorted(inputs)}"
    return _post(client, found[0], inputs, state, changed)


class Dash:
    """Calls callbacks by their exact inputs and states, as dash-renderer does."""

    def __init__(self, client):
        self.client = client
        self.deps = client.get("/_dash-dependencies").get_json()

    def spec(self, inputs: list[str], states: list[str] = ()) -> dict:
        """The callback with exactly these inputs and states ("id.prop", in order)."""
        def names(items):
            return [f"{i['id']}.{i['property']}" for i in items]

        found = [d for d in self.deps if names(d["inputs"]) == inputs and names(d["state"]) == list(states)]
        assert len(found) == 1, (inputs, states)
        return found[0]

    def call(self, inputs: dict, state: dict | None = None, changed: list[str] | None = None):
        """``inputs``/``state``: {"id.prop": value} in the callback's order (a pattern-matching
        input: its JSON id as "id", ``[]`` when it matches no component)."""
        spec = self.spec(list(inputs), list(state or {}))

        def items(d):
            out = []
            for key, value in d.items():
                cid, _, prop = key.rpartition(".")
                with contextlib.suppress(ValueError):
                    cid = json.loads(cid)
                if isinstance(cid, dict) and value == []:
                    out.append([])
                else:
                    out.append({"id": cid, "property": prop, "value": value})
            return out

        parts = spec["output"].strip(".").split("...")
        outputs = [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]
        body = {"output": spec["output"], "outputs": outputs if len(outputs) > 1 else outputs[0],
                "inputs": items(inputs), "state": items(state or {}),
                "changedPropIds": changed if changed is not None else [next(iter(inputs))]}
        r = self.client.post("/_dash-update-component", json=body)
        if r.status_code == 204:
            return None
        assert r.status_code == 200, r.data[:2000]
        return r.get_json()["response"] or None  # {}: every output was no_update
