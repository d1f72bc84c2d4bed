"""Pareto filter against brute force; hypervolume against hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cosearch.core.pareto import (
    HypervolumeTracker,
    hypervolume,
    hypervolume_history,
    non_dominated,
    to_minimization,
)


def _brute_force_front(points):
    keep = []
    for i, p in enumerate(points):
        dominated = any(all(q <= p) and any(q < p) for j, q in enumerate(points) if j != i)
        keep.append(not dominated)
    return np.array(keep)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_non_dominated_equals_brute_force(m):
    rng = np.random.default_rng(m)
    points = rng.integers(0, 6, size=(60, m)).astype(float)  # many ties and duplicates
    assert np.array_equal(non_dominated(points), _brute_force_front(points))


def test_hypervolume_2d_by_hand():
    # staircase of (1,3), (2,2), (3,1) under reference (4,4): 3 + 2 + 1 = 6 unit squares
    points = np.array([[1, 3], [2, 2], [3, 1], [3.5, 3.5]])
    assert hypervolume(points, [4, 4]) == pytest.approx(6.0)
    assert hypervolume(np.array([[5, 1]]), [4, 4]) == 0.0  # outside the reference box


def test_hypervolume_3d_by_inclusion_exclusion():
    points = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 2.5], [3.0, 3.0, 1.0]])
    ref = np.array([4.0, 4.0, 4.0])
    expected = 0.0
    for r in range(1, len(points) + 1):
        for subset in itertools.combinations(points, r):
            corner = np.max(subset, axis=0)
            expected += (-1) ** (r + 1) * np.prod(ref - corner)
    assert hypervolume(points, ref) == pytest.approx(expected)


def test_hypervolume_4d_grid_count():
    rng = np.random.default_rng(0)
    points = rng.integers(0, 4, size=(8, 4)).astype(float)
    ref = np.full(4, 4.0)
    cells = np.array(list(itertools.product(range(4), repeat=4)), dtype=float)  # unit cells' lower corners
    covered = np.any(np.all(cells[:, None, :] >= points[None, :, :], axis=2), axis=1)
    assert hypervolume(points, ref) == pytest.approx(covered.sum())


def test_tracker_matches_batch_and_maximisation_sign():
    rng = np.random.default_rng(1)
    raw = rng.random((40, 2))
    points = to_minimization(raw, ["maximize", "minimize"])
    tracker = HypervolumeTracker(to_minimization(np.array([[0.0, 1.0]]), ["maximize", "minimize"])[0])
    history = [tracker.add(p) for p in points]
    assert history == sorted(history)  # hypervolume never decreases
    assert history[-1] == pytest.approx(hypervolume(points, [0.0, 1.0]))


def test_hypervolume_history_2d_by_hand():
    # objectives (maximize score, minimize cost), reference (score 0, cost 10)
    values = np.array([[2, 8], [5, 5], [1, 4], [3, 9], [0.5, 12], [2, 8]], dtype=float)
    feasible = np.array([True, False, True, True, True, True])
    history = hypervolume_history(values, feasible, ["maximize", "minimize"], [0.0, 10.0])
    # 2x2 box; infeasible adds nothing; + 1x6 box overlapping 1x2 -> 8; staircase 1*1 + 1*2 + 1*6 = 9;
    # a point beyond the reference cost and a duplicate add nothing
    assert history.tolist() == [4.0, 4.0, 8.0, 9.0, 9.0, 9.0]
    assert np.isnan(hypervolume_history(values, feasible, ["maximize", "minimize"], None)).all()


def test_tracker_in_objective_units_skips_infeasible_rows_unread():
    tracker = HypervolumeTracker([0.0, 10.0], ["maximize", "minimize"])
    assert tracker.extend([[2.0, 8.0], None], [True, False]).tolist() == [4.0, 4.0]
