"""The queries' model with its weights prepacked once, on disk: a query in about half the CPU time
without the private memory prepacking costs.

ONNX Runtime packs a MatMul's weights into its GEMM kernel's layout when a session starts
("prepacking"). Without it each query packs them again: the app's float32 query model then spends
~18 ms of CPU a query on 2 threads, ~11 ms with it (``docs/measurements.md``). Packed at start,
the ~85 MB of packed weights are private memory of the process, which is why the app ran its
query model without prepacking.

ONNX Runtime can also write the packed weights beside an optimised copy of the model
(``session.save_external_prepacked_constant_initializers``) and memory-map them when that copy is
loaded: the packing is done once, at set-up, and its pages are file-backed, shared by gunicorn's
workers and reclaimable by the system. :func:`write_prepacked` writes ``QUERY/packed/`` so;
:func:`prepacked_folder` says whether this machine may use it.

The packed layout belongs to the ONNX Runtime version and to the processor's kernels: the folder
records both (:func:`machine_fingerprint`) and is refused elsewhere, and it records the vectors
of a few probe inputs computed without prepacking, which the app checks again at start
(:func:`probe_gap`) before using it. Prepacked and plain vectors differ by float rounding
(≤ 1.1e-7 per component measured on the float32 model, the size of the export's own difference
with torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from models.core.store import staged_folder

log = logging.getLogger(__name__)

PACKED_DIR = "packed"  # inside a query model's folder
PACKED_MODEL = "model.onnx"
PACKED_DATA = "model.data"  # the weights, then the packed weights, memory-mapped
PACKED_META = "packed.json"
PACKED_FORMAT = 1
PROBE_TOLERANCE = 1e-5  # largest component gap to the plain session's probe vectors
# probe inputs: <s> … </s> over ids every query vocabulary holds (the special pieces and the
# first thousands of pieces, kept by any cut of XLM-R's vocabulary), of a short and a longer length
PROBE_LENGTHS = (9, 33)


def ort_version() -> str | None:
    """The installed ONNX Runtime's version (None without it).

    Examples
    --------
    >>> ort_version() is None or ort_version()[0].isdigit()
    True
    """
    try:
        return version("onnxruntime")
    except PackageNotFoundError:
        return None


def machine_fingerprint() -> str:
    """What the packed layout depends on besides ONNX Runtime's version: the architecture and
    the processor's instruction sets (Linux's ``/proc/cpuinfo`` flags), hashed.

    Examples
    --------
    >>> len(machine_fingerprint()), machine_fingerprint() == machine_fingerprint()
    (16, True)
    """
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):  # x86, arm
                    flags = line.split(":", 1)[-1].strip()
                    break
    except OSError:
        flags = platform.processor()
    return hashlib.sha256(f"{platform.machine()}|{flags}".encode()).hexdigest()[:16]


def probe_inputs(vocabulary: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The probe batches (ids, mask): one sequence per length of :data:`PROBE_LENGTHS`, ids
    spread over the first pieces of a ``vocabulary``-piece model.

    Examples
    --------
    >>> [(ids.shape, int(ids[0, 0]), int(ids[0, -1])) for ids, _ in probe_inputs(1000)]
    [((1, 9), 0, 2), ((1, 33), 0, 2)]
    """
    out = []
    for length in PROBE_LENGTHS:
        body = 5 + (np.arange(length - 2, dtype=np.int64) * 97) % max(min(vocabulary, 5000) - 5, 1)
        ids = np.concatenate([[0], body, [2]]).astype(np.int64)[None, :]
        out.append((ids, np.ones_like(ids)))
    return out


def session_options(threads: int = 0, *, spinning: bool = True, prepack: bool = True):
    """ONNX Runtime's options for the encoders' sessions: ``threads`` intra-op threads (0: its
    choice), one inter-op thread, every graph optimisation; ``spinning`` False: idle threads
    sleep instead of spinning (the app); ``prepack`` False: the weights are read as stored.

    Examples
    --------
    >>> opts = session_options(2, prepack=False)
    >>> opts.intra_op_num_threads, opts.get_session_config_entry("session.disable_prepacking")
    (2, '1')
    """
    import onnxruntime as ort  # lazy: ONNX, loaded only to export or to encode

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(int(threads), 0)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not prepack:
        opts.add_session_config_entry("session.disable_prepacking", "1")
    return opts


def _session(model_file: Path, *, prepack: bool, threads: int = 1, save_to: Path | None = None):
    import onnxruntime as ort  # lazy: ONNX, loaded only to export or to encode

    opts = session_options(threads, prepack=prepack)
    if save_to is not None:  # ONNX Runtime warns that the copy fits this machine only: recorded
        opts.log_severity_level = 3
        opts.optimized_model_filepath = str(save_to / PACKED_MODEL)
        opts.add_session_config_entry("session.optimized_model_external_initializers_file_name", PACKED_DATA)
        opts.add_session_config_entry(
            "session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        opts.add_session_config_entry("session.save_external_prepacked_constant_initializers", "1")
    return ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])


def run_probes(session, vocabulary: int) -> list[np.ndarray]:
    """The session's first output for each probe input (:func:`probe_inputs`).

    Examples
    --------
    >>> class Echo:  # a stand-in session: its ids as floats
    ...     def get_inputs(self):
    ...         return [type("Input", (), {"name": n})() for n in ("input_ids", "attention_mask")]
    ...     def run(self, _outputs, feed):
    ...         return [feed["input_ids"].astype("float32")]
    >>> [v.shape for v in run_probes(Echo(), 1000)]
    [(1, 9), (1, 33)]
    """
    names = {i.name for i in session.get_inputs()}
    out = []
    for ids, mask in probe_inputs(vocabulary):
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        out.append(np.asarray(session.run(None, {k: v for k, v in feed.items() if k in names})[0],
                              dtype=np.float32))
    return out


def write_prepacked(query_folder: str | Path, *, vocabulary: int) -> Path:
    """``QUERY/packed/``: the query model optimised with its weights prepacked, written by ONNX
    Runtime beside it (atomically), with the probes' plain vectors and the machine it was packed
    on. ``vocabulary``: the query model's number of pieces. Returns the folder.

    Examples
    --------
    >>> query = "artifacts/models/e5-small-offline-onnx-fp32/query"
    >>> write_prepacked(query, vocabulary=120000)  # doctest: +SKIP
    PosixPath('artifacts/models/e5-small-offline-onnx-fp32/query/packed')
    """
    query_folder = Path(query_folder)
    source = query_folder / "model.onnx"
    plain = run_probes(_session(source, prepack=False), vocabulary)
    out = query_folder / PACKED_DIR
    with staged_folder(out, prefix=PACKED_DIR) as tmp:
        _session(source, prepack=True, save_to=tmp)  # ONNX Runtime writes the model as it starts
        packed = run_probes(_session(tmp / PACKED_MODEL, prepack=True), vocabulary)
        gap = max(float(np.abs(a - b).max()) for a, b in zip(plain, packed, strict=True))
        if gap > PROBE_TOLERANCE:
            raise ValueError(f"the prepacked model differs from the plain one by {gap:.3g}")
        (tmp / PACKED_META).write_text(json.dumps({
            "format": PACKED_FORMAT, "onnxruntime": ort_version(), "machine": machine_fingerprint(),
            "vocabulary": int(vocabulary), "source_bytes": source.stat().st_size,
            "bytes": (tmp / PACKED_MODEL).stat().st_size, "data_bytes": (tmp / PACKED_DATA).stat().st_size,
            "probe_gap": gap, "probes": [v.round(7).ravel().tolist() for v in plain]}))
    log.info("prepacked query model written to %s (%.0f MB, gap to the plain model %.2g)", out,
             (out / PACKED_DATA).stat().st_size / 1e6, gap)
    return out


def prepacked_folder(query_folder: str | Path) -> Path | None:
    """``QUERY/packed`` when it was written for this query model, this ONNX Runtime and this
    machine and is whole, else None.

    Examples
    --------
    >>> prepacked_folder("/nonexistent") is None
    True
    """
    folder = Path(query_folder) / PACKED_DIR
    try:
        meta = json.loads((folder / PACKED_META).read_text())
        ok = (isinstance(meta, dict) and meta.get("format") == PACKED_FORMAT
              and meta.get("onnxruntime") == ort_version() and meta.get("machine") == machine_fingerprint()
              and meta.get("source_bytes") == (Path(query_folder) / "model.onnx").stat().st_size
              and (folder / PACKED_MODEL).stat().st_size == meta.get("bytes")
              and (folder / PACKED_DATA).stat().st_size == meta.get("data_bytes"))
    except (OSError, ValueError):
        return None
    return folder if ok else None


def probe_gap(session, folder: Path) -> float:
    """Largest component gap between ``session``'s probe vectors and those recorded without
    prepacking (``inf`` when they cannot be compared): more than :data:`PROBE_TOLERANCE` means the
    packed weights do not fit this machine.

    Examples
    --------
    >>> probe_gap(None, Path("/nonexistent"))
    inf
    """
    try:
        meta = json.loads((folder / PACKED_META).read_text())
        got = run_probes(session, int(meta["vocabulary"]))
        want = [np.asarray(v, dtype=np.float32) for v in meta["probes"]]
        return max(float(np.abs(g.ravel() - w).max()) for g, w in zip(got, want, strict=True))
    except (OSError, ValueError, KeyError, TypeError):
        return float("inf")


def ensure_prepacked(query_folder: str | Path, *, vocabulary: int) -> Path | None:
    """The prepacked folder of a query model, written when missing or made elsewhere; a failure
    is logged, never fatal (the app then prepacks nothing, as before).

    Examples
    --------
    >>> ensure_prepacked("/nonexistent", vocabulary=100) is None
    True
    """
    found = prepacked_folder(query_folder)
    if found is not None:
        return found
    try:
        return write_prepacked(query_folder, vocabulary=vocabulary)
    except Exception as exc:  # onnxruntime raises its own classes; the plain model still serves
        log.warning("no prepacked query model in %s (%s): queries are encoded without it",
                    query_folder, exc)
        return None
