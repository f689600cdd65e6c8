"""The query tokenizer (XLM-R's vocabulary cut to the pieces a French query can use) and
:class:`TransformerQueryEncoder` (sentence-transformers vectors from ``transformers`` alone).

Used by :mod:`models.core.encoders` (which picks an encoder) and by
:mod:`models.core.onnx_encoder` (the ONNX export and its query model): a module of its own so
that those two do not import each other.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.core.tokenizer_spec import read_spec
from models.core.unigram import UnigramTokenizer

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


# Unicode blocks of the pieces a query tokenizer keeps: Latin (with its extensions), Greek (NFKC
# turns « µ » into « μ »), punctuation, currency, letter-like symbols, arrows, mathematical
# operators, CJK punctuation, ligatures, full-width forms, emoji. A piece is kept when every one
# of its characters is in these blocks, so any text made of such characters is segmented exactly
# as with the whole vocabulary (a unigram segmentation only uses pieces made of the text's
# characters); a query in another script gets unknown-token ids instead.
QUERY_BLOCKS = ((0x0000, 0x03FF), (0x1E00, 0x1EFF), (0x2000, 0x2BFF), (0x2E00, 0x2E7F),
                (0x3000, 0x303F), (0xFB00, 0xFB06), (0xFE00, 0xFE0F), (0xFF00, 0xFFEF),
                (0x1F000, 0x1FAFF))
SPECIAL_IDS = 4  # <s>, <pad>, </s>, <unk>: kept at their ids (the post-processor inserts them)


def _in_query_blocks(piece: str) -> bool:
    return all(any(a <= ord(c) <= b for a, b in QUERY_BLOCKS) for c in piece)


def query_tokenizer(path: str | Path, *, lean: bool = False, max_length: int = 512):
    """``(tokenizer, id_map)`` for queries: XLM-R's 250,002-piece unigram vocabulary holds
    267 MiB in ``tokenizers``; cut to the pieces of :data:`QUERY_BLOCKS` (~120,000) it holds
    ~120 MiB. ``id_map[new id]`` is the model's id. Any other kind of tokenizer: itself, None.
    ``lean``: the cut vocabulary searched by :class:`models.core.unigram.UnigramTokenizer`
    (``encode(text) -> ids``, truncated to ``max_length``; ~15 MiB instead of ~105).

    Examples
    --------
    >>> folder = "artifacts/models/e5-small-offline-onnx-int8"
    >>> tok, id_map = query_tokenizer(f"{folder}/tokenizer.json")  # doctest: +SKIP
    >>> id_map[tok.encode("query: piscines").ids].tolist()  # doctest: +SKIP
    [0, 41, 1294, 12, ...]
    """
    from tokenizers import Tokenizer  # lazy: loaded only when a tokenizer.json is read

    spec = read_spec(path)  # the word split of the reference encoder (models.core.tokenizer_spec)
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or not isinstance(model.get("vocab"), list):
        return Tokenizer.from_str(json.dumps(spec)), None
    vocab = model["vocab"]
    keep = [i for i, (piece, _score) in enumerate(vocab) if i < SPECIAL_IDS or _in_query_blocks(piece)]
    model["vocab"] = [vocab[i] for i in keep]
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if int(t.get("id", -1)) < SPECIAL_IDS]
    del vocab
    if lean:
        return UnigramTokenizer(spec, max_length=max_length), np.asarray(keep, dtype=np.int64)
    tok = Tokenizer.from_str(json.dumps(spec))
    return tok, np.asarray(keep, dtype=np.int64)


class TransformerQueryEncoder:
    """The same vectors as :class:`SentenceTransformerEncoder` for a local sentence-transformers
    folder made of Transformer -> mean or CLS pooling (-> Normalize), computed with ``tokenizers``
    and ``transformers`` only. The app encodes its queries with it: sentence-transformers is
    never imported there, about 180 MB less resident memory (``python -m models bench``).
    :meth:`supports` says whether a folder qualifies; a test checks cosine >= 0.9999.

    Examples
    --------
    A folder qualifies with its ``modules.json``, mean (or CLS) pooling and a ``tokenizer.json``:

    >>> import tempfile
    >>> modules = [{"path": "", "type": TransformerQueryEncoder.MODULES[0]},
    ...            {"path": "1_Pooling", "type": TransformerQueryEncoder.MODULES[1]}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = Path(tmp)
    ...     _ = (folder / "modules.json").write_text(json.dumps(modules))
    ...     (folder / "1_Pooling").mkdir()
    ...     _ = (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    ...     without_tokenizer = TransformerQueryEncoder.supports(folder)
    ...     _ = (folder / "tokenizer.json").write_text("{}")
    ...     without_tokenizer, TransformerQueryEncoder.supports(folder)
    (False, True)
    """

    MODULES = ("sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling")
    NORMALIZE = "sentence_transformers.models.Normalize"

    def __init__(self, folder: str | Path, *, max_seq_length: int = 128,
                 prefixes: bool | None = None) -> None:
        import torch  # lazy: torch, loaded only to encode or export with it
        from transformers import AutoModel

        folder = Path(folder)
        pooling = json.loads((folder / self._pooling_dir(folder) / "config.json").read_text())
        self.cls_pooling = bool(pooling.get("pooling_mode_cls_token"))
        self._torch = torch
        # queries only: the vocabulary cut to Latin-script pieces (same ids on French text),
        # searched in Python (models.core.unigram) when it is a unigram one
        self._tok, self._id_map = query_tokenizer(folder / "tokenizer.json", lean=True,
                                                  max_length=max_seq_length)
        pad = next((t for t in ("<pad>", "[PAD]") if self._tok.token_to_id(t) is not None), None)
        self._pad_id = self._tok.token_to_id(pad) if pad else 0
        self._lean = not hasattr(self._tok, "encode_batch")
        if not self._lean:
            self._tok.enable_truncation(max_seq_length)
            self._tok.enable_padding(pad_id=self._pad_id, pad_token=pad or "[PAD]")
        self._model = AutoModel.from_pretrained(str(folder)).eval()
        self.path = str(folder)
        self.max_seq_length = max_seq_length
        self.dim = int(self._model.config.hidden_size)
        self.prefixes = ("e5" in folder.name.lower()) if prefixes is None else prefixes
        self.model_id = f"{folder.name}@{max_seq_length}"

    @staticmethod
    def _pooling_dir(folder: Path) -> str:
        modules = json.loads((folder / "modules.json").read_text())
        return next(m["path"] for m in modules if m["type"].endswith(".Pooling"))

    @classmethod
    def supports(cls, folder: str | Path) -> bool:
        folder = Path(folder)
        try:
            modules = [m["type"] for m in json.loads((folder / "modules.json").read_text())]
            if tuple(modules) not in (cls.MODULES, (*cls.MODULES, cls.NORMALIZE)):
                return False
            pooling = json.loads((folder / cls._pooling_dir(folder) / "config.json").read_text())
            st_config = folder / "sentence_bert_config.json"
            lower = json.loads(st_config.read_text()).get("do_lower_case") if st_config.exists() else False
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            return False
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
        return (modes in ({"pooling_mode_mean_tokens"}, {"pooling_mode_cls_token"}) and not lower
                and (folder / "tokenizer.json").is_file())

    def _ids(self, chunk: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Padded token ids and attention mask of a batch (int64 arrays)."""
        if self._lean:
            seqs = [self._tok.encode(t) for t in chunk]
        else:
            enc = self._tok.encode_batch(chunk) if len(chunk) > 1 else [self._tok.encode(chunk[0])]
            seqs = [[i for i, m in zip(e.ids, e.attention_mask, strict=True) if m] for e in enc]
        width = max(len(q) for q in seqs)
        ids = np.full((len(seqs), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for r, q in enumerate(seqs):
            ids[r, :len(q)] = q
            mask[r, :len(q)] = 1
        return ids, mask

    def encode(self, texts, *, kind, batch_size=32, progress=None):
        torch = self._torch
        prefix = (QUERY_PREFIX if kind == "query" else PASSAGE_PREFIX) if self.prefixes else ""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), max(batch_size, 1)):
            chunk = [prefix + t for t in texts[start:start + batch_size]]
            ids, mask = self._ids(chunk)
            ids = torch.from_numpy(self._id_map[ids] if self._id_map is not None else ids)
            mask = torch.from_numpy(mask)
            with torch.inference_mode():
                hidden = self._model(input_ids=ids, attention_mask=mask,
                                     token_type_ids=torch.zeros_like(ids)).last_hidden_state
                if self.cls_pooling:
                    vec = hidden[:, 0]
                else:
                    m = mask.unsqueeze(-1).to(hidden.dtype)
                    vec = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            out[start:start + len(chunk)] = vec.float().numpy()
            if progress:
                progress(len(chunk))
        return _normalise(out)
