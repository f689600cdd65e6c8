"""``word`` search at query time over the word2vec files of a build."""

from __future__ import annotations

import logging

import numpy as np

from models.core.sif import sif_weights
from models.core.text import fold, light_stem, tokenize_fr
from models.serve.search import top_k

log = logging.getLogger(__name__)


class WordSearcher:
    """Scores every dataset by the cosine of its word2vec vector (``doc_vecs``) to the query's
    SIF-weighted mean word vector; a word not in the vocabulary is looked up by its light stem.

    Examples
    --------
    >>> ws = WordSearcher(["eau", "piscine", "air"], np.array([30, 20, 10]),
    ...                   np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> ws.query_word_ids("Piscines eau")  # « Piscines » found by its stem
    [1, 0]
    >>> ws.scores("piscines").round(2).tolist(), ws.nearest_words("eau", 1)
    ([0.6, 0.8], [('piscine', 0.8)])
    """

    def __init__(self, words: list[str], counts: np.ndarray, vectors: np.ndarray,
                 doc_vecs: np.ndarray) -> None:
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.vectors = vectors
        self.weights = sif_weights(np.asarray(counts, dtype=np.float64))
        self.doc_vecs = doc_vecs
        self._by_stem: dict[str, int] | None = None

    @classmethod
    def from_artifacts(cls, arts) -> WordSearcher:
        vocab = arts.parquet("word_vocab.parquet")
        # memory-mapped: file-backed pages, shared by gunicorn's workers (~46 MiB on the catalogue)
        return cls(vocab["word"].tolist(), vocab["count"].to_numpy(),
                   arts.npy("word_vectors.npy"), arts.npy("word_doc_vectors.npy"))

    def _stem_index(self) -> dict[str, int]:
        """Light stem -> most frequent vocabulary word with that stem (for unseen forms)."""
        if self._by_stem is None:
            by: dict[str, int] = {}
            for i, w in enumerate(self.words):  # words are sorted by decreasing count
                by.setdefault(light_stem(fold(w)), i)
            self._by_stem = by
        return self._by_stem

    def query_word_ids(self, query: str) -> list[int]:
        out = []
        for tok in tokenize_fr(query):
            i = self.index.get(tok)
            if i is None:
                i = self._stem_index().get(light_stem(fold(tok)))
            if i is not None:
                out.append(i)
        return out

    def query_vector(self, query: str) -> np.ndarray | None:
        ids = self.query_word_ids(query)
        if not ids:
            return None
        v = (self.weights[ids, None] * self.vectors[ids]).sum(axis=0)
        n = np.linalg.norm(v)
        return (v / n).astype(np.float32) if n > 0 else None

    def scores(self, query: str) -> np.ndarray:
        q = self.query_vector(query)
        if q is None:
            return np.zeros(len(self.doc_vecs), dtype=np.float32)
        return self.doc_vecs @ q

    def nearest_words(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """The vocabulary words nearest to the query vector, the query's own words excluded."""
        q = self.query_vector(query)
        if q is None:
            return []
        own = set(self.query_word_ids(query))
        sims = self.vectors @ q
        cand = top_k(sims, k + len(own))
        return [(self.words[i], float(sims[i])) for i in cand if i not in own][:k]
