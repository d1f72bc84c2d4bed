"""VGG16-style SNN backbone for XPert-style searches (Moitra et al., DAC 2023).

13 conv3x3 layers with per-layer channels from the genome, each followed by BN and a LIF
layer; 2x2 max pooling on the spikes after conv 2, 4, 7 and 10 (32x32 inputs end at 2x2);
a linear classifier on the flattened ``C13 x 2 x 2`` spikes, averaged over the T timesteps.
conv1 sees the image directly (direct encoding) and, like its BN, is computed once; its LIF
and everything after run every timestep. With ``encoding: events`` conv1 and its BN run on the
spike frame of every timestep. Layer shapes match :func:`cosearch.workload.network_layers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from cosearch.snn.layers import BatchNorm2d, MaxPool2d, SpikeConv2d
from cosearch.snn.neuron import LIF, reset_states
from cosearch.snn.protocol import SpikingNetwork
from cosearch.snn.steps import frame_steps, repeat_steps
from cosearch.workload.vgg16 import VGG16_POOL_AFTER


class VGGBlock(nn.Module):
    """conv3x3 -> BN -> LIF (-> MaxPool2 on the spikes) over ``[T, B, ...]``.

    ``static``: the conv is a plain 4-D layer and the BN runs on 4-D frames; the network runs
    both once on the image (its LIF still runs every timestep), so ``forward`` is not used for
    that block.
    """

    def __init__(self, cin: int, cout: int, pool: bool, static: bool, neuron: Mapping[str, Any]) -> None:
        super().__init__()
        self.conv = (nn.Conv2d if static else SpikeConv2d)(cin, cout, 3, padding=1, bias=False)
        self.bn = BatchNorm2d(cout)  # also on 4-D frames: thread-count-independent statistics
        self.lif = LIF(**neuron)
        self.pool = MaxPool2d(2) if pool else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.lif(self.bn(self.conv(x)))
        return s if self.pool is None else self.pool(s)


class VGG16SNN(SpikingNetwork):
    """Spiking VGG16 for a canonical ``vgg16`` genome (see :class:`~cosearch.snn.snasnet.SNASNet` for args)."""

    def __init__(self, genome: Mapping[str, Any], timesteps: int, neuron: Mapping[str, Any] | None = None) -> None:
        super().__init__(genome, timesteps, neuron)
        neuron = self.neuron
        cin, size = int(genome["in_channels"]), int(genome["image_size"])
        blocks = []
        for index, cout in enumerate(genome["channels"], start=1):
            blocks.append(VGGBlock(cin, int(cout), index in VGG16_POOL_AFTER, index == 1, neuron))
            cin = int(cout)
            size //= 2 if index in VGG16_POOL_AFTER else 1
        self.blocks: list[VGGBlock] = nn.ModuleList(blocks)  # type: ignore[assignment]  # indexed as VGGBlocks
        self.fc = nn.Linear(cin * size * size, int(genome["num_classes"]))

    def weight_layers(self) -> dict[int, nn.Module]:
        """Slot -> conv/linear module, matching :func:`cosearch.workload.network_layers`."""
        layers: dict[int, nn.Module] = {slot: block.conv for slot, block in enumerate(self.blocks)}
        layers[len(self.blocks)] = self.fc
        return layers

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images [B, C_in, H, W]`` (``encoding: direct``) or spike frames ``[B, T, C_in, H, W]``
        (``encoding: events``) -> class scores ``[B, classes]`` (mean over T timesteps)."""
        reset_states(self)
        first, rest = self.blocks[0], self.blocks[1:]
        stem = nn.Sequential(first.conv, first.bn)
        events = self.genome.get("encoding") == "events"
        static = None if events else stem(images.contiguous(memory_format=torch.channels_last))
        chunk = self.time_chunk or self.timesteps
        total = torch.zeros((), dtype=images.dtype, device=images.device)
        for start in range(0, self.timesteps, chunk):
            steps = min(chunk, self.timesteps - start)
            s = first.lif(frame_steps(stem, images, start, steps) if static is None else repeat_steps(static, steps))
            for block in rest:
                s = block(s)
            total = total + self.fc(s.flatten(2)).sum(0)
        return total / self.timesteps
