"""Scale-out of the partitionable build steps on a Dask cluster (``build --dask SPEC``).

``SPEC`` is ``local`` (a local cluster, one worker per core), ``local:N`` (N workers) or the
address of a running scheduler (``tcp://host:8786``). Only the steps whose work is a sum of
independent per-dataset pieces go to the cluster, in order of cost: the passages still missing
from the embedding cache, the French tokens and topic lemmas, the keyword terms of every field
(the BM25 statistics and the vocabulary are assembled on the client, in the order of a local
build) and the place mentions read by the territories step (the corpus statistics and the
resolution stay on the client). Everything else — neighbours, UMAP, LDA, clusters — runs where
the build runs. The outputs are the same files, byte for byte, as a local build (a test compares
every file of a 200-row build made on a two-worker ``LocalCluster``).

The sentence encoder and the gazetteer are loaded at most once per worker process (a per-process
cache keyed by what identifies them); an encoder object injected by the caller (tests) is
sent once to every worker in a worker plugin. A task lost with its worker is re-run elsewhere (``retries``);
when that is not possible the build stops with a one-line :class:`DaskError` (a ``ValueError``:
``python -m models`` prints it and exits 2) and the previous ``current`` stays served.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace

from models.core.bm25 import field_terms
from models.core.encoders import cache_id, load_encoder
from models.core.geo import Gazetteer
from models.core.text import tokenize_fr
from models.pipeline.lda import topic_tokens

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
TASK_RETRIES = 2


class DaskError(ValueError):
    """The cluster cannot be reached, or lost work it could not redo (one line, French/English)."""


def parse_spec(spec: str) -> tuple[str, int | None]:
    """``("local", n_workers or None)`` or ``("address", None)``; ValueError on anything else."""
    spec = (spec or "").strip()
    if spec == "local":
        return "local", None
    if spec.startswith("local:"):
        n = spec.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise DaskError(f"--dask {spec} : nombre de workers invalide (invalid worker count); "
                            "expected local, local:N or tcp://host:port")
        return "local", int(n)
    if "://" in spec and spec.split("://", 1)[1]:
        return spec, None
    raise DaskError(f"--dask {spec!r} : adresse non reconnue (unrecognised address); "
                    "expected local, local:N or tcp://host:port")


class DaskRunner:
    """A Dask client for one build: ordered maps over chunks, with retries and clear errors."""

    def __init__(self, spec: str, *, processes: bool = True, connect_timeout: float = CONNECT_TIMEOUT_S,
                 retries: int = TASK_RETRIES) -> None:
        self.spec = spec
        self.retries = retries
        kind, n_workers = parse_spec(spec)
        from distributed import Client, LocalCluster  # lazy: only with build --dask

        for noisy in ("distributed", "tornado", "bokeh"):  # after the import: it sets them to INFO
            logging.getLogger(noisy).setLevel(logging.ERROR)

        self.cluster = None
        try:
            if kind == "local":
                where = {"host": "127.0.0.1"} if processes else {}  # threads: in-process transport
                self.cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                                            processes=processes, dashboard_address=None,
                                            silence_logs=logging.ERROR, **where)
                self.client = Client(self.cluster, timeout=connect_timeout)
            else:
                self.client = Client(kind, timeout=connect_timeout)
        except (OSError, TimeoutError, RuntimeError) as exc:
            if self.cluster is not None:
                self.cluster.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DaskError(f"ordonnanceur Dask injoignable à {spec} (Dask scheduler unreachable): "
                            f"{reason[:200]}") from None
        self.n_workers = max(len(self.client.scheduler_info().get("workers", {})), 1)
        log.info("dask: %s, %d worker(s)", spec, self.n_workers)

    # ---- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- work --------------------------------------------------------------------------------
    def call(self, fn: Callable, *args):
        """``fn(*args)`` on one worker."""
        return self._result(self.client.submit(fn, *args, pure=False, retries=self.retries),
                            getattr(fn, "__name__", "task"))

    def as_completed(self, fn: Callable, chunks: Sequence, *args) -> Iterator[tuple[int, object]]:
        """``(i, fn(chunks[i], *args))`` as the workers finish them."""
        from distributed import as_completed  # lazy: only with build --dask

        futures = self.client.map(fn, chunks, *[[a] * len(chunks) for a in args],
                                  pure=False, retries=self.retries)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                yield index[fut.key], self._result(fut, getattr(fn, "__name__", "task"))
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def map(self, fn: Callable, chunks: Sequence, *args) -> list:
        """``[fn(chunk, *args) for chunk in chunks]`` on the cluster, in order."""
        out: list = [None] * len(chunks)
        for i, res in self.as_completed(fn, chunks, *args):
            out[i] = res
        return out

    def map_concat(self, fn: Callable, items: Sequence, *args, per_worker: int = 4) -> list:
        """``fn`` over contiguous slices of ``items`` (each returns a list), concatenated in order."""
        chunks = [items[a:b] for a, b in self.bounds(len(items), per_worker=per_worker)]
        out: list = []
        for part in self.map(fn, chunks, *args):
            out.extend(part)
        return out

    def bounds(self, n: int, *, per_worker: int = 4, multiple: int = 1,
               max_size: int | None = None) -> list[tuple[int, int]]:
        """Contiguous ``[a, b)`` slices of ``range(n)``: about ``per_worker`` per worker (at most
        ``max_size`` rows), each a multiple of ``multiple`` rows (but the last)."""
        if n <= 0:
            return []
        size = math.ceil(n / (self.n_workers * per_worker))
        if max_size:
            size = min(size, max_size)
        size = max(multiple, size // multiple * multiple)
        return [(a, min(a + size, n)) for a in range(0, n, size)]

    def _result(self, fut, what: str):
        from distributed import KilledWorker  # lazy: only with build --dask
        from distributed.client import FutureCancelledError

        try:
            return fut.result()
        except (KilledWorker, FutureCancelledError) as exc:
            raise DaskError(f"un worker Dask s'est arrêté pendant « {what} » et la tâche n'a pas pu être "
                            f"refaite (a Dask worker died; task retried {self.retries} times): {exc}"
                            ) from None
        except (OSError, TimeoutError) as exc:
            raise DaskError(f"connexion perdue avec le cluster Dask {self.spec} pendant « {what} » "
                            f"(lost the Dask cluster): {exc}") from None


def open_runner(settings) -> DaskRunner | None:
    """The runner of a build whose settings ask for Dask (``settings.dask``), else None."""
    spec = getattr(settings, "dask", None)
    if not spec:
        return None
    return DaskRunner(spec, processes=getattr(settings, "dask_processes", True))


# ---- what runs on the workers (module-level functions: picklable by reference) -------------
_LOCK = threading.Lock()
_ENCODERS: dict[tuple, object] = {}
_GAZETTEERS: dict[str, object] = {}
LOADS: dict[str, int] = {}  # how many times this process loaded each encoder / gazetteer (tests)


ENCODER_PLUGIN = "explorer-encoder"


def _encoder_plugin(encoder):
    """A worker plugin that holds an injected encoder object on every worker, including workers
    that join (or are restarted) later — unlike scattered data, which dies with its worker."""
    from distributed.diagnostics.plugin import WorkerPlugin  # lazy: only with build --dask

    class EncoderPlugin(WorkerPlugin):
        name = ENCODER_PLUGIN

        def __init__(self, enc) -> None:
            self.encoder = enc

    return EncoderPlugin(encoder)


def worker_encoder(spec):
    """The encoder a worker encodes with: ``"plugin"`` (an injected object, see
    :func:`remote_encoder`) or ``(model, models_dir, max_seq_length)``, loaded once per process."""
    if spec == "plugin":
        from distributed import get_worker  # lazy: only with build --dask

        return get_worker().plugins[ENCODER_PLUGIN].encoder
    with _LOCK:
        enc = _ENCODERS.get(spec)
        if enc is None:
            model, models_dir, max_seq_length = spec
            enc = load_encoder(model, models_dir=Path(models_dir), max_seq_length=max_seq_length)
            _ENCODERS[spec] = enc
            LOADS[f"encoder:{model}"] = LOADS.get(f"encoder:{model}", 0) + 1
        return enc


def encoder_info(spec) -> dict:
    enc = worker_encoder(spec)
    return {"model_id": enc.model_id, "cache_id": cache_id(enc),
            "dim": int(enc.dim), "prefixes": getattr(enc, "prefixes", False),
            "engine": getattr(enc, "engine", type(enc).__name__)}


def encode_chunk(texts: list[str], spec, batch_size: int):
    return worker_encoder(spec).encode(texts, kind="passage", batch_size=batch_size)


def worker_gazetteer(folder: str):
    with _LOCK:
        gaz = _GAZETTEERS.get(folder)
        if gaz is None:
            gaz = Gazetteer.load(folder)
            _GAZETTEERS[folder] = gaz
            LOADS["gazetteer"] = LOADS.get("gazetteer", 0) + 1
        return gaz


def tokens_chunk(texts: list[str]) -> list[list[str]]:
    return [tokenize_fr(t) for t in texts]


def topic_tokens_chunk(df) -> list[list[str]]:
    return topic_tokens(df)


def keyword_terms_chunk(df, description_chars: int) -> dict[str, list[list[str]]]:
    return field_terms(df, description_chars)


def frame_chunks(runner: DaskRunner, df, columns: Sequence[str], *, per_worker: int = 4) -> list:
    """Contiguous row slices of ``df`` (only ``columns``), one per task."""
    sub = df[list(columns)]
    return [sub.iloc[a:b] for a, b in runner.bounds(len(sub), per_worker=per_worker)]


def remote_encoder(runner: DaskRunner, encoder, settings):
    """``(client-side encoder or description, what the workers encode with)``: an injected encoder
    is sent once to every worker (a worker plugin); otherwise each worker loads the model once and the client
    only learns its id and dimension (it never loads the model)."""
    if encoder is not None:
        runner.client.register_plugin(_encoder_plugin(encoder), name=ENCODER_PLUGIN)
        return encoder, "plugin"
    spec = (settings.model, str(settings.model_folder), settings.max_seq_length)
    return SimpleNamespace(**runner.call(encoder_info, spec)), spec
