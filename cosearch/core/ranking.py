"""Rank statistics of a score against accuracy, numpy-only (scipy is a test dependency).

:func:`rankdata` (average ranks for ties), :func:`kendall_tau` (tau-b, scipy's default),
:func:`spearman_rho` (Pearson r of the average ranks), :func:`bootstrap_ci` (resampling (score,
accuracy) pairs with replacement) and :func:`correlate` (both, with intervals). Used by the
validation harnesses and by the accuracy model's feature ranking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def rankdata(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """1-based ranks, ties get their average rank (scipy.stats.rankdata ``method="average"``).

    ``-inf``/``inf`` rank as the smallest/largest values; NaN is not allowed.
    """
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any():
        raise ValueError("rankdata: NaN values cannot be ranked")
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(len(x), dtype=float)
    start = 0
    n = len(x)
    while start < n:
        end = start
        while end + 1 < n and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        ranks[order[start:end + 1]] = 0.5 * (start + end) + 1.0
        start = end + 1
    return ranks


def _paired_ranks(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                  name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Average ranks of ``x`` and ``y``; ValueError when their lengths differ, None for fewer than 2 pairs."""
    rx, ry = rankdata(x), rankdata(y)
    if len(rx) != len(ry):
        raise ValueError(f"{name}: x and y differ in length")
    return (rx, ry) if len(rx) >= 2 else None


def kendall_tau(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Kendall's tau-b (ties-corrected, as ``scipy.stats.kendalltau``); NaN when undefined."""
    ranks = _paired_ranks(x, y, "kendall_tau")
    if ranks is None:
        return math.nan
    rx, ry = ranks
    dx = np.sign(rx[:, None] - rx[None, :])
    dy = np.sign(ry[:, None] - ry[None, :])
    upper = np.triu_indices(len(rx), k=1)
    dx, dy = dx[upper], dy[upper]
    concordance = float(np.sum(dx * dy))
    pairs_x = float(np.sum(dx != 0))
    pairs_y = float(np.sum(dy != 0))
    if pairs_x == 0 or pairs_y == 0:
        return math.nan
    return concordance / math.sqrt(pairs_x * pairs_y)


def spearman_rho(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rho: Pearson correlation of average ranks (``scipy.stats.spearmanr``); NaN when undefined."""
    ranks = _paired_ranks(x, y, "spearman_rho")
    if ranks is None:
        return math.nan
    rx, ry = ranks[0] - ranks[0].mean(), ranks[1] - ranks[1].mean()
    denominator = math.sqrt(float(np.sum(rx * rx)) * float(np.sum(ry * ry)))
    return float(np.sum(rx * ry)) / denominator if denominator > 0 else math.nan


def bootstrap_ci(statistic: Callable[[np.ndarray, np.ndarray], float], x: Sequence[float] | np.ndarray,
                 y: Sequence[float] | np.ndarray,
                 resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(x, y)`` over pairs resampled with replacement.

    Resamples where the statistic is undefined (all ties) are dropped; (NaN, NaN) if all are.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(xs), size=(resamples, len(xs)))
    values = np.array([statistic(xs[i], ys[i]) for i in draws], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


@dataclass(frozen=True)
class Correlation:
    """Rank correlations of proxy score vs accuracy with bootstrap intervals."""

    n: int
    kendall_tau: float
    kendall_ci: tuple[float, float]
    spearman_rho: float
    spearman_ci: tuple[float, float]
    level: float = 0.95

    def summary(self) -> dict[str, Any]:
        """``kendall_tau``, ``kendall_ci``, ``spearman_rho``, ``spearman_ci`` as a ``summary.json`` holds
        them (intervals as lists)."""
        return {"kendall_tau": self.kendall_tau, "kendall_ci": list(self.kendall_ci),
                "spearman_rho": self.spearman_rho, "spearman_ci": list(self.spearman_ci)}


def correlate(scores: Sequence[float] | np.ndarray, accuracies: Sequence[float] | np.ndarray, resamples: int = 2000, level: float = 0.95,
              seed: int = 0) -> Correlation:
    """Kendall tau-b and Spearman rho with percentile bootstrap intervals."""
    return Correlation(
        n=len(scores),
        kendall_tau=kendall_tau(scores, accuracies),
        kendall_ci=bootstrap_ci(kendall_tau, scores, accuracies, resamples, level, seed),
        spearman_rho=spearman_rho(scores, accuracies),
        spearman_ci=bootstrap_ci(spearman_rho, scores, accuracies, resamples, level, seed),
        level=level,
    )


