"""Torch modules match cosearch.workload's layer shapes and slots; gradients flow end to end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cosearch.snn import SpikingNetwork, build
from cosearch.workload import canonical_genome, families, family, network_layers, scale_channels

GENOMES = [
    {"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 4},
    {"arch": "snasnet", "cell": "0104 0003 0001 0000", "channels": 3},
    {"arch": "snasnet", "nodes": 3, "edge_op": [2, 3, 4], "edge_dir": ["forward", "forward", "backward"], "channels": 2},
    {"arch": "vgg16", "channels": [4, 4, 8, 8, 6, 6, 6, 5, 5, 5, 3, 3, 2]},
]


@pytest.mark.parametrize("values", GENOMES, ids=lambda v: v["arch"] + str(v.get("cell", v.get("edge_op", ""))))
def test_layers_match_workload(values: dict) -> None:
    _check_layers_match(canonical_genome(values))


@pytest.mark.parametrize("arch", sorted(families()))
def test_every_family_builds_its_declared_network(arch: str) -> None:
    """A backbone is its workload module plus its torch module: discovery finds it, build() makes
    its SpikingNetwork, and the network's slots and shapes are the ones the workload declares."""
    genome = scale_channels(family(arch).example, 1 / 16)
    assert isinstance(build(genome, timesteps=1), SpikingNetwork)
    _check_layers_match(genome)


def _check_layers_match(genome: dict) -> None:
    net = build(genome, timesteps=2)
    layers = net.weight_layers()
    expected = network_layers(genome)
    assert sorted(layers) == [layer.slot for layer in expected]
    outputs: dict[int, tuple[int, ...]] = {}
    for slot, module in layers.items():
        module.register_forward_hook(lambda m, a, out, slot=slot: outputs.__setitem__(slot, tuple(out.shape)))
    with torch.inference_mode():
        net(torch.randn(2, 3, 32, 32))
    for shape in expected:
        module = layers[shape.slot]
        if shape.kind == "conv":
            assert isinstance(module, nn.Conv2d), shape.name
            assert (module.in_channels, module.out_channels, module.kernel_size) == (shape.cin, shape.cout, (shape.kernel,) * 2)
            assert outputs[shape.slot][-2:] == (shape.h_out, shape.w_out), shape.name
        else:
            assert isinstance(module, nn.Linear), shape.name
            assert (module.in_features, module.out_features) == (shape.cin, shape.cout)


@pytest.mark.parametrize("values", [GENOMES[0], GENOMES[3]], ids=["snasnet", "vgg16"])
def test_gradients_flow_through_surrogate(values: dict) -> None:
    torch.manual_seed(0)
    net = build(values, timesteps=3)
    images = torch.randn(4, 3, 32, 32)
    loss = nn.functional.cross_entropy(net(images), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    first = next(iter(net.weight_layers().values()))
    assert first.weight.grad is not None and float(first.weight.grad.abs().sum()) > 0


def test_output_is_mean_vote_over_time() -> None:
    net = build({"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 2}, timesteps=2)
    with torch.inference_mode():
        out = net(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)
