"""Surrogate-guided pre-selection (``searcher.preselect``): each trial after the startup is the
draw of a priced pool predicted to add most hypervolume; the expensive evaluator runs only on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_cheap_first import CONSTRAINT, TIMING, _calls, _evaluators, _run

from cosearch.core.errors import ConfigError
from cosearch.core.pareto import hypervolume, to_minimization
from cosearch.search.preselect import LinearPosterior, OneHot, _gains

PRESELECT = {"type": "random", "preselect": {"pool": 256, "startup": 8}}


def test_linear_posterior_recovers_a_one_hot_model_and_narrows_with_data():
    rng = np.random.default_rng(0)
    rows = [{"a": int(rng.integers(3)), "b": int(rng.integers(2))} for _ in range(200)]
    truth = np.array([2.0 * (r["a"] == 1) - 1.0 * (r["a"] == 2) + 0.5 * r["b"] for r in rows])
    encoder = OneHot(rows)
    assert encoder.width == 1 + 3 + 2
    x = encoder.encode(rows)
    y = truth + 0.05 * rng.standard_normal(len(rows))
    grid = [{"a": a, "b": b} for a in range(3) for b in range(2)]
    expected = np.array([2.0 * (g["a"] == 1) - 1.0 * (g["a"] == 2) + 0.5 * g["b"] for g in grid])
    spreads = []
    for n in (10, 200):
        posterior = LinearPosterior.fit(x[:n], y[:n])
        draws = np.array([posterior.sample(encoder.encode(grid), np.random.default_rng(k)) for k in range(200)])
        spreads.append(draws.std(axis=0).mean())
        if n == 200:
            assert np.abs(draws.mean(axis=0) - expected).max() < 0.1
    assert spreads[1] < spreads[0] / 2


def test_gains_are_the_added_hypervolume_then_the_distance_to_the_front():
    front = np.array([[1.0, 3.0], [3.0, 1.0]])
    points = np.array([[2.0, 2.0], [5.0, 5.0], [0.5, 3.5]])
    # hand computed against (4, 4): the front covers 5; (2, 2) adds 1 x 1, (0.5, 3.5) adds 0.5 x 0.5
    assert hypervolume(front, [4.0, 4.0]) == 5.0
    np.testing.assert_allclose(_gains(points, front, [4.0, 4.0]), [1.0, 0.0, 0.25])
    # nothing improves on (1, 1): the draw nearest to escaping domination wins (range-scaled)
    gains = _gains(np.array([[2.0, 2.0], [1.2, 3.0]]), np.array([[1.0, 1.0]]), [4.0, 4.0])
    np.testing.assert_allclose(gains, [-0.5, -0.2])


def _front_hv(table: pd.DataFrame) -> float:
    """Hypervolume of the feasible scored rows against one fixed point (proxy 85, energy 3000 x 6)."""
    rows = table[table["feasible"]]
    values = rows[["objective_proxy_score", "objective_hw_energy_pj"]].to_numpy(dtype=float)
    return hypervolume(to_minimization(values, ["maximize", "minimize"]), [-85.0, 18000.0])


@pytest.mark.slow
def test_preselected_trials_are_scored_only_when_chosen_and_beat_random_search(write_experiment, tmp_path):
    hv: dict[str, float] = {"random": 0.0, "preselect": 0.0}
    for seed in (3, 4, 5):
        tables = {}
        for name, searcher in (("random", "random"), ("preselect", PRESELECT)):
            path = write_experiment(f"{name}{seed}.yaml", trials=40, seed=seed, searcher=searcher,
                                    constraints=CONSTRAINT,
                                    evaluators=_evaluators(tmp_path / f"calls_{name}{seed}.txt", True))
            tables[name] = _run(path, tmp_path / f"{name}{seed}")
            hv[name] += _front_hv(tables[name])
        ordered = tables["preselect"].sort_values("trial")
        startup_end = int(np.flatnonzero(ordered["objective_proxy_score"].notna())[7])  # the 8th scored trial
        chosen = ordered.iloc[startup_end + 1:]
        assert len(chosen) >= 15
        # the pool drops draws the screen would skip, so no chosen trial is screened
        assert chosen["objective_proxy_score"].notna().all() and chosen["feasible"].all()
        scored = ordered["objective_proxy_score"].notna()
        assert len(_calls(tmp_path / f"calls_preselect{seed}.txt")) == scored.sum()  # one call per scored trial
        assert ordered.filter(like="params_").drop_duplicates().shape[0] == 40  # no design twice
        assert tables["preselect"]["feasible"].sum() > tables["random"]["feasible"].sum()
    assert hv["preselect"] > hv["random"]


@pytest.mark.slow
def test_same_seed_gives_identical_tables_with_preselection(write_experiment, tmp_path):
    tables = []
    for k in range(2):
        path = write_experiment(f"exp{k}.yaml", trials=16, searcher=PRESELECT, constraints=CONSTRAINT,
                                evaluators=_evaluators(tmp_path / f"calls{k}.txt", True))
        tables.append(_run(path, tmp_path / f"run{k}").drop(columns=TIMING))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_preselect_without_a_cheap_stage_is_refused_before_trial_0(write_experiment, tmp_path):
    calls = tmp_path / "calls.txt"
    path = write_experiment(trials=4, searcher=PRESELECT, constraints=CONSTRAINT,
                            evaluators=_evaluators(calls, False))
    with pytest.raises(ConfigError) as caught:
        _run(path, tmp_path / "run")
    message = str(caught.value)
    assert "searcher.preselect" in message and "skip_when" in message and str(path) in message
    assert not calls.exists() and not (tmp_path / "run" / "study.journal").exists()
