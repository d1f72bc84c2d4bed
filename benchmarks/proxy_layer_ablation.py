"""Where does the clean proxy's ranking of SpikeNAS-Bench cells come from? Layers left out of K.

    OMP_NUM_THREADS=1 COSEARCH_DATA=../shared/data python benchmarks/proxy_layer_ablation.py \\
        [--topologies 120] [--seed 0] [--common-seed]

For a seeded subsample of the development half's topologies (as ``benchmarks/spikenas_fidelity.py``
draws it) each cell is built and run exactly as :func:`cosearch.proxy.proxy_score` does at the
default settings (hamming kernel, B = 64, 2 repeats, C x 1/8, train-mode batch norm, seed per
topology or, with ``--common-seed``, one for all), once as :func:`cosearch.snn.build` initialises
it and once after ``init_for_training`` (the initialisation training starts from, under which the
classifier's LIF fires at narrow widths). Every LIF call's spikes go into several kernels at once:

* ``all``: every LIF call, K averaged over calls (the shipped proxy; equals ``proxy_score``);
* ``no_classifier``: without ``classifier.lif``;
* ``no_classifier_head``: without ``classifier.lif`` and ``head.lif``;
* ``sum``: every call, K summed over calls instead of averaged (log-det + B log(calls)).

Prints Kendall tau (95 % bootstrap CI) against mean trained accuracy, tau on two seeded halves,
the firing rate of the classifier's LIF, and checks that ``all`` reproduces ``proxy_score``.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spikenas_fidelity import SHARED_TABLE, halves

from cosearch.core.ranking import correlate, kendall_tau
from cosearch.data import load_dataset
from cosearch.proxy import ProxySettings, proxy_score
from cosearch.proxy.kernel import KernelAccumulator, logdet, rows
from cosearch.snn import build
from cosearch.tables import spikenas
from cosearch.workload import scale_channels

#: kernel -> LIF layer names left out of it; ``sum`` (:data:`VARIANTS`) reuses the ``all`` kernel
LEFT_OUT = {"all": (), "no_classifier": ("classifier.lif",), "no_classifier_head": ("classifier.lif", "head.lif")}
VARIANTS = (*LEFT_OUT, "sum")


def kernel_scores(candidate, images, settings: ProxySettings, training_init: bool) -> tuple[dict[str, float], float]:
    """Mean log-det over the repeats for each variant, and the classifier LIF's firing rate."""
    genome = scale_channels(candidate.network, settings.channel_scale)
    scores: dict[str, list[float]] = {name: [] for name in VARIANTS}
    fired, steps = 0.0, 0.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate.seed)
        net = build(genome, candidate.timesteps)
        if training_init:
            net.init_for_training()
        net.train()
        kernels: dict[str, KernelAccumulator] = {}  # this repeat's, one per variant

        def hook(module, args, out, layer: str, copies: int) -> None:
            nonlocal fired, steps
            if layer == "classifier.lif":
                fired, steps = fired + float(out.sum()), steps + float(out.numel())
            for name, kernel in kernels.items():
                if layer not in LEFT_OUT[name]:
                    for t in range(out.shape[0]):
                        kernel.add(rows(out[t]), copies)

        handles = [module.register_forward_hook(functools.partial(hook, layer=layer, copies=copies))
                   for layer, (module, copies) in net.spiking_layers().items()]
        with torch.inference_mode():
            for repeat in range(settings.repeats):
                kernels.update({name: KernelAccumulator(settings.kernel, settings.batch_size) for name in LEFT_OUT})
                net(torch.from_numpy(images.batch(settings.batch_size, candidate.seed, repeat)).float())
                for name, kernel in kernels.items():
                    scores[name].append(logdet(kernel.matrix()))
                scores["sum"].append(logdet(kernels["all"].matrix() * kernels["all"].calls))
        for handle in handles:
            handle.remove()
    mean = {name: -math.inf if -math.inf in v else float(np.mean(v)) for name, v in scores.items()}
    return mean, fired / steps if steps else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=SHARED_TABLE)
    parser.add_argument("--topologies", type=int, default=120, help="seeded subsample (0 = all usable topologies)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--common-seed", action="store_true", help="one evaluation seed for every topology")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    table = spikenas.sample_topologies(spikenas.topology_table(spikenas.usable_cells(
        spikenas.read_benchmark(args.table))), args.topologies, args.seed)
    accuracy = table["test_acc"].to_numpy(float)
    half_a, half_b = halves(len(table), args.seed)
    candidates = [spikenas.topology_candidate(t, args.seed, args.common_seed) for t in table["topology"]]
    images, settings = load_dataset({}), ProxySettings()
    first = proxy_score(candidates[0], images, settings).score
    print(f"{len(table)} topologies, seed {args.seed}{' (common)' if args.common_seed else ''}; "
          f"pruned conv-edge baseline tau {kendall_tau(table['conv_edges_pruned'], accuracy):.3f}", flush=True)
    for training_init in (False, True):
        results = [kernel_scores(c, images, settings, training_init) for c in candidates]
        if not training_init:
            assert results[0][0]["all"] == first, (results[0][0]["all"], first)  # the shipped score, reproduced
        rate = float(np.mean([r[1] for r in results]))
        init = "init_for_training" if training_init else "build (the proxy's)"
        print(f"\ninitialisation: {init}; classifier LIF firing rate {rate:.4f}")
        print(f"{'variant':<20} {'tau':>6} {'95 % CI':>15} {'half A':>7} {'half B':>7}")
        for name in VARIANTS:
            scores = np.array([r[0][name] for r in results])
            stats = correlate(scores, accuracy, args.resamples, seed=args.seed)
            print(f"{name:<20} {stats.kendall_tau:>6.3f} [{stats.kendall_ci[0]:>5.2f}, {stats.kendall_ci[1]:>5.2f}] "
                  f"{kendall_tau(scores[half_a], accuracy[half_a]):>7.3f} "
                  f"{kendall_tau(scores[half_b], accuracy[half_b]):>7.3f}", flush=True)


if __name__ == "__main__":
    main()
