"""models.serve.products: the catalogue's vectors times a query vector, sliced over two threads;
the selection of the best rows that follows (``top_k``, ``candidates``)."""

from __future__ import annotations

import multiprocessing
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.serve import products
from models.serve.search import candidates, top_k


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(7)
    m = rng.standard_normal((50_001, 48)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_equals_the_plain_product_within_rounding(matrix):
    v = matrix[123] * 0.5 + matrix[9] * 0.5
    got = products.row_products(matrix, v)
    assert got.dtype == np.float32 and got.shape == (len(matrix),)
    assert np.allclose(got, matrix @ v, atol=1e-6)
    assert int(np.argmax(products.row_products(matrix, matrix[4567]))) == 4567


def test_same_bits_with_or_without_threads(matrix, monkeypatch):
    v = matrix[42]
    parallel = products.row_products(matrix, v)
    monkeypatch.setattr(products.POOL, "try_submit", lambda *a: None)  # one core: one slice after the other
    assert np.array_equal(products.row_products(matrix, v), parallel)


def test_a_busy_pool_is_not_waited_for(matrix):
    """While the pool's thread works for another search, the caller computes every slice itself:
    the same bits, and the pool's free-thread count is back afterwards."""
    v = matrix[5]
    expected = products.row_products(matrix, v)
    release = threading.Event()
    busy = products.POOL.try_submit(release.wait, 60)  # another search holds the pool's thread
    assert busy is not None
    try:
        done = []
        caller = threading.Thread(target=lambda: done.append(products.row_products(matrix, v)))
        caller.start()
        caller.join(timeout=30)  # would hang until `release` if it queued behind the busy thread
        assert done and np.array_equal(done[0], expected)
    finally:
        release.set()
    assert busy.result(timeout=30) is True
    free = products.POOL.try_submit(len, "ab")  # free again
    assert free is not None and free.result(timeout=30) == 2


def test_slices_cover_every_row_once():
    for n in (0, 1, products.MIN_ROWS - 1, products.MIN_ROWS, 70_575):
        parts = products.slices(n)
        covered = np.concatenate([np.arange(a, b) for a, b in parts]) if parts else np.array([])
        assert covered.tolist() == list(range(n))
    assert len(products.slices(70_575)) == products.SLICES


def test_a_memory_mapped_matrix(matrix, tmp_path):
    np.save(tmp_path / "e.npy", matrix)
    mm = np.load(tmp_path / "e.npy", mmap_mode="r")
    assert np.array_equal(products.row_products(mm, matrix[3]), products.row_products(matrix, matrix[3]))


def _child(q, matrix):
    q.put(products.row_products(matrix, matrix[11]).tobytes())


@pytest.mark.skipif(sys.platform != "linux", reason="fork: gunicorn's workers")
def test_a_forked_worker_makes_its_own_pool(matrix):
    products.row_products(matrix, matrix[11])  # the parent's pool exists before the fork
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q, matrix))
    p.start()
    got = q.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0
    assert got == products.row_products(matrix, matrix[11]).tobytes()


# ---- the best rows of a score vector (models.serve.search.top_k / candidates) ----------------
# few distinct values, so that ties at the k-th place are the rule, and -inf (not a result)
SCORES = st.lists(st.sampled_from([-np.inf, 0.0, 0.5, 1.0, 2.0, 3.5]), min_size=0, max_size=300)


@settings(max_examples=300, deadline=None)
@given(SCORES, st.integers(min_value=0, max_value=320), st.booleans())
def test_candidates_among_a_few_rows_are_those_of_a_full_selection(values, depth, positive_only):
    """candidates() ranks only the rows that can be candidates when they are few: the same rows,
    in the same order, as selecting among every row (ties broken by row order in both)."""
    sc = np.array(values, dtype=np.float64)
    full = top_k(sc, depth) if len(sc) else np.empty(0, np.int64)
    keep = np.isfinite(sc[full]) & ((sc[full] > 0) if positive_only else True)
    assert candidates(sc, depth, positive_only=positive_only).tolist() == full[keep].tolist()


@settings(max_examples=300, deadline=None)
@given(SCORES, st.integers(min_value=1, max_value=320))
def test_top_k_is_the_sorted_order_with_ties_in_row_order(values, k):
    sc = np.array(values, dtype=np.float64)
    expected = sorted(range(len(sc)), key=lambda i: (-sc[i], i))[:k]
    assert top_k(sc, k).tolist() == expected
