"""The structure of a callback request, checked against the callback's declared signature before
Dash reads it (``callbacks.http_guard`` calls :func:`request_problem` on every
``POST /_dash-update-component``).

dash-renderer posts ``{"output", "outputs", "inputs", "state", "changedPropIds",
"parsedChangedPropsIds"}``: ``outputs`` one ``{"id", "property"}`` per declared output (a list of
them for a multi-output callback), ``inputs`` and ``state`` one ``{"id", "property", "value"}`` per
declared dependency, in order; a pattern-matching dependency with ``ALL``/``ALLSMALLER`` is a list
of such items (its ids concrete dicts of the pattern's keys), ``MATCH`` one item whose value is the
same everywhere in the request. ``changedPropIds`` name input items of the request
(``"<id>.<property>"``, a dict id as JSON).

Dash trusts that shape: a list one item short is an ``IndexError``, a reordered output a
``CallbackException``, a dict where it expects a list a ``TypeError``, a client-side callback's
output a ``KeyError`` — each an HTTP 500 — and a trigger id that is not JSON breaks
``ctx.triggered_id`` inside a callback. Here every level is checked (types, lengths, keys, ids,
properties, wildcard values) and the first problem is returned as one short English line for the
log; the person gets a French 400. Linear in the body (each item looked at once; trigger ids
compared through a set), nothing recursive on client data.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")
MAX_OUTPUT_CHARS = 20_000  # a multi-output callback's id lists every output
MAX_PROPERTY_CHARS = 200
MAX_ID_VALUE_CHARS = 200  # a wildcard key's value (a row, a producer id, a label)
MAX_PATTERN_ITEMS = 5_000  # matches of one pattern-matching dependency (items on a page)
MAX_CHANGED = 100  # entries of changedPropIds (one action changes a few props)
MAX_PROP_ID_CHARS = 2_000
TOP_KEYS = frozenset({"output", "outputs", "inputs", "state", "changedPropIds", "parsedChangedPropsIds"})
INPUT_KEYS = frozenset({"id", "property", "value", "allow_optional"})
OUTPUT_KEYS = frozenset({"id", "property"})


class Wild(str):
    """A wildcard of a declared pattern id (``"ALL"``, ``"MATCH"`` or ``"ALLSMALLER"``)."""


@dataclass(frozen=True)
class Dep:
    """One declared dependency: a string id, or a dict id whose values may be :class:`Wild`."""

    id: str | dict
    prop: str

    @property
    def multi(self) -> bool:  # sent as a list of items
        return isinstance(self.id, dict) and any(v in ("ALL", "ALLSMALLER") for v in self.id.values()
                                                 if isinstance(v, Wild))


@dataclass(frozen=True)
class Signature:
    outputs: tuple[Dep, ...]
    multi_output: bool  # outputs sent as a list (the callback id starts with "..")
    no_output: bool
    inputs: tuple[Dep, ...]
    state: tuple[Dep, ...]
    server: bool  # False: a client-side callback (nothing to run here)


def _declared_id(raw) -> str | dict:
    """A dependency id as ``to_dict()`` writes it: a string, or JSON of a dict whose wildcards are
    ``["ALL"]``..."""
    if isinstance(raw, str) and raw.startswith("{"):
        parsed = json.loads(raw)
        return {k: (Wild(v[0]) if isinstance(v, list) and len(v) == 1 and v[0] in WILDCARDS else v)
                for k, v in parsed.items()}
    return raw


def _dep(d: dict) -> Dep:
    return Dep(_declared_id(d["id"]), d["property"])


def signature(output: str, entry: dict) -> Signature:
    """The declared signature of ``callback_map[output]``."""
    declared = entry.get("output")
    outs = declared if isinstance(declared, list | tuple) else [declared] if declared is not None else []
    outputs = tuple(_dep(o.to_dict()) for o in outs if hasattr(o, "to_dict"))
    return Signature(outputs=outputs, multi_output=isinstance(declared, list | tuple),
                     no_output=bool(entry.get("no_output")),
                     inputs=tuple(_dep(d) for d in entry.get("inputs", [])),
                     state=tuple(_dep(d) for d in entry.get("state", [])),
                     server=callable(entry.get("callback")))


class Signatures:
    """The callback map's signatures, computed once per output (the map is complete once the
    app serves)."""

    def __init__(self, callback_map: dict) -> None:
        self.callback_map = callback_map
        self._cache: dict[str, Signature] = {}

    def get(self, output: str) -> Signature | None:
        sig = self._cache.get(output)
        if sig is None:
            entry = self.callback_map.get(output)
            if not isinstance(entry, dict):
                return None
            sig = self._cache[output] = signature(output, entry)
        return sig


def _id_value_ok(v) -> bool:
    """What Dash allows as the value of a pattern id's key: a short string, a finite number, a bool."""
    if isinstance(v, str):
        return len(v) <= MAX_ID_VALUE_CHARS
    if isinstance(v, bool | int):
        return True
    return isinstance(v, float) and math.isfinite(v)


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    return isinstance(a, int | float) and isinstance(b, int | float) and a == b


def _id_problem(got, dep: Dep, match: dict) -> str | None:
    declared = dep.id
    if isinstance(declared, str):
        return None if isinstance(got, str) and got == declared else "id does not match"
    if not isinstance(got, dict) or got.keys() != declared.keys():
        return "pattern id keys do not match"
    for k, want in declared.items():
        v = got[k]
        if isinstance(want, Wild):
            if not _id_value_ok(v):
                return "pattern id value of a wrong type"
            if want == "MATCH":
                seen = match.setdefault(k, v)
                if not _same(seen, v):
                    return "MATCH values differ"
        elif not _same(v, want):
            return "pattern id does not match"
    return None


def _item_problem(item, dep: Dep, keys: frozenset, match: dict, output: bool) -> str | None:
    if not isinstance(item, dict):
        return "item is not an object"
    if not keys.issuperset(item.keys()) or "id" not in item or "property" not in item:
        return "item keys"
    prop = item["property"]
    if not isinstance(prop, str) or len(prop) > MAX_PROPERTY_CHARS:
        return "property is not a string"
    if (prop.split("@", 1)[0] if output else prop) != dep.prop:
        return "property does not match"
    return _id_problem(item["id"], dep, match)


def _dep_problem(sent, dep: Dep, keys: frozenset, match: dict, output: bool, found: list) -> str | None:
    """One declared dependency's part of the request (a list of items for ALL/ALLSMALLER)."""
    if dep.multi:
        if not isinstance(sent, list):
            return "pattern dependency is not a list"
        if len(sent) > MAX_PATTERN_ITEMS:
            return f"more than {MAX_PATTERN_ITEMS} pattern items"
        items = sent
    else:
        items = [sent]
    for item in items:
        problem = _item_problem(item, dep, keys, match, output)
        if problem:
            return problem
        found.append(item)
    return None


def _deps_problem(sent, deps: tuple[Dep, ...], keys, match, output, what: str, found: list) -> str | None:
    if not isinstance(sent, list):
        return f"{what} is not a list"
    if len(sent) != len(deps):
        return f"{what}: {len(sent)} items for {len(deps)} declared"
    for i, (s, dep) in enumerate(zip(sent, deps, strict=True)):
        problem = _dep_problem(s, dep, keys, match, output, found)
        if problem:
            return f"{what}[{i}]: {problem}"
    return None


def _id_key(cid) -> str:
    return cid if isinstance(cid, str) else json.dumps(cid, sort_keys=True, separators=(",", ":"))


def _changed_problem(changed, input_items: list) -> str | None:
    if not isinstance(changed, list) or len(changed) > MAX_CHANGED:
        return "changedPropIds is not a short list"
    if not changed:
        return None
    named = {(_id_key(i["id"]), i["property"]) for i in input_items}
    for c in changed:
        if not isinstance(c, str) or len(c) > MAX_PROP_ID_CHARS:
            return "changedPropIds item is not a short string"
        cid, dot, prop = c.rpartition(".")
        if not dot:
            return "changedPropIds item is not <id>.<property>"
        if cid.startswith("{"):
            try:
                cid = json.loads(cid)
            except ValueError:
                return "changedPropIds id is not JSON"
            if not isinstance(cid, dict):
                return "changedPropIds id is not an object"
        if (_id_key(cid), prop) not in named:
            return "changedPropIds names no input of the request"
    return None


def _outputs_problem(outputs, sig: Signature, match: dict) -> str | None:
    """The request's ``outputs`` against the declared ones (``match``: the MATCH values seen)."""
    if sig.no_output:
        return "malformed outputs" if outputs is not None and not isinstance(outputs, list | dict) else None
    if sig.multi_output:
        return _deps_problem(outputs, sig.outputs, OUTPUT_KEYS, match, True, "outputs", [])
    if len(sig.outputs) != 1:
        return "unexpected output declaration"
    problem = _dep_problem(outputs, sig.outputs[0], OUTPUT_KEYS, match, True, [])
    return f"outputs: {problem}" if problem else None


def request_problem(body, signatures: Signatures) -> str | None:
    """Why ``body`` (parsed JSON) is not a request dash-renderer could send for one of the app's
    server-side callbacks; None when it is one."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if not TOP_KEYS.issuperset(body.keys()):
        return "unexpected keys"
    output = body.get("output")
    if not isinstance(output, str) or len(output) > MAX_OUTPUT_CHARS:
        return "output is not a string"
    sig = signatures.get(output)
    if sig is None:
        return "unknown output"
    if not sig.server:
        return "client-side callback (runs in the browser only)"
    match: dict = {}
    problem = _outputs_problem(body.get("outputs"), sig, match)
    if problem:
        return problem
    input_items: list = []
    problem = _deps_problem(body.get("inputs"), sig.inputs, INPUT_KEYS, match, False, "inputs",
                            input_items)
    if problem:
        return problem
    state = body.get("state", [])
    if sig.state or state != []:  # the renderer leaves it out when nothing is declared
        problem = _deps_problem(state, sig.state, INPUT_KEYS, match, False, "state", [])
        if problem:
            return problem
    problem = _changed_problem(body.get("changedPropIds", []), input_items)
    if problem:
        return problem
    parsed = body.get("parsedChangedPropsIds", [])
    if not isinstance(parsed, list) or len(parsed) > MAX_CHANGED or \
            not all(isinstance(p, str | dict) for p in parsed):
        return "malformed parsedChangedPropsIds"
    return None
