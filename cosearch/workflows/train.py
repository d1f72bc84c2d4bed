"""Surrogate-gradient BPTT training of a candidate SNN, with checkpoints and resume.

Recipe (SNASNet, Kim et al., ECCV 2022; anchors.md section 1): SGD lr 0.1, momentum 0.9,
weight decay 5e-4, cosine schedule from lr to 0.01 x lr (stepped every iteration), batch 64,
cross-entropy on the network's class scores (voting output averaged over the T timesteps).
Gradients flow through the LIF surrogate and, for cells with backward edges, through the
feedback path across timesteps (the whole sequence is unrolled; no truncation).

One departure, below SNASNet's published widths only: ``classifier_init="width"`` (the default)
redraws the classifier's first layer with a standard deviation that grows as 1/C below C = 128
(:meth:`cosearch.snn.SpikingNetwork.init_for_training`); without it a narrow SNASNet's
classifier never spikes and its loss stays at ln 10 (measurements: docs/training.md). At
C >= 128 both settings are SNASNet's initialisation.

Augmentation: standard CIFAR (random crop 32 from the image zero-padded by 4 on the
normalised tensor, i.e. padded with the mean colour, + horizontal flip with p = 0.5), in torch.

Wall-clock budget: with ``time_budget_s`` training stops once that many seconds of training
(evaluation callbacks excluded) have passed, and the cosine schedule runs over whichever of the
budget and the epochs ends first, so the learning rate still decays to its final value.

Determinism and resume: epoch ``e`` draws its data order, augmentation and dropout masks from
generators seeded by ``(seed, e)`` (CPU generators, also when training on a GPU), so a run
resumed from the checkpoint after epoch ``e`` continues exactly as an uninterrupted one would
(same weights on the same machine; a run cut by its time budget is not bit-reproducible, and
resumed it continues at the next epoch).

Output folder: ``checkpoint.pt`` (after every epoch; written atomically) and ``metrics.json``
(history per epoch, final test accuracy).
"""

from __future__ import annotations

import io
import json
import math
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

from cosearch.core.allocation import keep_freed_memory
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError, CosearchError
from cosearch.core.files import write_atomic, write_json
from cosearch.data import ImageSet
from cosearch.snn.device import resolve_device

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
#: ``classifier_init`` values: SNASNet's initialisation scaled for narrow widths, or as published.
CLASSIFIER_INITS = ("width", "published")


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
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (:func:`cosearch.snn.device.resolve_device`).
        seed: data order, augmentation, dropout and weight initialisation.
        eval_batch_size: images per batch at test time.
        classifier_init: ``width`` (SNASNet's init, classifier widened below C = 128) or ``published``.
        time_budget_s: stop after this many seconds of training [s] (None = run all epochs).
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
    device: str = "auto"
    seed: int = 0
    eval_batch_size: int = 256
    classifier_init: str = "width"
    time_budget_s: float | None = None

    def check(self, where: str = "", network: Mapping[str, Any] | None = None) -> None:
        """ConfigError naming the first bad setting.

        Args:
            where: how settings are named in messages: ``"--"`` for CLI options (``command line:
                --channel-scale``), else a key prefix (``"options."`` -> ``options.channel_scale``,
                the file left for the caller to add, as the search loop does).
            network: the genome to be trained; checks that ``channel_scale`` leaves every layer
                at least one channel.
        """
        def key(name: str) -> str:
            return "--" + _CLI_NAMES.get(name, name.replace("_", "-")) if where == "--" else f"{where}{name}"

        source = "command line" if where == "--" else ""

        def fail(name: str, expected: str) -> ConfigError:
            return ConfigError(source, key(name), f"must be {expected} (got {getattr(self, name)!r})")

        for name in ("epochs", "batch_size", "eval_batch_size"):
            if not _is_int(getattr(self, name)) or getattr(self, name) < 1:
                raise fail(name, "an integer >= 1")
        for name in ("train_size", "test_size"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise fail(name, "an integer >= 1 or all")
        if not _is_number(self.lr) or not self.lr > 0:
            raise fail("lr", "a number > 0")
        if not _is_number(self.channel_scale) or not 0 < self.channel_scale <= 4:
            raise fail("channel_scale", "a number in (0, 4]")
        if self.classifier_init not in CLASSIFIER_INITS:
            raise fail("classifier_init", f"one of {', '.join(CLASSIFIER_INITS)}")
        if self.time_budget_s is not None and (not _is_number(self.time_budget_s) or not self.time_budget_s > 0):
            raise fail("time_budget_s", "a number of seconds > 0, or none")
        resolve_device(self.device, key("device"), source)
        if network is not None:
            check_width(network, self.channel_scale, key("channel_scale"), source)


#: settings whose CLI option is not the field name with dashes
_CLI_NAMES = {"time_budget_s": "time-budget"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_width(network: Mapping[str, Any], scale: float, where: str, source: str = "") -> None:
    """ConfigError (naming ``where``) when ``scale`` rounds a layer of ``network`` to 0 channels,
    as :func:`cosearch.workload.scale_channels` rounds them (which would keep 1 channel silently)."""
    from cosearch.workload import canonical_genome, narrowest_channels_lost

    channels = canonical_genome(network).get("channels")
    if channels is None:
        return
    lost = narrowest_channels_lost(channels if isinstance(channels, (list, tuple)) else [channels], scale)
    if lost:
        raise ConfigError(source, where, lost)


@dataclass(frozen=True)
class TrainStep:
    """What an ``on_step`` callback of :func:`train_candidate` sees after every SGD step.

    Attributes:
        step: SGD steps done so far (from 1, counted over the whole run).
        epoch: the epoch this step belongs to (from 1).
        elapsed_s: training wall time so far [s] (callback time excluded).
        loss: this step's training loss (cross-entropy, nats).
        lr: the learning rate this step used.
        net: the network (in training mode; a callback that evaluates must restore that).
    """

    step: int
    epoch: int
    elapsed_s: float
    loss: float
    lr: float
    net: nn.Module


@dataclass
class TrainResult:
    """What :func:`train_candidate` returns and writes to ``metrics.json``.

    ``epochs``: epochs trained (fewer than asked when the time budget ran out); ``steps``: SGD steps.
    """

    test_acc: float
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)
    train_time_s: float = 0.0
    parameters: int = 0
    genome: dict[str, Any] = field(default_factory=dict)
    timesteps: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    device: str = "cpu"


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


def evaluation_subset(images: ImageSet, size: int | None, seed: int) -> ImageSet:
    """The test images a training with ``seed`` reports on: :func:`subset` with seed ``seed + 1``
    (the training subset takes ``seed``)."""
    return subset(images, size, seed + 1)


# ---------------------------------------------------------------- model --


def _generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch) * 7919 + 17) & 0x7FFFFFFFFFFFFFFF)


def make_model(candidate: Candidate, channel_scale: float = 1.0,
               classifier_init: str = "width") -> tuple[nn.Module, dict[str, Any]]:
    """The candidate's SNN at ``channel_scale`` (weights seeded by the candidate's seed) and its genome.

    ``classifier_init="width"`` applies the network's :meth:`~cosearch.snn.SpikingNetwork.init_for_training`.
    """
    from cosearch.snn import build
    from cosearch.workload import scale_channels

    genome = scale_channels(candidate.network, channel_scale)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate.seed)
        net = build(genome, candidate.timesteps)
        if classifier_init == "width":
            net.init_for_training()
    return net, genome


@torch.no_grad()
def evaluate(net: nn.Module, images: ImageSet, batch_size: int = 256, device: str | torch.device = "cpu") -> float:
    """Top-1 accuracy in eval mode (batch-norm running statistics, no dropout).

    ``device``: a torch device or a ``device`` setting (:func:`cosearch.snn.device.resolve_device`);
    the network must already be there.
    """
    where = resolve_device(device, "device") if isinstance(device, str) else device
    was_training = net.training
    net.eval()
    correct = 0
    try:
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                index = np.arange(start, min(start + batch_size, len(images)))
                x = to_tensor(images, index).to(where)
                y = torch.from_numpy(images.labels[index]).to(where)
                correct += int((net(x).argmax(1) == y).sum())
    finally:
        net.train(was_training)
    return correct / max(1, len(images))


def cosine_factor(progress: float, final_ratio: float) -> float:
    """Learning-rate factor at ``progress`` in [0, 1]: cosine from 1 to ``final_ratio``."""
    progress = min(1.0, max(0.0, progress))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def load_checkpoint(path: Path, device: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`train_candidate`, read with ``weights_only=True``: tensors,
    numbers, strings, lists and dicts only, so a file that would run code when unpickled (a shared
    or downloaded run directory) is refused instead of executed. CosearchError naming the file for
    anything else (damaged, truncated, not a checkpoint)."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # UnpicklingError, EOFError, RuntimeError (zip damage) ...: one message
        raise CosearchError(f"{path}: not a cosearch checkpoint, damaged, or holding objects other than "
                            f"tensors and plain values (refused: loading them could run code): "
                            f"{type(exc).__name__}") from None
    missing = [key for key in ("candidate", "model", "epoch") if not isinstance(state, dict) or key not in state]
    if missing:
        raise CosearchError(f"{path}: not a cosearch checkpoint (missing {', '.join(missing)})")
    return state


def _atomic_save(obj: Any, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomic(path, buffer.getvalue())


def train_candidate(
    candidate: Candidate,
    train_images: ImageSet,
    test_images: ImageSet,
    settings: TrainSettings,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    label: str = "",
    on_step: Callable[[TrainStep], None] | None = None,
) -> TrainResult:
    """Train ``candidate`` and write ``checkpoint.pt`` / ``metrics.json`` into ``out_dir``.

    Args:
        resume: continue from ``out_dir/checkpoint.pt`` when it exists (its settings win for
            the data subset; ``epochs`` may be raised to train longer).
        on_step: called after every SGD step (e.g. to record a learning curve); its time is
            not counted as training time.

    Raises:
        ConfigError: a bad setting (:meth:`TrainSettings.check`), e.g. ``cuda`` with no GPU.
    """
    from tqdm import tqdm

    keep_freed_memory()  # no page faults on every large activation (cosearch.core.allocation)

    settings.check(network=candidate.network)
    device = resolve_device(settings.device, "device")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net, genome = make_model(candidate, settings.channel_scale, settings.classifier_init)
    net.to(device)
    train_set = subset(train_images, settings.train_size, settings.seed)
    test_set = evaluation_subset(test_images, settings.test_size, settings.seed)
    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    budget = settings.time_budget_s
    optimizer = torch.optim.SGD(net.parameters(), lr=settings.lr, momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    start_epoch, history, elapsed, step, stopped = 0, [], 0.0, 0, False
    checkpoint_path = out / CHECKPOINT
    if resume and checkpoint_path.exists():
        state = load_checkpoint(checkpoint_path, device)
        if state["candidate"] != candidate.to_dict() or state["channel_scale"] != settings.channel_scale:
            raise CosearchError(f"{checkpoint_path} belongs to another candidate or channel scale; "
                                f"use a fresh output folder or drop --resume")
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history, elapsed = int(state["epoch"]), list(state["history"]), float(state["elapsed_s"])
        step = int(state.get("step", start_epoch * steps_per_epoch))
    net.train()
    parameters = sum(p.numel() for p in net.parameters())
    labels = torch.from_numpy(train_set.labels)
    for epoch in range(start_epoch, settings.epochs):
        if budget is not None and elapsed >= budget:
            break
        generator = _generator(settings.seed, epoch)
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))  # dropout masks
        order = torch.randperm(len(train_set), generator=generator)
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(range(steps_per_epoch), desc=f"{label}epoch {epoch + 1}/{settings.epochs}", unit="batch",
                   file=sys.stderr, disable=not progress, dynamic_ncols=True, leave=False,
                   bar_format="{desc}: {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}{postfix}")
        for batch in bar:
            began = time.perf_counter()
            fraction = step / total_steps if budget is None else max(step / total_steps, elapsed / budget)
            lr = settings.lr * cosine_factor(fraction, settings.final_lr_ratio)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = order[batch * settings.batch_size:(batch + 1) * settings.batch_size]
            x = to_tensor(train_set, index.numpy())
            if settings.augment:
                x = augment(x, generator)
            x, y = x.to(device), labels[index].to(device)
            scores = net(x)
            loss = F.cross_entropy(scores, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step_loss = loss.item()
            total_loss += step_loss * len(index)
            correct += int((scores.detach().argmax(1) == y).sum())
            seen += len(index)
            step += 1
            elapsed += time.perf_counter() - began
            bar.set_postfix_str(f"loss={total_loss / seen:.3f} acc={correct / seen:.3f}", refresh=False)
            if on_step is not None:
                on_step(TrainStep(step=step, epoch=epoch + 1, elapsed_s=elapsed, loss=step_loss, lr=lr, net=net))
                net.train()
            if budget is not None and elapsed >= budget:
                stopped = True
                break
        bar.close()
        history.append({"epoch": epoch + 1, "train_loss": total_loss / seen, "train_acc": correct / seen,
                        "lr": optimizer.param_groups[0]["lr"], "elapsed_s": elapsed, "steps": step})
        if progress:
            print(f"{label}epoch {epoch + 1}/{settings.epochs}: loss {total_loss / seen:.4f}, "
                  f"train acc {correct / seen:.4f}, elapsed {elapsed:.0f} s"
                  + (" (time budget reached)" if stopped else ""), file=sys.stderr)
        _atomic_save({"epoch": epoch + 1, "step": step, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                      "history": history, "elapsed_s": elapsed, "candidate": candidate.to_dict(),
                      "channel_scale": settings.channel_scale, "genome": genome, "settings": asdict(settings)},
                     checkpoint_path)
        if stopped:
            break
    test_acc = evaluate(net, test_set, settings.eval_batch_size, device)
    result = TrainResult(test_acc=test_acc, epochs=len(history), history=history, train_time_s=elapsed,
                         parameters=parameters, genome=genome, timesteps=candidate.timesteps,
                         settings={**asdict(settings), "train_images": len(train_set), "test_images": len(test_set)},
                         steps=step, device=str(device))
    write_json(out / METRICS, {"candidate": candidate.to_dict(), **asdict(result)})
    return result


def read_metrics(out_dir: str | Path) -> dict[str, Any] | None:
    """``metrics.json`` of a finished training, or None."""
    path = Path(out_dir) / METRICS
    if not path.exists():
        return None
    try:
        metrics = json.loads(path.read_bytes())
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        metrics = None
    if not isinstance(metrics, dict):
        raise CosearchError(f"{path}: damaged (not the JSON object a finished training writes); delete it, and "
                            "the checkpoint beside it, to train this design again")
    return metrics
