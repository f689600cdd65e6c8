"""Artifacts store (read side): resolve a build, read and check its manifest, load its files.

Layout of an artifacts root::

    ROOT/builds/<build-id>/manifest.json, datasets.parquet, embeddings.npy, ...
    ROOT/current -> builds/<build-id>      (symlink, swapped atomically)
    ROOT/cache/embeddings/<model>/          (content-keyed embedding cache)
    ROOT/models/                            (offline model folders)

A build is written into ``builds/.tmp-*`` and renamed into place only once every file
and the manifest are on disk, so a killed build leaves the previous one served.
Only ``.npy`` (without pickles), ``.parquet``, ``.json`` and one Arrow IPC file
(``descriptions.arrow``, memory-mapped) are read back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
REQUIRED_FILES = ("datasets.parquet", "embeddings.npy", "umap.npy", "neighbours.npy",
                  "neighbour_scores.npy")


class ArtifactError(RuntimeError):
    """Artifacts that cannot be used, with a message saying why and what to do.

    Examples
    --------
    >>> resolve_build_dir("/nonexistent")
    Traceback (most recent call last):
    ...
    models.core.store.ArtifactError: no artifacts in /nonexistent: expected /nonexistent/manifest.json
    or /nonexistent/current/manifest.json. Build them with: python -m models build ... --out /nonexistent
    """


DESCRIPTION_COLUMNS = ("description", "description_text")
DESCRIPTIONS_FILE = "descriptions.arrow"
ROWS_FILE = "datasets.arrow"  # datasets.parquet without the descriptions, memory-mapped by the app


def rows_table(df: pd.DataFrame):
    """The Arrow table of ``ROWS_FILE``: ``df`` without its description columns, with the pandas
    metadata that gives :func:`open_rows` the very frame ``pd.read_parquet`` would.

    Examples
    --------
    >>> t = rows_table(pd.DataFrame({"id": ["a"], "description": ["<p>x</p>"], "views": [3]}))
    >>> t.column_names, t.num_rows
    (['id', 'views'], 1)
    """
    import pyarrow as pa  # lazy: only the arrow and parquet readers and writers need it

    return pa.Table.from_pandas(df.drop(columns=[c for c in DESCRIPTION_COLUMNS if c in df]),
                                preserve_index=False)


def open_rows(path: Path) -> pd.DataFrame:
    """The row table of a build, memory-mapped from ``path`` (an uncompressed Arrow IPC file): its
    text columns stay file-backed pages the system may drop and gunicorn's workers share (~70 MiB
    less private memory on the full catalogue than ``pd.read_parquet``); the frame equals the
    one ``pd.read_parquet`` gives (dtypes included). ArtifactError when unreadable.

    Examples
    --------
    >>> import tempfile, pyarrow as pa
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = Path(d) / ROWS_FILE
    ...     table = rows_table(pd.DataFrame({"id": ["a", "b"], "views": [3, 4]}))
    ...     with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, table.schema) as w:
    ...         w.write_table(table)
    ...     frame = open_rows(path)
    ...     frame["id"].tolist(), frame["views"].sum(), str(frame["id"].dtype)
    (['a', 'b'], np.int64(7), 'str')
    """
    import pyarrow as pa  # lazy: only the arrow and parquet readers and writers need it

    strings = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str", as read_parquet gives
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        return table.to_pandas(types_mapper={pa.string(): strings, pa.large_string(): strings}.get)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ArtifactError(f"{path.name} in {path.parent} is unreadable ({exc}): "
                            "the build is damaged") from exc


class Descriptions:
    """The raw and plain-text descriptions of a build's rows, read one row at a time.

    A build with ``descriptions.arrow`` (an uncompressed Arrow IPC file, written by the
    ``descriptions`` step) is memory-mapped: only the pages of the rows read (result cards, the
    dataset panel, the assistant's passages) become resident, instead of ~104 MiB of text held
    for the whole catalogue. An older build keeps the two columns of ``datasets.parquet`` in memory.

    Examples
    --------
    >>> d = Descriptions.from_columns(["<p>Piscines</p>"], ["Piscines"])
    >>> d.raw(0), d.text(0), len(d)
    ('<p>Piscines</p>', 'Piscines', 1)
    """

    def __init__(self, raw, text, *, chars=None, mapped: bool = False) -> None:
        self._raw, self._text = raw, text  # pyarrow arrays (one chunk) or None
        self._chars = chars  # characters of each stripped plain-text description (int32) or None
        self.mapped = mapped

    @classmethod
    def from_columns(cls, raw, text) -> Descriptions:
        import pyarrow as pa  # lazy: only the arrow and parquet readers and writers need it

        def arr(values):
            return None if values is None else pa.array([v if isinstance(v, str) else None
                                                         for v in values], type=pa.large_string())
        return cls(arr(raw), arr(text))

    @classmethod
    def open(cls, path: Path, n: int) -> Descriptions:
        """Memory-map ``path``; ArtifactError when it is unreadable or not ``n`` rows."""
        import pyarrow as pa  # lazy: only the arrow and parquet readers and writers need it

        try:
            table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        except (OSError, pa.ArrowException) as exc:
            raise ArtifactError(f"{path.name} in {path.parent} is unreadable ({exc}): "
                                "the build is damaged") from exc
        if table.num_rows != n or not set(DESCRIPTION_COLUMNS) & set(table.column_names):
            raise ArtifactError(f"{path.name} in {path.parent} has {table.num_rows} rows, "
                                f"datasets.parquet {n}: the build is inconsistent")

        def col(name):  # one chunk: the mapped buffers themselves (combine_chunks would copy)
            if name not in table.column_names:
                return None
            c = table.column(name)
            return c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()
        chars = col("description_chars")
        return cls(col("description"), col("description_text"), mapped=True,
                   chars=None if chars is None else chars.to_numpy(zero_copy_only=False))

    def __len__(self) -> int:
        a = self._raw if self._raw is not None else self._text
        return 0 if a is None else len(a)

    @staticmethod
    def _get(arr, row: int) -> str:
        if arr is None or not 0 <= int(row) < len(arr):
            return ""
        v = arr[int(row)].as_py()
        return v if isinstance(v, str) else ""

    def text_chars(self) -> np.ndarray:
        """Characters of every row's stripped plain-text description (0 when none), as the
        metadata-quality rule counts them; stored by the build, else computed once."""
        if self._chars is None:
            import pyarrow.compute as pc  # lazy: only the arrow and parquet readers and writers need it

            a = self._text if self._text is not None else self._raw
            if a is None:
                return np.zeros(0, dtype=np.int32)
            n = pc.utf8_length(pc.utf8_trim_whitespace(a)).fill_null(0)
            self._chars = n.to_numpy(zero_copy_only=False).astype(np.int32)
        return self._chars

    def text_heads(self, chars: int) -> list[str]:
        """The first ``chars`` characters of every row's plain-text description ("" when none),
        sliced in Arrow (the mapped text is not copied whole)."""
        import pyarrow.compute as pc  # lazy: only the arrow and parquet readers and writers need it

        a = self._text if self._text is not None else self._raw
        if a is None:
            return []
        return [v or "" for v in pc.utf8_slice_codeunits(a, 0, int(chars)).to_pylist()]

    @staticmethod
    def table(raw, text):
        """The Arrow table of ``descriptions.arrow`` for these columns (the build's writer)."""
        import pyarrow as pa  # lazy: only the arrow and parquet readers and writers need it

        def clean(values):
            return [v if isinstance(v, str) else None for v in values]
        text = clean(text)
        chars = [len(t.strip()) if t else 0 for t in text]
        return pa.table({"description": pa.array(clean(raw), type=pa.large_string()),
                         "description_text": pa.array(text, type=pa.large_string()),
                         "description_chars": pa.array(chars, type=pa.int32())})

    def raw(self, row: int) -> str:
        """The description as published (Markdown or HTML; shown escaped), ``""`` if none."""
        return self._get(self._raw, row) or self._get(self._text, row)

    def text(self, row: int) -> str:
        """The plain-text description (what search and passages read), ``""`` if none."""
        return self._get(self._text, row) or self._get(self._raw, row)


@contextmanager
def staged_folder(out_dir: Path, *, prefix: str | None = None) -> Iterator[Path]:
    """A temporary folder beside ``out_dir`` to write into; once the block ends without error it
    replaces ``out_dir`` (removed first if present, then one rename), else it is deleted. Model
    folders (offline e5, its ONNX export and query model) are written this way: a killed writer
    never leaves a half-written folder where a reader looks.

    Examples
    --------
    >>> with staged_folder(Path("/tmp/models/e5")) as tmp:  # doctest: +SKIP
    ...     (tmp / "config.json").write_text("{}")
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=(prefix or out_dir.name) + ".", dir=out_dir.parent))
    try:
        yield tmp
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def exclusive_lock(path: Path, *, what: str) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block, so that two processes
    never write the same model folder at once: the second one waits (one log line) and then finds
    the first one's work done. Yields whether the lock is held: where ``path`` cannot be created
    (a read-only models folder), the block runs unlocked, as it did before locks.

    Examples
    --------
    >>> import tempfile
    >>> with exclusive_lock(Path(tempfile.mkdtemp()) / ".e5.lock", what="the export") as held:
    ...     held
    True
    """
    import fcntl

    try:
        fh = open(path, "a")  # noqa: SIM115 (closed below, after the block)
    except OSError as exc:
        log.debug("no lock for %s (%s): unlocked", what, exc)
        yield False
        return
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process: %s (lock %s)", what, path)
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield True
    finally:
        fh.close()  # releases the lock


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read by blocks of 1 MiB (the manifest's ``sha256``).

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "a.txt"
    ...     _ = path.write_bytes(b"abc")
    ...     sha256_file(path)
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()



def resolve_build_dir(path: str | Path) -> Path:
    """A build folder, or an artifacts root whose ``current`` points at one.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     build = Path(tmp) / "builds" / "b1"
    ...     build.mkdir(parents=True)
    ...     _ = (build / MANIFEST).write_text("{}")
    ...     (Path(tmp) / "current").symlink_to(build)
    ...     resolve_build_dir(tmp) == build.resolve(), resolve_build_dir(build) == build
    (True, True)
    """
    p = Path(path)
    if (p / MANIFEST).is_file():
        return p
    if (p / "current" / MANIFEST).is_file():
        return (p / "current").resolve()
    raise ArtifactError(
        f"no artifacts in {p}: expected {p / MANIFEST} or {p / 'current' / MANIFEST}. "
        f"Build them with: python -m models build --catalog CATALOG --out {p}"
    )


def _check_manifest_shape(build_dir: Path, manifest) -> None:
    """What the app reads from a manifest, with the types it expects."""
    where = build_dir / MANIFEST
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(m, dict) for m in files.values()):
        raise ArtifactError(f"{where} has no valid \"files\" table: the build is damaged")
    model = manifest.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("id"), str):
        raise ArtifactError(f"{where} does not name its embedding model (\"model\": {{\"id\": ...}}): "
                            "the build is damaged, rebuild it")
    n = manifest.get("n_datasets")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ArtifactError(f"{where} has no valid n_datasets ({n!r}): the build is damaged")


def read_manifest(build_dir: Path, *, verify_hashes: bool = False,
                  required: tuple[str, ...] = REQUIRED_FILES) -> dict:
    """The manifest of a build, after checking its schema version, its shape and that every file
    it lists is there with its recorded size (and sha256 with ``verify_hashes``).

    Examples
    --------
    >>> manifest = {"schema_version": SCHEMA_VERSION, "n_datasets": 0, "model": {"id": "fake-8"},
    ...             "files": {"datasets.parquet": {"bytes": 4}}}
    >>> tmp = tempfile.TemporaryDirectory()
    >>> build = Path(tmp.name)
    >>> _ = (build / MANIFEST).write_text(json.dumps(manifest))
    >>> _ = (build / "datasets.parquet").write_bytes(b"PAR1")
    >>> read_manifest(build, required=("datasets.parquet",))["model"]
    {'id': 'fake-8'}
    >>> _ = (build / "datasets.parquet").write_bytes(b"PAR")  # truncated
    >>> read_manifest(build, required=("datasets.parquet",))
    Traceback (most recent call last):
    ...
    models.core.store.ArtifactError: artifact file .../datasets.parquet has 3 bytes, manifest says 4:
    the build is damaged
    >>> tmp.cleanup()
    """
    try:
        manifest = json.loads((build_dir / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {build_dir / MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{build_dir / MANIFEST} is not a JSON object: the build is damaged")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"artifacts in {build_dir} have schema version {version!r}, this program reads "
            f"version {SCHEMA_VERSION}: rebuild them with python -m models build"
        )
    _check_manifest_shape(build_dir, manifest)
    files = manifest["files"]
    for name in required:
        if name not in files:
            raise ArtifactError(f"artifacts in {build_dir} lack {name} in their manifest")
    for name, meta in files.items():
        p = build_dir / name
        if not _inside(build_dir, p):
            raise ArtifactError(f"{build_dir / MANIFEST} lists a file outside the build: {name!r}")
        if not p.is_file():
            raise ArtifactError(f"artifact file missing: {p} (listed in the manifest)")
        if p.stat().st_size != meta.get("bytes"):
            raise ArtifactError(f"artifact file {p} has {p.stat().st_size} bytes, "
                                f"manifest says {meta.get('bytes')}: the build is damaged")
        if verify_hashes and sha256_file(p) != meta.get("sha256"):
            raise ArtifactError(f"artifact file {p} does not match its manifest hash")
    return manifest


def _inside(build_dir: Path, p: Path) -> bool:
    try:
        p.resolve().relative_to(build_dir.resolve())
    except ValueError:
        return False
    return True


def verify_build(path: str | Path) -> tuple[int, list[str]]:
    """``python -m models verify``: the sha256 and size of every file of the manifest, then
    the invariants checked at start. Returns (files checked, problems: one line each).

    Examples
    --------
    >>> verify_build("/nonexistent")
    (0, ['no artifacts in /nonexistent: expected /nonexistent/manifest.json or ...'])
    """
    try:
        build_dir = resolve_build_dir(path)
        manifest = read_manifest(build_dir)
    except ArtifactError as exc:
        return 0, [str(exc)]
    problems = []
    for name, meta in sorted(manifest["files"].items()):
        if sha256_file(build_dir / name) != meta.get("sha256"):
            problems.append(f"{name}: sha256 differs from the manifest (file damaged or replaced)")
    if not problems:
        try:
            load_artifacts(build_dir)
        except ArtifactError as exc:
            problems.append(str(exc))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"cannot read the build: {exc}")
    return len(manifest["files"]), problems


def check_invariants(arts: Artifacts) -> None:
    """What every page relies on: one row per dataset in every per-row file, finite map
    coordinates, neighbour ids within the build (-1: none), unique dataset ids.

    Examples
    --------
    >>> arts = Artifacts(dir=Path("b1"), manifest={}, datasets=pd.DataFrame({"id": ["a", "b"]}),
    ...                  embeddings=np.eye(2, dtype=np.float32), coords=np.zeros((2, 2)),
    ...                  neighbours=np.array([[1], [-1]]), neighbour_scores=np.ones((2, 1)))
    >>> check_invariants(arts)  # row 1 has no neighbour: fine
    >>> arts.neighbours = np.array([[1], [2]])
    >>> check_invariants(arts)
    Traceback (most recent call last):
    ...
    models.core.store.ArtifactError: neighbours.npy in b1 holds row ids outside 0..1: the build is damaged
    """
    n = arts.n
    where = arts.dir
    if arts.coords.ndim != 2 or arts.coords.shape[1] != 2 or not np.isfinite(arts.coords).all():
        raise ArtifactError(f"umap.npy in {where} is not n × 2 finite coordinates: the build is damaged")
    nb, sc = arts.neighbours, arts.neighbour_scores
    if nb.ndim != 2 or sc.shape != nb.shape or not np.issubdtype(nb.dtype, np.integer):
        raise ArtifactError(f"neighbours.npy / neighbour_scores.npy in {where} do not match: "
                            "the build is damaged")
    if nb.size and (nb.min() < -1 or nb.max() >= n):
        raise ArtifactError(f"neighbours.npy in {where} holds row ids outside 0..{n - 1}: "
                            "the build is damaged")
    if arts.embeddings.ndim != 2 or not np.isfinite(arts.embeddings).all():
        raise ArtifactError(f"embeddings.npy in {where} is not a finite matrix: the build is damaged")
    if "id" not in arts.datasets.columns or not arts.datasets["id"].is_unique:
        raise ArtifactError(f"datasets.parquet in {where} lacks unique dataset ids: the build is damaged")


@dataclass
class Artifacts:
    """Everything a build holds, loaded for the app and the command line.

    Examples
    --------
    >>> arts = Artifacts(dir=Path("b1"), manifest={"files": {"umap.npy": {}}},
    ...                  datasets=pd.DataFrame({"id": ["a", "b"]}), embeddings=np.eye(2, dtype=np.float32),
    ...                  coords=np.zeros((2, 2)), neighbours=np.array([[1], [0]]),
    ...                  neighbour_scores=np.ones((2, 1)))
    >>> arts.n, arts.has("umap.npy"), arts.has("topics.parquet")
    (2, True, False)
    """

    dir: Path
    manifest: dict
    datasets: pd.DataFrame
    embeddings: np.ndarray
    coords: np.ndarray
    neighbours: np.ndarray
    neighbour_scores: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
    descriptions: Descriptions | None = None

    @property
    def n(self) -> int:
        return len(self.datasets)

    def has(self, name: str) -> bool:
        return name in self.manifest.get("files", {})

    def npy(self, name: str, mmap: bool = True) -> np.ndarray:
        return np.load(self.dir / name, mmap_mode="r" if mmap else None, allow_pickle=False)

    def parquet(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.dir / name, columns=columns)

    def json(self, name: str) -> Any:
        return json.loads((self.dir / name).read_text())


DISPLAY_COLUMNS = ["id", "title", "organization", "organization_id", "url", "description",
                   "tags", "created_at", "last_modified", "created_year", "frequency", "license",
                   "spatial_zones", "views", "reuses", "followers", "downloads", "archived",
                   "quality_score", "acronym", "resources_formats", "temporal_start",
                   "temporal_end", "spatial_granularity", "resources_count"]


def _release_arrow_memory() -> None:
    import pyarrow  # lazy: only the arrow and parquet readers and writers need it

    pyarrow.default_memory_pool().release_unused()



def load_artifacts(path: str | Path, *, verify_hashes: bool = False,
                   expected_model: str | None = None) -> Artifacts:
    build_dir = resolve_build_dir(path)
    manifest = read_manifest(build_dir, verify_hashes=verify_hashes)
    model = manifest["model"]["id"]
    if expected_model is not None and model != expected_model:
        raise ArtifactError(f"artifacts in {build_dir} were embedded with {model!r}, "
                            f"not {expected_model!r}: rebuild or configure that model")
    mapped = DESCRIPTIONS_FILE in manifest.get("files", {})
    if mapped and ROWS_FILE in manifest["files"]:  # the row table memory-mapped too
        datasets = open_rows(build_dir / ROWS_FILE)
        descriptions = Descriptions.open(build_dir / DESCRIPTIONS_FILE, len(datasets))
    elif mapped:  # the descriptions stay on disk (memory-mapped): ~104 MiB less on the catalogue
        import pyarrow.parquet as pq  # lazy: only the arrow and parquet readers and writers need it

        names = pq.ParquetFile(build_dir / "datasets.parquet").schema_arrow.names
        datasets = pd.read_parquet(build_dir / "datasets.parquet",
                                   columns=[c for c in names if c not in DESCRIPTION_COLUMNS])
        descriptions = Descriptions.open(build_dir / DESCRIPTIONS_FILE, len(datasets))
    else:
        datasets = pd.read_parquet(build_dir / "datasets.parquet")
        descriptions = Descriptions.from_columns(
            *(datasets[c].tolist() if c in datasets else None for c in DESCRIPTION_COLUMNS))
        datasets = datasets.drop(columns=[c for c in DESCRIPTION_COLUMNS if c in datasets])
    _release_arrow_memory()  # the read's buffers (~110 MB on the catalogue), else kept by the pool
    emb = np.load(build_dir / "embeddings.npy", mmap_mode="r", allow_pickle=False)
    arts = Artifacts(
        dir=build_dir, manifest=manifest, datasets=datasets,
        embeddings=np.asarray(emb, dtype=np.float32),
        coords=np.load(build_dir / "umap.npy", allow_pickle=False),
        neighbours=np.load(build_dir / "neighbours.npy", allow_pickle=False),
        neighbour_scores=np.load(build_dir / "neighbour_scores.npy", allow_pickle=False),
        descriptions=descriptions,
    )
    n = manifest.get("n_datasets")
    for name, arr in (("embeddings.npy", arts.embeddings), ("umap.npy", arts.coords),
                      ("neighbours.npy", arts.neighbours)):
        if len(arr) != len(datasets) or len(datasets) != n:
            raise ArtifactError(f"{name} has {len(arr)} rows, datasets.parquet {len(datasets)}, "
                                f"manifest n_datasets {n}: the build is inconsistent")
    check_invariants(arts)
    return arts
