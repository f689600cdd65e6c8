"""Sentence encoders: e5 through sentence-transformers, transformers alone or ONNX Runtime.

Other encoders (a test double, an experiment) are registered from outside the product with
:func:`register_encoder`, or named in ``EXPLORER_ENCODER_PLUGINS`` (modules, separated by commas,
imported on first use and expected to call :func:`register_encoder`): the tests set it so that the
command line they run builds with their hashing encoder. Without it the product knows only e5 and
folders on disk."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from models.core.onnx_encoder import (
    ONNX_FP32_MODEL,
    ONNX_MODEL,
    SOURCE_MODEL,
    VARIANT_MODELS,
    OnnxModelError,
    load_onnx_encoder,
    onnx_folder,
)

# a module of their own (the ONNX encoder uses them too); re-exported for older imports
from models.core.transformer_encoder import (  # noqa: F401
    PASSAGE_PREFIX,
    QUERY_BLOCKS,
    QUERY_PREFIX,
    SPECIAL_IDS,
    TransformerQueryEncoder,
    _normalise,
    query_tokenizer,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL = "e5-small-offline"  # built from registry packages by models.core.e5_offline
# which engine runs the offline e5 model: "onnx" (default: its exact float32 ONNX export, ~1.4x
# torch's speed, the same vectors within float rounding, no torch in the app), "torch", or "bf16"
# (torch with bfloat16 matrix products on a processor that has them: passages only, see Bf16Encoder)
ENGINE_ENV = "EXPLORER_ENGINE"
ENGINES = ("onnx", "torch", "bf16")


def engine() -> str:
    """The engine of the offline e5 model (``EXPLORER_ENGINE``, default ``onnx``).

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {ENGINE_ENV: ""}):
    ...     engine()
    'onnx'
    >>> with mock.patch.dict(os.environ, {ENGINE_ENV: " Torch "}):
    ...     engine()
    'torch'
    """
    value = os.environ.get(ENGINE_ENV, "onnx").strip().lower() or "onnx"
    if value not in ENGINES:
        raise UnknownModelError(f"{ENGINE_ENV}={value!r}: choose among {', '.join(ENGINES)}")
    return value
class Encoder(Protocol):
    """What the pipeline and the app need of an encoder: an id (it keys the embedding cache and
    names the build's model), a dimension and ``encode``.

    Examples
    --------
    >>> class Constant:  # a test double: every text points the same way
    ...     model_id, dim = "constant@8", 2
    ...     def encode(self, texts, *, kind, batch_size=32, progress=None):
    ...         return np.tile(np.float32([0.6, 0.8]), (len(texts), 1))
    >>> vectors = Constant().encode(["piscines", "écoles"], kind="query")
    >>> vectors.shape, vectors.dtype, np.linalg.norm(vectors, axis=1).round(3).tolist()
    ((2, 2), dtype('float32'), [1.0, 1.0])
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, kind: str, batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """L2-normalised float32 vectors; ``kind`` is "query" or "passage"."""


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by name or path; e5 prefixes when configured."""

    def __init__(self, model: str, *, max_seq_length: int = 128, prefixes: bool | None = None,
                 device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer  # lazy: torch, only to encode

        self.path = model
        self._model = SentenceTransformer(model, device=device)
        self._model.max_seq_length = max_seq_length
        self.max_seq_length = max_seq_length
        get_dim = (getattr(self._model, "get_embedding_dimension", None)
                   or self._model.get_sentence_embedding_dimension)
        self.dim = int(get_dim())
        name = Path(model).name if Path(model).exists() else model
        self.prefixes = ("e5" in name.lower()) if prefixes is None else prefixes
        self.model_id = f"{name}@{max_seq_length}"

    @property
    def model(self):
        """The sentence-transformers model itself (read-only use: its own ``encode``)."""
        return self._model

    def encode(self, texts, *, kind, batch_size=32, progress=None):
        prefix = (QUERY_PREFIX if kind == "query" else PASSAGE_PREFIX) if self.prefixes else ""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        step = max(batch_size * 8, 1)
        for start in range(0, len(texts), step):
            chunk = [prefix + t for t in texts[start:start + step]]
            out[start:start + len(chunk)] = self._model.encode(
                chunk, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
            if progress:
                progress(len(chunk))
        return out



BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo: the processor multiplies bfloat16 itself


def bf16_supported(cpuinfo: str | None = None) -> bool:
    """Whether this processor has bfloat16 dot products (``avx512_bf16`` or ``amx_bf16``): without
    them torch emulates bfloat16, slower than float32.

    Examples
    --------
    >>> bf16_supported("flags\t: fpu avx2 avx512f avx512_bf16 avx512_vnni"), bf16_supported("flags\t: avx2")
    (True, False)
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return bool(set(line.partition(":")[2].split()) & set(BF16_FLAGS))
    return False


class Bf16Encoder(SentenceTransformerEncoder):
    """The offline e5 model through torch with its matrix products in bfloat16 (``torch.autocast``;
    layer norms, softmax and the pooling stay float32), re-normalised in float32: ×1.57 the exact
    float32 ONNX engine on this project's 2 cores, vectors at cosine ≥ 0.99997 of torch's float32
    ones (docs/measurements.md). The vectors live in the float32 model's space (``model_id``, so
    the app's float32 query encoder, the confidence model and the families apply unchanged), but
    they are not equal within float rounding, so they have their own embedding cache
    (``cache_id``) and are never mixed with float32 ones.
    """

    engine = "torch-bf16"

    def __init__(self, model: str, *, max_seq_length: int = 128) -> None:
        super().__init__(model, max_seq_length=max_seq_length)
        self.cache_id = f"{self.model_id}+bf16"

    def encode(self, texts, *, kind, batch_size=32, progress=None):
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = super().encode(texts, kind=kind, batch_size=batch_size, progress=progress)
        return _normalise(out)


def cache_id(encoder) -> str:
    """What keys ``encoder``'s vectors in the embedding cache: its ``cache_id`` when its vectors
    are not equal to its model's within float rounding (:class:`Bf16Encoder`), else its model id.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cache_id(SimpleNamespace(model_id="e5@128"))
    'e5@128'
    >>> cache_id(SimpleNamespace(model_id="e5@128", cache_id="e5@128+bf16"))
    'e5@128+bf16'
    """
    return getattr(encoder, "cache_id", None) or encoder.model_id


ENCODER_PLUGINS_ENV = "EXPLORER_ENCODER_PLUGINS"
_FACTORIES: dict[str, Callable[[str, int], Encoder]] = {}
_PLUGINS_LOADED: set[str] = set()


class UnknownModelError(ValueError):
    """A model name that is neither the offline e5, a folder on disk nor a registered encoder.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {ENGINE_ENV: "cuda"}):
    ...     engine()
    Traceback (most recent call last):
    ...
    models.core.encoders.UnknownModelError: EXPLORER_ENGINE='cuda': choose among onnx, torch, bf16
    >>> issubclass(UnknownModelError, ValueError)
    True
    """


def register_encoder(prefix: str, factory: Callable[[str, int], Encoder]) -> None:
    """``load_encoder(name)`` for a ``name`` starting with ``prefix`` returns
    ``factory(name, max_seq_length)`` (queries and passages alike).

    Examples
    --------
    >>> register_encoder("constant", lambda name, n: MyEncoder())  # doctest: +SKIP
    """
    _FACTORIES[prefix] = factory


def _registered(model: str) -> Callable[[str, int], Encoder] | None:
    for name in filter(None, (m.strip() for m in os.environ.get(ENCODER_PLUGINS_ENV, "").split(","))):
        if name not in _PLUGINS_LOADED:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise UnknownModelError(f"{ENCODER_PLUGINS_ENV}: module {name!r} cannot be imported "
                                        f"({exc})") from exc
            _PLUGINS_LOADED.add(name)
    for prefix, factory in _FACTORIES.items():
        if model.startswith(prefix):
            return factory
    return None


def resolve_model_path(model: str, models_dir: Path) -> str:
    """``e5-small-offline`` -> the folder built from registry packages; else as given.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     resolve_model_path(folder, Path("models")) == folder
    True
    >>> resolve_model_path("intfloat/multilingual-e5-small", Path("models"))  # a hub name
    Traceback (most recent call last):
    ...
    models.core.encoders.UnknownModelError: unknown model 'intfloat/multilingual-e5-small': ...
    """
    if model == DEFAULT_MODEL:
        from models.core.e5_offline import build_model_folder

        return str(build_model_folder(models_dir / DEFAULT_MODEL))
    if not Path(model).is_dir():  # nothing is downloaded from a model hub at run time
        raise UnknownModelError(f"unknown model {model!r}: use {DEFAULT_MODEL!r} (the default), "
                                "'e5-small-offline-onnx-int8' or the folder of a sentence-transformers model")
    return model


def load_encoder(model: str, *, models_dir: Path, max_seq_length: int = 128) -> Encoder:
    """The encoder a build embeds passages with. The offline e5 model runs on its exact float32
    ONNX export (exported once; torch with ``EXPLORER_ENGINE=torch``, or when the export is not
    exact or cannot be made: one warning line).

    Examples
    --------
    >>> load_encoder("no-such-model", models_dir=Path("models"))  # nothing is downloaded
    Traceback (most recent call last):
    ...
    models.core.encoders.UnknownModelError: unknown model 'no-such-model': use 'e5-small-offline'
    (the default), 'e5-small-offline-onnx-int8' or the folder of a sentence-transformers model
    """
    if (factory := _registered(model)) is not None:
        return factory(model, max_seq_length)
    if model == ONNX_MODEL:  # exported from the offline e5 folder once, then reused
        return load_onnx_encoder(models_dir, max_seq_length=max_seq_length)
    if model == ONNX_FP32_MODEL:
        return load_onnx_encoder(models_dir, max_seq_length=max_seq_length, variant="fp32")
    if model == DEFAULT_MODEL and engine() == "bf16":
        if bf16_supported():
            return Bf16Encoder(resolve_model_path(model, models_dir), max_seq_length=max_seq_length)
        log.warning("%s=bf16, but this processor has no bfloat16 instructions (%s): embedding with "
                    "the exact float32 ONNX engine", ENGINE_ENV, " or ".join(BF16_FLAGS))
    if model == DEFAULT_MODEL and engine() in ("onnx", "bf16"):
        try:
            enc = load_onnx_encoder(models_dir, max_seq_length=max_seq_length, variant="fp32")
        except (OnnxModelError, ImportError, OSError, RuntimeError) as exc:
            log.warning("no exact ONNX export of %s (%s): embedding with torch", model, exc)
        else:
            if enc.exact and enc.model_id == f"{model}@{max_seq_length}":
                return enc
            log.warning("the float32 ONNX export of %s is not exact (see its encoder.json): "
                        "embedding with torch", model)
    return SentenceTransformerEncoder(resolve_model_path(model, models_dir),
                                      max_seq_length=max_seq_length)


# a query is a few words: ONNX Runtime's two intra-op threads (no spinning) encode it in 10.6 ms
# instead of 16.5 on one (p50, fp32, the bench's queries; docs/measurements.md), same vectors
QUERY_THREADS = 2


def load_query_encoder(model: str, *, models_dir: Path, max_seq_length: int = 128,
                       onnx: bool = False) -> Encoder:
    """The encoder the app embeds queries with, never importing torch when it can:

    * the exact float32 ONNX export of the offline e5 model (the default engine, see
      :func:`engine`), when exported (``python -m models export-onnx``, done by the set-up);
    * the int8 ONNX encoder (:mod:`models.core.onnx_encoder`) for a build embedded with it, or,
      with ``onnx``, for one embedded with the offline e5 model it approximates, when its folder
      is in ``models_dir`` (exported by the build or ``python -m models export-onnx``):
      :data:`QUERY_THREADS` threads, no spinning, ~1 GiB less resident memory than torch;
    * else :class:`TransformerQueryEncoder` when the model folder qualifies (no
      sentence-transformers import), else :func:`load_encoder`.

    Examples
    --------
    >>> load_query_encoder("e5-small-offline-onnx-int8", models_dir=Path("/nonexistent"))
    Traceback (most recent call last):
    ...
    models.core.onnx_encoder.OnnxModelError: no ONNX model in /nonexistent/e5-small-offline-onnx-int8:
    export it with python -m models export-onnx
    """
    if (factory := _registered(model)) is not None:
        return factory(model, max_seq_length)
    named = {name: variant for variant, name in VARIANT_MODELS.items()}
    if model in named:  # serving: a missing or damaged export is refused, never redone here
        return load_onnx_encoder(models_dir, max_seq_length=max_seq_length, threads=QUERY_THREADS,
                                 spinning=False, export=False, for_queries=True, variant=named[model])
    if onnx and model == SOURCE_MODEL and onnx_folder(models_dir).exists():
        try:
            enc = load_onnx_encoder(models_dir, max_seq_length=max_seq_length, threads=QUERY_THREADS,
                                    spinning=False, export=False, for_queries=True)
            if enc.source_id == f"{model}@{max_seq_length}":
                return enc
        except OnnxModelError as exc:
            log.warning("%s; queries encoded with torch instead", exc)
    # the bf16 engine embeds passages only: its queries go through the exact float32 export too
    if model == SOURCE_MODEL and engine() in ("onnx", "bf16") and onnx_folder(models_dir, "fp32").exists():
        try:
            enc = load_onnx_encoder(models_dir, max_seq_length=max_seq_length, threads=QUERY_THREADS,
                                    spinning=False, export=False, for_queries=True, variant="fp32")
            if enc.exact and enc.model_id == f"{model}@{max_seq_length}":
                return enc
            log.warning("the float32 ONNX export of %s is not exact: queries encoded with torch", model)
        except OnnxModelError as exc:
            log.warning("%s; queries encoded with torch instead", exc)
    path = resolve_model_path(model, models_dir)
    if TransformerQueryEncoder.supports(path):
        try:
            return TransformerQueryEncoder(path, max_seq_length=max_seq_length)
        except Exception as exc:  # an unusual folder: the general loader below
            log.warning("light query encoder unavailable for %s (%s): using sentence-transformers",
                        path, exc)
    return load_encoder(model, models_dir=models_dir, max_seq_length=max_seq_length)


