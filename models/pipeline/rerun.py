"""Re-run named steps of a previous build, reusing every other file:
``python -m models build --from DIR/current --steps topics,clusters [--set lda.ks=10,20,30]``.

The new build starts from the previous one's settings (``manifest.parameters.build``) with the
``--set`` overrides, runs the named steps and every step that reads what they produce (each step
declares its ``needs`` and ``provides`` in ``models.pipeline.steps.STEPS``: re-embedding re-runs
the neighbours, the map, the clusters and the producers' centroids), and hard-links (or copies)
the files of every other step from the previous build. It is written and published like any
build (``BuildWriter``: atomic, a killed run leaves ``current`` as it was); its manifest's
``reused`` section records the build it came from, the steps run and reused and every file reused.

The state a re-run step reads is restored from the previous build's files (``datasets.parquet``,
``embeddings.npy``) or recomputed when no file holds it (French tokens, topic tokens: a few
seconds); the archived rows the producers step counts are read again from the export and
checked against the build's rows.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.core.config import BuildSettings
from models.core.store import read_manifest, resolve_build_dir
from models.pipeline.ingest import read_catalog
from models.pipeline.sample import stratified_rows
from models.pipeline.steps import STEP_BY_NAME, STEPS, BuildContext, settings_record
from models.pipeline.writer import BuildWriter, package_versions

log = logging.getLogger(__name__)

# every step's files, reads and writes are declared once, in models.pipeline.steps.STEPS
ALIASES = {alias: step.name for step in STEPS for alias in step.aliases}
_UNKNOWN_NEEDS = frozenset({"df", "embeddings", "tokens", "topic_tokens"})  # a step not declared


def resolve_steps(names: list[str], step_names: list[str]) -> list[str]:
    out = []
    for raw in names:
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if not name:
            continue
        if name not in step_names:
            raise ValueError(f"unknown step {raw!r}; steps: {', '.join(step_names)} "
                             f"(aliases: {', '.join(sorted(ALIASES))})")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("--steps names no step")
    return out


def plan(requested: list[str], step_names: list[str]) -> list[str]:
    """The requested steps and every later step that reads what a re-run step provides. A step
    :data:`~models.pipeline.steps.STEPS` does not declare is always re-run."""
    run = set(requested)
    changed: set[str] = set()
    for name in step_names:  # STEPS order: producers before consumers
        step = STEP_BY_NAME.get(name)
        if name not in run and (step is None or step.needs & changed):
            run.add(name)
        if name in run:
            changed |= step.provides if step is not None else _UNKNOWN_NEEDS
    return [s for s in step_names if s in run]


def parse_overrides(items: list[str] | None) -> dict:
    """``["lda.ks=10,20,30", "seed=1"]`` -> BuildSettings fields (``lda.k=10,20`` is read as
    the list of Ks built, ``lda.k=20`` as the forced default K)."""
    fields = {f.name: f for f in dataclasses.fields(BuildSettings)}
    out: dict = {}
    for item in items or []:
        for part in _split_sets(item):
            key, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"--set expects name=value, got {part!r}")
            name = key.strip().replace(".", "_").replace("-", "_")
            value = value.strip()
            if name == "lda_k" and "," in value:
                name = "lda_ks"
            if name not in fields or name in ("out", "show_progress"):
                raise ValueError(f"unknown setting {key!r}; settings: "
                                 + ", ".join(n.replace("_", ".", 1) for n in fields if n != "out"))
            out[name] = _convert(name, value, getattr(BuildSettings(), name))
    return out


def _split_sets(item: str) -> list[str]:
    """``a=1,2,b=3`` -> ``["a=1,2", "b=3"]`` (a comma followed by ``name=`` starts a new one)."""
    parts: list[str] = []
    for piece in item.split(","):
        if "=" in piece or not parts:
            parts.append(piece)
        else:
            parts[-1] += "," + piece
    return [p for p in parts if p.strip()]


def _convert(name: str, value: str, default):
    try:
        if value.lower() in ("none", "null", ""):
            return None
        if isinstance(default, bool):
            return value.lower() in ("1", "true", "yes", "oui")
        if isinstance(default, tuple):
            return tuple(int(v) for v in value.split(",") if v.strip())
        if isinstance(default, int) or name in ("lda_k", "cluster_min_size", "limit"):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        raise ValueError(f"--set {name}: {value!r} is not a valid value") from None
    return value


def settings_from_manifest(manifest: dict, root: Path, overrides: dict) -> BuildSettings:
    """The previous build's settings (as recorded), written to ``root``, with ``overrides``."""
    recorded = manifest.get("parameters", {}).get("build", {})
    defaults = BuildSettings()
    values = {}
    for f in dataclasses.fields(BuildSettings):
        if f.name not in recorded or f.name in ("out", "show_progress", "dask"):  # re-runs are local
            continue
        raw, default = recorded[f.name], getattr(defaults, f.name)
        if raw is None or isinstance(raw, bool):
            values[f.name] = raw
        elif isinstance(default, tuple) or isinstance(raw, list):
            values[f.name] = tuple(raw)
        elif f.name in ("cache_dir", "models_dir"):
            values[f.name] = Path(raw)
        else:
            values[f.name] = raw
    values.update(overrides)
    return BuildSettings(out=root, **values)


def _step_files(manifest: dict, files: list[str], step: str) -> list[str]:
    """The files ``step`` wrote: recorded in the manifest (``step_files``) by newer builds,
    else matched by the step's declared ``files``."""
    recorded = manifest.get("step_files")
    if isinstance(recorded, dict):
        return [f for f in recorded.get(step, []) if f in files]
    pats = STEP_BY_NAME[step].files if step in STEP_BY_NAME else ()
    return [f for f in files if any(fnmatch.fnmatch(f, p) for p in pats)]


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def _archived_rows(settings: BuildSettings, df: pd.DataFrame) -> pd.DataFrame:
    """The archived rows of the export the build came from (the producers step counts them);
    the export must still give the build's rows, else the step cannot be re-run alone."""
    again, report = read_catalog(settings.catalog, limit=settings.limit,
                                 include_archived=settings.include_archived)
    if settings.sample and settings.sample < len(again):  # a sample build: the same sample again
        again = again.iloc[stratified_rows(again, settings.sample, seed=settings.seed)]
    if len(again) != len(df) or not np.array_equal(again["id"].to_numpy(), df["id"].to_numpy()):
        raise ValueError(f"the export {settings.catalog} no longer gives this build's datasets: "
                         "re-run from the ingest step (--steps ingest)")
    return report.archived_frame()


def rerun_build(from_dir: str | Path, steps: list[str], *, overrides: dict | None = None,
                out: str | Path | None = None, show_progress: bool = True, encoder=None,
                step_list=None) -> Path:
    """Re-run ``steps`` of the build ``from_dir`` (a build folder or an artifacts root), reuse
    the rest, publish the new build under ``out`` (default: the previous build's root)."""
    step_list = step_list or STEPS
    names = [n for n, _ in step_list]
    old = resolve_build_dir(from_dir).resolve()
    manifest_old = read_manifest(old)
    root = Path(out) if out else old.parent.parent
    if "pending" in steps:  # what an early-published build still lacks (its manifest says)
        pending = list((manifest_old.get("pending") or {}).get("steps") or [])
        if not pending:
            raise ValueError(f"{old} has no pending steps: it is complete")
        steps = [s for s in steps if s != "pending"] + pending
    if not out and old.parent.name != "builds":
        raise ValueError(f"{old} is not inside an artifacts root's builds/ folder: give --out")
    requested = resolve_steps(steps, names)
    to_run = plan(requested, names)
    added = [s for s in to_run if s not in requested]
    if added:
        log.info("re-running %s too: they read what %s produce", ", ".join(added), ", ".join(requested))
    settings = settings_from_manifest(manifest_old, root, overrides or {})
    settings.show_progress = show_progress
    old_files = sorted(manifest_old.get("files", {}))
    unknown = [f for f in old_files if not any(_step_files(manifest_old, [f], s) for s in names)]
    if unknown:
        raise ValueError(f"files of {old} belong to no known step ({', '.join(unknown[:5])}): "
                         "rebuild from scratch")

    t_all = time.perf_counter()
    writer = BuildWriter(root)
    ctx = BuildContext(settings=settings, writer=writer, encoder=encoder)
    ctx.manifest["parameters"] = {}
    reused_files: list[str] = []
    reused_steps: list[str] = []
    recomputed: list[str] = []
    try:
        for name, fn in step_list:
            writer.step = name
            if name in to_run:
                declared = STEP_BY_NAME.get(name)
                needs = declared.needs if declared is not None else _UNKNOWN_NEEDS
                recomputed += _restore_state(ctx, old, needs, step_list)
                writer.step = name
                t0 = time.perf_counter()
                log.info("step %s ...", name)
                fn(ctx)
                dt = time.perf_counter() - t0
                ctx.manifest["steps"][name] = round(dt, 2)
                log.info("step %s done in %.1f s", name, dt)
                continue
            files = _step_files(manifest_old, old_files, name)
            for f in files:
                _link_or_copy(old / f, writer.path(f))
            reused_files += files
            declared = STEP_BY_NAME.get(name)
            if files or (declared is not None and declared.files):
                reused_steps.append(name)
            if name in manifest_old.get("steps", {}):
                ctx.manifest["steps"][name] = manifest_old["steps"][name]
            for key in declared.manifest_keys if declared is not None else ():
                if key in manifest_old:
                    ctx.manifest[key] = manifest_old[key]
            for key in (declared.param_keys if declared is not None and declared.param_keys
                        else (name,)):
                if key in manifest_old.get("parameters", {}):
                    ctx.manifest["parameters"][key] = manifest_old["parameters"][key]
        if ctx.df is None:
            _restore_state(ctx, old, {"df"}, step_list)
        ctx.manifest.update({
            "n_datasets": len(ctx.df),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": package_versions(),
            "total_seconds": round(time.perf_counter() - t_all, 2),
            "reused": {"from_build": manifest_old.get("build_id", old.name), "from_dir": str(old),
                       "steps_run": to_run, "steps_requested": requested,
                       "steps_reused": reused_steps, "files": reused_files,
                       "recomputed_for_state": recomputed,
                       "overrides": {k: (list(v) if isinstance(v, tuple) else v)
                                     for k, v in (overrides or {}).items()}},
        })
        ctx.manifest["parameters"]["build"] = settings_record(settings)
        final = writer.publish(ctx.manifest)
    except BaseException:
        writer.abort()
        raise
    log.info("build published: %s (steps run: %s; %d files reused from %s; %.1f s)", final,
             ", ".join(to_run), len(reused_files), old.name, time.perf_counter() - t_all)
    return final


def _restore_state(ctx, old: Path, needs: set[str], step_list) -> list[str]:
    """Put in ``ctx`` what a step reads, from the previous build's files or recomputed; returns
    the steps run for that (they write no file)."""
    steps = dict(step_list)
    ran = []
    if needs & {"df", "tokens", "topic_tokens", "archived"} and ctx.df is None:
        ctx.df = pd.read_parquet(old / "datasets.parquet")
    if "embeddings" in needs and ctx.embeddings is None:
        ctx.embeddings = np.load(old / "embeddings.npy", allow_pickle=False).astype(np.float32)
    for state, step in (("tokens", "french_tokens"), ("topic_tokens", "topic_tokens")):
        if state in needs and getattr(ctx, state) is None and step in steps:
            ctx.writer.step = step
            steps[step](ctx)
            ran.append(step)
    if "archived" in needs and ctx.archived is None:
        ctx.archived = _archived_rows(ctx.settings, ctx.df)
    return ran
