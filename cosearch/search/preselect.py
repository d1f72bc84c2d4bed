"""Surrogate-guided pre-selection: spend the expensive evaluators on the draws worth scoring.

The cost model prices a candidate ~1,000x faster than the proxy scores it. With ``searcher:
{..., preselect: {pool: 256, startup: 20}}`` the loop, once a phase has ``startup`` finished
trials that were not screened (drawn by the phase's sampler), makes each new trial the best of ``pool`` random draws
of the space:

1. the draws are priced in one batched call by the *cheap stage*: the evaluators listed before
   the first one with a ``skip_when`` screen (docs/search.md); draws that screen would skip,
   that repeat a design already tried, or that are invalid are dropped;
2. every objective is predicted by a Bayesian linear model (:class:`LinearPosterior`) on a one-hot
   encoding of the draw's parameters, fitted on the phase's finished trials. An objective the
   cheap stage also produces (``hw_edap`` priced at default activity, re-priced later with the
   proxy's spike rates) is predicted as the cheap value times a learned correction; a failed
   trial counts as the worst value seen, so the model learns where candidates fail;
3. one draw of the model's weights (Thompson sampling: exploration without a tuning knob) gives a
   predicted objective vector per draw; the draw that adds most hypervolume to the phase's
   feasible front wins (against the run's reference point; where no draw adds any, against the
   nadir of the front and the predictions, then the draw nearest to the front).

The winner is enqueued with its parameters and evaluated by the whole pipeline like any trial,
so the sampler, the journal and resume (same finished trials and seed -> same choice) are
unchanged. Nothing is specific to one search style: the cheap stage is whatever the experiment
lists before its first screen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from cosearch.config import ObjectiveConfig, PreselectConfig
from cosearch.core.candidate import Candidate
from cosearch.core.errors import InvalidCandidate
from cosearch.core.pareto import hypervolume, non_dominated, to_minimization
from cosearch.core.record import TrialRecord, is_scalar_metric
from cosearch.search.pipeline import SCREENED, Pipeline, SkipRule, skip_reason
from cosearch.space import RandomDraw, SearchSpace

#: Noise variance floor of the standardised targets (a perfectly fitted model still explores).
_NOISE_FLOOR = 0.05


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


class OneHot:
    """Features of a parameter dict: one column per (name, value) seen, plus an intercept; float
    parameters (``suggest_float``) are one standardised column each."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.columns: dict[tuple[str, str], int] = {}
        floats: dict[str, list[float]] = {}
        for row in rows:
            for name, value in row.items():
                if isinstance(value, float):
                    floats.setdefault(name, []).append(value)
                else:
                    self.columns.setdefault((name, repr(value)), len(self.columns) + 1)
        self.floats = {name: (float(np.mean(v)), float(np.std(v)) or 1.0) for name, v in floats.items()}
        self.float_column = {name: len(self.columns) + 1 + i for i, name in enumerate(self.floats)}
        self.width = 1 + len(self.columns) + len(self.floats)

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        x = np.zeros((len(rows), self.width))
        x[:, 0] = 1.0
        for i, row in enumerate(rows):
            for name, value in row.items():
                if name in self.float_column:
                    mean, std = self.floats[name]
                    x[i, self.float_column[name]] = (float(value) - mean) / std
                elif (column := self.columns.get((name, repr(value)))) is not None:
                    x[i, column] = 1.0
        return x


@dataclass(frozen=True)
class LinearPosterior:
    """Bayesian linear regression on standardised targets: weights ~ N(0, I / p) a priori, with
    p the mean squared row norm of the features (so the prior predictive variance of a row is
    about the targets' variance, whatever the number of columns), and Gaussian noise with the
    variance of the matching ridge fit's residuals (floored at :data:`_NOISE_FLOOR`)."""

    mean: np.ndarray
    chol: np.ndarray  # Cholesky factor of the weights' posterior covariance
    offset: float
    scale: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> LinearPosterior:
        offset, scale = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - offset) / scale
        gram, prior = x.T @ x, float(np.mean(np.sum(x**2, axis=1)))
        ridge = np.linalg.solve(gram + prior * np.eye(x.shape[1]), x.T @ z)
        noise = max(float(np.mean((z - x @ ridge) ** 2)), _NOISE_FLOOR)
        precision = gram / noise + prior * np.eye(x.shape[1])
        cov = np.linalg.inv(precision)
        mean = cov @ (x.T @ z) / noise
        return cls(mean, np.linalg.cholesky((cov + cov.T) / 2), offset, scale)

    def sample(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Predictions at ``x`` under one draw of the weights, in the targets' units."""
        weights = self.mean + self.chol @ rng.standard_normal(len(self.mean))
        return self.offset + self.scale * (x @ weights)


@dataclass(frozen=True)
class _Observed:
    params: dict[str, Any]
    metrics: dict[str, Any]  # the trial's recorded metrics
    cheap: dict[str, Any]  # its cheap-stage metrics (recomputed: later evaluators overwrite them)
    values: list[float] | None  # objective values told to Optuna (COMPLETE), None for FAIL
    feasible: bool


class Preselector:
    """Chooses each trial of a phase from a pool of random draws (module docstring)."""

    def __init__(self, space: SearchSpace, cheap: Pipeline, screen: Sequence[SkipRule],
                 objectives: Sequence[ObjectiveConfig], options: PreselectConfig) -> None:
        """``cheap``: the cheap stage; ``screen``: the rules of the screen after it (a draw they
        would skip is never chosen)."""
        self.space, self.cheap, self.screen, self.options = space, cheap, tuple(screen), options
        self.objectives = list(objectives)
        self.directions = [o.direction for o in objectives]
        self._cheap_metrics: dict[int, dict[str, Any]] = {}  # trial number -> cheap-stage metrics

    # --------------------------------------------------------------- entry --
    def enqueue_next(self, study: optuna.Study, pending: Sequence[Mapping[str, Any]], seed: int,
                     reference: Sequence[float] | None, skip: set[int]) -> bool:
        """Enqueue the chosen draw on ``study``; False (nothing enqueued) during the startup, while
        the study has waiting trials or when no draw survives. ``pending``: params in flight;
        ``reference``: the run's hypervolume reference in minimisation form (None: none yet);
        ``skip``: trial numbers not to learn from (interrupted)."""
        trials = study.get_trials(deepcopy=False)
        if any(t.state == TrialState.WAITING for t in trials):
            return False
        observed = [o for t in trials if t.state in (TrialState.COMPLETE, TrialState.FAIL) and t.number not in skip
                    if (o := self._observe(t)) is not None]
        if len(observed) < self.options.startup:
            return False
        chosen = self.choose(observed, pending, np.random.default_rng(seed), reference)
        if chosen is None:
            return False
        study.enqueue_trial(chosen, skip_if_exists=False)
        return True

    def _observe(self, trial: FrozenTrial) -> _Observed | None:
        record = TrialRecord.from_attrs(trial.user_attrs)
        if record.candidate is None or SCREENED in record.details:
            return None  # never evaluated (invalid) or screened: the expensive metrics are unknown
        if trial.number not in self._cheap_metrics:
            candidate = Candidate.from_dict(record.candidate)
            self._cheap_metrics[trial.number] = self.cheap.run(candidate).metrics or {}
        complete = trial.state == TrialState.COMPLETE
        return _Observed(dict(trial.params), record.metrics, self._cheap_metrics[trial.number],
                         list(trial.values) if complete else None,
                         complete and all(v <= 0 for v in trial.constraints.values()))

    # -------------------------------------------------------------- choice --
    def draws(self, rng: np.random.Generator, exclude: set[tuple[tuple[str, str], ...]]
              ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``pool`` random draws (params, cheap metrics) that are valid, new and not skipped by the
        screen after the cheap stage."""
        params, candidates = [], []
        for _ in range(self.options.pool):
            draw = RandomDraw(rng)
            try:
                values = self.space.sample_values(draw)
                candidate = self.space.candidate(values, params=draw.params, seed=0)
            except InvalidCandidate:
                continue
            if _key(draw.params) in exclude:
                continue
            exclude.add(_key(draw.params))
            params.append(draw.params)
            candidates.append(candidate)
        out = []
        for p, outcome in zip(params, self.cheap.run_batch(candidates)):
            metrics = outcome.metrics or {}
            if outcome.error is None and skip_reason(self.screen, metrics) is None:
                out.append((p, metrics))
        return out

    def choose(self, observed: Sequence[_Observed], pending: Sequence[Mapping[str, Any]],
               rng: np.random.Generator, reference: Sequence[float] | None) -> dict[str, Any] | None:
        """The params of the draw predicted to add most hypervolume (module docstring)."""
        exclude = {_key(o.params) for o in observed} | {_key(p) for p in pending}
        pool = self.draws(rng, exclude)
        if not pool:
            return None
        encoder = OneHot([o.params for o in observed] + [p for p, _ in pool])
        cheap = _log_columns([o.cheap for o in observed] + [m for _, m in pool])
        x_seen = np.hstack([encoder.encode([o.params for o in observed]), cheap[:len(observed)]])
        x_pool = np.hstack([encoder.encode([p for p, _ in pool]), cheap[len(observed):]])
        predicted = np.column_stack([
            self._predict(k, observed, [m for _, m in pool], x_seen, x_pool, rng) for k in range(len(self.objectives))
        ])
        points = to_minimization(predicted, self.directions)
        seen = [o.values for o in observed if o.feasible and o.values is not None]
        front = to_minimization(np.array(seen, dtype=float).reshape(-1, len(self.objectives)), self.directions)
        front = front[non_dominated(front)] if len(front) else front
        return pool[int(np.argmax(_gains(points, front, reference)))][0]

    def _predict(self, k: int, observed: Sequence[_Observed], pool_metrics: Sequence[Mapping[str, Any]],
                 x_seen: np.ndarray, x_pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Objective ``k`` at the pool's draws under one posterior draw of its linear model."""
        metric, maximise = self.objectives[k].metric, self.objectives[k].direction == "maximize"
        seen = np.array([_finite(o.values[k] if o.values is not None else o.metrics.get(metric)) for o in observed])
        if np.all(np.isnan(seen)):
            return np.zeros(len(x_pool))
        worst = np.nanmin(seen) if maximise else np.nanmax(seen)
        seen = np.where(np.isnan(seen), worst, seen)  # a failed trial: the worst value seen
        cheap_seen = np.array([_finite(o.cheap.get(metric)) for o in observed])
        cheap_pool = np.array([_finite(m.get(metric)) for m in pool_metrics])
        if not (np.all(cheap_seen > 0) and np.all(cheap_pool > 0) and np.all(seen > 0)):
            return LinearPosterior.fit(x_seen, seen).sample(x_pool, rng)  # NaN compares False: no cheap value
        ratio = LinearPosterior.fit(x_seen, np.log(seen / cheap_seen)).sample(x_pool, rng)
        return cheap_pool * np.exp(ratio)


def _log_columns(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Standardised logarithms of the numeric metrics positive and finite in every row (the cheap
    stage's prices: wider or longer-running designs cost more and tend to score higher)."""
    names = sorted(name for name in rows[0] if all(_finite(row.get(name)) > 0 for row in rows))
    logs = np.log(np.array([[_finite(row[name]) for name in names] for row in rows]).reshape(len(rows), len(names)))
    std = logs.std(axis=0)
    keep = std > 0
    return (logs[:, keep] - logs[:, keep].mean(axis=0)) / std[keep]


def _finite(value: Any) -> float:
    """``value`` as a float when it is a finite number, else NaN."""
    return float(value) if is_scalar_metric(value) and math.isfinite(value) else math.nan


def _gains(points: np.ndarray, front: np.ndarray, reference: Sequence[float] | None) -> np.ndarray:
    """A score per predicted point (minimisation form), higher is better: hypervolume added to
    ``front`` against ``reference``; where none adds any, against the nadir of front and points;
    where still none does, minus the distance to non-domination (objectives scaled by their range)."""
    for ref in ([np.asarray(reference, dtype=float)] if reference is not None else []) + [None]:
        if ref is None:
            stacked = np.vstack([front, points])
            ref = stacked.max(axis=0) + 1e-9 * (np.ptp(stacked, axis=0) + 1.0)
        base = hypervolume(front, ref) if len(front) else 0.0
        gains = np.array([hypervolume(np.vstack([front, p]), ref) - base for p in points])
        if np.any(gains > 0):
            return gains
    span = np.ptp(np.vstack([front, points]), axis=0) + 1e-12
    # to escape domination by f, p must beat f in one objective: min_j (p_j - f_j), worst f counts
    escape = ((points[:, None, :] - front[None, :, :]) / span).min(axis=2).max(axis=1)
    return -escape


__all__ = ["LinearPosterior", "OneHot", "Preselector"]
