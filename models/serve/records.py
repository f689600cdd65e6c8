"""The datasets of one build, one record at a time: ``Explorer.records``.

Looking a dataset up by id, its full record and description (read from disk, never held for every
row), its nearest datasets (the build's embedding neighbours), its position on the map, results
as plain dicts, and the date of the export the build was made from. No ranking here
(:mod:`models.serve.engine`), no Dash.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from models.core import serving
from models.core.store import Artifacts
from models.serve.search import Hit


def export_timestamp(artifacts: Artifacts) -> pd.Timestamp:
    """The date and time of the export the build was made from: the one the build recorded
    (manifest ``parameters.producers.export_date``), else the newest ``last_modified`` of the
    catalogue, else 1970-01-01 (timezone-naive).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> export_timestamp(SimpleNamespace(
    ...     manifest={"parameters": {"producers": {"export_date": "2026-01-16T09:30:00+01:00"}}}))
    Timestamp('2026-01-16 08:30:00')
    >>> export_timestamp(SimpleNamespace(manifest={}, datasets=pd.DataFrame(
    ...     {"last_modified": ["2025-12-01T10:00:00", None]})))
    Timestamp('2025-12-01 10:00:00')
    """
    return serving.naive_export_date(artifacts.manifest, getattr(artifacts, "datasets", None))


class Records:
    """Read-only lookups of the datasets of ``artifacts`` (thread-safe).

    Examples
    --------
    >>> from pathlib import Path
    >>> arts = Artifacts(dir=Path("b1"), manifest={}, datasets=pd.DataFrame(
    ...     {"id": ["a", "b"], "title": ["Piscines", "Air"], "organization": ["Lyon", "Atmo"],
    ...      "last_modified": ["2025-12-01", "2026-01-10"]}), embeddings=np.eye(2, dtype=np.float32),
    ...     coords=np.zeros((2, 2)), neighbours=np.array([[1], [0]]),
    ...     neighbour_scores=np.array([[0.8], [0.8]]))
    >>> rec = Records(arts)
    >>> rec.row_of("b"), rec.row_of("z"), rec.export_date
    (1, None, datetime.date(2026, 1, 10))
    >>> rec.hits_as_dicts(rec.similar(0))
    [{'id': 'b', 'title': 'Air', 'organization': 'Atmo', 'score': 0.8, 'versions': []}]
    """

    def __init__(self, artifacts: Artifacts) -> None:
        self.artifacts = artifacts
        self.datasets = artifacts.datasets
        self._row_of_id = {ds_id: i for i, ds_id in enumerate(self.datasets["id"].tolist())}

    @property
    def n(self) -> int:
        return len(self.datasets)

    @property
    def coords(self) -> np.ndarray:
        """The map position (UMAP) of every row."""
        return self.artifacts.coords

    def row_of(self, dataset_id: str | None) -> int | None:
        """The row of a dataset id (None: not in this build)."""
        return self._row_of_id.get(dataset_id) if dataset_id else None

    def dataset(self, row: int) -> dict:
        """Every column of ``row``, with its ``description`` and ``description_text``."""
        out = self.datasets.iloc[int(row)].to_dict()
        out["description"] = self.description(row)
        out["description_text"] = self.description_text(row)
        return out

    def description(self, row: int) -> str:
        """The description of ``row`` as published (read from disk: never held for every row)."""
        d = self.artifacts.descriptions
        return d.raw(row) if d is not None else ""

    def description_text(self, row: int) -> str:
        """The plain-text description of ``row``."""
        d = self.artifacts.descriptions
        return d.text(row) if d is not None else ""

    def similar(self, row: int) -> list[Hit]:
        """The nearest datasets of ``row`` (the build's embedding neighbours), nearest first."""
        idx = self.artifacts.neighbours[row]
        sc = self.artifacts.neighbour_scores[row]
        return [Hit(int(i), float(s)) for i, s in zip(idx, sc, strict=True) if i >= 0]

    def hits_as_dicts(self, hits: list[Hit]) -> list[dict]:
        """``Hit.as_dict`` of every hit, reading each column once (not one row at a time), with
        ``versions``: the ids of the other members of its family among the results."""
        rows = [h.row for h in hits]
        cols = {c: self.datasets[c].take(rows).tolist() for c in ("id", "title", "organization")}
        ids = self.datasets["id"]
        return [{"id": i, "title": t, "organization": o, "score": round(float(h.score), 4),
                 "versions": [str(ids.iat[v]) for v in h.versions]}
                for h, i, t, o in zip(hits, cols["id"], cols["title"], cols["organization"], strict=True)]

    @cached_property
    def export_date(self):
        """The date of the export the build was made from (periods such as « récents » are
        judged against it, never the wall clock): the one the build recorded, else the newest
        ``last_modified`` of the catalogue."""
        d = serving.export_date(self.artifacts.manifest, self.datasets)
        return (d if d is not None else pd.Timestamp("1970-01-01")).date()
