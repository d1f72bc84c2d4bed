"""Proxy throughput and peak memory at full and screening fidelities (CPU).

    python benchmarks/bench_proxy.py [--quick]
    python benchmarks/bench_proxy.py --xpert [--candidates 5] [--rounds 3] [--threads 1,2]

Each setting runs in its own process (so peak resident memory is per setting) on random
SNASNet backward cells (search_spaces/snasnet_backward.yaml's distribution; the full-fidelity
rows use the published CIFAR-10 cell). Candidates/s excludes one warm-up candidate (oneDNN
builds its kernels on first use: ~3 s per process; the warm-up uses a batch of 8). Other processes sharing the CPU make the
numbers pessimistic.

``--xpert``: the README's main search instead: experiments/cifar10_xpert.yaml's proxy (noise-aware,
B = 64, 2 repeats, 1/8 width) on its VGG16 baseline and random draws of its space, each scored
``--rounds`` times per torch thread count (one process per count). Prints the median seconds per
candidate at each count and whether every metric came out bit for bit the same at all counts
(issue 34: scores must not depend on the thread count).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PUBLISHED = "0303 0030 2002 0200"

#: (label, genome channels, settings, candidates timed)
SETTINGS = [
    ("full (anchors: C=256, B=256, T=5, 2 repeats) fp32", 256, {"batch_size": 256, "channel_scale": 1.0}, 1),
    ("full, bfloat16", 256, {"batch_size": 256, "channel_scale": 1.0, "dtype": "bfloat16"}, 1),
    ("full, bfloat16, time_chunk=1", 256,
     {"batch_size": 256, "channel_scale": 1.0, "dtype": "bfloat16", "time_chunk": 1}, 1),
    ("reference code width (C=128, B=256) fp32", 128, {"batch_size": 256, "channel_scale": 1.0}, 1),
    ("fidelity-study reference (C=64, B=256) fp32", 128, {"batch_size": 256, "channel_scale": 0.5}, 2),
    ("screening default (C=16, B=64) fp32", 128, {}, 20),
    ("screening C=16, B=32 fp32", 128, {"batch_size": 32}, 20),
    ("screening C=32, B=64 fp32", 128, {"channel_scale": 0.25}, 10),
    ("screening C=32, B=64 bfloat16", 128, {"channel_scale": 0.25, "dtype": "bfloat16"}, 10),
]


def child(channels: int, settings: dict, count: int, published: bool) -> dict:
    """Run in the child process: time `count` candidates, report rate and peak memory."""
    import torch

    sys.path.insert(0, str(HERE))
    from _common import peak_rss_mb, random_backward_cells

    from cosearch.core.candidate import Candidate
    from cosearch.data import load_dataset
    from cosearch.proxy import ProxySettings, proxy_score
    from cosearch.snn.threads import available_cores
    from cosearch.workload import canonical_genome

    torch.set_num_threads(available_cores())
    images = load_dataset({})
    proxy = ProxySettings.from_mapping(settings)
    if published:
        genome = canonical_genome({"arch": "snasnet", "cell": PUBLISHED, "channels": channels})
        candidates = [Candidate(network=genome, timesteps=5, seed=i) for i in range(count + 1)]
    else:
        candidates = random_backward_cells(count + 1, seed=1, channels=channels)
    baseline = peak_rss_mb()
    proxy_score(candidates[0], images, ProxySettings.from_mapping({**settings, "batch_size": 8, "repeats": 1}))
    start = time.perf_counter()
    for candidate in candidates[1:]:
        proxy_score(candidate, images, proxy)
    seconds = (time.perf_counter() - start) / count
    return {"seconds": seconds, "candidates_per_s": 1 / seconds, "peak_rss_mb": peak_rss_mb(),
            "data_and_torch_rss_mb": baseline}


def xpert_child(threads: int, count: int, rounds: int) -> dict:
    """Run in the child process: score the XPert candidates ``rounds`` times at ``threads`` threads."""
    import numpy as np
    import torch

    from cosearch.config import load_experiment
    from cosearch.core.seeds import evaluation_seed
    from cosearch.data import load_inputs, locate_data
    from cosearch.hw import load_hardware_section
    from cosearch.proxy import ProxySettings, proxy_score
    from cosearch.space import RandomDraw

    torch.set_num_threads(threads)
    experiment = load_experiment(REPO / "experiments" / "cifar10_xpert.yaml")
    space = experiment.phases[0].space
    seed = evaluation_seed(experiment.config.seed, True)
    section = dict(experiment.config.proxy or {})
    settings = ProxySettings.from_mapping(section)
    images = load_inputs(locate_data(experiment.config.data.model_dump(), experiment.project_dir), split="train")
    hardware = load_hardware_section(experiment.project_dir, dict(experiment.config.hardware or {}))
    draws = [RandomDraw(np.random.default_rng(0), experiment.phases[0].baselines[0][1])]
    draws += [RandomDraw(np.random.default_rng(k)) for k in range(1, count)]
    candidates = [space.candidate(space.sample_values(draw), draw.params, seed=seed) for draw in draws]
    warm_up = ProxySettings.from_mapping({**section, "batch_size": 8, "repeats": 1})
    proxy_score(candidates[0], images, warm_up, hardware)  # oneDNN builds its kernels on first use
    seconds: list[list[float]] = [[] for _ in candidates]
    cpu: list[list[float]] = [[] for _ in candidates]
    metrics = []
    for _ in range(rounds):
        for index, candidate in enumerate(candidates):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = proxy_score(candidate, images, settings, hardware).metrics()
            seconds[index].append(time.perf_counter() - start)
            cpu[index].append(time.process_time() - start_cpu)
            if len(metrics) < len(candidates):
                metrics.append({key: repr(value) for key, value in result.items()})
    return {"seconds": seconds, "cpu_seconds": cpu, "metrics": metrics, "timesteps": [c.timesteps for c in candidates]}


def xpert(threads: list[int], count: int, rounds: int) -> None:
    """Parent of ``--xpert``: one child per thread count; medians and the bit-for-bit check."""
    import statistics

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU") if Path("/proc/cpuinfo").exists() else "unknown CPU"
    print(f"cifar10_xpert proxy, {count} candidates x {rounds} rounds, {cpu}, load {os.getloadavg()[0]:.2f}")
    results = {}
    for count_threads in threads:
        spec = json.dumps([count_threads, count, rounds])
        done = subprocess.run([sys.executable, __file__, "--xpert-child", spec], capture_output=True, text=True,
                              env=os.environ.copy(), check=True)
        results[count_threads] = json.loads(done.stdout.strip().splitlines()[-1])
    first = results[threads[0]]
    print("wall seconds per candidate, median (min) over rounds; CPU seconds of all threads, median")
    print("candidate  T  " + "  ".join(f"{f'{t} thr wall':>15} {f'{t} thr CPU':>10}" for t in threads))
    for index, steps in enumerate(first["timesteps"]):
        cells = [f"{statistics.median(results[t]['seconds'][index]):8.2f} ({min(results[t]['seconds'][index]):4.2f}) "
                 f"{statistics.median(results[t]['cpu_seconds'][index]):10.2f}" for t in threads]
        print(f"{index:9d} {steps:2d}  " + "  ".join(cells))
    for t in threads:
        per_candidate = [statistics.median(times) for times in results[t]["seconds"]]
        print(f"{t} threads: median {statistics.median(per_candidate):.2f} s/candidate, "
              f"mean {statistics.mean(per_candidate):.2f} s/candidate")
    same = all(results[t]["metrics"] == first["metrics"] for t in threads)
    print(f"metrics bit for bit the same at {', '.join(map(str, threads))} threads: {same}")
    if not same:
        for t in threads[1:]:
            for index, (a, b) in enumerate(zip(first["metrics"], results[t]["metrics"])):
                differing = sorted(key for key in a if a[key] != b.get(key))
                if differing:
                    print(f"  candidate {index}, {threads[0]} vs {t} threads: {', '.join(differing)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="screening settings only")
    parser.add_argument("--xpert", action="store_true", help="the XPert search's proxy at several thread counts")
    parser.add_argument("--candidates", type=int, default=5, help="--xpert: the baseline + random draws (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="--xpert: times each candidate is scored (default 3)")
    parser.add_argument("--threads", default="1,2", help="--xpert: torch thread counts (default 1,2)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--xpert-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        channels, settings, count, published = json.loads(args.child)
        print(json.dumps(child(channels, settings, count, published)))
        return
    if args.xpert_child:
        print(json.dumps(xpert_child(*json.loads(args.xpert_child))))
        return
    if args.xpert:
        xpert([int(t) for t in args.threads.split(",")], args.candidates, args.rounds)
        return
    rows = [s for s in SETTINGS if not (args.quick and s[0].startswith("full"))]
    for label, channels, settings, count in rows:
        spec = json.dumps([channels, settings, count, label.startswith("full")])
        done = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True,
                              env=os.environ.copy(), check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{label:48s} {result['seconds']:8.2f} s/cand {result['candidates_per_s']:7.2f} cand/s "
              f"peak {result['peak_rss_mb']:7.0f} MiB (data+torch {result['data_and_torch_rss_mb']:.0f})", flush=True)


if __name__ == "__main__":
    main()
