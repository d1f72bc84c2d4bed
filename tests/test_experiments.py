"""The shipped experiments run end to end from the CLI (short budgets) and feed the reproduction report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from cosearch.cli import main
from cosearch.config import load_experiment
from cosearch.studies.reproduce import report

pytestmark = pytest.mark.slow  # the whole module: `pytest -m "not slow"` leaves it out

EXPERIMENTS = sorted(p.stem for p in (REPO / "experiments").glob("cifar10_*.yaml"))
SEARCHES = [name for name in EXPERIMENTS if not name.endswith("_refine")]
"""Run end to end here; a refine experiment trains networks in its second phase, which
tests/test_train_evaluator.py runs at a tiny size instead."""


def test_every_shipped_experiment_validates():
    assert {"cifar10_xpert", "cifar10_hyde", "cifar10_snasnet", "cifar10_cosearch"} <= set(EXPERIMENTS)
    for name in EXPERIMENTS:
        experiment = load_experiment(REPO / "experiments" / f"{name}.yaml")
        assert experiment.phases and all(p.space.parameter_names() for p in experiment.phases), name


@pytest.fixture(scope="module")
def short_runs(tmp_path_factory) -> Path:
    """Every shipped experiment with 4 trials per phase, run through the CLI."""
    root = tmp_path_factory.mktemp("runs")
    for name in SEARCHES:
        code = main(["run", str(REPO / "experiments" / f"{name}.yaml"), "--trials", "4", "--out", str(root / name),
                     "--no-progress"])
        assert code == 0, name
    return root


@pytest.mark.parametrize("name", SEARCHES)
def test_short_run_produces_tables_and_pareto_set(short_runs, name):
    folder = short_runs / name
    table = pd.read_parquet(folder / "trials.parquet")
    phases = load_experiment(REPO / "experiments" / f"{name}.yaml").phases
    assert len(table) == 4 * len(phases)
    assert (table["state"] == "COMPLETE").all(), table["fail_reason"].tolist()
    assert (folder / "pareto.csv").is_file() and (folder / "dashboard.html").is_file()
    assert table["pareto"].any() or not table["feasible"].any()
    baselines = table[table["baseline"] != ""]
    assert list(baselines["trial"]) == list(range(len(baselines)))  # baselines are evaluated first
    assert table.filter(like="hw_").notna().all().all()


def test_hyde_baselines_are_homogeneous_and_phase_two_starts_from_phase_one(short_runs):
    table = pd.read_parquet(short_runs / "cifar10_hyde" / "trials.parquet")
    devices = table.filter(like="params_device_")
    homogeneous = table[table["baseline"] != ""]
    assert sorted(homogeneous["baseline"]) == ["all_fefet", "all_pcm", "all_sram"]
    assert set(table["phase"]) == {"groups", "layers"}
    assert devices.loc[homogeneous.index].nunique(axis=1).max() == 1


def test_reproduction_report_from_runs(short_runs):
    text = report(short_runs, notes="cosearch's model is analytic.")
    for heading in ("## XPert", "## HyDe", "## SNASNet", "## Joint co-search", "## Where and why cosearch differs"):
        assert heading in text
    assert "10.24x" in text and "2.30-2.74x" in text and "Not run yet" not in text
    assert "Published SNASNet cell" in text
    # XPert both with T searched and at the baseline's T, naming the accuracy estimate behind it
    assert "**T searched.**" in text and "**At equal T (T = 5).**" in text
    assert "Accuracy estimate behind both comparisons: `proxy_accuracy_estimate`" in text
