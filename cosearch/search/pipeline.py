"""The evaluation pipeline: an experiment's evaluators built from config and run in order.

Built-in evaluators are referred to by name (:data:`cosearch.evaluators.BUILTIN`); any other
:class:`~cosearch.core.evaluator.Evaluator` subclass can be named as ``"package.module:ClassName"``.
"""

from __future__ import annotations

import importlib
import math
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics, Outcome
from cosearch.evaluators import BUILTIN


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

        A :class:`~cosearch.core.errors.ConfigError` is the user's to fix (a device no card defines,
        a setting out of range) and would fail every trial alike, so it propagates and stops the
        run with its message; so do KeyboardInterrupt and SystemExit.
        """
        start = time.perf_counter()
        try:
            metrics = self.evaluate(candidate)
        except ConfigError:
            raise
        except Exception as exc:  # a failing candidate must not stop the study
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
        except Exception:  # isolate the failing candidates
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
    where: str = "evaluators"  # key path of the evaluator list in ``source``, for errors

    def build(self) -> Pipeline:
        """Instantiate the evaluators; option errors name ``source`` (the experiment file)."""
        evaluators = []
        for index, (name, options) in enumerate(self.evaluators):
            try:
                cls = load_evaluator_class(name)
            except ValueError as exc:
                raise ConfigError(self.source, f"{self.where}[{index}].type", str(exc)) from None
            try:
                evaluators.append(cls(options, self.context))
            except ConfigError as exc:
                if exc.source:
                    raise
                path = f"{self.where}[{index}].{exc.path}" if exc.path.startswith("options") else exc.path
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
