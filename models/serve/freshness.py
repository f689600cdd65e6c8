"""Freshness of a build's datasets (:mod:`models.core.freshness`): computed once per process,
counted per status, per producer (the share of late datasets), for the filter « fraîcheur » and
the result cards."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pandas as pd

from models.core import freshness as fr
from models.core import serving
from models.core.french import quoted
from models.serve.records import export_timestamp

log = logging.getLogger(__name__)


class FreshnessService:
    """Per-row freshness of one build (read-only once computed, thread-safe): the datasets of
    ``artifacts`` judged at the export's date, counted per producer of ``producers``
    (:class:`models.serve.producers.ProducerService`).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ds = pd.DataFrame({"id": ["a", "b", "c"], "title": ["Budget", "Trafic", "Carte"],
    ...                    "frequency": ["monthly", "annual", ""], "created_at": ["2020-01-01"] * 3,
    ...                    "last_modified": ["2025-06-01", "2025-12-01", "2021-01-01"]})
    >>> arts = SimpleNamespace(datasets=ds, descriptions=None,
    ...                        manifest={"parameters": {"producers": {"export_date": "2026-01-16"}}})
    >>> fs = FreshnessService(arts, producers=None)
    >>> fs.as_of, fs.table["status"].tolist(), fs.late_rows().tolist()
    (Timestamp('2026-01-16 00:00:00'), ['en_retard', 'a_jour', 'sans_frequence'], [0])
    >>> fs.summary()["late_share"]  # of the datasets that promise a frequency
    0.5
    """

    def __init__(self, artifacts, *, producers) -> None:
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self.producers = producers
        self._lock = threading.Lock()
        self._table: pd.DataFrame | None = None

    @property
    def as_of(self) -> pd.Timestamp:
        return export_timestamp(self.artifacts)

    @property
    def table(self) -> pd.DataFrame:
        """:func:`models.core.freshness.assess` of every row (index: row)."""
        if self._table is None:
            with self._lock:
                if self._table is None:
                    kept = serving.read(self.artifacts, "freshness")  # the build's serving step
                    if kept is None:
                        t0 = time.perf_counter()
                        d = self.artifacts.descriptions
                        kept = serving.freshness_table(
                            self.datasets, as_of=self.as_of,
                            heads=d.text_heads(fr.DESCRIPTION_HEAD) if d is not None else None)
                        log.info("freshness of %d datasets in %.2f s", len(kept), time.perf_counter() - t0)
                    self._table = kept
        return self._table

    @property
    def codes(self) -> np.ndarray:
        """Status of each row as its position in :data:`STATUSES` (int8)."""
        pos = {s: i for i, s in enumerate(fr.STATUSES)}
        return self.table["status"].map(pos).to_numpy(dtype=np.int8)

    def map_colouring(self) -> tuple:
        """(status code per row, labels, sizes, legend title): the main map coloured by freshness
        (the shape of ``TopicService.map_colouring``)."""
        codes = self.codes.astype(np.int32)
        sizes = np.bincount(codes, minlength=len(fr.STATUSES)).tolist()
        labels = [fr.STATUS_LABELS[s].capitalize() for s in fr.STATUSES]
        return codes, labels, sizes, "Fraîcheur (fréquence annoncée)"

    def rows_of_producer(self, producer_id: str) -> np.ndarray | None:
        prod = self.producers
        p = prod.index_of(producer_id)
        return None if p is None else prod.rows(p)

    def summary(self, rows: np.ndarray | None = None) -> dict:
        """``{"counts": {status: n}, "labels", "late_share", "n"}`` over ``rows`` (all: None)."""
        st = self.table["status"].to_numpy()
        if rows is not None:
            st = st[np.asarray(rows, dtype=np.int64)]
        share = fr.late_share(st)
        return {"n": len(st), "counts": fr.counts(st), "labels": dict(fr.STATUS_LABELS),
                "late_share": None if share is None else round(share, 4)}

    def by_producer(self, *, min_periodic: int = 1) -> pd.DataFrame:
        """One row per producer: ``producer_id``, ``organization``, ``n``, ``periodic`` (datasets
        that promise a frequency), ``late`` (late or never updated), ``late_share``."""
        prod = self.producers
        of_row = np.asarray(prod.of_row, dtype=np.int64)
        st = self.table["status"].to_numpy()
        late = np.isin(st, ("en_retard", "jamais_mis_a_jour"))
        periodic = st != "sans_frequence"
        k = len(prod.table)
        n = np.bincount(of_row, minlength=k)
        per = np.bincount(of_row, weights=periodic, minlength=k).astype(np.int64)
        lt = np.bincount(of_row, weights=late, minlength=k).astype(np.int64)
        out = pd.DataFrame({"producer_id": prod.table["producer_id"].astype(str).to_numpy(),
                            "organization": prod.table["organization"].astype(str).to_numpy(),
                            "n": n, "periodic": per, "late": lt})
        out["late_share"] = np.where(per > 0, lt / np.maximum(per, 1), np.nan)
        out = out[out["periodic"] >= min_periodic]
        return out.sort_values(["late", "late_share"], ascending=[False, False], kind="stable")

    def late_rows(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows late or never updated, most overdue first."""
        t = self.table
        idx = np.arange(len(t)) if rows is None else np.asarray(rows, dtype=np.int64)
        st = t["status"].to_numpy()[idx]
        idx = idx[np.isin(st, ("en_retard", "jamais_mis_a_jour"))]
        od = t["overdue_days"].to_numpy()[idx]
        return idx[np.argsort(-od, kind="stable")]

    def as_json(self, producer_id: str | None = None, *, top: int = 20) -> dict:
        """What ``python -m models freshness --json`` prints."""
        out: dict = {"export_date": self.as_of.isoformat(), "rules": "models/core/freshness.py"}
        rows = None
        if producer_id:
            rows = self.rows_of_producer(producer_id)
            if rows is None:
                raise ValueError(f"producteur {quoted(producer_id[:80])} inconnu dans ce catalogue")
            p = self.producers.index_of(producer_id)
            out["producer"] = {"id": producer_id,
                               "name": str(self.producers.table["organization"].iat[p])}
        out.update(self.summary(rows))
        ds = self.datasets
        t = self.table
        late = self.late_rows(rows)[:top]
        out["most_late"] = [{"id": str(ds["id"].iat[r]), "title": str(ds["title"].iat[r] or ""),
                             "status": str(t["status"].iat[r]), "reason": str(t["reason"].iat[r]),
                             "overdue_days": round(float(t["overdue_days"].iat[r]), 1)} for r in late]
        if rows is None:
            bp = self.by_producer(min_periodic=10)
            bp = bp.sort_values(["late_share", "late"], ascending=[False, False], kind="stable")
            out["producers_most_late"] = [
                {"id": r.producer_id, "name": r.organization, "periodic": int(r.periodic),
                 "late": int(r.late), "late_share": round(float(r.late_share), 4)}
                for r in bp.head(top).itertuples()]
        return out
