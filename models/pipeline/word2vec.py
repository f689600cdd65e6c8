"""``word`` search: word2vec trained on the catalogue's French tokens (gensim).

A dataset's vector is the SIF-weighted mean of its words' vectors
(``a / (a + p(w))``, Arora et al. 2017: frequent words weigh little), L2-normalised;
a query is embedded the same way, and the words nearest to it are what the model
"understood". Stored as plain arrays: ``word_vectors.npy`` (vocabulary × dim, normalised),
``word_vocab.parquet`` (word, count) and ``word_doc_vectors.npy`` (datasets × dim).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

# shared with the app's word search; re-exported for older imports
from models.core.sif import SIF_A, sif_weights

log = logging.getLogger(__name__)


@dataclass
class Word2VecParams:
    vector_size: int = 100
    window: int = 5
    min_count: int = 3
    epochs: int = 8
    sg: int = 0  # CBOW: fast on 2 cores, good enough for topical similarity
    negative: int = 5
    sample: float = 1e-4
    workers: int = 2
    max_doc_tokens: int = 400  # the start of a long description is enough for a dataset vector


def doc_vectors(docs: list[list[str]], index: dict[str, int], vectors: np.ndarray,
                weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the known words of each document, L2-normalised (zeros if none)."""
    from scipy import sparse  # lazy: only this step needs scipy

    indptr = [0]
    cols: list[int] = []
    for doc in docs:
        cols.extend(i for i in (index.get(w) for w in doc) if i is not None)
        indptr.append(len(cols))
    cols_a = np.asarray(cols, dtype=np.int64)
    data = weights[cols_a] if len(cols_a) else np.zeros(0, np.float32)
    m = sparse.csr_matrix((data, cols_a, np.asarray(indptr)), shape=(len(docs), len(vectors)))
    out = np.asarray(m @ vectors, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms


def build_word2vec(ctx) -> None:
    """Pipeline step: train word2vec on ``ctx.tokens`` and embed every dataset."""
    from gensim.models import Word2Vec  # lazy: gensim, only in its build step

    s = ctx.settings
    p = Word2VecParams()
    docs = [d[: p.max_doc_tokens] for d in ctx.tokens]
    min_count = p.min_count if len(docs) >= 5000 else 2
    model = Word2Vec(sentences=docs, vector_size=p.vector_size, window=p.window,
                     min_count=min_count, sg=p.sg, negative=p.negative, sample=p.sample,
                     epochs=p.epochs, workers=p.workers, seed=s.seed)
    wv = model.wv
    words = list(wv.index_to_key)
    counts = np.array([wv.get_vecattr(w, "count") for w in words], dtype=np.int64)
    vecs = wv.get_normed_vectors().astype(np.float32)
    weights = sif_weights(counts)
    index = {w: i for i, w in enumerate(words)}
    dvecs = doc_vectors(docs, index, vecs, weights)
    ctx.writer.save_npy("word_vectors.npy", vecs)
    ctx.writer.save_parquet("word_vocab.parquet", pd.DataFrame({"word": words, "count": counts}))
    ctx.writer.save_npy("word_doc_vectors.npy", dvecs)
    ctx.param("word2vec", vector_size=p.vector_size, window=p.window, min_count=min_count,
              sg=p.sg, negative=p.negative, sample=p.sample, epochs=p.epochs, seed=s.seed,
              workers=p.workers, weighting="sif", sif_a=SIF_A, vocabulary=len(words),
              max_doc_tokens=p.max_doc_tokens)
    log.info("word2vec: %d words, %d dims", len(words), p.vector_size)


