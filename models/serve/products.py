"""The catalogue's vectors times one query vector, on both cores.

A search multiplies the 70,575 × 384 matrix of dataset vectors by the query vector (and again by
its Rocchio feedback when that is on): 108 MB read each time, ~9.7 ms on one core, memory-bound.
Rows are cut in :data:`SLICES` fixed slices, each computed by its own thread (numpy releases the
interpreter lock): ~6.3 ms on two cores (``scripts/bench/search_profile.py``, docs/measurements.md).

The slices depend only on the number of rows, never on the threads available: the same query
gives the same bits whether the slices ran in parallel or one after the other (one core, a forked
worker before its pool exists, a test).
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from models.serve.warm_threads import WarmPool

SLICES = 2  # fixed: the product's bits must not depend on the machine
MIN_ROWS = 20_000  # below, one slice (a thread hand-off costs more than it saves)

POOL = WarmPool(SLICES - 1, "products")  # forks make their own threads


def slices(n: int) -> list[tuple[int, int]]:
    """The row slices of an ``n``-row product.

    Examples
    --------
    >>> slices(10), slices(50_000)
    ([(0, 10)], [(0, 25000), (25000, 50000)])
    """
    if n < MIN_ROWS:
        return [(0, n)]
    bounds = [n * i // SLICES for i in range(SLICES + 1)]
    return list(itertools.pairwise(bounds))


def row_products(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` in the matrix's float type (the catalogue's: float32), its row slices
    computed on parallel threads.

    Examples
    --------
    >>> m = np.arange(6, dtype=np.float32).reshape(3, 2)
    >>> row_products(m, np.array([1.0, 0.5], dtype=np.float32)).tolist()
    [0.5, 3.5, 6.5]
    """
    dtype = matrix.dtype if np.issubdtype(matrix.dtype, np.floating) else np.dtype(np.float32)
    vector = np.ascontiguousarray(vector, dtype=dtype)
    out = np.empty(matrix.shape[0], dtype=dtype)
    parts = slices(matrix.shape[0])

    def run(a: int, b: int) -> None:
        np.matmul(matrix[a:b], vector, out=out[a:b])

    parallel = (os.cpu_count() or 1) >= 2
    futures, inline = [], [parts[0]]  # this thread takes the first slice
    for a, b in parts[1:]:
        # a pool thread busy with another search's slice (concurrent requests: the cores are
        # already working): this thread computes the slice rather than queue behind it
        future = POOL.try_submit(run, a, b) if parallel else None
        if future is None:
            inline.append((a, b))
        else:
            futures.append(future)
    for a, b in inline:
        run(a, b)
    for f in futures:
        f.result()
    return out
