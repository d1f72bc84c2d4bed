"""The loop end to end on the analytic evaluator: constraints, failures, reproducibility, phases, resume."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    REPO,
    VGG16_CHANNELS,
    cli_run_command,
    kill_9_after,
)

from cosearch.cli import main
from cosearch.config import load_experiment
from cosearch.core.pareto import non_dominated
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

TIMING = ["duration_s", "datetime_start"]


def _run(path: Path, out: Path, **kwargs) -> pd.DataFrame:
    return run_experiment(load_experiment(path, **kwargs), RunDirectory(out), progress=False).table


def test_constraints_mark_infeasible_trials(write_experiment, tmp_path):
    bound = [{"metric": "hw_area_mm2", "<=": 3.1}]
    table = _run(write_experiment(trials=25, searcher="random", constraints=bound), tmp_path / "run")
    assert len(table) == 25
    over = table["hw_area_mm2"] > 3.1
    assert over.any() and (~over).any()
    assert (table.loc[over, "feasible"] == False).all()  # noqa: E712
    assert np.allclose(table["constraint_hw_area_mm2"], table["hw_area_mm2"] - 3.1)
    assert table.loc[table["pareto"], "feasible"].all()


def test_pareto_column_is_the_brute_force_front(write_experiment, tmp_path):
    table = _run(write_experiment(trials=30, searcher="random"), tmp_path / "run")
    feasible = table[table["feasible"]]
    points = np.c_[-feasible["objective_proxy_score"], feasible["objective_hw_energy_pj"]]
    brute = [not any((q <= p).all() and (q < p).any() for q in points) for p in points]
    assert list(feasible["pareto"]) == brute == list(non_dominated(points))
    assert not table.loc[~table["feasible"], "pareto"].any()
    hv = table["hypervolume"].to_numpy()
    assert np.all(np.diff(hv) >= 0)


def test_failed_and_nan_evaluations_do_not_stop_the_study(write_experiment, tmp_path):
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator",
                   "options": {"fail_if_timesteps": 6, "nan_if_timesteps": 5}}]
    table = _run(write_experiment(trials=30, searcher="random", evaluators=evaluators), tmp_path / "run")
    assert len(table) == 30
    failed = table[table["state"] == "FAIL"]
    raised = failed[failed["params_timesteps"] == 6]
    nan = failed[failed["params_timesteps"] == 5]
    assert len(raised) and len(nan) and len(failed) == len(raised) + len(nan)
    assert raised["fail_reason"].str.startswith("RuntimeError: analytic evaluator refuses T=6").all()
    assert (nan["fail_reason"] == "metric 'hw_energy_pj' is nan").all()
    assert (table.loc[table["state"] == "COMPLETE", "params_timesteps"] < 5).all()


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["tpe", "nsga2"])
def test_same_seed_gives_identical_tables(write_experiment, tmp_path, searcher):
    path = write_experiment(trials=20, searcher=searcher)
    first = _run(path, tmp_path / "a").drop(columns=TIMING)
    second = _run(path, tmp_path / "b").drop(columns=TIMING)
    pd.testing.assert_frame_equal(first, second)
    third = _run(path, tmp_path / "c", seed=99).drop(columns=TIMING)
    assert not first.filter(like="params_").equals(third.filter(like="params_"))


def test_baselines_run_first_and_set_the_reference_point(write_experiment, tmp_path):
    baseline = {"name": "vgg16", "values": {"network": {"channels": VGG16_CHANNELS}, "timesteps": 2,
                                            "hardware": {"adc_bits": 4}}}
    table = _run(write_experiment(trials=15, enqueue=[baseline], constraints=[]), tmp_path / "run")
    first = table.iloc[0]
    assert first["baseline"] == "vgg16" and first["params_timesteps"] == 2
    assert [first[f"params_channels_{i}"] for i in range(13)] == VGG16_CHANNELS
    assert first["hypervolume"] == 0.0  # the reference point is the baseline itself
    beats = table[(table["objective_proxy_score"] > first["objective_proxy_score"])
                  & (table["objective_hw_energy_pj"] < first["objective_hw_energy_pj"])]
    assert (table["hypervolume"].iloc[-1] > 0) == (len(beats) > 0)


def test_two_phases_inherit_fixed_parameters_and_pareto_set(write_experiment, tmp_path):
    phases = [
        {"name": "coarse", "trials": 12, "searcher": {"type": "random"}},
        {"name": "fine", "trials": 8, "inherit": {"enqueue": "pareto", "fix": ["timesteps"]}},
    ]
    table = _run(write_experiment(phases=phases, constraints=[]), tmp_path / "run")
    coarse, fine = table[table["phase"] == "coarse"], table[table["phase"] == "fine"]
    assert len(coarse) == 12 and len(fine) == 8
    own_front = non_dominated(np.c_[-coarse["objective_proxy_score"], coarse["objective_hw_energy_pj"]])
    front = coarse[own_front].sort_values(["objective_proxy_score", "phase_trial"], ascending=[False, True])
    assert fine["params_timesteps"].isna().all()  # fixed, so not a parameter any more
    runs = load_table(tmp_path / "run")
    assert list(runs["trial"]) == list(range(20))
    # the fine phase starts with the coarse Pareto set (up to its budget), channels carried over
    carried = fine.head(min(len(front), 8))
    for (_, a), (_, b) in zip(front.head(len(carried)).iterrows(), carried.iterrows()):
        assert [a[f"params_channels_{i}"] for i in range(13)] == [b[f"params_channels_{i}"] for i in range(13)]
    best_t = front.iloc[0]["params_timesteps"]
    cfg = RunDirectory(tmp_path / "run").read_config()
    assert cfg["phases"][1]["inherit"]["fix"] == ["timesteps"]
    assert best_t >= 1


@pytest.mark.slow
def test_rerun_extends_budget_and_refuses_other_experiments(write_experiment, tmp_path, capsys):
    path = write_experiment(trials=6)
    out = tmp_path / "run"
    assert len(_run(path, out)) == 6
    assert len(_run(path, out, trials=10)) == 10
    other = write_experiment(name="other.yaml", trials=6, seed=4)
    code = main(["run", str(other), "--out", str(out), "--no-progress"])
    assert code == 2 and "holds a different experiment (key 'seed' differs)" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("tiny: 10 trials") and "Pareto set" in report and "objective_hw_energy_pj" in report
    assert main(["resume", str(out), "--trials", "12", "--no-progress"]) == 0
    assert len(load_table(out)) == 12


def test_run_directory_contents(write_experiment, tmp_path):
    out = tmp_path / "run"
    _run(write_experiment(trials=4), out)
    for name in ("study.journal", "config.yaml", "manifest.json", "trials.parquet", "trials.csv", "pareto.csv"):
        assert (out / name).is_file(), name
    manifest = RunDirectory(out).manifest()
    assert manifest["seed"] == 3 and manifest["sessions"][-1]["status"] == "complete"
    assert manifest["packages"]["optuna"] and "commit" in manifest["git"]
    csv = pd.read_csv(out / "trials.csv")
    assert {"trial", "state", "params_timesteps", "objective_proxy_score", "constraint_hw_area_mm2",
            "feasible", "pareto", "hypervolume", "proxy_score", "hw_energy_pj", "duration_s", "seed"} <= set(csv.columns)


@pytest.mark.slow
def test_kill_9_then_resume_loses_and_duplicates_nothing(write_experiment, tmp_path):
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {"sleep_s": 0.15}}]
    baseline = {"name": "vgg16", "values": {"network": {"channels": VGG16_CHANNELS}, "timesteps": 2,
                                            "hardware": {"adc_bits": 4}}}
    path = write_experiment(trials=30, searcher="random", evaluators=evaluators, enqueue=[baseline])
    out = tmp_path / "run"
    command, env = cli_run_command(path, out)
    kill_9_after(command, env, out / "study.journal", completed=8)
    before = load_table(out)
    completed = before[before["state"] == "COMPLETE"]
    assert 8 <= len(completed) < 30
    assert not (out / "trials.parquet").exists()  # it really died mid-run

    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    after = load_table(out)
    done = after[after["state"] == "COMPLETE"]
    assert len(done) == 30  # budget reached, interrupted trials not counted
    assert done["phase_trial"].is_unique
    assert (after["state"] == "INTERRUPTED").sum() <= 1
    assert (done["baseline"] == "vgg16").sum() == 1
    kept = after.set_index("phase_trial").loc[completed["phase_trial"]]
    pd.testing.assert_frame_equal(
        kept.filter(regex="^(params_|objective_)").reset_index(drop=True),
        completed.filter(regex="^(params_|objective_)").reset_index(drop=True),
        check_dtype=False,  # an interrupted trial may lack some params, turning int columns into float
    )
    pd.testing.assert_frame_equal(pd.read_parquet(out / "trials.parquet").drop(columns=TIMING),
                                  after.drop(columns=TIMING))


def test_a_device_no_card_defines_is_refused_before_trial_0(write_experiment, tmp_path, capsys):
    cards = [str(REPO / "hw_models" / "*.yaml"), str(REPO / "hw_models" / "devices" / "*.yaml")]
    space = {"name": "bad_devices", "network": {"arch": "vgg16"}, "timesteps": 2,
             "hardware": {"device": {"choices": ["sram", "mram"]}}}
    path = write_experiment(space=space, evaluators=["cost"], hardware={"cards": cards}, searcher="random",
                            objectives=[{"metric": "hw_energy_pj", "direction": "minimize"}], constraints=[],
                            trials=30, enqueue=[{"name": "sram", "params": {"device": "sram"}}])
    out = tmp_path / "run"
    code = main(["run", str(path), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"error: {path}: space.hardware.device: unknown device 'mram'") and "sram" in err
    assert not out.exists()  # checked before a run directory is made


def test_common_seed_evaluates_every_candidate_with_one_seed(write_experiment, tmp_path):
    table = _run(write_experiment(trials=5, common_seed=True), tmp_path / "common")
    assert table["seed"].nunique() == 1
    table = _run(write_experiment(trials=5), tmp_path / "per_trial")
    assert table["seed"].nunique() == 5
