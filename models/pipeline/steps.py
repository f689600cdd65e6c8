"""The offline build: catalogue export -> artifacts, step by step, with timings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.pipeline.clusters import build_clusters
from models.pipeline.distributed import (
    frame_chunks,
    open_runner,
    remote_encoder,
    tokens_chunk,
    topic_tokens_chunk,
)
from models.pipeline.embed import embed_passages
from models.pipeline.hierarchy import build_hierarchy
from models.pipeline.ingest import read_catalog
from models.pipeline.keyword_index import build_keyword_index
from models.pipeline.layout import umap_2d
from models.pipeline.lda import build_lda, ensure_topic_tokens
from models.pipeline.neighbours import approximate_knn, knn
from models.pipeline.passages import build_passages
from models.pipeline.producers import build_producers
from models.pipeline.sample import stratified_rows
from models.pipeline.territories import build_territories
from models.pipeline.topic_periods import build_topic_periods
from models.pipeline.word2vec import build_word2vec
from models.pipeline.writer import BuildWriter, package_versions
from models.core.config import BuildSettings
from models.core.encoders import load_encoder
from models.core.store import DESCRIPTIONS_FILE, Descriptions
from models.core.text import passage_text, tokenize_fr

log = logging.getLogger(__name__)


@dataclass
class BuildContext:
    settings: BuildSettings
    writer: BuildWriter
    encoder: object | None = None
    df: pd.DataFrame | None = None  # row i of df is row id i of every artifact
    passages: list[str] | None = None
    embeddings: np.ndarray | None = None
    tokens: list[list[str]] | None = None  # French-cleaned tokens, shared by LDA/word2vec
    topic_tokens: list[list[str]] | None = None  # lemmas without generic words (topics, clusters)
    archived: pd.DataFrame | None = None  # archived rows left out by ingest (producer, metrics)
    label_words: tuple | None = None  # (title+tag lemmas per row, lemma -> written form): labels
    dask: object | None = None  # models.pipeline.distributed.DaskRunner of a --dask build
    manifest: dict = field(default_factory=lambda: {"parameters": {}, "steps": {}})

    def param(self, step: str, **values) -> None:
        self.manifest["parameters"].setdefault(step, {}).update(values)


Step = Callable[[BuildContext], None]


def step_ingest(ctx: BuildContext) -> None:
    s = ctx.settings
    df, report = read_catalog(s.catalog, limit=s.limit, include_archived=s.include_archived)
    if df.empty:
        raise ValueError(f"no dataset kept from {s.catalog}: {report.as_dict()}")
    ctx.archived = report.archived_frame()
    ctx.manifest["catalog"] = report.as_dict()
    if s.sample and s.sample < len(df):
        n_total = len(df)
        df = df.iloc[stratified_rows(df, s.sample, seed=s.seed)].reset_index(drop=True)
        ctx.manifest["partial"] = {"n_rows": len(df), "n_total": n_total,
                                   "method": "stratified: every producer, title/tag clusters"}
    ctx.df = df
    ctx.param("ingest", limit=s.limit, include_archived=s.include_archived, sample=s.sample)
    log.info("ingest: %d rows read, %d kept, %d archived left out, skipped %s",
             report.rows_read, report.rows_kept, report.archived_dropped, dict(report.skipped))
    ctx.writer.save_parquet("datasets.parquet", df)


def step_descriptions(ctx: BuildContext) -> None:
    """``descriptions.arrow``: the descriptions, raw and plain text, and their lengths, in a file
    the app memory-maps instead of holding them (~104 MiB on the full catalogue)."""
    df = ctx.df
    empty = [None] * len(df)
    table = Descriptions.table(df["description"].tolist() if "description" in df else empty,
                               df["description_text"].tolist() if "description_text" in df else empty)
    ctx.writer.save_arrow(DESCRIPTIONS_FILE, table)
    log.info("descriptions: %d rows, %.0f MiB on disk", len(df), table.nbytes / 2**20)


def step_tokens(ctx: BuildContext) -> None:
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    texts = (ctx.df["title"] + " " + ctx.df["title"] + " " + ctx.df["description_text"]
             + " " + ctx.df["tags"].map(" ".join))
    if ctx.dask is not None:
        ctx.tokens = ctx.dask.map_concat(tokens_chunk, texts.tolist())
        return
    ctx.tokens = [tokenize_fr(t) for t in tqdm(texts, desc="texte FR", unit="doc",
                                                disable=not ctx.settings.show_progress,
                                                mininterval=2.0)]


def step_embed(ctx: BuildContext) -> None:
    s = ctx.settings
    remote = None
    if ctx.dask is not None:
        ctx.encoder, remote = remote_encoder(ctx.dask, ctx.encoder, s)
    elif ctx.encoder is None:
        ctx.encoder = load_encoder(s.model, models_dir=s.model_folder,
                                   max_seq_length=s.max_seq_length)
    enc = ctx.encoder
    ctx.passages = [passage_text(t, d)
                    for t, d in zip(ctx.df["title"], ctx.df["description_text"], strict=True)]
    n_todo_hint = len(ctx.passages)
    log.info("embedding %d passages with %s (%s; about 35 passages/s on 2 CPU cores with the ONNX "
             "engine when nothing is cached; cached passages are reused)", n_todo_hint, enc.model_id,
             getattr(enc, "engine", type(enc).__name__))
    vecs, stats = embed_passages(ctx.passages, enc, s.embedding_cache, batch_size=s.batch_size,
                                 show_progress=s.show_progress, runner=ctx.dask, remote=remote)
    ctx.embeddings = vecs
    ctx.manifest["model"] = {"id": enc.model_id, "name": s.model, "dim": int(enc.dim),
                             "max_seq_length": s.max_seq_length,
                             "prefixes": getattr(enc, "prefixes", False),
                             "engine": getattr(enc, "engine", type(enc).__name__)}
    ctx.manifest["embedding_stats"] = stats
    ctx.writer.save_npy("embeddings.npy", vecs.astype(np.float32))


def step_passages(ctx: BuildContext) -> None:
    build_passages(ctx)


def step_neighbours(ctx: BuildContext) -> None:
    k = ctx.settings.n_neighbours
    exact_max = getattr(ctx.settings, "exact_neighbours_max", None)
    if exact_max is not None and len(ctx.embeddings) > exact_max:
        idx, scores = approximate_knn(ctx.embeddings, k=k, seed=ctx.settings.seed)
        ctx.param("neighbours", k=k, metric="cosine", method="pynndescent", exact_max=exact_max)
    else:
        idx, scores = knn(ctx.embeddings, k=k, show_progress=ctx.settings.show_progress)
        ctx.param("neighbours", k=k, metric="cosine", method="exact")
    ctx.writer.save_npy("neighbours.npy", idx)
    ctx.writer.save_npy("neighbour_scores.npy", scores)


def step_umap(ctx: BuildContext) -> None:
    s = ctx.settings
    coords, params = umap_2d(ctx.embeddings, n_neighbors=s.map_neighbours,
                             min_dist=s.umap_min_dist, seed=s.seed)
    ctx.param("umap", **params)
    ctx.writer.save_npy("umap.npy", coords)


def step_lda(ctx: BuildContext) -> None:
    build_lda(ctx)


def step_topic_tokens(ctx: BuildContext) -> None:
    if ctx.dask is not None and ctx.topic_tokens is None:
        chunks = frame_chunks(ctx.dask, ctx.df, ["title", "description_text", "tags"])
        ctx.topic_tokens = [t for part in ctx.dask.map(topic_tokens_chunk, chunks) for t in part]
    ensure_topic_tokens(ctx)
    ctx.param("topic_tokens", lemmatizer="simplemma (fr)", tags="slug words",
              stop_words="TOPIC_STOP_WORDS")


def step_clusters(ctx: BuildContext) -> None:
    build_clusters(ctx)


def step_hierarchy(ctx: BuildContext) -> None:
    build_hierarchy(ctx)


def step_topic_periods(ctx: BuildContext) -> None:
    build_topic_periods(ctx)


def step_producers(ctx: BuildContext) -> None:
    build_producers(ctx)


def step_keyword(ctx: BuildContext) -> None:
    build_keyword_index(ctx)


def step_word2vec(ctx: BuildContext) -> None:
    build_word2vec(ctx)


def step_territories(ctx: BuildContext) -> None:
    build_territories(ctx)


STEPS: list[tuple[str, Step]] = [
    ("ingest", step_ingest),
    ("descriptions", step_descriptions),
    ("embeddings", step_embed),
    ("passages", step_passages),
    ("neighbours", step_neighbours),
    ("umap", step_umap),
    ("french_tokens", step_tokens),
    ("topic_tokens", step_topic_tokens),
    ("lda", step_lda),
    ("clusters", step_clusters),
    ("hierarchy", step_hierarchy),
    ("topic_periods", step_topic_periods),
    ("keyword_index", step_keyword),
    ("word2vec", step_word2vec),
    ("producers", step_producers),
    ("territories", step_territories),
]


# Publish early, complete later: these steps make a usable build (map, keyword / semantic / hybrid
# / word search, similar datasets, cards, producers, territories); the others (passages, topics,
# clusters, map regions, topic periods: ~17 min of the 74 of a torch build of the catalogue)
# land on it as a second, complete build. Nothing of the early steps reads the later ones.
EARLY_STEPS = ("ingest", "descriptions", "embeddings", "neighbours", "umap", "french_tokens",
               "keyword_index", "word2vec", "producers", "territories")
EARLY_MIN_ROWS = 20_000  # publish early by default from this size (the whole export: 70,575)


def ordered_steps(steps=None) -> list[tuple[str, Step]]:
    """The steps in the order they run: :data:`EARLY_STEPS` first (each list keeps
    :data:`STEPS`'s order)."""
    steps = list(steps or STEPS)
    return ([s for s in steps if s[0] in EARLY_STEPS] + [s for s in steps if s[0] not in EARLY_STEPS])


def publishes_early(settings: BuildSettings, n_rows: int) -> bool:
    flag = getattr(settings, "publish_early", None)
    return bool(flag) if flag is not None else n_rows >= EARLY_MIN_ROWS


def settings_record(settings: BuildSettings) -> dict:
    """The build settings as the manifest records them (paths as strings)."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(settings).items()}


def estimate_full_build(manifest: dict) -> float | None:
    """Seconds a build of the whole catalogue should take, from a sample build's own timings:
    the passages not encoded yet at the sample's rate (``embedding_stats``, cached ones are
    free), the other steps scaled by n·log n."""
    partial, steps = manifest.get("partial") or {}, manifest.get("steps", {})
    n, total = partial.get("n_rows"), partial.get("n_total")
    if not n or not total or not steps:
        return None
    stats = manifest.get("embedding_stats", {})
    rate = stats.get("passages_per_s")
    embed = (total - n) / rate if rate else 0.0
    scale = total * np.log(total) / (n * np.log(max(n, 2)))
    # a sample built with fewer LDA models than the whole build will make
    ks = manifest.get("parameters", {}).get("lda", {}).get("ks") or []
    lda_factor = max(1.0, len(BuildSettings().lda_ks) / len(ks)) if ks else 1.0
    others = sum(v * (lda_factor if k == "lda" else 1.0) for k, v in steps.items()
                 if k != "embeddings") * scale
    return round(float(embed + others), 1)


def _finish_manifest(ctx: BuildContext, t_all: float) -> None:
    ctx.manifest.update({
        "n_datasets": len(ctx.df),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": package_versions(),
        "total_seconds": round(time.perf_counter() - t_all, 2),
    })
    if "partial" in ctx.manifest:
        ctx.manifest["partial"]["full_build_seconds"] = estimate_full_build(ctx.manifest)
    ctx.manifest["parameters"]["build"] = settings_record(ctx.settings)


def run_build(settings: BuildSettings, *, encoder=None, steps=None) -> Path:
    """Run every step, then publish the build atomically. Returns the build folder.

    A large build (:func:`publishes_early`) is published twice: once :data:`EARLY_STEPS` are
    done (its manifest's ``pending`` lists the steps still coming; the app serves it and says
    so), then complete. Killed in between, ``current`` stays the early build; ``python -m models
    build --from DIR/current --steps pending`` completes it."""
    t_all = time.perf_counter()
    writer = BuildWriter(settings.out)
    ctx = BuildContext(settings=settings, writer=writer, encoder=encoder)
    order = ordered_steps(steps)
    last_early = max((i for i, (name, _) in enumerate(order) if name in EARLY_STEPS), default=-1)
    try:
        ctx.dask = open_runner(settings)  # None without --dask; DaskError if unreachable
        for i, (name, fn) in enumerate(order):
            t0 = time.perf_counter()
            log.info("step %s ...", name)
            writer.step = name  # the files it writes are recorded under its name (re-runs)
            fn(ctx)
            dt = time.perf_counter() - t0
            ctx.manifest["steps"][name] = round(dt, 2)
            log.info("step %s done in %.1f s", name, dt)
            pending = [n for n, _ in order[i + 1:]]
            if i == last_early and pending and publishes_early(settings, len(ctx.df)):
                _finish_manifest(ctx, t_all)
                early = writer.publish_and_continue({**ctx.manifest, "pending": {"steps": pending}})
                ctx.manifest["published_early"] = {"build_id": early.name,
                                                   "seconds": round(time.perf_counter() - t_all, 2)}
                writer.step = None
                log.info("searchable build published early: %s (%d datasets, %.1f s); still to "
                         "come: %s", early, len(ctx.df), time.perf_counter() - t_all, ", ".join(pending))
        _finish_manifest(ctx, t_all)
        final = writer.publish(ctx.manifest)
    except BaseException:
        writer.abort()
        raise
    finally:
        if ctx.dask is not None:
            ctx.dask.close()
    log.info("build published: %s (%d datasets, %.1f s)", final, len(ctx.df),
             time.perf_counter() - t_all)
    return final
