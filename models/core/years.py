"""Plausible years of the datasets, shared by the build (topics per period) and the app (year
slider, topics over time).

Creation dates in the export include impossible ones (year 0003, 1900, dates in the future):
only *plausible* years count, from :data:`FIRST_PLAUSIBLE_YEAR` to the export's newest
modification year; the others are counted as left out, never silently dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST_PLAUSIBLE_YEAR = 1990
KINDS = ("created", "modified")


def last_plausible_year(datasets: pd.DataFrame) -> int:
    """The export's newest modification year (never the wall clock).

    Examples
    --------
    >>> last_plausible_year(pd.DataFrame({"last_modified": ["2025-12-01", "2026-01-10T10:00", "9999-01-01"]}))
    2026
    """
    years = _modified_years(datasets)
    years = years[(years >= FIRST_PLAUSIBLE_YEAR) & (years <= 2100)]
    return int(years.max()) if len(years) else FIRST_PLAUSIBLE_YEAR


def _modified_years(datasets: pd.DataFrame) -> np.ndarray:
    if "last_modified" not in datasets:
        return np.zeros(len(datasets), dtype=np.int64)
    y = pd.to_numeric(datasets["last_modified"].astype(str).str.slice(0, 4), errors="coerce")
    return y.fillna(0).astype(np.int64).to_numpy()


def row_years(datasets: pd.DataFrame, kind: str) -> np.ndarray:
    """Year of each row (int64, 0 when unknown) for ``kind`` in :data:`KINDS`.

    Examples
    --------
    >>> df = pd.DataFrame({"created_year": [2019, 3, None], "last_modified": ["2025-12-01", "2024-05", None]})
    >>> row_years(df, "created").tolist(), row_years(df, "modified").tolist()
    ([2019, 3, 0], [2025, 2024, 0])
    """
    if kind == "created":
        if "created_year" not in datasets:
            return np.zeros(len(datasets), dtype=np.int64)
        return pd.to_numeric(datasets["created_year"], errors="coerce").fillna(0).astype(np.int64).to_numpy()
    if kind == "modified":
        return _modified_years(datasets)
    raise ValueError(f"unknown kind of date {kind!r}: {', '.join(KINDS)}")


def plausible(years: np.ndarray, last: int) -> np.ndarray:
    """Boolean mask of the plausible years (known, between 1990 and ``last``).

    Examples
    --------
    >>> plausible(np.array([2019, 3, 0, 2031, 1990]), last=2026).tolist()
    [True, False, False, False, True]
    """
    y = np.asarray(years)
    return (y >= FIRST_PLAUSIBLE_YEAR) & (y <= last)
