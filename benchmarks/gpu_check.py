"""GPU figures for docs/training.md and docs/proxy.md: run only on a machine with a CUDA GPU.

Measures, on ``cuda``:

1. the proxy at SNASNet's full fidelity (C = 256, B = 256, T = 5, 2 repeats; random backward
   cells of search_spaces/snasnet_backward.yaml) in seconds per candidate, after one warm-up
   candidate, with the peak GPU memory;
2. one full-width SNASNet training epoch (the published CIFAR-10 backward cell at C = 256,
   SNASNet's recipe, batch 64, T = 5) on the training images of ``--data-root``, its wall time
   and the test accuracy after it.

Writes ``$OUT/gpu_check.json`` (or ``--out``) with the GPU's name, torch and CUDA versions and the
numbers; prints it. Refuses to run (exit 2) where torch sees no CUDA GPU, so no GPU figure can
come from a CPU. The CIFAR-10 subset must be on the machine: pass ``--data-root`` (a folder
holding ``cifar-10-batches-py``), e.g. a copy of /work/shared/data/cifar-10-batches-py in the
ignored ``data/`` folder, carried to the device machine (``carry: ["data"]``, about 20 MB)::

    python benchmarks/gpu_check.py --data-root ./data --candidates 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import random_backward_cells

from cosearch.core.candidate import Candidate
from cosearch.data import load_dataset
from cosearch.proxy.score import ProxySettings, proxy_score
from cosearch.training import TrainSettings, train_candidate
from cosearch.workload import canonical_genome

PUBLISHED_CELL = "0303 0030 2002 0200"  # SNASNet's CIFAR-10 backward cell


def proxy_seconds(images: Any, candidates: int) -> dict[str, Any]:
    """Seconds per candidate of the full-fidelity proxy on the GPU (first candidate = warm-up)."""
    settings = ProxySettings(batch_size=256, repeats=2, channel_scale=1.0, device="cuda")
    cells = random_backward_cells(candidates + 1, seed=11, channels=256, timesteps=5)
    proxy_score(cells[0], images, settings)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times, scores = [], []
    for candidate in cells[1:]:
        began = time.perf_counter()
        scores.append(proxy_score(candidate, images, settings).score)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - began)
    return {"settings": {"channels": 256, "batch_size": 256, "timesteps": 5, "repeats": 2},
            "candidates": candidates, "s_per_candidate_mean": sum(times) / len(times),
            "s_per_candidate_min": min(times), "s_per_candidate_max": max(times),
            "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30, "scores": scores}


def training_epoch(data: dict[str, str], out: Path) -> dict[str, Any]:
    """One SNASNet recipe epoch of the published cell at C = 256 on the GPU."""
    genome = canonical_genome({"arch": "snasnet", "cell": PUBLISHED_CELL, "channels": 256})
    candidate = Candidate(network=genome, timesteps=5, seed=0)
    train_images, test_images = load_dataset(data, split="train"), load_dataset(data, split="test")
    began = time.perf_counter()
    result = train_candidate(candidate, train_images, test_images, TrainSettings(epochs=1, device="cuda"),
                             out / "snasnet_c256_epoch", progress=False)
    return {"channels": 256, "timesteps": 5, "batch_size": 64, "train_images": len(train_images),
            "test_images": len(test_images), "epoch_train_s": result.train_time_s,
            "wall_s_with_test": time.perf_counter() - began, "steps": result.steps,
            "train_loss": result.history[-1]["train_loss"], "test_acc": result.test_acc,
            "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default=os.environ.get("COSEARCH_DATA"), help="folder with cifar-10-batches-py")
    parser.add_argument("--candidates", type=int, default=8, help="timed proxy candidates (after one warm-up)")
    parser.add_argument("--out", default=os.environ.get("OUT", "."), help="output folder (default $OUT)")
    parser.add_argument("--skip-training", action="store_true", help="proxy timing only")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gpu_check: torch sees no CUDA GPU here; nothing measured", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {"root": args.data_root} if args.data_root else {}
    images = load_dataset(data, split="train")
    report: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
        "host": platform.node(), "cpus": os.cpu_count(), "proxy": proxy_seconds(images, args.candidates),
    }
    (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    if not args.skip_training:
        report["training_epoch"] = training_epoch(data, out)
        (out / "gpu_check.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
