"""Embedding clusters beside LDA (the BERTopic recipe, without the package).

Embeddings -> UMAP to a few dimensions (cosine, fixed seed) -> HDBSCAN (scikit-learn) ->
a label per cluster from class-based TF-IDF over the datasets' lemmatised French words
(stop words, catalogue boilerplate and generic words are never label words).

Files: ``clusters.npy`` (int32 per dataset row, -1 = noise) and ``clusters.parquet``
(cluster, label, size, terms, scores).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd

from models.core.text import is_label_word
from models.pipeline.lda import ensure_topic_tokens

log = logging.getLogger(__name__)

LABEL_TERMS = 3
N_TERMS = 10


def min_cluster_size_for(n: int) -> int:
    """About sqrt(n)/3, between 5 and 100: 5 for 200 datasets, 17 for 2,600, 89 for 70,000."""
    return int(min(100, max(5, round(math.sqrt(max(n, 1)) / 3))))


def umap_nd(vectors: np.ndarray, *, n_components: int = 5, n_neighbors: int = 15,
            seed: int = 42) -> np.ndarray:
    """UMAP (cosine, min_dist 0) to a few dimensions for density clustering."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    if n < max(n_neighbors + 2, n_components + 2, 10):
        from sklearn.decomposition import PCA  # lazy: sklearn takes seconds to import

        comps = max(1, min(n_components, n, x.shape[1]))
        out = np.zeros((n, n_components), dtype=np.float32)
        if n > 1:
            out[:, :comps] = PCA(n_components=comps, random_state=seed).fit_transform(x)
        return out
    import umap  # lazy: numba-compiled, seconds to import

    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0,
                        metric="cosine", random_state=seed, low_memory=True, verbose=False)
    return reducer.fit_transform(x).astype(np.float32)


def hdbscan_labels(x: np.ndarray, *, min_cluster_size: int, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN cluster of each row (int32, -1 = noise), clusters numbered by decreasing size."""
    from sklearn.cluster import HDBSCAN  # lazy: sklearn takes seconds to import

    n = len(x)
    if n < max(2 * min_cluster_size, 3):
        return np.full(n, -1, dtype=np.int32)
    hdb = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                  cluster_selection_method="eom", copy=True)
    raw = hdb.fit_predict(np.asarray(x, dtype=np.float64))
    return renumber_by_size(raw)


def renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Clusters renumbered 0, 1, ... by decreasing size (ties: first row first); -1 kept."""
    labels = np.asarray(labels)
    out = np.full(len(labels), -1, dtype=np.int32)
    ids = [c for c in np.unique(labels) if c >= 0]
    first = {c: int(np.flatnonzero(labels == c)[0]) for c in ids}
    order = sorted(ids, key=lambda c: (-int((labels == c).sum()), first[c]))
    for new, c in enumerate(order):
        out[labels == c] = new
    return out


def class_tfidf(docs: list[list[str]], labels: np.ndarray, *, n_terms: int = N_TERMS,
                min_df: int = 2) -> dict[int, list[tuple[str, float]]]:
    """Class-based TF-IDF (Grootendorst 2022): for class c and word w,
    tf(c, w) / |c| · log(1 + A / f(w)), A = mean words per class, f(w) = frequency of w in all
    classes (noise included). Returns the top ``n_terms`` (word, score) of each cluster >= 0."""
    from scipy import sparse  # lazy: only this step needs scipy
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    if not len(docs) or not any(docs):
        return {}
    vec = CountVectorizer(analyzer=lambda d: d, min_df=min(min_df, len(docs)))
    try:
        x = vec.fit_transform(docs)
    except ValueError:  # empty vocabulary
        return {}
    classes = np.unique(labels)
    col = np.searchsorted(classes, labels)
    onehot = sparse.csr_matrix((np.ones(len(labels)), (col, np.arange(len(labels)))),
                               shape=(len(classes), len(labels)))
    tf = (onehot @ x).toarray().astype(np.float64)  # classes × vocabulary
    words_per_class = tf.sum(axis=1)
    freq = tf.sum(axis=0)
    avg = words_per_class.mean()
    idf = np.log1p(avg / np.maximum(freq, 1))
    scores = tf / np.maximum(words_per_class, 1)[:, None] * idf[None, :]
    vocab = np.asarray(vec.get_feature_names_out())
    out: dict[int, list[tuple[str, float]]] = {}
    for ci, c in enumerate(classes):
        if c < 0:
            continue
        row = scores[ci]
        top = np.argsort(-row, kind="stable")[:n_terms]
        out[int(c)] = [(str(vocab[j]), float(row[j])) for j in top if row[j] > 0]
    return out


def clusters_frame(labels: np.ndarray, terms: dict[int, list[tuple[str, float]]]) -> pd.DataFrame:
    ids = sorted(int(c) for c in np.unique(labels) if c >= 0)
    sizes = {c: int((labels == c).sum()) for c in ids}
    rows = []
    for c in ids:
        tt = terms.get(c, [])
        words = [w for w, _ in tt]
        label = " · ".join([w for w in words if is_label_word(w)][:LABEL_TERMS]) or f"groupe {c}"
        rows.append({"cluster": c, "label": label, "size": sizes[c], "terms": words,
                     "scores": [round(s, 6) for _, s in tt]})
    return pd.DataFrame(rows, columns=["cluster", "label", "size", "terms", "scores"])


def build_clusters(ctx) -> None:
    """The ``clusters`` step: UMAP-nD + HDBSCAN on the embeddings, c-TF-IDF labels."""
    s = ctx.settings
    n = len(ctx.embeddings)
    t0, cpu0 = time.perf_counter(), time.process_time()
    low = umap_nd(ctx.embeddings, n_components=s.cluster_dims, n_neighbors=s.umap_neighbours,
                  seed=s.seed)
    t_umap = time.perf_counter() - t0
    mcs = s.cluster_min_size or min_cluster_size_for(n)
    min_samples = max(2, mcs // 2)
    log.info("clusters: UMAP to %d dimensions in %.1f s; HDBSCAN (min_cluster_size=%d, "
             "min_samples=%d) on %d points ...", s.cluster_dims, t_umap, mcs, min_samples, n)
    t1 = time.perf_counter()
    labels = hdbscan_labels(low, min_cluster_size=mcs, min_samples=min_samples)
    t_hdb = time.perf_counter() - t1
    t2 = time.perf_counter()
    terms = class_tfidf(ensure_topic_tokens(ctx), labels)
    frame = clusters_frame(labels, terms)
    t_lab = time.perf_counter() - t2
    noise = float((labels < 0).mean()) if n else 0.0
    ctx.writer.save_npy("clusters.npy", labels.astype(np.int32))
    ctx.writer.save_parquet("clusters.parquet", frame)
    ctx.param("clusters", method="umap+hdbscan", umap_dims=s.cluster_dims,
              umap_neighbours=s.umap_neighbours, umap_min_dist=0.0, metric="cosine",
              seed=s.seed, min_cluster_size=mcs, min_samples=min_samples,
              n_clusters=len(frame), noise_share=round(noise, 4), labels="c-tf-idf (lemmas)",
              seconds={"umap": round(t_umap, 2), "hdbscan": round(t_hdb, 2),
                       "labels": round(t_lab, 2)},
              cpu_seconds=round(time.process_time() - cpu0, 2))
    log.info("clusters: %d clusters, %.0f%% noise (UMAP %.1f s, HDBSCAN %.1f s, labels %.1f s)",
             len(frame), 100 * noise, t_umap, t_hdb, t_lab)
