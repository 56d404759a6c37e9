"""Rank correlation along an axis and percentile bootstrap intervals (scipy.stats).

Shared by the alignment with human values (``valuetrace.alignment``) and the linear datamodeling
score of attributions (``valuetrace.lds``).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho of ``x`` and ``y`` along ``axis``; nan where either is constant."""
    # scipy's spearmanr has no batch axis; Pearson's r of the ranks is Spearman's rho, and
    # pearsonr does take one, so all bootstrap resamples (or all targets) are computed in one call.
    with warnings.catch_warnings():
        # Values that are all equal have no defined rank correlation: nan, by design.
        warnings.simplefilter("ignore", (stats.ConstantInputWarning, RuntimeWarning))
        return stats.pearsonr(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis=axis).statistic


def bootstrap_interval(
    data: tuple[np.ndarray, ...], statistic, resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` (vectorised, ``axis`` keyword) over paired
    observations; nan with fewer than three."""
    if len(data[0]) < 3:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (stats.DegenerateDataWarning, RuntimeWarning))
        result = stats.bootstrap(
            data,
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    # scipy's percentiles are nan as soon as one resample's statistic is (a resample of one
    # repeated question has no rank correlation), which is likely with few questions; the
    # interval is taken over the resamples where the statistic is defined.
    values = result.bootstrap_distribution
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
