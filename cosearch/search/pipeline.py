"""The evaluation pipeline: an experiment's evaluators built from config and run in order.

Built-in evaluators are referred to by name (:data:`cosearch.evaluators.BUILTIN`); any other
:class:`~cosearch.core.evaluator.Evaluator` subclass can be named as ``"package.module:ClassName"``.

Cheap first (docs/search.md): an evaluator entry's ``skip_when`` is checked on the metrics of the
evaluators before it; when a rule holds, that evaluator and every later one are skipped and the
metrics gain :data:`SCREENED` (which rule, with the value). :func:`judge` turns such metrics into
what Optuna is told: COMPLETE, each skipped objective at its worst value (``-inf`` maximised,
``+inf`` minimised), the known constraints' violations and :data:`SCREENED` as one more violated
constraint (1.0), so every sampler, the results table, ``pareto.csv`` and the hypervolume see an
infeasible trial, and the table shows NaN for the skipped metrics.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosearch.config import ConstraintConfig, EvaluatorConfig, ObjectiveConfig, SkipConditionConfig
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics, Outcome
from cosearch.core.record import is_scalar_metric
from cosearch.evaluators import listed_context, load_evaluator_class

#: Metric (and Optuna constraint) naming the rule that screened a trial out.
SCREENED = "screened_by"
#: Optuna constraint violated by a trial with an objective at its worst possible value (:func:`judge`).
AT_WORST = "objective_at_worst"

_HOLDS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
_BREAKS = {"<=": ">", ">=": "<"}  # a constraint ``m <= b`` is violated when ``m > b``


@dataclass(frozen=True)
class SkipRule:
    """Skip when ``metric op bound`` holds (``origin``: the ``skip_when`` item, for errors)."""

    metric: str
    op: str
    bound: float
    origin: str = ""

    def holds(self, metrics: Mapping[str, Any]) -> bool:
        """True when the metric is known, a number, and ``value op bound`` (NaN never holds)."""
        value: Any = metrics.get(self.metric)
        return is_scalar_metric(value) and _HOLDS[self.op](float(value), self.bound)

    def describe(self, metrics: Mapping[str, Any]) -> str:
        return f"{self.metric} = {float(metrics[self.metric]):.6g} {self.op} {self.bound:g} ({self.origin})"


def screens_of(listed: Sequence[EvaluatorConfig], constraints: Sequence[ConstraintConfig]) -> tuple[tuple[SkipRule, ...], ...]:
    """Each evaluator entry's ``skip_when`` as rules: the word ``constraints`` becomes one rule per
    experiment constraint (skip when violated), a condition ``{metric, op, bound}`` one rule."""
    screens = []
    for entry in listed:
        rules: list[SkipRule] = []
        for k, item in enumerate(entry.skip_when):
            if item == "constraints":
                rules += [SkipRule(c.metric, _BREAKS[c.op], float(c.bound), f"skip_when[{k}]: constraints")
                          for c in constraints]
            elif isinstance(item, SkipConditionConfig):
                rules.append(SkipRule(item.metric, item.op, float(item.bound), f"skip_when[{k}]"))
        screens.append(tuple(rules))
    return tuple(screens)


def skip_reason(rules: Sequence[SkipRule], metrics: Mapping[str, Any]) -> str | None:
    """The first rule that holds on ``metrics``, described; None when none does."""
    for rule in rules:
        if rule.holds(metrics):
            return rule.describe(metrics)
    return None


class Pipeline:
    """Evaluators run in order, metrics merged; the single thing a backend calls.

    ``screens[i]``: the skip rules checked before evaluator ``i`` (default: none).
    """

    def __init__(self, evaluators: Sequence[Evaluator], screens: Sequence[Sequence[SkipRule]] = ()) -> None:
        self.evaluators = list(evaluators)
        self.screens = [tuple(r) for r in screens] + [()] * (len(self.evaluators) - len(screens))

    def evaluate(self, candidate: Candidate) -> Metrics:
        metrics: Metrics = {}
        for evaluator, rules in zip(self.evaluators, self.screens):
            why = skip_reason(rules, metrics) if candidate.screen else None
            if why is not None:
                metrics[SCREENED] = why
                break
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
        """Evaluate several candidates with each evaluator's batched path (screened-out
        candidates leave the batch before the evaluator that screens them).

        If any evaluator raises on the batch, the candidates are evaluated one by one so that
        only the failing ones fail. Durations are the batch time shared equally.
        """
        start = time.perf_counter()
        try:
            merged: list[Metrics] = [{} for _ in candidates]
            active = list(range(len(candidates)))
            for evaluator, rules in zip(self.evaluators, self.screens):
                for i in active:
                    why = skip_reason(rules, merged[i]) if candidates[i].screen else None
                    if why is not None:
                        merged[i][SCREENED] = why
                active = [i for i in active if SCREENED not in merged[i]]
                if not active:
                    break
                new = evaluator.evaluate_batch([candidates[i] for i in active], [dict(merged[i]) for i in active])
                for i, metrics in zip(active, new):
                    merged[i].update(metrics)
        except ConfigError:
            raise
        except Exception:  # isolate the failing candidates
            return [self.run(candidate) for candidate in candidates]
        share = (time.perf_counter() - start) / max(len(candidates), 1)
        return [Outcome(metrics, None, share) for metrics in merged]


@dataclass(frozen=True)
class Verdict:
    """What a trial's metrics tell Optuna: ``reason`` (why it fails; None: COMPLETE), the objective
    ``values`` and the constraint ``violations`` (<= 0 when satisfied) to set on the trial."""

    reason: str | None
    values: list[float]
    violations: dict[str, float]

    @property
    def feasible(self) -> bool:
        return self.reason is None and all(v <= 0 for v in self.violations.values())


def judge(metrics: Mapping[str, Any], objectives: Sequence[ObjectiveConfig],
          constraints: Sequence[ConstraintConfig]) -> Verdict:
    """The verdict on ``metrics`` (see the module docstring for screened trials): a metric an
    objective or constraint names must be present and finite, except those a screen skipped and
    an objective at its worst possible value (``-inf`` maximised, ``+inf`` minimised: a measured
    collapse, e.g. a noisy proxy whose kernel is singular under a coarse ADC). Such a trial is
    COMPLETE with that value and infeasible through one more violated constraint, :data:`AT_WORST`,
    so samplers learn to avoid the region (a FAIL trial is invisible to NSGA-II and TPE)."""
    screened = SCREENED in metrics
    worst = {"maximize": -math.inf, "minimize": math.inf}
    at_worst = {o.metric for o in objectives
                if is_scalar_metric(value := metrics.get(o.metric)) and value == worst[o.direction]}
    names = [o.metric for o in objectives if o.metric not in at_worst] + [c.metric for c in constraints]
    reason = bad_value_reason(metrics, [n for n in names if n in metrics] if screened else names)
    if reason is not None:
        return Verdict(reason, [], {})
    values = [float(metrics[o.metric]) if o.metric in metrics else worst[o.direction] for o in objectives]
    violations = {c.metric: c.violation(float(metrics[c.metric])) for c in constraints if c.metric in metrics}
    if screened:
        violations[SCREENED] = 1.0
    if at_worst:
        violations[AT_WORST] = 1.0
    return Verdict(None, values, violations)


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
    screens: tuple[tuple[SkipRule, ...], ...] = ()  # skip rules per evaluator (:func:`screens_of`)

    def cheap_stage(self) -> tuple[PipelineSpec, tuple[SkipRule, ...]] | None:
        """The evaluators before the first one with a screen (``skip_when``) and that screen's
        rules; None without a screen after the first evaluator."""
        first = next((i for i, rules in enumerate(self.screens) if rules), None)
        if not first:
            return None
        return PipelineSpec(self.evaluators[:first], self.context, self.source, self.where), self.screens[first]

    def build(self) -> Pipeline:
        """Instantiate the evaluators; option errors name ``source`` (the experiment file)."""
        evaluators = []
        for index, (name, options) in enumerate(self.evaluators):
            try:
                cls = load_evaluator_class(name)
            except ValueError as exc:
                raise ConfigError(self.source, f"{self.where}[{index}].type", str(exc)) from None
            try:
                evaluators.append(cls(options, listed_context(self.evaluators, index, self.context)))
            except ConfigError as exc:
                if exc.source:
                    raise
                path = f"{self.where}[{index}].{exc.path}" if exc.path.startswith("options") else exc.path
                raise ConfigError(self.source, path, exc.detail) from None
        return Pipeline(evaluators, self.screens)


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
