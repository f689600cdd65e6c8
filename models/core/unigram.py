"""A lean unigram (SentencePiece) tokenizer for queries: the same ids as ``tokenizers`` for
XLM-R's vocabulary, in ~15 MiB instead of ~105 MiB.

``tokenizers`` keeps a unigram vocabulary in a character trie that costs ~900 bytes a piece
(~105 MiB for the ~120,000 Latin-script pieces the app keeps, :func:`models.core.encoders.
query_tokenizer`). Queries are a few words: a Python dict of pieces and the Viterbi search of
SentencePiece over each word is plenty fast (~0.1 ms a query). Normalisation (the precompiled
NFKC character map) and the word split (``▁`` metaspace) are delegated to ``tokenizers`` itself,
built over a vocabulary of the special pieces only, so the text the search sees is exactly the
one ``tokenizers`` sees. ``tests/test_unigram.py`` checks identical ids on every title and
description start of the sample.

Examples
--------
>>> folder = "artifacts/models/e5-small-offline-onnx-int8/query"
>>> tok = UnigramTokenizer.from_file(f"{folder}/tokenizer.json")  # doctest: +SKIP
>>> tok.encode("query: piscines à Toulouse")  # doctest: +SKIP
[0, 39, 904, 12, 49125, 7, 207, 108336, 2]
"""

from __future__ import annotations

import json
from array import array
from pathlib import Path

from models.core.tokenizer_spec import as_reference

UNK_PENALTY = 10.0  # SentencePiece: an unknown character scores the lowest piece minus this
SEP = "\x00"  # joins the pieces while the parsed JSON is freed (never inside a piece: checked)


class UnigramTokenizer:
    """``encode(text) -> ids`` with ``<s>`` and ``</s>`` around, truncated to ``max_length``.

    Examples
    --------
    A vocabulary of four pieces besides the special ones (a ``tokenizer.json`` as a dict):

    >>> specials = ["<s>", "<pad>", "</s>", "<unk>"]
    >>> flags = dict.fromkeys(["single_word", "lstrip", "rstrip", "normalized"], False)
    >>> spec = {"version": "1.0", "truncation": None, "padding": None, "normalizer": None,
    ...         "added_tokens": [{"id": i, "content": p, "special": True, **flags}
    ...                          for i, p in enumerate(specials)],
    ...         "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"},
    ...         "post_processor": None, "decoder": None,
    ...         "model": {"type": "Unigram", "unk_id": 3, "vocab": [[p, 0.0] for p in specials]
    ...                   + [["▁", -3.0], ["▁piscine", -6.0], ["s", -3.0], ["▁à", -2.0]]}}
    >>> tok = UnigramTokenizer(spec)
    >>> tok.encode("piscines à Paris")  # <s> ▁piscine s ▁à ▁ <unk> s </s>: "Pari" is unknown
    [0, 5, 6, 7, 4, 3, 6, 2]
    >>> UnigramTokenizer(spec, max_length=4).encode("piscines à Paris"), tok.token_to_id("▁à")
    ([0, 5, 6, 2], 7)
    """

    def __init__(self, spec: dict, *, max_length: int = 512) -> None:
        self._build(self._parts(spec), max_length=max_length)

    @staticmethod
    def _parts(spec: dict) -> dict:
        """What the tokenizer keeps of a ``tokenizer.json``: the pieces joined in one string (so
        that the parsed JSON, ~50 MiB of small objects, can be freed before the pieces' dict is
        made: made among them, it pinned ~17 MiB of their memory), the scores, the specials and
        the light spec of the normaliser."""
        model = spec.get("model") or {}
        if model.get("type") != "Unigram" or model.get("byte_fallback"):
            raise ValueError("not a unigram vocabulary without byte fallback")
        vocab = model["vocab"]
        if any(SEP in p for p, _s in vocab):
            raise ValueError("a piece holds the separator character")
        specials = {t["content"]: int(t["id"]) for t in spec.get("added_tokens", []) if t.get("special")}
        n_special = max(specials.values(), default=3) + 1
        # the word split of the reference encoder (models.core.tokenizer_spec)
        light = as_reference(dict(spec, model=dict(model, vocab=[[p, s] for p, s in vocab[:n_special]])))
        return {"blob": SEP.join(p for p, _s in vocab), "scores": array("d", (float(s) for _p, s in vocab)),
                "unk_id": int(model.get("unk_id", 3)), "specials": specials, "light": json.dumps(light)}

    def _build(self, parts: dict, *, max_length: int) -> None:
        from tokenizers import Tokenizer  # lazy: loaded only when a tokenizer.json is read

        self.unk_id = parts["unk_id"]
        # piece -> id, and each id's score: ~17 MiB for 120,000 pieces
        self.scores = parts["scores"]
        vocab = parts["blob"].split(SEP)
        self.pieces: dict[str, int] = {}
        for i, piece in enumerate(vocab):
            if i != self.unk_id and piece not in self.pieces:
                self.pieces[piece] = i
        self.max_piece = max((len(p) for p in self.pieces), default=1)
        self.unk_score = min(self.scores, default=0.0) - UNK_PENALTY
        ends = {p: i for i, p in enumerate(vocab) if p in ("<s>", "</s>", "<pad>")}  # last id wins
        self.bos, self.eos, self.pad_id = ends.get("<s>", 0), ends.get("</s>", 2), ends.get("<pad>", 1)
        self.specials = parts["specials"]
        # normaliser and word split of ``tokenizers`` over a vocabulary of the special pieces only
        self._front = Tokenizer.from_str(parts["light"])
        self.max_length = max_length

    @classmethod
    def from_file(cls, path: str | Path, *, max_length: int = 512) -> UnigramTokenizer:
        """The tokenizer of a ``tokenizer.json`` (its parsed JSON freed before the pieces' dict
        is made: ~19 MiB of private memory in the app instead of ~36)."""
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        parts = cls._parts(spec)
        del spec  # no reference cycle in parsed JSON: freed now
        tok = cls.__new__(cls)
        tok._build(parts, max_length=max_length)
        return tok

    def token_to_id(self, piece: str) -> int | None:
        if piece in self.specials:
            return self.specials[piece]
        return self.pieces.get(piece)

    def _viterbi(self, word: str) -> list[int]:
        """SentencePiece's best segmentation: the path of pieces of highest total score, where a
        position with no one-character piece may also be crossed as ``<unk>`` (lowest score
        minus :data:`UNK_PENALTY`); consecutive unknowns are fused."""
        n = len(word)
        neg = float("-inf")
        best = [0.0] + [neg] * n
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        get = self.pieces.get
        scores = self.scores
        for start in range(n):  # forward: extend every reached position
            base = best[start]
            if base == neg:
                continue
            if word[start] not in self.pieces:  # no one-character piece: the unknown node
                s = base + self.unk_score
                if s > best[start + 1]:
                    best[start + 1], back[start + 1] = s, (start, self.unk_id)
            for end in range(start + 1, min(n, start + self.max_piece) + 1):
                i = get(word[start:end])
                if i is not None:
                    s = base + scores[i]
                    if s > best[end]:
                        best[end], back[end] = s, (start, i)
        out: list[int] = []
        end = n
        while end > 0:
            start, i = back[end]
            if i == self.unk_id and out and out[-1] == self.unk_id:
                end = start  # consecutive unknowns are fused into one
                continue
            out.append(i)
            end = start
        return out[::-1]

    def _split_specials(self, text: str) -> list[tuple[str, bool]]:
        if not self.specials or "<" not in text:
            return [(text, False)]
        parts: list[tuple[str, bool]] = []
        i = 0
        while i < len(text):
            hits = [(text.find(s, i), s) for s in self.specials]
            hits = [(j, s) for j, s in hits if j >= 0]
            if not hits:
                break
            j, s = min(hits, key=lambda h: (h[0], -len(h[1])))
            if j > i:
                parts.append((text[i:j], False))
            parts.append((s, True))
            i = j + len(s)
        if i < len(text):
            parts.append((text[i:], False))
        return parts

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for part, special in self._split_specials(text):
            if special:
                ids.append(self.specials[part])
                continue
            normal = self._front.normalizer.normalize_str(part) if self._front.normalizer else part
            for word, _span in self._front.pre_tokenizer.pre_tokenize_str(normal):
                ids.extend(self._viterbi(word))
        return [self.bos, *ids[:max(self.max_length - 2, 0)], self.eos]
