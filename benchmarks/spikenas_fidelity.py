"""Fidelity for trained accuracy: which proxy setting ranks SpikeNAS-Bench topologies best per second?

    python benchmarks/spikenas_fidelity.py [--table PATH] [--topologies 120] [--settings NAME ...]
                                           [--out docs/validation/spikenas_fidelity.json]

Target: the mean CIFAR-10 test accuracy per topology of SpikeNAS-Bench (100-epoch cells with the
0 -> 3 edge; :mod:`cosearch.tables.spikenas`), default table: the shared development half.
Each setting scores the same seeded subsample of ``--topologies`` topologies (0 = all) with the
same per-topology candidates (:func:`cosearch.tables.spikenas.topology_candidate`, seed
``--seed``) and reports Kendall tau (95 % bootstrap CI), Spearman rho, tau on two seeded random
halves of the subsample (a setting that wins on one half only is tuned to noise), wall and CPU
seconds per candidate and candidates/s on 2 cores estimated as ``2 / CPU seconds`` (two
single-thread workers; CPU seconds do not grow with other processes' load, wall seconds do).
The conv-edge count baseline is reported on the same topologies. The load average is recorded
before and after each setting. Results are appended to ``--out`` after every setting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cosearch.core.ranking import correlate, kendall_tau
from cosearch.data import load_dataset
from cosearch.proxy import ProxySettings
from cosearch.tables import spikenas
from cosearch.workflows.validate import score_topologies

SHARED_TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "spikenas_bench" / "cifar10_dev_half.csv"

#: name -> (settings, inits): the shipped default, then one knob moved at a time, then combinations.
#: ``inits`` > 1 averages the scores of that many independently initialised networks per topology
#: (candidate seeds from ``--seed``, ``--seed + 1``, ...): not a proxy setting, a measure of how much
#: of the ranking error is initialisation noise.
SETTINGS: dict[str, tuple[ProxySettings, int]] = {
    "default": (ProxySettings(), 1),
    "hamming_code": (ProxySettings(kernel="hamming_code"), 1),
    "naswot": (ProxySettings(kernel="naswot"), 1),
    "B32": (ProxySettings(batch_size=32), 1),
    "B128": (ProxySettings(batch_size=128), 1),
    "R1": (ProxySettings(repeats=1), 1),
    "R4": (ProxySettings(repeats=4), 1),
    "C/16": (ProxySettings(channel_scale=0.0625), 1),
    "C/4": (ProxySettings(channel_scale=0.25), 1),
    "B32_R4": (ProxySettings(batch_size=32, repeats=4), 1),
    "C/16_R4": (ProxySettings(channel_scale=0.0625, repeats=4), 1),
    "C/4_B32": (ProxySettings(channel_scale=0.25, batch_size=32), 1),
    "C/2_B32": (ProxySettings(channel_scale=0.5, batch_size=32), 1),
    "default_x2_inits": (ProxySettings(), 2),
    "R1_x2_inits": (ProxySettings(repeats=1), 2),
}


def halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of ``range(count)`` (seeded)."""
    order = np.random.default_rng([seed, 1]).permutation(count)
    return np.sort(order[: count // 2]), np.sort(order[count // 2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=SHARED_TABLE)
    parser.add_argument("--topologies", type=int, default=120, help="seeded subsample (0 = all usable topologies)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = spikenas.sample_topologies(spikenas.topology_table(spikenas.usable_cells(
        spikenas.read_benchmark(args.table))), args.topologies, args.seed)
    accuracy = table["test_acc"].to_numpy(float)
    conv_edges = table["conv_edges"].to_numpy(float)
    half_a, half_b = halves(len(table), args.seed)
    candidates = [[spikenas.topology_candidate(t, args.seed + i) for t in table["topology"]] for i in range(4)]
    images = load_dataset({})
    baseline = correlate(conv_edges, accuracy, args.resamples, seed=args.seed)
    report = {"table": str(args.table), "topologies": len(table), "seed": args.seed, "threads": args.threads,
              "cpu": os.cpu_count(), "baseline_conv_edges": {
                  "kendall_tau": baseline.kendall_tau, "kendall_ci": baseline.kendall_ci,
                  "tau_half_a": kendall_tau(conv_edges[half_a], accuracy[half_a]),
                  "tau_half_b": kendall_tau(conv_edges[half_b], accuracy[half_b])}, "rows": []}
    print(f"{len(table)} topologies; conv-edge baseline tau {baseline.kendall_tau:.3f}", flush=True)
    for name in args.settings:
        settings, inits = SETTINGS[name]
        load_before = os.getloadavg()
        began = time.perf_counter()
        runs = [score_topologies(candidates[i], images, settings, progress=False) for i in range(inits)]
        scores = np.mean([[r["proxy_score"] for r in rows] for rows in runs], axis=0)
        wall = inits * float(np.mean([r["proxy_time_s"] for rows in runs for r in rows]))
        cpu = inits * float(np.mean([r["proxy_cpu_s"] for rows in runs for r in rows]))
        stats = correlate(scores, accuracy, args.resamples, seed=args.seed)
        row = {"name": name, "settings": settings.__dict__, "inits": inits, "kendall_tau": stats.kendall_tau,
               "kendall_ci": stats.kendall_ci, "spearman_rho": stats.spearman_rho, "spearman_ci": stats.spearman_ci,
               "tau_half_a": kendall_tau(scores[half_a], accuracy[half_a]),
               "tau_half_b": kendall_tau(scores[half_b], accuracy[half_b]),
               "wall_s_per_candidate": wall, "cpu_s_per_candidate": cpu, "candidates_per_s_2_cores": 2.0 / cpu,
               "non_finite": int((~np.isfinite(scores)).sum()), "elapsed_s": time.perf_counter() - began,
               "load_before": load_before, "load_after": os.getloadavg(), "scores": scores.tolist()}
        report["rows"].append(row)
        print(f"{name:<12} tau {stats.kendall_tau:.3f} [{stats.kendall_ci[0]:.2f}, {stats.kendall_ci[1]:.2f}] "
              f"halves {row['tau_half_a']:.3f}/{row['tau_half_b']:.3f}  rho {stats.spearman_rho:.3f}  "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU/cand -> {2 / cpu:.1f} cand/s on 2 cores  "
              f"load {load_before[0]:.1f}->{row['load_after'][0]:.1f}", flush=True)
        if args.out:
            args.out.write_text(json.dumps(report, indent=1))
    if not args.out:
        json.dump({k: v for k, v in report.items() if k != "rows"}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
