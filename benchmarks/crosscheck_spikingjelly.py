"""Cross-check: cosearch's SpikeSim preset vs SpikingJelly's SpikeSim energy estimator on one VGG-style SNN.

SpikingJelly 2.x (``spikingjelly.activation_based.op_counter``) re-implements SpikeSim's released
dense energy path (SpikeSimEnergyConfig defaults = SpikeSim's 65 nm constants). Both models price
the same VGG16-family SNN (13 conv3x3 + LIF, max-pool after conv 2/4/7/10, CIFAR-size input, T
timesteps); SpikingJelly counts Conv2d stages only, so the classifier is left out of the
comparison. Prints the per-layer and total energy ratio cosearch / SpikingJelly.

Skips (exit 0) when spikingjelly is not installed; it is not a dependency of cosearch.
Run: ``python benchmarks/crosscheck_spikingjelly.py [T]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cosearch.core.candidate import Candidate
from cosearch.hw import load_hardware, map_candidates, price
from cosearch.workload import canonical_genome
from cosearch.workload.vgg16 import VGG16_POOL_AFTER

REPO = Path(__file__).resolve().parents[1]
SPIKESIM_CARDS = ["hw_models/*.yaml", "hw_models/devices/*.yaml", "hw_models/presets/spikesim_65nm.yaml"]


def spikingjelly_energy(channels: tuple[int, ...], timesteps: int) -> dict[str, float] | None:
    """Per-conv energy [pJ] from SpikingJelly's SpikeSim estimator (dense mode), or None if missing."""
    try:
        import torch
        from spikingjelly.activation_based import functional, neuron
        from spikingjelly.activation_based.op_counter.spikesim import (
            SpikeSimEnergyConfig,
            SpikeSimEnergyProfiler,
        )
    except ImportError:
        return None
    layers: list[torch.nn.Module] = []
    cin = 3
    for index, cout in enumerate(channels, start=1):
        layers += [torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False), neuron.LIFNode(tau=4 / 3)]
        if index in VGG16_POOL_AFTER:
            layers.append(torch.nn.MaxPool2d(2))
        cin = cout
    net = torch.nn.Sequential(*layers).eval()
    names = {f"{i}": f"conv{n + 1}" for n, i in enumerate(i for i, m in enumerate(layers) if isinstance(m, torch.nn.Conv2d))}
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad(), SpikeSimEnergyProfiler(config=SpikeSimEnergyConfig(xbar_size=64, device="rram"),
                                                 strict=False) as profiler:
        for _ in range(timesteps):
            net(x)
        functional.reset_net(net)
    report = profiler.get_report()
    return {names.get(stage.split(".")[-1], stage): energy for stage, energy in report.energy_by_stage.items()}


def main() -> None:
    timesteps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    genome = canonical_genome({"arch": "vgg16"})
    reference = spikingjelly_energy(genome["channels"], timesteps)
    if reference is None:
        print("spikingjelly not installed: skipping the cross-check (pip install spikingjelly --no-deps)")
        return
    model = load_hardware(REPO, cards=SPIKESIM_CARDS)
    layers = map_candidates([Candidate(network=genome, timesteps=timesteps)], model)
    cost = price(layers, model)
    ours = dict(zip(layers.names[0], cost.layer_energy_pj[0].tolist()))
    print(f"VGG16-family SNN, T={timesteps}, 64x64 RRAM, SpikeSim 65 nm constants")
    print(f"{'layer':>7} {'cosearch pJ':>14} {'SpikingJelly pJ':>16} {'ratio':>7}")
    for name, theirs in reference.items():
        print(f"{name:>7} {ours[name]:>14.4e} {theirs:>16.4e} {ours[name] / theirs:>7.4f}")
    convs = [n for n in reference]
    total_ours = sum(ours[n] for n in convs)
    total_theirs = sum(reference.values())
    spiking = [n for n in convs if n != "conv1"]
    print(f"{'total':>7} {total_ours:>14.4e} {total_theirs:>16.4e} {total_ours / total_theirs:>7.4f}")
    print(f"spike-input convs (conv2-13): ratio "
          f"{sum(ours[n] for n in spiking) / sum(reference[n] for n in spiking):.4f}")


if __name__ == "__main__":
    main()
