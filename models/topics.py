"""LDA topics (gensim) on French-cleaned text: term weights and per-dataset mixtures."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

N_TERMS = 30


def build_lda(ctx) -> None:
    from gensim.corpora import Dictionary
    from gensim.models import LdaModel

    s = ctx.settings
    docs = ctx.tokens
    dictionary = Dictionary(docs)
    no_below = 2 if len(docs) < 1000 else 5
    dictionary.filter_extremes(no_below=no_below, no_above=0.3, keep_n=50_000)
    corpus = [dictionary.doc2bow(d) for d in docs]
    k = min(s.lda_k, max(2, len(docs) // 5))
    lda = LdaModel(corpus=corpus, id2word=dictionary, num_topics=k, passes=s.lda_passes,
                   random_state=s.seed, alpha="asymmetric", eta="auto", chunksize=4000)
    doc_topics = np.zeros((len(docs), k), dtype=np.float32)
    for i, bow in enumerate(corpus):
        for t, p in lda.get_document_topics(bow, minimum_probability=0.0):
            doc_topics[i, t] = p
    empty = doc_topics.sum(axis=1) == 0
    doc_topics[empty] = 1.0 / k
    topic_word = lda.get_topics()  # (k, V)
    rows = []
    for t in range(k):
        top = np.argsort(-topic_word[t])[:N_TERMS]
        for rank, w in enumerate(top):
            rows.append({"topic": t, "rank": rank, "term": dictionary[int(w)],
                         "weight": float(topic_word[t, w])})
    terms = pd.DataFrame(rows)
    prevalence = doc_topics.sum(axis=0) / doc_topics.sum()
    labels = [" · ".join(terms[terms.topic == t].sort_values("rank").term.head(3)) for t in range(k)]
    topics = pd.DataFrame({"topic": range(k), "label": labels, "prevalence": prevalence})
    ctx.param("lda", k=k, passes=s.lda_passes, seed=s.seed, no_below=no_below, no_above=0.3,
              vocabulary=len(dictionary))
    ctx.writer.save_npy("lda_doc_topics.npy", doc_topics)
    ctx.writer.save_parquet("lda_terms.parquet", terms)
    ctx.writer.save_parquet("lda_topics.parquet", topics)
