"""The e5-small encoder run by ONNX Runtime (no torch at run time), in two variants.

* ``fp32`` (``e5-small-offline-onnx-fp32``): the same float32 graph as torch with ONNX Runtime's
  operator fusions. Its vectors equal torch's within float rounding (max |Δ| 1.5e-7 on 300
  catalogue passages, the same order as torch against itself with another batch size, 1e-7) at
  ~1.4x torch's speed on 2 cores: the **default engine** of the offline e5 model for builds and
  for the app's queries (:func:`models.core.encoders.load_encoder`).
* ``int8`` (``e5-small-offline-onnx-int8``): the fused graph quantised dynamically (int8 weights,
  per output channel, activations quantised on the fly): ~2.5x torch, cosine ≥ 0.98 with it.

Build time (:func:`ensure_onnx_model`, needs torch once): the sentence-transformers folder of
``models.core.e5_offline`` is exported with ``torch.onnx.export`` (the transformer, mean pooling and
L2 normalisation inside the graph), its operators fused by ONNX Runtime's BERT optimiser
(attention, embedding + layer norm, GELU), then quantised for ``int8``. Each export is checked
against torch on :data:`PROBE_TEXTS` (one padded batch, one text over 128 tokens): the largest
difference is recorded in ``encoder.json`` and a variant within :data:`EXACT_MAX_ABS` of torch is
*exact* — its ``model_id`` is the torch model's (same embedding cache, same build identity).
The result lands in ``<models dir>/e5-small-offline-onnx-<variant>/`` — ``model.onnx``,
``tokenizer.json`` and ``encoder.json`` (source model, quantisation, fidelity, sha256 and size of
``model.onnx``) — written atomically, once; later calls only check it.

Run time (:class:`OnnxEncoder`): ``tokenizers`` + ``onnxruntime`` + numpy. Same protocol as
the encoders of ``models.core.encoders`` (``model_id``, ``dim``, ``encode(texts, kind=...)``),
``query: `` / ``passage: `` prefixes, 128 tokens at most. Its ``model_id`` differs from the
torch model's, so the embedding cache never mixes the two; ``source_id`` names the model it
approximates (its vectors have cosine ≥ 0.98 with the torch ones: ``python -m models bench
--encoders``), which lets the app encode queries with it against a build embedded with torch.

A damaged ``model.onnx`` (truncated, wrong size or hash, unreadable) raises
:class:`OnnxModelError`, one line saying what to do; :func:`ensure_onnx_model` exports again.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from models.core.prepacked import (
    PACKED_MODEL,
    PROBE_TOLERANCE,
    ensure_prepacked,
    prepacked_folder,
    probe_gap,
    session_options,
)
from models.core.store import ArtifactError, exclusive_lock, sha256_file, staged_folder
from models.core.tokenizer_spec import load_tokenizer
from models.core.transformer_encoder import TransformerQueryEncoder, query_tokenizer
from models.core.unigram import UnigramTokenizer  # searched in Python: ~90 MiB less than tokenizers

log = logging.getLogger(__name__)

ONNX_MODEL = "e5-small-offline-onnx-int8"  # the model name (``--model``) of the int8 encoder
ONNX_FP32_MODEL = "e5-small-offline-onnx-fp32"  # ... and of the exact float32 one
SOURCE_MODEL = "e5-small-offline"
VARIANT_MODELS = {"int8": ONNX_MODEL, "fp32": ONNX_FP32_MODEL}
META = "encoder.json"
FORMAT = 1
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
# chosen with scripts/experiments/onnx_variants.py (README): the most faithful variant at >= 2x torch's speed
QUANTISATION = {"weight_type": "QInt8", "per_channel": True, "fused": True, "opset": 17}
FP32 = {"weight_type": None, "fused": True, "opset": 17}  # no quantisation
VARIANTS = {"int8": QUANTISATION, "fp32": FP32}
# "equal within float rounding": measured, torch against itself with batch sizes 32 and 7 differs
# by up to 9.9e-8 per component, the fused fp32 export against torch by 1.5e-7 (300 passages)
EXACT_MAX_ABS = 1e-6
PROBE_TEXTS = (
    "Calendrier scolaire", "qualité de l'eau potable", "PLU", "Base adresse nationale",
    "Prix des carburants en France : flux quotidien des stations-service",
    "Liste des établissements d'enseignement du premier et du second degré, avec leurs "
    "coordonnées géographiques, leur secteur et leur académie.",
    "Données de comptage des vélos sur les pistes cyclables de la métropole, heure par heure, "
    "depuis 2018. " * 12,  # over 128 tokens: truncation
    "Résultats des élections municipales 2020 – 1er tour, par bureau de vote",
)


class OnnxModelError(ArtifactError):
    """The ONNX model folder is missing or damaged (the message says what to do). An
    :class:`ArtifactError`: the command line prints it in one line, the app refuses to start on
    it (or serves without the semantic modes), never a traceback.

    Examples
    --------
    >>> issubclass(OnnxModelError, ArtifactError)
    True
    >>> check_onnx_folder("/nonexistent")
    Traceback (most recent call last):
    ...
    models.core.onnx_encoder.OnnxModelError: /nonexistent/encoder.json unreadable (FileNotFoundError):
    re-export with python -m models export-onnx
    """


def _read_meta(folder: Path) -> dict:
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as exc:
        raise OnnxModelError(f"{folder / META} unreadable ({type(exc).__name__}): "
                             f"re-export with python -m models export-onnx") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise OnnxModelError(f"{folder / META} has an unknown format: "
                             "re-export with python -m models export-onnx")
    return meta


def check_onnx_folder(folder: str | Path, *, verify_hash: bool = False) -> dict:
    """The folder's metadata if ``model.onnx`` and ``tokenizer.json`` are there with the recorded
    size (and sha256 with ``verify_hash``); else :class:`OnnxModelError`.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> _ = (folder / META).write_text(json.dumps({"format": FORMAT, "bytes": 4, "dim": 384}))
    >>> _ = (folder / "tokenizer.json").write_text("{}")
    >>> _ = (folder / "model.onnx").write_bytes(b"ONNX")
    >>> check_onnx_folder(folder)["dim"]
    384
    >>> _ = (folder / "model.onnx").write_bytes(b"ON")  # truncated
    >>> check_onnx_folder(folder)
    Traceback (most recent call last):
    ...
    models.core.onnx_encoder.OnnxModelError: .../model.onnx is damaged (2 bytes, 4 expected):
    re-export with python -m models export-onnx
    >>> tmp.cleanup()
    """
    folder = Path(folder)
    meta = _read_meta(folder)
    model = folder / "model.onnx"
    if not model.is_file() or not (folder / "tokenizer.json").is_file():
        raise OnnxModelError(f"{folder} lacks model.onnx or tokenizer.json: "
                             "re-export with python -m models export-onnx")
    size = model.stat().st_size
    if size != meta.get("bytes"):
        raise OnnxModelError(f"{model} is damaged ({size} bytes, {meta.get('bytes')} expected): "
                             "re-export with python -m models export-onnx")
    if verify_hash and sha256_file(model) != meta.get("sha256"):
        raise OnnxModelError(f"{model} is damaged (sha256 differs from {META}): "
                             "re-export with python -m models export-onnx")
    return meta


def export_onnx(source: str | Path, out_dir: str | Path, *, max_seq_length: int = 128,
                variant: str = "int8") -> Path:
    """Export, fuse and (``int8``) quantise the sentence-transformers folder ``source`` into
    ``out_dir`` (written atomically; replaces a previous one), then measure it against torch on
    :data:`PROBE_TEXTS`. Needs torch, transformers, onnx."""
    import onnx  # lazy: ONNX, loaded only to export or to encode
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    source, out_dir = Path(source), Path(out_dir)
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: choose among {', '.join(VARIANTS)}")
    spec = VARIANTS[variant]
    if not TransformerQueryEncoder.supports(source):
        raise OnnxModelError(f"{source} is not a transformer + mean pooling folder: "
                             "no ONNX export for it")
    pooling = json.loads((source / TransformerQueryEncoder._pooling_dir(source) / "config.json").read_text())
    if not pooling.get("pooling_mode_mean_tokens"):
        raise OnnxModelError(f"{source}: only mean pooling is exported to ONNX")
    t0 = time.perf_counter()
    # eager attention: the traced graph keeps the attention mask (sdpa may drop an all-ones one)
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    cfg = model.config

    class MeanPooled(torch.nn.Module):
        def __init__(self, m) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            hidden = self.m(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(vec, p=2.0, dim=1)

    prefixes = "e5" in source.name.lower()
    probe_ids, probe_mask = probe_batch(source / "tokenizer.json", max_seq_length=max_seq_length,
                                        prefix=PASSAGE_PREFIX if prefixes else "")
    with torch.inference_mode():  # before the export (see probe_fidelity)
        reference = MeanPooled(model)(torch.from_numpy(probe_ids), torch.from_numpy(probe_mask)).numpy()
    with staged_folder(out_dir) as tmp:
        # a padded dummy batch, so that the mask is a real input of the traced graph
        ids = torch.tensor([[0, 10, 11, 12, 2, 1, 1, 1], [0, 5, 6, 7, 8, 9, 10, 2]])
        mask = (ids != 1).long()
        fp32 = tmp / "fp32.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                MeanPooled(model), (ids, mask), str(fp32),
                input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
                opset_version=spec["opset"], dynamo=False)
        to_quantise = fp32
        if spec["fused"]:
            opt = optimize_model(str(fp32), model_type="bert", num_heads=cfg.num_attention_heads,
                                 hidden_size=cfg.hidden_size, opt_level=1)
            to_quantise = tmp / "fused.onnx"
            opt.save_model_to_file(str(to_quantise))
        if spec["weight_type"] is None:
            to_quantise.replace(tmp / "model.onnx")
        else:
            root = logging.getLogger()
            level = root.level
            root.setLevel(max(level, logging.WARNING))  # the quantiser logs every tensor at INFO
            try:
                quantize_dynamic(str(to_quantise), str(tmp / "model.onnx"),
                                 weight_type=getattr(QuantType, spec["weight_type"]),
                                 per_channel=spec["per_channel"],
                                 extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            finally:
                root.setLevel(level)
        for name in ("fp32.onnx", "fused.onnx"):
            (tmp / name).unlink(missing_ok=True)
        shutil.copyfile(source / "tokenizer.json", tmp / "tokenizer.json")
        st_cfg = source / "sentence_bert_config.json"
        fidelity = probe_fidelity(reference, tmp / "model.onnx", probe_ids, probe_mask)
        meta = {
            "format": FORMAT, "source": source.name, "source_id": f"{source.name}@{max_seq_length}",
            "max_seq_length": max_seq_length, "dim": int(cfg.hidden_size), "prefixes": prefixes,
            "do_lower_case": bool(json.loads(st_cfg.read_text()).get("do_lower_case"))
            if st_cfg.exists() else False,
            "variant": variant, "quantisation": spec, "fidelity": fidelity,
            "exact": fidelity["max_abs_diff"] <= EXACT_MAX_ABS, "torch": torch.__version__,
            "onnxruntime": _version("onnxruntime"), "onnx": onnx.__version__,
            "bytes": (tmp / "model.onnx").stat().st_size, "sha256": sha256_file(tmp / "model.onnx"),
            "export_seconds": round(time.perf_counter() - t0, 1),
        }
        (tmp / META).write_text(json.dumps(meta, indent=2))
    log.info("ONNX %s model exported to %s in %.0f s (%.0f MB; against torch: max |Δ| %.1e, "
             "min cosine %.7f%s)", variant, out_dir, meta["export_seconds"], meta["bytes"] / 1e6,
             fidelity["max_abs_diff"], fidelity["min_cosine"], ", exact" if meta["exact"] else "")
    return out_dir


def probe_batch(tokenizer_json: Path, *, max_seq_length: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """:data:`PROBE_TEXTS` as one right-padded batch: token ids and attention mask (int64)."""
    tok = load_tokenizer(tokenizer_json)
    tok.enable_truncation(max_seq_length)
    encs = [e.ids for e in tok.encode_batch([prefix + t for t in PROBE_TEXTS])]
    ids = np.full((len(encs), max(len(e) for e in encs)), 1, dtype=np.int64)  # 1: <pad>, masked
    mask = np.zeros_like(ids)
    for r, e in enumerate(encs):
        ids[r, :len(e)], mask[r, :len(e)] = e, 1
    return ids, mask


def probe_fidelity(reference: np.ndarray, model_file: Path, ids: np.ndarray, mask: np.ndarray) -> dict:
    """``model_file`` on the probe batch against torch's ``reference`` vectors: the largest
    per-component difference and the smallest cosine. The reference must be computed *before*
    ``torch.onnx.export``: tracing leaves the torch module answering differently afterwards
    (measured: max |Δ| 0.03 on padded rows, while the exported graph itself is exact)."""
    import onnxruntime as ort  # lazy: ONNX, loaded only to export or to encode

    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    return {"texts": len(ids), "max_abs_diff": float(np.abs(reference - got).max()),
            "min_cosine": float((reference * got).sum(axis=1).min())}


QUERY_DIR = "query"  # the queries' model: vocabulary cut to Latin-script pieces (the app)
# 2: weights in ``model.data`` beside the graph, memory-mapped by ONNX Runtime: the app's fp32
# query model costs ~2 MiB of private memory instead of ~270 (its pages are file-backed, shared by
# gunicorn's workers). Read without prepacking it costs ~17 ms of CPU a query instead of ~9;
# ``query/packed/`` (models.core.prepacked) holds the weights packed once, memory-mapped too
# (docs/measurements.md)
QUERY_FORMAT = 2
QUERY_DATA = "model.data"


def write_query_model(folder: str | Path) -> Path:
    """``FOLDER/query/``: ``model.onnx`` whose word-embedding table keeps only the rows of the
    pieces :func:`models.core.encoders.query_tokenizer` keeps (~120,000 of 250,002: ~46 MiB less
    in the app for int8, ~180 MiB for fp32), its weights in ``model.data`` (memory-mapped, see
    :data:`QUERY_FORMAT`), the matching ``tokenizer.json`` (read by ``tokenizers`` directly: ~1 s faster
    than cutting the vocabulary at each start) and ``ids.npy`` (each kept piece's id in the full
    model). Same vectors for text written in Latin script (test). Needs ``onnx``, not torch;
    written atomically. Returns the query folder.

    Examples
    --------
    >>> write_query_model("artifacts/models/e5-small-offline-onnx-int8")  # doctest: +SKIP
    PosixPath('artifacts/models/e5-small-offline-onnx-int8/query')
    """
    import onnx  # lazy: ONNX, loaded only to export or to encode
    from onnx import numpy_helper

    folder = Path(folder)
    meta = check_onnx_folder(folder)
    tok, keep = query_tokenizer(folder / "tokenizer.json")
    if keep is None:
        raise OnnxModelError(f"{folder / 'tokenizer.json'} is not a unigram vocabulary: no query model")
    model = onnx.load(str(folder / "model.onnx"))
    tables = [i for i, t in enumerate(model.graph.initializer)
              if t.name.endswith("word_embeddings.weight_quantized")
              or t.name.endswith("word_embeddings.weight")]
    if len(tables) != 1:
        raise OnnxModelError(f"{folder / 'model.onnx'}: no single word-embedding table found")
    init = model.graph.initializer[tables[0]]
    table = numpy_helper.to_array(init)
    if table.ndim != 2 or int(keep.max()) >= len(table):
        raise OnnxModelError(f"{folder / 'model.onnx'}: its word embeddings do not match tokenizer.json")
    init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(table[keep]), init.name))
    del table
    out = folder / QUERY_DIR
    with staged_folder(out, prefix=QUERY_DIR) as tmp:
        onnx.save(model, str(tmp / "model.onnx"), save_as_external_data=True,
                  all_tensors_to_one_file=True, location=QUERY_DATA, size_threshold=1024)
        del model
        tok.save(str(tmp / "tokenizer.json"))
        np.save(tmp / "ids.npy", keep, allow_pickle=False)
        (tmp / META).write_text(json.dumps({
            "format": QUERY_FORMAT, "pieces": len(keep), "source_sha256": meta.get("sha256"),
            "bytes": (tmp / "model.onnx").stat().st_size,
            "data_bytes": (tmp / QUERY_DATA).stat().st_size}, indent=2))
    log.info("query model written to %s (%d pieces, %.0f MB)", out, len(keep),
             (out / QUERY_DATA).stat().st_size / 1e6)
    return out


def query_model_folder(folder: str | Path) -> Path | None:
    """``FOLDER/query`` when it was written for this ``model.onnx`` and is whole, else None.

    Examples
    --------
    >>> query_model_folder("/nonexistent") is None
    True
    """
    folder = Path(folder)
    q = folder / QUERY_DIR
    try:
        meta = json.loads((q / META).read_text())
        parent = _read_meta(folder)
    except (OSError, ValueError, OnnxModelError):
        return None
    ok = (isinstance(meta, dict) and meta.get("format") == QUERY_FORMAT
          and meta.get("source_sha256") == parent.get("sha256")
          and (q / "model.onnx").is_file() and (q / "model.onnx").stat().st_size == meta.get("bytes")
          and (q / QUERY_DATA).is_file() and (q / QUERY_DATA).stat().st_size == meta.get("data_bytes")
          and (q / "tokenizer.json").is_file())
    return q if ok else None


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def onnx_folder(models_dir: str | Path, variant: str = "int8") -> Path:
    """Where the export of ``variant`` lives in a models folder.

    Examples
    --------
    >>> onnx_folder("artifacts/models").as_posix(), onnx_folder("models", "fp32").name
    ('artifacts/models/e5-small-offline-onnx-int8', 'e5-small-offline-onnx-fp32')
    """
    return Path(models_dir) / VARIANT_MODELS[variant]


def ensure_onnx_model(models_dir: str | Path, *, max_seq_length: int = 128, variant: str = "int8") -> Path:
    """The ONNX folder of ``variant`` in ``models_dir``, exported once (from the offline e5
    folder, built too if needed); a damaged one is reported in one line and exported again."""
    folder = onnx_folder(models_dir, variant)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # one export at a time: a first run exports int8 while its sample build reads the catalogue, and
    # the build, reaching its embeddings, waits for that export instead of making a second one
    with exclusive_lock(folder.parent / f".{folder.name}.lock", what=f"the export of {folder.name}"):
        if folder.exists():
            try:
                meta = check_onnx_folder(folder, verify_hash=True)
            except OnnxModelError as exc:
                log.warning("%s; exporting it again", exc)
            else:
                if meta.get("max_seq_length") == max_seq_length:
                    _ensure_query_model(folder)
                    return folder
                log.info("%s was exported for %s tokens, %d wanted: exporting again", folder,
                         meta.get("max_seq_length"), max_seq_length)
        from models.core.e5_offline import build_model_folder

        source = build_model_folder(Path(models_dir) / SOURCE_MODEL)
        export_onnx(source, folder, max_seq_length=max_seq_length, variant=variant)
        _ensure_query_model(folder)
        return folder


def _ensure_query_model(folder: Path) -> None:
    """The queries' model of an export (written once; the app works without it, only slower
    to start and ~50 MiB heavier) and its prepacked copy (:mod:`models.core.prepacked`, written
    again on another machine or ONNX Runtime): a failure is logged, never fatal."""
    query = query_model_folder(folder)
    if query is None:
        try:
            query = write_query_model(folder)
        except (OnnxModelError, OSError, ValueError, ImportError) as exc:
            log.warning("no query model for %s (%s): the app cuts the vocabulary at each start", folder, exc)
            return
    ensure_prepacked(query, vocabulary=query_pieces(query))


def query_pieces(query: Path) -> int:
    """The number of pieces of a query model's vocabulary (0 when unknown).

    Examples
    --------
    >>> query_pieces(Path("/nonexistent"))
    0
    """
    try:
        return int(json.loads((query / META).read_text()).get("pieces") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return 0


def _first_line(exc: BaseException) -> str:
    """An exception's first line, at most 200 characters (its class name when it has no text)."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


class OnnxEncoder:
    """e5-small int8 through ONNX Runtime: ``tokenizers`` + ``onnxruntime`` + numpy only.

    ``threads``: ONNX Runtime's intra-op threads (0: one per core); ``spinning=False`` makes idle
    threads sleep instead of spinning (the app, where a query is a few words and cores are shared).
    """

    def __init__(self, folder: str | Path, *, threads: int = 0, spinning: bool = True,
                 for_queries: bool = False) -> None:
        import onnxruntime as ort  # lazy: ONNX, loaded only to export or to encode

        folder = Path(folder)
        meta = check_onnx_folder(folder)
        self.path = str(folder)
        self.max_seq_length = int(meta["max_seq_length"])
        self.dim = int(meta["dim"])
        self.prefixes = bool(meta.get("prefixes"))
        self.lower = bool(meta.get("do_lower_case"))
        self.source_id = meta.get("source_id")  # the model these vectors approximate
        # equal to the source model's within float rounding (measured at export): the same model
        self.exact = bool(meta.get("exact")) and bool(self.source_id)
        self.model_id = self.source_id if self.exact else f"{folder.name}@{self.max_seq_length}"
        self.engine = f"onnxruntime-{meta.get('variant', 'int8')}"  # recorded in a build's manifest
        self.threads = threads
        opts = session_options(threads, spinning=spinning)
        query = query_model_folder(folder) if for_queries else None
        packed = prepacked_folder(query) if query is not None else None
        # the weights packed once, memory-mapped (models.core.prepacked), when they fit this machine
        self._session = self._packed_session(ort, opts, packed) if packed is not None else None
        self.prepacked = self._session is not None
        if not self.prepacked:
            if query is not None:  # memory-mapped weights stay file-backed only without prepacking
                opts.add_session_config_entry("session.disable_prepacking", "1")
            model_file = (query or folder) / "model.onnx"
            try:
                self._session = ort.InferenceSession(str(model_file), opts,
                                                     providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime raises its own classes for a corrupt protobuf
                raise OnnxModelError(f"{model_file} cannot be loaded ({_first_line(exc)}): "
                                     "re-export with python -m models export-onnx") from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lean = None
        if query is not None:  # the app: the queries' model and vocabulary (write_query_model),
            self._lean = UnigramTokenizer.from_file(query / "tokenizer.json", max_length=self.max_seq_length)
            self._tok, self._id_map = self._lean, None
            self.pad_id = self._lean.pad_id
            return
        if for_queries:  # the app without it: the vocabulary cut at start (~1 s), ~150 MiB less
            log.info("%s has no query model: python -m models export-onnx writes it", folder)
            self._tok, self._id_map = query_tokenizer(folder / "tokenizer.json")
        else:
            self._tok, self._id_map = load_tokenizer(folder / "tokenizer.json"), None
        self._tok.enable_truncation(self.max_seq_length)
        pad = next((t for t in ("<pad>", "[PAD]") if self._tok.token_to_id(t) is not None), None)
        self.pad_id = self._tok.token_to_id(pad) if pad else 0
        self._tok.no_padding()

    @staticmethod
    def _packed_session(ort, opts, packed: Path):
        """A session on the prepacked query model, or None (logged) when it cannot be loaded or
        its probe vectors are not those of the plain model on this machine."""
        try:
            session = ort.InferenceSession(str(packed / PACKED_MODEL), opts,
                                           providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own classes for a corrupt protobuf
            log.warning("prepacked query model %s not loaded (%s): python -m models export-onnx writes "
                        "it again", packed, _first_line(exc))
            return None
        gap = probe_gap(session, packed)
        if not gap <= PROBE_TOLERANCE:
            log.warning("prepacked query model %s gives other vectors than the plain one (gap %.3g): "
                        "not used; python -m models export-onnx writes it again", packed, gap)
            return None
        return session

    @property
    def tokenizer(self):
        """What splits a text into ids: the app's lean :class:`UnigramTokenizer` (a query model
        folder), else a ``tokenizers.Tokenizer`` (its ids go through :attr:`id_map` when the
        vocabulary was cut at start)."""
        return self._tok

    @property
    def lean(self) -> bool:
        """True when :attr:`tokenizer` is the lean :class:`UnigramTokenizer` of a query model."""
        return self._lean is not None

    @property
    def id_map(self) -> np.ndarray | None:
        """Full-vocabulary id -> the cut vocabulary's id, or None when nothing was cut."""
        return self._id_map

    @property
    def session(self):
        """The ONNX Runtime session running the graph (an experiment may set another session
        of the same inputs and outputs, to time another export through this tokenizer)."""
        return self._session

    @session.setter
    def session(self, value) -> None:
        self._session = value
        self._inputs = {i.name for i in value.get_inputs()}

    def encode(self, texts: Sequence[str], *, kind: str, batch_size: int = 32,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """L2-normalised float32 vectors. Texts are batched by length (less padding), the
        output keeps the input order."""
        prefix = (QUERY_PREFIX if kind == "query" else PASSAGE_PREFIX) if self.prefixes else ""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        batch_size = max(int(batch_size), 1)
        chunk_size = max(batch_size * 8, 1)
        for c0 in range(0, len(texts), chunk_size):
            chunk = [prefix + (t.lower() if self.lower else t) for t in texts[c0:c0 + chunk_size]]
            encs = ([self._lean.encode(t) for t in chunk] if self._lean is not None
                    else [e.ids for e in self._tok.encode_batch(chunk)])
            order = np.argsort([-len(e) for e in encs], kind="stable")
            for b0 in range(0, len(order), batch_size):
                idx = order[b0:b0 + batch_size]
                width = max(len(encs[i]) for i in idx)
                ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
                mask = np.zeros((len(idx), width), dtype=np.int64)
                for r, i in enumerate(idx):
                    n = len(encs[i])
                    ids[r, :n] = encs[i]
                    mask[r, :n] = 1
                if self._id_map is not None:
                    ids = self._id_map[ids]
                feeds = {"input_ids": ids, "attention_mask": mask}
                vecs = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
                out[c0 + idx] = vecs
                if progress:
                    progress(len(idx))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def load_onnx_encoder(models_dir: str | Path, *, max_seq_length: int = 128, threads: int = 0,
                      spinning: bool = True, export: bool = True,
                      for_queries: bool = False, variant: str = "int8") -> OnnxEncoder:
    """The ``variant`` encoder of ``models_dir``; exported first when missing or damaged if
    ``export`` (that needs torch), else :class:`OnnxModelError` for a missing or damaged folder.

    Examples
    --------
    >>> load_onnx_encoder("/nonexistent", export=False, variant="fp32")
    Traceback (most recent call last):
    ...
    models.core.onnx_encoder.OnnxModelError: no ONNX model in /nonexistent/e5-small-offline-onnx-fp32:
    export it with python -m models export-onnx
    """
    folder = ensure_onnx_model(models_dir, max_seq_length=max_seq_length, variant=variant) if export \
        else onnx_folder(models_dir, variant)
    if not export and not folder.exists():
        raise OnnxModelError(f"no ONNX model in {folder}: export it with python -m models export-onnx")
    try:
        return OnnxEncoder(folder, threads=threads, spinning=spinning, for_queries=for_queries)
    except OnnxModelError as exc:
        if not export:
            raise
        log.warning("%s; exporting it again", exc)
        shutil.rmtree(folder, ignore_errors=True)
        return OnnxEncoder(ensure_onnx_model(models_dir, max_seq_length=max_seq_length, variant=variant),
                           threads=threads, spinning=spinning, for_queries=for_queries)
