"""Width study: trained ground truth for "does the accuracy predictor order VGG16 widths as training does?".

Trains 13 versions of XPert's VGG16 (family ``vgg16``: 13 conv layers, 2x2 pooling after conv 2, 4,
7 and 10; the ``vgg16_baseline`` of experiments/cifar10_xpert.yaml, channels 64..512, T = 5, its
hardware mapping: SAR ADC 5 bits, column sharing 8, input 8 bits) with the project's training code
(:func:`cosearch.training.train_candidate`, SNASNet's recipe: SGD lr 0.1, cosine schedule,
batch 64, ``classifier_init="width"``), and measures the float network's test accuracy on all test
images. Designs:

* ``baseline``;
* ``all_half`` / ``all_double``: every channel count x0.5 / x2 (capped at 1024);
* ``s<k>_half`` / ``s<k>_double``, k = 1..5: only stage k's channels x0.5 / x2 (capped at 1024),
  stages = convs 1-2, 3-4, 5-7, 8-10, 11-13 (the pooling boundaries).

Every design gets the same optimizer steps (same epochs, batch size and training images: steps =
epochs x ceil(train_size / batch)), the same T, training seed 0 (weights, data order,
augmentation), and trains at ``--channel-scale`` (default 0.125: the baseline trains at 8..64
channels; the ``channels`` column is the full width, before the scale). Then baseline, all_half and
all_double train again with seed 1 (``--repeat-seeds``): the seed-to-seed noise floor. Order: the
most informative first (baseline, all_half, all_double, then the per-stage ones, then the repeats).

Defaults sized for a 2-core AMD EPYC (no GPU; the other core busy), one torch thread: the whole
5,085-image training split for 8 epochs (80 steps/epoch, 640 steps), measured 0.31 s/step for the
baseline, 0.78 s/step for all_double, 4.5 s/step summed over the 13 designs: about 48 min for the
13 designs plus 13 min for the three seed-1 repeats.

Output: one row per finished (design, seed) appended to ``--out`` (default
docs/validation/width_study.csv). Resumable: a rerun skips rows already in the CSV and continues an
interrupted training from its checkpoint (``<runs>/<design>_s<seed>/``, checkpoint after every
epoch). Progress goes to stderr.

    COSEARCH_DATA=../shared/data nohup .venv/bin/python benchmarks/width_study.py --threads 1 \\
        > runs/width_study.log 2>&1 &
    python benchmarks/width_study.py --designs baseline s3_double --epochs 2   # a subset
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cosearch.core.candidate import Candidate
from cosearch.data import load_dataset
from cosearch.training import TrainSettings, TrainStep, train_candidate
from cosearch.workload import canonical_genome

ROOT = Path(__file__).resolve().parents[1]
#: XPert's VGG16 baseline (experiments/cifar10_xpert.yaml, ``enqueue``): channels, T, hardware mapping.
BASELINE = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
TIMESTEPS = 5
HARDWARE = {"adc_type": "sar", "adc_bits": 5, "column_sharing": 8, "input_bits": 8}
#: conv index ranges [start, end) of the 5 stages (pooling after conv 2, 4, 7, 10).
STAGES = ((0, 2), (2, 4), (4, 7), (7, 10), (10, 13))
MAX_CHANNELS = 1024
#: designs trained a second time (seed 1) for the noise floor.
REPEATED = ("baseline", "all_half", "all_double")
FIELDS = ("design", "channels", "timesteps", "channel_scale", "channels_trained", "steps", "epochs", "train_size",
          "batch_size", "seed", "accuracy", "test_images", "train_time_s", "final_train_loss", "final_train_acc",
          "parameters", "hardware", "threads", "load_1m", "finished")


def scaled(channels: tuple[int, ...], factor: float, start: int = 0, end: int = len(BASELINE)) -> tuple[int, ...]:
    """``channels`` with convs ``start..end-1`` multiplied by ``factor`` (capped at :data:`MAX_CHANNELS`)."""
    return tuple(min(MAX_CHANNELS, round(c * factor)) if start <= i < end else c for i, c in enumerate(channels))


def designs() -> dict[str, tuple[int, ...]]:
    """The 13 designs, in run order: baseline, all_half, all_double, then s1_half, s1_double ... s5_double."""
    out = {"baseline": BASELINE, "all_half": scaled(BASELINE, 0.5), "all_double": scaled(BASELINE, 2.0)}
    for k, (start, end) in enumerate(STAGES, start=1):
        out[f"s{k}_half"] = scaled(BASELINE, 0.5, start, end)
        out[f"s{k}_double"] = scaled(BASELINE, 2.0, start, end)
    return out


def data_section(root: str | None) -> dict[str, str]:
    """The data section: ``--data-root``, else $COSEARCH_DATA, else ../shared/data beside the repository
    when it holds CIFAR-10, else the project's default lookup."""
    if root:
        return {"root": root}
    if os.environ.get("COSEARCH_DATA"):
        return {}
    shared = ROOT.parent / "shared" / "data"
    return {"root": str(shared)} if (shared / "cifar-10-batches-py").is_dir() else {}


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append ``row`` to the CSV (header written with the first row; columns :data:`FIELDS`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), [])
        if tuple(header) != FIELDS:
            raise SystemExit(f"{path} has other columns ({', '.join(header)}); use another --out")
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(FIELDS))
        if new:
            writer.writeheader()
        writer.writerow(row)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def check_folder(folder: Path, plan: dict[str, Any]) -> None:
    """Record what the folder trains (``width_study.json``); stop when it holds another setting's checkpoint."""
    path = folder / "width_study.json"
    if path.exists():
        stored = json.loads(path.read_text())
        if stored != plan:
            changed = sorted(k for k in {*stored, *plan} if stored.get(k) != plan.get(k))
            raise SystemExit(f"{folder} holds a training with other settings ({', '.join(changed)}); "
                             f"use another --runs folder or delete it")
        return
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan, indent=1) + "\n")


def train_design(name: str, channels: tuple[int, ...], timesteps: int, settings: TrainSettings,
                 images: tuple[Any, Any], folder: Path, label: str, every: int) -> dict[str, Any]:
    """Train one design with one seed (resuming from ``folder``) and return its CSV row."""
    candidate = Candidate(network=canonical_genome({"arch": "vgg16", "channels": list(channels)}),
                          timesteps=timesteps, hardware=dict(HARDWARE), seed=settings.seed)
    train, test = images
    total = settings.epochs * math.ceil(min(settings.train_size or len(train), len(train)) / settings.batch_size)
    losses: list[float] = []
    began = time.perf_counter()

    def progress(step: TrainStep) -> None:
        losses.append(step.loss)
        if step.step % every == 0 or step.step == total:
            rate = step.elapsed_s / step.step
            log(f"{label} step {step.step}/{total} (epoch {step.epoch}/{settings.epochs}) loss {np.mean(losses):.3f} "
                f"lr {step.lr:.4f}, {rate:.2f} s/step, {step.elapsed_s:.0f} s trained, "
                f"~{rate * (total - step.step) / 60:.1f} min left")
            losses.clear()

    result = train_candidate(candidate, train, test, settings, folder, resume=True, progress=False, on_step=progress)
    last = result.history[-1] if result.history else {}
    log(f"{label} done: accuracy {result.test_acc:.4f} on {len(test)} test images, {result.steps} steps, "
        f"{result.train_time_s:.0f} s training ({time.perf_counter() - began:.0f} s in this sitting)")
    return {
        "design": name, "channels": " ".join(str(c) for c in channels), "timesteps": candidate.timesteps,
        "channel_scale": settings.channel_scale, "channels_trained": " ".join(str(c) for c in result.genome["channels"]),
        "steps": result.steps, "epochs": result.epochs, "train_size": result.settings["train_images"],
        "batch_size": settings.batch_size, "seed": settings.seed, "accuracy": round(result.test_acc, 6),
        "test_images": result.settings["test_images"], "train_time_s": round(result.train_time_s, 1),
        "final_train_loss": round(float(last.get("train_loss", float("nan"))), 5),
        "final_train_acc": round(float(last.get("train_acc", float("nan"))), 5), "parameters": result.parameters,
        "hardware": json.dumps(HARDWARE, sort_keys=True), "threads": torch.get_num_threads(),
        "load_1m": round(os.getloadavg()[0], 2), "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or ``unknown CPU``."""
    path = Path("/proc/cpuinfo")
    lines = path.read_text().splitlines() if path.exists() else []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = designs()
    parser.add_argument("--designs", nargs="+", choices=list(every), help="train only these designs (default all 13)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "validation" / "width_study.csv")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "width_study",
                        help="checkpoint folders <runs>/<design>_s<seed>/")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all 5,085)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=TIMESTEPS)
    parser.add_argument("--channel-scale", type=float, default=0.125)
    parser.add_argument("--seed", type=int, default=0, help="training seed of every design")
    parser.add_argument("--repeat-seeds", type=int, nargs="*", default=[1],
                        help=f"further seeds for {', '.join(REPEATED)} (noise floor; default 1; none: no repeats)")
    parser.add_argument("--device", default="cpu", help="cpu, auto, cuda or cuda:N")
    parser.add_argument("--data-root", default=None, help="dataset root (default $COSEARCH_DATA, else ../shared/data)")
    parser.add_argument("--log-every", type=int, default=20, help="progress line every this many steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chosen = args.designs or list(every)
    plan = [(name, args.seed) for name in every if name in chosen]
    plan += [(name, seed) for seed in args.repeat_seeds for name in REPEATED if name in chosen and seed != args.seed]
    done = {(r["design"], int(r["seed"])) for r in read_rows(args.out)}
    todo = [(name, seed) for name, seed in plan if (name, seed) not in done]
    data = data_section(args.data_root)
    images = (load_dataset(data, split="train"), load_dataset(data, split="test"))
    log(f"width study: {len(plan)} trainings planned, {len(plan) - len(todo)} already in {args.out}; "
        f"{len(images[0])} train / {len(images[1])} test images; {cpu_model()}, {os.cpu_count()} cores, "
        f"{args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    for number, (name, seed) in enumerate(todo, start=1):
        settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, channel_scale=args.channel_scale,
                                 train_size=args.train_size, test_size=None, device=args.device, seed=seed)
        folder = args.runs / f"{name}_s{seed}"
        check_folder(folder, {"design": name, "channels": list(every[name]), "timesteps": args.timesteps,
                              "seed": seed, "hardware": HARDWARE, "epochs": args.epochs, "batch_size": args.batch_size,
                              "train_size": args.train_size, "channel_scale": args.channel_scale})
        label = f"[{number}/{len(todo)}] {name} s{seed}"
        log(f"{label}: channels {' '.join(map(str, every[name]))} x {args.channel_scale}, T {args.timesteps}")
        row = train_design(name, every[name], args.timesteps, settings, images, folder, label, args.log_every)
        append_row(args.out, row)
    rows = read_rows(args.out)
    log(f"finished: {len(rows)} rows in {args.out}")
    for row in rows:
        print(f"{row['design']:<12} s{row['seed']}  accuracy {float(row['accuracy']):.4f}  "
              f"loss {float(row['final_train_loss']):.3f}  {float(row['train_time_s']):.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
