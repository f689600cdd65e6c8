"""The BM25F impact matrix of ``keyword`` search: title, tags, producer and description,
French-normalised.

Normalisation (:func:`keyword_terms`), the same for documents and queries:

* lower case, elisions dropped (``l'``, ``d'``, ``qu'`` …), accents folded (``é`` → ``e``,
  ``œ`` → ``oe``), hyphenated words split (``Saint-Étienne`` → ``saint``, ``etienn`` once stemmed);
* French function words dropped (the catalogue's own vocabulary — *données*, *liste*,
  *csv* — is left to the IDF, which weighs it down without losing queries such as "api");
* a light, deterministic stemmer for plurals and feminine endings
  (``départements`` → ``departement``, ``postaux`` → ``postal``, ``élues`` → ``elu``).
  Tokens of 3 characters or fewer are never changed, so acronyms survive as they are
  (``DVF`` → ``dvf``, ``RNA`` → ``rna``) and numbers (years) are kept.
* titles also index their adjacent word pairs glued together (``opendamir``).

The index is the BM25F *impact* matrix ``W[d, t] = idf(t) · tf̃ / (k1 + tf̃)``, where
``tf̃ = Σ_f w_f · tf_f(d, t) / (1 − b_f + b_f · len_f(d) / avglen_f)``: everything that does not
depend on the query is precomputed, so a query is one sparse column slice and one
matrix-vector product. It is saved as plain ``.npy`` arrays (CSC triplet) plus a vocabulary
parquet; no pickles (:mod:`models.pipeline.keyword_index`). Shared by the pipeline, which
builds the matrix of the catalogue, and by :mod:`models.serve.keyword`, which builds one for a
frame at query time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.core.text import joined_pairs, keyword_terms

FIELDS = ("title", "tags", "producer", "description")


@dataclass
class BM25Params:
    """BM25F parameters: saturation ``k1``, per-field length normalisation ``b`` and weights.

    Examples
    --------
    >>> BM25Params(k1=2.0).as_dict()["k1"], BM25Params().weights["title"]
    (2.0, 3.0)
    """

    k1: float = 1.2
    b: dict[str, float] = field(default_factory=lambda: {
        "title": 0.5, "tags": 0.3, "producer": 0.0, "description": 0.75})
    weights: dict[str, float] = field(default_factory=lambda: {
        "title": 3.0, "tags": 1.5, "producer": 1.0, "description": 1.0})
    description_chars: int = 5000  # the start of a description says what it is about

    def as_dict(self) -> dict:
        return {"k1": self.k1, "b": dict(self.b), "weights": dict(self.weights),
                "description_chars": self.description_chars}


def field_texts(df: pd.DataFrame, description_chars: int = 5000) -> dict[str, list[str]]:
    """The text of each field, per dataset (the dataset's acronym counts as title).

    Examples
    --------
    >>> df = pd.DataFrame({"title": ["Budget primitif"], "acronym": ["BP"], "tags": [["finances"]],
    ...                    "organization": ["Ville de Lyon"], "description_text": ["Les budgets."]})
    >>> field_texts(df, description_chars=6)
    {'title': ['Budget primitif BP'], 'tags': ['finances'], 'producer': ['Ville de Lyon'],
     'description': ['Les bu']}
    """
    def col(name: str) -> pd.Series:
        if name not in df.columns:
            return pd.Series([""] * len(df), index=df.index)
        return df[name].fillna("").astype(str)

    tags = df["tags"].map(lambda t: " ".join(t) if t is not None and len(t) else "") \
        if "tags" in df.columns else col("tags")
    return {
        "title": (col("title") + " " + col("acronym")).tolist(),
        "tags": tags.tolist(),
        "producer": col("organization").tolist(),
        "description": col("description_text").str.slice(0, description_chars).tolist(),
    }


@dataclass
class FieldCounts:
    """Per-field term counts (CSR, documents × vocabulary) before any weighting.

    Examples
    --------
    >>> fc = count_fields(pd.DataFrame({"title": ["Écoles", "Budget des écoles"]}))
    >>> fc.vocab, fc.n
    (['ecol', 'budget', 'budgetecol'], 2)
    >>> fc.counts["title"].toarray().tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    """

    vocab: list[str]
    counts: dict[str, object]  # field -> scipy.sparse.csr_matrix of float32 counts

    @property
    def n(self) -> int:
        return next(iter(self.counts.values())).shape[0]


def field_terms(df: pd.DataFrame, description_chars: int = 5000) -> dict[str, list[list[str]]]:
    """The normalised terms of each field of each dataset (the costly, per-dataset part); titles
    add their adjacent word pairs glued together.

    Examples
    --------
    >>> terms = field_terms(pd.DataFrame({"title": ["Budget primitif"], "organization": ["Ville de Lyon"]}))
    >>> terms["title"], terms["producer"], terms["tags"]
    ([['budget', 'primitif', 'budgetprimitif']], [['vill', 'lyon']], [[]])
    """
    texts = field_texts(df, description_chars)
    out = {}
    for f in FIELDS:
        if f == "title":
            out[f] = [keyword_terms(text) + joined_pairs(text) for text in texts[f]]
        else:
            out[f] = [keyword_terms(text) for text in texts[f]]
    return out


def count_fields(df: pd.DataFrame, description_chars: int = 5000,
                 terms: dict[str, list[list[str]]] | None = None) -> FieldCounts:
    """Counts per field; ``terms`` (from :func:`field_terms`, e.g. computed by slices on a Dask
    cluster and concatenated) skips the normalisation. The vocabulary is numbered in order of
    first appearance, field by field, so it does not depend on how the terms were computed.

    Examples
    --------
    >>> df = pd.DataFrame({"title": ["Écoles"], "description_text": ["Liste des écoles."]})
    >>> fc = count_fields(df)
    >>> fc.vocab, fc.counts["description"].toarray().tolist()
    (['ecol', 'list'], [[1.0, 1.0]])
    """
    from scipy import sparse  # lazy: the app starts without scipy (~0.2 s to import)

    if terms is None:
        terms = field_terms(df, description_chars)
    vocab: dict[str, int] = {}
    counts = {}
    for f in FIELDS:
        indptr = [0]
        indices: list[int] = []
        for doc_terms in terms[f]:
            for term in doc_terms:
                indices.append(vocab.setdefault(term, len(vocab)))
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        counts[f] = (data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64))
    v = len(vocab)
    mats = {}
    for f, (data, indices, indptr) in counts.items():
        m = sparse.csr_matrix((data, indices, indptr), shape=(len(df), v))
        m.sum_duplicates()
        mats[f] = m
    terms = [""] * v
    for t, i in vocab.items():
        terms[i] = t
    return FieldCounts(vocab=terms, counts=mats)


def impact_matrix(fc: FieldCounts, params: BM25Params):
    """BM25F impacts (CSC float32, documents × vocabulary), the document frequencies and the
    IDF of each term.

    Examples
    --------
    >>> fc = count_fields(pd.DataFrame({"title": ["Écoles", "Budget des écoles"]}))
    >>> w, df_t, idf = impact_matrix(fc, BM25Params())
    >>> fc.vocab, df_t.tolist()
    (['ecol', 'budget', 'budgetecol'], [2, 1, 1])
    >>> w.toarray().astype(float).round(2).tolist()  # a term in every document weighs less
    [[0.14, 0.0, 0.0], [0.12, 0.46, 0.46]]
    """
    from scipy import sparse  # lazy: the app starts without scipy (~0.2 s to import)

    n = fc.n
    tf = None
    present = None
    for f in FIELDS:
        m = fc.counts[f]
        w = float(params.weights.get(f, 0.0))
        if w <= 0 or m.nnz == 0:
            continue
        lengths = np.asarray(m.sum(axis=1)).ravel()
        avg = lengths[lengths > 0].mean() if (lengths > 0).any() else 1.0
        b = float(params.b.get(f, 0.75))
        norm = w / (1.0 - b + b * lengths / avg)
        part = sparse.diags(norm.astype(np.float32)) @ m
        tf = part if tf is None else tf + part
        p = (m > 0).astype(np.float32)
        present = p if present is None else present + p
    if tf is None:
        raise ValueError("BM25: every field weight is zero")
    tf = tf.tocsr()
    df_t = np.asarray((present > 0).sum(axis=0)).ravel().astype(np.int64)
    idf = np.log1p((n - df_t + 0.5) / (df_t + 0.5)).astype(np.float32)
    tf.data = (tf.data / (params.k1 + tf.data)).astype(np.float32)
    w = tf @ sparse.diags(idf)
    w = w.tocsc().astype(np.float32)
    w.sort_indices()
    w.eliminate_zeros()
    return w, df_t, idf
