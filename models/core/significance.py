"""Paired significance tests for ranking changes: the protocol a change must pass to be adopted.

A change of the search (a constant, a rewrite of the query, a new stage) is compared with what is
in effect on **every labelled query we have**, pooled: both public files, every dialogue turn and
the sets we wrote ourselves and never tune on. Each query gives a pair of scores (reciprocal rank
at 10 before and after) and the question is whether the mean of the differences is different
from zero, and whether any one file pays for the gain of the others.

Rules (:func:`decide`):

* **pooled**: a two-sided paired *sign-flip permutation test* (each query's difference keeps its
  size and gets a random sign; exact for fewer than 2**16 distinct flip patterns, Monte Carlo
  otherwise) must give ``p < alpha`` (0.05), and the mean difference must be positive; the 95 %
  confidence interval of the mean difference comes from a paired bootstrap (queries resampled with
  replacement);
* **per file**: no file may lose more than its noise — its mean difference must not fall below
  minus the half-width of its own 95 % bootstrap interval, i.e. no file loses significantly.

A change whose gain lives in one file of 20 queries fails the first rule on the pooled set of
~190 queries unless it is large and consistent; a change that trades one file for another fails
the second.

Examples
--------
>>> import numpy as np
>>> a = np.zeros(40); b = np.r_[np.full(30, 0.5), np.zeros(10)]
>>> d = decide({"f": (a, b)})
>>> d["adopt"], d["pooled"]["p_permutation"] < 0.001
(True, True)
>>> decide({"f": (b, a)})["adopt"]
False
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

ALPHA = 0.05
N_RESAMPLES = 10_000
SEED = 0


def paired_bootstrap(diff: Sequence[float] | np.ndarray, *, n_resamples: int = N_RESAMPLES,
                     seed: int = SEED) -> dict:
    """Mean of paired differences with its 95 % bootstrap interval and standard error.

    Examples
    --------
    >>> r = paired_bootstrap([0.1, 0.2, 0.3, 0.0])
    >>> r["mean"], r["lo"] <= r["mean"] <= r["hi"]
    (0.15, True)
    """
    d = np.asarray(diff, dtype=np.float64)
    if not len(d):
        return {"n": 0, "mean": 0.0, "lo": 0.0, "hi": 0.0, "se": 0.0}
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 1000):  # bounded memory: 1,000 resamples at a time
        stop = min(start + 1000, n_resamples)
        idx = rng.integers(0, len(d), size=(stop - start, len(d)))
        means[start:stop] = d[idx].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"n": len(d), "mean": round(float(d.mean()), 6), "lo": round(float(lo), 6),
            "hi": round(float(hi), 6), "se": round(float(means.std(ddof=1)), 6)}


def sign_flip_p(diff: Sequence[float] | np.ndarray, *, n_resamples: int = N_RESAMPLES,
                seed: int = SEED) -> float:
    """Two-sided p-value of a paired sign-flip permutation test of ``mean(diff) == 0``.

    Zero differences carry no sign and are left out; exact enumeration when there are at most
    16 non-zero differences, else ``n_resamples`` random flips (with the observed one counted).

    Examples
    --------
    >>> sign_flip_p([0.0, 0.0])
    1.0
    >>> round(sign_flip_p([1.0] * 8), 4)  # 2 of 256 sign patterns are as extreme
    0.0078
    """
    d = np.asarray(diff, dtype=np.float64)
    d = d[d != 0]
    if not len(d):
        return 1.0
    obs = abs(d.sum())
    if len(d) <= 16:
        signs = ((np.arange(2 ** len(d))[:, None] >> np.arange(len(d))) & 1) * 2 - 1
        sums = np.abs(signs @ d)
        return float(np.mean(sums >= obs - 1e-12))
    rng = np.random.default_rng(seed)
    count = 0
    for start in range(0, n_resamples, 1000):
        stop = min(start + 1000, n_resamples)
        signs = rng.choice((-1.0, 1.0), size=(stop - start, len(d)))
        count += int(np.count_nonzero(np.abs(signs @ d) >= obs - 1e-12))
    return (count + 1) / (n_resamples + 1)


def decide(per_file: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, alpha: float = ALPHA,
           n_resamples: int = N_RESAMPLES, seed: int = SEED) -> dict:
    """Adopt B over A? ``per_file``: file name → (scores under A, scores under B), one per query,
    paired by position. Returns ``{"adopt", "reason", "pooled": {...}, "files": {name: {...}}}``
    (module docstring for the rules).

    Examples
    --------
    >>> gain = (np.zeros(40), np.r_[np.full(30, 0.5), np.zeros(10)])
    >>> d = decide({"public": gain}, n_resamples=1000)
    >>> d["adopt"], d["pooled"]["diff"], d["pooled"]["better"], d["pooled"]["worse"]
    (True, 0.375, 30, 0)
    >>> decide({"public": gain, "ours": ([1.0] * 10, [0.0] * 10)}, n_resamples=1000)["reason"]
    'loses beyond its noise on ours'
    """
    files = {}
    all_a, all_b = [], []
    for name, (a, b) in per_file.items():
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"{name}: {len(a)} scores under A, {len(b)} under B")
        all_a.append(a)
        all_b.append(b)
        boot = paired_bootstrap(b - a, n_resamples=n_resamples, seed=seed)
        noise = (boot["hi"] - boot["lo"]) / 2
        files[name] = {"n": len(a), "a": round(float(a.mean()), 4) if len(a) else None,
                       "b": round(float(b.mean()), 4) if len(b) else None,
                       "diff": boot["mean"], "ci95": [boot["lo"], boot["hi"]], "noise": round(noise, 6),
                       "p_permutation": round(sign_flip_p(b - a, n_resamples=n_resamples, seed=seed), 5),
                       "loses_beyond_noise": bool(boot["mean"] < 0 and boot["hi"] < 0),
                       "changed": int(np.count_nonzero(a != b))}
    a = np.concatenate(all_a) if all_a else np.empty(0)
    b = np.concatenate(all_b) if all_b else np.empty(0)
    boot = paired_bootstrap(b - a, n_resamples=n_resamples, seed=seed)
    p = sign_flip_p(b - a, n_resamples=n_resamples, seed=seed)
    pooled = {"n": len(a), "a": round(float(a.mean()), 4) if len(a) else None,
              "b": round(float(b.mean()), 4) if len(b) else None, "diff": boot["mean"],
              "ci95": [boot["lo"], boot["hi"]], "p_permutation": round(p, 5),
              "changed": int(np.count_nonzero(a != b)), "better": int(np.count_nonzero(b > a)),
              "worse": int(np.count_nonzero(b < a))}
    losers = [n for n, f in files.items() if f["loses_beyond_noise"]]
    if losers:
        adopt, reason = False, f"loses beyond its noise on {', '.join(losers)}"
    elif not (p < alpha and boot["mean"] > 0):
        adopt, reason = False, (f"pooled gain not significant (p = {p:.3g} ≥ {alpha})" if boot["mean"] > 0
                                else f"no pooled gain (mean difference {boot['mean']:+.4f}, p = {p:.3g})")
    else:
        adopt, reason = True, f"pooled gain {boot['mean']:+.4f} (p = {p:.3g}), no file loses beyond its noise"
    return {"adopt": adopt, "reason": reason, "alpha": alpha, "pooled": pooled, "files": files}


def reciprocal_ranks(ranks: Sequence[int | None], k: int = 10) -> np.ndarray:
    """``1 / rank`` for ranks ≤ ``k``, else 0 (the per-query MRR@k).

    >>> reciprocal_ranks([1, 2, None, 11]).tolist()
    [1.0, 0.5, 0.0, 0.0]
    """
    return np.asarray([1.0 / r if r is not None and not math.isnan(r) and r <= k else 0.0 for r in ranks])
