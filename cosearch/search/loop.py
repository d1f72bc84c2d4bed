"""The one search loop: Optuna ask -> space.sample -> backend evaluates -> tell, phase after phase.

Persistence and resume: every trial is written to the run's Optuna journal as it starts and as
it ends, so a killed run loses only the trials that were in flight. When a run starts on an
existing directory, trials a dead process left RUNNING are recorded as interrupted (kept in the
table, not counted), baselines they carried are enqueued again, and the loop continues until
each phase has its budget of finished trials (COMPLETE or failed by evaluation).

Reproducibility across sessions: every seed of a trial (its sampler's, its evaluation seed, the
pre-selector's draw for it) is derived from the run seed, the phase index and the trial's *slot*:
its number less the interrupted trials before it. Each trial is sampled by a fresh sampler seeded
for its slot (:class:`cosearch.core.samplers.PerTrialSampler`), so what it proposes depends only
on those seeds and on the phase's stored trials, not on when the process started. With the local
backend (one trial at a time) and deterministic evaluators this guarantees, for every shipped
searcher (random, tpe, nsga2, nsga3, gp, qmc):

* extension: a finished run continued with a larger budget (``cosearch run EXP --out DIR
  --trials N`` or ``cosearch resume DIR --trials N``) proposes every trial exactly as a run with
  budget ``N`` from the start would; in multi-phase plans this holds for the first phase (a later
  phase has already run on the shorter first phase's results);
* resume after a stop between two trials (none in flight): the run continues exactly as an
  uninterrupted one, in every phase;
* resume after a kill or Ctrl-C during a trial: the interrupted trial is kept as INTERRUPTED and
  its slot re-run with the seeds it had; the samplers (which learn from COMPLETE trials only) and
  the pre-selector ignore it, so the run continues exactly as an uninterrupted one for random,
  tpe, nsga2 and gp, and for nsga3 unless the interrupted trial was the first of a generation
  (then its parent selection, which may draw from the trial's generator, is kept by the study
  and the replacement's draws differ). qmc continues one point further along its sequence (the
  interrupted trial took a point).

Backends that evaluate several trials at once (Ray) ask each trial while others are in flight,
so their proposals depend on the order evaluations finish in, resumed or not.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import fnmatch
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from cosearch.config import Experiment, Phase
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError, CosearchError, InvalidCandidate, RunStalled
from cosearch.core.evaluator import EvaluationContext, Outcome
from cosearch.core.pareto import HypervolumeTracker, non_dominated, to_minimization
from cosearch.core.record import INTERRUPTED_KEY, TrialRecord
from cosearch.core.samplers import make_sampler
from cosearch.core.seeds import derive_seed, evaluation_seed
from cosearch.results import REFERENCE_LABELS, RunSpec, reference_point, reference_rule, study_name, write_results
from cosearch.run_dir import RunDirectory
from cosearch.search.backend import Backend, LocalBackend
from cosearch.search.pipeline import Pipeline, PipelineSpec, judge, screens_of
from cosearch.search.preflight import preflight
from cosearch.search.preselect import Preselector
from cosearch.search.progress import SearchProgress
from cosearch.space import SearchSpace, with_fixed


def pipeline_spec(experiment: Experiment, phase: Phase | None = None, run_dir: Path | None = None) -> PipelineSpec:
    """The evaluators of ``phase`` (its own ``evaluators``, else the experiment's) and the context
    they are built with (``run_dir``: where evaluators may keep files, e.g. checkpoints)."""
    config = experiment.config
    context = EvaluationContext(
        experiment_dir=experiment.source.parent,
        project_dir=experiment.project_dir,
        data=config.data.model_dump(),
        hardware=config.hardware,
        proxy=config.proxy,
        run_dir=run_dir,
        seed=config.seed,
        common_seed=config.common_seed,
    )
    listed, where = config.evaluators, "evaluators"
    if phase is not None and phase.evaluators is not None:
        listed, where = phase.evaluators, f"phases[{phase.index}].evaluators"
    evaluators = tuple((spec.type, dict(spec.options)) for spec in listed)
    return PipelineSpec(evaluators, context, str(experiment.source), where, screens_of(listed, config.constraints))


class _Slots:
    """A trial's *slot*: its number less the interrupted trials before it, i.e. its place among the
    phase's trials that count. Seeds are derived from slots, not trial numbers, so the trial that
    re-runs an interrupted one gets the seeds that one had (module docstring, "Reproducibility across sessions")."""

    def __init__(self, interrupted: list[int]) -> None:
        self.interrupted = sorted(interrupted)  # fixed during a session: trials are marked only as it ends

    def of(self, number: int) -> int:
        return number - bisect.bisect_left(self.interrupted, number)


@dataclass
class _Live:
    """What the progress bar needs, mirrored from the storage as trials finish."""

    spec: RunSpec
    rows: list[dict[str, Any]] = field(default_factory=list)
    tracker: HypervolumeTracker | None = None
    pending_baselines: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.tracker is None:
            if self.spec.reference is None and self.pending_baselines > 0:
                return
            reference = reference_point(self.spec, pd.DataFrame(self.rows))
            if reference is None:
                return
            self.tracker = HypervolumeTracker(reference, self.spec.directions)
            self.tracker.extend([r["values"] for r in self.rows], [r["feasible"] for r in self.rows])
        else:
            self.tracker.extend([row["values"]], [row["feasible"]])

    @property
    def feasible(self) -> int:
        return sum(r["feasible"] for r in self.rows)

    def best(self) -> list[tuple[str, float]]:
        out = []
        for k, (metric, direction) in enumerate(zip(self.spec.metrics, self.spec.directions)):
            values = [r["values"][k] for r in self.rows if r["feasible"]]
            if values:
                out.append((metric, max(values) if direction == "maximize" else min(values)))
        return out


class SearchLoop:
    """Runs an experiment's phases against a run directory with one backend."""

    def __init__(self, experiment: Experiment, run_dir: RunDirectory, backend: Backend, progress: bool = True,
                 phase_backend: Callable[[Phase], Backend] | None = None) -> None:
        """``phase_backend``: the backend of each phase as it starts (default: ``backend`` for all)."""
        self.experiment = experiment
        self.phase_backend = phase_backend
        self.config = experiment.config
        self.run_dir = run_dir
        self.backend = backend
        self.progress = progress
        self.storage = run_dir.storage()
        self.spec = RunSpec.from_config(self.config.model_dump(mode="json"))
        self.directions = [o.direction for o in self.config.objectives]
        self.live = _Live(self.spec)
        self.session_reasons: list[str | None] = []  # fail reason (None: complete) of this session's trials

    # ----------------------------------------------------------------- run --
    def run(self) -> None:
        for phase in self.experiment.phases:
            if self.phase_backend is not None:
                self.backend = self.phase_backend(phase)
            self._run_phase(phase)
        if self.live.rows and all(r["state"] == "FAIL" for r in self.live.rows):
            reasons = collections.Counter(r for r in self.session_reasons if r)
            common = f"; most frequent reason ({reasons.most_common(1)[0][1]}x): {reasons.most_common(1)[0][0]}" if reasons else ""
            raise RunStalled(f"every one of the {len(self.live.rows)} trials failed{common}")

    def _hv_basis(self) -> str:
        """What the bar's hypervolume is measured against (the rule of results.reference_point)."""
        return REFERENCE_LABELS[reference_rule(bool(self.spec.reference), bool(self.experiment.phases[0].baselines))]

    def _check_progress(self) -> None:
        """Stop when the first ``fail_fast`` trials of this session all failed with one reason."""
        limit = self.config.fail_fast
        if limit and len(self.session_reasons) == limit and None not in self.session_reasons \
                and len(set(self.session_reasons)) == 1:
            raise RunStalled(f"the first {limit} trials all failed with the same reason (fail_fast: {limit}): "
                             f"{self.session_reasons[0]}")

    def _study(self, phase: Phase, sampler: optuna.samplers.BaseSampler | None = None) -> optuna.Study:
        study = optuna.create_study(
            study_name=study_name(self.config.name, phase.name), storage=self.storage, sampler=sampler,
            directions=self.directions, load_if_exists=True,
        )
        if study.metric_names is None:  # so optuna-dashboard labels the objectives by metric
            with warnings.catch_warnings():  # experimental since Optuna 3.2, stable in use
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([o.metric for o in self.config.objectives])
        return study

    def _run_phase(self, phase: Phase) -> None:
        existing = self._study(phase)
        self._recover_interrupted(existing)
        finished = self._finished(existing)
        slots = _Slots(existing.user_attrs.get(INTERRUPTED_KEY, []))
        sampler = make_sampler(phase.searcher.type, phase.searcher.options, derive_seed(self.config.seed, phase.index),
                               lambda number: derive_seed(self.config.seed, phase.index, slots.of(number)))
        study = self._study(phase, sampler)
        space, designs = self._enqueue(phase, study)
        preselector = self._preselector(phase, space)
        budget = phase.trials if phase.inherit is None or phase.inherit.sample else min(phase.trials, designs)
        self._mirror(phase, study)
        bar = SearchProgress(f"{self.config.name}:{phase.name} ({self._hv_basis()})", budget, min(finished, budget),
                             self.progress)
        in_flight: dict[int, tuple[optuna.trial.Trial, Candidate, float]] = {}
        try:
            while finished < budget or in_flight:
                while len(in_flight) < self.backend.capacity and finished + len(in_flight) < budget:
                    if preselector is not None:
                        preselector.enqueue_next(
                            study, [t.params for t, _, _ in in_flight.values()],
                            derive_seed(self.config.seed, phase.index,
                                        slots.of(len(study.get_trials(deepcopy=False)))),  # the next trial's
                            self.live.tracker.reference if self.live.tracker else None,
                            set(study.user_attrs.get(INTERRUPTED_KEY, [])))
                    trial = study.ask()
                    try:
                        candidate = self._sample(space, phase, trial, slots.of(trial.number))
                    except InvalidCandidate as exc:
                        self._tell(study, trial, phase, Outcome(None, f"invalid candidate: {exc}", 0.0))
                        finished += 1
                        self._update(bar)
                        continue
                    self.backend.submit(trial.number, candidate)
                    in_flight[trial.number] = (trial, candidate, time.time())
                if not in_flight:
                    continue
                for number, outcome in self.backend.wait():
                    trial, _, _ = in_flight.pop(number)
                    self._tell(study, trial, phase, outcome)
                    finished += 1
                    self._update(bar)
        except ConfigError as exc:
            self._mark_interrupted(study, list(in_flight))
            if exc.source:
                raise
            path = exc.path.removeprefix("candidate.")  # a mapping value the space allowed but no card prices
            raise ConfigError(space.source, path, exc.detail) from None
        except BaseException:
            self._mark_interrupted(study, list(in_flight))
            raise
        finally:
            bar.close()

    # ------------------------------------------------------------ sampling --
    def _preselector(self, phase: Phase, space: SearchSpace) -> Preselector | None:
        """The phase's surrogate-guided pre-selection (``searcher.preselect``), if it has one."""
        cheap = pipeline_spec(self.experiment, phase, self.run_dir.path).cheap_stage()
        if phase.searcher.preselect is None or cheap is None:  # preflight rejects preselect without a screen
            return None
        stage, screen = cheap
        return Preselector(space, stage.build(), screen, self.config.objectives, phase.searcher.preselect)

    def _sample(self, space: SearchSpace, phase: Phase, trial: optuna.trial.Trial, slot: int) -> Candidate:
        seed = evaluation_seed(self.config.seed, self.config.common_seed, phase.index, slot)
        TrialRecord(seed=seed).store(trial)  # each part stored as soon as known: kept if the next step fails
        values = space.sample_values(trial)
        TrialRecord(values=values).store(trial)
        candidate = space.candidate(values, params=trial.params, seed=seed)
        TrialRecord(candidate=candidate.to_dict()).store(trial)
        if TrialRecord.from_attrs(trial.user_attrs).baseline:  # the reference: never screened out
            candidate = dataclasses.replace(candidate, screen=False)
        return candidate

    def _tell(self, study: optuna.Study, trial: optuna.trial.Trial, phase: Phase, outcome: Outcome) -> None:
        metrics = outcome.metrics or {}
        verdict = judge(metrics, self.config.objectives, self.config.constraints)  # screened: infeasible
        reason = outcome.error or verdict.reason
        TrialRecord.of_outcome(outcome.duration_s, metrics, reason or "").store(trial)
        row = {"phase": phase.name, "baseline": TrialRecord.from_attrs(trial.user_attrs).baseline, "feasible": False,
               "state": "FAIL", "values": None}
        if reason:
            study.tell(trial, state=TrialState.FAIL)
        else:
            values = verdict.values
            for name, violation in verdict.violations.items():
                trial.set_constraint(name, violation)
            study.tell(trial, values)
            row.update(state="COMPLETE", values=values, feasible=verdict.feasible)
            row.update({f"objective_{m}": v for m, v in zip(self.spec.metrics, values)})
        if row["baseline"] and phase.index == 0:
            self.live.pending_baselines -= 1
        self.live.add(row)
        self.session_reasons.append(reason)
        self._check_progress()

    def _update(self, bar: SearchProgress) -> None:
        bar.update(self.live.feasible, self.live.tracker.value if self.live.tracker else None, self.live.best())

    # ---------------------------------------------------------- bookkeeping --
    def _finished(self, study: optuna.Study) -> int:
        interrupted = set(study.user_attrs.get(INTERRUPTED_KEY, []))
        return sum(
            t.state in (TrialState.COMPLETE, TrialState.FAIL) and t.number not in interrupted
            for t in study.get_trials(deepcopy=False)
        )

    def _recover_interrupted(self, study: optuna.Study) -> None:
        """Trials left RUNNING by a killed process: record them failed and interrupted."""
        stale = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        for number in stale:
            study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        if stale:
            self._mark_interrupted(study, stale, tell=False)

    def _mark_interrupted(self, study: optuna.Study, numbers: list[int], tell: bool = True) -> None:
        if not numbers:
            return
        if tell:
            for number in numbers:
                study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        previous = list(study.user_attrs.get(INTERRUPTED_KEY, []))
        study.set_user_attr(INTERRUPTED_KEY, sorted(set(previous) | set(numbers)))

    def _enqueue(self, phase: Phase, study: optuna.Study) -> tuple[SearchSpace, int]:
        """Enqueue baselines and inherited designs not yet run; return the phase's effective space
        and how many designs (baselines + inherited) the phase has."""
        interrupted = set(study.user_attrs.get(INTERRUPTED_KEY, []))
        present = {
            (record.baseline, record.inherited_from)
            for t in study.get_trials(deepcopy=False) if t.number not in interrupted
            for record in [TrialRecord.from_attrs(t.user_attrs)]
        }
        space = phase.space
        designs: list[tuple[dict[str, Any], TrialRecord]] = [
            (params, TrialRecord(baseline=name)) for name, params in phase.baselines
        ]
        if phase.inherit is not None:
            previous = self.experiment.phases[phase.index - 1]
            front = self._pareto_trials(self._study(previous))
            if front and phase.inherit.fix:
                best_params = space.params_for(TrialRecord.from_attrs(front[0].user_attrs).values or {})
                fixed = {k: v for k, v in best_params.items()
                         if any(fnmatch.fnmatchcase(k, pattern) for pattern in phase.inherit.fix)}
                space = with_fixed(space, fixed, str(self.experiment.source), f"phases[{phase.index}].inherit.fix")
            chosen = {"pareto": front, "best": front[:1], "none": []}[phase.inherit.enqueue][:phase.inherit.top]
            for trial in chosen:
                params = space.params_for(TrialRecord.from_attrs(trial.user_attrs).values or {})
                designs.append((params, TrialRecord(inherited_from=f"{previous.name}:{trial.number}")))
        for params, record in designs:
            if (record.baseline, record.inherited_from) not in present:
                study.enqueue_trial(params, user_attrs=record.to_attrs())
        if phase.index == 0:
            self.live.pending_baselines = sum(
                1 for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
                if TrialRecord.from_attrs(t.user_attrs).baseline
            )
        return space, len(designs)

    def _pareto_trials(self, study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
        """Feasible non-dominated trials of a phase, best first on the first objective."""
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if all(v <= 0 for v in t.constraints.values())]
        if not done:
            return []
        points = to_minimization(np.array([t.values for t in done]), self.directions)
        front = [t for t, keep in zip(done, non_dominated(points)) if keep]
        sign = -1.0 if self.directions[0] == "maximize" else 1.0
        return sorted(front, key=lambda t: (sign * t.values[0], t.number))

    def _mirror(self, phase: Phase, study: optuna.Study) -> None:
        """Load finished trials of this phase into the live progress state (resumed runs)."""
        interrupted = set(study.user_attrs.get(INTERRUPTED_KEY, []))
        for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            if trial.number in interrupted or trial.state not in (TrialState.COMPLETE, TrialState.FAIL):
                continue
            complete = trial.state == TrialState.COMPLETE
            row = {"phase": phase.name, "baseline": TrialRecord.from_attrs(trial.user_attrs).baseline,
                   "state": trial.state.name, "values": list(trial.values) if complete else None,
                   "feasible": complete and all(v <= 0 for v in trial.constraints.values())}
            if complete:
                row.update({f"objective_{m}": v for m, v in zip(self.spec.metrics, trial.values)})
            self.live.add(row)


@dataclass(frozen=True)
class RunResult:
    run_dir: RunDirectory
    table: pd.DataFrame
    status: str


def check_same_experiment(run_dir: RunDirectory, resolved: Mapping[str, Any]) -> None:
    """Refuse to continue a run directory with a different experiment (budgets may change)."""
    stored = run_dir.read_config()
    ignore = {"trials", "phases", "backend", "fail_fast"}  # budgets may grow; a run may move between backends
    for key in sorted(set(stored) | set(resolved)):
        if key in ignore:
            continue
        if stored.get(key) != resolved.get(key):
            raise CosearchError(
                f"{run_dir.path}: this run directory holds a different experiment (key {key!r} differs). "
                f"Continue it with `cosearch resume {run_dir.path}`, or choose another --out."
            )
    old_phases = [{k: v for k, v in p.items() if k != "trials"} for p in stored.get("phases") or []]
    new_phases = [{k: v for k, v in p.items() if k != "trials"} for p in resolved.get("phases") or []]
    if old_phases != new_phases:
        raise CosearchError(f"{run_dir.path}: this run directory holds a different phase plan; choose another --out.")


def make_backend(experiment: Experiment, pipeline: Pipeline, spec: PipelineSpec, run_dir: RunDirectory) -> Backend:
    """The backend of the experiment's ``backend`` section (``pipeline`` serves the local one)."""
    config = experiment.config.backend
    if config.type == "ray":
        from cosearch.search.ray_backend import RayBackend

        return RayBackend(spec, config, run_dir.path)
    return LocalBackend(pipeline)


class _PhaseBackends:
    """The backend of each phase, made when the phase starts; phases with equal pipeline specs share
    one (the previous backend is closed when a phase needs another)."""

    def __init__(self, experiment: Experiment, specs: list[PipelineSpec], pipelines: list[Pipeline],
                 run_dir: RunDirectory) -> None:
        self.experiment, self.specs, self.pipelines, self.run_dir = experiment, specs, pipelines, run_dir
        self.active: tuple[int, Backend] | None = None

    def get(self, phase: Phase) -> Backend:
        index = self.specs.index(self.specs[phase.index])  # the first phase with the same spec
        if self.active is None or self.active[0] != index:
            self.close()
            self.active = (index, make_backend(self.experiment, self.pipelines[index], self.specs[index], self.run_dir))
        return self.active[1]

    def close(self) -> None:
        if self.active is not None:
            self.active[1].close()
            self.active = None


def run_experiment(experiment: Experiment, run_dir: RunDirectory, *, progress: bool = True,
                   argv: list[str] | None = None) -> RunResult:
    """Run (or continue) an experiment in ``run_dir``; results are written even when interrupted."""
    resolved = experiment.resolved()
    specs = [pipeline_spec(experiment, phase, run_dir.path) for phase in experiment.phases]
    pipelines: list[Pipeline] = []
    for spec in specs:  # every check that needs no trial, before anything is written (once per distinct spec)
        first = specs.index(spec)
        pipelines.append(pipelines[first] if first < len(pipelines) else preflight(experiment, spec))
    with run_dir.locked():
        if run_dir.exists():
            check_same_experiment(run_dir, resolved)
        repaired = run_dir.make_journal_whole()
        if repaired:
            print(f"warning: {repaired}", file=sys.stderr)
        run_dir.write_config(resolved)
        stale_lock = run_dir.journal.with_name(run_dir.journal.name + ".lock")
        if stale_lock.exists():  # left by a killed writer; we hold the run lock, so nobody else writes
            stale_lock.unlink()
        run_dir.start_session(experiment.config.seed, experiment.project_dir, argv or sys.argv)
        backends = _PhaseBackends(experiment, specs, pipelines, run_dir)
        loop = SearchLoop(experiment, run_dir, backends.get(experiment.phases[0]), progress, backends.get)
        status = "interrupted"
        try:
            loop.run()
            status = "complete"
        except CosearchError as exc:
            status = f"stopped: {exc}"
            raise
        finally:
            backends.close()
            try:
                run_dir.flush()
                table = write_results(run_dir, loop.spec, loop.storage)
                run_dir.end_session(status, len(table))
            except OSError as exc:  # e.g. the disk that stopped the run: report the run's own error
                if status == "complete":
                    raise
                print(f"warning: results not written ({exc}); the journal holds every finished trial",
                      file=sys.stderr)
    return RunResult(run_dir, table, status)


def trial_count(table: pd.DataFrame) -> dict[str, int]:
    """Counts by state, for summaries."""
    if table.empty:
        return {}
    return {str(k): int(v) for k, v in table["state"].value_counts().items()}


__all__ = ["RunResult", "SearchLoop", "pipeline_spec", "run_experiment", "trial_count"]
