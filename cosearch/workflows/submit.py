"""``cosearch submit``: run an experiment on a Ray cluster as a Ray job.

The project folder (the one holding ``search_spaces/`` and ``hw_models/``) is uploaded as the
job's working directory, so the cluster runs exactly this checkout's code and YAML files; the
job's driver runs ``python -m cosearch run EXPERIMENT --backend ray`` on the head node and
connects to the cluster itself. Cluster nodes need cosearch's dependencies installed (the same
``pip install -e .`` as here, or a ``--pip`` runtime environment).
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from cosearch.config import load_experiment
from cosearch.core.errors import CosearchError

#: Never uploaded with the working directory.
EXCLUDES = [".venv", ".git", "runs", "**/__pycache__", "*.egg-info", ".pytest_cache", "data"]
_FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def use_ray_token_if_present() -> None:
    """Send the cluster's auth token when one is available, as the ``ray job`` CLI does.

    Ray >= 2.5x clusters enable token authentication when a token exists (``~/.ray/auth_token``,
    ``RAY_AUTH_TOKEN`` or ``RAY_AUTH_TOKEN_PATH``); clients send it only with ``RAY_AUTH_MODE=token``.
    Must run before Ray is imported. An explicit ``RAY_AUTH_MODE`` is respected.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or (Path.home() / ".ray" / "auth_token").exists():
        os.environ["RAY_AUTH_MODE"] = "token"


def check_dashboard_address(address: str) -> None:
    """Refuse an address that is not a Ray dashboard URL: without a scheme Ray takes it for a cluster
    (GCS) address and waits about 40 s before failing with a traceback.

    Raises:
        CosearchError: naming ``--address`` and the form expected.
    """
    parsed = urlsplit(address)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        hint = f" (did you mean http://{address}?)" if "://" not in address else ""
        raise CosearchError(f"--address: expected the Ray dashboard's URL, http://HEAD:8265 or https://...; "
                            f"got {address!r}{hint}")


def submit_experiment(experiment_path: str | Path, address: str, *, out: str | None = None,
                      trials: int | None = None, workers: int | None = None, env: Sequence[str] = (),
                      pip: Sequence[str] = ()) -> tuple[str, str, str]:
    """Submit; returns (job id, run directory on the head node, the job's entrypoint)."""
    check_dashboard_address(address)
    use_ray_token_if_present()
    from ray.job_submission import JobSubmissionClient

    experiment = load_experiment(experiment_path, trials=trials)  # validate here, not on the cluster
    project = experiment.project_dir.resolve()
    source = Path(experiment_path).resolve()
    if not source.is_relative_to(project):
        raise CosearchError(f"{experiment_path}: must lie inside the project folder {project} to be uploaded")
    run_dir = out or f"$HOME/cosearch-runs/{experiment.name}"
    command = ["python", "-m", "cosearch", "run", str(source.relative_to(project)), "--backend", "ray", "--no-progress"]
    if trials is not None:
        command += ["--trials", str(trials)]
    if workers is not None:
        command += ["--workers", str(workers)]
    entrypoint = " ".join(shlex.quote(part) for part in command) + f" --out {run_dir}"
    env_vars = dict(_key_value(item) for item in env)
    runtime_env: dict = {"working_dir": str(project), "excludes": EXCLUDES}
    if env_vars:
        runtime_env["env_vars"] = env_vars
    if pip:
        runtime_env["pip"] = list(pip)
    try:
        client = JobSubmissionClient(address)
        job_id = client.submit_job(entrypoint=entrypoint, runtime_env=runtime_env,
                                   metadata={"cosearch_experiment": experiment.name})
    except (ConnectionError, RuntimeError, ValueError, PermissionError) as exc:
        raise CosearchError(f"--address: cannot submit to Ray at {address}: {exc}") from None
    return job_id, run_dir, entrypoint


def wait_for_job(address: str, job_id: str, timeout_s: float) -> tuple[str, str]:
    """Block until the job ends (or ``timeout_s``); returns (status, logs)."""
    use_ray_token_if_present()
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    deadline = time.monotonic() + timeout_s
    status = str(client.get_job_status(job_id))
    while status.split(".")[-1] not in _FINAL and time.monotonic() < deadline:
        time.sleep(1.0)
        status = str(client.get_job_status(job_id))
    return status.split(".")[-1], client.get_job_logs(job_id)


def _key_value(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise CosearchError(f"--env: expected KEY=VALUE (got {item!r})")
    return key, value
