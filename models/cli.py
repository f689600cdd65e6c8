"""Command line: ``python -m models build|search ...`` (a stable contract: extend, don't break)."""

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
    if args.lda_k:
        settings.lda_k = args.lda_k
    final = run_build(settings)
    print(final)
    return 0


def cmd_search(args) -> int:
    from models.services import Explorer

    exp = Explorer.load(args.artifacts, model=args.model)
    hits = exp.search(args.query, mode=args.mode, k=args.k)
    rows = exp.hits_as_dicts(hits)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for rank, r in enumerate(rows, 1):
            print(f"{rank:>3}. {r['score']:.3f}  {r['title']}  — {r['organization']}  [{r['id']}]")
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
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", help="search the artifacts")
    s.add_argument("query")
    s.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    s.add_argument("--mode", default="semantic")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--model", default=None, help="query encoder (default: the build's)")
    s.add_argument("--json", action="store_true", help="print a JSON list")
    s.set_defaults(func=cmd_search)
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
