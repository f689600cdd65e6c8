"""Growth curve of the build: time and peak memory of every step against the catalogue size.

Four sub-commands (run from the repository root; write outside the repository)::

    # 1. a synthetic catalogue of N rows in the export's format, made of the real non-archived rows
    #    (title, description, tags and producer of different rows mixed beyond the real size)
    python scripts/bench/growth.py catalog --n 5000,20000 --out '/tmp/growth/cat-{n}.csv'
    # 2. every build step with a cheap encoder (hashed words, 384 dimensions), one size after the
    #    other in one process (numba compiles once): wall and CPU seconds and peak resident
    #    memory per step, one JSON file per size
    python scripts/bench/growth.py run --catalog /tmp/growth/cat-5000.csv /tmp/growth/cat-20000.csv \
        --out '/tmp/growth/run-{n}.json' --work /tmp/growth/work
    # 3. exponents per step (log-log fit) and projections, as JSON and a Markdown table
    python scripts/bench/growth.py fit /tmp/growth/run-*.json --throughput /tmp/growth/e5.json
    # 4. the real model's passages/s per worker (one thread), and the recall@10 of the approximate
    #    neighbours against the exact ones on real vectors
    python scripts/bench/growth.py throughput --n 500 --models-dir artifacts/models --out /tmp/growth/e5.json
    python scripts/bench/growth.py recall --cache /path/to/cache/embeddings/e5-small-offline@128 --n 20000

The pipeline runs with ``exact_neighbours_max=0``, i.e. the approximate neighbours a large
catalogue gets; the exact product is timed beside it as ``neighbours_exact`` (not part of the
build) to show why it is switched off above the threshold.
"""

from __future__ import annotations

import argparse
import csv
import gc
import gzip
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.core.config import DEFAULT_CATALOG, BuildSettings

log = logging.getLogger("growth")

# steps whose work is split by rows on a Dask cluster (models.pipeline.distributed)
PARTITIONED = ("embeddings", "french_tokens", "topic_tokens", "keyword_index", "territories")


# ---- 1. synthetic catalogue --------------------------------------------------------------------
def make_catalog(sizes: list[int], out: str, source: Path = DEFAULT_CATALOG, seed: int = 0) -> dict:
    """One file per size (``out`` with ``{n}``): the real non-archived rows first (shuffled), then
    rows whose title, description, tags and producer come from four different real rows."""
    csv.field_size_limit(sys.maxsize)
    opener = gzip.open if str(source).endswith(".gz") else open
    with opener(source, "rt", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=";")
        fields = reader.fieldnames
        rows = [r for r in reader if r.get("archived", "").strip() in ("", "False", "false", "0")]
    written = {}
    for n in sizes:
        path = Path(out.format(n=n))
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_catalog(rows, fields, n, path, seed)
        written[n] = str(path)
    return {"real_rows": len(rows), "files": written}


def _write_catalog(rows: list[dict], fields, n: int, out: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    with open(out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, delimiter=";", quoting=csv.QUOTE_ALL)
        w.writeheader()
        for r in range(n):
            base = dict(rows[order[r % len(rows)]])
            if r >= len(rows):
                d, t, o = (rows[i] for i in rng.integers(0, len(rows), 3))
                base["id"] = f"{base['id']}-g{r}"
                base["slug"] = f"{base.get('slug', '')}-g{r}"
                base["description"] = d.get("description", "")
                base["tags"] = t.get("tags", "")
                for col in ("organization", "organization_id"):
                    base[col] = o.get(col, "")
            w.writerow(base)


# ---- 2. one run ------------------------------------------------------------------------------
class Sampler:
    """Peak resident memory of this process, sampled every 50 ms in a thread."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def reset(self) -> int:
        now = self.proc.memory_info().rss
        self.peak = now
        return now

    def cpu(self) -> float:
        t = self.proc.cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        self._stop.set()


def warm_up(dim: int) -> None:
    """Compile the numba code of pynndescent and UMAP on a few random points, so that the timed
    steps measure the work and not the one-off compilation (a constant, and about a minute)."""
    import umap

    from models.pipeline.neighbours import approximate_knn

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    approximate_knn(x, k=10)
    umap.UMAP(n_components=2, random_state=0, n_epochs=20).fit_transform(x)
    log.info("warm-up (numba compilation) %.1f s", time.perf_counter() - t0)


def run_steps(catalog: str, out_root: Path, *, dim: int = 384, warm: bool = True) -> dict:
    from models.pipeline.neighbours import knn
    from models.pipeline.steps import STEPS, BuildContext
    from models.pipeline.writer import BuildWriter
    from tests.fake_encoders import FakeEncoder

    settings = BuildSettings(catalog=catalog, out=out_root, model=f"fake-{dim}", show_progress=False,
                             exact_neighbours_max=0, cache_dir=None)
    if warm:
        warm_up(dim)
    gc.collect()
    writer = BuildWriter(out_root)
    ctx = BuildContext(settings=settings, writer=writer, encoder=FakeEncoder(dim))
    mib = 1024 * 1024
    sampler = Sampler()
    result: dict = {"steps": {}, "cpu_count": os.cpu_count()}
    try:
        for name, fn in STEPS:
            if name == "embeddings":  # a fresh, empty cache: every passage encoded
                settings.cache_dir = Path(tempfile.mkdtemp(prefix="cache-", dir=out_root))
            start_rss, cpu0, t0 = sampler.reset(), sampler.cpu(), time.perf_counter()
            fn(ctx)
            result["steps"][name] = {"seconds": round(time.perf_counter() - t0, 2),
                                     "cpu_seconds": round(sampler.cpu() - cpu0, 2),
                                     "peak_rss_mib": round(sampler.peak / mib, 1),
                                     "start_rss_mib": round(start_rss / mib, 1)}
            log.info("n=%s %s: %s", len(ctx.df), name, result["steps"][name])
            if name == "neighbours":  # the exact product, for comparison (not written)
                start_rss, cpu0, t0 = sampler.reset(), sampler.cpu(), time.perf_counter()
                knn(ctx.embeddings, k=settings.n_neighbours)
                result["steps"]["neighbours_exact"] = {
                    "seconds": round(time.perf_counter() - t0, 2),
                    "cpu_seconds": round(sampler.cpu() - cpu0, 2),
                    "peak_rss_mib": round(sampler.peak / mib, 1),
                    "start_rss_mib": round(start_rss / mib, 1), "not_in_build": True}
        result["n"] = len(ctx.df)
        result["load_average"] = os.getloadavg()
    finally:
        sampler.stop()
        writer.abort()
    return result


# ---- 3. fit and project -------------------------------------------------------------------------
def fit(runs: list[dict], key: str = "cpu_seconds") -> dict:
    """Per step: exponent p of ``t ∝ n^p`` by least squares on log-log over every size, and the
    exponent between the two largest sizes (what the projection uses: fixed costs weigh less)."""
    runs = sorted(runs, key=lambda r: r["n"])
    out = {}
    steps = list(dict.fromkeys(s for r in runs for s in r["steps"]))
    for step in steps:
        pts = [(r["n"], max(r["steps"][step][key], 1e-3), r["steps"][step].get("peak_rss_mib"))
               for r in runs if step in r["steps"]]
        if len(pts) < 2:
            continue
        ln = np.log([p[0] for p in pts])
        lt = np.log([p[1] for p in pts])
        p_all = float(np.polyfit(ln, lt, 1)[0])
        (n1, t1, _), (n2, t2, _) = pts[-2], pts[-1]
        p_top = math.log(t2 / t1) / math.log(n2 / n1)
        out[step] = {"exponent": round(p_all, 2), "exponent_last_two": round(p_top, 2),
                     "n": [p[0] for p in pts], key: [p[1] for p in pts],
                     "peak_rss_mib": [p[2] for p in pts]}
    return out


def project(fits: dict, runs: list[dict], sizes: list[int], key: str = "cpu_seconds") -> dict:
    """Seconds of each step at each size, from its largest measured size and the larger of the
    two exponents (never below 1: nothing is assumed to grow slower than the rows)."""
    out = {}
    for step, f in fits.items():
        p = max(f["exponent"], f["exponent_last_two"], 1.0)
        n0, t0 = f["n"][-1], f[key][-1]
        out[step] = {"exponent_used": round(p, 2), "from_n": n0,
                     "seconds": {n: round(t0 * (n / n0) ** p, 1) for n in sizes}}
    return out


def wall_time(proj: dict, n: int, workers: int, passages_per_s: float | None) -> float:
    """Projected build time at ``n`` rows on ``workers`` Dask workers: the partitioned steps divide
    by the workers, the others do not; the embedding is the real model's rate × workers."""
    total = 0.0
    for step, p in proj.items():
        if step == "neighbours_exact":
            continue
        t = p["seconds"][n]
        if step == "embeddings" and passages_per_s:
            t = n / passages_per_s  # the real model, not the cheap encoder measured
        total += t / workers if step in PARTITIONED else t
    return total


def fmt_h(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def markdown(runs: list[dict], fits: dict, proj: dict, sizes: list[int], throughput: dict | None,
             key: str) -> str:
    runs = sorted(runs, key=lambda r: r["n"])
    measured = [r["n"] for r in runs]
    head = ("| step | " + " | ".join(f"{r['n']:,} ({r.get('label', 'measured')})" for r in runs) + " | "
            + " | ".join(f"{n:,} (projected)" for n in sizes) + " | exponent (all / last two) |")
    lines = [head, "|" + "---|" * (len(measured) + len(sizes) + 2)]
    for step, f in fits.items():
        cells = []
        for r in runs:
            m = r["steps"].get(step)
            if m is None:
                cells.append("–")
            elif m.get("peak_rss_mib") is None:
                cells.append(f"{m[key]:.1f} s")
            else:
                cells.append(f"{m[key]:.1f} s / {m['peak_rss_mib']:,.0f} MiB")
        cells += [f"{proj[step]['seconds'][n]:,.0f} s" for n in sizes]
        name = step + (" (not in the build)" if step == "neighbours_exact" else "")
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {f['exponent']:.2f} / {f['exponent_last_two']:.2f} |")
    if throughput:
        rate = throughput["passages_per_s"]
        lines += ["", "| catalogue | 1 worker | 4 workers | 16 workers |", "|---|---:|---:|---:|"]
        for n in sizes:
            lines.append(f"| {n:,} | " + " | ".join(fmt_h(wall_time(proj, n, w, rate)) for w in (1, 4, 16))
                         + " |")
    return "\n".join(lines)


# ---- 4. model throughput and neighbour recall ---------------------------------------------------
def throughput(n: int, models_dir: Path, threads: int = 1) -> dict:
    import torch

    from models.core.encoders import load_encoder
    from models.core.text import passage_text
    from models.pipeline.ingest import read_catalog

    torch.set_num_threads(threads)
    df, _ = read_catalog(str(DEFAULT_CATALOG), limit=n)
    passages = [passage_text(t, d) for t, d in zip(df["title"], df["description_text"], strict=True)]
    enc = load_encoder("e5-small-offline", models_dir=models_dir)
    import psutil

    proc = psutil.Process()
    enc.encode(passages[:16], kind="passage")  # warm-up
    cpu0, t0 = sum(proc.cpu_times()[:2]), time.perf_counter()
    enc.encode(passages, kind="passage", batch_size=32)
    dt, cpu = time.perf_counter() - t0, sum(proc.cpu_times()[:2]) - cpu0
    # on a shared machine the wall rate is what this process got; the CPU rate is what one
    # dedicated core (one worker with one thread) would give: the projection uses it
    return {"passages": len(passages), "seconds": round(dt, 1), "cpu_seconds": round(cpu, 1),
            "passages_per_s_wall": round(len(passages) / dt, 1),
            "passages_per_s": round(len(passages) / cpu, 1), "torch_threads": threads,
            "load_average": os.getloadavg()}


def load_cache_vectors(folder: Path, n: int) -> np.ndarray:
    parts, total = [], 0
    for f in sorted(folder.glob("vecs-*.npy")):
        if not (folder / f.name.replace("vecs-", "keys-")).exists():
            continue
        parts.append(np.load(f))
        total += len(parts[-1])
        if total >= n:
            break
    return np.concatenate(parts)[:n]


def recall(vectors: np.ndarray, k: int = 10, seed: int = 42) -> dict:
    from models.pipeline.neighbours import approximate_knn, knn, recall_at_k

    x = np.array(vectors, dtype=np.float32, copy=True)  # a memory-mapped file is read-only
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    t0 = time.perf_counter()
    exact, _ = knn(x, k=k)
    t1 = time.perf_counter()
    approx, _ = approximate_knn(x, k=k, seed=seed)
    t2 = time.perf_counter()
    again, _ = approximate_knn(x, k=k, seed=seed)
    # identical passages have identical vectors: among tied neighbours the exact list keeps an
    # arbitrary 10, so also count a found neighbour as right when it is at least as close as the
    # exact 10th one ("distance recall")
    kth = np.einsum("nd,nd->n", x, x[exact[:, -1]])[:, None]
    found_sims = np.stack([np.einsum("nd,nd->n", x, x[np.maximum(approx[:, j], 0)])
                           for j in range(k)], axis=1)
    found_sims[approx < 0] = -np.inf
    dist_recall = float((found_sims >= kth - 1e-6).mean())
    tied = int((np.einsum("nd,nd->n", x, x[exact[:, -1]]) >= 1 - 1e-6).sum())
    return {"n": len(x), "k": k, "recall_at_k": round(recall_at_k(approx, exact), 4),
            "distance_recall_at_k": round(dist_recall, 4),
            "rows_with_10_identical_neighbours": tied,
            "exact_seconds": round(t1 - t0, 1), "approximate_seconds": round(t2 - t1, 1),
            "reproducible": bool(np.array_equal(approx, again))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("catalog")
    c.add_argument("--n", required=True, help="sizes, separated by commas")
    c.add_argument("--out", required=True, help="file name with {n}, e.g. /tmp/growth/cat-{n}.csv")
    c.add_argument("--source", default=str(DEFAULT_CATALOG))
    r = sub.add_parser("run")
    r.add_argument("--catalog", required=True, nargs="+", help="catalogues, smallest first")
    r.add_argument("--out", required=True, help="JSON file per size, with {n}")
    r.add_argument("--work", required=True, help="scratch folder (artifacts, cleaned after each size)")
    f = sub.add_parser("fit")
    f.add_argument("runs", nargs="+")
    f.add_argument("--sizes", default="70000,250000,1000000,1900000")
    f.add_argument("--throughput", default=None, help="JSON from the throughput sub-command")
    f.add_argument("--key", default="cpu_seconds", choices=["cpu_seconds", "seconds"])
    t = sub.add_parser("throughput")
    t.add_argument("--n", type=int, default=500)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--models-dir", default="artifacts/models")
    t.add_argument("--out", default=None)
    rc = sub.add_parser("recall")
    src = rc.add_mutually_exclusive_group(required=True)
    src.add_argument("--vectors", help="an embeddings.npy")
    src.add_argument("--cache", help="a cache folder of vecs-*.npy shards")
    rc.add_argument("--n", type=int, default=20000)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("gensim", "numba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    if args.cmd == "catalog":
        out = make_catalog([int(x) for x in args.n.split(",")], args.out, Path(args.source))
    elif args.cmd == "run":  # one process for every size: the numba compilation happens once
        warm_up(384)
        out = {}
        for catalog in args.catalog:
            result = run_steps(catalog, Path(args.work) / Path(catalog).stem, warm=False)
            target = Path(args.out.format(n=result["n"]))
            target.write_text(json.dumps(result, indent=1))
            out[result["n"]] = str(target)
    elif args.cmd == "fit":
        runs = [json.loads(Path(x).read_text()) for x in args.runs]
        sizes = [int(s) for s in args.sizes.split(",")]
        fits = fit(runs, args.key)
        proj = project(fits, runs, sizes, args.key)
        tp = json.loads(Path(args.throughput).read_text()) if args.throughput else None
        out = {"fits": fits, "projection": proj, "throughput": tp,
               "wall_time_s": {n: {w: round(wall_time(proj, n, w, tp and tp["passages_per_s"]))
                                   for w in (1, 4, 16)} for n in sizes}}
        print(markdown(runs, fits, proj, sizes, tp, args.key), file=sys.stderr)
    elif args.cmd == "throughput":
        out = throughput(args.n, Path(args.models_dir), args.threads)
        if args.out:
            Path(args.out).write_text(json.dumps(out))
    else:
        x = np.load(args.vectors, mmap_mode="r")[:args.n] if args.vectors else load_cache_vectors(
            Path(args.cache), args.n)
        out = recall(np.asarray(x))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
