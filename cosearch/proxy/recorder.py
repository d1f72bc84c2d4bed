"""Forward hooks that turn one network pass into kernel terms and activity statistics.

Hooks sit on every :class:`~cosearch.snn.neuron.LIF` (spikes -> kernel, spike counts) and on
the module feeding each crossbar-mapped weight layer (input density, synaptic operations).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn

from cosearch.proxy.kernel import KernelAccumulator, rows
from cosearch.snn.neuron import LIF
from cosearch.snn.protocol import SpikingNetwork
from cosearch.workload import LayerShape


class SpikeRecorder:
    """Records one network's spiking activity over one or more batches.

    Args:
        net: a :class:`~cosearch.snn.SpikingNetwork` (its ``spiking_layers()`` and ``layer_inputs()``).
        kind: kernel name (see :mod:`cosearch.proxy.kernel`).
        layers: the network's :class:`~cosearch.workload.LayerShape` list (slots, fan-out,
            whether the input is spike-derived).

    Totals (summed over all recorded batches): ``spikes[name]`` and ``neuron_steps[name]`` per LIF
    layer; ``nonzero[slot]`` / ``inputs[slot]`` per weight layer; ``synops`` (non-zero inputs of
    per-timestep layers x fan-out); ``samples``.
    """

    def __init__(self, net: SpikingNetwork, kind: str, layers: Sequence[LayerShape]) -> None:
        self.kind = kind
        self.kernel: KernelAccumulator | None = None
        self.spikes: dict[str, float] = defaultdict(float)
        self.neuron_steps: dict[str, float] = defaultdict(float)
        self.nonzero: dict[int, float] = defaultdict(float)
        self.inputs: dict[int, float] = defaultdict(float)
        self.synops = 0.0
        self.samples = 0
        self._counted: dict[int, tuple[weakref.ref[torch.Tensor], float]] = {}  # id -> (LIF output, its spikes)
        self._handles = []
        for name, (module, copies) in net.spiking_layers().items():
            self._handles.append(module.register_forward_hook(self._lif_hook(name, copies)))
        shapes = {layer.slot: layer for layer in layers}
        for slot, feeder in net.layer_inputs().items():
            layer = shapes[slot]
            fanout = layer.cout * layer.kernel * layer.kernel
            self._handles.append(feeder.register_forward_pre_hook(self._input_hook(slot, fanout, layer.per_timestep)))

    def begin(self, batch_size: int) -> None:
        """Start a new batch: a fresh kernel accumulator."""
        self.kernel = KernelAccumulator(self.kind, batch_size)
        self.samples += batch_size
        self._counted.clear()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _lif_hook(self, name: str, copies: int):
        def hook(module: LIF, args: tuple, out: torch.Tensor) -> None:
            assert self.kernel is not None, "call begin() before the forward pass"
            total = 0.0
            for t in range(out.shape[0]):
                total += float(self.kernel.add(rows(out[t]), copies).sum())
            self.spikes[name] += total
            self.neuron_steps[name] += float(out.numel())
            self._counted[id(out)] = (weakref.ref(out), total)

        return hook

    def _input_hook(self, slot: int, fanout: int, spiking: bool):
        def hook(module: nn.Module, args: tuple) -> None:
            x = args[0]
            known = self._counted.get(id(x))
            # a LIF's own output (the usual input of a spiking layer): its spikes are counted already
            nonzero = known[1] if known is not None and known[0]() is x else float(torch.count_nonzero(x))
            self.nonzero[slot] += nonzero
            self.inputs[slot] += float(x.numel())
            if spiking:
                self.synops += nonzero * fanout

        return hook
