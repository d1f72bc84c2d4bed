"""Fidelity study: how well cheap screening settings of the proxy rank candidates like a costly
reference setting (Kendall tau over random SNASNet backward cells, CIFAR-10 training images).

    python benchmarks/fidelity_study.py [--cells 50] [--out fidelity.json]

Reference: channel_scale 0.5 of the 128-channel genome (C = 64), B = 256, T = 5, 2 repeats,
float32 (the full C = 256 costs minutes per candidate on a 2-core CPU; see docs/proxy.md).
Screening grid: channel_scale {1/8, 1/4} x batch_size {32, 64, 128} (float32), plus one bfloat16 row. Reports per
setting: seconds per candidate (after warm-up; other processes share the CPU, so pessimistic)
and Kendall tau against the reference. -inf scores rank lowest. With trained accuracy as the
target instead (SpikeNAS-Bench): benchmarks/spikenas_fidelity.py.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from scipy.stats import kendalltau

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import random_backward_cells

from cosearch.data import load_dataset
from cosearch.proxy import ProxySettings, proxy_score
from cosearch.snn.threads import available_cores

REFERENCE = ProxySettings(batch_size=256, repeats=2, channel_scale=0.5, dtype="float32")
SCREENING = [
    ProxySettings(batch_size=b, repeats=2, channel_scale=s, dtype="float32")
    for s in (0.125, 0.25) for b in (32, 64, 128)
] + [ProxySettings(batch_size=64, repeats=2, channel_scale=0.25, dtype="bfloat16")]


def _rankable(score: float) -> float:
    return -1e300 if score == -math.inf else score


def run(settings: ProxySettings, candidates, images) -> tuple[list[float], float]:
    """Scores and mean seconds per candidate (one warm-up candidate excluded)."""
    proxy_score(candidates[0], images, settings)
    start = time.perf_counter()
    scores = [proxy_score(c, images, settings).score for c in candidates]
    return scores, (time.perf_counter() - start) / len(candidates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(available_cores())
    images = load_dataset({})
    candidates = random_backward_cells(args.cells, args.seed)
    reference, ref_seconds = run(REFERENCE, candidates, images)
    print(f"reference {REFERENCE}: {ref_seconds:.2f} s/candidate", flush=True)
    rows = [{"settings": REFERENCE.__dict__, "seconds": ref_seconds, "tau": 1.0, "scores": reference}]
    for settings in SCREENING:
        scores, seconds = run(settings, candidates, images)
        tau = kendalltau([_rankable(s) for s in scores], [_rankable(s) for s in reference]).statistic
        rows.append({"settings": settings.__dict__, "seconds": seconds, "tau": float(tau), "scores": scores})
        print(f"C x{settings.channel_scale:<6} B {settings.batch_size:<4} {settings.dtype:<9} "
              f"{seconds:6.2f} s/cand  {1 / seconds:5.2f} cand/s  tau {tau:.3f}", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"cells": args.cells, "cores": available_cores(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
