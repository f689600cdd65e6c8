"""Fit the answer confidence of :mod:`models.serve.confidence` (a logistic model over four
query-time features) and write ``models/serve/confidence_params.json``.

Examples (what ``answered`` means):

* the labelled queries (``../shared/data/relevance/*.csv``): answered when an expected dataset is
  in the hybrid top 10 of the search;
* the dialogues (``tests/data/dialogues.jsonl``), played with the confidence switched off: each
  turn that starts or changes the topic, answered when an expected dataset is in the turn's
  top 10; features on the topic as the assistant searched it;
* ``tests/data/offtopic.csv``: ``off_topic`` and ``no_data`` prompts are not answered, ``data``
  prompts are.

``tests/data/offtopic-heldout.csv`` is never fitted on: its numbers are reported apart.
Calibration is measured by repeated stratified k-fold cross-validation (out-of-fold
probabilities: Brier score, log loss, accuracy at the threshold, AUC, a reliability table). The
threshold is the highest (step 0.05) that keeps 95 % of the answered questions out of fold
(``--min-kept``; the share is measured on the same out-of-fold scores, so slightly optimistic).

Run (on the build the app serves; a few minutes on CPU for the query encodings)::

    .venv/bin/python scripts/tools/fit_confidence.py --artifacts artifacts --models-dir artifacts/models \\
        --check-dialogues --bench

``--dry-run`` prints the report without writing the parameters.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from models.serve.confidence import (  # noqa: E402
    FEATURES,
    PARAMS_PATH,
    ConfidenceModel,
    assess,
    confidence_features,
    off_topic_kind,
    off_topic_wording,
)

log = logging.getLogger("fit_confidence")

DEFAULT_RELEVANCE = str(REPO.parent / "shared" / "data" / "relevance" / "*.csv")
DATA = REPO / "tests" / "data"


# ---- the logistic model ------------------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> ConfidenceModel:
    """L2-penalised logistic regression on standardised features (Newton's method; the bias is
    not penalised)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale <= 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    pen = np.full(z.shape[1], l2)
    pen[0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -60, 60)))
        grad = z.T @ (p - y) + pen * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(pen) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return ConfidenceModel(weights=tuple(float(v) for v in w[1:]), bias=float(w[0]),
                           mean=tuple(float(v) for v in mean), scale=tuple(float(v) for v in scale))


def predict(m: ConfidenceModel, x: np.ndarray) -> np.ndarray:
    return np.array([m.probability(row) for row in x])


def auc(y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                 / (len(pos) * len(neg)))


def calibration(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    eps = 1e-12
    bins = []
    for lo in np.arange(0.0, 1.0, 0.2):
        sel = (p >= lo) & (p < lo + 0.2 if lo < 0.8 else p <= 1.0)
        if sel.any():
            bins.append({"bin": f"{lo:.1f}-{lo + 0.2:.1f}", "n": int(sel.sum()),
                         "mean_p": round(float(p[sel].mean()), 3),
                         "answered": round(float(y[sel].mean()), 3)})
    pred = p >= threshold
    return {"n": len(y), "answered": int(y.sum()),
            "brier": round(float(np.mean((p - y) ** 2)), 4),
            "brier_base_rate": round(float(np.mean((y.mean() - y) ** 2)), 4),
            "log_loss": round(float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))), 4),
            "accuracy": round(float(np.mean(pred == (y == 1))), 4),
            "answered_kept": round(float(pred[y == 1].mean()), 4) if (y == 1).any() else None,
            "unanswered_caught": round(float((~pred[y == 0]).mean()), 4) if (y == 0).any() else None,
            "auc": round(auc(y, p), 4), "reliability": bins}


def out_of_fold(x, y, *, l2: float, folds: int, repeats: int) -> np.ndarray:
    """Out-of-fold probabilities (``repeats`` × examples), each repeat a stratified split."""
    rng = np.random.default_rng(0)
    oof = np.zeros((repeats, len(y)))
    for r in range(repeats):
        fold_of = np.empty(len(y), dtype=int)
        for cls in (0, 1):
            idx = np.flatnonzero(y == cls)
            rng.shuffle(idx)
            fold_of[idx] = np.arange(len(idx)) % folds
        for f in range(folds):
            test = fold_of == f
            m = fit_logistic(x[~test], y[~test], l2)
            oof[r, test] = predict(m, x[test])
    return oof


def choose_threshold(oof: np.ndarray, y: np.ndarray, min_kept: float) -> float:
    """The highest threshold (grid of 0.05) that still keeps ``min_kept`` of the answered
    questions out of fold: « aucun jeu ne répond exactement » must rarely be said of a
    question the search answers."""
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    ok = [t for t in grid if (oof[:, y == 1] >= t).mean() >= min_kept]
    return float(max(ok)) if ok else 0.05


def summarise(oof, y, groups, wordings, *, threshold: float, off_threshold: float) -> dict:
    per_repeat = [calibration(y, o, threshold) for o in oof]
    out = calibration(y, oof.mean(axis=0), threshold)
    out["threshold"] = threshold
    out["brier_per_repeat"] = [c["brier"] for c in per_repeat]
    out["accuracy_per_repeat"] = [c["accuracy"] for c in per_repeat]
    out["by_group"] = {}
    for g in sorted(set(groups)):
        sel = np.asarray([x == g for x in groups])
        out["by_group"][g] = {"n": int(sel.sum()), "answered": int(y[sel].sum()),
                              "fits": round(float((oof[:, sel] >= threshold).mean()), 4)}
    out["thresholds"] = {f"{t:.2f}": {"accuracy": round(float(((oof >= t) == (y == 1)).mean()), 4),
                                      "answered_kept": round(float((oof[:, y == 1] >= t).mean()), 4),
                                      "unanswered_caught": round(float((oof[:, y == 0] < t).mean()), 4)}
                         for t in (0.2, 0.3, 0.4, 0.5, 0.6)}
    off = np.asarray([w is not None for w in wordings])
    strong = np.asarray([w is not None and w[1] for w in wordings])
    is_off = np.asarray([g == "off_topic" for g in groups])
    det = ((oof < off_threshold) | strong[None, :]) & off[None, :]
    out["off_topic_detected"] = round(float(det[:, is_off].mean()), 4) if is_off.any() else None
    out["false_off_topic"] = round(float(det[:, ~is_off].mean()), 4)
    return out


# ---- examples ----------------------------------------------------------------------------------
def labelled_examples(exp, pattern: str) -> list[dict]:
    from models.serve.evaluate import read_relevance
    from models.serve.search import clean_query

    by_query: dict[str, set] = {}
    for f in sorted(glob.glob(pattern)):
        for qr in read_relevance(f):
            if qr.query:
                by_query.setdefault(qr.query, set()).update(qr.expected)
    row_of = exp.records.row_of
    out = []
    for query, expected in by_query.items():
        expected = {e for e in expected if row_of(e) is not None}
        if not expected:
            log.warning("no expected dataset of %r in this build: left out", query)
            continue
        ids = {str(exp.datasets["id"].iat[h.row]) for h in exp.search(query, mode="hybrid", k=10)}
        out.append({"text": query, "query": exp.engine.spell(clean_query(query, exp.max_query_chars)).text,
                    "y": int(bool(ids & expected)), "group": "labelled"})
    return out


def dialogue_examples(exp, path: Path) -> list[dict]:
    """Turns that start or change the topic (played with the confidence off)."""
    from models.serve.assistant_eval import read_dialogues
    from models.serve.search import clean_query

    asst = exp.assistant.with_params(confidence=False)
    row_of = exp.records.row_of
    seen: set[str] = set()
    out = []
    for d in read_dialogues(path):
        state, topic = None, ""
        for turn in d["turns"]:
            res = asst.ask(turn["user"], state)
            state = res["state"]
            new = state["topic"]
            changed, topic = new != topic, new
            expected = {e for e in turn.get("expected") or [] if row_of(e) is not None}
            if not changed or not expected or not new:
                continue
            query = exp.engine.spell(clean_query(new, exp.max_query_chars)).text
            if query in seen:
                continue
            seen.add(query)
            out.append({"text": turn["user"], "query": query,
                        "y": int(bool(set(res["ranking"][:10]) & expected)), "group": "dialogue"})
    return out


def prompt_examples(exp, path: Path) -> list[dict]:
    from models.serve.search import clean_query

    df = pd.read_csv(path)
    bad = set(df["kind"]) - {"off_topic", "no_data", "data"}
    if bad:
        raise ValueError(f"{path}: unknown kinds {bad}")
    return [{"text": p, "query": exp.engine.spell(clean_query(p, exp.max_query_chars)).text,
             "y": int(k == "data"), "group": k} for p, k in zip(df["prompt"], df["kind"], strict=True)]


def with_features(exp, examples: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([confidence_features(exp.engine, e["query"]) for e in examples])
    y = np.array([e["y"] for e in examples], dtype=np.float64)
    return x, y


# ---- checks ------------------------------------------------------------------------------------
def heldout_report(exp, model: ConfidenceModel, path: Path) -> dict:
    out: dict = {}
    rows = []
    for e in prompt_examples(exp, path):
        a = assess(exp.engine, e["query"], text=e["text"], model=model)
        rows.append((e["group"], e["text"], a))
    for kind in ("off_topic", "no_data", "data"):
        sel = [a for g, _, a in rows if g == kind]
        if sel:
            out[kind] = {"n": len(sel), "off_topic": round(np.mean([a.off_topic for a in sel]), 4),
                         "fits": round(np.mean([a.fits for a in sel]), 4),
                         "worded_off_topic": round(np.mean([a.kind is not None for a in sel]), 4)}
    out["missed_off_topic"] = [t for g, t, a in rows if g == "off_topic" and not a.off_topic]
    out["wrongly_off_topic"] = [t for g, t, a in rows if g != "off_topic" and a.off_topic]
    out["scores"] = {t: round(a.score, 3) for _, t, a in rows}
    return out


def false_off_topic(exp, model: ConfidenceModel, pattern: str, dialogues: Path) -> dict:
    """Labelled queries and dialogue user turns called off-topic (wording, and wording + score)."""
    from models.serve.assistant_eval import read_dialogues
    from models.serve.evaluate import read_relevance
    from models.serve.search import clean_query

    texts = sorted({qr.query for f in glob.glob(pattern) for qr in read_relevance(f) if qr.query})
    turns = [t["user"] for d in read_dialogues(dialogues) for t in d["turns"]]
    out = {}
    for name, items in (("labelled_queries", texts), ("dialogue_turns", turns)):
        worded = [t for t in items if off_topic_kind(t)]
        engine = exp.engine
        called = [t for t in worded if assess(engine, engine.spell(clean_query(t, exp.max_query_chars)).text,
                                              text=t, model=model).off_topic]
        out[name] = {"n": len(items), "worded_off_topic": len(worded), "off_topic": len(called),
                     "examples": called[:10]}
    return out


def dialogue_check(exp, path: Path) -> dict:
    """The dialogue scores with the confidence off (before) and on (after), and the turns the
    assistant now calls off-topic or answers with « Aucun jeu ne répond exactement »."""
    from models.serve.assistant_eval import evaluate_dialogues, read_dialogues

    dialogues = read_dialogues(path)
    keys = ("turns", "scored", "success@1", "success@5", "mrr@10")
    out = {}
    for name, on in (("before (confidence off)", False), ("after (confidence on)", True)):
        m = evaluate_dialogues(exp.assistant.with_params(confidence=on), dialogues)
        out[name] = {k: m[k] for k in keys}
    asst = exp.assistant.with_params(confidence=True)
    row_of = exp.records.row_of
    low, low_answered, off = [], 0, []
    for d in dialogues:
        state = None
        for turn in d["turns"]:
            res = asst.ask(turn["user"], state)
            state = res["state"]
            if res.get("off_topic"):
                off.append(turn["user"])
            if res["reply"].startswith("Aucun jeu ne répond exactement"):
                low.append(turn["user"])
                expected = {e for e in turn.get("expected") or [] if row_of(e) is not None}
                low_answered += bool(expected & {c["id"] for c in res["cards"]})
    out["after: off-topic turns"] = off
    out["after: « aucun jeu ne répond exactement » turns"] = low
    out["after: of which an expected dataset is among the cards"] = low_answered
    return out


def bench(exp, queries: list[str]) -> dict:
    """Cost of :func:`assess` beyond the search (the search's cosines cached, keyword scores
    given as the results page has them, and recomputed); per query the median of 3 runs."""
    from models.serve.search import clean_query

    times_given, times_own = [], []
    assess(exp.engine, queries[0])  # the model file read once, outside the timings
    for q in queries:
        exp.search(q, mode="hybrid", k=10)
        qc = exp.engine.spell(clean_query(q, exp.max_query_chars)).text  # what the search searched
        kw = exp.engine.keyword.scores(qc)
        for store, kws in ((times_given, kw), (times_own, None)):
            runs = []
            for _ in range(3):  # the median of 3: the machine may be busy with something else
                t0 = time.perf_counter()
                assess(exp.engine, qc, keyword_scores=kws)
                runs.append(1000 * (time.perf_counter() - t0))
            store.append(float(np.median(runs)))

    def stats(t):
        return {k: round(float(np.percentile(t, v)), 3) for k, v in (("p50", 50), ("p95", 95), ("max", 100))}

    return {"n_datasets": int(exp.n), "queries": len(queries), "ms_keyword_given": stats(times_given),
            "ms_keyword_recomputed": stats(times_own)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", default=str(REPO / "artifacts"))
    ap.add_argument("--models-dir", default=None)
    ap.add_argument("--relevance", default=DEFAULT_RELEVANCE, help="glob of labelled query files")
    ap.add_argument("--dialogues", default=str(DATA / "dialogues.jsonl"))
    ap.add_argument("--offtopic", default=str(DATA / "offtopic.csv"))
    ap.add_argument("--heldout", default=str(DATA / "offtopic-heldout.csv"))
    ap.add_argument("--out", default=str(PARAMS_PATH))
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threshold", type=float, default=None,
                    help="below it: no dataset answers (default: chosen by --min-kept)")
    ap.add_argument("--min-kept", type=float, default=0.95,
                    help="the threshold keeps this share of the answered questions out of fold")
    ap.add_argument("--off-topic-threshold", type=float, default=0.9,
                    help="below it, a request worded as off-topic is off-topic")
    ap.add_argument("--check-dialogues", action="store_true",
                    help="dialogue scores with the confidence off (before) and on (after)")
    ap.add_argument("--bench", action="store_true", help="time assess() on the labelled queries")
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from models.serve.explorer import Explorer

    exp = Explorer.load(args.artifacts, models_dir=Path(args.models_dir) if args.models_dir else None)
    t0 = time.perf_counter()
    examples = (labelled_examples(exp, args.relevance) + dialogue_examples(exp, Path(args.dialogues))
                + prompt_examples(exp, Path(args.offtopic)))
    x, y = with_features(exp, examples)
    groups = [e["group"] for e in examples]
    wordings = [off_topic_wording(e["text"]) for e in examples]
    log.info("%d examples (%d answered), features in %.0f s", len(y), int(y.sum()), time.perf_counter() - t0)
    oof = out_of_fold(x, y, l2=args.l2, folds=args.folds, repeats=args.repeats)
    threshold = args.threshold if args.threshold is not None else choose_threshold(oof, y, args.min_kept)
    cv = summarise(oof, y, groups, wordings, threshold=threshold, off_threshold=args.off_topic_threshold)
    fitted = fit_logistic(x, y, args.l2)
    manifest = exp.artifacts.manifest
    meta = {
        "fitted_on": {"artifacts": str(Path(args.artifacts)), "n_datasets": int(exp.n),
                      "build": manifest.get("build_id") or manifest.get("created_at")},
        "examples": {g: int(sum(1 for x_ in groups if x_ == g)) for g in sorted(set(groups))},
        "l2": args.l2, "min_kept": args.min_kept,
        "cv": {k: v for k, v in cv.items() if k != "reliability"}
        | {"folds": args.folds, "repeats": args.repeats},
        "command": "python scripts/tools/fit_confidence.py "
                   + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    model = ConfidenceModel(fitted.weights, fitted.bias, fitted.mean, fitted.scale,
                            threshold=threshold, off_topic_threshold=args.off_topic_threshold,
                            model_id=(manifest.get("model") or {}).get("id"), meta=meta)
    report = {"features": list(FEATURES), "weights": [round(w, 4) for w in model.weights],
              "bias": round(model.bias, 4), "cross_validated": cv,
              "in_sample": calibration(y, predict(model, x), threshold),
              "heldout": heldout_report(exp, model, Path(args.heldout)),
              "false_off_topic": false_off_topic(exp, model, args.relevance, Path(args.dialogues))}
    model = ConfidenceModel(**{**model.__dict__, "meta": meta | {"heldout": {
        k: v for k, v in report["heldout"].items() if k != "scores"}}})
    if args.bench:
        report["bench"] = bench(exp, sorted({e["text"] for e in examples if e["group"] == "labelled"}))
    if args.check_dialogues:
        report["dialogues"] = dialogue_check(exp, Path(args.dialogues))
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if not args.dry_run:
        Path(args.out).write_text(json.dumps(model.to_dict(), ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
        log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
