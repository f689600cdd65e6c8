"""BuildWriter: writes one build into ``builds/.tmp-*`` and publishes it atomically."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.core.store import MANIFEST, SCHEMA_VERSION, sha256_file

log = logging.getLogger(__name__)

KEEP_BUILDS = 3


def package_versions(names=("numpy", "pandas", "pyarrow", "scikit-learn", "umap-learn",
                            "gensim", "sentence-transformers", "torch", "transformers")) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def new_build_id() -> str:
    """Sortable and unique: the time to the microsecond, then the process id (which
    ``_remove_dead_builds`` reads back)."""
    from datetime import datetime

    return f"{datetime.now():%Y%m%dT%H%M%S.%f}-{os.getpid()}"


class BuildWriter:
    """Collects a build's files in a temporary folder, then publishes it atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.builds = self.root / "builds"
        self.builds.mkdir(parents=True, exist_ok=True)
        self.build_id = new_build_id()
        self._remove_dead_builds()
        self.dir = self.builds / f".tmp-{self.build_id}"
        self.dir.mkdir()
        self.files: list[str] = []
        self.step: str | None = None  # the step writing now (set by the pipeline)
        self.step_files: dict[str, list[str]] = {}  # step -> files it wrote (re-runnable steps)

    def path(self, name: str) -> Path:
        p = self.dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name not in self.files:
            self.files.append(name)
            if self.step:
                self.step_files.setdefault(self.step, []).append(name)
        return p

    def new_file(self, name: str) -> Path:
        """:meth:`path` for writing: a file shared with a published build (a hard link of
        :meth:`publish_and_continue`) is unlinked first, never written through."""
        p = self.path(name)
        if p.is_file() and p.stat().st_nlink > 1:
            p.unlink()
        return p

    def save_npy(self, name: str, arr: np.ndarray) -> None:
        np.save(self.new_file(name), np.ascontiguousarray(arr), allow_pickle=False)

    def save_parquet(self, name: str, df: pd.DataFrame) -> None:
        df.to_parquet(self.new_file(name), index=False)

    def save_arrow(self, name: str, table) -> None:
        """An uncompressed Arrow IPC file (memory-mapped by the app)."""
        import pyarrow as pa

        with pa.OSFile(str(self.new_file(name)), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)

    def save_json(self, name: str, obj: Any) -> None:
        self.new_file(name).write_text(json.dumps(obj, ensure_ascii=False, indent=2))

    def publish(self, manifest: dict) -> Path:
        manifest = dict(manifest)
        manifest["schema_version"] = SCHEMA_VERSION
        manifest["build_id"] = self.build_id
        manifest["files"] = {
            name: {"sha256": sha256_file(self.dir / name), "bytes": (self.dir / name).stat().st_size}
            for name in sorted(self.files)
        }
        if self.step_files:
            manifest["step_files"] = self.step_files
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
        os.replace(tmp, self.dir / MANIFEST)
        final = self.builds / self.build_id
        os.replace(self.dir, final)
        link_tmp = self.root / f".current-{self.build_id}"
        try:
            link_tmp.symlink_to(Path("builds") / self.build_id)
            os.replace(link_tmp, self.root / "current")  # atomic swap of what is served
        except BaseException:
            # the disk filled (a link needs a directory entry) or the run was killed before the
            # swap: ``current`` still names the previous build; the new one, never served, goes
            link_tmp.unlink(missing_ok=True)
            self.dir = final  # what abort() removes
            raise
        self._prune()
        return final

    def publish_and_continue(self, manifest: dict) -> Path:
        """Publish what is written so far (``current`` switches to it, atomically), then go on
        as a new build that starts with the same files (hard links, a copy where the file system
        refuses them): the steps still to run add their files to it and :meth:`publish` it.
        Returns the published folder."""
        files = list(self.files)
        step_files = {k: list(v) for k, v in self.step_files.items()}
        final = self.publish(manifest)
        self.build_id = new_build_id()
        self.dir = self.builds / f".tmp-{self.build_id}"
        self.dir.mkdir()
        for name in files:
            dst = self.dir / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(final / name, dst)
            except OSError:
                shutil.copy2(final / name, dst)
        self.files, self.step_files = files, step_files
        return final

    def _remove_dead_builds(self) -> None:
        """Temporary folders (and links) of builds whose process is gone — killed half-way, never
        served — are removed. The process id ends the build id; a live or unknown one is kept."""
        for tmp in [*self.builds.glob(".tmp-*"), *self.root.glob(".current-*")]:
            pid = tmp.name.rsplit("-", 1)[-1]
            if not pid.isdigit() or int(pid) == os.getpid() or _process_alive(int(pid)):
                continue
            log.info("removing %s, left by a build that did not finish", tmp)
            if tmp.is_symlink() or tmp.is_file():
                tmp.unlink(missing_ok=True)
            else:
                shutil.rmtree(tmp, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _prune(self) -> None:
        builds = sorted(p for p in self.builds.iterdir() if p.is_dir() and not p.name.startswith("."))
        current = (self.root / "current").resolve()
        for old in builds[:-KEEP_BUILDS]:
            if old.resolve() != current:
                shutil.rmtree(old, ignore_errors=True)


