"""Helpers shared by the app's tests (test_components, test_app, test_browser)."""

from __future__ import annotations

import base64

import numpy as np

# catalogue text an attacker could publish: must never run in the page
HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def arr(value) -> np.ndarray:
    """A figure array from ``fig.to_dict()`` or JSON: plotly 7 writes numpy arrays as base64
    typed arrays (``{"dtype": "f4", "bdata": ...}``)."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)
