"""Trials -> one pandas table -> Parquet/CSV; Pareto set; hypervolume history; reading them back.

Each row is built from the trial's :class:`~cosearch.core.record.TrialRecord`. Readers use
:func:`load_results` (table and records, one journal replay) or :func:`load_table`; both read
``trials.parquet`` when it was written after the journal's last change.

Table columns (one row per finished trial, in the order trials ran, phases in plan order):

* ``trial`` (run-wide id, stable across resumes), ``phase``, ``phase_trial`` (Optuna number),
  ``state`` (COMPLETE, FAIL or INTERRUPTED), ``baseline`` (name of an enqueued design, else empty);
* ``params_<name>``: every sampled parameter;
* ``objective_<metric>``: the objective values told to Optuna (raw, not negated);
* ``constraint_<metric>``: violation value, <= 0 when the constraint holds; ``feasible``;
* ``pareto``: feasible and non-dominated over the whole run; ``hypervolume``: of the feasible
  set after this trial, w.r.t. :func:`reference_point`;
* every scalar metric an evaluator returned, under its own name (``proxy_*``, ``hw_*`` ...);
* ``duration_s`` (evaluation wall time), ``seed`` (evaluation seed), ``fail_reason``, ``datetime_start``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pyarrow as pa
from optuna.trial import TrialState

from cosearch.core.files import atomic_target
from cosearch.core.pareto import hypervolume_history, non_dominated, to_minimization
from cosearch.core.record import INTERRUPTED_KEY, TrialRecord
from cosearch.run_dir import RunDirectory


@dataclass(frozen=True)
class RunSpec:
    """What the table needs from an experiment: names, phases, objectives, constraints."""

    name: str
    phases: list[str]
    metrics: list[str]
    directions: list[str]
    constraints: list[tuple[str, str, float]]  # (metric, op, bound)
    reference: dict[str, float] | None
    dataset: str = "cifar10"  # the experiment's data.dataset (a name of cosearch.data.DATASETS)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunSpec:
        phases = [p["name"] for p in config["phases"]] if config.get("phases") else ["search"]
        return cls(
            name=config["name"],
            phases=phases,
            metrics=[o["metric"] for o in config["objectives"]],
            directions=[o["direction"] for o in config["objectives"]],
            constraints=[(c["metric"], c["op"], float(c["bound"])) for c in config.get("constraints", [])],
            reference=config.get("reference_point"),
            dataset=str((config.get("data") or {}).get("dataset", "cifar10")),
        )


def study_name(run: str, phase: str) -> str:
    return f"{run}/{phase}"


REFERENCE_LABELS = {
    "reference_point": "hv vs reference_point",
    "baselines": "hv vs worst baseline: 0 until a design beats every baseline",
    "first_feasible": "hv vs first feasible trial",
}
"""Short label of each reference rule (the progress bar's), in the order :func:`reference_rule` tries them."""


def reference_rule(given: bool, baselines: bool) -> str:
    """Which rule sets the hypervolume reference: the experiment's ``reference_point`` when
    ``given``, else the completed first-phase ``baselines`` when there are any, else the first
    feasible trial. One of the keys of :data:`REFERENCE_LABELS`."""
    if given:
        return "reference_point"
    return "baselines" if baselines else "first_feasible"


def first_phase_baselines(spec: RunSpec, table: pd.DataFrame) -> pd.DataFrame:
    """The completed baseline trials of the first phase (the rows the reference point comes from)."""
    done = table[table["state"] == "COMPLETE"] if len(table) else table
    return done[(done["baseline"] != "") & (done["phase"] == spec.phases[0])] if len(done) else done


def reference_point(spec: RunSpec, table: pd.DataFrame) -> list[float] | None:
    """Hypervolume reference in raw metric units, by :func:`reference_rule`.

    From config ``reference_point`` if given; else the worst value of each objective over the
    completed baselines of the first phase (HV then measures the region that beats every
    baseline); else the first feasible trial's values. None while none of these exist.
    """
    baselines = first_phase_baselines(spec, table)
    rule = reference_rule(bool(spec.reference), len(baselines) > 0)
    if spec.reference:  # rule "reference_point"
        return [float(spec.reference[m]) for m in spec.metrics]
    columns = [f"objective_{m}" for m in spec.metrics]
    if rule == "baselines":
        values = baselines[columns].to_numpy(dtype=float)
        return [float(v.max() if d == "minimize" else v.min()) for v, d in zip(values.T, spec.directions)]
    done = table[table["state"] == "COMPLETE"] if len(table) else table
    feasible = done[done["feasible"]] if len(done) else done
    if len(feasible) == 0:
        return None
    return [float(v) for v in feasible[columns].iloc[0]]


def _finished_trials(storage: optuna.storages.BaseStorage, spec: RunSpec) -> Iterator[tuple[str, optuna.trial.FrozenTrial, bool]]:
    """(phase, trial, interrupted) for every finished trial, in table order."""
    names = {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}
    for phase in spec.phases:
        name = study_name(spec.name, phase)
        if name not in names:
            continue
        study = optuna.load_study(study_name=name, storage=storage)
        interrupted = set(study.user_attrs.get(INTERRUPTED_KEY, []))
        for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            if trial.state in (TrialState.COMPLETE, TrialState.FAIL):
                yield phase, trial, trial.number in interrupted


def trials_table(run_dir: RunDirectory, spec: RunSpec, storage: optuna.storages.BaseStorage | None = None) -> pd.DataFrame:
    """The results table of a run directory, rebuilt from its journal (see module docstring for the columns)."""
    return _table(list(_finished_trials(storage or run_dir.read_storage(), spec)), spec)


def _table(finished: Sequence[tuple[str, optuna.trial.FrozenTrial, bool]], spec: RunSpec) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    param_order: list[str] = []
    for phase, trial, interrupted in finished:
        rows.append(_row(trial, phase, spec, interrupted))
        param_order += [p for p in trial.params if p not in param_order]
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table.insert(0, "trial", np.arange(len(table)))
    _add_pareto_and_hypervolume(table, spec)
    return _ordered(table, [f"params_{p}" for p in param_order])


def _records(finished: Sequence[tuple[str, optuna.trial.FrozenTrial, bool]]) -> dict[int, dict[str, Any]]:
    records = (TrialRecord.from_attrs(trial.user_attrs) for _, trial, _ in finished)
    return {index: {"candidate": r.candidate, "values": r.values, "details": r.details}
            for index, r in enumerate(records)}


def load_records(run_dir: str | Path) -> dict[int, dict[str, Any]]:
    """Per-trial records beyond the table, keyed by the table's ``trial`` id.

    Each record holds ``candidate`` (:meth:`Candidate.to_dict`, rebuild with
    ``Candidate.from_dict``), ``values`` (section -> key -> sampled value) and ``details``
    (non-scalar metrics such as the cost model's per-layer breakdown; empty if none); the
    fields of :class:`cosearch.core.record.TrialRecord`.
    """
    directory = RunDirectory(run_dir)
    spec = RunSpec.from_config(directory.read_config())
    return _records(list(_finished_trials(directory.read_storage(), spec)))


def _row(trial: optuna.trial.FrozenTrial, phase: str, spec: RunSpec, interrupted: bool) -> dict[str, Any]:
    record = TrialRecord.from_attrs(trial.user_attrs)
    state = "INTERRUPTED" if interrupted else trial.state.name
    row: dict[str, Any] = {
        "phase": phase,
        "phase_trial": trial.number,
        "state": state,
        "baseline": record.baseline,
    }
    row.update({f"params_{k}": v for k, v in trial.params.items()})
    for metric in spec.metrics:
        row[f"objective_{metric}"] = record.metrics.get(metric, np.nan) if state == "COMPLETE" else np.nan
    constraints = trial.constraints if state == "COMPLETE" else {}
    for metric, _, _ in spec.constraints:
        row[f"constraint_{metric}"] = constraints.get(metric, np.nan)
    row["feasible"] = state == "COMPLETE" and all(v <= 0 for v in constraints.values())
    row.update(record.row())
    if interrupted and not record.fail_reason:
        row["fail_reason"] = "interrupted"
    row["datetime_start"] = trial.datetime_start.isoformat() if trial.datetime_start else ""
    return row


def _add_pareto_and_hypervolume(table: pd.DataFrame, spec: RunSpec) -> None:
    columns = [f"objective_{m}" for m in spec.metrics]
    feasible = table["feasible"].to_numpy(dtype=bool)
    values = table[columns].to_numpy(dtype=float)
    points = to_minimization(values, spec.directions)
    pareto = np.zeros(len(table), dtype=bool)
    if feasible.any():
        pareto[np.flatnonzero(feasible)[non_dominated(points[feasible])]] = True
    table["pareto"] = pareto
    table["hypervolume"] = hypervolume_history(values, feasible, spec.directions, reference_point(spec, table))


def _ordered(table: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    head = ["trial", "phase", "phase_trial", "state", "baseline", *params]
    groups = [
        [c for c in table.columns if c.startswith(prefix)] for prefix in ("objective_", "constraint_")
    ]
    tail = ["duration_s", "seed", "fail_reason", "datetime_start"]
    middle = [*groups[0], *groups[1], "feasible", "pareto", "hypervolume"]
    metrics = [c for c in table.columns if c not in {*head, *middle, *tail}]
    return table[[*head, *middle, *sorted(metrics), *tail]]


def write_results(run_dir: RunDirectory, spec: RunSpec, storage: optuna.storages.BaseStorage | None = None) -> pd.DataFrame:
    """Write trials.parquet, trials.csv and pareto.csv; return the table."""
    table = trials_table(run_dir, spec, storage)
    if table.empty:
        return table
    with atomic_target(run_dir.trials_parquet) as tmp:
        table.to_parquet(tmp, index=False)
    with atomic_target(run_dir.trials_csv) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_target(run_dir.pareto_csv) as tmp:
        table[table["pareto"]].to_csv(tmp, index=False)
    return table


def pareto_summary(table: pd.DataFrame, spec: RunSpec, max_params: int = 6) -> pd.DataFrame:
    """The Pareto rows with their objectives, constraints and a few parameters, for terminals."""
    if table.empty:
        return table
    front = table[table["pareto"]]
    columns = ["trial", "phase", "baseline"]
    columns += [f"objective_{m}" for m in spec.metrics]
    columns += [f"constraint_{m}" for m, _, _ in spec.constraints]
    columns += [c for c in front.columns if c.startswith("params_")][:max_params]
    sort_by = f"objective_{spec.metrics[0]}"
    return front[columns].sort_values(sort_by, ascending=spec.directions[0] == "minimize")


def load_table(run_dir: str | Path) -> pd.DataFrame:
    """The results table of a finished or running run: ``trials.parquet`` when it was written
    after the journal's last change, else rebuilt from the journal."""
    directory = RunDirectory(run_dir)
    if directory.table_is_current():
        try:
            return pd.read_parquet(directory.trials_parquet)
        except (OSError, ValueError, pa.ArrowException):  # damaged: the journal holds the same trials
            pass
    return trials_table(directory, RunSpec.from_config(directory.read_config()))


@dataclass(frozen=True)
class Results:
    """A run's results as readers see them: its spec, the table and the per-trial records
    (:func:`load_records`), both keyed by the table's ``trial`` id."""

    spec: RunSpec
    table: pd.DataFrame
    records: dict[int, dict[str, Any]]


def load_results(run_dir: str | Path) -> Results:
    """Spec, table and records of a run, reading its journal once: the table comes from
    ``trials.parquet`` when that is current (see :func:`load_table`), else from the same replay."""
    directory = RunDirectory(run_dir)
    spec = RunSpec.from_config(directory.read_config())
    finished = list(_finished_trials(directory.read_storage(), spec))
    table = pd.read_parquet(directory.trials_parquet) if directory.table_is_current() else _table(finished, spec)
    return Results(spec, table, _records(finished))
