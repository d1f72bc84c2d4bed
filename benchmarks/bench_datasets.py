"""Proxy cost on event input vs CIFAR-10 images at the same network size (CPU).

    python benchmarks/bench_datasets.py [--events-root DIR] [--candidates N]

Both rows score the same random SNASNet backward cells (search_spaces/snasnet_backward.yaml's
distribution) at the screening default (C = 128 x channel_scale 0.125 = 16, B = 64, 2 repeats,
T = 5) on 2 (events) or 3 (images) input channels at 32 x 32. Images: the CIFAR-10 training
split ($COSEARCH_DATA). Events: DVS128 Gesture recordings from ``--events-root`` (the folder
holding ``DVSGesture/``), else synthetic recordings in its on-disk format (3,000 random events
over 2 s each, written to a temporary folder). The event row reports the binning (tonic
Downsample + ToFrame, once per recording and T) apart from the proxy pass on binned frames.
One warm-up candidate per row is not timed. Other processes sharing the CPU slow both rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import random_backward_cells  # noqa: E402

from cosearch.core.candidate import Candidate  # noqa: E402
from cosearch.data import EventSet, ImageSet, load_dataset, load_inputs  # noqa: E402
from cosearch.proxy import ProxySettings, proxy_score  # noqa: E402
from cosearch.snn.threads import available_cores  # noqa: E402

SETTINGS = ProxySettings.from_mapping({"batch_size": 64, "repeats": 2, "channel_scale": 0.125})


def synthetic_gesture(root: Path, users: int = 8) -> None:
    """``DVSGesture/ibmGesture{Train,Test}/user<NN>_led/<label>.npy``: rows x, y, p, t [ms]."""
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        for user in range(users):
            folder = root / "DVSGesture" / split / f"user{user:02d}_led"
            folder.mkdir(parents=True)
            for label in range(11):
                rng = np.random.default_rng([user, label])
                n = 3000
                rows = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                                 np.sort(rng.integers(0, 2000, n))], axis=1)
                np.save(folder / f"{label}.npy", rows)


def event_candidates(candidates: list[Candidate]) -> list[Candidate]:
    """The same cells with the event input keys (2 polarities, 32 x 32, 11 classes)."""
    keys = {"in_channels": 2, "image_size": 32, "num_classes": 11, "encoding": "events"}
    return [Candidate(network={**c.network, **keys}, timesteps=c.timesteps, seed=c.seed) for c in candidates]


def seconds_per_candidate(candidates: list[Candidate], inputs: ImageSet | EventSet) -> float:
    proxy_score(candidates[0], inputs, SETTINGS)  # warm-up
    start = time.perf_counter()
    for candidate in candidates[1:]:
        proxy_score(candidate, inputs, SETTINGS)
    return (time.perf_counter() - start) / (len(candidates) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-root", help="folder holding DVSGesture/ (default: synthetic recordings)")
    parser.add_argument("--candidates", type=int, default=10, help="timed candidates per row")
    args = parser.parse_args()
    torch.set_num_threads(available_cores())
    cells = random_backward_cells(args.candidates + 1, seed=1, channels=128, timesteps=5)
    images = load_dataset({})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.events_root) if args.events_root else Path(tmp)
        if not args.events_root:
            synthetic_gesture(root)
        recordings = load_inputs({"dataset": "dvs-gesture", "root": str(root)})
        assert isinstance(recordings, EventSet)
        start = time.perf_counter()
        for index in range(len(recordings)):  # bin every recording at T = 5 once (what a run's first trials pay)
            recordings.recording(index, 5)
        binning = (time.perf_counter() - start) / len(recordings)
        events_s = seconds_per_candidate(event_candidates(cells), recordings)
    images_s = seconds_per_candidate(cells, images)
    source = "synthetic" if not args.events_root else args.events_root
    print("| input | proxy s/candidate | candidates/s |")
    print("|---|---|---|")
    print(f"| CIFAR-10 images, 3x32x32 (stem once) | {images_s:.3f} | {1 / images_s:.2f} |")
    print(f"| DVS128 Gesture events ({source}), 2x32x32 frames (stem every timestep) | {events_s:.3f} | {1 / events_s:.2f} |")
    print(f"\nbinning (tonic Downsample + ToFrame, T = 5): {binning * 1e3:.2f} ms per recording "
          f"({len(recordings)} recordings), cached after the first use")


if __name__ == "__main__":
    main()
