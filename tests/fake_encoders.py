"""The tests' encoder: deterministic, instant, no model. Never part of the product.

Importing this module registers it under the name ``fake-N`` (N dimensions, default 64), so a
build or an app started by a test — in process or through ``python -m models`` with
``EXPLORER_ENCODER_PLUGINS=tests.fake_encoders``, which ``conftest.py`` sets — can name it."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from models.core.encoders import register_encoder

_WORD = re.compile(r"\w+", re.UNICODE)


class FakeEncoder:
    """Bag of hashed words: texts sharing words get similar vectors.

    Examples
    --------
    >>> enc = FakeEncoder(16)
    >>> enc.encode(["piscines Toulouse"], kind="query").shape
    (1, 16)
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"fake-hash-{dim}"
        self.calls = 0

    def encode(self, texts, *, kind, batch_size=32, progress=None):
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            if not out[i].any():
                out[i, 0] = 1.0
        if progress:
            progress(len(texts))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def _make(name: str, max_seq_length: int) -> FakeEncoder:
    """``fake-32`` -> 32 dimensions; ``fake`` -> 64."""
    tail = name.rsplit("-", 1)[-1]
    return FakeEncoder(int(tail) if tail.isdigit() else 64)


register_encoder("fake", _make)
