"""Shared fixtures: the analytic test evaluator on the path, the shared CIFAR-10 subset, experiment files."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SHARED_DATA = REPO.parent / "shared" / "data"

sys.path.insert(0, str(TESTS))
if "COSEARCH_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["COSEARCH_DATA"] = str(SHARED_DATA)

VGG16_CHANNELS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]

TINY_SPACE: dict[str, Any] = {
    "name": "tiny_vgg",
    "network": {"arch": "vgg16", "channels": {"choices": [64, 128, 256, 512], "count": 13}},
    "timesteps": {"low": 1, "high": 6},
    "hardware": {"adc_bits": {"low": 2, "high": 8}},
}


def experiment_dict(**overrides: Any) -> dict[str, Any]:
    """A small two-objective experiment on the analytic evaluator."""
    base: dict[str, Any] = {
        "name": "tiny",
        "seed": 3,
        "space": TINY_SPACE,
        "evaluators": [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {}}],
        "objectives": [
            {"metric": "proxy_score", "direction": "maximize"},
            {"metric": "hw_energy_pj", "direction": "minimize"},
        ],
        "constraints": [{"metric": "hw_area_mm2", "<=": 4.0}],
        "searcher": {"type": "tpe"},
        "trials": 12,
    }
    base.update(overrides)
    return base


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write an experiment YAML (from :func:`experiment_dict` plus overrides) and return its path."""

    def write(name: str = "exp.yaml", document: dict[str, Any] | None = None, **overrides: Any) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(document if document is not None else experiment_dict(**overrides), sort_keys=False))
        return path

    return write


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: one torch thread avoids OpenMP spin-waits on a busy 2-core machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cli_run_command(experiment: Path, out: Path) -> tuple[list[str], dict[str, str]]:
    """``python -m cosearch run`` for a subprocess, with the analytic test evaluator importable."""
    env = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return [sys.executable, "-m", "cosearch", "run", str(experiment), "--out", str(out), "--no-progress"], env


def kill_9_after(command: list[str], env: dict[str, str], journal: Path, completed: int, timeout_s: float = 120) -> None:
    """Start ``command``, wait until ``completed`` trials are COMPLETE in its journal, then SIGKILL it."""
    import signal
    import subprocess
    import time

    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count('"state":1,') >= completed:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
