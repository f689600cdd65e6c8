"""Fit every search constant by k-fold cross-validation over the labelled files, honestly.

    python scripts/tools/tune_search.py --artifacts /work/main/artifacts \
        --queries ../shared/data/relevance/search-indicator-datasets.csv \
        --queries ../shared/data/relevance/questions-public.csv \
        [--folds 5] [--seed 0] [--write models/core/search_params.json] [--json]

What is fitted (:class:`models.serve.ranking.SearchParams`): the short/long query threshold
``short_max_terms``; for short (keyword) queries and for long ones (questions) the keyword weight
α, the popularity weight β of the hybrid fusion, the weight γ of the neighbour smoothing of the
semantic score; the Rocchio feedback (``prf_docs_*``, ``prf_weight_*``: one setting for both
classes unless ``--prf-per-class``); the soft boosts of a place, a period, a producer and a
format named in the query. Not fitted: ``depth`` (1,000 candidates per mode, a cost bound), the
BM25F constants (build-time, in the keyword index) and the size of the smoothing's neighbourhood
(the build's ``neighbours.npy``; ``--neighbours K`` to try another).

How: the queries of both files are pooled and split into ``--folds`` folds, stratified by file
(seeded shuffle). For each fold, the constants are chosen on the other folds — grid search per
query class, coordinate ascent over the boosts, objective = mean of the two files' MRR@10 (each
file weighs the same, whatever its number of queries) — and the held-out fold is ranked with
them. Printed: in-fold (training) and held-out MRR@10 / hit@1 / hit@3 / hit@10 per file. The
parameters written are then fitted on all queries; their in-sample numbers are printed beside
the held-out ones, which are the honest estimate. The scores are computed exactly as
``SearchEngine.mode_scores(..., "hybrid")`` computes them, on each query's candidates (the union
of the 1,000 best of each mode); the final check re-ranks every query through the engine itself.

Adoption (docs/search-protocol.md): ``--write`` writes the fitted constants only when the protocol
adopts them against those in effect — a paired sign-flip test over every labelled query we have
(both files, our own sets in tests/data, every dialogue turn), p < 0.05, and no set losing beyond
its noise (``models.serve.protocol``); ``--force`` writes them anyway. The fit itself sees only the
``--queries`` files: our own sets are never tuned on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.serve.evaluate import read_relevance
from models.serve.ranking import (
    PARAMS_FILE,
    SearchParams,
    load_search_params,
    period_match,
    query_features,
    territory_match,
)
from models.serve.search import candidates, clean_query, neighbour_smooth

log = logging.getLogger("tune_search")

ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
BETAS = (0.0, 0.5, 1.0, 2.0, 3.5, 5.0, 8.0)
SHORT_MAX = (2, 3, 4, 5)
PRF = ((0, 0.0), (3, 0.5), (3, 1.0), (5, 1.0))
SMOOTH = (0.0, 0.2, 0.4, 0.6, 0.8)  # neighbour smoothing of the semantic score, per query class
# a place, a period … named in a query is a product requirement: the grids start above zero
BOOSTS = {"place_boost": (0.25, 0.5, 1.0, 2.0), "period_boost": (0.1, 0.3, 0.6, 1.0),
          "producer_boost": (0.25, 0.5, 1.0, 2.0), "format_boost": (0.1, 0.3, 0.6)}
KINDS = {"territory": "place_boost", "period": "period_boost", "producer": "producer_boost",
         "format": "format_boost"}
K = 10
# the search's starting point, not a fitted value (hand-set: the code defaults the fitted constants
# had before search_params.json became their only source); the hand-set fields keep their values
TUNER_START = SearchParams(short_max_terms=3, alpha_short=0.8, beta_short=3.5, alpha_long=0.8,
                           beta_long=3.5, prf_docs_short=3, prf_weight_short=1.0, prf_docs_long=3,
                           prf_weight_long=1.0, smooth_short=0.0, smooth_long=0.0, place_boost=1.0,
                           period_boost=0.3, producer_boost=1.0, format_boost=0.3)


@dataclass
class Prepared:
    """One labelled query, its candidates and everything the fusion needs on them."""

    file: str
    text: str
    n_terms: int
    question: bool
    acronym: bool
    cands: dict  # (prf_docs, prf_weight, smooth) -> (rows, kn, sn, prior, match[kind], relevant mask)
    fixed_rank: int | None = None  # a query without text (a tag alone): no constant applies
    fixed: bool = False


def prepare(engine, lq, file: str, depth: int) -> Prepared | None:
    """``engine``: the build's :class:`models.serve.engine.SearchEngine`."""
    text, tag = lq.search_args()
    q = engine.spell(clean_query(text, engine.max_query_chars)).text  # as the engine searches it
    rel_rows = {engine.records.row_of(e) for e in lq.expected} - {None}
    if not rel_rows:
        return None
    if not q:  # browsing a tag, most popular first: what the engine does, whatever the constants
        hits = engine.search("", k=K, tag=tag)
        ranked = [h.row for h in hits]
        r = next((i for i, row in enumerate(ranked, 1) if row in rel_rows), None)
        return Prepared(file, q, 0, False, False, {}, r, True)
    mask = engine.filter_mask(None, tag=tag)
    raw: dict = {}
    kw = engine.scores(q, "keyword", raw)
    sem0 = engine.scores(q, "semantic", raw)
    if mask is not None:
        kw = np.where(mask, kw, -np.inf)
    kw0 = np.where(np.isfinite(kw), kw, 0.0)
    kmax = engine.keyword.max_score(q)
    und = engine.query_understanding(q)
    cat = engine.catalogue
    matches_full = {}
    for slot in (und.slots if und is not None else ()):
        if slot.kind == "territory":
            m = territory_match(cat, slot)
        elif slot.kind == "period":
            m = period_match(cat, slot)
        elif slot.kind == "producer":
            m = np.zeros(cat.n, np.float32)
            for c in slot.candidates:
                pos = cat.producer_index(c.value)
                if pos is not None:
                    m[cat.producer_of_row == pos] = (
                        1.0 if c.value == slot.value else c.confidence / max(slot.confidence, 1e-6))
        elif slot.kind == "format":
            if slot.value not in cat.format_names:
                continue
            bit = np.uint32(1 << cat.format_names.index(slot.value))
            m = ((cat.format_bits & bit) != 0).astype(np.float32)
        else:
            continue
        w = min(max(slot.confidence, 0.0), 1.0) / 0.9
        matches_full[slot.kind] = matches_full.get(slot.kind, 0) + w * m
    f = query_features(q)
    out = {}
    for (prf_docs, prf_w), gamma in itertools.product(PRF, SMOOTH):
        sem = engine.feedback_scores(q, sem0, prf_docs, prf_w) if prf_docs else sem0
        sem = neighbour_smooth(sem, engine.neighbours, gamma)
        if mask is not None:
            sem = np.where(mask, sem, -np.inf)
        kw_rows = candidates(kw0, depth, positive_only=True)
        sem_rows = candidates(sem, depth)
        rows = np.union1d(kw_rows, sem_rows)
        if not len(rows):
            continue
        kn = np.clip(kw0[rows] / kmax, 0, 1) if kmax > 0 else np.zeros(len(rows))
        lo, hi = float(sem[sem_rows].min()), float(sem[sem_rows].max())
        s = np.where(np.isfinite(sem[rows]), sem[rows], lo)
        sn = np.clip((s - lo) / (hi - lo), 0, 1) if hi > lo else np.ones(len(rows))
        match = {k: np.asarray(v[rows], dtype=np.float64) for k, v in matches_full.items()}
        rel = np.isin(rows, np.fromiter(rel_rows, dtype=np.int64))
        out[(prf_docs, prf_w, gamma)] = (rows, kn, sn, engine.prior[rows].astype(np.float64), match, rel)
    return Prepared(file, q, f.n_terms, f.question, f.acronym, out)


def is_short(p: Prepared, short_max: int) -> bool:
    return (not p.question) and p.n_terms <= short_max + (1 if p.acronym else 0)


def rank_of(p: Prepared, prm: SearchParams) -> int | None:
    """1-based rank of the first relevant candidate under ``prm`` (None: not found)."""
    if p.fixed:
        return p.fixed_rank
    short = is_short(p, prm.short_max_terms)
    c = p.cands.get((*prm.prf(short), prm.smooth(short)))
    if c is None:
        return None
    rows, kn, sn, prior, match, rel = c
    if not rel.any():
        return None
    a = prm.alpha_short if short else prm.alpha_long
    b = prm.beta_short if short else prm.beta_long
    sc = (a * kn + (1 - a) * sn) * (1 + b * prior)
    if match:
        boost = np.ones(len(rows))
        for kind, m in match.items():
            boost += getattr(prm, KINDS[kind]) * m
        sc = sc * boost
    best = sc[rel].max()
    # ties count against the relevant dataset (the Explorer breaks them arbitrarily)
    return int(np.count_nonzero(sc > best)) + int(np.count_nonzero((sc == best) & ~rel)) + 1


def metrics(ranks: list[int | None]) -> dict:
    n = len(ranks)
    if not n:
        return {"n": 0}

    def hit(k):
        return round(sum(1 for r in ranks if r is not None and r <= k) / n, 4)

    return {"n": n, "mrr@10": round(sum(1 / r for r in ranks if r is not None and r <= K) / n, 4),
            "hit@1": hit(1), "hit@3": hit(3), "hit@10": hit(10)}


def objective(preps: list[Prepared], prm: SearchParams) -> float:
    """Mean over files of the file's MRR@10 (each file weighs the same)."""
    per: dict[str, list[float]] = {}
    for p in preps:
        r = rank_of(p, prm)
        per.setdefault(p.file, []).append(1 / r if r is not None and r <= K else 0.0)
    return float(np.mean([np.mean(v) for v in per.values()])) if per else 0.0


def fit(preps: list[Prepared], start: SearchParams, prf_per_class: bool = False) -> SearchParams:
    """Grid per query class, coordinate ascent over the boosts (module docstring). The Rocchio
    feedback is one setting for both classes (an outer loop) unless ``prf_per_class``."""
    best, best_obj = start, objective(preps, start)
    outer = [(m, None) for m in SHORT_MAX] if prf_per_class else list(itertools.product(SHORT_MAX, PRF))
    for short_max, shared in outer:
        prm = replace(start, short_max_terms=short_max)
        if shared is not None:
            prm = replace(prm, prf_docs_short=shared[0], prf_weight_short=shared[1],
                          prf_docs_long=shared[0], prf_weight_long=shared[1])
        for _ in range(2):
            for cls in ("short", "long"):
                prfs = PRF if shared is None else [shared]
                grid = [{f"alpha_{cls}": a, f"beta_{cls}": b, f"smooth_{cls}": g,
                         f"prf_docs_{cls}": d, f"prf_weight_{cls}": w}
                        for (d, w) in prfs for g in SMOOTH for a in ALPHAS for b in BETAS]
                scored = [(objective(preps, replace(prm, **g)), i) for i, g in enumerate(grid)]
                top = max(scored, key=lambda x: (x[0], -x[1]))
                prm = replace(prm, **grid[top[1]])
            for name, values in BOOSTS.items():
                scored = [(objective(preps, replace(prm, **{name: v})), i) for i, v in enumerate(values)]
                cur = objective(preps, prm)
                top = max(scored, key=lambda x: (x[0], -x[1]))
                if top[0] > cur + 1e-12:
                    prm = replace(prm, **{name: values[top[1]]})
        obj = objective(preps, prm)
        if obj > best_obj + 1e-12:
            best, best_obj = prm, obj
    return best


def folds_of(preps: list[Prepared], n_folds: int, seed: int) -> list[int]:
    """Fold of each query, stratified by file."""
    rng = np.random.default_rng(seed)
    fold = [0] * len(preps)
    for file in sorted({p.file for p in preps}):
        idx = [i for i, p in enumerate(preps) if p.file == file]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            fold[i] = j % n_folds
    return fold


def per_file(preps: list[Prepared], ranks: list[int | None]) -> dict:
    out = {}
    for file in sorted({p.file for p in preps}):
        out[file] = metrics([r for p, r in zip(preps, ranks, strict=True) if p.file == file])
    return out


def neighbours_for(exp, k: int) -> np.ndarray:
    """The ``k`` nearest datasets of every row: the build's first ``k`` when it holds that many,
    else computed exactly from its embeddings (the build's own rule: twins first)."""
    nb = exp.artifacts.neighbours
    if k <= nb.shape[1]:
        return np.ascontiguousarray(nb[:, :k])
    from models.pipeline.neighbours import knn

    t0 = time.perf_counter()
    idx, _ = knn(np.asarray(exp.artifacts.embeddings, dtype=np.float32), k)
    log.info("%d nearest datasets of %d rows computed in %.1f s", k, exp.n, time.perf_counter() - t0)
    return idx.astype(np.int32)


def main(argv: list[str] | None = None) -> int:
    global ALPHAS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--queries", action="append", required=True, help="labelled CSV (repeat)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", default=None, help=f"write the chosen parameters here (e.g. {PARAMS_FILE})")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--force", action="store_true",
                    help="write the fitted constants even when the protocol does not adopt them")
    ap.add_argument("--model", default=None)
    ap.add_argument("--neighbours", type=int, default=None,
                    help="smooth over this many nearest datasets instead of the build's neighbours.npy "
                         "(an experiment: more than the build holds are computed, exact, ~80 s)")
    ap.add_argument("--prf-per-class", action="store_true",
                    help="fit the Rocchio feedback separately for short and long queries (an experiment, "
                         "not adopted: README)")
    ap.add_argument("--alphas", default=None,
                    help="keyword weights tried, separated by commas (default: "
                         + ",".join(map(str, ALPHAS)) + ")")
    args = ap.parse_args(argv)
    if args.alphas:
        ALPHAS = tuple(float(a) for a in args.alphas.split(","))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("gensim", "numba", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from models.serve.evaluate import evaluate
    from models.serve.explorer import Explorer
    from models.serve.protocol import compare

    t0 = time.perf_counter()
    exp = Explorer.load(args.artifacts, model=args.model)
    if args.neighbours:
        exp.artifacts.neighbours = neighbours_for(exp, args.neighbours)
    start = TUNER_START
    preps: list[Prepared] = []
    skipped = 0
    all_queries = []
    for path in args.queries:
        name = Path(path).stem
        qs = read_relevance(path)
        all_queries.append((name, qs))
        for lq in qs:
            p = prepare(exp.engine, lq, name, start.depth)
            if p is None:
                skipped += 1
            else:
                preps.append(p)
    log.info("%d queries prepared (%d skipped: no expected dataset in the build) in %.1f s",
             len(preps), skipped, time.perf_counter() - t0)
    fold = folds_of(preps, args.folds, args.seed)
    held: list[int | None] = [None] * len(preps)
    in_fold: dict[str, list[dict]] = {}
    chosen = []
    for f in range(args.folds):
        train = [p for p, g in zip(preps, fold, strict=True) if g != f]
        prm = fit(train, start, args.prf_per_class)
        chosen.append(prm.as_dict())
        for i, (p, g) in enumerate(zip(preps, fold, strict=True)):
            if g == f:
                held[i] = rank_of(p, prm)
        tr_ranks = [rank_of(p, prm) for p in train]
        for file, m in per_file(train, tr_ranks).items():
            in_fold.setdefault(file, []).append(m)
        log.info("fold %d: %s", f, prm.as_dict())
    final = fit(preps, start, args.prf_per_class)
    in_sample = per_file(preps, [rank_of(p, final) for p in preps])
    default = per_file(preps, [rank_of(p, start) for p in preps])
    held_out = per_file(preps, held)
    in_fold_mean = {file: {k: round(float(np.mean([m[k] for m in ms])), 4) for k in ms[0] if k != "n"}
                    for file, ms in in_fold.items()}
    # check: the engine itself, with the final parameters, ranks like the tuner
    fitted = exp.engine.with_params(**final.as_dict())
    check = {}
    for name, qs in all_queries:
        res = evaluate(fitted, qs, ["hybrid"], k=K)
        check[name] = res["metrics"]["hybrid"]
    # the protocol (docs/search-protocol.md): the fitted constants against those in effect, on every
    # labelled query we have (our own sets and the dialogue turns included, never fitted on)
    current = exp.engine.with_params(**load_search_params().as_dict())
    verdict = compare(current, fitted, assistant=exp.assistant)
    report = {"params": final.as_dict(), "fitted_on": [str(p) for p in args.queries],
              "artifacts": str(exp.artifacts.dir), "n_datasets": exp.n, "folds": args.folds,
              "seed": args.seed, "objective": "mean over files of MRR@10",
              "neighbours": int(exp.artifacts.neighbours.shape[1]), "prf_per_class": args.prf_per_class,
              "held_out": held_out, "in_fold": in_fold_mean, "in_sample": in_sample,
              "defaults_in_sample": default, "explorer_check": check, "fold_params": chosen,
              "protocol": verdict, "seconds": round(time.perf_counter() - t0, 1)}
    if args.write and not verdict["adopt"] and not args.force:
        log.warning("not written: the protocol does not adopt the fitted constants (%s); --force to "
                    "write them anyway", verdict["reason"])
    elif args.write:
        Path(args.write).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
        log.info("parameters written to %s", args.write)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    print(f"{'file':<32}{'set':<22}{'MRR@10':>8}{'hit@1':>8}{'hit@3':>8}{'hit@10':>8}")
    for file in held_out:
        for label, m in (("in-fold (training)", in_fold_mean[file]), ("held-out (CV)", held_out[file]),
                         ("in-sample (final)", in_sample[file]), ("explorer check", check[file]),
                         ("defaults", default[file])):
            print(f"{file:<32}{label:<22}{m['mrr@10']:>8.3f}{m['hit@1']:>8.3f}{m['hit@3']:>8.3f}"
                  f"{m['hit@10']:>8.3f}")
    print("chosen:", json.dumps(final.as_dict()))
    from scripts.tools.compare_search import table

    print(table(verdict))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
