"""Pipeline step ``keyword``: the BM25F impact matrix of :mod:`models.core.bm25` over the
catalogue, saved as plain ``.npy`` arrays (CSC triplet) plus a vocabulary parquet; no pickles."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

# the matrix itself lives in models.core (the app builds one too); re-exported for older imports
from models.core.bm25 import (  # noqa: F401
    FIELDS,
    BM25Params,
    FieldCounts,
    count_fields,
    field_terms,
    field_texts,
    impact_matrix,
)
from models.core.search_params import load_search_params
from models.pipeline.distributed import frame_chunks, keyword_terms_chunk

log = logging.getLogger(__name__)

KEYWORD_FILES = ("keyword_data.npy", "keyword_indices.npy", "keyword_indptr.npy",
                 "keyword_vocab.parquet")


def build_keyword_index(ctx) -> None:
    """Pipeline step: the BM25F impact matrix and its vocabulary."""
    params = BM25Params()
    terms = None
    if getattr(ctx, "dask", None) is not None:
        chunks = frame_chunks(ctx.dask, ctx.df, [c for c in ("title", "acronym", "tags", "organization",
                                                              "description_text") if c in ctx.df])
        parts = ctx.dask.map(keyword_terms_chunk, chunks, params.description_chars)
        terms = {f: [t for part in parts for t in part[f]] for f in FIELDS}
    fc = count_fields(ctx.df, params.description_chars, terms=terms)
    w, df_t, idf = impact_matrix(fc, params)
    ctx.writer.save_npy("keyword_data.npy", w.data.astype(np.float32))
    ctx.writer.save_npy("keyword_indices.npy", w.indices.astype(np.int32))
    ctx.writer.save_npy("keyword_indptr.npy", w.indptr.astype(np.int64))
    ctx.writer.save_parquet("keyword_vocab.parquet",
                            pd.DataFrame({"term": fc.vocab, "df": df_t, "idf": idf}))
    ctx.param("keyword", method="bm25f", vocabulary=len(fc.vocab), nnz=int(w.nnz),
              stemmer="light-fr", **params.as_dict())
    # the fitted search constants in effect for this build (scripts/tools/tune_search.py)
    ctx.param("search", **load_search_params().as_dict())
    log.info("keyword index: %d terms, %d postings", len(fc.vocab), w.nnz)


