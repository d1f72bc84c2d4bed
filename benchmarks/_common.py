"""Shared helpers of the proxy benchmarks: random SNASNet backward cells, timing, memory."""

from __future__ import annotations

import resource
import sys

import numpy as np

from cosearch.core.candidate import Candidate
from cosearch.workload import canonical_genome


def random_backward_cells(count: int, seed: int, channels: int = 128, timesteps: int = 5) -> list[Candidate]:
    """Candidates from search_spaces/snasnet_backward.yaml's distribution (pair (0,3) forward, non-zero)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        ops = [int(v) for v in rng.integers(0, 5, 6)]
        ops[2] = int(rng.integers(1, 5))
        dirs = ["backward" if b else "forward" for b in rng.integers(0, 2, 6)]
        dirs[2] = "forward"
        genome = canonical_genome({"arch": "snasnet", "nodes": 4, "channels": channels, "edge_op": ops, "edge_dir": dirs})
        out.append(Candidate(network=genome, timesteps=timesteps, seed=1000 + i))
    return out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far [MiB]."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024
