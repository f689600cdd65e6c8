"""Build step ``passages``: descriptions split into passages, the first few embedded.

The assistant (:mod:`models.serve.assistant`) reranks its candidates with passage-level
evidence and shows the passage that best answers the question. A passage is a run of whole
sentences of ``description_text`` grouped to about ``PASSAGE_WORDS`` words (a sentence longer
than ``PASSAGE_MAX_WORDS`` words is cut into pieces of that size).

Cost control (the bar: the build gets at most 25 % slower):

* passage 0's vector is the dataset's own vector (``embeddings.npy``: title + the beginning of
  the description, up to the encoder's 128 tokens), so a description of one passage costs
  nothing more;
* only passages ``1 .. max_embedded`` get a vector of their own (``passage_embeddings.npy``),
  computed with the build's encoder through the content-keyed embedding cache (``passage:``
  prefix, so a rebuild re-encodes nothing unchanged), and at most ``BUDGET_SHARE`` × the
  number of datasets of them: passage 1 of the most viewed descriptions first;
* passages past that are kept as character spans (no vector) up to ``max_passages``: the
  answer extraction still reads them lexically.

Files (row ids join them to ``datasets.parquet``):

* ``passages.parquet``: ``row`` (int32), ``start``, ``end`` (int32 character span in the row's
  ``description_text``), ``vector`` (int32: index in ``passage_embeddings.npy``; -1 = the
  dataset vector (passage 0); -2 = no vector), sorted by row then position;
* ``passage_offsets.npy``: int64, ``n + 1`` offsets: the passages of row ``i`` are rows
  ``offsets[i]:offsets[i + 1]`` of ``passages.parquet``;
* ``passage_embeddings.npy``: float32, L2-normalised.
"""

from __future__ import annotations

import logging
import re
import time

import numpy as np
import pandas as pd

from models.core.encoders import load_encoder

# shared with the assistant's key sentence; re-exported for older imports
from models.core.text import sentence_spans
from models.pipeline.embed import embed_passages

log = logging.getLogger(__name__)

PASSAGE_WORDS = 60  # target size of a passage ("a few dozen words")
PASSAGE_MAX_WORDS = 90  # a longer sentence is cut (e5 reads 128 tokens, ~90 French words)
MAX_EMBEDDED = 2  # passages 1..MAX_EMBEDDED get their own vector (0 reuses the dataset's)
MAX_PASSAGES = 12  # passages kept per description (spans only past MAX_EMBEDDED)
# at most BUDGET_SHARE × n datasets passage vectors, passage 1 of the most viewed descriptions
# first (then passage 2 …). Measured on the full catalogue, idle machine: 0.35 (24,701 vectors)
# took 616 s at 40 passages/s, +27 % on the rest of a cold build (~2,280 s); 0.28 (19,761) took
# 518 s, +22.7 %, with the same dialogue results (success@5 0.897 / 0.939, README)
BUDGET_SHARE = 0.28
NO_VECTOR = -2
DATASET_VECTOR = -1

_WORD = re.compile(r"\S+")


def _cut_long(text: str, a: int, b: int, max_words: int) -> list[tuple[int, int]]:
    words = list(_WORD.finditer(text, a, b))
    if len(words) <= max_words:
        return [(a, b)]
    out = []
    for i in range(0, len(words), max_words):
        chunk = words[i:i + max_words]
        out.append((chunk[0].start(), chunk[-1].end()))
    return out


def passage_spans(text: str | None, *, words: int = PASSAGE_WORDS, max_words: int = PASSAGE_MAX_WORDS,
                  max_passages: int = MAX_PASSAGES) -> list[tuple[int, int]]:
    """Whole sentences grouped to about ``words`` words (at most ``max_words``)."""
    if not text or not text.strip():
        return []
    pieces: list[tuple[int, int, int]] = []  # start, end, n words
    for a, b in sentence_spans(text):
        for x, y in _cut_long(text, a, b, max_words):
            pieces.append((x, y, len(_WORD.findall(text, x, y))))
    out: list[tuple[int, int]] = []
    cur_a, cur_b, cur_n = None, None, 0
    for a, b, n in pieces:
        if cur_a is not None and (cur_n >= words or cur_n + n > max_words):
            out.append((cur_a, cur_b))
            if len(out) >= max_passages:
                return out
            cur_a, cur_n = None, 0
        if cur_a is None:
            cur_a = a
        cur_b, cur_n = b, cur_n + n
    if cur_a is not None and len(out) < max_passages:
        out.append((cur_a, cur_b))
    return out


def split_passages(texts, *, words: int = PASSAGE_WORDS, max_words: int = PASSAGE_MAX_WORDS,
                   max_passages: int = MAX_PASSAGES, max_embedded: int = MAX_EMBEDDED,
                   budget: int | None = None, priority=None
                   ) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Passages of every description: the table, the row offsets, and the texts to embed
    (in ``vector`` order). ``budget``: at most that many vectors, given first to passage 1 of
    every description, then passage 2 …, each round in ``priority`` order (higher first, e.g.
    views; default: row order)."""
    rows, starts, ends, position = [], [], [], []
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    for i, text in enumerate(texts):
        spans = passage_spans(text, words=words, max_words=max_words, max_passages=max_passages)
        for j, (a, b) in enumerate(spans):
            rows.append(i)
            starts.append(a)
            ends.append(b)
            position.append(j)
        offsets[i + 1] = len(rows)
    rows_a = np.asarray(rows, dtype=np.int64)
    pos_a = np.asarray(position, dtype=np.int64)
    vector = np.where(pos_a == 0, DATASET_VECTOR, NO_VECTOR).astype(np.int32)
    cand = np.flatnonzero((pos_a >= 1) & (pos_a <= max_embedded))
    prio = np.zeros(len(texts)) if priority is None else -np.asarray(priority, dtype=np.float64)
    # round (passage position) first, then priority, then row: deterministic
    cand = cand[np.lexsort((rows_a[cand], prio[rows_a[cand]] if len(cand) else [], pos_a[cand]))]
    if budget is not None:
        cand = cand[:max(int(budget), 0)]
    cand = np.sort(cand)  # vectors in table order
    vector[cand] = np.arange(len(cand), dtype=np.int32)
    to_embed = [texts[rows_a[k]][starts[k]:ends[k]] for k in cand]
    table = pd.DataFrame({"row": rows_a.astype(np.int32),
                          "start": np.asarray(starts, dtype=np.int32),
                          "end": np.asarray(ends, dtype=np.int32),
                          "vector": vector})
    return table, offsets, to_embed


def build_passages(ctx) -> None:
    """The ``passages`` step (after ``embeddings``: it reuses the encoder and the cache)."""
    s = ctx.settings
    words = getattr(s, "passage_words", PASSAGE_WORDS)
    max_embedded = getattr(s, "passage_max_embedded", MAX_EMBEDDED)
    max_passages = getattr(s, "passage_max", MAX_PASSAGES)
    share = getattr(s, "passage_budget", BUDGET_SHARE)
    budget = None if share is None else round(share * len(ctx.df))
    t0 = time.perf_counter()
    views = ctx.df["views"].fillna(0).to_numpy(dtype=np.float64) if "views" in ctx.df else None
    table, offsets, to_embed = split_passages(
        ctx.df["description_text"].fillna("").tolist(), words=words,
        max_passages=max_passages, max_embedded=max_embedded, budget=budget, priority=views)
    t_split = time.perf_counter() - t0
    if ctx.encoder is None:
        ctx.encoder = load_encoder(s.model, models_dir=s.model_folder, max_seq_length=s.max_seq_length)
    enc = ctx.encoder
    if to_embed:
        vecs, stats = embed_passages(to_embed, enc, s.embedding_cache, batch_size=s.batch_size,
                                     show_progress=s.show_progress)
    else:
        vecs, stats = np.zeros((0, enc.dim), dtype=np.float32), {"total": 0, "cached": 0, "encoded": 0}
    ctx.writer.save_parquet("passages.parquet", table)
    ctx.writer.save_npy("passage_offsets.npy", offsets)
    ctx.writer.save_npy("passage_embeddings.npy", vecs.astype(np.float32))
    n_bytes = sum(ctx.writer.path(n).stat().st_size for n in
                  ("passages.parquet", "passage_offsets.npy", "passage_embeddings.npy"))
    ctx.param("passages", words=words, max_words=PASSAGE_MAX_WORDS, max_embedded=max_embedded,
              max_passages=max_passages, budget_share=share, budget=budget, n_passages=len(table),
              n_vectors=len(to_embed),
              n_with_passages=int((np.diff(offsets) > 0).sum()), bytes=int(n_bytes),
              split_seconds=round(t_split, 2), embedding=stats)
    log.info("passages: %d passages of %d descriptions, %d embedded (%d from cache), %.1f MB",
             len(table), int((np.diff(offsets) > 0).sum()), len(to_embed), stats.get("cached", 0),
             n_bytes / 1e6)
