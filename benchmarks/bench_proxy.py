"""Proxy throughput and peak memory at full and screening fidelities (CPU).

    python benchmarks/bench_proxy.py [--quick]

Each setting runs in its own process (so peak resident memory is per setting) on random
SNASNet backward cells (search_spaces/snasnet_backward.yaml's distribution; the full-fidelity
rows use the published CIFAR-10 cell). Candidates/s excludes one warm-up candidate (oneDNN
builds its kernels on first use: ~3 s per process; the warm-up uses a batch of 8). Other processes sharing the CPU make the
numbers pessimistic.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="screening settings only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        channels, settings, count, published = json.loads(args.child)
        print(json.dumps(child(channels, settings, count, published)))
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
