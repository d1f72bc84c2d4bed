"""``build``: a torch module from a Candidate or a genome, dispatching on ``genome["arch"]``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import torch

from cosearch.core.candidate import Candidate
from cosearch.core.errors import InvalidCandidate
from cosearch.snn.layers import snasnet_init
from cosearch.snn.protocol import SpikingNetwork
from cosearch.workload import canonical_genome, family

#: SNASNet's timesteps (anchors.md section 1), used when a bare genome comes without T.
DEFAULT_TIMESTEPS = 5


def network_class(arch: str) -> type[SpikingNetwork]:
    """The torch module class that the family ``arch`` declares (``Family.network``)."""
    module_name, _, class_name = family(arch).network.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, SpikingNetwork)):
        raise TypeError(f"{family(arch).network!r} is not a SpikingNetwork subclass")
    return cls


def build(
    candidate_or_genome: Candidate | Mapping[str, Any],
    timesteps: int | None = None,
    *,
    neuron: Mapping[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> SpikingNetwork:
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
    net = network_class(genome["arch"])(genome, int(steps), neuron)
    snasnet_init(net)
    return net.to(dtype=dtype, memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from stubs
