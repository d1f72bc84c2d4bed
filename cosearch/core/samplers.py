"""Searcher names -> Optuna samplers, with options checked against each sampler's signature.

Reproducible across sessions: the search loop samples every trial with a fresh sampler seeded for
that trial (:class:`PerTrialSampler`), so what a trial proposes depends only on the study's stored
trials and the trial's seed, never on how many trials an earlier process of the run asked.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

#: Searcher name -> Optuna sampler class (anchors.md section 9).
SAMPLERS: dict[str, Callable[..., optuna.samplers.BaseSampler]] = {
    "random": optuna.samplers.RandomSampler,
    "tpe": optuna.samplers.TPESampler,
    "nsga2": optuna.samplers.NSGAIISampler,
    "nsga3": optuna.samplers.NSGAIIISampler,
    "gp": optuna.samplers.GPSampler,
    "qmc": optuna.samplers.QMCSampler,
}

# Options that take Python objects or are set by cosearch itself; not settable from YAML.
_RESERVED = {"seed", "constraints_func", "independent_sampler", "mutation", "crossover", "gamma", "weights",
             "elite_population_selection_strategy", "child_generation_strategy", "after_trial_strategy",
             "reference_points"}
# Quiet by default: cosearch's spaces are conditional on purpose, so independent sampling is expected
# (TPE deprecated its switch in Optuna 4.9 and no longer needs it).
_QUIET = {"warn_independent_sampling": False, "warn_asynchronous_seeding": False}
_NO_QUIET_SWITCH = {"tpe"}


def sampler_option_names(name: str) -> list[str]:
    """Keyword options a YAML ``searcher.options`` may set for sampler ``name``."""
    parameters = inspect.signature(SAMPLERS[name]).parameters
    return [p for p in parameters if p not in _RESERVED]


def make_sampler(name: str, options: Mapping[str, Any], seed: int,
                 trial_seed: Callable[[int], int] | None = None) -> optuna.samplers.BaseSampler:
    """A seeded sampler; constraints reach it through ``trial.set_constraint`` (Optuna >= 4).

    With ``trial_seed`` (trial number -> seed) a :class:`PerTrialSampler`: trial ``n`` is sampled by
    a fresh sampler seeded ``trial_seed(n)``. ``seed`` then only seeds what must stay fixed for
    the whole study: the scrambling of the QMC sequence (QMC's fallback sampler, used for the
    first trial and for parameters outside its sequence, takes the trial's seed).
    """
    if trial_seed is None:
        return _construct(name, options, seed)

    def factory(per_trial: int) -> optuna.samplers.BaseSampler:
        if name == "qmc":
            return _construct(name, options, seed, independent_sampler=optuna.samplers.RandomSampler(seed=per_trial))
        return _construct(name, options, per_trial)

    factory(seed)  # bad options fail here, not at the first trial
    return PerTrialSampler(factory, trial_seed)


def _construct(name: str, options: Mapping[str, Any], seed: int, **reserved: Any) -> optuna.samplers.BaseSampler:
    cls = SAMPLERS[name]
    accepted = inspect.signature(cls).parameters
    quiet = {} if name in _NO_QUIET_SWITCH else {k: v for k, v in _QUIET.items() if k in accepted}
    with warnings.catch_warnings():  # NSGA-III and QMC are marked experimental; that is not news to users
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(seed=seed, **{**quiet, **dict(options), **reserved})


class PerTrialSampler(optuna.samplers.BaseSampler):
    """Samples trial ``n`` with a fresh sampler ``factory(trial_seed(n))``, made when the trial starts
    (``before_trial``) and dropped when it ends (``after_trial``).

    So a trial's proposal is a function of its seed and of the study's stored trials only, whatever
    the sampler kept in memory: the shipped samplers keep nothing across trials but their random
    generators, which a fresh sampler starts anew from the trial's seed, and caches of what the
    storage holds (NSGA generation bookkeeping, whose truth is in system attributes; QMC's sequence
    index is a study system attribute). Only public constructor arguments are used; nothing of
    Optuna's is reseeded in place. Costs of the fresh start: the GP sampler fits its kernel from
    default parameters each trial (a long-lived one starts from the previous trial's fit), and
    caches are rebuilt each trial, except the samplers' :class:`~optuna.search_space.IntersectionSearchSpace`
    (incremental; rebuilt each trial it would cost time quadratic in the trials): the first
    sampler's is handed on to the later ones (:meth:`_share_caches`).
    """

    def __init__(self, factory: Callable[[int], optuna.samplers.BaseSampler], trial_seed: Callable[[int], int]) -> None:
        self._factory = factory
        self._trial_seed = trial_seed
        self._live: dict[int, optuna.samplers.BaseSampler] = {}  # trial number -> its sampler, until told
        self._caches: dict[str, IntersectionSearchSpace] = {}  # attribute name -> the shared cache

    def sampler_for(self, trial: FrozenTrial) -> optuna.samplers.BaseSampler:
        """The sampler of ``trial`` (a fresh one when the trial started elsewhere)."""
        sampler = self._live.get(trial.number)
        if sampler is None:
            sampler = self._live[trial.number] = self._share_caches(self._factory(self._trial_seed(trial.number)))
        return sampler

    def _share_caches(self, sampler: optuna.samplers.BaseSampler) -> optuna.samplers.BaseSampler:
        """``sampler`` with the intersection search spaces of the first sampler made. Safe: one is a
        cache of the study's finished trials (sorted by parameter name, the same however often it
        was updated), and this sampler serves one study."""
        for name, value in vars(sampler).items():
            if isinstance(value, IntersectionSearchSpace):
                setattr(sampler, name, self._caches.setdefault(name, value))
        return sampler

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.sampler_for(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.sampler_for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.sampler_for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.sampler_for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        try:
            self.sampler_for(trial).after_trial(study, trial, state, values)
        finally:
            self._live.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Nothing to do: every trial's sampler is seeded from its trial's seed."""


def sampler_option_error(name: str, options: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """Why sampler ``name``'s own constructor rejects ``options``: ``(key, message)``, or None.

    The key is the first option the constructor rejects on its own (None when only the
    combination fails); the message is the sampler's, prefixed with its exception type when
    that is not a ValueError.
    """
    try:
        make_sampler(name, options, seed=0)
    except Exception as exc:  # any constructor error is a bad option value; the message says which
        message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        for key, value in options.items():
            try:
                make_sampler(name, {key: value}, seed=0)
            except Exception:  # this option alone is rejected: name it
                return key, message
        return None, message
    return None
