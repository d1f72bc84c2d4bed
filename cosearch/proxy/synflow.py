"""SynFlow of a spiking network: a data-free, training-free measure of how much signal its
topology can carry from input to output.

SynFlow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving
synaptic flow", NeurIPS 2020) scores a network by ``R = 1^T (prod_l |W_l|) 1``: the output of
the network with every parameter replaced by its magnitude, fed an all-ones input, summed. The
per-parameter saliency is ``|theta * dR/dtheta|`` and the network's score the sum of all of them
(used as a zero-cost NAS proxy by Abdelfattah et al., "Zero-cost proxies for lightweight NAS",
ICLR 2021). For a network whose layers are homogeneous of degree 1 the sum equals
``depth x R``, so it grows with depth, width and the number of parallel paths.

Spiking adaptation: the LIF layers are replaced by the identity, so the network becomes the
linear map its synapses define (batch norm in evaluation mode at its initial statistics, i.e.
per-channel scaling by |gamma|; :class:`ChannelAffine`). The network still runs for the
candidate's T timesteps, so a backward (temporal-feedback) connection adds the paths it opens
from one timestep to the next;
with forward connections only, the score does not depend on T (the output is the mean over
timesteps of the same value). It knows nothing of spikes, firing thresholds or hardware.

It runs in float64 (the products over a dozen layers overflow float32's exponent at wide
layers) on the CPU, with one sample. On SpikeNAS-Bench's development half (237 topologies, C = 16,
one seed for all) it ranks trained accuracy at Kendall tau 0.758, above the spike-pattern score
(0.686) and below the longest conv chain of the cell (0.793); it is one of the accuracy model's
features (docs/validation.md section 7).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from cosearch.snn import build
from cosearch.snn.neuron import LIF
from cosearch.snn.threads import ordered_sum


def linearise(net: nn.Module) -> int:
    """Replace every :class:`~cosearch.snn.neuron.LIF` submodule of ``net`` by ``nn.Identity``
    (in place); returns how many were replaced."""
    targets = [(parent, name) for parent in net.modules() for name, child in parent.named_children()
               if isinstance(child, LIF)]
    for parent, name in targets:
        setattr(parent, name, nn.Identity())
    return len(targets)


class ChannelAffine(nn.Module):
    """An evaluation-mode batch norm as the per-channel affine map it is, ``x * a + b`` with
    ``a = gamma / sqrt(running_var + eps)`` and ``b = beta - running_mean * a`` over the channel
    dimension (-3), on the batch norm's own parameters and statistics.

    Same values as the batch norm; the difference is the backward pass. Autograd sums gamma's and
    beta's gradients with one reduction per channel, which torch does not split across threads,
    whereas the batch-norm backward kernel adds per-thread partial sums (different bits at 1 and
    2 threads; :mod:`cosearch.snn.threads`). And torch's (2.13, CPU) evaluation-mode batch-norm
    backward returns a wrong input gradient for a single-image channels-last frame whose batch
    stride is not ``C H W`` when the incoming gradient is NCHW-contiguous: that is what a cell with
    backward edges feeds it at one sample (each timestep's slice of the repeated stem frame), so
    SynFlow came out up to 9 % low there (one SNASNet cell: 12.53e6 against 13.75e6 for the stem,
    whose summed saliency must equal R; a finite difference of R gives 13.75e6).
    """

    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError("ChannelAffine needs a batch norm that tracks running statistics")
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps
        self.register_buffer("running_mean", bn.running_mean)
        self.register_buffer("running_var", bn.running_var)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = (self.running_var + self.eps).rsqrt()
        if self.weight is not None:
            scale = scale * self.weight
        shift = -self.running_mean * scale
        if self.bias is not None:
            shift = shift + self.bias
        return x * scale.view(-1, 1, 1) + shift.view(-1, 1, 1)


def affine_batch_norms(net: nn.Module) -> int:
    """Replace every ``nn.BatchNorm2d`` submodule of ``net`` by its :class:`ChannelAffine`
    (in place; evaluation-mode semantics); returns how many were replaced."""
    targets = [(parent, name, child) for parent in net.modules() for name, child in parent.named_children()
               if isinstance(child, nn.BatchNorm2d) and child.track_running_stats]
    for parent, name, child in targets:
        setattr(parent, name, ChannelAffine(child))
    return len(targets)


def synflow(genome: Mapping[str, Any], timesteps: int, seed: int, sample_shape: Sequence[int]) -> float:
    """``log sum_theta |theta * dR/dtheta|`` of the network ``genome`` builds at ``timesteps``.

    Args:
        genome: the network genome (already at the fidelity's channel scale).
        timesteps: T the network runs for.
        seed: torch seed of the weights (drawn as :func:`cosearch.snn.build` draws them; torch's
            global RNG state is restored afterwards).
        sample_shape: the shape of one input sample (e.g. ``(3, 32, 32)``); the input is all ones.

    Returns the natural log of the summed saliency (dimensionless; higher = more synaptic flow),
    ``-inf`` when no parameter reaches the output and ``inf`` when the sum overflows float64.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build(genome, timesteps)
    linearise(net)
    net = net.double().eval()
    affine_batch_norms(net)  # the same map, with gradients summed per channel (thread-independent)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    with torch.enable_grad():
        net(torch.ones(1, *sample_shape, dtype=torch.float64)).sum().backward()
    # ordered_sum: torch would split each parameter's sum across threads (different bits at 1 and 2)
    total = sum(ordered_sum((p.detach() * p.grad).abs()) for p in net.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else -math.inf
