"""Small statistics shared by comparisons and their plots."""

from __future__ import annotations

import math

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
