"""What the run-level dashboard plots, computed from a run directory without drawing anything.

As Optuna's ``_get_pareto_front_info`` vs ``_get_pareto_front_plot``: every function here
returns plain data (numpy arrays, dataclasses, DataFrames) that tests check directly; the
figures in :mod:`cosearch.dashboard.figures` only draw it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
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
    """

    metrics: list[str]
    directions: list[str]
    trials: np.ndarray
    values: np.ndarray
    status: list[str]
    baseline: list[str]
    axes_front: np.ndarray
    hover: list[str]


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
    return FrontInfo(
        metrics=metrics,
        directions=directions,
        trials=done["trial"].to_numpy(dtype=int) if len(done) else np.zeros(0, dtype=int),
        values=values,
        status=status,
        baseline=[str(b) for b in done.get("baseline", [])],
        axes_front=axes_front,
        hover=[hover_text(run, row) for _, row in done.iterrows()],
    )


def hover_text(run: RunData, row: pd.Series) -> str:
    """Hover label of one table row: id, phase, baseline, objectives, key design parameters."""
    trial = int(row["trial"])
    head = f"<b>trial {trial}</b> ({row['phase']})"
    if row.get("baseline"):
        head += f" baseline <b>{row['baseline']}</b>"
    if not row.get("feasible", True):
        head += " <i>infeasible</i>"
    lines = [head]
    lines += [f"{m} = {row[f'objective_{m}']:.5g}" for m in run.spec.metrics]
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
    """Axes (varying parameters, then objectives) over the feasible trials, and the number of
    varying parameters in all (only the first ``max_params`` are drawn)."""
    table = run.table
    feasible = table[table["feasible"]] if not table.empty else table
    if feasible.empty:
        return [], 0
    varying = [c for c in feasible.columns if c.startswith("params_") and feasible[c].nunique(dropna=False) > 1]
    dims = [_dimension(c.removeprefix("params_"), feasible[c]) for c in varying[:max_params]]
    dims += [Dimension(m, feasible[f"objective_{m}"].to_numpy(dtype=float)) for m in run.spec.metrics]
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
    objectives, constraints, then the key design parameters of :func:`design_summary`."""
    table = run.table
    if table.empty or not table["pareto"].any():
        return pd.DataFrame(columns=["trial", "phase", "baseline"])
    front = table[table["pareto"]].sort_values(
        [f"objective_{run.spec.metrics[0]}", "trial"], ascending=[run.spec.directions[0] == "minimize", True]
    )
    columns = ["trial", "phase", "baseline", *[f"objective_{m}" for m in run.spec.metrics],
               *[f"constraint_{m}" for m, _, _ in run.spec.constraints]]
    out = front[columns].rename(columns=lambda c: c.removeprefix("objective_")).reset_index(drop=True)
    summaries = [design_summary((run.records.get(int(t)) or {}).get("candidate") or {}) for t in out["trial"]]
    extra = pd.DataFrame(summaries, index=out.index)
    return pd.concat([out, extra[[c for c in extra.columns if c not in out.columns]]], axis=1)


# ------------------------------------------------------------ comparison ----


@dataclass(frozen=True)
class CompareSeries:
    """One run on a comparison plot: feasible points, which form the plotted axes' front, HV."""

    label: str
    trials: np.ndarray
    values: np.ndarray
    front: np.ndarray
    hypervolume: float | None


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
        series.append(CompareSeries(run.label, feasible["trial"].to_numpy(dtype=int), values, front, volume))
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
