"""Candidate: one point of a search space as plain data.

A Candidate is what every evaluator sees (never an Optuna trial): the network genome, the
number of SNN timesteps, and the per-layer hardware mapping. It round-trips through JSON so
that a trial's architecture can be stored, exported and rebuilt.

Hardware mapping convention: ``hardware[key]`` is either one value applied to every
crossbar-mapped layer, or a tuple with one value per *layer slot* of the network (see
:func:`cosearch.workload.network_slots`). Keys a space may set are listed in
:data:`HARDWARE_KEYS`; a key the space leaves out takes the default of the loaded hardware
cards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

#: Per-layer hardware mapping keys and what they mean (units in brackets).
HARDWARE_KEYS: dict[str, str] = {
    "device": "memory device card name of the layer's crossbars, e.g. sram, pcm, fefet, rram",
    "adc_type": "ADC architecture: sar or flash",
    "adc_bits": "ADC precision [bits]",
    "column_sharing": "crossbar columns that share one ADC (XPert/NeuroSim sense) [columns]",
    "input_bits": "DAC/input precision for non-spiking inputs, applied bit-serially [bits]",
    "weight_bits": "weight precision [bits]",
    "xbar_size": "crossbar rows = columns [cells]",
}


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
    """

    network: Mapping[str, Any]
    timesteps: int
    hardware: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

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
            "network": _plain(self.network),
            "timesteps": int(self.timesteps),
            "hardware": _plain(self.hardware),
            "params": _plain(self.params),
            "seed": int(self.seed),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Candidate":
        return cls(
            network=_frozen(data["network"]),
            timesteps=int(data["timesteps"]),
            hardware=_frozen(data.get("hardware", {})),
            params=dict(data.get("params", {})),
            seed=int(data.get("seed", 0)),
        )

    @classmethod
    def from_json(cls, text: str) -> "Candidate":
        return cls.from_dict(json.loads(text))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    """Lists -> tuples (recursively) so per-layer values compare and hash like the sampled ones."""
    if isinstance(value, Mapping):
        return {str(k): _frozen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
