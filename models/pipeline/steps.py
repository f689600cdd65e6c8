"""The offline build: catalogue export -> artifacts, step by step, with timings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.core import serving
from models.core.config import BuildSettings
from models.core.encoders import cache_id, load_encoder
from models.core.families import FAMILY_KEYS_FILE, FAMILY_KEYS_VERSION, dataset_family_keys
from models.core.freshness import DESCRIPTION_HEAD
from models.core.geo import Lexicon, use_lexicon
from models.core.spelling_words import vocabulary
from models.core.store import DESCRIPTIONS_FILE, ROWS_FILE, Descriptions, open_rows, rows_table
from models.core.territory_entities import gazetteer_from_entities, gazetteer_tables
from models.core.text import passage_text, tokenize_fr
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
from models.pipeline.layout import WARM_UP_ROWS, umap_2d, warm_up
from models.pipeline.lda import build_lda, ensure_topic_tokens
from models.pipeline.neighbours import approximate_knn, knn
from models.pipeline.passages import build_passages
from models.pipeline.producers import build_producers
from models.pipeline.sample import stratified_rows
from models.pipeline.territories import build_territories
from models.pipeline.topic_periods import build_topic_periods
from models.pipeline.word2vec import build_word2vec
from models.pipeline.writer import BuildWriter, package_versions

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
    umap_warm_up: object | None = None  # the thread compiling UMAP (models.pipeline.layout.warm_up)
    manifest: dict = field(default_factory=lambda: {"parameters": {}, "steps": {}})

    def param(self, step: str, **values) -> None:
        self.manifest["parameters"].setdefault(step, {}).update(values)


Step = Callable[[BuildContext], None]


def _ingest(ctx: BuildContext) -> None:
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


def _descriptions(ctx: BuildContext) -> None:
    """What the app memory-maps instead of holding it: ``descriptions.arrow`` (the descriptions,
    raw and plain text, and their lengths: ~104 MiB on the full catalogue) and ``datasets.arrow``
    (the other columns of ``datasets.parquet``: ~70 MiB)."""
    df = ctx.df
    empty = [None] * len(df)
    table = Descriptions.table(df["description"].tolist() if "description" in df else empty,
                               df["description_text"].tolist() if "description_text" in df else empty)
    ctx.writer.save_arrow(DESCRIPTIONS_FILE, table)
    rows = rows_table(df)
    ctx.writer.save_arrow(ROWS_FILE, rows)
    log.info("descriptions: %d rows, %.0f MiB on disk (the other columns: %.0f MiB)", len(df),
             table.nbytes / 2**20, rows.nbytes / 2**20)


def _families(ctx: BuildContext) -> None:
    """``family_keys.npy``: each row's family key (:func:`models.core.families.dataset_family_keys`,
    from the titles, producers and the place names the ``territories`` step found in titles),
    read by the app instead of computing them at each start (~1 s on the full catalogue)."""
    t0 = time.perf_counter()
    path = ctx.writer.dir / "territories.parquet"  # read, not written: not the step's file
    places = pd.read_parquet(path, columns=["row", "name", "source"]) if path.exists() else None
    keys = dataset_family_keys(ctx.df, places)
    ctx.writer.save_npy(FAMILY_KEYS_FILE, keys)
    ctx.param("families", version=FAMILY_KEYS_VERSION)
    log.info("families: %d keys for %d rows (%.1f s)", len(np.unique(keys)), len(keys),
             time.perf_counter() - t0)


def _serving(ctx: BuildContext) -> None:
    """What the app would otherwise compute at each start (:mod:`models.core.serving`): the
    quality and freshness of every dataset, the spelling correction's vocabulary and the
    gazetteer's tables — from the files the app reads (the row table, the descriptions, the places
    and territories of ``territories``, its lexicon)."""
    t0 = time.perf_counter()
    d = ctx.writer.dir
    n = len(ctx.df)
    if (d / ROWS_FILE).exists():
        frame = open_rows(d / ROWS_FILE)
        desc = Descriptions.open(d / DESCRIPTIONS_FILE, n)
        chars, heads = desc.text_chars(), desc.text_heads(DESCRIPTION_HEAD)
    else:  # a build without the descriptions step's files: the app reads datasets.parquet
        frame = ctx.df
        chars = heads = None
    places = pd.read_parquet(d / "territories.parquet", columns=["row"]) \
        if (d / "territories.parquet").exists() else None
    manifest = ctx.manifest
    tags = frame["tags"].tolist() if "tags" in frame else [None] * n
    tables = {
        "quality": serving.quality_table(frame, as_of=serving.export_date(manifest, frame), places=places,
                                         description_chars=chars),
        "freshness": serving.freshness_table(frame, as_of=serving.naive_export_date(manifest, frame),
                                             heads=heads),
        "spelling": vocabulary(frame["title"].fillna("").astype(str).tolist(), tags),
    }
    if (d / "territory_entities.parquet").exists():  # the gazetteer the app would build from it
        if (d / "territory_lexicon.npy").exists():  # the lexicon the app installs first
            use_lexicon(Lexicon(np.load(d / "territory_lexicon.npy", allow_pickle=False)))
        gaz = gazetteer_from_entities(pd.read_parquet(d / "territory_entities.parquet"))
        tables["gazetteer_entities"], tables["gazetteer_aliases"] = gazetteer_tables(gaz)
        tables["declared"] = serving.declared_table(gaz, frame)
    for name, table in tables.items():
        ctx.writer.save_parquet(serving.FILES[name], table)
    # the columns each file holds: the app reads a file only with these (a damaged one is recomputed)
    ctx.param("serving", version=serving.code_version(),
              columns={k: [str(c) for c in t.columns] for k, t in tables.items()})
    log.info("serving: quality, freshness of %d datasets, %d spelling words (%.1f s)", n,
             len(tables["spelling"]), time.perf_counter() - t0)


def _french_tokens(ctx: BuildContext) -> None:
    from tqdm.auto import tqdm  # lazy: progress bars, pipeline only

    texts = (ctx.df["title"] + " " + ctx.df["title"] + " " + ctx.df["description_text"]
             + " " + ctx.df["tags"].map(" ".join))
    if ctx.dask is not None:
        ctx.tokens = ctx.dask.map_concat(tokens_chunk, texts.tolist())
        return
    ctx.tokens = [tokenize_fr(t) for t in tqdm(texts, desc="texte FR", unit="doc",
                                                disable=not ctx.settings.show_progress,
                                                mininterval=2.0)]


def _embeddings(ctx: BuildContext) -> None:
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
                             "engine": getattr(enc, "engine", type(enc).__name__),
                             "cache_id": cache_id(enc)}
    ctx.manifest["embedding_stats"] = stats
    ctx.writer.save_npy("embeddings.npy", vecs.astype(np.float32))



def _neighbours(ctx: BuildContext) -> None:
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


def _umap(ctx: BuildContext) -> None:
    s = ctx.settings
    if ctx.umap_warm_up is not None:  # compiled in the background since the build began
        ctx.umap_warm_up.join()
    coords, params = umap_2d(ctx.embeddings, n_neighbors=s.map_neighbours,
                             min_dist=s.umap_min_dist, seed=s.seed)
    ctx.param("umap", **params)
    ctx.writer.save_npy("umap.npy", coords)



def _topic_tokens(ctx: BuildContext) -> None:
    if ctx.dask is not None and ctx.topic_tokens is None:
        chunks = frame_chunks(ctx.dask, ctx.df, ["title", "description_text", "tags"])
        ctx.topic_tokens = [t for part in ctx.dask.map(topic_tokens_chunk, chunks) for t in part]
    ensure_topic_tokens(ctx)
    ctx.param("topic_tokens", lemmatizer="simplemma (fr)", tags="slug words",
              stop_words="TOPIC_STOP_WORDS")









@dataclass(frozen=True)
class PipelineStep:
    """One step of the build, declared once: what it runs, the files it writes, what it reads
    from the :class:`BuildContext` and what it puts there (a re-run of a step re-runs every later
    step reading what it provides: :mod:`models.pipeline.rerun`).

    Reads as the pair ``(name, run)``: ``for name, run in STEPS``, ``step[0]``, ``dict(STEPS)``.

    Examples:
        >>> step = STEP_BY_NAME["clusters"]
        >>> step.files, sorted(step.needs)
        (('clusters.npy', 'clusters.parquet'), ['embeddings', 'topic_tokens'])
        >>> name, run = step
        >>> name, run.__name__
        ('clusters', 'build_clusters')
    """

    name: str
    run: Step
    files: tuple[str, ...] = ()  # patterns, relative to the build folder
    needs: frozenset[str] = frozenset()  # BuildContext fields it reads
    provides: frozenset[str] = frozenset()  # BuildContext fields it sets for later steps
    manifest_keys: tuple[str, ...] = ()  # manifest sections it writes besides parameters/steps
    param_keys: tuple[str, ...] | None = None  # its parameters[...] sections (default: its name)
    aliases: tuple[str, ...] = ()  # other names ``--steps`` accepts
    # Publish early, complete later: the early steps make a usable build (map, keyword / semantic /
    # hybrid / word search, similar datasets, cards, producers, territories); the others (passages,
    # topics, clusters, map regions, topic periods: ~17 min of the 74 of a torch build of the
    # catalogue) land on it as a second, complete build. No early step reads a later one.
    early: bool = False

    def __iter__(self):
        return iter((self.name, self.run))

    def __getitem__(self, i):
        return (self.name, self.run)[i]

    def __len__(self) -> int:
        return 2


def _step(name, run, *, files=(), needs=(), provides=(), **kw) -> PipelineStep:
    return PipelineStep(name, run, tuple(files), frozenset(needs), frozenset(provides), **kw)


STEPS: list[PipelineStep] = [
    _step("ingest", _ingest, files=("datasets.parquet",), provides={"df", "archived"},
          manifest_keys=("catalog",), early=True),
    _step("descriptions", _descriptions, files=(DESCRIPTIONS_FILE, ROWS_FILE), needs={"df"}, early=True),
    _step("embeddings", _embeddings, files=("embeddings.npy",), needs={"df"},
          provides={"embeddings"}, manifest_keys=("model", "embedding_stats"),
          param_keys=("embeddings",), aliases=("embed",), early=True),
    _step("passages", build_passages, files=("passage*",), needs={"df", "embeddings"}),
    _step("neighbours", _neighbours, files=("neighbours.npy", "neighbour_scores.npy"),
          needs={"embeddings"}, early=True),
    _step("umap", _umap, files=("umap.npy",), needs={"embeddings"}, provides={"map"},
          aliases=("map",), early=True),
    _step("french_tokens", _french_tokens, needs={"df"}, provides={"tokens"}, aliases=("tokens",),
          early=True),
    _step("topic_tokens", _topic_tokens, needs={"df"}, provides={"topic_tokens"}),
    _step("lda", build_lda, files=("lda/*", "lda_*"), needs={"df", "topic_tokens"},
          provides={"topics"}, manifest_keys=("topics",), aliases=("topics",)),
    _step("clusters", build_clusters, files=("clusters.npy", "clusters.parquet"),
          needs={"embeddings", "topic_tokens"}),
    # the map's regions: umap.npy (re-run with the embeddings), the lemmas, the titles
    _step("hierarchy", build_hierarchy, files=("hierarchy.parquet", "hierarchy_rows.npy"),
          needs={"df", "embeddings", "topic_tokens", "map"}),
    # each topic's words per period: the LDA models (re-run with lda), the lemmas, the years
    _step("topic_periods", build_topic_periods, files=("topic_periods.parquet",),
          needs={"df", "topic_tokens", "topics"}),
    _step("keyword_index", build_keyword_index, files=("keyword_*",), needs={"df"},
          param_keys=("keyword", "keyword_index"), aliases=("keyword", "bm25"), early=True),
    _step("word2vec", build_word2vec, files=("word_*",), needs={"tokens"}, early=True),
    _step("producers", build_producers, files=("producer*",), needs={"df", "archived", "embeddings"},
          early=True),
    _step("territories", build_territories, files=("territor*", "geo_*"), needs={"df"},
          provides={"places"}, early=True),
    _step("families", _families, files=(FAMILY_KEYS_FILE,), needs={"df", "places"},
          param_keys=("families",), early=True),
    # after producers (the export date) and territories (the places): read by the app at start
    _step("serving", _serving, files=tuple(serving.FILES.values()), needs={"df"},
          param_keys=("serving",), early=True),
]
STEP_BY_NAME: dict[str, PipelineStep] = {s.name: s for s in STEPS}
EARLY_STEPS = tuple(s.name for s in STEPS if s.early)
EARLY_MIN_ROWS = 20_000  # publish early by default from this size (the whole export: 70,575)
WARM_UP_BYTES = 16 * 2**20  # the export: 36 MB compressed; sample-3000.csv (3,021 datasets): 5.6 MB


def ordered_steps(steps=None) -> list[tuple[str, Step]]:
    """The steps in the order they run: :data:`EARLY_STEPS` first (each list keeps
    :data:`STEPS`'s order)."""
    steps = list(steps or STEPS)
    return ([s for s in steps if s[0] in EARLY_STEPS] + [s for s in steps if s[0] not in EARLY_STEPS])


def expects_umap(settings: BuildSettings) -> bool:
    """Whether the map step will run UMAP's approximate path (compiled in the background from
    the start, :func:`models.pipeline.layout.warm_up`): not for a build limited to fewer rows,
    nor for a local catalogue file of less than :data:`WARM_UP_BYTES` (a few thousand datasets).

    >>> expects_umap(BuildSettings(limit=200)), expects_umap(BuildSettings(sample=5000))
    (False, True)
    """
    rows = [v for v in (settings.limit, settings.sample) if v]
    if rows:
        return min(rows) >= WARM_UP_ROWS
    path = Path(str(settings.catalog))
    return not path.is_file() or path.stat().st_size >= WARM_UP_BYTES


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
        if any(name == "umap" for name, _ in order) and expects_umap(settings):
            ctx.umap_warm_up = warm_up(n_neighbors=settings.map_neighbours, min_dist=settings.umap_min_dist)
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
