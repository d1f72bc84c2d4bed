"""SynFlow of a spiking network: hand-checkable cases of the linearised network's synaptic flow."""

from __future__ import annotations

import math

import torch

from cosearch.proxy.synflow import linearise, synflow
from cosearch.snn import build
from cosearch.snn.neuron import LIF
from cosearch.workload import canonical_genome

SHAPE = (3, 32, 32)


def cell(edge_op: list[int], channels: int = 4) -> dict:
    return canonical_genome({"arch": "snasnet", "nodes": 4, "channels": channels, "edge_op": edge_op})


def test_linearise_replaces_every_lif():
    net = build(cell([3, 0, 3, 0, 0, 3]), 2)
    lifs = sum(isinstance(m, LIF) for m in net.modules())
    assert lifs > 0 and linearise(net) == lifs
    assert not any(isinstance(m, LIF) for m in net.modules())


def test_deterministic_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = synflow(cell([3, 0, 3, 0, 0, 3]), 2, seed=7, sample_shape=SHAPE)
    assert torch.equal(torch.rand(3), expected)
    assert first == synflow(cell([3, 0, 3, 0, 0, 3]), 2, seed=7, sample_shape=SHAPE) and math.isfinite(first)


def test_more_paths_and_wider_layers_carry_more_flow():
    direct = synflow(cell([0, 0, 3, 0, 0, 0]), 2, seed=0, sample_shape=SHAPE)       # one conv 0->3
    parallel = synflow(cell([3, 0, 3, 0, 3, 0]), 2, seed=0, sample_shape=SHAPE)     # + a conv path 0->1->3
    assert parallel > direct
    wide = synflow(cell([0, 0, 3, 0, 0, 0], channels=8), 2, seed=0, sample_shape=SHAPE)
    assert wide > direct
    # forward connections only: the output averages the same value over timesteps, so T does not matter
    assert synflow(cell([0, 0, 3, 0, 0, 0]), 4, seed=0, sample_shape=SHAPE) == direct
