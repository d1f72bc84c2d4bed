"""Proxy validation (issue 7): numpy rank statistics vs scipy, bootstrap, a tiny end-to-end run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from cosearch.cli import main
from cosearch.core.ranking import (
    bootstrap_ci,
    correlate,
    kendall_tau,
    rankdata,
    spearman_rho,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


FIXED = [
    ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0]),
    ([3.1, -2.0, 0.5, 0.5, 7.0, 1.2, 1.2, 1.2], [0.31, 0.10, 0.22, 0.25, 0.40, 0.22, 0.30, 0.18]),  # ties in both
    ([5.0, 4.0, 3.0, 2.0, 1.0], [0.1, 0.2, 0.3, 0.4, 0.5]),
    (list(np.random.default_rng(0).normal(size=40)), list(np.random.default_rng(1).normal(size=40))),
]


@pytest.mark.parametrize("x, y", FIXED)
def test_rank_statistics_match_scipy(x, y) -> None:
    np.testing.assert_allclose(rankdata(x), stats.rankdata(x))
    assert kendall_tau(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_infinite_scores_rank_lowest_and_constant_input_is_undefined() -> None:
    x = [-math.inf, 1.0, 2.0, 3.0]
    y = [0.1, 0.2, 0.3, 0.4]
    assert kendall_tau(x, y) == pytest.approx(1.0)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman_rho([1, 1, 1], [1, 2, 3]))


def test_bootstrap_interval_contains_the_point_estimate() -> None:
    x, y = FIXED[3]
    y = list(np.asarray(x) + np.random.default_rng(2).normal(size=40))
    result = correlate(x, y, resamples=500, seed=0)
    assert result.kendall_ci[0] <= result.kendall_tau <= result.kendall_ci[1]
    assert result.spearman_ci[0] <= result.spearman_rho <= result.spearman_ci[1]
    assert result.kendall_ci[1] - result.kendall_ci[0] < 1.0
    assert bootstrap_ci(kendall_tau, x, y, 200, seed=4) == bootstrap_ci(kendall_tau, x, y, 200, seed=4)


@pytest.mark.slow
def test_validate_end_to_end_writes_its_outputs(tmp_path) -> None:
    experiment = {
        "name": "tiny_validate", "seed": 1,
        "space": {"name": "tiny_vgg", "network": {"arch": "vgg16", "channels": {"choices": [64, 128], "count": 13}},
                  "timesteps": {"low": 1, "high": 2}, "hardware": {}},
        "evaluators": ["proxy"], "objectives": [{"metric": "proxy_score", "direction": "maximize"}],
        "proxy": {"batch_size": 16, "repeats": 1, "channel_scale": 0.0625},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(experiment))
    out = tmp_path / "val"
    code = main(["validate", str(path), "--sample", "3", "--epochs", "1", "--train-size", "96", "--test-size", "64",
                 "--channel-scale", "0.0625", "--resamples", "100", "--threads", "1", "--out", str(out), "--no-progress"])
    assert code == 0
    table = pd.read_csv(out / "candidates.csv")
    assert len(table) == 3 and {"proxy_score", "test_acc", "genome"} <= set(table.columns)
    assert table["test_acc"].between(0, 1).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 3 and summary["train_images"] == 96 and summary["test_images"] == 64
    assert (out / "scatter.html").stat().st_size > 100_000  # plotly.js inlined: self-contained
    assert all((out / "train" / f"cand_{i}" / "checkpoint.pt").exists() for i in range(3))


def test_finished_trainings_are_reused_only_with_the_same_settings() -> None:
    from cosearch.core.candidate import Candidate
    from cosearch.training import TrainSettings
    from cosearch.workflows.validate import _same_training

    candidate = Candidate(network={"arch": "vgg16"}, timesteps=2, seed=3)
    train = TrainSettings(epochs=2, train_size=64, seed=3)
    done = {"candidate": candidate.to_dict(), "settings": {**train.__dict__}}
    assert _same_training(done, candidate, train)
    assert not _same_training(done, candidate, TrainSettings(epochs=3, train_size=64, seed=3))
    assert not _same_training(None, candidate, train)
