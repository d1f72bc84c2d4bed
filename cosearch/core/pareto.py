"""Non-dominated filtering, exact hypervolume and the hypervolume history of a run.

:func:`non_dominated` and :func:`hypervolume` work on minimisation problems: callers turn
maximised objectives into minimised ones by negation (:func:`to_minimization`); the tracker
and :func:`hypervolume_history` (the results table's ``hypervolume`` column, the live progress
bar and the dashboard's per-phase curves) take values in the objectives' own units.
The hypervolume is computed exactly by dimension sweep: a 2-D staircase sum, and for more
objectives by slicing along the last objective (HSO, While et al., IEEE TEC 2006), which is
fast for the Pareto-set sizes a search produces (tens to a few hundred points).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def to_minimization(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Copy of ``values`` [n, m] with maximised columns negated."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return np.asarray(values, dtype=float) * signs


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Boolean mask of rows of ``points`` [n, m] no other row dominates (minimisation).

    Row a dominates b when a <= b in every objective and a < b in at least one. Duplicated
    non-dominated points are all kept.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        le = np.all(points <= points[i], axis=1)
        lt = np.any(points < points[i], axis=1)
        mask[i] = not np.any(le & lt)
    return mask


def hypervolume(points: np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """Volume dominated by ``points`` [n, m] and bounded by ``reference`` (minimisation).

    Points that do not strictly improve on the reference in every objective add nothing.
    """
    ref = np.asarray(reference, dtype=float)
    points = np.asarray(points, dtype=float).reshape(-1, len(ref))
    points = points[np.all(points < ref, axis=1)]
    if len(points) == 0:
        return 0.0
    points = np.unique(points[non_dominated(points)], axis=0)
    return float(_hv(points, ref))


def _hv(points: np.ndarray, ref: np.ndarray) -> float:
    m = points.shape[1]
    if m == 1:
        return float(ref[0] - points[:, 0].min())
    if m == 2:
        order = np.argsort(points[:, 0], kind="stable")
        xs, ys = points[order, 0], points[order, 1]
        best_y = np.minimum.accumulate(ys)
        widths = np.diff(np.append(xs, ref[0]))
        return float(np.sum(widths * (ref[1] - best_y)))
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    levels = np.append(points[:, -1], ref[-1])
    volume = 0.0
    for i in range(len(points)):
        depth = levels[i + 1] - levels[i]
        if depth > 0:
            front = points[: i + 1, :-1]
            volume += depth * _hv(front[non_dominated(front)], ref[:-1])
    return volume


class HypervolumeTracker:
    """Hypervolume after each added point, keeping only the current non-dominated set.

    ``reference`` and the added points are in the objectives' own units; ``directions`` (default:
    every objective minimised) names the maximised ones, negated inside (:func:`to_minimization`).
    """

    def __init__(self, reference: Sequence[float], directions: Sequence[str] | None = None) -> None:
        self.signs = to_minimization(np.ones(len(reference)), directions or ["minimize"] * len(reference))
        self.reference = np.asarray(reference, dtype=float) * self.signs
        self.front = np.empty((0, len(self.reference)))
        self.value = 0.0

    def add(self, values: Sequence[float]) -> float:
        point = np.asarray(values, dtype=float) * self.signs
        if len(self.front) and np.any(np.all(self.front <= point, axis=1) & np.any(self.front < point, axis=1)):
            return self.value
        keep = ~(np.all(point <= self.front, axis=1) & np.any(point < self.front, axis=1))
        self.front = np.vstack([self.front[keep], point])
        self.value = hypervolume(self.front, self.reference)
        return self.value

    def extend(self, values: Iterable[Any], feasible: Iterable[bool]) -> np.ndarray:
        """Add the feasible rows of ``values`` (each a sequence of objective values; an infeasible
        row's are not read, so they may be None); return the hypervolume after each row."""
        return np.array([self.add(v) if ok else self.value for v, ok in zip(values, feasible)], dtype=float)


def hypervolume_history(values: np.ndarray, feasible: np.ndarray, directions: Sequence[str],
                        reference: Sequence[float] | None) -> np.ndarray:
    """Hypervolume of the feasible rows among the first ``i + 1`` of ``values`` [n, m], for each i.

    ``values`` and ``reference`` are in the objectives' own units (``directions`` says which are
    maximised); the history is NaN everywhere while there is no reference point.
    """
    if reference is None:
        return np.full(len(values), np.nan)
    return HypervolumeTracker(reference, directions).extend(values, feasible)
