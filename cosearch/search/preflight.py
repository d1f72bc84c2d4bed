"""Preflight: everything about an experiment that can be checked before trial 0, checked at once.

``cosearch run`` calls :func:`preflight` before it creates the run directory, and
``cosearch check EXP.yaml`` runs it alone. Each failure is one
:class:`~cosearch.core.errors.ConfigError` naming the file, the key path and what is allowed:

* objectives and constraints against the metrics the evaluators declare
  (:meth:`cosearch.core.evaluator.Evaluator.produces`), with a "did you mean" for near misses;
  every ``skip_when`` item against the metrics of the evaluators listed before it;
* every per-layer list of every phase's space against the network family's layer-slot count
  (:mod:`cosearch.workload`), for every slot count the space's networks can have;
* every value a hardware key of the space can take (all choices, both bounds of a range,
  every case and default) against the hardware cards of the experiment's ``hardware`` section
  (:func:`cosearch.hw.load_hardware_section`): device and ADC names, value ranges
  (:func:`cosearch.core.candidate.check_layer_mapping`), ADC bits the cards price for each ADC
  type a layer can take, column sharing within the crossbar size;
* the evaluators, built with their options (as the run builds them), then each evaluator's
  :meth:`~cosearch.core.evaluator.Evaluator.check_space` with the network values of the space
  (the proxy: batch size within the images available, channels >= 1 after scaling) and its
  :meth:`~cosearch.core.evaluator.Evaluator.check_objectives` with the metrics the objectives and
  constraints name (the proxy: ``proxy_accuracy_estimate`` at a batch size its default
  ``mismatch_weight`` was not chosen for).

Sampler options are checked by the config loader (:func:`cosearch.core.samplers.sampler_option_error`).
"""

from __future__ import annotations

import difflib
import functools
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from cosearch.config import Experiment, PhaseConfig
from cosearch.core.candidate import check_layer_mapping
from cosearch.core.errors import ConfigError, InvalidCandidate
from cosearch.evaluators import load_evaluator_class
from cosearch.hw import load_hardware_section
from cosearch.hw.model import HardwareModel
from cosearch.search.pipeline import Pipeline, PipelineSpec, SkipRule
from cosearch.space import Leaf, Param, RandomDraw, SearchSpace
from cosearch.workload import canonical_genome, families, network_slots

#: Genomes drawn per combination of the network's scalar choices to find its slot counts.
GENOME_DRAWS = 16
#: At most this many combinations of scalar network choices are enumerated.
MAX_COMBINATIONS = 64


def preflight(experiment: Experiment, spec: PipelineSpec) -> Pipeline:
    """Check ``experiment`` (see the module docstring) and return its built pipeline.

    Raises:
        ConfigError: the first problem found, naming the file, key path and allowed values.
    """
    source = str(experiment.source)
    check_metrics(experiment, spec)
    check_preselect(experiment)
    model = None
    for space, where in _spaces(experiment):
        if any(p.section == "hardware" for p in space.params) and model is None:
            model = _named(source, lambda: _hardware(experiment))
        check_space(space, where, model)
    pipeline = spec.build()
    named = [o.metric for o in experiment.config.objectives] + [c.metric for c in experiment.config.constraints]
    for index, evaluator in enumerate(pipeline.evaluators):
        checks = [functools.partial(evaluator.check_space, network_values(space)) for space, _ in _spaces(experiment)]
        for check in [*checks, functools.partial(evaluator.check_objectives, named)]:
            try:
                check()
            except ConfigError as exc:
                if exc.source:
                    raise
                path = f"{spec.where}[{index}].{exc.path}" if exc.path.startswith("options") else exc.path
                raise ConfigError(source, path, exc.detail) from None
    return pipeline


def _hardware(experiment: Experiment) -> HardwareModel:
    """The cards a space is checked against: the experiment's ``hardware`` section under its project
    folder, as the cost evaluator loads it; the package's own cards when the section names no cards
    and that folder has no ``hw_models/`` (an experiment with no hardware evaluator run elsewhere)."""
    section = experiment.config.hardware
    project = experiment.project_dir
    own = section.get("cards") is not None or (project / "hw_models").is_dir()
    return load_hardware_section(project if own else None, section)


def _named(source: str, build: Callable[[], Any]) -> Any:
    """``build()``; a ConfigError it raises without naming a file is given the experiment file."""
    try:
        return build()
    except ConfigError as exc:
        if exc.source:
            raise
        raise ConfigError(source, exc.path, exc.detail) from None


# ------------------------------------------------------------------ metrics --


def check_metrics(experiment: Experiment, spec: PipelineSpec) -> set[str]:
    """Every objective and constraint metric is produced by some evaluator; returns the produced set."""
    source = str(experiment.source)
    produced: set[str] = set()
    for index, (name, options) in enumerate(spec.evaluators):
        try:
            cls = load_evaluator_class(name)
        except ValueError as exc:
            raise ConfigError(source, f"{spec.where}[{index}].type", str(exc)) from None
        if getattr(cls.produces, "__isabstractmethod__", False):
            raise ConfigError(source, f"{spec.where}[{index}].type",
                              f"{name} does not declare its metrics; define the classmethod "
                              f"produces(options, context) -> set of metric names (cosearch.core.evaluator)")
        if index < len(spec.screens):
            check_screen(source, f"{spec.where}[{index}]", spec.screens[index], produced, name)
        produced |= set(_named(source, functools.partial(cls.produces, options, spec.context)))
    config = experiment.config
    named = [(f"objectives[{i}].metric", o.metric) for i, o in enumerate(config.objectives)]
    named += [(f"constraints[{i}].metric", c.metric) for i, c in enumerate(config.constraints)]
    for path, metric in named:
        if metric not in produced:
            near = difflib.get_close_matches(metric, sorted(produced), n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ConfigError(source, path, f"no evaluator produces {metric!r}; {hint}"
                                            f"the evaluators produce: {', '.join(sorted(produced))}")
    return produced


def check_screen(source: str, where: str, rules: Sequence[SkipRule], upstream: set[str], name: str) -> None:
    """Every ``skip_when`` item of evaluator entry ``where`` can be decided by the evaluators before
    it (``upstream``: the metrics they produce): a condition's metric is one of them, the word
    ``constraints`` covers at least one constraint metric among them."""
    by_item: dict[str, list[SkipRule]] = {}
    for rule in rules:
        by_item.setdefault(rule.origin.partition(":")[0], []).append(rule)
    before = ", ".join(sorted(upstream)) or "nothing (it is the first evaluator)"
    for item, group in by_item.items():
        if any(rule.metric in upstream for rule in group):
            continue
        if group[0].origin.endswith("constraints"):
            raise ConfigError(source, f"{where}.{item}",
                              f"no constraint metric ({', '.join(r.metric for r in group)}) is produced by the "
                              f"evaluators listed before {name}, so 'constraints' cannot skip it; allowed: list a "
                              f"cheap evaluator that produces it (e.g. cost) first; those before produce: {before}")
        near = difflib.get_close_matches(group[0].metric, sorted(upstream), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise ConfigError(source, f"{where}.{item}.metric",
                          f"no evaluator listed before {name} produces {group[0].metric!r}; {hint}"
                          f"allowed: {before}")


def check_preselect(experiment: Experiment) -> None:
    """A phase whose searcher has ``preselect`` lists a cheap stage: some evaluator after the first
    carries a ``skip_when`` screen, and the evaluators before it price the pool."""
    config = experiment.config
    for phase in experiment.phases:
        if phase.searcher.preselect is None:
            continue
        listed = phase.evaluators if phase.evaluators is not None else config.evaluators
        if not any(entry.skip_when for entry in listed[1:]):
            where = "searcher" if phase.searcher is config.searcher else f"phases[{phase.index}].searcher"
            lists = "evaluators" if phase.evaluators is None else f"phases[{phase.index}].evaluators"
            raise ConfigError(str(experiment.source), f"{where}.preselect",
                              f"needs a cheap stage to price its pool, and {lists} has none; allowed: list the "
                              f"cheap evaluators first and put skip_when on the first expensive one "
                              f"(e.g. [cost, {{type: proxy, skip_when: [constraints]}}, ...]; docs/search.md)")


# -------------------------------------------------------------------- space --


def _spaces(experiment: Experiment) -> Iterator[tuple[SearchSpace, tuple[str, str]]]:
    """Each distinct phase space with (file to name, key-path prefix) for its errors."""
    config = experiment.config
    seen: set[int] = set()
    phase_configs: list[PhaseConfig | None] = list(config.phases) if config.phases else [None]
    for phase, phase_config in zip(experiment.phases, phase_configs):
        space = phase.space
        if id(space) in seen:
            continue
        seen.add(id(space))
        if phase_config is not None and phase_config.space is not None:
            inline = isinstance(phase_config.space, dict)
            prefix = f"phases[{phase.index}].space." if inline else ""
        else:
            inline = isinstance(config.space, dict)
            prefix = "space." if inline else ""
        yield space, (str(experiment.source) if inline else space.source, prefix)


def check_space(space: SearchSpace, where: tuple[str, str], model: HardwareModel | None) -> None:
    """The space's per-layer lists against its networks' slot counts, its hardware values against
    ``model`` (skipped when None); ``where`` is (file, key-path prefix) for the errors."""
    source, prefix = where
    hardware = [p for p in space.params if p.section == "hardware"]
    slots = slot_counts(space, where)
    for param in hardware:
        if param.length is not None and any(param.length != s for s in slots):
            wanted = ", ".join(map(str, sorted(slots)))
            how = f"repeat sums to {param.length}" if param.repeat else f"{param.length} per-layer values"
            raise ConfigError(source, f"{prefix}hardware.{param.key}",
                              f"{how}, but the space's networks have {wanted} layer slots (cosearch.workload); "
                              f"allowed: count {wanted} (or one scalar for every layer)")
    if model is None:
        return
    by_key = {p.key: p for p in hardware}
    for param in hardware:
        _check_values(param, by_key, source, f"{prefix}hardware.{param.key}", model)
    for layer in range(max(slots)):
        _check_layer(layer, by_key, source, f"{prefix}hardware", model)


def _leaves(param: Param, group: int) -> list[Leaf]:
    leaf = param.leaves[group]
    return list(leaf.values()) if isinstance(leaf, dict) else [leaf]


def _check_values(param: Param, by_key: Mapping[str, Param], source: str, path: str, model: HardwareModel) -> None:
    names = model.mapping_names
    for group in range(len(param.leaves)):
        for leaf in _leaves(param, group):
            for value in leaf.span():
                _mapping(param.key, value, source, path, names)
    if param.given is None:
        return
    given = by_key.get(param.given)
    cases = {case for leaf in param.leaves if isinstance(leaf, dict) for case in leaf}
    uncovered = sorted({str(v) for v in _key_values(given, model, param.given)} - {str(c) for c in cases})
    if uncovered and param.default is None:
        raise ConfigError(source, f"{path}.default",
                          f"{param.given} can be {', '.join(uncovered)}, which no case covers; "
                          f"allowed: a case for each, or a default value")
    if uncovered:
        _mapping(param.key, param.default, source, f"{path}.default", names)


def _mapping(key: str, value: Any, source: str, path: str, names: Mapping[str, Sequence[str]]) -> None:
    try:
        check_layer_mapping({key: value}, "", source, names)
    except ConfigError as exc:
        raise ConfigError(source, path, exc.detail) from None


def _key_values(param: Param | None, model: HardwareModel, key: str) -> set[Any]:
    """Every value a hardware key can take on any layer (the card default when the space leaves it out)."""
    if param is None:
        return {model.defaults[key]}
    return {value for group in range(len(param.leaves)) for leaf in _leaves(param, group) for value in leaf.span()}


def _layer_values(param: Param | None, layer: int, model: HardwareModel, key: str) -> list[Any]:
    """Values ``key`` can take on per-layer position ``layer`` (every case; the default included)."""
    if param is None:
        return [model.defaults[key]]
    group = param.group(min(layer, (param.length or 1) - 1)) if param.length is not None else 0
    values = [value for leaf in _leaves(param, group) for value in leaf.span()]
    return values + ([param.default] if param.given is not None and param.default is not None else [])


def _check_layer(layer: int, by_key: Mapping[str, Param], source: str, path: str, model: HardwareModel) -> None:
    """The (ADC type, bits) pairs a layer can take are priced; column sharing fits the crossbar size."""
    types = _layer_values(by_key.get("adc_type"), layer, model, "adc_type")
    bits_param = by_key.get("adc_bits")
    pairs: list[tuple[Any, Any]] = []
    for adc_type in types:
        if bits_param is not None and bits_param.given == "adc_type":
            group = bits_param.group(min(layer, (bits_param.length or 1) - 1)) if bits_param.length else 0
            case = bits_param.leaves[group].get(adc_type)
            bits = list(case.span()) if case is not None else [bits_param.default]
        else:
            bits = _layer_values(bits_param, layer, model, "adc_bits")
        pairs += [(adc_type, b) for b in bits]
    index = {name: i for i, name in enumerate(model.adc.names)}
    priced = [(t, b) for t, b in pairs if t in index and isinstance(b, int) and 0 <= b < model.adc.priced.shape[1]]
    if priced:
        where = f"{path}.adc_bits" + (f" (layer {layer})" if layer else "")
        try:
            model.adc.check_priced(np.array([index[t] for t, _ in priced]), np.array([b for _, b in priced]), where)
        except ConfigError as exc:
            raise ConfigError(source, where, f"{exc.detail}; card: {exc.source}") from None
    sharing = [v for v in _layer_values(by_key.get("column_sharing"), layer, model, "column_sharing") if isinstance(v, int)]
    sizes = [v for v in _layer_values(by_key.get("xbar_size"), layer, model, "xbar_size") if isinstance(v, int)]
    if sharing and sizes and max(sharing) > min(sizes):
        raise ConfigError(source, f"{path}.column_sharing",
                          f"can be {max(sharing)} but the crossbar size can be {min(sizes)} on layer {layer}; "
                          f"allowed: column_sharing <= xbar_size for every value either can take")


def slot_counts(space: SearchSpace, where: tuple[str, str]) -> set[int]:
    """Layer-slot counts of the networks the space can give (its arch checked against the families).

    Every combination of the scalar network choices (up to :data:`MAX_COMBINATIONS`) is tried
    with :data:`GENOME_DRAWS` random draws of the other genes; genomes the family rejects are
    skipped (those trials fail as invalid candidates, which is the search's business).
    """
    source, prefix = where
    network = [p for p in space.params if p.section == "network"]
    for param in network:
        if param.key == "arch":
            unknown = [a for leaf in param.leaves for a in leaf.span() if not isinstance(a, str) or a not in families()]
            if unknown:
                raise ConfigError(source, f"{prefix}network.arch",
                                  f"unknown network family {unknown[0]!r}; allowed: {', '.join(sorted(families()))}")
    scalars = [p.leaves[0] for p in network if p.count is None and isinstance(p.leaves[0], Leaf)
               and p.leaves[0].distribution is not None and len(p.leaves[0].span()) <= 16]
    combos = list(itertools.islice(itertools.product(*[leaf.span() for leaf in scalars]), MAX_COMBINATIONS))
    rng = np.random.default_rng(0)
    counts: set[int] = set()
    reason = ""
    for combo in combos:
        pinned = {leaf.name: value for leaf, value in zip(scalars, combo)}
        for _ in range(GENOME_DRAWS):
            values = space.sample_values(RandomDraw(rng, pinned))
            try:
                counts.add(network_slots(canonical_genome(values["network"])))
            except (InvalidCandidate, TypeError, ValueError) as exc:
                reason = str(exc)
                continue
            break
    if not counts:
        raise ConfigError(source, f"{prefix}network", f"no network drawn from it can be built ({reason})")
    return counts


def network_values(space: SearchSpace) -> dict[str, tuple[Any, ...]]:
    """Network key -> every value it can take (per-layer lists flattened; ranges by their bounds)."""
    values: dict[str, tuple[Any, ...]] = {}
    for param in space.params:
        if param.section != "network":
            continue
        found: list[Any] = []
        for group in range(len(param.leaves)):
            for leaf in _leaves(param, group):
                for value in leaf.span():
                    found += list(value) if isinstance(value, (list, tuple)) else [value]
        values[param.key] = tuple(found)
    return values


__all__ = ["check_metrics", "check_preselect", "check_screen", "check_space", "network_values", "preflight", "slot_counts"]
