"""Ray backend: evaluation actors on a local Ray or a cluster; Optuna stays in the driver.

Design (measured in ``benchmarks/bench_ray.py``): Ray Tune runs each trial as its own Tune
trial (about 1 s of overhead each here) and its ``OptunaSearch`` drops Optuna constraints, so
cosearch keeps the Optuna study in the driver as the single source of truth and uses Ray only
to evaluate. Each worker is a Ray actor that builds the experiment's evaluators once (data and
hardware cards are loaded once per worker) and evaluates *batches* of candidates per call
(``backend.batch_size``), which amortises Ray's per-call cost for cheap evaluators such as the
cost model.

Faults: a batch that does not return within ``timeout_s`` x its size has its actor killed and
replaced, and its candidates fail with reason ``timeout``; a worker that dies fails its candidates with reason
``worker died``. Either way they are first requeued up to ``retries`` times. The loop
never blocks on a dead worker.

GPUs: every actor reserves ``backend.gpus_per_worker`` GPUs (``num_gpus``); Ray makes only
those visible to it (``CUDA_VISIBLE_DEVICES``; none for 0), so evaluators with device ``auto``
(the default, :func:`cosearch.snn.device.resolve_device`) run on the GPU the actor was given,
and on the CPU when it was given none.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.core.evaluator import Outcome
from cosearch.search.backend import Backend
from cosearch.search.pipeline import PipelineSpec

if TYPE_CHECKING:
    from cosearch.config import BackendConfig


class EvaluationWorker:
    """Body of a Ray actor: one Pipeline, built on the worker, evaluating batches."""

    def __init__(self, spec: PipelineSpec) -> None:
        self.pipeline = spec.build()

    def run_batch(self, items: list[tuple[int, Candidate]]) -> list[tuple[int, Outcome]]:
        outcomes = self.pipeline.run_batch([candidate for _, candidate in items])
        return [(key, outcome) for (key, _), outcome in zip(items, outcomes)]


@dataclass
class _Job:
    key: int
    candidate: Candidate
    attempts: int = 0


@dataclass
class _Running:
    actor: Any
    jobs: list[_Job]
    deadline: float | None


def _python_path() -> str:
    """The driver's import path, so local workers import what the driver can (plugins, tests)."""
    entries = [p for p in sys.path if p and os.path.isdir(p)]
    return os.pathsep.join(dict.fromkeys([str(Path.cwd()), *entries]))


def _local_temp_dir(config: BackendConfig, run_dir: Path) -> str:
    """Ray session files: ``temp_dir`` if set, else under the run directory when the path is
    short enough for Ray's unix sockets (~107 bytes), else a per-run folder in /tmp."""
    if config.temp_dir:
        return str(Path(config.temp_dir).resolve())
    inside = (run_dir / "ray").resolve()
    if len(str(inside)) <= 40:
        return str(inside)
    return f"/tmp/cosearch-ray-{hashlib.sha1(str(inside).encode()).hexdigest()[:10]}"


class RayBackend(Backend):
    """Evaluates candidates on ``workers`` Ray actors, ``batch_size`` candidates per call."""

    def __init__(self, spec: PipelineSpec, config: BackendConfig, run_dir: Path) -> None:
        import ray

        self.ray = ray
        self.config = config
        self.capacity = config.workers * config.batch_size
        address = config.address or os.environ.get("RAY_ADDRESS")
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            try:
                if address:  # a cluster (or a Ray job's own): workers use the job's runtime environment
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
                else:
                    cpus = max(int(os.cpu_count() or 1), int(config.workers * config.cpus_per_worker))
                    ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=_local_temp_dir(config, run_dir),
                             runtime_env={"env_vars": {"PYTHONPATH": _python_path()}}, log_to_driver=False,
                             configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise CosearchError(f"backend.address: cannot start or reach Ray at {address or 'a local Ray'}: {exc}") from None
        self.actor_class: Any = ray.remote(EvaluationWorker).options(
            num_cpus=config.cpus_per_worker, num_gpus=config.gpus_per_worker, max_restarts=0,
        )
        self.spec = spec
        self.idle: list[Any] = [self.actor_class.remote(spec) for _ in range(config.workers)]  # actor handles
        self.queue: list[_Job] = []
        self.running: dict[Any, _Running] = {}

    # ------------------------------------------------------------ Backend --
    def submit(self, key: int, candidate: Candidate) -> None:
        self.queue.append(_Job(key, candidate))

    def wait(self) -> list[tuple[int, Outcome]]:
        while True:
            self._dispatch()
            if not self.running:
                return []
            ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=self._time_left())
            done = self._collect(ready[0]) if ready else self._expire()
            if done:
                return done

    def close(self) -> None:
        for running in self.running.values():
            self.ray.kill(running.actor)
        for actor in self.idle:
            self.ray.kill(actor)
        self.running.clear()
        self.idle.clear()
        if self.owns_ray:
            self.ray.shutdown()

    # ----------------------------------------------------------- internals --
    def _dispatch(self) -> None:
        while self.idle and self.queue:
            jobs, self.queue = self.queue[: self.config.batch_size], self.queue[self.config.batch_size:]
            actor = self.idle.pop()
            ref = actor.run_batch.remote([(job.key, job.candidate) for job in jobs])
            deadline = time.monotonic() + self.config.timeout_s * len(jobs) if self.config.timeout_s else None
            self.running[ref] = _Running(actor, jobs, deadline)

    def _time_left(self) -> float | None:
        deadlines = [r.deadline for r in self.running.values() if r.deadline is not None]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    def _collect(self, ref: Any) -> list[tuple[int, Outcome]]:
        running = self.running.pop(ref)
        try:
            results = self.ray.get(ref)
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.WorkerCrashedError) as exc:
            self.idle.append(self.actor_class.remote(self.spec))
            return self._fail(running.jobs, f"worker died: {type(exc).__name__}")
        except self.ray.exceptions.RayTaskError as exc:
            self.idle.append(running.actor)
            if isinstance(exc.cause, CosearchError):  # a user error (ConfigError): stop the run with it
                raise exc.cause from None
            return self._fail(running.jobs, f"worker error: {exc.cause!r}")
        self.idle.append(running.actor)
        return results

    def _expire(self) -> list[tuple[int, Outcome]]:
        now = time.monotonic()
        failed: list[tuple[int, Outcome]] = []
        for ref, running in list(self.running.items()):
            if running.deadline is not None and running.deadline <= now:
                del self.running[ref]
                self.ray.kill(running.actor)
                self.idle.append(self.actor_class.remote(self.spec))
                limit = float(self.config.timeout_s or 0.0) * len(running.jobs)
                failed += self._fail(running.jobs, f"timeout: no result within {limit:g} s")
        return failed

    def _fail(self, jobs: list[_Job], reason: str) -> list[tuple[int, Outcome]]:
        """Requeue jobs with retries left; the others fail with ``reason``."""
        failed = []
        for job in jobs:
            if job.attempts < self.config.retries:
                job.attempts += 1
                self.queue.append(job)
            else:
                failed.append((job.key, Outcome(None, reason, 0.0)))
        return failed
