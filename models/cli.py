"""Command line: ``python -m models build|search|evaluate ...`` (a stable contract: extend, don't break)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from models.config import DEFAULT_ARTIFACTS, DEFAULT_CATALOG, BuildSettings

log = logging.getLogger("models")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("gensim", "numba", "sentence_transformers", "httpx", "urllib3", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_build(args) -> int:
    from models.pipeline import run_build

    settings = BuildSettings(catalog=args.catalog, out=Path(args.out), limit=args.limit,
                             include_archived=args.include_archived, show_progress=not args.quiet)
    if args.model:
        settings.model = args.model
    if args.cache:
        settings.cache_dir = Path(args.cache)
    if args.models_dir:
        settings.models_dir = Path(args.models_dir)
    if args.lda_k:
        settings.lda_k = args.lda_k
    final = run_build(settings)
    print(final)
    return 0


def cmd_search(args) -> int:
    from models.services import Explorer

    exp = Explorer.load(args.artifacts, model=args.model)
    hits = exp.search(args.query, mode=args.mode, k=args.k, tag=args.tag)
    rows = exp.hits_as_dicts(hits)
    words = exp.query_words(args.query) if args.mode == "word" else None
    if args.json:
        print(json.dumps(rows if words is None else {"results": rows, "words": words},
                         ensure_ascii=False))
    else:
        if words:
            print("mots voisins : " + ", ".join(f"{w} ({s:.2f})" for w, s in words))
        for rank, r in enumerate(rows, 1):
            print(f"{rank:>3}. {r['score']:.3f}  {r['title']}  — {r['organization']}  [{r['id']}]")
    return 0


def cmd_evaluate(args) -> int:
    from models.evaluate import evaluate, read_relevance, report_json
    from models.search import MODES
    from models.services import Explorer

    modes = list(MODES) if args.mode == "all" else [m.strip() for m in args.mode.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose among all, {', '.join(MODES)}")
    if not Path(args.queries).is_file():
        raise ValueError(f"no labelled queries file at {args.queries}")
    exp = Explorer.load(args.artifacts, model=args.model)
    queries = read_relevance(args.queries)
    result = evaluate(exp, queries, modes, k=args.k)
    if args.json:
        print(json.dumps(report_json(result, per_query=args.per_query), ensure_ascii=False))
        return 0
    keys = ("n", "skipped", "hit@1", "hit@3", "hit@10", "mrr@10", "ndcg@10")
    print(f"{'mode':<10}" + "".join(f"{k:>9}" for k in keys))
    for mode, m in result["metrics"].items():
        print(f"{mode:<10}" + "".join(f"{'-' if m[k] is None else m[k]:>9}" for k in keys))
    if args.per_query:
        print()
        print(f"{'requête':<60}" + "".join(f"{m[:8]:>9}" for m in modes))
        for q in result["per_query"]:
            label = (q["query"] or q["params"])[:58]
            print(f"{label:<60}" + "".join(f"{q['ranks'][m] or '-':>9}" for m in modes))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models",
                                description="data.gouv.fr catalogue explorer: offline pipeline")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build or refresh the artifacts from a catalogue export")
    b.add_argument("--catalog", default=str(DEFAULT_CATALOG), help="path or URL of the export")
    b.add_argument("--out", default=str(DEFAULT_ARTIFACTS), help="artifacts root folder")
    b.add_argument("--limit", type=int, default=None, help="keep the first N datasets only")
    b.add_argument("--include-archived", action="store_true", help="keep archived datasets")
    b.add_argument("--model", default=None,
                   help="sentence-transformers model name or path (default: offline e5-small)")
    b.add_argument("--lda-k", type=int, default=None, help="number of LDA topics (default 30)")
    b.add_argument("--cache", default=None,
                   help="embedding cache folder (default: OUT/cache/embeddings)")
    b.add_argument("--models-dir", default=None, help="offline model folders (default: OUT/models)")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", help="search the artifacts")
    s.add_argument("query")
    s.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    s.add_argument("--mode", default="hybrid", help="keyword, semantic, hybrid or word")
    s.add_argument("--tag", default=None, help="keep only datasets with this tag")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--model", default=None, help="query encoder (default: the build's)")
    s.add_argument("--json", action="store_true", help="print a JSON list")
    s.set_defaults(func=cmd_search)

    e = sub.add_parser("evaluate", help="search quality on labelled queries (query,params,expected)")
    e.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    e.add_argument("--queries", required=True, help="CSV in the search-indicator format")
    e.add_argument("--mode", default="all", help="all, or modes separated by commas")
    e.add_argument("--k", type=int, default=10, help="results looked at per query")
    e.add_argument("--model", default=None, help="query encoder (default: the build's)")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--per-query", action="store_true",
                   help="also the first relevant rank of every query in every mode")
    e.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    from models.artifacts import ArtifactError
    from models.ingest import IngestError

    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except (ArtifactError, IngestError, ValueError) as exc:
        log.error("%s", exc)
        return 2
