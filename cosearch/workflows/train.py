"""Surrogate-gradient BPTT training of a candidate SNN, with checkpoints and resume.

Recipe (SNASNet, Kim et al., ECCV 2022; anchors.md section 1): SGD lr 0.1, momentum 0.9,
weight decay 5e-4, cosine schedule from lr to 0.01 x lr (stepped every iteration), batch 64,
cross-entropy on the network's class scores (voting output averaged over the T timesteps).
Gradients flow through the LIF surrogate and, for cells with backward edges, through the
feedback path across timesteps (the whole sequence is unrolled; no truncation).

Augmentation: standard CIFAR (random crop 32 from the image zero-padded by 4 on the
normalised tensor, i.e. padded with the mean colour, + horizontal flip with p = 0.5), in torch.

Determinism and resume: epoch ``e`` draws its data order, augmentation and dropout masks from
generators seeded by ``(seed, e)``, so a run resumed from the checkpoint after epoch ``e``
continues exactly as an uninterrupted one would (same weights on the same machine).

Output folder: ``checkpoint.pt`` (after every epoch; written atomically) and ``metrics.json``
(history per epoch, final test accuracy, and test accuracy under device noise when asked).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.data import ImageSet

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"


@dataclass(frozen=True)
class TrainSettings:
    """Training hyper-parameters (SNASNet's recipe by default).

    Attributes:
        epochs: passes over the training images.
        batch_size: images per SGD step.
        lr, momentum, weight_decay: SGD.
        final_lr_ratio: the cosine schedule ends at ``lr * final_lr_ratio``.
        channel_scale: train a version of the genome with channels multiplied by this (1 = as found).
        train_size: use this many training images (a seeded subset; None = all).
        test_size: evaluate on this many test images (first of a seeded order; None = all).
        augment: random crop (padding 4) + horizontal flip.
        device: ``cpu`` or ``cuda``.
        seed: data order, augmentation, dropout and weight initialisation.
        eval_batch_size: images per batch at test time.
    """

    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    final_lr_ratio: float = 0.01
    channel_scale: float = 1.0
    train_size: int | None = None
    test_size: int | None = None
    augment: bool = True
    device: str = "cpu"
    seed: int = 0
    eval_batch_size: int = 256

    def check(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise CosearchError(f"epochs and batch size must be >= 1 (got {self.epochs}, {self.batch_size})")
        if not 0 < self.channel_scale <= 4:
            raise CosearchError(f"channel scale must be in (0, 4] (got {self.channel_scale})")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise CosearchError("--device cuda asked but torch sees no CUDA GPU here; use --device cpu")


@dataclass
class TrainResult:
    """What :func:`train_candidate` returns and writes to ``metrics.json``."""

    test_acc: float
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)
    train_time_s: float = 0.0
    parameters: int = 0
    genome: dict[str, Any] = field(default_factory=dict)
    timesteps: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    noise: dict[str, Any] | None = None


# ------------------------------------------------------------------ data --


def to_tensor(images: ImageSet, index: np.ndarray) -> torch.Tensor:
    """Normalised float32 images ``[len(index), 3, 32, 32]``."""
    pixels = torch.from_numpy(images.images[index]).float().div_(255.0)
    mean = torch.tensor(images.mean).view(1, -1, 1, 1)
    std = torch.tensor(images.std).view(1, -1, 1, 1)
    return (pixels - mean) / std


def augment(batch: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop (zero padding ``padding``) + random horizontal flip, per image."""
    b, _, h, w = batch.shape
    padded = F.pad(batch, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]  # [B, H, 1]
    cols = (dx[:, None] + torch.arange(w))[:, None, :]  # [B, 1, W]
    crops = padded.permute(0, 2, 3, 1)[torch.arange(b)[:, None, None], rows, cols]  # [B, H, W, C]
    crops = crops.permute(0, 3, 1, 2)
    flip = torch.rand(b, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], crops.flip(-1), crops).contiguous()


def subset(images: ImageSet, size: int | None, seed: int) -> ImageSet:
    """A seeded subset of ``size`` images (all when None or larger than the set)."""
    if size is None or size >= len(images):
        return images
    index = np.sort(images.indices(size, seed, repeat=7))
    return ImageSet(images.images[index], images.labels[index], images.mean, images.std)


# ---------------------------------------------------------------- model --


def _generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch) * 7919 + 17) & 0x7FFFFFFFFFFFFFFF)


def make_model(candidate: Candidate, channel_scale: float = 1.0) -> tuple[nn.Module, dict[str, Any]]:
    """The candidate's SNN at ``channel_scale`` (weights seeded by the candidate's seed) and its genome."""
    from cosearch.snn import build
    from cosearch.workload import scale_channels

    genome = scale_channels(candidate.network, channel_scale)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate.seed)
        net = build(genome, candidate.timesteps)
    return net, genome


@torch.no_grad()
def evaluate(net: nn.Module, images: ImageSet, batch_size: int = 256, device: str = "cpu") -> float:
    """Top-1 accuracy in eval mode (batch-norm running statistics, no dropout)."""
    was_training = net.training
    net.eval()
    correct = 0
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                index = np.arange(start, min(start + batch_size, len(images)))
                x = to_tensor(images, index).to(device)
                y = torch.from_numpy(images.labels[index]).to(device)
                correct += int((net(x).argmax(1) == y).sum())
    finally:
        net.train(was_training)
    return correct / max(1, len(images))


def _schedule(total_steps: int, final_ratio: float) -> Callable[[int], float]:
    def factor(step: int) -> float:
        progress = min(1.0, step / max(1, total_steps))
        return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def train_candidate(
    candidate: Candidate,
    train_images: ImageSet,
    test_images: ImageSet,
    settings: TrainSettings,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    noise: Callable[[nn.Module, Candidate], nn.Module] | None = None,
    label: str = "",
) -> TrainResult:
    """Train ``candidate`` and write ``checkpoint.pt`` / ``metrics.json`` into ``out_dir``.

    Args:
        resume: continue from ``out_dir/checkpoint.pt`` when it exists (its settings win for
            the data subset; ``epochs`` may be raised to train longer).
        noise: optional ``f(net, candidate) -> perturbed copy``; when given, the test accuracy
            of the perturbed network is reported too (``metrics["noise"]``).
    """
    from tqdm import tqdm

    settings.check()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(settings.device)
    net, genome = make_model(candidate, settings.channel_scale)
    net.to(device)
    train_set = subset(train_images, settings.train_size, settings.seed)
    test_set = subset(test_images, settings.test_size, settings.seed + 1)
    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    optimizer = torch.optim.SGD(net.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(settings.epochs * steps_per_epoch, settings.final_lr_ratio))
    start_epoch, history, elapsed = 0, [], 0.0
    checkpoint_path = out / CHECKPOINT
    if resume and checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location=device, weights_only=False)
        if state["candidate"] != candidate.to_dict() or state["channel_scale"] != settings.channel_scale:
            raise CosearchError(f"{checkpoint_path} belongs to another candidate or channel scale; "
                                f"use a fresh output folder or drop --resume")
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, history, elapsed = int(state["epoch"]), list(state["history"]), float(state["elapsed_s"])
    net.train()
    parameters = sum(p.numel() for p in net.parameters())
    labels = torch.from_numpy(train_set.labels)
    for epoch in range(start_epoch, settings.epochs):
        began = time.perf_counter()
        generator = _generator(settings.seed, epoch)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))  # dropout masks
        order = torch.randperm(len(train_set), generator=generator)
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{label}epoch {epoch + 1}/{settings.epochs}", unit="batch",
                   file=sys.stderr, disable=not progress, dynamic_ncols=True, leave=False,
                   bar_format="{desc}: {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}{postfix}")
        for step in bar:
            index = order[step * settings.batch_size:(step + 1) * settings.batch_size]
            x = to_tensor(train_set, index.numpy())
            if settings.augment:
                x = augment(x, generator)
            x, y = x.to(device), labels[index].to(device)
            scores = net(x)
            loss = F.cross_entropy(scores, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)
            correct += int((scores.detach().argmax(1) == y).sum())
            seen += len(index)
            bar.set_postfix_str(f"loss={total_loss / seen:.3f} acc={correct / seen:.3f}", refresh=False)
        bar.close()
        elapsed += time.perf_counter() - began
        history.append({"epoch": epoch + 1, "train_loss": total_loss / seen, "train_acc": correct / seen,
                        "lr": optimizer.param_groups[0]["lr"], "elapsed_s": elapsed})
        if progress:
            print(f"{label}epoch {epoch + 1}/{settings.epochs}: loss {total_loss / seen:.4f}, "
                  f"train acc {correct / seen:.4f}, elapsed {elapsed:.0f} s", file=sys.stderr)
        _atomic_save({"epoch": epoch + 1, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "history": history, "elapsed_s": elapsed,
                      "candidate": candidate.to_dict(), "channel_scale": settings.channel_scale,
                      "genome": genome, "settings": asdict(settings)}, checkpoint_path)
    test_acc = evaluate(net, test_set, settings.eval_batch_size, settings.device)
    result = TrainResult(test_acc=test_acc, epochs=settings.epochs, history=history, train_time_s=elapsed,
                         parameters=parameters, genome=genome, timesteps=candidate.timesteps,
                         settings={**asdict(settings), "train_images": len(train_set), "test_images": len(test_set)})
    if noise is not None:
        noisy = noise(net, candidate)
        result.noise = {"test_acc": evaluate(noisy, test_set, settings.eval_batch_size, settings.device)}
    write_json(out / METRICS, {"candidate": candidate.to_dict(), **asdict(result)})
    return result


def read_metrics(out_dir: str | Path) -> dict[str, Any] | None:
    """``metrics.json`` of a finished training, or None."""
    path = Path(out_dir) / METRICS
    return json.loads(path.read_text()) if path.exists() else None
