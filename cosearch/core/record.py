"""The trial record: what the search loop stores on a trial and what the results read back.

The record lives in the run's Optuna journal as the trial's user attributes (one attribute per
field, a field left at its default is not stored). The loop writes it in three parts, each as
soon as it is known, so a killed run keeps what its trials had reached:

* when a design is enqueued: ``baseline`` (name of a baseline design) or ``inherited_from``
  (``<phase>:<trial number>`` of the design a later phase inherited);
* when the trial is sampled: ``seed`` (evaluation seed), ``values`` (section -> key -> sampled
  value), ``candidate`` (:meth:`cosearch.core.candidate.Candidate.to_dict`);
* when the evaluation ends: ``duration_s`` (evaluation wall time [s], rounded to 1 us),
  ``metrics`` (the scalar metrics), ``details`` (every other metric, e.g. the cost model's
  per-layer breakdown) and ``fail_reason`` (why the trial failed; empty when it did not).

:func:`cosearch.results.trials_table` turns records into table rows (:meth:`TrialRecord.row`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import optuna

from cosearch.core.files import to_jsonable
from cosearch.core.settings import is_real

#: Study user attribute: numbers of the trials a stopped process left unfinished.
INTERRUPTED_KEY = "interrupted_trials"


def is_scalar_metric(value: Any) -> bool:
    """Numbers (inf and NaN included) go to table columns; lists, dicts and bools do not."""
    return is_real(value)


@dataclass(frozen=True)
class TrialRecord:
    """One trial's record (see the module docstring for when each field is written)."""

    baseline: str = ""
    inherited_from: str = ""
    seed: int | None = None
    values: dict[str, Any] | None = None
    candidate: dict[str, Any] | None = None
    duration_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    fail_reason: str = ""

    @classmethod
    def of_outcome(cls, duration_s: float, metrics: Mapping[str, Any], fail_reason: str = "") -> TrialRecord:
        """The end-of-evaluation part: wall time [s], metrics split into scalars and details."""
        return cls(
            duration_s=round(duration_s, 6),
            metrics={k: v for k, v in metrics.items() if is_scalar_metric(v)},
            details={k: v for k, v in metrics.items() if not is_scalar_metric(v)},
            fail_reason=fail_reason,
        )

    def to_attrs(self) -> dict[str, Any]:
        """The user attributes the journal stores: the fields not at their default, as plain JSON."""
        return {
            f.name: to_jsonable(value) for f in fields(self)
            if (value := getattr(self, f.name)) is not None and value != "" and value != {}
        }

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> TrialRecord:
        """The record in a trial's user attributes (attributes of no field are ignored)."""
        return cls(**{f.name: attrs[f.name] for f in fields(cls) if f.name in attrs})

    def store(self, trial: optuna.trial.Trial) -> None:
        """Write this (partial) record onto a running trial."""
        for key, value in self.to_attrs().items():
            trial.set_user_attr(key, value)

    def row(self) -> dict[str, Any]:
        """This record's columns of the results table: each scalar metric under its own name,
        ``duration_s`` (NaN when not stored), ``seed`` (-1 when not stored), ``fail_reason``."""
        return {
            **{k: v for k, v in self.metrics.items() if is_scalar_metric(v)},
            "duration_s": math.nan if self.duration_s is None else self.duration_s,
            "seed": -1 if self.seed is None else self.seed,
            "fail_reason": self.fail_reason,
        }
