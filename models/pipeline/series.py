"""Series: near-identical datasets that differ only by a year or a place name.

"Budget primitif 2019 - Commune de Cénac" and "Budget primitif 2021 - Commune de Lignan" from
the same producer are one series. A dataset's series key is its producer plus its title
lower-cased, accents folded, digits removed and the place names found in it removed (the
``territories`` step's title matches), then words only. Used to fit the 2D layout on one
point per series (members are placed back beside it) so that thousands of look-alike rows do
not shape the map.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from models.core.text import fold_accents

_NON_WORD = re.compile(r"[^a-z]+")
SERIES_STOP = frozenset("de du des la le les l d a au aux et en sur pour par commune ville".split())


def series_keys(df: pd.DataFrame, territories: pd.DataFrame | None = None) -> np.ndarray:
    """One key string per row (rows of one series share it)."""
    names: dict[int, list[str]] = {}
    if territories is not None and len(territories):
        t = territories[territories["source"].astype(str) == "title"]
        for row, name in zip(t["row"].to_numpy(), t["name"].astype(str), strict=True):
            names.setdefault(int(row), []).append(fold_accents(name.lower()))
    producers = (df["organization_id"].fillna("").astype(str) if "organization_id" in df
                 else pd.Series([""] * len(df)))
    out = []
    for i, (title, producer) in enumerate(zip(df["title"].fillna("").astype(str), producers, strict=True)):
        s = fold_accents(title.lower())
        for name in sorted(names.get(i, []), key=len, reverse=True):
            s = s.replace(name, " ")
        words = [w for w in _NON_WORD.split(s) if w and w not in SERIES_STOP]
        out.append(producer + "|" + " ".join(words))
    return np.asarray(out, dtype=object)


def series_groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group): ``rep[group[i]]`` is i's representative."""
    _, first, group = np.unique(keys.astype(str), return_index=True, return_inverse=True)
    return group.astype(np.int64), first.astype(np.int64)


def collapse(vectors: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One L2-normalised mean vector per group."""
    n_groups = int(group.max()) + 1 if len(group) else 0
    out = np.zeros((n_groups, vectors.shape[1]), dtype=np.float64)
    np.add.at(out, group, np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def expand(coords: np.ndarray, group: np.ndarray, *, spread: float, seed: int = 42) -> np.ndarray:
    """Each row at its group's place, members scattered within ``spread`` (a small disc) so
    that they stay distinct points on the map."""
    rng = np.random.default_rng(seed)
    xy = np.asarray(coords, dtype=np.float64)[group]
    sizes = np.bincount(group)
    multi = sizes[group] > 1
    r = spread * np.sqrt(rng.uniform(size=int(multi.sum())))
    a = rng.uniform(0, 2 * np.pi, size=int(multi.sum()))
    xy[multi, 0] += r * np.cos(a)
    xy[multi, 1] += r * np.sin(a)
    return xy.astype(np.float32)
