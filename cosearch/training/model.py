"""The network a training starts from: a candidate's SNN at a training width, seeded weights.

One departure from SNASNet, below its published widths only: ``classifier_init="width"`` (the
default) redraws the classifier's first layer with a standard deviation that grows as 1/C below
C = 128 (:meth:`cosearch.snn.SpikingNetwork.init_for_training`); without it a narrow SNASNet's
classifier never spikes and its loss stays at ln 10 (measurements: docs/training.md). At
C >= 128 both settings are SNASNet's initialisation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cosearch.core.candidate import Candidate


def make_model(candidate: Candidate, channel_scale: float = 1.0,
               classifier_init: str = "width") -> tuple[nn.Module, dict[str, Any]]:
    """The candidate's SNN at ``channel_scale`` (weights seeded by the candidate's seed) and its genome.

    ``classifier_init="width"`` applies the network's :meth:`~cosearch.snn.SpikingNetwork.init_for_training`.
    """
    from cosearch.snn import build
    from cosearch.workload import scale_channels

    genome = scale_channels(candidate.network, channel_scale)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate.seed)
        net = build(genome, candidate.timesteps)
        if classifier_init == "width":
            net.init_for_training()
    return net, genome


__all__ = ["make_model"]
