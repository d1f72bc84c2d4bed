"""Evaluator interface: Candidate -> metrics dict, and the registry that builds them from config.

An evaluator sees only a :class:`~cosearch.candidate.Candidate` (never a trial or sampler) and
returns named metrics. Scalar metrics become columns of the results table under their own
names; by convention the proxy's start with ``proxy_`` and the cost model's with ``hw_``.
Non-scalar values (per-layer lists, breakdown dicts) are kept in the trial's records (JSON)
for dashboards and exports, not in the table.

Evaluators run in the order the experiment lists them; each receives the metrics of the ones
before it (``upstream``), so the cost model can use the firing rates the proxy measured.

Built-in evaluators are referred to by name (:data:`BUILTIN`); any other class can be named
as ``"package.module:ClassName"``. An evaluator class is built as ``cls(options, context)``
where ``options`` is its mapping from the experiment YAML and ``context`` an
:class:`EvaluationContext`.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from cosearch.candidate import Candidate
from cosearch.errors import ConfigError

Metrics = dict[str, Any]

#: Built-in evaluator names -> "module:Class" (imported lazily so torch loads only when needed).
BUILTIN: dict[str, str] = {
    "proxy": "cosearch.proxy.evaluator:ProxyEvaluator",
    "cost": "cosearch.hw.evaluator:CostEvaluator",
}


@dataclass(frozen=True)
class EvaluationContext:
    """What an experiment tells its evaluators besides their own options.

    Attributes:
        experiment_dir: folder of the experiment YAML (relative paths resolve against it).
        project_dir: folder holding ``hw_models/`` and ``search_spaces/`` (the package's repo root
            or the current directory).
        data: the experiment's ``data`` section (dataset, root, batch_size ...).
        hardware: the experiment's ``hardware`` section (cards to load, overrides ...).
        proxy: the experiment's ``proxy`` section (batch size, repeats, fidelity ...).
    """

    experiment_dir: Path = Path(".")
    project_dir: Path = Path(".")
    data: Mapping[str, Any] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    proxy: Mapping[str, Any] = field(default_factory=dict)


class Evaluator(ABC):
    """Scores candidates. Subclasses implement :meth:`evaluate`; batching is optional."""

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        self.options = dict(options or {})
        self.context = context or EvaluationContext()

    @abstractmethod
    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        """Metrics of one candidate; ``upstream`` holds metrics of evaluators listed before."""

    def evaluate_batch(self, candidates: Sequence[Candidate], upstream: Sequence[Mapping[str, Any]]) -> list[Metrics]:
        """Metrics of several candidates; override where one vectorised call is faster."""
        return [self.evaluate(c, u) for c, u in zip(candidates, upstream)]


@dataclass(frozen=True)
class Outcome:
    """Result of evaluating one candidate: metrics, or the reason it failed."""

    metrics: Metrics | None
    error: str | None
    duration_s: float


class Pipeline:
    """Evaluators run in order, metrics merged; the single thing a backend calls."""

    def __init__(self, evaluators: Sequence[Evaluator]) -> None:
        self.evaluators = list(evaluators)

    def evaluate(self, candidate: Candidate) -> Metrics:
        metrics: Metrics = {}
        for evaluator in self.evaluators:
            metrics.update(evaluator.evaluate(candidate, dict(metrics)))
        return metrics

    def run(self, candidate: Candidate) -> Outcome:
        """Evaluate, turning an exception into a failed Outcome.

        A :class:`~cosearch.errors.ConfigError` is the user's to fix (a device no card defines,
        a setting out of range) and would fail every trial alike, so it propagates and stops the
        run with its message; so do KeyboardInterrupt and SystemExit.
        """
        start = time.perf_counter()
        try:
            metrics = self.evaluate(candidate)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing candidate must not stop the study
            return Outcome(None, _describe(exc), time.perf_counter() - start)
        return Outcome(metrics, None, time.perf_counter() - start)

    def run_batch(self, candidates: Sequence[Candidate]) -> list[Outcome]:
        """Evaluate several candidates with each evaluator's batched path.

        If any evaluator raises on the batch, the candidates are evaluated one by one so that
        only the failing ones fail. Durations are the batch time shared equally.
        """
        start = time.perf_counter()
        try:
            merged: list[Metrics] = [{} for _ in candidates]
            for evaluator in self.evaluators:
                for metrics, new in zip(merged, evaluator.evaluate_batch(candidates, [dict(m) for m in merged])):
                    metrics.update(new)
        except ConfigError:
            raise
        except Exception:  # noqa: BLE001 - isolate the failing candidates
            return [self.run(candidate) for candidate in candidates]
        share = (time.perf_counter() - start) / max(len(candidates), 1)
        return [Outcome(metrics, None, share) for metrics in merged]


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"


@dataclass(frozen=True)
class PipelineSpec:
    """Everything needed to build a Pipeline anywhere (picklable: Ray workers build their own)."""

    evaluators: tuple[tuple[str, dict[str, Any]], ...]
    context: EvaluationContext
    source: str = ""

    def build(self) -> Pipeline:
        """Instantiate the evaluators; option errors name ``source`` (the experiment file)."""
        evaluators = []
        for index, (name, options) in enumerate(self.evaluators):
            try:
                cls = load_evaluator_class(name)
            except ValueError as exc:
                raise ConfigError(self.source, f"evaluators[{index}].type", str(exc)) from None
            try:
                evaluators.append(cls(options, self.context))
            except ConfigError as exc:
                if exc.source:
                    raise
                path = f"evaluators[{index}].{exc.path}" if exc.path.startswith("options") else exc.path
                raise ConfigError(self.source, path, exc.detail) from None
        return Pipeline(evaluators)


def load_evaluator_class(name: str) -> type[Evaluator]:
    """Class for a built-in name or a ``module:Class`` path; ValueError with the choices otherwise."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ValueError(f"must be one of {', '.join(BUILTIN)} or 'module:Class' (got {name!r})")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for evaluator {name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Evaluator)):
        raise ValueError(f"{target!r} is not an Evaluator subclass")
    return cls


def bad_value_reason(metrics: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """Why the named metrics cannot be used (missing or NaN/inf), or None when all are finite."""
    for name in names:
        if name not in metrics:
            return f"metric {name!r} missing (evaluators returned: {', '.join(sorted(metrics)) or 'nothing'})"
        value = metrics[name]
        try:
            number = float(value)
        except (TypeError, ValueError):
            return f"metric {name!r} is not a number ({value!r})"
        if not math.isfinite(number):
            return f"metric {name!r} is {number}"
    return None
