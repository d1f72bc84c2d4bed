"""``build``: a torch module from a Candidate or a genome, dispatching on ``genome["arch"]``."""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import nn

from cosearch.core.candidate import Candidate
from cosearch.core.errors import InvalidCandidate
from cosearch.snn.layers import snasnet_init
from cosearch.snn.snasnet import SNASNet
from cosearch.snn.vgg import VGG16SNN
from cosearch.workload import canonical_genome

#: SNASNet's timesteps (anchors.md section 1), used when a bare genome comes without T.
DEFAULT_TIMESTEPS = 5

_BUILDERS: dict[str, Callable[[Mapping[str, Any], int, Mapping[str, Any] | None], nn.Module]] = {
    "snasnet": SNASNet,
    "vgg16": VGG16SNN,
}


def build(
    candidate_or_genome: Candidate | Mapping[str, Any],
    timesteps: int | None = None,
    *,
    neuron: Mapping[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Module:
    """A freshly initialised SNN for a candidate or a genome.

    Args:
        candidate_or_genome: a :class:`~cosearch.core.candidate.Candidate` or genome values
            (canonicalised with :func:`cosearch.workload.canonical_genome`).
        timesteps: T; defaults to the candidate's, or :data:`DEFAULT_TIMESTEPS` for a genome.
        neuron: :class:`~cosearch.snn.neuron.LIF` keyword arguments (tau/beta, threshold,
            reset, surrogate, surrogate_width, detach_reset); SNASNet's LIF by default.
        dtype: parameter dtype (``torch.bfloat16`` runs several times faster on CPUs with AMX).

    Weights are drawn from torch's global RNG with SNASNet's initialisation
    (:func:`~cosearch.snn.layers.snasnet_init`); seed it first for reproducible weights.
    The module takes ``images [B, C, H, W]`` and returns class scores ``[B, classes]``.
    """
    if isinstance(candidate_or_genome, Candidate):
        genome = canonical_genome(candidate_or_genome.network)
        steps = candidate_or_genome.timesteps if timesteps is None else timesteps
    else:
        genome = canonical_genome(candidate_or_genome)
        steps = DEFAULT_TIMESTEPS if timesteps is None else timesteps
    if int(steps) < 1:
        raise InvalidCandidate(f"timesteps must be >= 1 (got {steps})")
    net = _BUILDERS[genome["arch"]](genome, int(steps), neuron)
    snasnet_init(net)
    return net.to(dtype=dtype, memory_format=torch.channels_last)
