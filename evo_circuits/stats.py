"""Small statistics shared by comparisons and their plots."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

#: Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def mean_ci(values, level: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t; NaN, undefined, for one value)."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan"), float("nan")
    if len(x) < 2:
        return float(x.mean()), float("nan")
    if level != 0.95:
        raise ValueError("mean_ci: only the 95 % level is tabulated")
    df = len(x) - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df  # large-df approximation
    return float(x.mean()), float(t * x.std(ddof=1) / math.sqrt(len(x)))


def permutation_test(a, b, n_resamples: int = 20_000, seed: int = 0) -> float:
    """Two-sided p-value of a difference in means between two samples (permutation test).

    Exact over every split of the pooled values when there are at most ``n_resamples``
    of them (5 against 5 seeds: 252 splits, smallest p 2/252 ≈ 0.008); otherwise
    ``n_resamples`` random splits (seeded). Needs no distributional assumption, which
    suits a handful of seeds. NaN if either sample has no finite value.
    """
    x = np.asarray(a, float)
    y = np.asarray(b, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) == 0 or len(y) == 0:
        return float("nan")
    pooled = np.concatenate([x, y])
    n, k = len(pooled), len(x)
    observed = abs(x.mean() - y.mean())
    total = pooled.sum()
    if math.comb(n, k) <= n_resamples:
        idx = np.array(list(combinations(range(n), k)))
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((n_resamples, n)), axis=1)[:, :k]
    sums = pooled[idx].sum(axis=1)
    diffs = np.abs(sums / k - (total - sums) / (n - k))
    return float(np.mean(diffs >= observed - 1e-12 * max(1.0, abs(observed))))
