"""Command line: ``python -m models build|search|evaluate|topics|territories|bench|ask|
evaluate-dialogues|fit-assistant ...`` (a stable contract: extend, don't break)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from models.cli_reports import add_parsers, filter_args  # freshness, fair, coverage; --filter
from models.core.config import DEFAULT_ARTIFACTS, DEFAULT_CATALOG, DEFAULT_GEO, BuildSettings

# each command imports what it runs inside its function: python -m models build never loads the
# app's services, serve and search never the pipeline, and --help neither
log = logging.getLogger("models")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("gensim", "numba", "sentence_transformers", "httpx", "urllib3", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_build(args) -> int:
    from models.pipeline.steps import run_build

    if args.from_build or args.steps or args.set:
        from models.pipeline.rerun import parse_overrides, rerun_build

        if not (args.from_build and args.steps):
            raise ValueError("--steps and --set need --from BUILD (re-run steps of a previous build)")
        overrides = parse_overrides(args.set)
        if args.model:
            overrides["model"] = args.model
        final = rerun_build(args.from_build, args.steps.split(","), overrides=overrides,
                            out=args.out, show_progress=not args.quiet)
        print(final)
        return 0
    settings = BuildSettings(catalog=args.catalog, out=Path(args.out or DEFAULT_ARTIFACTS), limit=args.limit,
                             sample=args.sample,
                             include_archived=args.include_archived, show_progress=not args.quiet)
    if args.model:
        settings.model = args.model
    if args.cache:
        settings.cache_dir = Path(args.cache)
    if args.models_dir:
        settings.models_dir = Path(args.models_dir)
    if args.lda_k:
        settings.lda_k = args.lda_k
    if args.lda_ks:
        settings.lda_ks = tuple(int(k) for k in args.lda_ks.split(",") if k.strip())
    if args.dask:
        settings.dask = args.dask
    if args.publish_early is not None:
        settings.publish_early = args.publish_early
    final = run_build(settings)
    print(final)
    return 0


def cmd_search(args) -> int:
    from models.serve.explorer import Explorer
    from models.serve.service import CatalogueService, cli_payload

    svc = CatalogueService(Explorer.load(args.artifacts, model=args.model, query_encoder=args.query_encoder))
    out = svc.search(args.query, mode=args.mode, k=args.k, filters=filter_args(args.filter), sort=args.sort,
                     facets=args.facets, tag=args.tag, details=not args.json)
    for msg in out["messages"]:
        log.warning("%s", msg)
    rows, words = out["results"], out.get("words")
    if args.json:
        print(json.dumps(cli_payload(out, args.facets), ensure_ascii=False))
    else:
        if words:
            print("mots voisins : " + ", ".join(f"{w} ({s:.2f})" for w, s in words))
        for rank, r in enumerate(rows, 1):
            print(f"{rank:>3}. {r['score']:.3f}  {r['title']}  — {r['organization']}  [{r['id']}]")
            if r["why"]:
                print("       " + " · ".join(r["why"]))
        if args.facets:
            for key, vals in out["facets"].items():
                if vals:
                    print(f"{key}: " + ", ".join(f"{label} ({c})" for _v, c, label in vals[:8]))
    return 0


def cmd_evaluate(args) -> int:
    from models.serve.evaluate import evaluate, read_relevance, report_json
    from models.serve.explorer import Explorer
    from models.serve.search import MODES

    modes = list(MODES) if args.mode == "all" else [m.strip() for m in args.mode.split(",")]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose among all, {', '.join(MODES)}")
    if not Path(args.queries).is_file():
        raise ValueError(f"no labelled queries file at {args.queries}")
    exp = Explorer.load(args.artifacts, model=args.model, query_encoder=args.query_encoder,
                        models_dir=Path(args.models_dir) if args.models_dir else None)
    queries = read_relevance(args.queries)
    result = evaluate(exp.engine, queries, modes, k=args.k)
    if args.json:
        out = report_json(result, per_query=args.per_query)
        out["params"] = exp.engine.search_params.as_dict()  # the search constants in effect
        print(json.dumps(out, ensure_ascii=False))
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


def cmd_topics(args) -> int:
    from models.core.store import load_artifacts
    from models.serve.topics import TopicService

    svc = TopicService(load_artifacts(args.artifacts))
    out = svc.as_json(args.k, n_terms=args.terms, n_representative=args.representative)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    for m in out["models"]:
        cv = "-" if m["coherence_cv"] is None else f"{m['coherence_cv']:.3f}"
        um = "-" if m["coherence_umass"] is None else f"{m['coherence_umass']:.2f}"
        st = "-" if m.get("stability_mean") is None else f"{m['stability_mean']:.2f}"
        print(f"K={m['k']}{'  (par défaut)' if m['default'] else ''}   c_v {cv}   u_mass {um}"
              f"   stabilité moyenne {st}")
        print(f"  {'id':>3} {'part':>6} {'stab.':>5}  {'thème':<45} termes")
        for t in m["topics"]:
            stab = "-" if t["stability"] is None else f"{t['stability']:.2f}"
            terms = ", ".join(w for w, _ in t["terms"][:8])
            print(f"  {t['id']:>3} {100 * t['prevalence']:>5.1f}% {stab:>5}  {t['label'][:45]:<45} {terms}")
        print()
    return 0


def cmd_territories(args) -> int:
    """Territories of a build (``--artifacts``) or extracted now from an export (``--catalog``),
    optionally compared with the declared zones (``--evaluate``)."""
    import time

    import pandas as pd

    from models.core.geo import Gazetteer
    from models.pipeline.territories import evaluate, extract_frame

    t_extract = None
    gaz = None
    if args.catalog:
        from models.pipeline.ingest import read_catalog

        df, _ = read_catalog(args.catalog, limit=args.limit)
        gaz = Gazetteer.load(args.geo)
        t0 = time.perf_counter()
        terr = extract_frame(df, gaz, show_progress=not args.quiet)
        t_extract = round(time.perf_counter() - t0, 1)
        log.info("territories extracted from %d datasets in %.1f s", len(df), t_extract)
        if args.save:
            terr.to_parquet(args.save, index=False)
    else:
        from models.core.store import ArtifactError, resolve_build_dir

        build = resolve_build_dir(args.artifacts)
        if not (build / "territories.parquet").exists():
            raise ArtifactError(f"{build} has no territories.parquet: rebuild with the territories step")
        terr = pd.read_parquet(build / "territories.parquet")
        df = pd.read_parquet(build / "datasets.parquet",
                             columns=["id", "title", "organization", "spatial_zones", "spatial_granularity"])
    if args.evaluate:
        gaz = gaz or Gazetteer.load(args.geo)
        out = evaluate(df, terr, gaz, min_confidence=args.min_confidence)
        if t_extract is not None:
            out["extraction_seconds"] = t_extract
    else:
        kept = terr[terr["confidence"] >= args.min_confidence]
        out = {"n_datasets": len(df), "n_territories": len(kept),
               "datasets_with_territory": int(kept["row"].nunique()),
               "by_level": {str(k): int(v) for k, v in kept["level"].value_counts().items()},
               "by_source": {str(k): int(v) for k, v in kept["source"].value_counts().items()},
               "min_confidence": args.min_confidence}
        if t_extract is not None:
            out["extraction_seconds"] = t_extract
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if args.evaluate:
        for level in ("departement", "entity"):
            r = out[level]
            print(f"{level:<12} precision {r['precision']}  recall {r['recall']}  n {r['n']}  "
                  f"(micro: precision {r['micro_precision']}  recall {r['micro_recall']})")
        c = out["coverage"]
        print(f"coverage     declared {c['declared']}  extracted {c['extracted']}  "
              f"(datasets: {c['n_datasets']})")
    else:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def cmd_verify(args) -> int:
    """Every file of the build against its manifest (size, sha256), then the start invariants."""
    from models.core.store import verify_build

    n, problems = verify_build(args.artifacts)
    for problem in problems:
        log.error("verify: %s", problem)
    if problems:
        return 2
    print(f"ok: {n} files match their manifest (sha256) and the build is consistent")
    return 0


def cmd_bench(args) -> int:
    """Start the app on the artifacts and measure it (``models/bench.py``)."""
    from models.bench import BenchError, encoder_comparison, format_table, run_bench

    if args.encoders:
        result = encoder_comparison(args.artifacts, n=args.passages, threads=args.threads,
                                    models_dir=Path(args.models_dir) if args.models_dir else None)
        if args.json:
            print(json.dumps(result))
        else:
            for name, r in result["encoders"].items():
                extra = "".join(f"  {k} {r[k]:.3g}" if k == "max_abs_diff" else f"  {k} {r[k]}"
                                for k in ("min_cosine", "mean_cosine", "max_abs_diff", "speedup") if k in r)
                print(f"{name:<10} {r['model_id']:<32} {r['passages_per_s']:>7.1f} passages/s{extra}")
        return 0
    try:
        result = run_bench(args.artifacts, skip_embedding=args.skip_embedding,
                           query_encoder=args.query_encoder,
                           models_dir=Path(args.models_dir) if args.models_dir else None)
    except BenchError as exc:
        log.error("bench failed: %s", exc)
        return 2
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def cmd_map_quality(args) -> int:
    """Neighbour preservation, blob share and label levels of a build's 2D map."""
    import numpy as np

    from models.core.map_quality import label_levels, layout_quality
    from models.core.store import load_artifacts
    from models.pipeline.neighbours import knn

    art = load_artifacts(args.artifacts)
    coords = art.npy("umap.npy", mmap=False)
    k = args.k
    if art.has("neighbours.npy") and art.npy("neighbours.npy").shape[1] >= k:
        emb = np.asarray(art.npy("neighbours.npy"))[:, :k]
    else:
        emb = knn(art.npy("embeddings.npy"), k=k)[0]
    out = layout_quality(coords, emb, k=k)
    out["labels"] = label_levels(art.parquet("hierarchy.parquet") if art.has("hierarchy.parquet") else None)
    out["n_datasets"] = len(coords)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"neighbour preservation@{k}  {out[f'neighbour_preservation@{k}']:.4f}  (higher is better)")
        print(f"blob share                 {out['blob_share']:.4f}  (lower is better)")
        print(f"label levels               {out['labels']['levels']}  {out['labels']['per_level']}")
    return 0


def _explorer(args):
    from models.serve.explorer import Explorer

    return Explorer.load(args.artifacts, model=getattr(args, "model", None),
                         models_dir=Path(args.models_dir) if getattr(args, "models_dir", None) else None)


def cmd_ask(args) -> int:
    """One assistant turn (``models/serve/assistant.py``): the answer, the cards, the slots."""
    exp = _explorer(args)
    res = exp.assistant.ask(args.question)
    if args.json:
        res = {k: v for k, v in res.items() if k != "state"} | {"state": res["state"]}
        print(json.dumps(res, ensure_ascii=False))
        return 0
    print(res["reply"])
    for note in res["notes"]:
        print(f"  ({note})")
    if res["clarify"]:
        c = res["clarify"]
        print(c["question"] + "  " + " | ".join([o["label"] for o in c["options"]] + [c["none"]]))
    for i, c in enumerate(res["cards"], 1):
        print(f"{i}. {c['title']} — {c['producer'] or '?'} — {c['last_update'] or '?'} "
              f"— {c['territory'] or '?'} — {', '.join(c['formats']) or '?'}  [{c['id']}]")
        if c["answer"]:
            print(f"   « {c['answer']['sentence'][:240]} »")
    if res["slots"]:
        print("slots : " + ", ".join(f"{k} = {v['label']}" for k, v in res["slots"].items()))
    return 0


def cmd_evaluate_dialogues(args) -> int:
    from models.serve.assistant_eval import evaluate_dialogues, read_dialogues

    if not Path(args.dialogues).is_file():
        raise ValueError(f"no dialogue file at {args.dialogues}")
    dialogues = read_dialogues(args.dialogues)
    m = evaluate_dialogues(_explorer(args).assistant, dialogues)
    keys = ("turns", "success@1", "success@5", "mrr@10", "slots", "clarifications")
    out = m if args.details else {k: m[k] for k in keys}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{m['turns']} tours ({m['scored']} notés) : success@1 {m['success@1']}  success@5 "
          f"{m['success@5']}  mrr@10 {m['mrr@10']}  clarifications {m['clarifications']}")
    for pos, v in m["by_position"].items():
        print(f"  {pos:<10} n {v['n']:>3}  success@1 {v['success@1']}  success@5 {v['success@5']}  "
              f"mrr@10 {v['mrr@10']}")
    for k, v in m["slots"].items():
        print(f"  {k:<10} precision {v['precision']}  recall {v['recall']}  f1 {v['f1']}  n {v['n']}")
    print(f"  latence p50 {m['latency_ms']['p50']} ms  p95 {m['latency_ms']['p95']} ms")
    return 0


def cmd_fit_assistant(args) -> int:
    """k-fold cross-validation of the assistant's passage weight (held-out numbers)."""
    from models.serve.assistant_eval import cross_validate, dialogues_from_queries, read_dialogues
    from models.serve.evaluate import read_relevance

    dialogues = read_dialogues(args.dialogues)
    for f in args.queries or []:
        dialogues += dialogues_from_queries(read_relevance(f))
    res = cross_validate(_explorer(args).assistant, dialogues, k=args.k)
    print(json.dumps(res, ensure_ascii=False) if args.json else json.dumps(res, ensure_ascii=False, indent=2))
    return 0


def cmd_export_onnx(args) -> int:
    import shutil

    from models.core.onnx_encoder import VARIANTS, ensure_onnx_model, onnx_folder

    for variant in (VARIANTS if args.variant == "all" else (args.variant,)):
        if args.force:
            shutil.rmtree(onnx_folder(args.models_dir, variant), ignore_errors=True)
        print(ensure_onnx_model(args.models_dir, variant=variant))
    return 0


def cmd_mcp(args) -> int:
    """The MCP server (``models/mcp``): stdio, or streamable HTTP with ``--http``."""
    from models.mcp.server import run

    run(args.artifacts, http=args.http, host=args.host, port=args.port, query_encoder=args.query_encoder,
        models_dir=Path(args.models_dir) if args.models_dir else None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models",
                                description="data.gouv.fr catalogue explorer: offline pipeline")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build or refresh the artifacts from a catalogue export")
    b.add_argument("--catalog", default=str(DEFAULT_CATALOG), help="path or URL of the export")
    b.add_argument("--out", default=None,
                   help=f"artifacts root (default: {DEFAULT_ARTIFACTS}; with --from: that build's root)")
    b.add_argument("--from", dest="from_build", default=None, metavar="BUILD",
                   help="re-run --steps of this build (DIR/current or a build folder), reuse its other files")
    b.add_argument("--steps", default=None,
                   help="with --from: steps to re-run, separated by commas (e.g. topics,clusters); the "
                        "steps reading what they produce are re-run too; 'pending': what an "
                        "early-published build still lacks")
    b.add_argument("--publish-early", dest="publish_early", action=argparse.BooleanOptionalAction,
                   default=None, help="publish a searchable build before topics, clusters and passages, "
                                      "then the complete one (default: from 20,000 datasets)")
    b.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                   help="with --from: change a setting, e.g. lda.ks=10,20,30 or umap.min_dist=0.1")
    b.add_argument("--limit", type=int, default=None, help="keep the first N datasets only")
    b.add_argument("--sample", type=int, default=None,
                   help="a stratified sample of N datasets (every producer, every theme): a first build")
    b.add_argument("--include-archived", action="store_true", help="keep archived datasets")
    b.add_argument("--model", default=None,
                   help="sentence-transformers model name or path (default: offline e5-small)")
    b.add_argument("--lda-k", type=int, default=None,
                   help="force the default number of LDA topics (default: best c_v coherence)")
    b.add_argument("--lda-ks", default=None,
                   help="numbers of LDA topics built, separated by commas (default 10,20,30,50)")
    b.add_argument("--cache", default=None,
                   help="embedding cache folder (default: OUT/cache/embeddings)")
    b.add_argument("--models-dir", default=None, help="offline model folders (default: OUT/models)")
    b.add_argument("--quiet", action="store_true", help="no progress bars")
    b.add_argument("--dask", default=None, metavar="local[:N]|tcp://HOST:8786",
                   help="run the partitionable steps (embeddings, tokens, keyword terms, territories) "
                        "on a Dask cluster: a local one with N workers, or a running scheduler")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", help="search the artifacts")
    s.add_argument("query")
    s.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    s.add_argument("--mode", default="hybrid", help="keyword, semantic, hybrid or word")
    s.add_argument("--tag", default=None, help="keep only datasets with this tag")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--model", default=None, help="query encoder (default: the build's)")
    s.add_argument("--query-encoder", choices=("build", "onnx"), default="build",
                   help="onnx: the int8 ONNX twin of the build's torch e5 model for the queries")
    s.add_argument("--json", action="store_true", help="print a JSON list")
    s.add_argument("--filter", action="append", metavar="KEY=VALUE",
                   help="producer, territory (level:code), year, modified (2018-2022), format, "
                        "licence, frequency, topic, has_reuses; repeatable")
    s.add_argument("--sort", default="relevance", choices=("relevance", "recent", "popular"))
    s.add_argument("--facets", action="store_true",
                   help='with --json: {"results": [...], "facets": {key: [[value, count], ...]}}')
    s.set_defaults(func=cmd_search)

    t = sub.add_parser("topics", help="LDA topics of a build: coherence, terms, stability")
    t.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    t.add_argument("--k", type=int, default=None, help="one K only (default: every K built)")
    t.add_argument("--terms", type=int, default=20, help="terms listed per topic")
    t.add_argument("--representative", type=int, default=5,
                   help="most representative dataset ids per topic")
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(func=cmd_topics)

    tr = sub.add_parser("territories", help="territories named by the datasets (and their evaluation)")
    src = tr.add_mutually_exclusive_group()
    src.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS), help="a build's territories.parquet")
    src.add_argument("--catalog", default=None, help="extract now from this export (non-archived rows)")
    tr.add_argument("--limit", type=int, default=None, help="with --catalog: first N datasets only")
    tr.add_argument("--geo", default=str(DEFAULT_GEO), help="gazetteer folder (COG json files)")
    tr.add_argument("--evaluate", action="store_true",
                    help="compare with the declared spatial zones (precision, recall, coverage)")
    tr.add_argument("--min-confidence", type=float, default=0.5,
                    help="territories kept for the counts and the evaluation (default 0.5)")
    tr.add_argument("--save", default=None, help="with --catalog: write the territories parquet here")
    tr.add_argument("--quiet", action="store_true", help="no progress bars")
    tr.add_argument("--json", action="store_true", help="print JSON")
    tr.set_defaults(func=cmd_territories)

    e = sub.add_parser("evaluate", help="search quality on labelled queries (query,params,expected)")
    e.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    e.add_argument("--queries", required=True, help="CSV in the search-indicator format")
    e.add_argument("--mode", default="all", help="all, or modes separated by commas")
    e.add_argument("--k", type=int, default=10, help="results looked at per query")
    e.add_argument("--model", default=None, help="query encoder (default: the build's)")
    e.add_argument("--models-dir", default=None, help="offline model folders (default: ROOT/models)")
    e.add_argument("--query-encoder", choices=("build", "onnx"), default="build",
                   help="onnx: the int8 ONNX twin of the build's torch e5 model for the queries")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")
    e.add_argument("--per-query", action="store_true",
                   help="also the first relevant rank of every query in every mode")
    e.set_defaults(func=cmd_evaluate)

    v = sub.add_parser("verify", help="check every artifact file against its manifest sha256")
    v.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    v.set_defaults(func=cmd_verify)

    bn = sub.add_parser("bench", help="start the app on a build and measure it (start, payloads, "
                                      "search latency, memory, embedding throughput)")
    bn.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    bn.add_argument("--json", action="store_true", help="print the measurements as JSON")
    bn.add_argument("--skip-embedding", action="store_true", help="no embedding throughput (quick run)")
    bn.add_argument("--models-dir", default=None, help="offline model folders (default: ROOT/models)")
    bn.add_argument("--query-encoder", choices=("build", "onnx"), default=None,
                    help="the app's query encoder (python app.py --query-encoder)")
    bn.add_argument("--encoders", action="store_true",
                    help="only compare the torch and int8 ONNX encoders (speed, cosine) on the build's "
                         "passages")
    bn.add_argument("--passages", type=int, default=2000, help="with --encoders: passages encoded")
    bn.add_argument("--threads", type=int, default=None,
                    help="with --encoders: threads of both encoders (default: one per core)")
    bn.set_defaults(func=cmd_bench)
    mq = sub.add_parser("map-quality", help="how faithful the 2D map is (neighbour preservation, "
                                            "blob share) and its label levels")
    mq.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    mq.add_argument("--k", type=int, default=10, help="neighbours compared (default 10)")
    mq.add_argument("--json", action="store_true", help="print JSON")
    mq.set_defaults(func=cmd_map_quality)

    a = sub.add_parser("ask", help="ask the assistant one question in French")
    a.add_argument("question")
    a.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    a.add_argument("--model", default=None, help="query encoder (default: the build's)")
    a.add_argument("--models-dir", default=None, help="offline model folders (default: ROOT/models)")
    a.add_argument("--json", action="store_true", help="print the whole turn as JSON")
    a.set_defaults(func=cmd_ask)

    ed = sub.add_parser("evaluate-dialogues", help="score the assistant on labelled dialogues (JSON lines)")
    ed.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    ed.add_argument("--dialogues", required=True, help="JSON lines: {id, turns: [{user, expected, slots}]}")
    ed.add_argument("--model", default=None, help="query encoder (default: the build's)")
    ed.add_argument("--models-dir", default=None, help="offline model folders (default: ROOT/models)")
    ed.add_argument("--json", action="store_true", help="print the metrics as JSON")
    ed.add_argument("--details", action="store_true",
                    help="also first turn vs follow-ups, skipped turns and latency")
    ed.set_defaults(func=cmd_evaluate_dialogues)

    fa = sub.add_parser("fit-assistant", help="choose the assistant's passage weight by k-fold "
                                              "cross-validation (held-out numbers)")
    fa.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    fa.add_argument("--dialogues", required=True)
    fa.add_argument("--queries", action="append", help="labelled queries CSV (repeatable)")
    fa.add_argument("--k", type=int, default=5)
    fa.add_argument("--model", default=None)
    fa.add_argument("--models-dir", default=None)
    fa.add_argument("--json", action="store_true")
    fa.set_defaults(func=cmd_fit_assistant)

    ox = sub.add_parser("export-onnx", help="export the offline e5 model to ONNX, exact float32 and "
                                            "int8 (once; again if damaged)")
    ox.add_argument("--variant", choices=("all", "fp32", "int8"), default="all",
                    help="which export (default: both)")
    ox.add_argument("--models-dir", default=str(DEFAULT_ARTIFACTS / "models"),
                    help="offline model folders (default: %(default)s)")
    ox.add_argument("--force", action="store_true", help="export again even if it looks intact")
    ox.set_defaults(func=cmd_export_onnx)
    add_parsers(sub)
    mc = sub.add_parser("mcp", help="MCP server for AI assistants (stdio; --http: streamable HTTP)")
    mc.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    mc.add_argument("--http", action="store_true", help="streamable HTTP on --host:--port/mcp")
    mc.add_argument("--host", default="127.0.0.1")
    mc.add_argument("--port", type=int, default=8765)
    mc.add_argument("--models-dir", default=None, help="offline model folders (default: ROOT/models)")
    mc.add_argument("--query-encoder", choices=("build", "onnx"), default="build")
    mc.set_defaults(func=cmd_mcp)
    return p


def main(argv: list[str] | None = None) -> int:
    from models.core.onnx_encoder import OnnxModelError
    from models.core.search_params import load_search_params
    from models.core.store import ArtifactError
    from models.pipeline.ingest import IngestError

    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        load_search_params()  # the package's fitted search constants, read first (SearchParamsError)
        return args.func(args)
    except (ArtifactError, IngestError, OnnxModelError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:  # a full disk, a folder not writable: one line, no traceback
        import errno

        what = {errno.ENOSPC: "espace disque épuisé", errno.EDQUOT: "quota disque dépassé"}.get(exc.errno)
        log.error("%s%s", f"{what} : " if what else "", str(exc).replace("\n", " "))
        return 2
