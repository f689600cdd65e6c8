"""``keyword`` search at query time: one sparse column slice of the BM25F impact matrix."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from models.core.bm25 import BM25Params, count_fields, impact_matrix
from models.core.text import keyword_terms

log = logging.getLogger(__name__)


class KeywordSearcher:
    """Scores every dataset for a query with one sparse product (vectorised, no Python loop
    over documents).

    Examples
    --------
    >>> df = pd.DataFrame({"title": ["Piscines de Toulouse", "Qualité de l'air", "Horaires des piscines"],
    ...                    "tags": [["sport"], ["air"], None], "organization": ["Toulouse", "Atmo", "Lyon"],
    ...                    "description": ["", "Mesures", "Ouvertures"]})
    >>> kw = KeywordSearcher.from_frame(df)
    >>> kw.scores("les piscines").astype(float).round(2).tolist()  # « les »: a stop word
    [0.34, 0.0, 0.34]
    >>> round(kw.max_score("piscines"), 2), kw.scores("vélos").tolist()
    (0.47, [0.0, 0.0, 0.0])
    """

    def __init__(self, matrix, vocab: list[str], idf: np.ndarray | None = None) -> None:
        self.matrix = matrix  # CSC, documents × terms
        self.vocab = vocab
        self.term_id = {t: i for i, t in enumerate(vocab)}
        self.idf = (np.asarray(idf, dtype=np.float32) if idf is not None
                    else np.asarray(matrix.max(axis=0).toarray()).ravel().astype(np.float32))
        self.max_idf = float(self.idf.max()) if len(self.idf) else 0.0

    @classmethod
    def from_artifacts(cls, arts) -> KeywordSearcher:
        from scipy import sparse  # lazy: the app starts without scipy (~0.2 s to import)

        table = arts.parquet("keyword_vocab.parquet", columns=["term", "idf"])
        vocab = table["term"].tolist()
        # memory-mapped (~33 MiB on the catalogue): a query reads only its terms' columns
        m = sparse.csc_matrix((arts.npy("keyword_data.npy"), arts.npy("keyword_indices.npy"),
                               arts.npy("keyword_indptr.npy")), shape=(arts.n, len(vocab)))
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
