"""Years of the datasets, for the map's year slider and the topics-over-time charts.

Creation dates in the export include impossible ones (year 0003, 1900, dates in the future):
only *plausible* years are kept, from :data:`FIRST_PLAUSIBLE_YEAR` to the export's newest
modification year; the others are counted as left out, never silently dropped.

The browser gets one byte per dataset and per kind of date (``year - first + 1``, 0 = unknown
or implausible), base64-encoded: ~190 kB for 70,000 datasets and both kinds, sent only when the
year filter is switched on.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from models.core.years import (
    FIRST_PLAUSIBLE_YEAR,
    KINDS,
    last_plausible_year,
    plausible,
    row_years,
)


def year_payload(datasets: pd.DataFrame) -> dict:
    """What the map's year slider needs in the browser (see the module docstring).

    Examples
    --------
    >>> ds = pd.DataFrame({"created_year": [2019, 3, 2024],
    ...                    "last_modified": ["2025-01-01", "2025-06-30", None]})
    >>> p = year_payload(ds)
    >>> p["first"], p["last"], p["min"], p["max"], p["left_out"]
    (1990, 2025, 2019, 2025, {'created': 1, 'modified': 1})
    >>> list(base64.b64decode(p["created"]))  # year - 1990 + 1, 0 = unknown or implausible
    [30, 0, 35]
    """
    last = last_plausible_year(datasets)
    lo, hi = year_bounds(datasets)
    out: dict = {"first": FIRST_PLAUSIBLE_YEAR, "last": last, "n": len(datasets), "left_out": {},
                 "min": lo, "max": hi}  # the slider's range (the play wraps within it)
    for kind in KINDS:
        y = row_years(datasets, kind)
        ok = plausible(y, last)
        codes = np.where(ok, y - FIRST_PLAUSIBLE_YEAR + 1, 0).astype(np.uint8)
        out[kind] = base64.b64encode(codes.tobytes()).decode("ascii")
        out["left_out"][kind] = int((~ok).sum())
    return out


def year_bounds(datasets: pd.DataFrame) -> tuple[int, int]:
    """(first, last) plausible year actually present, for the slider's range.

    Examples
    --------
    >>> year_bounds(pd.DataFrame({"created_year": [2019, 3], "last_modified": ["2025-01-01", None]}))
    (2019, 2025)
    >>> year_bounds(pd.DataFrame({"last_modified": [None]}))  # nothing plausible
    (1990, 1990)
    """
    last = last_plausible_year(datasets)
    present = [row_years(datasets, k) for k in KINDS]
    ys = np.concatenate([y[plausible(y, last)] for y in present]) if present else np.array([])
    return (int(ys.min()), last) if len(ys) else (FIRST_PLAUSIBLE_YEAR, last)
