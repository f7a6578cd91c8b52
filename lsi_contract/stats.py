"""Statistics both sides compute (the appliance's segment summaries, the dashboard's review)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# Two-sided 95 % Student-t quantiles for small samples (df = n − 1); 1.96 beyond the table.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_quantile_95(df: int) -> float:
    if df <= 0:
        return math.nan
    known = [k for k in sorted(_T95) if k <= df]
    return _T95[known[-1]] if df <= 120 else 1.96


def mean_ci95(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and its 95 % confidence interval (Student t); (None, None, None) for no values."""
    data = np.asarray(values, np.float64)
    if data.size == 0:
        return None, None, None
    mean = float(data.mean())
    if data.size == 1:
        return mean, None, None
    half = t_quantile_95(data.size - 1) * float(data.std(ddof=1)) / math.sqrt(data.size)
    return mean, mean - half, mean + half
