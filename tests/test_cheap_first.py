"""Cheap-first screening (``skip_when``): a candidate that violates a constraint the cheap evaluators
already decide is recorded infeasible with their metrics and never reaches the expensive one."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import REPO, cli_run_command, kill_9_after

from cosearch.config import ConstraintConfig, EvaluatorConfig, ObjectiveConfig, load_experiment
from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext, Evaluator
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment
from cosearch.search.pipeline import SCREENED, Pipeline, judge, screens_of

TIMING = ["duration_s", "datetime_start"]
AREA = "test_cheap_first:Area"
SCORE = "test_cheap_first:CountingScore"


class Area(Evaluator):
    """The cheap stage: ``hw_area_mm2`` = sum(channels) / 1000, ``hw_energy_pj`` = sum(channels) * T."""

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return {"hw_area_mm2", "hw_energy_pj"}

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> dict[str, Any]:
        channels = candidate.network["channels"]
        return {"hw_area_mm2": sum(channels) / 1000.0, "hw_energy_pj": float(sum(channels) * candidate.timesteps)}


class CountingScore(Evaluator):
    """The expensive stage: ``proxy_score`` = sum(log2(channels)) + T; each call appends the
    candidate's channel sum to the file ``options.calls`` (so calls are counted across processes)."""

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return {"proxy_score"}

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> dict[str, Any]:
        if self.options.get("sleep_s"):
            import time

            time.sleep(float(self.options["sleep_s"]))
        with open(self.options["calls"], "a") as calls:
            calls.write(f"{sum(candidate.network['channels'])}\n")
        return {"proxy_score": sum(math.log2(c) for c in candidate.network["channels"]) + candidate.timesteps}


def _evaluators(calls: Path, screen: bool, **options: Any) -> list[dict[str, Any]]:
    score: dict[str, Any] = {"type": SCORE, "options": {"calls": str(calls), **options}}
    if screen:
        score["skip_when"] = ["constraints"]
    return [{"type": AREA}, score]


def _run(path: Path, out: Path) -> pd.DataFrame:
    return run_experiment(load_experiment(path), RunDirectory(out), progress=False).table


def _calls(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


# area <= 3.0 with 13 channels from {64, 128, 256, 512} (mean sum 3120): about half violate it
CONSTRAINT = [{"metric": "hw_area_mm2", "<=": 3.0}]


@pytest.mark.slow
def test_violating_candidates_are_infeasible_without_calling_the_proxy(write_experiment, tmp_path):
    calls = tmp_path / "calls.txt"
    path = write_experiment(trials=40, searcher="random", evaluators=_evaluators(calls, True), constraints=CONSTRAINT)
    table = _run(path, tmp_path / "run")
    screened = table[table["objective_proxy_score"].isna()]
    assert len(table) == 40 and (table["state"] == "COMPLETE").all()
    assert 5 <= len(screened) <= 35  # both kinds occur
    assert (screened["hw_area_mm2"] > 3.0).all() and not screened["feasible"].any()
    assert not screened["pareto"].any()
    assert (screened["constraint_hw_area_mm2"] > 0).all()  # its hardware metrics are recorded
    assert screened["objective_hw_energy_pj"].notna().all()
    scored = table[table["objective_proxy_score"].notna()]
    assert (scored["hw_area_mm2"] <= 3.0).all() and scored["feasible"].all()
    # the expensive evaluator ran once per unscreened trial, on exactly those candidates
    assert sorted(_calls(calls)) == sorted(round(a * 1000) for a in scored["hw_area_mm2"])
    records = RunDirectory(tmp_path / "run")
    pareto = pd.read_csv(records.pareto_csv)
    assert set(pareto["trial"]) == set(table.loc[table["pareto"], "trial"])


@pytest.mark.slow
def test_screening_changes_nothing_but_the_calls_under_random_search(write_experiment, tmp_path):
    """Random search ignores the told values, so the screened run draws the same candidates: the
    feasible rows, the Pareto set and the hypervolume curve equal the unscreened run's."""
    tables = {}
    for screen in (False, True):
        path = write_experiment(f"exp_{screen}.yaml", trials=30, searcher="random", constraints=CONSTRAINT,
                                evaluators=_evaluators(tmp_path / f"calls_{screen}.txt", screen))
        tables[screen] = _run(path, tmp_path / f"run_{screen}")
    plain, screened = tables[False], tables[True]
    pd.testing.assert_frame_equal(plain.filter(like="params_"), screened.filter(like="params_"))
    for column in ("feasible", "pareto", "hypervolume", "objective_hw_energy_pj", "constraint_hw_area_mm2"):
        pd.testing.assert_series_equal(plain[column], screened[column])
    feasible = plain["feasible"]
    pd.testing.assert_series_equal(plain.loc[feasible, "objective_proxy_score"],
                                   screened.loc[feasible, "objective_proxy_score"])
    assert len(_calls(tmp_path / "calls_True.txt")) == feasible.sum() < len(_calls(tmp_path / "calls_False.txt")) == 30


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["nsga2", "tpe"])
def test_same_seed_gives_identical_tables_with_screening(write_experiment, tmp_path, searcher):
    tables = []
    for k in range(2):
        path = write_experiment(f"exp{k}.yaml", trials=24, constraints=CONSTRAINT, evaluators=_evaluators(
            tmp_path / f"calls{k}.txt", True), searcher={"type": searcher, "options": {"population_size": 8}}
            if searcher == "nsga2" else searcher)
        tables.append(_run(path, tmp_path / f"run{k}").drop(columns=TIMING))
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert tables[0]["objective_proxy_score"].isna().any()


@pytest.mark.slow
def test_kill_9_then_resume_with_screening_is_exact(write_experiment, tmp_path):
    calls = tmp_path / "calls.txt"
    path = write_experiment(trials=30, searcher="random", constraints=CONSTRAINT,
                            evaluators=_evaluators(calls, True, sleep_s=0.15))
    out = tmp_path / "run"
    command, env = cli_run_command(path, out)
    kill_9_after(command, env, out / "study.journal", completed=8)
    before = load_table(out)
    completed = before[before["state"] == "COMPLETE"]
    assert 8 <= len(completed) < 30 and not (out / "trials.parquet").exists()
    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    after = load_table(out)
    done = after[after["state"] == "COMPLETE"]
    assert len(done) == 30 and done["phase_trial"].is_unique
    kept = after.set_index("phase_trial").loc[completed["phase_trial"]]
    pd.testing.assert_frame_equal(
        kept.filter(regex="^(params_|objective_|constraint_|feasible)").reset_index(drop=True),
        completed.filter(regex="^(params_|objective_|constraint_|feasible)").reset_index(drop=True),
        check_dtype=False,
    )
    # every verdict follows the screen, and screened trials never called the expensive evaluator
    scored = done["objective_proxy_score"].notna()
    assert (done.loc[~scored, "hw_area_mm2"] > 3.0).all() and (done.loc[scored, "hw_area_mm2"] <= 3.0).all()
    assert scored.sum() <= len(_calls(calls)) <= scored.sum() + 1  # + the one in flight at the kill


def _pipeline(tmp_path: Path) -> Pipeline:
    listed = [EvaluatorConfig.model_validate(e) for e in
              [AREA, {"type": SCORE, "skip_when": ["constraints", {"metric": "hw_energy_pj", ">=": 9000}]}]]
    screens = screens_of(listed, [ConstraintConfig.model_validate(CONSTRAINT[0])])
    return Pipeline([Area(), CountingScore({"calls": str(tmp_path / "calls.txt")})], screens)


def test_batch_and_single_evaluation_screen_alike(tmp_path):
    pipeline = _pipeline(tmp_path)
    candidates = [Candidate(network={"arch": "vgg16", "channels": [c] * 13}, timesteps=t)
                  for c, t in [(64, 1), (512, 1), (128, 6), (64, 2)]]
    # areas 0.832, 6.656, 1.664, 0.832 mm^2; energies 832, 6656, 9984, 1664 pJ
    single = [pipeline.run(c).metrics for c in candidates]
    batch = [o.metrics for o in pipeline.run_batch(candidates)]
    assert single == batch
    assert [SCREENED in m for m in single] == [False, True, True, False]
    assert single[1][SCREENED] == "hw_area_mm2 = 6.656 > 3 (skip_when[0]: constraints)"
    assert single[2][SCREENED] == "hw_energy_pj = 9984 >= 9000 (skip_when[1])"
    assert _calls(tmp_path / "calls.txt") == [832, 832, 832, 832]  # the unscreened ones, once per path


def test_judge_tells_optuna_a_screened_trial_as_worst_and_infeasible():
    objectives = [ObjectiveConfig(metric="proxy_score", direction="maximize"),
                  ObjectiveConfig(metric="hw_energy_pj", direction="minimize")]
    constraints = [ConstraintConfig.model_validate(CONSTRAINT[0])]
    screened = judge({"hw_area_mm2": 6.5, "hw_energy_pj": 100.0, SCREENED: "why"}, objectives, constraints)
    assert screened.reason is None and screened.values == [-math.inf, 100.0]
    assert screened.violations == {"hw_area_mm2": 3.5, SCREENED: 1.0} and not screened.feasible
    complete = judge({"hw_area_mm2": 3.0, "hw_energy_pj": 100.0, "proxy_score": 7.0}, objectives, constraints)
    assert complete.values == [7.0, 100.0] and complete.violations == {"hw_area_mm2": 0.0} and complete.feasible
    missing = judge({"hw_area_mm2": 3.0, "hw_energy_pj": 100.0}, objectives, constraints)  # not screened: fails
    assert missing.reason is not None and missing.reason.startswith("metric 'proxy_score' missing")


def test_a_baseline_is_scored_even_where_a_screen_would_skip_it(write_experiment, tmp_path):
    """The baseline is the hypervolume's reference: it is evaluated in full (and stays infeasible)."""
    calls = tmp_path / "calls.txt"
    wide = {"name": "wide", "values": {"network": {"channels": [512] * 13}, "timesteps": 2,
                                       "hardware": {"adc_bits": 4}}}
    path = write_experiment(trials=6, searcher="random", constraints=CONSTRAINT, enqueue=[wide],
                            evaluators=_evaluators(calls, True))
    table = _run(path, tmp_path / "run")
    baseline = table[table["baseline"] == "wide"].iloc[0]
    assert baseline["hw_area_mm2"] == 6.656 and not baseline["feasible"]
    assert baseline["objective_proxy_score"] == 13 * 9 + 2  # scored: sum(log2 512) + T
    assert _calls(calls)[0] == 512 * 13


def test_judge_records_an_objective_at_its_worst_as_complete_and_infeasible():
    """A noisy proxy of -inf (singular kernel) is a measured worst, not a failed evaluation: told to
    Optuna so that NSGA-II and TPE learn the region, and kept off every front."""
    objectives = [ObjectiveConfig(metric="proxy_score", direction="maximize"),
                  ObjectiveConfig(metric="hw_energy_pj", direction="minimize")]
    constraints = [ConstraintConfig.model_validate(CONSTRAINT[0])]
    collapsed = judge({"hw_area_mm2": 2.0, "hw_energy_pj": 100.0, "proxy_score": -math.inf}, objectives, constraints)
    assert collapsed.reason is None and collapsed.values == [-math.inf, 100.0] and not collapsed.feasible
    assert collapsed.violations == {"hw_area_mm2": -1.0, "objective_at_worst": 1.0}
    # the best direction's infinity or NaN is no measurement: still a failure
    for bad in (math.inf, math.nan):
        verdict = judge({"hw_area_mm2": 2.0, "hw_energy_pj": 100.0, "proxy_score": bad}, objectives, constraints)
        assert verdict.reason == f"metric 'proxy_score' is {bad}"
    energy = judge({"hw_area_mm2": 2.0, "hw_energy_pj": -math.inf, "proxy_score": 1.0}, objectives, constraints)
    assert energy.reason == "metric 'hw_energy_pj' is -inf"
