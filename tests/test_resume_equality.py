"""Reproducibility across sessions (issue 34): a run extended to more trials, or resumed after an
interruption, proposes every trial exactly as an uninterrupted run with the same seed does, for
every shipped searcher (cosearch.search.loop, module docstring "Reproducibility across sessions")."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from analytic_evaluator import AnalyticEvaluator
from conftest import REPO, cli_run_command, kill_9_after
from test_cheap_first import CONSTRAINT, CountingScore, _evaluators

from cosearch.cli import main
from cosearch.config import load_experiment
from cosearch.core.samplers import SAMPLERS, PerTrialSampler, make_sampler
from cosearch.core.seeds import derive_seed
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import SearchLoop, run_experiment

# the GP sampler's small torch fits: ~10x faster on one thread; every sampler's runs: slow
pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]

TIMING = ["duration_s", "datetime_start"]
TRIALS = {"gp": 8}  # searcher -> trials per run (default 12): each GP trial costs ~0.5 s

# A small space with a conditional parameter (adc_bits is named per adc_type case), so samplers
# that learn a fixed search space also sample some parameters independently; few dimensions keep
# the GP sampler cheap.
SPACE = {
    "name": "small",
    "network": {"arch": "vgg16", "channels": {"choices": [64, 128, 256, 512], "count": 2, "repeat": [6, 7]}},
    "timesteps": {"low": 1, "high": 6},
    "hardware": {
        "adc_type": {"choices": ["sar", "flash"]},
        "adc_bits": {"given": "adc_type", "cases": {"sar": {"low": 4, "high": 8}, "flash": {"low": 1, "high": 3}}},
        "column_sharing": {"low": 2, "high": 32, "log": True},
    },
}

SEARCHERS: dict[str, dict[str, Any]] = {
    "random": {"type": "random"},
    "tpe": {"type": "tpe", "options": {"n_startup_trials": 4}},
    "tpe_multivariate": {"type": "tpe", "options": {"n_startup_trials": 4, "multivariate": True, "group": True}},
    "nsga2": {"type": "nsga2", "options": {"population_size": 4}},
    "nsga3": {"type": "nsga3", "options": {"population_size": 4}},
    "gp": {"type": "gp", "options": {"n_startup_trials": 4}},
    "qmc": {"type": "qmc", "options": {"scramble": True}},  # scrambled: the sequence's seed matters
}
# interrupted during a trial, qmc moves one point on along its sequence (documented in loop.py)
MID_TRIAL = sorted(set(SEARCHERS) - {"qmc"})


def test_every_shipped_sampler_is_covered():
    assert {s["type"] for s in SEARCHERS.values()} == set(SAMPLERS)


def _trials(name: str) -> int:
    return TRIALS.get(name, 12)


def _experiment(write_experiment, name: str, searcher: dict[str, Any], **overrides: Any) -> Path:
    overrides = {"space": SPACE, "trials": _trials(name), **overrides}
    return write_experiment(f"{name}.yaml", searcher=searcher, **overrides)


def _run(path: Path, out: Path, **kwargs: Any) -> pd.DataFrame:
    return run_experiment(load_experiment(path, **kwargs), RunDirectory(out), progress=False).table


def _assert_same_counted(resumed: pd.DataFrame, whole: pd.DataFrame) -> None:
    """The trials that count (interrupted ones dropped) are the same, but for what differs by
    session (timing) or by interruption (trial numbers)."""
    def counted(table: pd.DataFrame) -> pd.DataFrame:
        kept = table[table["state"] != "INTERRUPTED"].drop(columns=TIMING + ["trial", "phase_trial"])
        return kept.reset_index(drop=True)

    # an interrupted trial may lack some params, turning int columns into float
    pd.testing.assert_frame_equal(counted(resumed), counted(whole), check_dtype=False)


def _interrupt(monkeypatch, owner: type, method: str, at: int) -> None:
    """Raise KeyboardInterrupt (Ctrl-C) on the ``at``-th call of ``owner.method`` (1-based)."""
    original = getattr(owner, method)
    calls = [0]

    def interrupting(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, method, interrupting)


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_extended_run_proposes_what_an_uninterrupted_run_does(write_experiment, tmp_path, name):
    path = _experiment(write_experiment, name, SEARCHERS[name])
    whole = _run(path, tmp_path / "whole").drop(columns=TIMING)
    _run(path, tmp_path / "extended", trials=_trials(name) // 2)
    extended = _run(path, tmp_path / "extended").drop(columns=TIMING)
    pd.testing.assert_frame_equal(extended, whole)  # params, objectives, evaluation seeds, hypervolume
    assert whole.filter(like="params_").drop_duplicates().shape[0] > 1


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_resume_after_a_stop_between_trials_continues_as_uninterrupted(write_experiment, tmp_path, monkeypatch, name):
    path = _experiment(write_experiment, name, SEARCHERS[name])
    whole = _run(path, tmp_path / "whole").drop(columns=TIMING)
    told = _trials(name) // 2 + 1
    with monkeypatch.context() as patch:
        _interrupt(patch, SearchLoop, "_update", at=told)  # after a trial is told, before the next is asked
        with pytest.raises(KeyboardInterrupt):
            _run(path, tmp_path / "resumed")
    stopped = load_table(tmp_path / "resumed")
    assert len(stopped) == told and not (stopped["state"] == "INTERRUPTED").any()
    resumed = _run(path, tmp_path / "resumed").drop(columns=TIMING)
    pd.testing.assert_frame_equal(resumed, whole)


@pytest.mark.parametrize("name", MID_TRIAL)
def test_resume_after_ctrl_c_during_a_trial_continues_as_uninterrupted(write_experiment, tmp_path, monkeypatch, name):
    """The interrupted trial's slot is re-run with its seeds: the same design, then the same run.
    Trial 5 is interrupted: inside NSGA's second generation (population 4), past the TPE and GP
    startup (4 trials)."""
    path = _experiment(write_experiment, name, SEARCHERS[name])
    whole = _run(path, tmp_path / "whole")
    with monkeypatch.context() as patch:
        _interrupt(patch, AnalyticEvaluator, "evaluate", at=6)
        with pytest.raises(KeyboardInterrupt):
            _run(path, tmp_path / "resumed")
    resumed = _run(path, tmp_path / "resumed")
    interrupted = resumed[resumed["state"] == "INTERRUPTED"]
    assert list(interrupted["phase_trial"]) == [5] and len(resumed) == _trials(name) + 1
    params = [c for c in whole.columns if c.startswith("params_")]
    # the interrupted trial had drawn the design its replacement (trial 6) evaluates
    pd.testing.assert_series_equal(interrupted.iloc[0][params], resumed.iloc[6][params], check_names=False)
    _assert_same_counted(resumed, whole)


def test_kill_9_during_a_trial_then_resume_continues_as_uninterrupted(write_experiment, tmp_path):
    """The same through the CLI with a real SIGKILL: the killed trial is recovered as interrupted."""
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {"sleep_s": 0.1}}]
    path = _experiment(write_experiment, "tpe", SEARCHERS["tpe"], evaluators=evaluators)
    whole = _run(path, tmp_path / "whole")
    out = tmp_path / "killed"
    command, env = cli_run_command(path, out)
    kill_9_after(command, env, out / "study.journal", completed=5)
    resumed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    table = load_table(out)
    assert (table["state"] == "INTERRUPTED").sum() <= 1  # a kill between two trials leaves none
    _assert_same_counted(table, whole)


def test_preselected_trials_survive_extension_and_interruption(write_experiment, tmp_path, monkeypatch):
    """Pre-selection draws each trial's design with the trial's slot seed, from non-interrupted trials."""
    searcher = {"type": "tpe", "options": {"n_startup_trials": 4}, "preselect": {"pool": 32, "startup": 4}}

    def experiment(k: int) -> Path:
        return write_experiment(f"pre{k}.yaml", trials=12, searcher=searcher, constraints=CONSTRAINT,
                                evaluators=_evaluators(tmp_path / f"calls{k}.txt", True))

    whole = _run(experiment(0), tmp_path / "whole")
    _run(experiment(1), tmp_path / "extended", trials=6)
    pd.testing.assert_frame_equal(_run(experiment(1), tmp_path / "extended").drop(columns=TIMING),
                                  whole.drop(columns=TIMING))
    with monkeypatch.context() as patch:
        _interrupt(patch, CountingScore, "evaluate", at=6)  # a trial the screen let through, past the startup
        with pytest.raises(KeyboardInterrupt):
            _run(experiment(2), tmp_path / "resumed")
    resumed = _run(experiment(2), tmp_path / "resumed")
    assert (resumed["state"] == "INTERRUPTED").sum() == 1
    _assert_same_counted(resumed, whole)


def test_cli_run_with_more_trials_and_resume_extend_the_same_way(write_experiment, tmp_path):
    """``cosearch run EXP --out DIR --trials N`` on a finished run and ``cosearch resume DIR
    --trials N`` extend through the same loop as an uninterrupted run."""
    path = _experiment(write_experiment, "tpe", SEARCHERS["tpe"])
    whole = _run(path, tmp_path / "whole").drop(columns=TIMING)
    out = tmp_path / "cli"
    assert main(["run", str(path), "--out", str(out), "--trials", "4", "--no-progress"]) == 0
    assert main(["run", str(path), "--out", str(out), "--trials", "8", "--no-progress"]) == 0
    assert main(["resume", str(out), "--trials", "12", "--no-progress"]) == 0
    pd.testing.assert_frame_equal(load_table(out).drop(columns=TIMING), whole)


# ----------------------------------------------------------------- the sampler wrapper itself ----


def _ask_tell(sampler: optuna.samplers.BaseSampler, study: optuna.Study | None, n: int) -> optuna.Study:
    study = study or optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    for _ in range(n):
        trial = study.ask()
        x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_int("y", 0, 9)
        study.tell(trial, [x + y, x * y])
    return study


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_a_new_sampler_on_the_same_storage_continues_as_one_sampler_would(name):
    """What the loop relies on, without it: a trial's proposal depends on its seed and the stored
    trials only, not on the sampler object (a resumed session makes a new one)."""
    options = {"population_size": 4} if name.startswith("nsga") else {}
    if name in ("tpe", "gp"):
        options["n_startup_trials"] = 3
    if name == "qmc":
        options["scramble"] = True

    def sampler() -> optuna.samplers.BaseSampler:
        return make_sampler(name, options, 7, lambda number: derive_seed(7, number))

    half = 3 if name == "gp" else 5
    one = _ask_tell(sampler(), None, 2 * half)
    two = _ask_tell(sampler(), None, half)
    two.sampler = sampler()  # a new session: a new sampler object on the same storage
    _ask_tell(two.sampler, two, half)
    assert [t.params for t in two.trials] == [t.params for t in one.trials]
    assert isinstance(one.sampler, PerTrialSampler) and not one.sampler._live  # every told trial's sampler dropped
    # the intersection search space, an incremental cache, is shared by the trials' samplers (else
    # each trial rebuilds it: time quadratic in the trials). Fails if Optuna's samplers stop holding one.
    assert bool(one.sampler._caches) == (name not in ("random", "qmc"))
