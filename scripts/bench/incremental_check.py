"""Incremental builds, measured: change 1% of the descriptions, rebuild, count what was re-embedded.

Copies the export with the description of a seeded, deterministic 1% of its kept datasets
changed (a marker put in front), rebuilds it into ``--out`` with the embedding cache ``--cache``
and reports, from the new build's manifest, how many passages were encoded again (should be the
changed datasets only) and the time of every step::

    python scripts/bench/incremental_check.py \\
        --catalog ../shared/data/catalog/export-dataset-20260116-055249.csv.gz --out /tmp/incremental \\
        --cache artifacts/cache/embeddings --models-dir artifacts/models

``--out`` receives a normal build (``builds/``, ``current``): never point it at the artifacts the
app serves. The cache only gains the changed passages. With an empty cache, ``--prime`` builds
the unchanged export first. ``--steps ingest,embeddings`` stops after those steps (a quick check
of the cache alone); ``--json`` prints the report as JSON.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.config import BuildSettings
from models.pipeline.ingest import _rows, read_catalog
from models.pipeline.steps import STEPS, run_build

log = logging.getLogger("incremental_check")

MARKER = "[mise à jour {seed}-{n}]"


def changed_export(src: str | Path, dst: Path, *, fraction: float = 0.01, seed: int = 0,
                   limit: int | None = None) -> list[str]:
    """Write ``dst`` (gzip CSV): ``src`` with the description of ``fraction`` of the datasets the
    build keeps prefixed by :data:`MARKER`. Returns the changed ids (seeded, deterministic)."""
    df, _ = read_catalog(src, limit=limit)
    ids = sorted(set(df["id"]))
    k = max(1, round(fraction * len(ids)))
    chosen = sorted(np.random.default_rng(seed).choice(ids, size=k, replace=False).tolist())
    wanted = {ds_id: n for n, ds_id in enumerate(chosen)}
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(dst, "wt", encoding="utf-8", newline="", compresslevel=1) as out:
        writer = csv.writer(out, delimiter=";", quotechar='"', quoting=csv.QUOTE_ALL, lineterminator="\n")
        rows = _rows(Path(src))
        header = next(rows)
        i_id, i_desc = header.index("id"), header.index("description")
        writer.writerow(header)
        for row in rows:
            if len(row) == len(header) and row[i_id] in wanted:
                row = list(row)
                row[i_desc] = f"{MARKER.format(seed=seed, n=wanted[row[i_id]])} {row[i_desc]}"
            writer.writerow(row)
    return chosen


def run_check(catalog: str | Path, out: Path, *, cache: Path | None = None, models_dir: Path | None = None,
              model: str | None = None, fraction: float = 0.01, seed: int = 0, limit: int | None = None,
              steps: list[str] | None = None, prime: bool = False, work: Path | None = None,
              encoder=None, **settings) -> dict:
    """Make the changed export, rebuild, and report (see the module docstring)."""
    out = Path(out)
    chosen_steps = [s for s in STEPS if steps is None or s[0] in steps]

    def settings_for(path) -> BuildSettings:
        s = BuildSettings(catalog=str(path), out=out, limit=limit, show_progress=False, **settings)
        if model:
            s.model = model
        s.cache_dir = Path(cache) if cache else None
        s.models_dir = Path(models_dir) if models_dir else None
        return s

    report: dict = {"catalog": str(catalog), "fraction": fraction, "seed": seed, "limit": limit}
    if prime:
        t0 = time.perf_counter()
        first = run_build(settings_for(catalog), encoder=encoder, steps=chosen_steps)
        report["prime"] = {"build": str(first), "seconds": round(time.perf_counter() - t0, 1),
                           "embedding_stats": _manifest(first)["embedding_stats"]}
    t0 = time.perf_counter()
    dst = Path(work or out) / f"changed-{seed}.csv.gz"
    changed = changed_export(catalog, dst, fraction=fraction, seed=seed, limit=limit)
    report["changed_export"] = str(dst)
    report["changed"] = len(changed)
    report["changed_export_seconds"] = round(time.perf_counter() - t0, 1)
    final = run_build(settings_for(dst), encoder=encoder, steps=chosen_steps)
    m = _manifest(final)
    stats = m["embedding_stats"]
    report.update({
        "build": str(final), "n_datasets": m["n_datasets"], "re_embedded": stats["encoded"],
        "from_cache": stats["cached"], "only_changed_re_embedded": stats["encoded"] == len(changed),
        "steps": m["steps"], "total_seconds": m["total_seconds"],
    })
    return report


def _manifest(build: Path) -> dict:
    return json.loads((Path(build) / "manifest.json").read_text())


def format_report(r: dict) -> str:
    lines = [f"export modifié : {r['changed_export']} ({r['changed']} descriptions changées, "
             f"graine {r['seed']})",
             f"build : {r['build']} ({r['n_datasets']} jeux de données)",
             f"passages ré-encodés : {r['re_embedded']} (depuis le cache : {r['from_cache']}) — "
             + ("seulement les jeux modifiés" if r["only_changed_re_embedded"]
                else "ATTENTION : pas seulement les jeux modifiés"),
             "étapes (s) :"]
    lines += [f"  {name:<16}{seconds:>10.1f}" for name, seconds in r["steps"].items()]
    lines.append(f"  {'total':<16}{r['total_seconds']:>10.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--catalog", required=True, help="the export (path; .csv or .csv.gz)")
    p.add_argument("--out", required=True, help="artifacts root for the rebuilt build (not the served one)")
    p.add_argument("--cache", default=None, help="embedding cache to reuse (default: OUT/cache/embeddings)")
    p.add_argument("--models-dir", default=None, help="offline model folders (default: OUT/models)")
    p.add_argument("--model", default=None, help="encoder (default: the pipeline's)")
    p.add_argument("--fraction", type=float, default=0.01, help="share of datasets changed (default 0.01)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="first N datasets only")
    p.add_argument("--steps", default=None, help="only these steps, separated by commas")
    p.add_argument("--prime", action="store_true", help="build the unchanged export first (fills the cache)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = run_check(args.catalog, Path(args.out), cache=args.cache and Path(args.cache),
                       models_dir=args.models_dir and Path(args.models_dir), model=args.model,
                       fraction=args.fraction, seed=args.seed, limit=args.limit, prime=args.prime,
                       steps=args.steps.split(",") if args.steps else None)
    print(json.dumps(report, ensure_ascii=False) if args.json else format_report(report))
    return 0 if report["only_changed_re_embedded"] else 1


if __name__ == "__main__":
    sys.exit(main())
