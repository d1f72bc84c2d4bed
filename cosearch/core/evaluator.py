"""The evaluator contract: Candidate -> metrics dict.

An evaluator sees only a :class:`~cosearch.core.candidate.Candidate` (never a trial or sampler)
and returns named metrics. Scalar metrics become columns of the results table under their own
names; by convention the proxy's start with ``proxy_`` and the cost model's with ``hw_``.
Non-scalar values (per-layer lists, breakdown dicts) are kept in the trial's records (JSON)
for dashboards and exports, not in the table.

Evaluators run in the order the experiment lists them; each receives the metrics of the ones
before it (``upstream``), so the cost model can use the firing rates the proxy measured.
An evaluator class is built as ``cls(options, context)`` where ``options`` is its mapping from
the experiment YAML and ``context`` an :class:`EvaluationContext`. The built-in evaluators live
in :mod:`cosearch.evaluators`; the loop composes them (:mod:`cosearch.search.pipeline`).

What every evaluator declares (checked before trial 0 by :mod:`cosearch.search.preflight`):

* :meth:`Evaluator.produces` (classmethod, required): the names of the metrics it returns for
  given options and context, so an objective or constraint naming a metric nobody produces is
  refused before the run starts. Declare every scalar metric an objective could name.
* :meth:`Evaluator.check_space` (optional): called once on the built evaluator with every value
  the space's network keys can take; raise :class:`~cosearch.core.errors.ConfigError` for a
  setting that no trial could satisfy (the proxy checks its batch and channel scale here).

A minimal evaluator::

    class Flops(Evaluator):
        @classmethod
        def produces(cls, options, context):
            return {"flops"}

        def evaluate(self, candidate, upstream):
            return {"flops": ...}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosearch.core.candidate import Candidate

Metrics = dict[str, Any]


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
        run_dir: the run directory, for evaluators that keep files per candidate (the ``train``
            evaluator's checkpoints); None outside a run (e.g. preflight).
        seed: the experiment's seed; common_seed: its ``common_seed`` (an evaluator that scores
            designs of its own, such as the accuracy model's calibration designs, seeds them as the
            loop seeds candidates: :func:`cosearch.core.seeds.evaluation_seed`).
        upstream: the evaluators listed before this one, as ``(name, options)`` (set by
            :meth:`cosearch.search.pipeline.PipelineSpec.build`), so an evaluator can produce the
            same upstream metrics for designs of its own.
    """

    experiment_dir: Path = Path(".")
    project_dir: Path = Path(".")
    data: Mapping[str, Any] = field(default_factory=dict)
    hardware: Mapping[str, Any] = field(default_factory=dict)
    proxy: Mapping[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None
    seed: int = 0
    common_seed: bool = False
    upstream: tuple[tuple[str, dict[str, Any]], ...] = ()


class Evaluator(ABC):
    """Scores candidates. Subclasses implement :meth:`evaluate`; batching is optional."""

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        self.options = dict(options or {})
        self.context = context or EvaluationContext()

    @classmethod
    @abstractmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        """Names of the metrics :meth:`evaluate` returns with these ``options`` and ``context``."""

    def check_space(self, network: Mapping[str, Sequence[Any]]) -> None:
        """Preflight hook: ``network`` maps each network key of the space to the values it can take
        (every choice or fixed value; for an int or float range, its two bounds). Raise ConfigError
        naming the setting no value could satisfy; the default checks nothing."""
        return None

    def check_objectives(self, metrics: Sequence[str]) -> None:
        """Preflight hook: ``metrics`` are the metric names the experiment's objectives and constraints
        use. Raise ConfigError naming a setting that does not suit them; the default checks nothing."""
        return None

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
