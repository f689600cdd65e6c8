"""Command line of the catalogue reports: ``python -m models freshness|fair|coverage …``
(registered by :func:`add_parsers` in :mod:`models.cli`; same services as the app)."""

from __future__ import annotations

import json
import logging

from models.core.config import DEFAULT_ARTIFACTS

# each command imports the services it runs inside its function, as models.cli does: the
# parser (and python -m models build) never loads the app's services
log = logging.getLogger("models")


def filter_args(items: list[str] | None) -> dict:
    """``--filter KEY=VALUE`` (repeatable; a key given twice keeps both values) → raw filters."""
    raw: dict = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"--filter {item!r}: expected KEY=VALUE (e.g. format=csv, year=2018-2022)")
        key, value = item.split("=", 1)
        key = key.strip()
        if key in ("year", "modified", "has_reuses"):
            raw[key] = value.strip()
        else:
            raw.setdefault(key, []).append(value.strip())
    return raw


def _explorer(args):
    from models.serve.explorer import Explorer

    return Explorer.load(args.artifacts)


def cmd_freshness(args) -> int:
    out = _explorer(args).freshness.as_json(args.producer, top=args.top)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"fraîcheur au {out['export_date'][:10]} ({out['n']} jeux)")
    for k, v in out["counts"].items():
        print(f"  {out['labels'][k]:<40} {v:>7}")
    if out["late_share"] is not None:
        print(f"  part en retard parmi les jeux à fréquence annoncée\u202f: {out['late_share']:.1%}")
    for r in out["most_late"]:
        print(f"  - {r['title'][:70]}  [{r['id']}]  {r['reason']}")
    return 0


def cmd_fair(args) -> int:
    exp = _explorer(args)
    if args.csv:
        if not args.producer:
            raise ValueError("--csv demande --producer ID (le détail des jeux d'un producteur)")
        print(exp.fair.csv(args.producer), end="")
        return 0
    out = exp.fair.as_json(args.producer, top=args.top, ids_per_item=args.max_ids)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    s = out["score"]
    print(f"score FAIR\u202f: {s['points']} / {s['max']} points ({s['rating']}) sur {out['n']} jeux")
    for d in out["dimensions"]:
        print(f"  {d['label']:<20} {d['points']:>6} / {d['max']}")
    for t in out["todo"]:
        print(f"  - {t['label']}")
    return 0


def cmd_coverage(args) -> int:
    exp = _explorer(args)
    from models.serve.coverage import coverage

    out = coverage(exp, args.query, filters=filter_args(args.filter),
                   per_inhabitants=args.per_100k)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{out['n_answers']} jeux répondent ({out['rule']})")
    print(f"  nationaux\u202f: {out['national']}")
    for code, n in sorted(out["departements"].items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {code:<4} {n}")
    print(f"  sans jeu\u202f: {len(out['gaps'])} départements")
    return 0


def add_parsers(sub) -> None:
    f = sub.add_parser("freshness", help="declared update frequency vs last modification: counts per "
                                         "status, late datasets, producers with the most late")
    f.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    f.add_argument("--producer", default=None, help="a producer id (producers.parquet)")
    f.add_argument("--top", type=int, default=20)
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_freshness)

    fa = sub.add_parser("fair", help="FAIR metadata score in the shape of data.europa.eu's MQA: "
                                     "dimensions, points, rating, ranked to-do list")
    fa.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    fa.add_argument("--producer", default=None, help="a producer id (producers.parquet)")
    fa.add_argument("--top", type=int, default=10, help="to-do items shown")
    fa.add_argument("--max-ids", type=int, default=None, help="dataset ids listed per to-do item "
                                                               "(default: all)")
    fa.add_argument("--csv", action="store_true", help="with --producer: one CSV line per dataset "
                                                       "(points per indicator and dimension)")
    fa.add_argument("--json", action="store_true")
    fa.set_defaults(func=cmd_fair)

    c = sub.add_parser("coverage", help="where the datasets answering a question are: counts per "
                                        "département and région, national apart, gaps")
    c.add_argument("query")
    c.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    c.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    c.add_argument("--per-100k", action="store_true", help="also per 100,000 inhabitants")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_coverage)
