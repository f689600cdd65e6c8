"""A labelled file with one typing error per query, to measure search on misspelt queries.

    python scripts/tools/typo_queries.py ../shared/data/relevance/search-indicator-datasets.csv \
        /tmp/si-typos-0.csv --seed 0 [--artifacts artifacts]
    python -m models evaluate --artifacts artifacts --queries /tmp/si-typos-0.csv --mode all --json

The longest word of 5 letters or more of each query (none: the query is kept) gets one error at a
random inner position: a letter dropped, two adjacent letters swapped, a letter doubled or a
letter replaced (« accidents de la circulation » → « accidents de la cicrulation »); the seed makes
it reproducible. With ``--artifacts``, prints what :meth:`Explorer.spell` makes of each changed
query — its correction searched (``replaced``) or offered (``suggested``), ``restored`` when that
is the clean query — and its time per query, and which of the clean queries (and ``--dialogues``
turns) it would touch (JSON). ``scripts/tools/spelling_check.py`` measures all of it over every labelled
file and the build's titles.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def typo(query: str, rng: random.Random) -> str:
    words = query.split()
    cand = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not cand:
        return query
    i = max(cand, key=lambda j: len(words[j]))
    w = words[i]
    k = rng.randrange(1, len(w) - 1)
    op = rng.choice(["del", "swap", "dup", "sub"])
    if op == "del":
        w = w[:k] + w[k + 1:]
    elif op == "swap":
        w = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    elif op == "dup":
        w = w[:k] + w[k] + w[k:]
    else:
        w = w[:k] + rng.choice("aeiourstnl") + w[k + 1:]
    words[i] = w
    return " ".join(words)


def typed_queries(rows, seed: int) -> dict[str, str]:
    """Each labelled query (in file order, once) -> its misspelt version."""
    rng = random.Random(seed)
    typed: dict[str, str] = {}
    for r in rows:
        if r["query"] not in typed:
            typed[r["query"]] = typo(r["query"], rng)
    return typed


def restored(correction, meant: str) -> str | None:
    """``"replaced"`` or ``"suggested"`` when the spelling gives ``meant`` back (case aside)."""
    if correction.changes and correction.text.lower() == meant.lower():
        return "replaced"
    if correction.suggestion and correction.suggestion.lower() == meant.lower():
        return "suggested"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--artifacts", default=None)
    ap.add_argument("--dialogues", default=None,
                    help="with --artifacts: also list the dialogue turns (JSON lines) it would change")
    args = ap.parse_args(argv)
    with open(args.source, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    typed = typed_queries(rows, args.seed)
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["query", "params", "expected"])
        w.writeheader()
        for r in rows:
            w.writerow({"query": typed[r["query"]], "params": r.get("params", ""), "expected": r["expected"]})
    changed = {a: b for a, b in typed.items() if a != b}
    if args.artifacts:
        import logging

        logging.basicConfig(level=logging.WARNING)
        from models.serve.explorer import Explorer

        exp = Explorer.load(args.artifacts).engine
        _ = exp.speller, exp.understanding_context  # loaded once, as the app does at start
        out, times = {}, []
        for a, b in changed.items():
            t0 = time.perf_counter()
            c = exp.spell(b)
            times.append((time.perf_counter() - t0) * 1000)
            out[b] = {"meant": a, "searched": c.text, "suggested": c.suggestion, "restored": restored(c, a)}
        clean = list(typed)
        if args.dialogues:
            with open(args.dialogues, encoding="utf-8") as f:
                clean += [t["user"] for line in f if line.strip() for t in json.loads(line)["turns"]]
        clean_changed = {c.original: c.suggestion or c.text for c in map(exp.spell, clean)
                         if c.changes or c.suggestion}
        print(json.dumps({"queries": len(typed), "with_typo": len(changed),
                          "clean_checked": len(clean), "clean_changed": clean_changed,
                          "restored": sum(bool(v["restored"]) for v in out.values()),
                          "restored_replaced": sum(v["restored"] == "replaced" for v in out.values()),
                          "restored_suggested": sum(v["restored"] == "suggested" for v in out.values()),
                          "corrected_otherwise": sum(1 for k, v in out.items() if not v["restored"]
                                                     and (v["searched"] != k or v["suggested"])),
                          "ms_mean": round(sum(times) / max(len(times), 1), 1),
                          "ms_max": round(max(times, default=0.0), 1), "corrections": out},
                         ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
