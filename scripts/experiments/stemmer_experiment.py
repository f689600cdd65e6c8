"""Experiment (not used by the app): Snowball French stemming for the keyword index and the
queries, against the light stemmer of :func:`models.core.text.light_stem`.

    pip install snowballstemmer   # not a dependency of the project
    python scripts/experiments/stemmer_experiment.py --artifacts artifacts --stemmer light
    python scripts/experiments/stemmer_experiment.py --artifacts artifacts --stemmer snowball

Rebuilds the keyword index in memory from the build's rows (``light`` gives the build's own
index back), prints as JSON: keyword and hybrid MRR@10 on both labelled files with the committed
constants, the held-out hybrid MRR@10 of ``scripts/tools/tune_search.py``'s 5-fold cross-validation
for three splits (seeds 0, 1, 2), the in-sample numbers and the refitted constants.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import models.core.bm25 as B  # noqa: E402
import models.core.text as T  # noqa: E402
import models.serve.keyword as K  # noqa: E402

FILES = (REPO.parent / "shared/data/relevance/search-indicator-datasets.csv",
         REPO.parent / "shared/data/relevance/questions-public.csv")
_WORD = re.compile(r"[0-9a-zà-öø-ÿœæ]+")


@lru_cache(maxsize=1)
def _snowball():
    import snowballstemmer

    return snowballstemmer.stemmer("french")


@lru_cache(maxsize=500_000)
def snowball_stem(token: str) -> str:
    """Snowball on the accented word (its suffixes are written with accents), then folded."""
    if len(token) <= 3 or token.isdigit():
        return T.fold_accents(token)
    return T.fold_accents(_snowball().stemWord(token))


def snowball_terms(text: str | None, *, stem: bool = True) -> list[str]:
    """:func:`models.core.text.keyword_terms` with Snowball instead of the light stemmer."""
    if not text:
        return []
    out = []
    for tok in _WORD.findall(T.drop_elisions(str(text).lower())):
        folded = T.fold_accents(tok)
        if folded in T.KEYWORD_STOP_WORDS or (len(folded) < 2 and not folded.isdigit()):
            continue
        out.append(snowball_stem(tok) if stem else folded)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", default="artifacts")
    ap.add_argument("--stemmer", choices=("light", "snowball"), default="light")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.stemmer == "snowball":
        T.keyword_terms = K.keyword_terms = B.keyword_terms = snowball_terms

    from models.serve.evaluate import evaluate, read_relevance
    from models.serve.explorer import Explorer
    from scripts.tools import tune_search as TS

    exp = Explorer.load(args.artifacts)
    cols = [c for c in ("title", "acronym", "tags", "organization") if c in exp.datasets.columns]
    df = exp.datasets[cols].copy()
    df["description_text"] = [exp.records.description_text(i) or "" for i in range(exp.n)]
    engine = exp.engine.with_searchers(keyword=K.KeywordSearcher.from_frame(df))
    report: dict = {"stemmer": args.stemmer, "vocabulary": len(engine.keyword.vocab), "committed": {}}
    preps = []
    for path in FILES:
        name = Path(path).stem
        queries = read_relevance(path)
        res = evaluate(engine, queries, ["keyword", "hybrid"], k=10)
        report["committed"][name] = {m: res["metrics"][m]["mrr@10"] for m in ("keyword", "hybrid")}
        preps += [p for p in (TS.prepare(engine, lq, name, 1000) for lq in queries) if p is not None]
    report["held_out"] = {}
    for seed in (0, 1, 2):
        fold = TS.folds_of(preps, 5, seed)
        held = [None] * len(preps)
        for k in range(5):
            prm = TS.fit([p for p, g in zip(preps, fold, strict=True) if g != k], TS.TUNER_START)
            for i, (p, g) in enumerate(zip(preps, fold, strict=True)):
                if g == k:
                    held[i] = TS.rank_of(p, prm)
        report["held_out"][seed] = {f: m["mrr@10"] for f, m in TS.per_file(preps, held).items()}
    final = TS.fit(preps, TS.TUNER_START)
    ranks = [TS.rank_of(p, final) for p in preps]
    report["in_sample"] = {f: m["mrr@10"] for f, m in TS.per_file(preps, ranks).items()}
    report["params"] = final.as_dict()
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
