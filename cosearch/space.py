"""Search-space DSL: declarative YAML -> parameters sampled through an Optuna trial -> Candidate.

A space file has three sections that become the three parts of a
:class:`~cosearch.core.candidate.Candidate`, plus a name::

    name: xpert_vgg16
    network:                      # -> cosearch.workload.canonical_genome(values)
      arch: vgg16                 # a plain value is fixed
      channels: {choices: [64, 128, 256, 512], count: 13}
    timesteps: {choices: [2, 3, 4, 5]}
    hardware:                     # per-layer mapping (keys: cosearch.core.candidate.MAPPING_KEYS)
      adc_type: {choices: [sar, flash], count: 14}
      adc_bits:
        count: 14
        given: adc_type           # conditional: the spec depends on another parameter's value
        cases: {sar: {low: 4, high: 8}, flash: {low: 1, high: 4}}
      device: {choices: [sram, pcm, fefet], count: 4, repeat: [2, 3, 3, 6]}

Parameter kinds:

* fixed: a scalar, a list (fixed per-layer values) or ``{value: X}``;
* categorical: ``{choices: [...]}``;
* int: ``{low: 1, high: 8}`` with optional ``step`` and ``log: true``;
* float: ``{low: 1e-3, high: 1.0}`` (any bound a float, or ``type: float``), optional ``log: true``.

Modifiers:

* ``count: N``: N independent values, named ``<key>_0 .. <key>_{N-1}`` (one per layer);
* ``repeat: [r0, r1, ...]``: N group values named ``<key>_group_0 ..``, value i repeated r_i
  times to give the per-layer list (layer groups);
* ``at: {index: spec}``: a different spec (or a fixed value) for some indices;
* ``given: other_key`` + ``cases: {value: spec}``: conditional parameter; which spec applies
  depends on the value of ``other_key`` in the same section (element-wise when both are
  per-layer). A value with no case takes ``default`` (required then). The Optuna parameter is
  named ``<key>_<i>_<case>`` so each case has one fixed distribution, which every sampler needs.

Optuna parameter names are the key (scalar) or ``<key>_<i>`` (per index); names must be unique
across sections. The same file works with every sampler: only categorical / int / float
distributions are used, each with a fixed name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from cosearch.core.candidate import MAPPING_KEYS, Candidate
from cosearch.core.errors import ConfigError, InvalidCandidate
from cosearch.core.files import read_yaml
from cosearch.core.settings import is_int, is_number
from cosearch.workload import canonical_genome, network_slots

SECTIONS = ("network", "timesteps", "hardware")
_SPEC_KEYS = {"choices", "low", "high", "step", "log", "type", "value"}
_MODIFIER_KEYS = {"count", "repeat", "at", "given", "cases", "default"}
#: Int ranges up to this many values are enumerated by :meth:`Leaf.span` (longer ones: their bounds).
SPAN_LIMIT = 1024
#: Most values one ``count`` (or a ``repeat`` list's sum) may expand to: one per layer, and no network
#: family has more than a few dozen layers (a huge count would make ``check`` build millions of parameters).
MAX_COUNT = 1024
#: What parameters are drawn from: an Optuna trial, or the probe that lists a baseline's missing ones.
Trial = Union[optuna.trial.BaseTrial, "_ParamProbe", "RandomDraw"]


@dataclass(frozen=True)
class Leaf:
    """One Optuna parameter (or a fixed value when ``distribution`` is None)."""

    name: str
    distribution: BaseDistribution | None
    fixed: Any = None

    def sample(self, trial: Trial) -> Any:
        dist = self.distribution
        if dist is None:
            return self.fixed
        if isinstance(dist, CategoricalDistribution):
            return trial.suggest_categorical(self.name, dist.choices)
        if isinstance(dist, IntDistribution):
            return trial.suggest_int(self.name, dist.low, dist.high, step=dist.step, log=dist.log)
        assert isinstance(dist, FloatDistribution), dist
        return trial.suggest_float(self.name, dist.low, dist.high, step=dist.step, log=dist.log)

    def span(self) -> tuple[Any, ...]:
        """Every value this leaf can take: the fixed value, the choices, an int range's values;
        for a float range or an int range of more than :data:`SPAN_LIMIT` values, its two bounds."""
        dist = self.distribution
        if dist is None:
            return (self.fixed,)
        if isinstance(dist, CategoricalDistribution):
            return tuple(dist.choices)
        assert isinstance(dist, (IntDistribution, FloatDistribution)), dist
        if isinstance(dist, IntDistribution) and not dist.log and (dist.high - dist.low) // dist.step < SPAN_LIMIT:
            return tuple(range(dist.low, dist.high + 1, dist.step))
        return (dist.low, dist.high)

    def contains(self, value: Any) -> bool:
        if self.distribution is None:
            return value == self.fixed
        dist = self.distribution
        if isinstance(dist, CategoricalDistribution):
            return value in dist.choices
        try:
            number = float(value)
        except (TypeError, ValueError):
            return False
        assert isinstance(dist, (IntDistribution, FloatDistribution)), dist
        if isinstance(dist, IntDistribution) and (number != int(number) or (int(number) - dist.low) % dist.step):
            return False
        return dist.low <= number <= dist.high


@dataclass(frozen=True)
class Param:
    """One key of a section: a scalar or per-index list of leaves, maybe conditional."""

    section: str
    key: str
    count: int | None  # None: scalar
    leaves: tuple[Any, ...]  # per index: Leaf, or dict case -> Leaf for conditionals
    given: str | None = None
    default: Any = None
    repeat: tuple[int, ...] | None = None

    @property
    def length(self) -> int | None:
        """Length of the per-layer list this key gives (``repeat`` expanded); None for a scalar."""
        if self.count is None:
            return None
        return sum(self.repeat) if self.repeat is not None else self.count

    def group(self, layer: int) -> int:
        """Index into :attr:`leaves` of per-layer position ``layer`` (its group under ``repeat``)."""
        if self.repeat is None:
            return layer
        return next(g for g, end in enumerate(itertools.accumulate(self.repeat)) if layer < end)

    def names(self) -> list[str]:
        out = []
        for leaf in self.leaves:
            out += [one.name for one in (leaf.values() if isinstance(leaf, dict) else [leaf]) if one.distribution]
        return out


@dataclass
class SearchSpace:
    """A parsed space file: sample it through an Optuna trial into a Candidate."""

    name: str
    params: list[Param]
    source: str = "<inline>"
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ sampling --
    def sample_values(self, trial: Trial) -> dict[str, dict[str, Any]]:
        """Section -> key -> sampled value (scalar or list), in file order (``given`` keys first)."""
        values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        for param in self.params:
            section = values[param.section]
            if param.given is None:
                picked = [leaf.sample(trial) for leaf in param.leaves]
            else:
                picked = [
                    self._conditional(param, leaf, _index(section[param.given], i))
                    for i, leaf in enumerate(param.leaves)
                ]
                picked = [p(trial) if callable(p) else p for p in picked]
            value = picked[0] if param.count is None else picked
            if param.repeat is not None:
                value = [v for v, r in zip(value, param.repeat) for _ in range(r)]
            section[param.key] = value
        return values

    @staticmethod
    def _conditional(param: Param, cases: dict[Any, Leaf], given_value: Any) -> Any:
        leaf = cases.get(given_value)
        return leaf.sample if leaf is not None else param.default

    def sample(self, trial: optuna.trial.BaseTrial, seed: int = 0) -> Candidate:
        """Sample every parameter through ``trial`` and build the Candidate (InvalidCandidate if unbuildable)."""
        return self.candidate(self.sample_values(trial), params=dict(trial.params), seed=seed)

    def candidate(self, values: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any], seed: int) -> Candidate:
        try:
            network = canonical_genome(values["network"])
        except (TypeError, ValueError) as exc:  # a value of the wrong type for the family's genome
            raise InvalidCandidate(f"network genome rejected: {exc}") from None
        slots = network_slots(network)
        hardware = {}
        for key, value in values["hardware"].items():
            if isinstance(value, list):
                if len(value) != slots:
                    raise InvalidCandidate(
                        f"hardware.{key} has {len(value)} per-layer values but arch "
                        f"{network['arch']!r} has {slots} layer slots"
                    )
                value = tuple(value)
            hardware[key] = value
        return Candidate(
            network=network,
            timesteps=int(values["timesteps"].get("timesteps", 1)),
            hardware=hardware,
            params=dict(params),
            seed=seed,
        )

    # ------------------------------------------------------- introspection --
    def parameter_names(self) -> list[str]:
        return [name for param in self.params for name in param.names()]

    def distributions(self) -> dict[str, BaseDistribution]:
        return {leaf.name: leaf.distribution for leaf in self._leaves() if leaf.distribution is not None}

    def _leaves(self) -> Iterator[Leaf]:
        for param in self.params:
            for leaf in param.leaves:
                yield from (leaf.values() if isinstance(leaf, dict) else [leaf])

    def missing_params(self, params: Mapping[str, Any]) -> list[str]:
        """Names of parameters a trial with ``params`` would sample but that are unset or out of range."""
        probe = _ParamProbe(params)
        self.sample_values(probe)
        return probe.missing

    def params_for(self, values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Optuna params of this space that reproduce ``values`` (section -> key -> value) where they fit.

        Used to carry designs between phases: each parameter takes the value stored under the
        same section/key/index when that value lies in its distribution; others are left to the
        sampler. Parameters with ``repeat`` take a group's value only when the group is uniform.
        """
        params: dict[str, Any] = {}
        for param in self.params:
            source = values.get(param.section, {}).get(param.key)
            if source is None:
                continue
            given = values.get(param.section, {}).get(param.given) if param.given else None
            for i, leaf in enumerate(param.leaves):
                value = _group_value(source, param, i)
                if value is _MISSING:
                    continue
                if param.given is not None:
                    leaf = leaf.get(_index(given, i)) if given is not None else None
                if leaf is not None and leaf.distribution is not None and leaf.contains(value):
                    params[leaf.name] = value
        return params


_MISSING = object()


class _ParamProbe:
    """Duck-typed trial that answers from a params dict and records what is missing or invalid."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)
        self.missing: list[str] = []

    def _answer(self, name: str, distribution: BaseDistribution, fallback: Any) -> Any:
        value = self.params.get(name, _MISSING)
        if value is _MISSING or not Leaf(name, distribution).contains(value):
            self.missing.append(name)
            return fallback
        return value

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self._answer(name, CategoricalDistribution(choices), choices[0])

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> Any:
        return self._answer(name, IntDistribution(low, high, step=step, log=log), low)

    def suggest_float(self, name: str, low: float, high: float, step: float | None = None, log: bool = False) -> Any:
        return self._answer(name, FloatDistribution(low, high, step=step, log=log), low)


class RandomDraw:
    """Duck-typed trial drawing every parameter at random (seeded ``rng``) except the ``pinned`` ones.

    Used to look at the networks a space can give without a study (e.g. their layer-slot counts).
    """

    def __init__(self, rng: np.random.Generator, pinned: Mapping[str, Any] | None = None) -> None:
        self.rng = rng
        self.pinned = dict(pinned or {})
        self.params: dict[str, Any] = {}

    def _pick(self, name: str, draw: Any) -> Any:
        value = self.pinned[name] if name in self.pinned else draw()
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self._pick(name, lambda: choices[int(self.rng.integers(len(choices)))])

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> Any:
        return self._pick(name, lambda: low + step * int(self.rng.integers((high - low) // step + 1)))

    def suggest_float(self, name: str, low: float, high: float, step: float | None = None, log: bool = False) -> Any:
        return self._pick(name, lambda: float(self.rng.uniform(low, high)))


def _index(value: Any, i: int) -> Any:
    return value[i] if isinstance(value, (list, tuple)) else value


def _group_value(source: Any, param: Param, i: int) -> Any:
    if param.count is None:
        return source
    if not isinstance(source, (list, tuple)):
        return source
    if param.repeat is None:
        return source[i] if i < len(source) else _MISSING
    start = sum(param.repeat[:i])
    group = list(source[start : start + param.repeat[i]])
    return group[0] if group and all(v == group[0] for v in group) else _MISSING


# --------------------------------------------------------------- parsing ----


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.names: set[str] = set()

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(self.source, path, message)

    def space(self, data: Any, path: str = "") -> SearchSpace:
        if not isinstance(data, Mapping):
            raise self.fail(path or "space", f"must be a mapping with keys name, {', '.join(SECTIONS)}")
        prefix = f"{path}." if path else ""
        unknown = set(data) - {"name", "description", *SECTIONS}
        if unknown:
            raise self.fail(
                f"{prefix}{sorted(unknown, key=str)[0]}",
                f"unknown key; allowed: name, description, {', '.join(SECTIONS)}",
            )
        network = data.get("network")
        if not isinstance(network, Mapping) or "arch" not in network:
            raise self.fail(prefix + "network", "must be a mapping with at least 'arch' (e.g. arch: vgg16)")
        hardware = data.get("hardware") or {}
        if not isinstance(hardware, Mapping):
            raise self.fail(prefix + "hardware", "must be a mapping of per-layer hardware keys")
        for key in hardware:
            if key not in MAPPING_KEYS:
                raise self.fail(f"{prefix}hardware.{key}", f"unknown hardware key; allowed: {', '.join(MAPPING_KEYS)}")
        params: list[Param] = []
        for key, spec in network.items():
            params.append(self.param("network", key, spec, prefix, network))
        params.append(self.param("timesteps", "timesteps", data.get("timesteps", 1), prefix, {}))
        _check_timesteps(params[-1], self.fail(f"{prefix}timesteps", ""))
        for key, spec in hardware.items():
            params.append(self.param("hardware", key, spec, prefix, hardware))
        ordered = _given_first(params)
        return SearchSpace(
            name=str(data.get("name", Path(self.source).stem)),
            description=str(data.get("description", "")),
            params=ordered,
            source=self.source,
            raw=dict(data),
        )

    def param(self, section: str, key: str, spec: Any, prefix: str, siblings: Mapping[str, Any]) -> Param:
        path = f"{prefix}{section}" if section == "timesteps" else f"{prefix}{section}.{key}"
        if not _is_spec(spec):
            if isinstance(spec, list):
                return Param(section, key, len(spec), tuple(Leaf(f"{key}_{i}", None, v) for i, v in enumerate(spec)))
            return Param(section, key, None, (Leaf(key, None, spec),))
        unknown = set(spec) - _SPEC_KEYS - _MODIFIER_KEYS
        if unknown:
            raise self.fail(
                f"{path}.{sorted(unknown, key=str)[0]}",
                f"unknown key; allowed: {', '.join(sorted(_SPEC_KEYS | _MODIFIER_KEYS))}",
            )
        count = spec.get("count")
        if count is not None and (not is_int(count) or not 1 <= count <= MAX_COUNT):
            raise self.fail(f"{path}.count", f"must be an integer from 1 to {MAX_COUNT}, one value per layer (got {count!r})")
        repeat = spec.get("repeat")
        if repeat is not None and (count is None or not isinstance(repeat, list) or len(repeat) != count or not all(
            is_int(r) and r >= 1 for r in repeat
        ) or sum(repeat) > MAX_COUNT):
            raise self.fail(f"{path}.repeat", f"must be a list of {count} positive integers, one per group, summing to at "
                                                f"most {MAX_COUNT} (got {repeat!r})")
        at = spec.get("at") or {}
        if not isinstance(at, Mapping) or any(not isinstance(i, int) or not 0 <= i < (count or 1) for i in at):
            raise self.fail(f"{path}.at", f"must map indices 0..{(count or 1) - 1} to specs (got {spec.get('at')!r})")
        given = spec.get("given")
        base = {k: v for k, v in spec.items() if k in _SPEC_KEYS}
        stem = f"{key}_group" if repeat else key  # group values are not layer values: device_group_0
        indices = range(count) if count is not None else [None]
        leaves: list[Any] = []
        if given is None:
            if "cases" in spec:
                raise self.fail(f"{path}.cases", "needs 'given: <key>' naming the parameter the cases depend on")
            for i in indices:
                leaf_spec = at.get(i, base) if i is not None else base
                leaves.append(self.leaf(_leaf_name(stem, i), leaf_spec, f"{path}.at.{i}" if i in at else path))
            return Param(section, key, count, tuple(leaves), repeat=tuple(repeat) if repeat else None)
        if given not in siblings or given == key:
            raise self.fail(f"{path}.given", f"must name another key of {section} (got {given!r}); known: {', '.join(siblings)}")
        cases = spec.get("cases")
        if not isinstance(cases, Mapping) or not cases:
            raise self.fail(f"{path}.cases", "must map values of the 'given' parameter to specs")
        for i in indices:
            leaves.append(
                {
                    case: self.leaf(f"{_leaf_name(stem, i)}_{case}", case_spec, f"{path}.cases.{case}")
                    for case, case_spec in cases.items()
                }
            )
        return Param(
            section, key, count, tuple(leaves), given=given, default=spec.get("default"),
            repeat=tuple(repeat) if repeat else None,
        )

    def leaf(self, name: str, spec: Any, path: str) -> Leaf:
        if name in self.names:
            raise self.fail(path, f"parameter name {name!r} is used twice; rename one key")
        self.names.add(name)
        if not _is_spec(spec):
            return Leaf(name, None, spec)
        if "value" in spec:
            return Leaf(name, None, spec["value"])
        if "choices" in spec:
            choices = spec["choices"]
            if not isinstance(choices, list) or not choices:
                raise self.fail(f"{path}.choices", f"must be a non-empty list (got {choices!r})")
            bad = [c for c in choices if c is not None and not isinstance(c, (bool, int, float, str))]
            if bad:
                raise self.fail(f"{path}.choices", f"choices must be numbers, strings, booleans or null (got {bad[0]!r})")
            return Leaf(name, CategoricalDistribution(tuple(choices)))
        if "low" not in spec or "high" not in spec:
            raise self.fail(path, "must have 'choices', 'value', or both 'low' and 'high'")
        low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
        kind = spec.get("type", "int" if isinstance(low, int) and isinstance(high, int) else "float")
        if kind not in ("int", "float"):
            raise self.fail(f"{path}.type", f"must be one of int, float (got {kind!r})")
        for bound in ("low", "high"):
            if not is_number(spec[bound]):
                raise self.fail(f"{path}.{bound}", f"must be a finite number (got {spec[bound]!r})")
        if low > high:
            raise self.fail(f"{path}.low", f"must be <= high ({low!r} > {high!r})")
        if log and low <= 0:
            raise self.fail(f"{path}.low", f"must be > 0 when log: true (got {low!r})")
        if kind == "int":
            step = spec.get("step", 1)
            if not isinstance(step, int) or step < 1 or (log and step != 1):
                raise self.fail(f"{path}.step", f"must be a positive integer (1 with log: true) (got {step!r})")
            return Leaf(name, IntDistribution(int(low), int(high), log=log, step=step))
        step = spec.get("step")
        return Leaf(name, FloatDistribution(float(low), float(high), log=log, step=step))


def _check_timesteps(param: Param, error: ConfigError) -> None:
    """Every value ``timesteps`` can take is an integer >= 1 (a scalar, not a per-layer list)."""
    values = [v for leaf in param.leaves if isinstance(leaf, Leaf) for v in leaf.span()]
    bad = [v for v in values if not is_int(v) or v < 1]
    if param.count is not None or param.given is not None or bad:
        got = bad[0] if bad else param.leaves
        raise ConfigError(error.source, error.path, f"must be an integer >= 1 or a spec of them, one for the whole "
                                                    f"network (got {got!r})")


def _leaf_name(key: str, index: int | None) -> str:
    return key if index is None else f"{key}_{index}"


def _is_spec(value: Any) -> bool:
    return isinstance(value, Mapping)


def _given_first(params: list[Param]) -> list[Param]:
    """Order so that every conditional parameter comes after the one it depends on."""
    done: list[Param] = []
    pending = list(params)
    while pending:
        ready = [p for p in pending if p.given is None or any(d.key == p.given and d.section == p.section for d in done)]
        if not ready:
            raise ConfigError("<space>", f"{pending[0].section}.{pending[0].key}.given", "conditional parameters form a cycle")
        done += ready
        pending = [p for p in pending if p not in ready]
    return done


def parse_space(data: Any, source: str = "<inline>", path: str = "") -> SearchSpace:
    """Parse a space from already-loaded YAML data; errors name ``source`` and the key path."""
    return _Parser(source).space(data, path)


def load_space(path: str | Path) -> SearchSpace:
    """Load and parse a space YAML file."""
    return parse_space(read_yaml(path), str(path))


def with_fixed(space: SearchSpace, fixed: Mapping[str, Any], source: str, path: str) -> SearchSpace:
    """A copy of ``space`` where the named Optuna parameters are fixed to given values."""
    known = set(space.parameter_names())
    for name in fixed:
        if name not in known:
            raise ConfigError(source, f"{path}.{name}", f"not a parameter of space {space.name!r}; known: {', '.join(sorted(known))}")

    def fix(leaf: Any) -> Any:
        if isinstance(leaf, dict):
            return {case: fix(one) for case, one in leaf.items()}
        if leaf.name in fixed:
            return Leaf(leaf.name, None, fixed[leaf.name])
        return leaf

    params = [
        Param(p.section, p.key, p.count, tuple(fix(leaf) for leaf in p.leaves), p.given, p.default, p.repeat)
        for p in space.params
    ]
    return SearchSpace(space.name, params, space.source, space.description, space.raw)
