"""The ``train`` evaluator in a refine phase (issue 11 part 4): a phase re-evaluates the previous
phase's Pareto set with trained accuracy under hardware, resumes after kill -9, refuses bad budgets."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import REPO, cli_run_command, experiment_dict

from cosearch.cli import main
from cosearch.config import load_experiment
from cosearch.core.pareto import non_dominated, to_minimization
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACE: dict[str, Any] = {
    "name": "tiny_refine",
    "network": {"arch": "vgg16", "channels": {"choices": [4, 8], "count": 13}},
    "timesteps": {"choices": [2]},
    "hardware": {"adc_bits": {"choices": [3, 8]}},
}
ANALYTIC = {"type": "analytic_evaluator:AnalyticEvaluator", "options": {}}
TRAIN = {"epochs": 1, "channel_scale": 1.0, "train_size": 64, "test_size": 64, "batch_size": 32, "augment": False,
         "hardware_eval": {"draws": 2, "batch_size": 64}}


def refine_document(train: dict[str, Any], top: int = 2) -> dict[str, Any]:
    """Screen 6 designs with the analytic evaluator, then train the best ``top`` of its Pareto set."""
    return experiment_dict(
        space=SPACE, evaluators=[ANALYTIC], searcher="random",
        phases=[{"name": "screen", "trials": 6},
                {"name": "refine", "trials": 5, "inherit": {"enqueue": "pareto", "top": top, "sample": False},
                 "evaluators": [ANALYTIC, {"type": "train", "options": train}]}],
    )


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    import yaml

    path = tmp_path / "refine.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.mark.slow
def test_refine_phase_records_trained_accuracy_for_inherited_designs(tmp_path) -> None:
    path = write(tmp_path, refine_document(TRAIN))
    experiment = load_experiment(path)
    out = RunDirectory(tmp_path / "run")
    run_experiment(experiment, out, progress=False)
    table = load_table(out.path)
    screen, refine = table[table["phase"] == "screen"], table[table["phase"] == "refine"]
    assert len(screen) == 6
    done = screen[screen["state"] == "COMPLETE"]
    points = to_minimization(done[["objective_proxy_score", "objective_hw_energy_pj"]].to_numpy(dtype=float),
                             ["maximize", "minimize"])
    assert len(refine) == min(2, int(non_dominated(points).sum()))  # only the inherited Pareto designs, at most top
    assert (refine["state"] == "COMPLETE").all()
    for column in ("accuracy", "accuracy_quantised", "accuracy_hw", "accuracy_hw_std"):
        values = refine[column].to_numpy(dtype=float)
        assert np.isfinite(values).all() and ((values >= 0) & (values <= 1)).all(), column
    assert "accuracy" not in screen or screen["accuracy"].isna().all()
    # the default device (rram) has no noise model: hardware accuracy is the quantised one, std 0
    assert (refine["accuracy_hw"] == refine["accuracy_quantised"]).all()
    checkpoints = sorted((out.path / "train").glob("*/checkpoint.pt"))
    assert len(checkpoints) == len(refine)

    # running the finished experiment again trains nothing: the refine phase has its budget
    stamps = [c.stat().st_mtime_ns for c in checkpoints]
    run_experiment(experiment, out, progress=False)
    assert [c.stat().st_mtime_ns for c in checkpoints] == stamps
    assert len(load_table(out.path)) == len(table)


@pytest.mark.parametrize(("options", "key"), [
    ({**TRAIN, "epochs": 0}, "phases[1].evaluators[1].options.epochs"),
    ({**TRAIN, "channel_scale": 0.1}, "options.channel_scale"),  # channels 4 x 0.1 = 0.4 -> 0 channels
    ({**TRAIN, "hardware_eval": {"draws": 0}}, "options.hardware_eval.draws"),
])
def test_bad_training_budgets_exit_2_before_anything_is_recorded(tmp_path, capsys, options, key) -> None:
    path = write(tmp_path, refine_document(options))
    out = tmp_path / "run"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 2
    message = capsys.readouterr().err
    assert key in message and str(path) in message, message
    assert not (out / "study.journal").exists()


@pytest.mark.slow
def test_kill_9_during_training_then_resume_continues_from_the_checkpoint(tmp_path) -> None:
    train = {**TRAIN, "epochs": 4, "train_size": 256}
    document = refine_document(train, top=1)
    path = write(tmp_path, document)
    out = tmp_path / "run"
    command, env = cli_run_command(path, out)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    checkpoints: list[Path] = []
    while time.time() < deadline and not checkpoints:
        checkpoints = list((out / "train").glob("*/checkpoint.pt"))
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoints, "no training checkpoint appeared"
    before = torch.load(checkpoints[0], weights_only=False)["history"]
    assert 1 <= len(before) < 4  # killed mid-training (8 steps per epoch, polled every 50 ms)

    run_experiment(load_experiment(path), RunDirectory(out), progress=False)
    metrics = json.loads((checkpoints[0].parent / "metrics.json").read_text())
    assert len(metrics["history"]) == 4
    assert metrics["history"][:len(before)] == before  # the epochs before the kill were kept, not retrained
    table = load_table(out)
    refine = table[(table["phase"] == "refine") & (table["state"] == "COMPLETE")]
    assert len(refine) == 1 and np.isfinite(refine["accuracy_hw"].to_numpy(dtype=float)).all()
