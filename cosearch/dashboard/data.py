"""What the run-level dashboard plots, computed from a run directory without drawing anything.

As Optuna's ``_get_pareto_front_info`` vs ``_get_pareto_front_plot``: every function here
returns plain data (numpy arrays, dataclasses, DataFrames) that tests check directly; the
figures in :mod:`cosearch.dashboard.figures` only draw it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosearch.core.pareto import hypervolume, hypervolume_history, non_dominated, to_minimization
from cosearch.dashboard.design import design_summary
from cosearch.results import RunSpec, load_results, reference_point

#: Point status on a Pareto plot: run-wide front, feasible but dominated, constraint violated.
STATUSES = ("pareto", "dominated", "infeasible")


@dataclass(frozen=True)
class RunData:
    """One run as the dashboard sees it: spec, results table, per-trial records, a label."""

    path: Path
    label: str
    spec: RunSpec
    table: pd.DataFrame
    records: dict[int, dict[str, Any]]

    @property
    def complete(self) -> pd.DataFrame:
        """Trials with objective values (state COMPLETE), feasible or not."""
        if self.table.empty:
            return self.table
        return self.table[self.table["state"] == "COMPLETE"]

    @property
    def reference(self) -> list[float] | None:
        """Hypervolume reference point in raw metric units (see :func:`cosearch.results.reference_point`)."""
        return reference_point(self.spec, self.table) if not self.table.empty else None


def load_run(run_dir: str | Path) -> RunData:
    """Table, records and spec of a run directory (:func:`cosearch.results.load_results`)."""
    path = Path(run_dir)
    results = load_results(path)
    spec = results.spec
    label = spec.name if path.name == spec.name else f"{spec.name} ({path.name})"
    return RunData(path, label, spec, results.table, results.records)


def objective_pairs(spec: RunSpec) -> list[tuple[int, int]]:
    """Index pairs of objectives a 2-D Pareto plot can show, in order (0,1), (0,2), (1,2) ..."""
    return list(itertools.combinations(range(len(spec.metrics)), 2))


# ------------------------------------------------------- predicted accuracy ----

#: Predicted trained test accuracy [%] (0-100) and its standard deviation [%], scalar metrics of
#: the accuracy-prediction evaluator; an experiment may maximise ``accuracy_pred``.
PREDICTED = "accuracy_pred"
PREDICTED_STD = "accuracy_pred_std"
#: Test accuracy measured by the ``train`` evaluator, as fractions 0-1, preferred first.
MEASURED = ("accuracy_hw", "accuracy")
#: Axis name and unit of metrics whose column name reads poorly on an axis.
METRIC_LABELS: dict[str, tuple[str, str]] = {PREDICTED: ("predicted accuracy", "%")}
#: Column holding one standard deviation of a metric (same unit), drawn as error bars.
METRIC_STD: dict[str, str] = {PREDICTED: PREDICTED_STD}


def metric_unit(metric: str) -> str:
    """Unit of ``metric`` when the dashboard knows it (``%`` for ``accuracy_pred``), else ""."""
    return METRIC_LABELS.get(metric, (metric, ""))[1]


def metric_label(metric: str) -> str:
    """How an axis names ``metric``: ``predicted accuracy [%]`` for ``accuracy_pred``, else the metric itself."""
    name, unit = METRIC_LABELS.get(metric, (metric, ""))
    return f"{name} [{unit}]" if unit else name


def metric_errors(frame: pd.DataFrame, metric: str) -> np.ndarray | None:
    """Error bar (one standard deviation, the metric's unit) of ``metric`` per row of ``frame``:
    its :data:`METRIC_STD` column, NaN where a row has none; None when ``frame`` has no such column."""
    column = METRIC_STD.get(metric)
    if column is None or column not in frame.columns:
        return None
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


@dataclass(frozen=True)
class AccuracyInfo:
    """Predicted vs trained accuracy of some table rows, all in percent.

    Attributes:
        predicted: ``accuracy_pred`` per row [%] (NaN where missing).
        std: ``accuracy_pred_std`` per row [%] (NaN where missing).
        trained: rows whose accuracy training measured: a finite ``accuracy_hw``, else ``accuracy``.
        measured: that accuracy [%] (the column's fraction x 100); NaN where not trained.
        source: the column ``measured`` comes from (``accuracy_hw`` or ``accuracy``); "" where not trained.
    """

    predicted: np.ndarray
    std: np.ndarray
    trained: np.ndarray
    measured: np.ndarray
    source: list[str]


def accuracy_info(frame: pd.DataFrame) -> AccuracyInfo | None:
    """Predicted and trained accuracy of each row of ``frame`` (a results table or part of one);
    None when ``frame`` has no ``accuracy_pred`` column (a run without the accuracy predictor)."""
    if PREDICTED not in frame.columns:
        return None
    n = len(frame)

    def column(name: str) -> np.ndarray:
        if name not in frame.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)

    measured = np.full(n, np.nan)
    source = np.full(n, "", dtype=object)
    for name in MEASURED:
        values = column(name)
        fill = np.isnan(measured) & np.isfinite(values)
        measured[fill] = 100.0 * values[fill]
        source[fill] = name
    return AccuracyInfo(predicted=column(PREDICTED), std=column(PREDICTED_STD), trained=np.isfinite(measured),
                        measured=measured, source=[str(s) for s in source])


def accuracy_text(accuracy: AccuracyInfo, row: int) -> str:
    """Hover line of one row: ``accuracy: 43.2 ± 1.5 % predicted · 41.5 % trained (accuracy_hw)``."""
    predicted, std = accuracy.predicted[row], accuracy.std[row]
    text = "accuracy: " + ("-" if np.isnan(predicted) else f"{predicted:.3g}")
    text += (f" ± {std:.2g}" if np.isfinite(std) else "") + " % predicted"
    if accuracy.trained[row]:
        text += f" · {accuracy.measured[row]:.3g} % trained ({accuracy.source[row]})"
    return text


# ------------------------------------------------------------ Pareto front ----


@dataclass(frozen=True)
class FrontInfo:
    """Points of one Pareto plot (2-D or 3-D) of one run.

    Attributes:
        metrics: objective names on the axes.
        directions: their directions (``minimize``/``maximize``).
        trials: table ``trial`` ids of the plotted (COMPLETE) trials.
        values: raw objective values ``[n, len(metrics)]``.
        status: one of :data:`STATUSES` per point (``pareto`` = the table's run-wide front).
        baseline: baseline name per point ("" when not a baseline).
        axes_front: feasible and non-dominated in the plotted objectives only (the staircase a
            2-D projection of a higher-dimensional front shows).
        hover: hover text per point (trial, phase, objectives, key design parameters).
        errors: per axis, one standard deviation per point in the axis's unit (``accuracy_pred_std``
            on an ``accuracy_pred`` axis), NaN where a point has none; None for an axis without one.
        accuracy: predicted vs trained accuracy per point; None when the run has no ``accuracy_pred``.
        accuracy_axis: index in ``metrics`` of ``accuracy_pred`` (where a trained value can be drawn
            beside its prediction, both in percent); None when it is not plotted or ``accuracy`` is None.
    """

    metrics: list[str]
    directions: list[str]
    trials: np.ndarray
    values: np.ndarray
    status: list[str]
    baseline: list[str]
    axes_front: np.ndarray
    hover: list[str]
    errors: list[np.ndarray | None] = field(default_factory=list)
    accuracy: AccuracyInfo | None = None
    accuracy_axis: int | None = None


def pareto_front_info(run: RunData, axes: Sequence[int]) -> FrontInfo:
    """Pareto-plot data of ``run`` for the objectives at indices ``axes`` (two or three)."""
    metrics = [run.spec.metrics[i] for i in axes]
    directions = [run.spec.directions[i] for i in axes]
    done = run.complete
    values = done[[f"objective_{m}" for m in metrics]].to_numpy(dtype=float).reshape(len(done), len(metrics))
    feasible = done["feasible"].to_numpy(dtype=bool) if len(done) else np.zeros(0, dtype=bool)
    status = ["pareto" if p else "dominated" if f else "infeasible"
              for p, f in zip(done.get("pareto", []), feasible)]
    axes_front = np.zeros(len(done), dtype=bool)
    if feasible.any():
        axes_front[np.flatnonzero(feasible)[non_dominated(to_minimization(values[feasible], directions))]] = True
    accuracy = accuracy_info(done)
    lines = [accuracy_text(accuracy, k) if accuracy is not None else None for k in range(len(done))]
    return FrontInfo(
        metrics=metrics,
        directions=directions,
        trials=done["trial"].to_numpy(dtype=int) if len(done) else np.zeros(0, dtype=int),
        values=values,
        status=status,
        baseline=[str(b) for b in done.get("baseline", [])],
        axes_front=axes_front,
        hover=[hover_text(run, row, line) for (_, row), line in zip(done.iterrows(), lines)],
        errors=[metric_errors(done, m) for m in metrics],
        accuracy=accuracy,
        accuracy_axis=metrics.index(PREDICTED) if accuracy is not None and PREDICTED in metrics else None,
    )


def hover_text(run: RunData, row: pd.Series, accuracy: str | None = None) -> str:
    """Hover label of one table row: id, phase, baseline, objectives, key design parameters.

    ``accuracy`` (:func:`accuracy_text`, predicted and trained accuracy) stands in for the
    ``accuracy_pred`` objective's line, or follows the objectives when that is no objective.
    """
    trial = int(row["trial"])
    head = f"<b>trial {trial}</b> ({row['phase']})"
    if row.get("baseline"):
        head += f" baseline <b>{row['baseline']}</b>"
    if not row.get("feasible", True):
        head += " <i>infeasible</i>"
    lines = [head]
    lines += [accuracy if m == PREDICTED and accuracy else f"{m} = {row[f'objective_{m}']:.5g}" for m in run.spec.metrics]
    if accuracy and PREDICTED not in run.spec.metrics:
        lines.append(accuracy)
    candidate = (run.records.get(trial) or {}).get("candidate")
    if candidate:
        lines += [f"{key}: {value}" for key, value in design_summary(candidate).items()]
    return "<br>".join(lines)


# ------------------------------------------------------------ progress ----


@dataclass(frozen=True)
class HypervolumeInfo:
    """Hypervolume after each trial: run-wide (the table's column) and per phase.

    ``phases`` maps a phase name to (trial ids of that phase, hypervolume of that phase's own
    feasible trials so far), all w.r.t. the run's reference point, so phases compare.
    """

    trials: np.ndarray
    run: np.ndarray
    phases: dict[str, tuple[np.ndarray, np.ndarray]]
    reference: list[float] | None


def hypervolume_info(run: RunData) -> HypervolumeInfo:
    """Run-wide and per-phase hypervolume histories (NaN while no reference point exists)."""
    table = run.table
    if table.empty:
        return HypervolumeInfo(np.zeros(0, dtype=int), np.zeros(0), {}, None)
    reference = run.reference
    phases: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    columns = [f"objective_{m}" for m in run.spec.metrics]
    for phase in run.spec.phases:
        rows = table[table["phase"] == phase]
        if rows.empty:
            continue
        history = hypervolume_history(rows[columns].to_numpy(dtype=float), rows["feasible"].to_numpy(dtype=bool),
                                      run.spec.directions, reference)
        phases[phase] = (rows["trial"].to_numpy(dtype=int), history)
    return HypervolumeInfo(table["trial"].to_numpy(dtype=int), table["hypervolume"].to_numpy(dtype=float),
                           phases, reference)


def best_so_far(run: RunData) -> dict[str, np.ndarray]:
    """Per objective: best feasible value after each trial (NaN before the first feasible one)."""
    table = run.table
    out: dict[str, np.ndarray] = {}
    for metric, direction in zip(run.spec.metrics, run.spec.directions):
        if table.empty:
            out[metric] = np.zeros(0)
            continue
        values = table[f"objective_{metric}"].to_numpy(dtype=float).copy()
        values[~table["feasible"].to_numpy(dtype=bool)] = np.nan
        sign = -1.0 if direction == "maximize" else 1.0
        best = np.fmin.accumulate(sign * values) * sign
        out[metric] = best
    return out


def phase_starts(run: RunData) -> list[tuple[str, int]]:
    """(phase, first trial id) for every phase after the first: where to draw phase boundaries."""
    if run.table.empty:
        return []
    firsts = run.table.groupby("phase", sort=False)["trial"].min()
    return [(str(phase), int(trial)) for phase, trial in firsts.items()][1:]


# ------------------------------------------------------- parallel coordinates ----


@dataclass(frozen=True)
class Dimension:
    """One parallel-coordinates axis; categorical values are coded 0..k-1 with ``ticktext``."""

    label: str
    values: np.ndarray
    ticktext: list[str] | None = None


def parallel_dimensions(run: RunData, max_params: int = 14) -> tuple[list[Dimension], int]:
    """Axes (varying parameters, then objectives, labelled by :func:`metric_label`) over the
    feasible trials, and the number of varying parameters in all (only the first ``max_params`` are drawn)."""
    table = run.table
    feasible = table[table["feasible"]] if not table.empty else table
    if feasible.empty:
        return [], 0
    varying = [c for c in feasible.columns if c.startswith("params_") and feasible[c].nunique(dropna=False) > 1]
    dims = [_dimension(c.removeprefix("params_"), feasible[c]) for c in varying[:max_params]]
    dims += [Dimension(metric_label(m), feasible[f"objective_{m}"].to_numpy(dtype=float)) for m in run.spec.metrics]
    return dims, len(varying)


def _dimension(label: str, column: pd.Series) -> Dimension:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return Dimension(label, column.to_numpy(dtype=float))
    text = column.map(lambda v: "-" if pd.isna(v) else str(v))  # a parameter absent in some phases is "-"
    categories = sorted(text.unique())
    return Dimension(label, text.map({c: i for i, c in enumerate(categories)}).to_numpy(dtype=float), categories)


# ------------------------------------------------------------ Pareto table ----


def pareto_designs(run: RunData) -> pd.DataFrame:
    """The run's Pareto designs, best first on the first objective: ids, phase, baseline,
    objectives, constraints, then the key design parameters of :func:`design_summary`.

    A run with ``accuracy_pred`` also gets, after the constraints, ``accuracy_pred`` (when no
    objective), ``accuracy_pred_std`` (when recorded) and, when some Pareto design was trained,
    ``trained accuracy [%]`` (:func:`accuracy_info`; empty for the untrained ones)."""
    table = run.table
    if table.empty or not table["pareto"].any():
        return pd.DataFrame(columns=["trial", "phase", "baseline"])
    front = table[table["pareto"]].sort_values(
        [f"objective_{run.spec.metrics[0]}", "trial"], ascending=[run.spec.directions[0] == "minimize", True]
    )
    columns = ["trial", "phase", "baseline", *[f"objective_{m}" for m in run.spec.metrics],
               *[f"constraint_{m}" for m, _, _ in run.spec.constraints]]
    out = front[columns].rename(columns=lambda c: c.removeprefix("objective_")).reset_index(drop=True)
    accuracy = accuracy_info(front)
    if accuracy is not None:
        if PREDICTED not in out.columns:
            out[PREDICTED] = accuracy.predicted
        if PREDICTED_STD in front.columns:
            out[PREDICTED_STD] = accuracy.std
        if accuracy.trained.any():
            out["trained accuracy [%]"] = accuracy.measured
    summaries = [design_summary((run.records.get(int(t)) or {}).get("candidate") or {}) for t in out["trial"]]
    extra = pd.DataFrame(summaries, index=out.index)
    return pd.concat([out, extra[[c for c in extra.columns if c not in out.columns]]], axis=1)


# ------------------------------------------------------------ comparison ----


@dataclass(frozen=True)
class CompareSeries:
    """One run on a comparison plot: feasible points, which form the plotted axes' front, HV, and
    per axis the points' error bars (:func:`metric_errors`; None for an axis without them)."""

    label: str
    trials: np.ndarray
    values: np.ndarray
    front: np.ndarray
    hypervolume: float | None
    errors: list[np.ndarray | None] = field(default_factory=list)


def compare_info(main: RunData, others: Sequence[RunData], axes: Sequence[int]) -> list[CompareSeries]:
    """Feasible points of ``main`` and each other run on the main run's objectives at ``axes``.

    A metric is read from ``objective_<m>`` or, when a run did not optimise it, its plain
    ``<m>`` column; a run lacking one of the plotted metrics is left out. ``hypervolume`` is
    over all the main run's objectives w.r.t. the main run's reference point (None when the
    run lacks one of them or no reference exists), so the runs compare on one scale.
    """
    spec = main.spec
    metrics = [spec.metrics[i] for i in axes]
    directions = [spec.directions[i] for i in axes]
    reference = main.reference
    series = []
    for run in [main, *others]:
        done = run.complete
        feasible = done[done["feasible"]] if len(done) else done
        values = _metric_values(feasible, metrics)
        if values is None:
            continue
        front = non_dominated(to_minimization(values, directions)) if len(values) else np.zeros(0, dtype=bool)
        everything = _metric_values(feasible, spec.metrics)
        volume = None
        if reference is not None and everything is not None:
            volume = hypervolume(to_minimization(everything, spec.directions),
                                 to_minimization(np.array([reference]), spec.directions)[0])
        series.append(CompareSeries(run.label, feasible["trial"].to_numpy(dtype=int), values, front, volume,
                                    [metric_errors(feasible, m) for m in metrics]))
    return series


def _metric_values(frame: pd.DataFrame, metrics: Sequence[str]) -> np.ndarray | None:
    """Values ``[n, len(metrics)]`` from objective or plain metric columns; None if one is missing."""
    columns = []
    for metric in metrics:
        name = next((c for c in (f"objective_{metric}", metric) if c in frame.columns), None)
        if name is None:
            return None
        columns.append(name)
    return frame[columns].to_numpy(dtype=float).reshape(len(frame), len(columns))
