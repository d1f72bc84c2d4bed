"""SNASNet macro network for CIFAR-style inputs (Kim et al., ECCV 2022; anchors.md section 1).

Layout (C = genome channels, image size S, layer names as in :mod:`cosearch.workload`)::

    stem   Conv3x3(in -> C, stride ``stem_stride``) + BN, no LIF, computed once; its output is fed
           at every timestep (S below is the image size / stem_stride); with ``encoding: events``
           it runs on the spike frame of every timestep instead
    cell1  Cell(C) at S x S
    down   BN -> LIF -> Conv3x3(C -> 2C) -> BN -> AvgPool2
    cell2  Cell(2C) at S/2 x S/2
    head   BN -> LIF -> AvgPool2
    classifier  Dropout 0.5 -> fc1 Linear(2C*(S/4)^2 -> width, no bias) -> LIF
                -> fc2 Linear(width -> classes*votes) -> mean over each group of `votes` (voting)

Output: class scores ``[B, classes]`` averaged over the T timesteps.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from cosearch.snn.cell import Cell
from cosearch.snn.layers import AvgPool2d, BatchNorm2d, Dropout, SpikeConv2d
from cosearch.snn.neuron import LIF, reset_states
from cosearch.snn.protocol import SpikingNetwork
from cosearch.snn.steps import frame_steps, repeat_steps
from cosearch.workload.snasnet import node_pairs

#: SNASNet's classifier initialisation N(0, 0.01^2) (reference code) and fc1's fan-in at the
#: narrowest width it is published at: 2C (S/4)^2 with C = 128, S = 32 (CIFAR-100; CIFAR-10
#: uses C = 256; anchors.md section 10).
SNASNET_FC_STD = 0.01
PUBLISHED_FC1_FAN_IN = 2 * 128 * 8 * 8


class SNASNet(SpikingNetwork):
    """The SNASNet cell network for a canonical ``snasnet`` genome.

    Args:
        genome: canonical genome (:func:`cosearch.workload.canonical_genome`).
        timesteps: T.
        neuron: keyword arguments of every :class:`~cosearch.snn.neuron.LIF`.
        dropout: classifier dropout probability (0.5 in SNASNet).
    """

    def __init__(self, genome: Mapping[str, Any], timesteps: int, neuron: Mapping[str, Any] | None = None,
                 dropout: float = 0.5) -> None:
        super().__init__(genome, timesteps, neuron)
        neuron = self.neuron
        c = int(genome["channels"])
        stride = int(genome.get("stem_stride", 1))
        size = int(genome["image_size"]) // stride
        classes, votes = int(genome["num_classes"]), int(genome["votes_per_class"])
        self.classes, self.votes = classes, votes
        self.stem = nn.Sequential(nn.Conv2d(int(genome["in_channels"]), c, 3, stride=stride, padding=1, bias=False), BatchNorm2d(c))
        self.cell1 = Cell(genome["cell"], c, neuron)
        self.down = nn.Sequential(OrderedDict(
            bn_in=BatchNorm2d(c), lif=LIF(**neuron), conv=SpikeConv2d(c, 2 * c, 3, padding=1, bias=False),
            bn=BatchNorm2d(2 * c), pool=AvgPool2d(2),
        ))
        self.cell2 = Cell(genome["cell"], 2 * c, neuron)
        self.head = nn.Sequential(OrderedDict(bn=BatchNorm2d(2 * c), lif=LIF(**neuron), pool=AvgPool2d(2)))
        width = int(genome["classifier_width"])
        self.classifier = nn.Sequential(OrderedDict(
            dropout=Dropout(dropout), fc1=nn.Linear(2 * c * (size // 4) ** 2, width, bias=False), lif=LIF(**neuron),
            fc2=nn.Linear(width, classes * votes),
        ))

    def init_for_training(self) -> None:
        """Redraw fc1 as N(0, sigma^2), sigma = 0.01 * max(1, 16384 / fan-in) (docs/training.md).

        SNASNet's N(0, 0.01^2) leaves the classifier LIF silent in narrow networks: its input
        sums ``fan-in = 2C (S/4)^2`` sparse pooled spikes and shrinks with the width while the
        threshold stays 1, so fc2 sees no spike, the logits are 0 and the loss stays at ln 10
        (measured at C = 16: classifier firing rate 0.0000, fc2 gradient exactly 0). Scaling
        sigma with 1 / fan-in brings the classifier back to firing at initialisation. The
        reference fan-in 16384 is SNASNet's narrowest published classifier (C = 128, 32 x 32), so
        at the published widths (C = 128, 256 on 32 x 32 images) this is SNASNet's initialisation.
        """
        fc1 = self.classifier.get_submodule("fc1")
        assert isinstance(fc1, nn.Linear)
        if fc1.in_features < PUBLISHED_FC1_FAN_IN:  # else keep the weights build() drew
            nn.init.normal_(fc1.weight, 0.0, SNASNET_FC_STD * PUBLISHED_FC1_FAN_IN / fc1.in_features)

    def weight_layers(self) -> dict[int, nn.Module]:
        """Slot -> conv/linear module, matching :func:`cosearch.workload.network_layers`."""
        pairs = node_pairs(int(self.genome["nodes"]))
        layers: dict[int, nn.Module] = {0: self.stem[0]}
        for first, cell in ((1, self.cell1), (len(pairs) + 2, self.cell2)):
            convs = cell.convs()
            for offset, (i, j) in enumerate(pairs):
                for edge in ((i, j), (j, i)):
                    if edge in convs:
                        layers[first + offset] = convs[edge]
        layers[len(pairs) + 1] = self.down.get_submodule("conv")
        layers[2 * len(pairs) + 2] = self.classifier.get_submodule("fc1")
        layers[2 * len(pairs) + 3] = self.classifier.get_submodule("fc2")
        return dict(sorted(layers.items()))

    def layer_inputs(self) -> dict[int, nn.Module]:
        """Slot -> module whose forward input is that layer's input at inference.

        Same as :meth:`weight_layers` except fc1, whose input is taken before the dropout that
        only training applies.
        """
        inputs = self.weight_layers()
        inputs[2 * len(node_pairs(int(self.genome["nodes"]))) + 2] = self.classifier.get_submodule("dropout")
        return inputs

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images [B, C_in, H, W]`` (``encoding: direct``) or spike frames ``[B, T, C_in, H, W]``
        (``encoding: events``) -> class scores ``[B, classes]`` (mean over T timesteps)."""
        reset_states(self)
        events = self.genome.get("encoding") == "events"
        static = None if events else self.stem(images.contiguous(memory_format=torch.channels_last))
        chunk = self.time_chunk or self.timesteps
        total = torch.zeros((), dtype=images.dtype, device=images.device)
        for start in range(0, self.timesteps, chunk):
            steps = min(chunk, self.timesteps - start)
            x = frame_steps(self.stem, images, start, steps) if static is None else repeat_steps(static, steps)
            x = self.head(self.cell2(self.down(self.cell1(x))))
            y = self.classifier(x.flatten(2))
            total = total + y.view(*y.shape[:2], self.classes, self.votes).mean(-1).sum(0)
        return total / self.timesteps
