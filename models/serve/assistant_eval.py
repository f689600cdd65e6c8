"""Scoring the assistant on labelled dialogues, and choosing its passage weight by k-fold
cross-validation.

Dialogue file: JSON lines ``{"id": str, "turns": [{"user": str, "expected": [ids],
"slots": {"territory": "code or name", "period": [y1, y2], "producer": "...", "format":
"..."}}]}`` ("expected" and "slots" optional per turn). Each dialogue is played from a fresh
state, each turn with the state the previous one returned (as the page does).

* success@k: at least one expected id among the first ``k`` datasets the turn shows (the 5
  cards; a clarifying turn still shows its best 5); mrr@10 over the turn's ``ranking``. Turns
  without "expected" are played but not scored; expected ids absent from the build are
  ignored, and a turn left with none is skipped (``skipped``).
* slots: the conversation's slots after the turn, compared with the labels of every turn that
  has a "slots" key (a slot missing from the labels means "none expected"). A territory
  matches by code (``31555`` ≙ ``commune:31555``) or by name, a period by both years, a
  producer by id or name, a format by family. TP: both given and equal; FP: predicted and
  not labelled or different; FN: labelled and not predicted or different.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from models.core.text import fold

log = logging.getLogger(__name__)

SLOT_KINDS = ("territory", "period", "producer", "format")


def read_dialogues(path) -> list[dict]:
    """Dialogues of a JSON-lines file (blank lines skipped; a bad line raises ValueError).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "dialogues.jsonl"
    ...     _ = p.write_text('{"id": "d1", "turns": [{"user": "piscines"}]}\\n\\n', encoding="utf-8")
    ...     read_dialogues(p)
    [{'id': 'd1', 'turns': [{'user': 'piscines'}]}]
    """
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}, line {n}: not JSON ({exc.msg})") from exc
        if not isinstance(d, dict) or not isinstance(d.get("turns"), list):
            raise ValueError(f"{path}, line {n}: expected {{\"id\", \"turns\": [...]}}")
        out.append(d)
    return out


def dialogues_from_queries(queries) -> list[dict]:
    """Single-turn dialogues from labelled queries (:func:`models.serve.evaluate.read_relevance`).

    Examples
    --------
    >>> from models.serve.evaluate import LabelledQuery
    >>> dialogues_from_queries([LabelledQuery("piscines", expected=["a"])])
    [{'id': 'query-0', 'turns': [{'user': 'piscines', 'expected': ['a']}]}]
    """
    return [{"id": f"query-{i}", "turns": [{"user": qr.query or qr.params, "expected": list(qr.expected)}]}
            for i, qr in enumerate(queries)]


def _fold(s) -> str:
    return " ".join(fold(str(s), elisions=False).replace("-", " ").split())


def slot_matches(kind: str, predicted: dict | None, label) -> bool:
    """Whether a predicted slot (``{"value", "label"}`` of the dialogue state) matches a label
    (module docstring: a territory by code or name, a period by both years …).

    Examples
    --------
    >>> toulouse = {"value": "commune:31555", "label": "Toulouse (commune)"}
    >>> slot_matches("territory", toulouse, "31555"), slot_matches("territory", toulouse, "toulouse")
    (True, True)
    >>> slot_matches("period", {"value": [2018, 2022]}, [2018, 2022]), slot_matches("format", None, "csv")
    (True, False)
    """
    if predicted is None or label is None:
        return False
    v = predicted.get("value")
    if kind == "territory":
        code = str(v).split(":", 1)[-1]
        name = _fold(predicted.get("label", "")).split(" (")[0]
        lab = str(label)
        return lab == code or lab == str(v) or _fold(lab) == name
    if kind == "period":
        return isinstance(label, list | tuple) and list(v) == [int(label[0]), int(label[1])]
    if kind == "producer":
        return str(label) == str(v) or _fold(label) == _fold(predicted.get("label", ""))
    return _fold(label) == _fold(v)


def play(assistant, dialogues: list[dict]) -> list[dict]:
    """Every turn of every dialogue: ``{"dialogue", "position", "ids", "ranking", "expected",
    "slots", "labels", "clarify"}``.

    Examples
    --------
    A stand-in assistant that always shows « b » then « a »:

    >>> from types import SimpleNamespace
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=SimpleNamespace(
    ...     records=SimpleNamespace(row_of={"a": 0, "b": 1}.get)))
    >>> turns = play(assistant, [{"id": "d1", "turns": [{"user": "eau", "expected": ["a", "z"]}]}])
    >>> turns[0]["ids"], turns[0]["expected"]  # « z » is not in the build
    (['b', 'a'], ['a'])
    """
    row_of = assistant.engine.records.row_of
    out = []
    for d in dialogues:
        state = None
        for pos, turn in enumerate(d["turns"]):
            res = assistant.ask(turn.get("user", ""), state)
            state = res["state"]
            exp = turn.get("expected")
            out.append({
                "dialogue": d.get("id"), "position": pos, "ids": [c["id"] for c in res["cards"]],
                "ranking": res["ranking"], "clarify": res["clarify"] is not None,
                # a card stands for its family: an expected version counts as found at its rank
                "card_versions": [c.get("versions", []) for c in res["cards"]],
                "ranking_versions": res.get("ranking_versions") or [[] for _ in res["ranking"]],
                "expected": None if exp is None else [e for e in exp if row_of(e) is not None],
                "slots": res["slots"], "labels": turn.get("slots"), "ms": res["ms"],
            })
    return out


def _groups(ids: list[str], versions: list[list[str]] | None) -> list[set[str]]:
    """Each shown or ranked id with the other members of its family."""
    versions = versions or []
    return [{x, *(versions[i] if i < len(versions) else ())} for i, x in enumerate(ids)]


def turn_rank(t: dict, k: int = 10) -> int | None:
    """1-based rank of the first expected dataset in a played turn's ranking (its families
    included), None beyond ``k``.

    Examples
    --------
    >>> turn = {"expected": ["a"], "ranking": ["b", "c", "d"], "ranking_versions": [[], ["a"], []]}
    >>> turn_rank(turn), turn_rank(turn, k=1)  # « a » is a version of the second result
    (2, None)
    """
    exp = set(t["expected"])
    groups = _groups(t["ranking"][:k], t.get("ranking_versions"))
    return next((i for i, g in enumerate(groups, 1) if g & exp), None)


def _success(turns: list[dict], k: int) -> float | None:
    vals = [any(g & set(t["expected"]) for g in _groups(t["ids"][:k], t.get("card_versions"))) for t in turns]
    return round(float(np.mean(vals)), 4) if vals else None


def _mrr(turns: list[dict], k: int = 10) -> float | None:
    vals = []
    for t in turns:
        rank = turn_rank(t, k)
        vals.append(1.0 / rank if rank else 0.0)
    return round(float(np.mean(vals)), 4) if vals else None


def metrics(played: list[dict]) -> dict:
    """The report of :func:`evaluate_dialogues` from played turns.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {"format": {"value": "csv", "label": "CSV"}}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=SimpleNamespace(
    ...     records=SimpleNamespace(row_of={"a": 0, "b": 1}.get)))
    >>> turns = [{"user": "eau en csv", "expected": ["a"], "slots": {"format": "csv"}}, {"user": "encore"}]
    >>> m = metrics(play(assistant, [{"id": "d1", "turns": turns}]))
    >>> m["turns"], m["scored"], m["success@1"], m["success@5"], m["mrr@10"]
    (2, 1, 0.0, 1.0, 0.5)
    >>> m["slots"]["format"]
    {'precision': 1.0, 'recall': 1.0, 'f1': 1.0, 'n': 1}
    """
    scored = [t for t in played if t["expected"]]
    skipped = sum(1 for t in played if t["expected"] is not None and not t["expected"])
    slots = {}
    for kind in SLOT_KINDS:
        tp = fp = fn = 0
        n = 0
        for t in played:
            if t["labels"] is None:
                continue
            lab = t["labels"].get(kind)
            pred = t["slots"].get(kind)
            n += lab is not None
            ok = slot_matches(kind, pred, lab)
            tp += ok
            fp += pred is not None and not ok
            fn += lab is not None and not ok
        prec = tp / (tp + fp) if tp + fp else None
        rec = tp / (tp + fn) if tp + fn else None
        f1 = None if prec is None or rec is None else (2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        slots[kind] = {"precision": None if prec is None else round(prec, 4),
                       "recall": None if rec is None else round(rec, 4),
                       "f1": None if f1 is None else round(f1, 4), "n": n}
    first = [t for t in scored if t["position"] == 0]
    follow = [t for t in scored if t["position"] > 0]
    ms = [t["ms"] for t in played]
    return {
        "turns": len(played), "scored": len(scored), "skipped": skipped,
        "success@1": _success(scored, 1), "success@5": _success(scored, 5), "mrr@10": _mrr(scored),
        "slots": slots, "clarifications": sum(t["clarify"] for t in played),
        "by_position": {
            "first": {"n": len(first), "success@1": _success(first, 1), "success@5": _success(first, 5),
                      "mrr@10": _mrr(first)},
            "follow_up": {"n": len(follow), "success@1": _success(follow, 1),
                          "success@5": _success(follow, 5), "mrr@10": _mrr(follow)},
        },
        "latency_ms": {"p50": round(float(np.percentile(ms, 50)), 1) if ms else None,
                       "p95": round(float(np.percentile(ms, 95)), 1) if ms else None},
    }


def evaluate_dialogues(assistant, dialogues: list[dict]) -> dict:
    """:func:`metrics` of the dialogues played by ``assistant``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=SimpleNamespace(
    ...     records=SimpleNamespace(row_of={"a": 0, "b": 1}.get)))
    >>> evaluate_dialogues(assistant, [{"id": "d1", "turns": [{"user": "eau", "expected": ["a"]}]}])["mrr@10"]
    0.5
    """
    return metrics(play(assistant, dialogues))


def _objective(m: dict) -> float:
    return (m["success@5"] or 0.0) + (m["mrr@10"] or 0.0)


def cross_validate(assistant, dialogues: list[dict], *, grid=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
                   k: int = 5, seed: int = 0) -> dict:
    """k-fold cross-validation of ``passage_weight`` over whole dialogues: each fold's weight
    maximises success@5 + mrr@10 on the other folds; the held-out turns of every fold are
    scored with their fold's weight. Returns the held-out metrics, the weight per fold, the
    score of each grid value on all dialogues, and the weight chosen on everything.

    Examples
    --------
    A stand-in assistant whose answers do not depend on the weight: every fold ties, and a tie
    goes to the weight closest to 0.3.

    >>> from types import SimpleNamespace
    >>> reply = {"state": {}, "cards": [{"id": "b"}, {"id": "a"}], "ranking": ["b", "a"],
    ...          "clarify": None, "slots": {}, "ms": 12.0}
    >>> assistant = SimpleNamespace(ask=lambda text, state: reply, engine=SimpleNamespace(
    ...     records=SimpleNamespace(row_of={"a": 0, "b": 1}.get)))
    >>> assistant.with_params = lambda **params: assistant
    >>> dialogues = [{"id": f"d{i}", "turns": [{"user": "eau", "expected": ["a"]}]} for i in range(4)]
    >>> cv = cross_validate(assistant, dialogues, grid=(0.0, 0.2, 0.5), k=2)
    >>> cv["weights_per_fold"], cv["chosen"], cv["held_out"]["mrr@10"]
    ([0.2, 0.2], 0.2, 0.5)
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(dialogues))
    folds = [set(order[i::k].tolist()) for i in range(k)]
    played = {w: play(assistant.with_params(passage_weight=w), dialogues) for w in grid}
    by_dialogue = {w: {} for w in grid}
    for w, turns in played.items():
        idx = {d.get("id"): i for i, d in enumerate(dialogues)}
        for t in turns:
            by_dialogue[w].setdefault(idx[t["dialogue"]], []).append(t)
    held_out: list[dict] = []
    chosen = []
    for f in folds:
        train = [i for i in range(len(dialogues)) if i not in f]
        scores = {w: _objective(metrics([t for i in train for t in by_dialogue[w].get(i, [])])) for w in grid}
        best_w = max(grid, key=lambda w: (scores[w], -abs(w - 0.3)))
        chosen.append(best_w)
        held_out += [t for i in sorted(f) for t in by_dialogue[best_w].get(i, [])]
    overall = {w: metrics(played[w]) for w in grid}
    final = max(grid, key=lambda w: (_objective(overall[w]), -abs(w - 0.3)))
    return {"k": k, "grid": list(grid), "weights_per_fold": chosen, "chosen": final,
            "held_out": metrics(held_out),
            "all": {str(w): {key: overall[w][key] for key in ("success@1", "success@5", "mrr@10")}
                    for w in grid}}
