"""``accuracy_model`` evaluator: predicted trained accuracy [%] with its standard deviation.

The training-free metrics of the evaluators before it (``proxy_*``, ``hw_*``) and the design's
own features (:mod:`cosearch.predictor.features`) go into a model of trained accuracy
(:class:`cosearch.predictor.model.AccuracyModel`) fitted on calibration rows: designs whose
trained accuracy is known (:mod:`cosearch.predictor.calibration`).

Experiment YAML::

    evaluators:
      - proxy
      - cost
      - type: accuracy_model
        options:
          family: gp               # or bayesian_ridge (docs/validation.md section 7 compares them)
          seed: 0                  # draws the GP optimiser's restarts
          restarts: 0              # GP optimiser restarts (each about one more fit)
          features: all            # or a list of feature / metric names
          max_features: auto       # keep the rows/4 features that best order the calibration rows (or N, or null: all)
          target: auto             # runs' trained column: accuracy_hw, else accuracy (or name one)
          calibration:
            - {benchmark: spikenas, path: ../../shared/data/spikenas_bench/cifar10_dev_half.csv, sample: 50}
            - {runs: [runs/cifar10_xpert_refine]}
            - {this_run: true}
    objectives:
      - {metric: accuracy_pred, direction: maximize}

Metrics: ``accuracy_pred`` (predicted test accuracy [%], the tables' scale) and
``accuracy_pred_std`` [%]. The model is fitted at the first evaluation (seconds, plus one scoring
of the benchmark designs by the upstream evaluators, cached in ``<run dir>/accuracy_model/``),
deterministically from its rows and ``seed``; ``model.json`` there records what was fitted. The
first trial's ``duration_s`` includes that scoring (50 SpikeNAS-Bench topologies with the noisy
proxy: about 3 minutes on 2 busy cores; a rerun reads the cache).
With ``this_run: true`` a trial that arrives with a trained accuracy (a ``train`` evaluator
before this one) joins the rows and the model is refitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.core.files import write_json
from cosearch.evaluators import listed_context, load_evaluator_class
from cosearch.predictor.calibration import (
    TARGETS,
    CalibrationRow,
    SourceConfig,
    benchmark_rows,
    pydantic_error,
    resolve,
    run_rows,
    score_rows,
    target_of,
    trained_rows,
)
from cosearch.predictor.features import FeatureScope, design_feature_names, feature_row
from cosearch.predictor.model import FAMILIES, MIN_ROWS, AccuracyModel

METRICS = ("accuracy_pred", "accuracy_pred_std")
#: Folder of the run directory holding the cached calibration metrics and the fitted model's description.
FOLDER = "accuracy_model"


class AccuracyModelOptions(BaseModel):
    """The evaluator's options (module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    family: Literal["gp", "bayesian_ridge"] = "gp"
    seed: int = Field(0, ge=0)
    restarts: int = Field(0, ge=0, le=20)
    max_features: Literal["auto"] | Annotated[int, Field(ge=1)] | None = "auto"
    features: Literal["all"] | list[str] = "all"
    target: Literal["auto", "accuracy_hw", "accuracy"] = "auto"
    calibration: list[SourceConfig] = Field(min_length=1)


def parse_options(options: Mapping[str, Any]) -> AccuracyModelOptions:
    """Validated options; ConfigError on ``options.<key>`` naming what is allowed."""
    try:
        return AccuracyModelOptions.model_validate(dict(options))
    except ValidationError as exc:
        raise pydantic_error(exc, "options") from None


def feature_scope(context: EvaluationContext) -> FeatureScope:
    """Card defaults and device names of the experiment's ``hardware`` section."""
    from cosearch.hw import load_hardware_section

    model = load_hardware_section(context.project_dir, context.hardware)
    return FeatureScope(dict(model.defaults), model.device_names)


def upstream_scorer(context: EvaluationContext) -> Callable[[Candidate], Metrics]:
    """A function scoring one design with the evaluators listed before the model, built as the
    pipeline builds them (screens do not apply: a calibration design is always scored in full)."""
    evaluators = [load_evaluator_class(name)(options, listed_context(context.upstream, index, context))
                  for index, (name, options) in enumerate(context.upstream)]

    def score(candidate: Candidate) -> Metrics:
        metrics: Metrics = {}
        for evaluator in evaluators:
            metrics.update(evaluator.evaluate(candidate, dict(metrics)))
        return metrics

    return score


def upstream_metrics(context: EvaluationContext) -> set[str]:
    """The scalar ``proxy_*`` / ``hw_*`` metrics the evaluators before the model declare."""
    names: set[str] = set()
    for name, options in context.upstream:
        names |= load_evaluator_class(name).produces(options, context)
    return {n for n in names if n.startswith(("proxy_", "hw_"))}


class AccuracyModelEvaluator(Evaluator):
    """Predicts trained accuracy from the upstream metrics and design features (module docstring)."""

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return set(METRICS)

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        self.settings = parse_options(self.options)
        self.scope = feature_scope(self.context)
        available = set(design_feature_names(self.scope)) | upstream_metrics(self.context)
        if self.settings.features != "all":
            unknown = [f for f in self.settings.features if f not in available]
            if unknown:
                raise ConfigError("", "options.features", f"unknown feature(s) {', '.join(unknown)}: the design "
                                  f"features and the upstream evaluators' metrics are {', '.join(sorted(available))}")
        self.rows = self._read_sources()
        self._model: AccuracyModel | None = None

    def _read_sources(self) -> list[CalibrationRow]:
        """Every source's rows now (files checked before trial 0); their metrics are scored at the first fit."""
        rows: list[CalibrationRow] = []
        base = self.context.experiment_dir
        for index, source in enumerate(self.settings.calibration):
            where = f"options.calibration[{index}]"
            if source.benchmark is not None:
                rows += benchmark_rows(source, base, self.context.seed, self.context.common_seed, where)
            elif source.runs is not None:
                for k, run in enumerate(source.runs):
                    rows += run_rows(resolve(run, base), self.settings.target, f"{where}.runs[{k}]")
            elif self.context.run_dir is not None and (self.context.run_dir / "config.yaml").is_file():
                rows += self._own_rows()
        self.own_source = any(s.this_run for s in self.settings.calibration)
        if len(rows) < MIN_ROWS:
            more = (" (this_run adds this run's trained trials as they arrive, but the first trials need a model "
                    "already)") if self.own_source else ""
            raise ConfigError("", "options.calibration", f"has {len(rows)} trained design(s); the model needs at least "
                              f"{MIN_ROWS}{more}: add a benchmark or runs source, or a larger benchmark sample")
        return rows

    def _own_rows(self) -> list[CalibrationRow]:
        from cosearch.results import load_results

        assert self.context.run_dir is not None
        try:
            results = load_results(self.context.run_dir)
        except Exception:  # a run directory without trials yet (the first start)
            return []
        return trained_rows(results.table, results.records, self.settings.target, "this run")

    def check_space(self, network: Mapping[str, Sequence[Any]]) -> None:
        """A benchmark source needs a space that can express its cells: SNASNet cells of 4 nodes."""
        for index, source in enumerate(self.settings.calibration):
            if source.benchmark is None:
                continue
            archs, nodes = set(network.get("arch", ())), set(network.get("nodes", (4,)))
            if "snasnet" not in archs or 4 not in nodes:
                raise ConfigError("", f"options.calibration[{index}].benchmark",
                                  f"{source.benchmark} holds 4-node SNASNet cells; this space's networks "
                                  f"(arch {', '.join(map(str, sorted(archs)))}) cannot express them: calibrate on "
                                  "runs of this space instead ({runs: [...]})")

    @property
    def folder(self) -> Path | None:
        return self.context.run_dir / FOLDER if self.context.run_dir is not None else None

    def fit(self, progress: bool = True) -> AccuracyModel:
        """Score the rows that need it (cached), fit, record ``model.json``; the fitted model."""
        folder = self.folder
        score_rows(self.rows, self.context.upstream, lambda: upstream_scorer(self.context),
                   folder / "calibration.csv" if folder else None, progress)
        table = pd.DataFrame(self.feature_rows([r.candidate for r in self.rows], [r.metrics or {} for r in self.rows]))
        wanted = list(table.columns) if self.settings.features == "all" else list(self.settings.features)
        try:
            model = AccuracyModel(self.settings.family, self.settings.seed, self.settings.restarts,
                                  self.settings.max_features).fit(
                table, wanted, [r.accuracy for r in self.rows])
        except ValueError as exc:
            raise ConfigError("", "options.calibration", str(exc)) from None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            write_json(folder / "model.json", {**model.describe(), "sources": [r.origin for r in self.rows]})
        self._model = model
        return model

    def feature_rows(self, candidates: Sequence[Candidate], metrics: Sequence[Mapping[str, Any]]) -> list[dict[str, float]]:
        """One feature mapping per candidate."""
        return [feature_row(c, m, self.scope) for c, m in zip(candidates, metrics)]

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        return self.evaluate_batch([candidate], [upstream])[0]

    def evaluate_batch(self, candidates: Sequence[Candidate], upstream: Sequence[Mapping[str, Any]]) -> list[Metrics]:
        """Predictions for a batch (one model call); trained arrivals refit first (``this_run``)."""
        if self.own_source:
            for candidate, metrics in zip(candidates, upstream):
                accuracy = target_of(metrics, self.settings.target)
                if not math.isnan(accuracy):
                    features = {k: v for k, v in metrics.items() if k not in TARGETS}
                    self.rows.append(CalibrationRow(candidate, 100.0 * accuracy, "this run", features))
                    self._model = None
        model = self._model or self.fit()
        mean, std = model.predict(self.feature_rows(candidates, upstream))
        return [{"accuracy_pred": float(m), "accuracy_pred_std": float(s)} for m, s in zip(mean, std)]


__all__ = ["FAMILIES", "METRICS", "AccuracyModelEvaluator", "AccuracyModelOptions"]
