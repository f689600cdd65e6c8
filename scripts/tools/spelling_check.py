"""Does the spelling of queries (:meth:`models.serve.explorer.Explorer.spell`) ever touch a real
query, and how many typing errors does it give back?

    .venv/bin/python scripts/tools/spelling_check.py --artifacts artifacts/current \
        [--relevance ../shared/data/relevance] [--dialogues tests/data/dialogues.jsonl] [--seed 0] \
        [--more tests/data/questions-forum.csv tests/data/offtopic.csv ...]

Prints JSON:

* ``titles``: every dataset title of the build searched as a query; any replacement or
  suggestion is a false positive (``rate``; ``rate_3_words``: titles of 3 words or more).
  Target: 0.
* ``queries``: every labelled query of ``--relevance`` (``*.csv``, ``query,params,expected``)
  and every user turn of ``--dialogues``; any replacement or suggestion is a false positive.
  Target: 0. ``--more``: other CSV files of queries (a ``query`` or ``prompt`` column), counted
  apart (``more_checked``, ``more_touched``).
* ``typos``: each labelled query with one typing error (:func:`scripts.tools.typo_queries.typo`, same
  seed, same queries as ``scripts/tools/typo_queries.py``): how many get the clean query back, as a
  replacement (searched) or a suggestion (offered); ``wrong``: touched but not given back;
  ``untouched``: left as typed.
* ``ms_mean``, ``ms_max``: time of one spelling (every query above).

``--examples N`` lists up to N touched titles, queries and wrong corrections.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _touched(c) -> str | None:
    """What the spelling made of a query: the searched text if replaced, the suggestion if
    offered, None when it left the query alone."""
    if c.changes:
        return c.text
    return c.suggestion


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True, help="a build folder (or an artifacts root)")
    ap.add_argument("--relevance", default=str(REPO.parent / "shared" / "data" / "relevance"))
    ap.add_argument("--dialogues", default=str(REPO / "tests" / "data" / "dialogues.jsonl"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--more", nargs="*", default=[], help="other CSV files of queries (query, prompt)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from models.serve.explorer import Explorer
    from models.serve.search import clean_query
    from scripts.tools.typo_queries import restored, typed_queries

    explorer = Explorer.load(args.artifacts)
    exp = explorer.engine
    t0 = time.perf_counter()
    _ = exp.speller, exp.understanding_context  # loaded once, as the app does at start
    load_s = time.perf_counter() - t0
    times: list[float] = []

    def spell(text: str):
        q = clean_query(text, exp.max_query_chars)
        t = time.perf_counter()
        c = exp.spell(q)
        times.append((time.perf_counter() - t) * 1000)
        return c

    # (a) titles
    titles = [t for t in exp.datasets["title"].fillna("").astype(str).tolist() if t.strip()]
    touched = {}  # title -> what the spelling made of it
    n_touched = n3 = t3 = 0  # every title counts, duplicates included
    for title in titles:
        out = _touched(spell(title))
        long = len(title.split()) >= 3
        n3 += long
        if out is not None:
            touched[title] = out
            n_touched += 1
            t3 += long
    titles_out = {"checked": len(titles), "touched": n_touched,
                  "rate": round(n_touched / max(len(titles), 1), 6),
                  "checked_3_words": n3, "touched_3_words": t3, "rate_3_words": round(t3 / max(n3, 1), 6),
                  "examples": dict(list(touched.items())[:args.examples])}

    # (b) labelled queries and dialogue turns
    files = sorted(Path(args.relevance).glob("*.csv"))
    rows_by_file = {}
    for path in files:
        with open(path, encoding="utf-8", newline="") as f:
            rows_by_file[path.name] = list(csv.DictReader(f))
    queries = list(dict.fromkeys(r["query"] for rows in rows_by_file.values() for r in rows))
    turns = []
    if args.dialogues and Path(args.dialogues).exists():
        with open(args.dialogues, encoding="utf-8") as f:
            turns = [t["user"] for line in f if line.strip() for t in json.loads(line)["turns"]]
    q_touched = {q: out for q in queries if (out := _touched(spell(q))) is not None}
    d_touched = {q: out for q in dict.fromkeys(turns) if (out := _touched(spell(q))) is not None}
    more = []
    for path in args.more:
        with open(path, encoding="utf-8", newline="") as f:
            more += [r.get("query") or r.get("prompt") or "" for r in csv.DictReader(f)]
    more = [q for q in dict.fromkeys(more) if q.strip()]
    m_touched = {q: out for q in more if (out := _touched(spell(q))) is not None}
    queries_out = {"labelled_checked": len(queries), "labelled_touched": len(q_touched),
                   "dialogue_turns_checked": len(turns), "dialogue_turns_touched": len(d_touched),
                   "more_checked": len(more), "more_touched": len(m_touched),
                   "examples": dict(list({**q_touched, **d_touched, **m_touched}.items())[:args.examples])}

    # (c) typo recovery
    typos_out = {}
    wrong_examples = {}
    for name, rows in rows_by_file.items():
        typed = {a: b for a, b in typed_queries(rows, args.seed).items() if a != b}
        counts = {"with_typo": len(typed), "restored": 0, "replaced": 0, "suggested": 0, "wrong": 0,
                  "untouched": 0}
        for meant, typo in typed.items():
            c = spell(typo)
            how = restored(c, clean_query(meant, exp.max_query_chars))
            if how:
                counts["restored"] += 1
                counts[how] += 1
            elif _touched(c) is not None:
                counts["wrong"] += 1
                wrong_examples[typo] = {"meant": meant, "got": _touched(c)}
            else:
                counts["untouched"] += 1
        typos_out[name] = counts
    total = {k: sum(v[k] for v in typos_out.values()) for k in next(iter(typos_out.values()), {})}
    typos_out["all"] = total
    typos_out["wrong_examples"] = dict(list(wrong_examples.items())[:args.examples])

    print(json.dumps({"artifacts": str(explorer.artifacts.dir), "n": exp.n, "seed": args.seed,
                      "load_s": round(load_s, 2), "titles": titles_out, "queries": queries_out,
                      "typos": typos_out, "ms_mean": round(sum(times) / max(len(times), 1), 3),
                      "ms_max": round(max(times, default=0.0), 1)}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
