"""``keyword`` search: BM25F over title, tags, producer and description, French-normalised.

Normalisation (:func:`keyword_terms`), the same for documents and queries:

* lower case, elisions dropped (``l'``, ``d'``, ``qu'`` …), accents folded (``é`` → ``e``,
  ``œ`` → ``oe``), hyphenated words split (``Pas-de-Calais`` → ``pas``, ``calais``);
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
parquet; no pickles.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import numpy as np
import pandas as pd

from models.text import FRENCH_STOP_WORDS, fold_accents

log = logging.getLogger(__name__)

# ---- normalisation --------------------------------------------------------------------------

_ELISION = re.compile(r"\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu)['’ʼ`]", re.IGNORECASE)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "Œ": "oe", "Æ": "ae", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
# interrogatives and auxiliaries that questions are made of, on top of the function words
_EXTRA_STOP = {"combien", "est-ce", "y-a-t-il", "a-t-il", "quelle", "quels", "quelles"}
KEYWORD_STOP_WORDS = frozenset(fold_accents(w) for w in FRENCH_STOP_WORDS | _EXTRA_STOP)


@lru_cache(maxsize=500_000)
def light_stem(word: str) -> str:
    """Plural and feminine endings of an accent-folded lower-case French word.

    Deterministic and dictionary-free, so a query and a document always agree; words of
    three characters or fewer (acronyms, ``bus``, ``eau``) are left unchanged.
    """
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("eaux") or w.endswith("eux") or w.endswith("oux"):
        w = w[:-1]  # réseaux -> reseau, jeux -> jeu, bijoux -> bijou
    elif w.endswith("aux") and len(w) > 4:
        w = w[:-3] + "al"  # postaux -> postal, animaux -> animal
    elif w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        w = w[:-1]  # gares -> gare, élus -> elu
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]  # commune -> commun, polluante -> polluant (base, gare: unchanged)
        if len(w) > 4 and w.endswith("e"):
            w = w[:-1]  # publiee -> publi
    return w


def fold(text: str) -> str:
    """Lower case, elisions removed, ligatures expanded, accents folded."""
    s = _ELISION.sub(" ", text.lower()).translate(_LIGATURES)
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if not unicodedata.combining(c))


def keyword_terms(text: str | None, *, stem: bool = True) -> list[str]:
    """The index terms of a text (documents and queries alike)."""
    if not text:
        return []
    out = []
    for tok in _WORD.findall(fold(text)):
        if tok in KEYWORD_STOP_WORDS:
            continue
        if len(tok) < 2 and not tok.isdigit():
            continue
        out.append(light_stem(tok) if stem else tok)
    return out


def joined_pairs(text: str | None) -> list[str]:
    """Adjacent words glued together (``Open Damir`` → ``opendamir``), so that a query
    written as one word still finds a title written as two."""
    raw = keyword_terms(text, stem=False)
    return [light_stem(a + b) for a, b in pairwise(raw)
            if not (a.isdigit() or b.isdigit())]


# ---- index ----------------------------------------------------------------------------------

FIELDS = ("title", "tags", "producer", "description")


@dataclass
class BM25Params:
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
    """The text of each field, per dataset (the dataset's acronym counts as title)."""
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
    """Per-field term counts (CSR, documents × vocabulary) before any weighting."""

    vocab: list[str]
    counts: dict[str, object]  # field -> scipy.sparse.csr_matrix of float32 counts

    @property
    def n(self) -> int:
        return next(iter(self.counts.values())).shape[0]


def count_fields(df: pd.DataFrame, description_chars: int = 5000) -> FieldCounts:
    from scipy import sparse

    texts = field_texts(df, description_chars)
    vocab: dict[str, int] = {}
    counts = {}
    for f in FIELDS:
        indptr = [0]
        indices: list[int] = []
        for text in texts[f]:
            terms = keyword_terms(text)
            if f == "title":
                terms += joined_pairs(text)
            for term in terms:
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
    """BM25F impacts (CSC float32, documents × vocabulary) and the document frequencies."""
    from scipy import sparse

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


KEYWORD_FILES = ("keyword_data.npy", "keyword_indices.npy", "keyword_indptr.npy",
                 "keyword_vocab.parquet")


def build_keyword_index(ctx) -> None:
    """Pipeline step: the BM25F impact matrix and its vocabulary."""
    params = BM25Params()
    fc = count_fields(ctx.df, params.description_chars)
    w, df_t, idf = impact_matrix(fc, params)
    ctx.writer.save_npy("keyword_data.npy", w.data.astype(np.float32))
    ctx.writer.save_npy("keyword_indices.npy", w.indices.astype(np.int32))
    ctx.writer.save_npy("keyword_indptr.npy", w.indptr.astype(np.int64))
    ctx.writer.save_parquet("keyword_vocab.parquet",
                            pd.DataFrame({"term": fc.vocab, "df": df_t, "idf": idf}))
    ctx.param("keyword", method="bm25f", vocabulary=len(fc.vocab), nnz=int(w.nnz),
              stemmer="light-fr", **params.as_dict())
    from models.serve.ranking import load_search_params

    # the fitted search constants in effect for this build (scripts/tune_search.py)
    ctx.param("search", **load_search_params().as_dict())
    log.info("keyword index: %d terms, %d postings", len(fc.vocab), w.nnz)


class KeywordSearcher:
    """Scores every dataset for a query with one sparse product (vectorised, no Python loop
    over documents)."""

    def __init__(self, matrix, vocab: list[str], idf: np.ndarray | None = None) -> None:
        self.matrix = matrix  # CSC, documents × terms
        self.vocab = vocab
        self.term_id = {t: i for i, t in enumerate(vocab)}
        self.idf = (np.asarray(idf, dtype=np.float32) if idf is not None
                    else np.asarray(matrix.max(axis=0).toarray()).ravel().astype(np.float32))
        self.max_idf = float(self.idf.max()) if len(self.idf) else 0.0

    @classmethod
    def from_artifacts(cls, arts) -> KeywordSearcher:
        from scipy import sparse

        table = arts.parquet("keyword_vocab.parquet", columns=["term", "idf"])
        vocab = table["term"].tolist()
        m = sparse.csc_matrix((arts.npy("keyword_data.npy", mmap=False),
                               arts.npy("keyword_indices.npy", mmap=False),
                               arts.npy("keyword_indptr.npy", mmap=False)),
                              shape=(arts.n, len(vocab)))
        return cls(m, vocab, table["idf"].to_numpy())

    @classmethod
    def from_frame(cls, df: pd.DataFrame, params: BM25Params | None = None) -> KeywordSearcher:
        params = params or BM25Params()
        fc = count_fields(df, params.description_chars)
        w, _, idf = impact_matrix(fc, params)
        return cls(w, fc.vocab, idf)

    def query_terms(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """Known term ids of the query and how often each occurs in it."""
        ids: dict[int, int] = {}
        for t in keyword_terms(query):
            i = self.term_id.get(t)
            if i is not None:
                ids[i] = ids.get(i, 0) + 1
        return (np.fromiter(ids.keys(), dtype=np.int64, count=len(ids)),
                np.fromiter(ids.values(), dtype=np.float32, count=len(ids)))

    def max_score(self, query: str) -> float:
        """The best score a dataset could reach for ``query`` (an impact never exceeds the
        term's idf); a query term unknown to the catalogue counts as the rarest term, since
        no dataset can match it."""
        terms = keyword_terms(query)
        ids, qtf = self.query_terms(query)
        unknown = len(terms) - float(qtf.sum())
        return float((self.idf[ids] * qtf).sum()) + unknown * self.max_idf

    def scores(self, query: str) -> np.ndarray:
        """BM25F score of every dataset (0 where no query term occurs)."""
        ids, qtf = self.query_terms(query)
        if not len(ids):
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        return np.asarray(self.matrix[:, ids] @ qtf, dtype=np.float32).ravel()
