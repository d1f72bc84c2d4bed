"""The torch-free contract of a network family: its crossbar layer shapes and its declaration.

A family (backbone) is declared once, in its own module of :mod:`cosearch.workload`, as a
module-level ``FAMILY = Family(...)``: how to canonicalise a genome, which crossbar-mapped
layers the genome has (:class:`LayerShape`), how many per-layer hardware slots the family has,
and which torch module implements it (``"module:Class"``, imported only by :mod:`cosearch.snn`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from cosearch.core.errors import InvalidCandidate

#: How a network's first layer receives its input: ``direct`` (an analog image, the same at every
#: timestep, so the first layer runs once) or ``events`` (a different binary spike frame at every
#: timestep, e.g. binned event-camera data, so the first layer is a spiking layer run T times).
ENCODINGS = ("direct", "events")


def input_encoding(values: Mapping[str, Any]) -> str:
    """The genome's ``encoding`` (default ``direct``); InvalidCandidate for another value."""
    encoding = str(values.get("encoding", "direct"))
    if encoding not in ENCODINGS:
        raise InvalidCandidate(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    return encoding


class LayerShape(NamedTuple):
    """One weight layer as the crossbar model sees it (a named tuple: built ~2.5x faster than a
    frozen dataclass, which the cost model's all-new-genome batches pay for 14 layers a candidate).

    Attributes:
        slot: index into per-layer hardware lists.
        name: readable name (``conv3``, ``cell1.2->0``).
        kind: ``conv`` or ``linear`` (a linear layer is a 1x1 "conv" on a 1x1 map).
        cin, cout: input / output channels (features for linear).
        kernel: square kernel size k (1 for linear).
        h_out, w_out: output feature-map size (1 for linear) = number of output positions.
        input_bits: native precision of the layer input [bits]: 1 for binary spikes, 3 for
            2x2-average-pooled spikes (5 levels), ``None`` for analog inputs (image pixels),
            whose precision is the mapping's ``input_bits`` (DAC precision).
        per_timestep: False when the layer sees the same input at every timestep and is
            computed once (direct-encoded stem); True for layers that run T times.
    """

    slot: int
    name: str
    kind: str
    cin: int
    cout: int
    kernel: int
    h_out: int
    w_out: int
    input_bits: int | None
    per_timestep: bool

    @property
    def rows(self) -> int:
        """Crossbar rows needed for one output: Cin * k^2."""
        return self.cin * self.kernel * self.kernel

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference (one timestep): H*W*Cin*k^2*Cout."""
        return self.h_out * self.w_out * self.rows * self.cout


@dataclass(frozen=True)
class Family:
    """A network family: genome canonicalisation, crossbar layers, slot count, torch module.

    Attributes:
        name: the genome's ``arch`` value.
        genome: sampled values -> validated canonical genome (raises InvalidCandidate).
        layers: canonical genome -> its crossbar-mapped weight layers, in slot order.
        slots: canonical genome -> length of per-layer hardware lists.
        network: ``"module:Class"`` of the torch module; the class is built as
            ``cls(genome, timesteps, neuron)`` and follows :class:`cosearch.snn.SpikingNetwork`.
        example: genome values of one valid member (the family's reference network), which the
            contract tests build and check against :attr:`layers`.
    """

    name: str
    genome: Callable[[Mapping[str, Any]], dict[str, Any]]
    layers: Callable[[Mapping[str, Any]], list[LayerShape]]
    slots: Callable[[Mapping[str, Any]], int]
    network: str
    example: Mapping[str, Any]
