"""Does the fusion lose what one side found? MRR@10 of each mode per query class, on every
labelled set we have.

    python scripts/tools/query_classes.py --artifacts artifacts [--change FIELD=VALUE ...] \
        [--queries FILE ...] [--json]

Classes (from the query text alone, :func:`models.serve.ranking.query_features`):
``keyword`` — a short query, no question; ``question`` — a question or a longer query of fewer than
``SearchParams.context_min_terms`` terms; ``context`` — a long query with context (that many terms or
more: « Je débute l'inventaire d'une cathédrale… où trouver … ? »). For each class: n, MRR@10 and
hit@10 of the keyword, semantic and hybrid modes, and ``hybrid_lost``: queries whose expected
dataset one of the two sides ranks in its top 10 and the hybrid does not.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

MODES = ("keyword", "semantic", "hybrid")


def query_class(text: str, params) -> str:
    """``keyword``, ``question`` or ``context`` under the search constants ``params``."""
    from models.serve.ranking import query_features

    f = query_features(text, params.short_max_terms)
    if f.short:
        return "keyword"
    return "context" if f.n_terms >= params.context_min_terms else "question"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--change", action="append", help="FIELD=VALUE of the search constants (repeat)")
    ap.add_argument("--queries", action="append",
                    help="labelled CSV (repeat; default: every labelled file we have)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from models.serve.evaluate import evaluate, read_relevance
    from models.serve.explorer import Explorer
    from models.serve.protocol import labelled_files
    from scripts.tools.compare_search import parse_changes

    exp = Explorer.load(args.artifacts).engine.with_params(**parse_changes(args.change))
    per: dict[str, dict[str, list]] = {}
    lost = []
    for path in args.queries or labelled_files():
        res = evaluate(exp, read_relevance(path), list(MODES), k=10)
        for q in res["per_query"]:
            cls = query_class(q["query"], exp.search_params)
            for key in (f"{Path(path).stem}/{cls}", f"ALL/{cls}"):
                per.setdefault(key, {m: [] for m in MODES})
                for m in MODES:
                    per[key][m].append(q["ranks"][m])
            r = q["ranks"]
            if r["hybrid"] is None and any(r[m] is not None and r[m] <= 10 for m in ("keyword", "semantic")):
                lost.append({"set": Path(path).stem, "class": cls, "query": q["query"][:100], **r})
    report = {}
    for key in sorted(per):
        ranks = per[key]
        n = len(ranks["hybrid"])
        report[key] = {"n": n, **{m: {"mrr@10": round(sum(1 / r for r in ranks[m] if r and r <= 10) / n, 4),
                                      "hit@10": round(sum(1 for r in ranks[m] if r and r <= 10) / n, 4)}
                                  for m in MODES}}
    out = {"classes": report, "hybrid_lost": lost, "params": exp.search_params.as_dict()}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{'set/class':<44}{'n':>4}" + "".join(f"{m:>12}" for m in MODES) + "   (MRR@10)")
    for key, r in report.items():
        print(f"{key:<44}{r['n']:>4}" + "".join(f"{r[m]['mrr@10']:>12.3f}" for m in MODES))
    print(f"\n{len(lost)} queries found in a side's top 10 and not in the hybrid's:")
    for item in lost:
        print(f"  [{item['set']}/{item['class']}] {item['query']}  "
              f"kw={item['keyword']} sem={item['semantic']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
