"""Learning curves on a wall-clock budget: the narrow SNASNet cell network and VGG16 at 1/8 width.

Trains each network with :func:`cosearch.training.train_candidate` (SNASNet's recipe,
``classifier_init="width"``, T = 5, batch 64) for ``--budget`` seconds of training, with the cosine
schedule fitted into the budget, and measures the test accuracy on all test images every
``--eval-every`` seconds of training (evaluation time is not training time). Writes
``<out>/train_curves.csv`` (network, step, wall_s, cpu_s, train_loss, test_acc; wall_s and
cpu_s are training wall and process CPU time, so a loaded machine shows as wall_s >> cpu_s;
train_loss is the mean over the steps since the previous row) and ``<out>/train_summary.json`` (final numbers, machine
load before and after), and prints the curves.

    OMP_NUM_THREADS=1 COSEARCH_DATA=/work/shared/data python benchmarks/bench_train.py --budget 600

``--diagnose`` instead prints, at initialisation, every LIF layer's firing rate and every weight
layer's gradient norm on one training batch, for both ``classifier_init`` settings (the
measurements behind docs/training.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from cosearch.core.candidate import Candidate
from cosearch.data import load_dataset
from cosearch.snn import LIF
from cosearch.training import TrainSettings, TrainStep, make_model, train_candidate
from cosearch.training.images import to_tensor
from cosearch.workload import canonical_genome

#: name -> (genome, channel scale): SNASNet's published CIFAR-10 backward cell at C = 128 x 1/8 = 16,
#: and VGG16 (64..512 channels) at 1/8 width (8..64 channels); two more cells at C = 16 (a forward
#: one and another backward one), the held-out networks of benchmarks/hardware_sensitivity.py.
NETWORKS: dict[str, tuple[dict[str, Any], float]] = {
    "snasnet_c16": ({"arch": "snasnet", "cell": "0303 0030 2002 0200", "channels": 128}, 0.125),
    "vgg16_w8": ({"arch": "vgg16"}, 0.125),
    "snasnet_fwd_c16": ({"arch": "snasnet", "cell": "0233 0013 0002 0000", "channels": 128}, 0.125),
    "snasnet_bwd_c16": ({"arch": "snasnet", "cell": "0203 0010 1002 0300", "channels": 128}, 0.125),
}


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages of the machine."""
    return [round(v, 2) for v in os.getloadavg()]


def curve(name: str, settings: TrainSettings, eval_every: float, out: Path, data: dict[str, str],
          timesteps: int = 5) -> list[dict[str, Any]]:
    """Train one network at ``timesteps``; rows of (step, wall_s, train_loss, test_acc). Its folder (and row
    name) is ``name``, with ``_T<timesteps>`` appended when T is not 5."""
    from cosearch.training import evaluate

    genome, scale = NETWORKS[name]
    candidate = Candidate(network=canonical_genome(genome), timesteps=timesteps, seed=0)
    name = name if timesteps == 5 else f"{name}_T{timesteps}"
    train_images, test_images = load_dataset(data, split="train"), load_dataset(data, split="test")
    rows: list[dict[str, Any]] = []
    losses: list[float] = []
    next_eval = [eval_every]
    cpu = {"start": time.process_time(), "evaluating": 0.0}

    def row(step: int, wall_s: float, accuracy: float) -> dict[str, Any]:
        return {"network": name, "step": step, "wall_s": round(wall_s, 1),
                "cpu_s": round(time.process_time() - cpu["start"] - cpu["evaluating"], 1),
                "train_loss": round(float(np.mean(losses)), 4), "test_acc": round(accuracy, 4)}

    def record(step: TrainStep) -> None:
        losses.append(step.loss)
        if step.elapsed_s >= next_eval[0]:
            next_eval[0] += eval_every
            began = time.process_time()
            accuracy = evaluate(step.net, test_images, settings.eval_batch_size, settings.device)
            cpu["evaluating"] += time.process_time() - began
            rows.append(row(step.step, step.elapsed_s, accuracy))
            losses.clear()
            print(f"{name}: {rows[-1]}", flush=True)

    result = train_candidate(candidate, train_images, test_images, settings.model_copy(update={"channel_scale": scale}), out / name,
                             progress=False, on_step=record)
    if losses:  # steps after the last evaluation; the final accuracy is train_candidate's
        rows.append(row(result.steps, result.train_time_s, result.test_acc))
    else:
        rows[-1]["test_acc"] = round(result.test_acc, 4)
    print(f"{name}: final {rows[-1]}", flush=True)
    return rows


def diagnose(data: dict[str, str], batch_size: int) -> None:
    """Firing rate per LIF layer and gradient norm per weight layer at initialisation, one batch."""
    images = load_dataset(data, split="train")
    index = np.arange(batch_size)
    x, y = to_tensor(images, index), torch.from_numpy(images.labels[index])
    for name, (genome, scale) in NETWORKS.items():
        for init in ("published", "width"):
            candidate = Candidate(network=canonical_genome(genome), timesteps=5, seed=0)
            net, _ = make_model(candidate, scale, init)
            net.train()
            rates: dict[str, float] = {}
            hooks = [m.register_forward_hook(lambda _m, _i, o, n=n, rates=rates: rates.__setitem__(n, float(o.detach().mean())))
                     for n, m in net.named_modules() if isinstance(m, LIF)]
            scores = net(x)
            loss = F.cross_entropy(scores, y)
            loss.backward()
            for hook in hooks:
                hook.remove()
            print(f"\n{name}, classifier_init={init}: loss {loss.item():.4f}, logit std {scores.std().item():.2e}")
            for layer, rate in rates.items():
                print(f"  rate  {layer:<28} {rate:.4f}")
            for param, p in net.named_parameters():
                if p.dim() > 1:
                    grad = 0.0 if p.grad is None else float(p.grad.norm())
                    print(f"  grad  {param:<28} |g| {grad:.3e}  |g|/|w| {grad / float(p.detach().norm()):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=600.0,
                        help="training seconds per network (default 600; 0 = no budget: --epochs epochs)")
    parser.add_argument("--timesteps", type=int, nargs="+", default=[5],
                        help="train each network at each of these T (default 5; folders <network>_T<T> for T != 5)")
    parser.add_argument("--eval-every", type=float, default=60.0, help="training seconds between test evaluations")
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--epochs", type=int, default=30, help="upper bound; the budget usually ends training first")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    parser.add_argument("--out", default="runs/bench_train", help="output folder (checkpoints, CSV, JSON)")
    parser.add_argument("--data-root", default=os.environ.get("COSEARCH_DATA"))
    parser.add_argument("--diagnose", action="store_true", help="print rates and gradient norms at init and exit")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = {"root": args.data_root} if args.data_root else {}
    if args.diagnose:
        diagnose(data, 64)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = TrainSettings(epochs=args.epochs, time_budget_s=args.budget or None, device=args.device)
    load_before, began = load_average(), time.time()
    rows: list[dict[str, Any]] = []
    for name in args.networks:
        for timesteps in args.timesteps:
            rows += curve(name, settings, args.eval_every, out, data, timesteps)
    with (out / "train_curves.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["network", "step", "wall_s", "cpu_s", "train_loss", "test_acc"])
        writer.writeheader()
        writer.writerows(rows)
    finals = {name: next(r for r in reversed(rows) if r["network"] == name) for name in dict.fromkeys(r["network"] for r in rows)}
    summary = {"budget_s": args.budget, "epochs": args.epochs, "timesteps": args.timesteps, "threads": args.threads,
               "machine": platform.processor() or platform.machine(),
               "cpus": os.cpu_count(), "load_before": load_before, "load_after": load_average(),
               "wall_s": round(time.time() - began, 1), "final": finals}
    (out / "train_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2), file=sys.stderr)


if __name__ == "__main__":
    main()
