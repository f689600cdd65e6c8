"""Should a search change be adopted? The protocol of docs/search-protocol.md, on every labelled
query we have (both public files, our own sets in tests/data, every dialogue turn).

    python scripts/tools/compare_search.py --artifacts artifacts --change smooth_long=0 [--change ...] \
        [--base KEY=VALUE ...] [--no-dialogues] [--json]
    python scripts/tools/compare_search.py --artifacts artifacts --queries-b torch|int8   # query encoders
    python scripts/tools/compare_search.py --artifacts artifacts --artifacts-b other   # two builds

A is the build's search constants (``search_params.json``) with ``--base`` changes, B is A with
``--change`` changes (any :class:`models.serve.ranking.SearchParams` field, e.g. ``smooth_long=0``,
``prf_docs_long=0``, ``families=0``); with ``--queries-b``, B encodes the queries with torch (the
reference the default float32 ONNX engine must equal) or the int8 ONNX twin; with ``--artifacts-b``,
B is another build of the same catalogue (e.g. embedded with another encoder), searched with its
own query encoder and its own assistant for the dialogues. Prints per set n,
MRR@10 under A and B, the paired difference with its 95 % bootstrap interval and sign-flip
p-value, then the verdict: adopt only with a pooled gain at p < 0.05 and no set losing beyond
its noise.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

log = logging.getLogger("compare_search")


def parse_changes(items: list[str] | None) -> dict:
    """``["smooth_long=0", "prf_docs_long=3"]`` → ``{"smooth_long": 0.0, "prf_docs_long": 3}``."""
    from models.serve.ranking import SearchParams

    names = set(SearchParams.__dataclass_fields__)
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in names:
            raise SystemExit(f"--change/--base {item!r}: expected FIELD=VALUE, FIELD among {sorted(names)}")
        out[key] = getattr(SearchParams.from_dict({key: float(value)}), key)  # an int field stays an int
    return out


def query_encoder(exp, which: str):
    """The build's model run by torch (``TransformerQueryEncoder``) or its int8 ONNX twin."""
    from models.core.encoders import TransformerQueryEncoder, load_query_encoder, resolve_model_path

    m = exp.artifacts.manifest["model"]
    models_dir = exp.artifacts.dir.parent.parent / "models"
    if which == "torch":
        return TransformerQueryEncoder(resolve_model_path(m["name"], models_dir),
                                       max_seq_length=m.get("max_seq_length", 128))
    return load_query_encoder(m["name"], models_dir=models_dir, onnx=True)


def table(verdict: dict) -> str:
    """The verdict as a table: one line per set (a set with no query in the build: n 0, MRR —),
    the pooled line, then the verdict line."""
    def mrr(value) -> str:
        return f"{value:>8.3f}" if value is not None else f"{'—':>8}"

    lines = [f"{'set':<30}{'n':>5}{'A':>8}{'B':>8}{'B−A':>9}{'95 % CI':>20}{'p':>9}{'changed':>9}"]
    rows = [*list(verdict["files"].items()), ("POOLED", verdict["pooled"])]
    for name, f in rows:
        lo, hi = f["ci95"]
        lines.append(f"{name:<30}{f['n']:>5}{mrr(f['a'])}{mrr(f['b'])}{f['diff']:>+9.4f}"
                     f"{f'[{lo:+.3f}, {hi:+.3f}]':>20}{f['p_permutation']:>9.3g}{f['changed']:>9}")
    lines.append(f"verdict: {'ADOPT' if verdict['adopt'] else 'do not adopt'} — {verdict['reason']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--change", action="append", help="FIELD=VALUE of B (repeat)")
    ap.add_argument("--queries-b", choices=("torch", "int8"),
                    help="B encodes the queries with torch or the int8 ONNX twin (A: the default engine)")
    ap.add_argument("--artifacts-b", help="B: another build of the same datasets (its own query encoder)")
    ap.add_argument("--base", action="append", help="FIELD=VALUE of A (repeat; default: the build's)")
    ap.add_argument("--queries", action="append", help="labelled CSV (repeat; default: every one we have)")
    ap.add_argument("--no-dialogues", action="store_true", help="leave the dialogue turns out")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("gensim", "numba", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from models.serve.explorer import Explorer
    from models.serve.protocol import compare
    from models.serve.search import SemanticSearcher

    if not args.change and not args.queries_b and not args.artifacts_b:
        ap.error("give --change FIELD=VALUE, --queries-b or --artifacts-b")
    exp = Explorer.load(args.artifacts)
    a = exp.engine.with_params(**parse_changes(args.base))
    b, assistant_b = a, None
    if args.artifacts_b:
        other = Explorer.load(args.artifacts_b)
        if sorted(other.datasets["id"]) != sorted(exp.datasets["id"]):
            raise SystemExit(f"{args.artifacts_b} does not hold the same datasets as {args.artifacts}")
        b, assistant_b = other.engine.with_params(**parse_changes(args.base)), other.assistant
        log.info("A: %s (%s), B: %s (%s)", exp.artifacts.dir, exp.artifacts.manifest["model"]["id"],
                 other.artifacts.dir, other.artifacts.manifest["model"]["id"])
    elif args.queries_b:
        b = a.with_searchers(semantic=SemanticSearcher(exp.artifacts.embeddings,
                                                       query_encoder(exp, args.queries_b)))
        enc_a, enc_b = a.semantic.encoder, b.semantic.encoder
        log.info("A encodes queries with %s (%s), B with %s (%s)", type(enc_a).__name__,
                 getattr(enc_a, "engine", "torch"), type(enc_b).__name__, getattr(enc_b, "engine", "torch"))
    b = b.with_params(**parse_changes(args.change))
    verdict = compare(a, b, assistant=exp.assistant, assistant_b=assistant_b, files=args.queries,
                      with_dialogues=not args.no_dialogues)
    verdict["a"] = a.search_params.as_dict()
    verdict["b"] = b.search_params.as_dict()
    if args.json:
        print(json.dumps(verdict, ensure_ascii=False))
    else:
        print(table(verdict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
