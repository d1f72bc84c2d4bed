"""Spiking neural networks, time-major ``[T, B, ...]``: LIF neuron with surrogate gradients,
the SNASNet cell (forward and backward edges) and macro network, and a spiking VGG16.

Public entry point: :func:`build` (Candidate or genome -> a :class:`SpikingNetwork`, the protocol
every backbone follows: :mod:`cosearch.snn.protocol`).
"""

from cosearch.snn.build import DEFAULT_TIMESTEPS, build
from cosearch.snn.cell import Cell
from cosearch.snn.neuron import LIF, Stateful, reset_states
from cosearch.snn.protocol import SharedLIFs, SpikingNetwork
from cosearch.snn.snasnet import SNASNet
from cosearch.snn.surrogate import SURROGATES, spike, surrogate_grad
from cosearch.snn.vgg import VGG16SNN

__all__ = [
    "DEFAULT_TIMESTEPS",
    "LIF",
    "SURROGATES",
    "VGG16SNN",
    "Cell",
    "SNASNet",
    "SharedLIFs",
    "SpikingNetwork",
    "Stateful",
    "build",
    "reset_states",
    "spike",
    "surrogate_grad",
]
