"""Searcher names -> Optuna samplers, with options checked against each sampler's signature."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import optuna

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


def make_sampler(name: str, options: Mapping[str, Any], seed: int) -> optuna.samplers.BaseSampler:
    """A seeded sampler; constraints reach it through ``trial.set_constraint`` (Optuna >= 4)."""
    cls = SAMPLERS[name]
    accepted = inspect.signature(cls).parameters
    quiet = {} if name in _NO_QUIET_SWITCH else {k: v for k, v in _QUIET.items() if k in accepted}
    with warnings.catch_warnings():  # NSGA-III and QMC are marked experimental; that is not news to users
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return cls(seed=seed, **{**quiet, **dict(options)})


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
