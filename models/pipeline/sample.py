"""A stratified sample of the catalogue for a first build in minutes (``build --sample N``).

Before any model exists, "topics" are approximated by k-means clusters of the datasets' title and
tag words (TF-IDF, ``n_themes`` clusters). The sample takes, in this order:

1. one dataset per producer (its most viewed), largest producers first, up to
   ``producer_share`` (90 %) of the budget: every producer when there are fewer (the export of
   2026-01-16 has 4,995 producers of non-archived datasets: a sample of 5,000 covers the 4,500
   largest, 5,600 covers them all);
2. at least ``theme_share · n / n_themes`` datasets (10 % of the budget spread evenly) of every
   theme cluster, random within it;
3. the rest at random, so large producers and themes keep some of their weight.

Rows keep the export's order. Deterministic for a given seed.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from models.core.text import tokenize_fr

log = logging.getLogger(__name__)


def producer_keys(df: pd.DataFrame) -> pd.Series:
    """The producer of each row: its organisation id, else « name: » and its name."""
    def column(c):
        return df[c].fillna("").astype(str) if c in df else pd.Series([""] * len(df), index=df.index)

    org_id, name = column("organization_id"), column("organization")
    return org_id.where(org_id != "", "name:" + name)


def theme_clusters(df: pd.DataFrame, n_themes: int = 50, seed: int = 42) -> np.ndarray:
    """A cheap stand-in for topics: k-means on TF-IDF of titles and tags (a few seconds)."""
    from sklearn.cluster import MiniBatchKMeans  # lazy: sklearn takes seconds to import
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = (df["title"].fillna("") + " " + df["tags"].map(lambda t: " ".join(t) if t is not None else ""))
    n_themes = max(1, min(n_themes, len(df)))
    try:
        x = TfidfVectorizer(tokenizer=tokenize_fr, lowercase=False, token_pattern=None, min_df=2,
                            max_features=20000).fit_transform(texts)
    except ValueError:  # no word seen twice (tiny catalogues)
        return np.zeros(len(df), dtype=np.int32)
    if x.shape[1] == 0 or n_themes == 1:
        return np.zeros(len(df), dtype=np.int32)
    km = MiniBatchKMeans(n_clusters=n_themes, random_state=seed, n_init=3, batch_size=4096)
    return km.fit_predict(x).astype(np.int32)


def stratified_rows(df: pd.DataFrame, n: int, *, seed: int = 42, n_themes: int = 50,
                    producer_share: float = 0.9, theme_share: float = 0.1) -> np.ndarray:
    """Sorted row positions of the sample (all rows when ``n >= len(df)``)."""
    if n >= len(df):
        return np.arange(len(df))
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(df), dtype=bool)
    # 1. one per producer, most viewed, largest producers first (at most producer_share · n)
    prod = producer_keys(df)
    views = pd.to_numeric(df.get("views", 0), errors="coerce").fillna(0).to_numpy()
    order = pd.DataFrame({"p": prod.to_numpy(), "v": views, "r": np.arange(len(df))})
    sizes = order["p"].map(order["p"].value_counts())
    order = order.assign(size=sizes).sort_values(["size", "p", "v"], ascending=[False, True, False],
                                                 kind="stable")
    firsts = order.drop_duplicates("p")["r"].to_numpy()[: max(int(n * producer_share), 1)]
    chosen[firsts] = True
    # 2. a floor per theme cluster
    # at most one cluster per theme slot, so that the floors fit in theme_share · n
    themes = theme_clusters(df, n_themes=min(n_themes, max(1, int(n * theme_share))), seed=seed)
    floor = max(1, int(n * theme_share) // max(int(themes.max()) + 1, 1))
    for t in np.unique(themes):  # at most n in all: 90 % + 10 %
        members = np.flatnonzero(themes == t)
        have = int(chosen[members].sum())
        if have < floor:
            free = members[~chosen[members]]
            chosen[rng.choice(free, size=min(floor - have, len(free)), replace=False)] = True
    # 3. the rest at random
    left = n - int(chosen.sum())
    if left > 0:
        free = np.flatnonzero(~chosen)
        chosen[rng.choice(free, size=min(left, len(free)), replace=False)] = True
    rows = np.flatnonzero(chosen)
    log.info("stratified sample: %d of %d datasets, %d producers of %d, %d theme clusters",
             len(rows), len(df), prod.iloc[rows].nunique(), prod.nunique(), len(np.unique(themes)))
    return rows
