"""Producers (organisations, else users): aggregates, centroids, and the producer page's service.

Build step (:func:`build_producers`) writes, over the *whole* export (archived rows included,
thanks to the archived rows counted by ingest):

- ``producers.parquet``: producer_id, organization_id, organization, kind, n_active,
  n_archived, n_total, views, reuses, followers, downloads (summed over active and archived
  datasets), last_modified (newest), medoid_row (the dataset row closest to the centroid, -1
  when the producer has no dataset in the build), sorted by n_active then n_total;
- ``producer_centroids.npy``: float32 (n_producers, dim), L2-normalised mean embedding of each
  producer's datasets in the build, same order as ``producers.parquet`` (zeros when none);
- ``producer_of_row.npy``: int32, for each dataset row its producer's position.

A dataset without organisation belongs to its owner (``producer_id`` = ``owner:<name>``,
kind ``utilisateur``), else to ``(sans organisation)``.

"""

from __future__ import annotations

import logging

import pandas as pd

from models.core import quality

# keys and aggregates are shared with the producers page's service; re-exported for older imports
from models.core.producers import (  # noqa: F401
    DUPLICATE_THRESHOLD,
    FINDABILITY_K,
    METRIC_COLUMNS,
    N_SIMILAR,
    NO_ORG,
    OWNER_PREFIX,
    aggregate_producers,
    producer_keys,
)

log = logging.getLogger(__name__)


def build_producers(ctx) -> None:
    """Pipeline step ``producers``: aggregates over the whole export, centroids, row->producer."""
    prod, centroids, of_row = aggregate_producers(ctx.df, ctx.archived, ctx.embeddings)
    lm = ctx.df["last_modified"]
    if ctx.archived is not None and len(ctx.archived):
        lm = pd.concat([lm, ctx.archived["last_modified"]], ignore_index=True)
    as_of = quality.export_date(lm)
    ctx.param("producers", n_producers=len(prod), n_archived=int(prod["n_archived"].sum()),
              export_date=None if as_of is None else as_of.isoformat())
    log.info("producers: %d producers, %d active and %d archived datasets", len(prod),
             int(prod["n_active"].sum()), int(prod["n_archived"].sum()))
    ctx.writer.save_parquet("producers.parquet", prod)
    ctx.writer.save_npy("producer_centroids.npy", centroids)
    ctx.writer.save_npy("producer_of_row.npy", of_row)
