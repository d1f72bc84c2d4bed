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
per-channel scaling by |gamma|). The network still runs for the candidate's T timesteps, so a
backward (temporal-feedback) connection adds the paths it opens from one timestep to the next;
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


def linearise(net: nn.Module) -> int:
    """Replace every :class:`~cosearch.snn.neuron.LIF` submodule of ``net`` by ``nn.Identity``
    (in place); returns how many were replaced."""
    targets = [(parent, name) for parent in net.modules() for name, child in parent.named_children()
               if isinstance(child, LIF)]
    for parent, name in targets:
        setattr(parent, name, nn.Identity())
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
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    with torch.enable_grad():
        net(torch.ones(1, *sample_shape, dtype=torch.float64)).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    return math.log(total) if total > 0 else -math.inf
