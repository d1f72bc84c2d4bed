"""The built-in evaluators: thin adapters from a Candidate to the proxy (``proxy/``), the cost
model (``hw/``), training (``train``), the accuracy model (``predictor/``) and trained-accuracy
tables (``tables/``). Each is one module; adding an evaluator is one file here plus its name in
:data:`BUILTIN` (or no edit at all: an experiment may name any ``"module:Class"``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cosearch.core.evaluator import EvaluationContext, Evaluator

#: Built-in evaluator names -> "module:Class" (imported lazily so torch loads only when needed).
BUILTIN: dict[str, str] = {
    "proxy": "cosearch.evaluators.proxy:ProxyEvaluator",
    "cost": "cosearch.evaluators.cost:CostEvaluator",
    "train": "cosearch.evaluators.train:TrainEvaluator",
    "accuracy_model": "cosearch.evaluators.accuracy_model:AccuracyModelEvaluator",
    "spikenas_lookup": "cosearch.evaluators.spikenas_lookup:SpikenasLookupEvaluator",
}


def load_evaluator_class(name: str) -> type[Evaluator]:
    """Class for a built-in name or a ``module:Class`` path; ValueError with the choices otherwise."""
    target = BUILTIN.get(name, name)
    if ":" not in target:
        raise ValueError(f"must be one of {', '.join(BUILTIN)} or 'module:Class' (got {name!r})")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} for evaluator {name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Evaluator)):
        raise ValueError(f"{target!r} is not an Evaluator subclass")
    return cls



def listed_context(listed: Sequence[tuple[str, dict[str, Any]]], index: int, context: EvaluationContext) -> EvaluationContext:
    """The context evaluator ``index`` of ``listed`` (``(name, options)`` in experiment order) is built
    with: ``context`` whose ``upstream`` is the evaluators listed before it (the search pipeline and
    the accuracy model's calibration scoring build evaluators with it)."""
    return replace(context, upstream=tuple(listed[:index]))
