"""How faithful the 2D map is (models/core/map_quality.py, ``python -m models map-quality``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from models.core.map_quality import blob_share, label_levels, map_neighbours, neighbour_preservation


def test_neighbour_preservation_and_blob_share():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 2))
    b = rng.normal(size=(300, 2)) + 50  # far away: two separate masses
    xy = np.concatenate([a, b])
    idx, dist = map_neighbours(xy, 10)
    assert idx.shape == (600, 10) and not (idx == np.arange(600)[:, None]).any()
    assert neighbour_preservation(idx, idx) == 1.0
    shuffled = rng.permutation(600)
    assert neighbour_preservation(idx[shuffled], idx) < 0.05
    assert blob_share(idx, dist) == pytest.approx(0.5, abs=0.1)
    one = rng.uniform(size=(600, 2))  # one even mass
    assert blob_share(*map_neighbours(one, 10)) > 0.9
    assert label_levels(None) == {"levels": 0, "per_level": []}
    assert label_levels(pd.DataFrame({"level": [0, 0, 1, 1, 1]})) == {"levels": 2, "per_level": [2, 3]}


def test_map_quality_command(built_root, capsys):
    from models.cli import main

    assert main(["map-quality", "--artifacts", str(built_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["neighbour_preservation@10"] <= 1 and 0 < out["blob_share"] <= 1
    assert out["labels"]["levels"] >= 2 and len(out["labels"]["per_level"]) == out["labels"]["levels"]
    assert out["labels"]["per_level"] == sorted(out["labels"]["per_level"])
