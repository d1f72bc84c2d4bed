"""Ray backend with a real Ray: same table as local, faults fail trials, and cluster job submission."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import VGG16_CHANNELS, cli_run_command, kill_9_after

from cosearch.config import load_experiment
from cosearch.results import load_table
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment

pytestmark = pytest.mark.slow  # the whole module: `pytest -m "not slow"` leaves it out

TIMING = ["duration_s", "datetime_start"]
BASELINE = {"name": "vgg16", "values": {"network": {"channels": VGG16_CHANNELS}, "timesteps": 2,
                                        "hardware": {"adc_bits": 4}}}


def _run(path: Path, out: Path, **overrides) -> pd.DataFrame:
    experiment = load_experiment(path, backend=overrides or None)
    return run_experiment(experiment, RunDirectory(out), progress=False).table


def test_ray_backend_gives_the_local_table(write_experiment, tmp_path):
    path = write_experiment(trials=16, searcher="random", enqueue=[BASELINE])
    local = _run(path, tmp_path / "local")
    ray_table = _run(path, tmp_path / "ray", type="ray", workers=2, batch_size=2)
    pd.testing.assert_frame_equal(local.drop(columns=TIMING), ray_table.drop(columns=TIMING))


def test_hung_and_dying_workers_fail_their_trials_and_the_run_finishes(write_experiment, tmp_path):
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator",
                   "options": {"hang_if_timesteps": 6, "exit_if_timesteps": 5}}]
    path = write_experiment(trials=14, searcher="random", evaluators=evaluators)
    # 10 s: on a loaded 2-core machine Ray took over 4 s to report a dead worker, which then read as a timeout
    table = _run(path, tmp_path / "run", type="ray", workers=2, timeout_s=10.0)
    assert len(table) == 14
    hung = table[table["params_timesteps"] == 6]
    died = table[table["params_timesteps"] == 5]
    assert len(hung) and len(died)
    assert hung["fail_reason"].str.startswith("timeout: no result within 10 s").all()
    assert died["fail_reason"].str.startswith("worker died").all()
    assert (table.loc[table["params_timesteps"] < 5, "state"] == "COMPLETE").all()


def test_a_local_run_continues_on_ray(write_experiment, tmp_path):
    path = write_experiment(trials=6, searcher="random")
    out = tmp_path / "run"
    _run(path, out)
    experiment = load_experiment(path, trials=12, backend={"type": "ray", "workers": 2})
    table = run_experiment(experiment, RunDirectory(out), progress=False).table
    assert len(table) == 12 and (table["state"] == "COMPLETE").all()
    assert table["phase_trial"].is_unique


@pytest.fixture
def ray_head(tmp_path):
    """A real single-node cluster on 127.0.0.1 (`ray start --head`), stopped afterwards."""
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    temp = f"/tmp/cosearch-ray-head-{os.getpid()}"
    start = [ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", "6391",
             "--dashboard-host", "127.0.0.1", "--dashboard-port", "8291", "--include-dashboard", "true",
             "--num-cpus", "2", "--disable-usage-stats", "--temp-dir", temp]
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=120)
    try:
        yield "http://127.0.0.1:8291", env
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_submit_runs_the_experiment_on_a_ray_head(ray_head, tmp_path):
    address, env = ray_head
    project = tmp_path / "project"
    (project / "experiments").mkdir(parents=True)
    (project / "search_spaces").mkdir()
    shutil.copytree(Path(__file__).parent, project / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    import yaml
    from conftest import experiment_dict

    (project / "experiments" / "tiny.yaml").write_text(yaml.safe_dump(experiment_dict(trials=10, searcher="random")))
    out = tmp_path / "cluster_run"
    command = [sys.executable, "-m", "cosearch", "submit", "experiments/tiny.yaml", "--address", address,
               "--out", str(out), "--env", "PYTHONPATH=tests", "--wait", "--wait-timeout", "300"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=360)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SUCCEEDED" in result.stdout and "ray job logs --follow" in result.stdout
    table = load_table(out)
    assert len(table) == 10 and (table["state"] == "COMPLETE").all()
    assert (out / "trials.parquet").is_file()


def test_kill_9_of_a_ray_driver_then_resume_loses_nothing(write_experiment, tmp_path):
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {"sleep_s": 0.2}}]
    path = write_experiment(trials=24, searcher="random", evaluators=evaluators,
                            backend={"type": "ray", "workers": 2})
    out = tmp_path / "run"
    command, env = cli_run_command(path, out)
    kill_9_after(command, env, out / "study.journal", completed=6)
    before = load_table(out)
    completed = before[before["state"] == "COMPLETE"]
    assert 6 <= len(completed) < 24

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = load_table(out)
    done = after[after["state"] == "COMPLETE"]
    assert len(done) == 24 and done["phase_trial"].is_unique
    kept = after.set_index("phase_trial").loc[completed["phase_trial"]]
    assert (kept["objective_hw_energy_pj"].to_numpy() == completed["objective_hw_energy_pj"].to_numpy()).all()
