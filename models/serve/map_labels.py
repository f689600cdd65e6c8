"""The map's region labels (``hierarchy.parquet``) as the compact payload the browser places.

The browser (``assets/20-map-labels.js``) picks a level from the zoom and places the labels
greedily, biggest region first, never two overlapping on screen."""

from __future__ import annotations

import numpy as np
import pandas as pd

FILE = "hierarchy.parquet"


def label_payload(frame: pd.DataFrame | None) -> dict | None:
    """Columns as lists, biggest region first within each level:
    ``{"levels": L, "level": [...], "x": [...], "y": [...], "size": [...], "label": [...]}``
    (coordinates rounded to 4 digits: a tenth of a point at any zoom), or None.

    Examples
    --------
    >>> f = pd.DataFrame({"level": [1, 0, 0], "x": [0.5, 1.23456, np.nan], "y": [2.0, 3.0, 1.0],
    ...                   "size": [120, 40, 10], "label": ["Transports", "Vélos", "Trains"]})
    >>> label_payload(f)  # a label without coordinates is left out
    {'levels': 2, 'level': [0, 1], 'x': [1.2346, 0.5], 'y': [3.0, 2.0], 'size': [40, 120],
     'label': ['Vélos', 'Transports']}
    >>> label_payload(None) is None
    True
    """
    if frame is None or not len(frame):
        return None
    f = frame.sort_values(["level", "size"], ascending=[True, False], kind="stable")
    ok = np.isfinite(f["x"].to_numpy(dtype=float)) & np.isfinite(f["y"].to_numpy(dtype=float))
    f = f[ok]
    return {
        "levels": int(f["level"].nunique()),
        "level": [int(v) for v in f["level"]],
        "x": [round(float(v), 4) for v in f["x"]],
        "y": [round(float(v), 4) for v in f["y"]],
        "size": [int(v) for v in f["size"]],
        "label": [str(v) for v in f["label"]],
    }


def load_hierarchy(artifacts) -> pd.DataFrame | None:
    """The build's ``hierarchy.parquet`` (None: the build has none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> load_hierarchy(SimpleNamespace(has=lambda name: False)) is None
    True
    """
    return artifacts.parquet(FILE) if artifacts.has(FILE) else None
