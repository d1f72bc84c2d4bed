"""Candidate: one point of a search space as plain data.

A Candidate is what every evaluator sees (never an Optuna trial): the network genome, the
number of SNN timesteps, and the per-layer hardware mapping. It round-trips through JSON so
that a trial's architecture can be stored, exported and rebuilt.

Hardware mapping convention: ``hardware[key]`` is either one value applied to every
crossbar-mapped layer, or a tuple with one value per *layer slot* of the network (see
:func:`cosearch.workload.network_slots`). Keys a space may set are listed in
:data:`MAPPING_KEYS`; a key the space leaves out takes the default of the loaded hardware
cards.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cosearch.core.errors import ConfigError
from cosearch.core.files import to_jsonable
from cosearch.core.settings import is_int

#: Largest ADC precision any card may be asked to price [bits].
MAX_ADC_BITS = 16


@dataclass(frozen=True)
class MappingKey:
    """One per-layer hardware mapping key: its value kind and range.

    Attributes:
        name: the key as spaces, cards (``defaults``) and candidates spell it.
        kind: ``str`` (a name the hardware cards define) or ``int``.
        description: what it means, with its unit in brackets.
        high: largest allowed integer (ints are always >= 1); None for no upper bound.
    """

    name: str
    kind: type
    description: str
    high: int | None = None

    def value_error(self, value: Any) -> str | None:
        """Why ``value`` is not a valid value of this key (kind and range), or None when it is."""
        if self.kind is str:
            return None if isinstance(value, str) and value else f"must be a non-empty string (got {value!r})"
        if not (is_int(value) and value >= 1
                and (self.high is None or value <= self.high)):
            allowed = "a positive integer" if self.high is None else f"an integer in 1..{self.high}"
            return f"must be {allowed} (got {value!r})"
        return None


#: The per-layer hardware mapping keys, the one list every module reads (units in brackets).
MAPPING_KEYS: dict[str, MappingKey] = {
    key.name: key
    for key in (
        MappingKey("device", str, "memory device card name of the layer's crossbars, e.g. sram, pcm, fefet, rram"),
        MappingKey("adc_type", str, "ADC type a peripherals card defines, e.g. sar or flash"),
        MappingKey("adc_bits", int, "ADC precision [bits]", MAX_ADC_BITS),
        MappingKey("column_sharing", int, "crossbar columns that share one ADC (XPert/NeuroSim sense) [columns]"),
        MappingKey("input_bits", int, "DAC/input precision for non-spiking inputs, applied bit-serially [bits]"),
        MappingKey("weight_bits", int, "weight precision [bits]"),
        MappingKey("xbar_size", int, "crossbar rows = columns [cells]"),
    )
}


def check_layer_mapping(mapping: Mapping[str, Any], where: str, source: str = "",
                        names: Mapping[str, Sequence[str]] | None = None) -> None:
    """Validate one layer mapping: known keys, each value's kind and range, column sharing <= size.

    Args:
        mapping: key -> value of one layer (keys absent are not checked).
        where: key path to name in the error (e.g. ``defaults`` or ``layers[3]``).
        source: file to name in the error.
        names: for the ``str`` keys, the names the loaded cards define (e.g. ``{"device": [...]}``).

    Raises:
        ConfigError: naming ``source``, ``<where>.<key>`` and the allowed values.
    """
    for key, value in mapping.items():
        spec = MAPPING_KEYS.get(key)
        if spec is None:
            raise ConfigError(source, f"{where}.{key}", f"unknown mapping key (allowed: {', '.join(MAPPING_KEYS)})")
        reason = spec.value_error(value)
        choices = (names or {}).get(key)
        if reason is None and choices is not None and value not in choices:
            reason = f"unknown {key} {value!r} (cards define: {', '.join(choices)})"
        if reason:
            raise ConfigError(source, f"{where}.{key}", reason)
    sharing, size = mapping.get("column_sharing"), mapping.get("xbar_size")
    if sharing is not None and size is not None and sharing > size:
        raise ConfigError(source, f"{where}.column_sharing", f"cannot exceed the crossbar size {size} (got {sharing})")


@dataclass(frozen=True)
class Candidate:
    """Network genome + timesteps + per-layer hardware mapping.

    Attributes:
        network: canonical genome; ``network["arch"]`` names the family (see
            :mod:`cosearch.workload`), the other keys are that family's genome fields.
        timesteps: SNN timesteps T (every spiking layer runs T times per inference).
        hardware: per-layer hardware mapping, key -> scalar or tuple per layer slot.
        params: the flat parameters the searcher sampled (name -> value), for records.
        seed: evaluation seed (weights init, batch choice) derived from the run seed and trial.
        screen: whether the pipeline's ``skip_when`` screens apply; False for a baseline, which
            is the hypervolume's reference and is evaluated in full even where it breaks a
            constraint (not part of the record: :meth:`to_dict` leaves it out).
    """

    network: Mapping[str, Any]
    timesteps: int
    hardware: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    screen: bool = True

    @property
    def arch(self) -> str:
        return str(self.network["arch"])

    def layer_hardware(self, slot: int) -> dict[str, Any]:
        """The hardware mapping of one layer slot (scalars broadcast, tuples indexed)."""
        return {
            key: (value[slot] if isinstance(value, (tuple, list)) else value)
            for key, value in self.hardware.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {
            "network": to_jsonable(self.network),
            "timesteps": int(self.timesteps),
            "hardware": to_jsonable(self.hardware),
            "params": to_jsonable(self.params),
            "seed": int(self.seed),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def design(self) -> dict[str, Any]:
        """What identifies the design, JSON-ready: network, T and hardware mapping (not the seed or
        the sampler's params: two trials that sampled the same design have equal designs)."""
        return {key: value for key, value in self.to_dict().items() if key in ("network", "timesteps", "hardware")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(
            network=_frozen(data["network"]),
            timesteps=int(data["timesteps"]),
            hardware=_frozen(data.get("hardware", {})),
            params=dict(data.get("params", {})),
            seed=int(data.get("seed", 0)),
        )

    @classmethod
    def from_json(cls, text: str) -> Candidate:
        return cls.from_dict(json.loads(text))


def _frozen(value: Any) -> Any:
    """Lists -> tuples (recursively) so per-layer values compare and hash like the sampled ones."""
    if isinstance(value, Mapping):
        return {str(k): _frozen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
