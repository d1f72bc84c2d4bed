"""What every spiking backbone declares: the contract the proxy, the noisy pass, training and
export rely on.

A backbone is a :class:`SpikingNetwork` subclass built as ``cls(genome, timesteps, neuron)``
from a canonical genome of its family (:mod:`cosearch.workload`). It takes
``images [B, C, H, W]`` and returns class scores ``[B, classes]`` averaged over T timesteps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from torch import nn

from cosearch.snn.neuron import LIF


class SharedLIFs(ABC):
    """A module whose LIF layers each stand for several LIF layers of the reference network.

    SNASNet's cell keeps one LIF per source node although every conv edge leaving the node has
    its own LIF in the reference code: they see identical input and emit identical spikes, so
    the proxy counts such a LIF's spikes once per edge it feeds.
    """

    @abstractmethod
    def lif_copies(self) -> dict[str, int]:
        """Child module name (relative to this module) -> reference LIF layers it stands for."""


class SpikingNetwork(nn.Module, ABC):
    """Base of every backbone.

    Attributes:
        genome: the canonical genome it was built from.
        timesteps: T.
        time_chunk: timesteps run per pass (None = all T at once); smaller values cap memory.
    """

    def __init__(self, genome: Mapping[str, Any], timesteps: int, neuron: Mapping[str, Any] | None = None) -> None:
        """``neuron``: keyword arguments of every :class:`~cosearch.snn.neuron.LIF` (kept as ``self.neuron``)."""
        super().__init__()
        self.neuron = dict(neuron or {})
        self.genome = dict(genome)
        self.timesteps = int(timesteps)
        self.time_chunk: int | None = None

    def init_for_training(self) -> None:
        """Adjust the freshly initialised weights before training (default: keep them).

        Only training calls it (:func:`cosearch.training.make_model`); the proxy scores
        the network exactly as :func:`cosearch.snn.build` initialises it.
        """

    @abstractmethod
    def weight_layers(self) -> dict[int, nn.Module]:
        """Slot -> conv/linear module, matching the family's :func:`cosearch.workload.network_layers`."""

    def layer_inputs(self) -> dict[int, nn.Module]:
        """Slot -> module whose forward input is that layer's input at inference (default: the layer)."""
        return self.weight_layers()

    def spiking_layers(self) -> dict[str, tuple[LIF, int]]:
        """Every LIF layer by module name, with how many reference LIF layers it stands for."""
        copies: dict[str, int] = {}
        for name, module in self.named_modules():
            if isinstance(module, SharedLIFs):
                copies.update({f"{name}.{child}": count for child, count in module.lif_copies().items()})
        return {name: (module, copies.get(name, 1)) for name, module in self.named_modules() if isinstance(module, LIF)}
