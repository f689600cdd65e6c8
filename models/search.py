"""Search over the artifacts. ``semantic`` mode: query embedding · dataset embeddings."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 500
MODES = ("semantic",)


@dataclass
class Hit:
    row: int  # artifact row id
    score: float

    def as_dict(self, datasets) -> dict:
        rec = datasets.iloc[self.row]
        return {"id": rec["id"], "title": rec["title"], "organization": rec["organization"],
                "score": round(float(self.score), 4)}


def clean_query(query: str | None, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Drop control characters, collapse spaces, cap the length."""
    if not query:
        return ""
    s = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in str(query))
    s = " ".join(s.split())
    return s[:max_chars]


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]


class SemanticSearcher:
    def __init__(self, embeddings: np.ndarray, encoder) -> None:
        self.embeddings = embeddings
        self.encoder = encoder

    def query_vector(self, query: str) -> np.ndarray:
        return self.encoder.encode([query], kind="query")[0]

    def search(self, query: str, k: int = 10) -> list[Hit]:
        q = self.query_vector(query)
        scores = self.embeddings @ q
        return [Hit(int(i), float(scores[i])) for i in top_k(scores, k)]
