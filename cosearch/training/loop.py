"""Surrogate-gradient BPTT training of a candidate SNN, with checkpoints and resume.

Recipe (SNASNet, Kim et al., ECCV 2022; anchors.md section 1): SGD lr 0.1, momentum 0.9,
weight decay 5e-4, cosine schedule from lr to 0.01 x lr (stepped every iteration,
:mod:`cosearch.training.schedule`), batch 64, cross-entropy on the network's class scores
(voting output averaged over the T timesteps), CIFAR augmentation (:mod:`cosearch.training.images`).
Gradients flow through the LIF surrogate and, for cells with backward edges, through the
feedback path across timesteps (the whole sequence is unrolled; no truncation). The network's
initialisation: :mod:`cosearch.training.model`; the output folder and resume:
:mod:`cosearch.training.checkpoints`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from cosearch.core.allocation import keep_freed_memory
from cosearch.core.candidate import Candidate
from cosearch.data import ImageSet
from cosearch.snn.device import resolve_device
from cosearch.training.checkpoints import (
    CHECKPOINT,
    TrainingState,
    checkpoint_document,
    resume_from,
    save_checkpoint,
    write_metrics,
)
from cosearch.training.evaluation import evaluate, evaluation_subset
from cosearch.training.images import augment, subset, to_tensor
from cosearch.training.model import make_model
from cosearch.training.progress import epoch_bar, report_epoch, running_totals
from cosearch.training.schedule import CosineSchedule, epoch_generator, seed_dropout
from cosearch.training.settings import TrainSettings


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
    keep_freed_memory()  # no page faults on every large activation (cosearch.core.allocation)
    settings.check(network=candidate.network)
    device = resolve_device(settings.device, "device")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net, genome = make_model(candidate, settings.channel_scale, settings.classifier_init)
    net.to(device)
    test_set = evaluation_subset(test_images, settings.test_size, settings.seed)
    session = _Session(candidate, settings, net, genome, subset(train_images, settings.train_size, settings.seed),
                       device, out / CHECKPOINT, progress, label, on_step)
    if resume:
        session.state = resume_from(session.checkpoint, candidate, settings, net, session.optimizer, device,
                                    session.steps_per_epoch)
    session.run()
    state = session.state
    result = TrainResult(test_acc=evaluate(net, test_set, settings.eval_batch_size, device), epochs=len(state.history),
                         history=state.history, train_time_s=state.elapsed_s,
                         parameters=sum(p.numel() for p in net.parameters()), genome=genome,
                         timesteps=candidate.timesteps,
                         settings={**settings.model_dump(), "train_images": len(session.train_set),
                                   "test_images": len(test_set)},
                         steps=state.step, device=str(device))
    write_metrics(out, {"candidate": candidate.to_dict(), **asdict(result)})
    return result


@dataclass
class _Tally:
    """An epoch's running training loss and accuracy."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0

    def add(self, loss: float, correct: int, count: int) -> None:
        self.loss_sum += loss * count
        self.correct += correct
        self.seen += count

    @property
    def loss(self) -> float:
        return self.loss_sum / self.seen

    @property
    def accuracy(self) -> float:
        return self.correct / self.seen


class _Session:
    """One call of :func:`train_candidate`: the network, optimizer, data and schedule its epochs share."""

    def __init__(self, candidate: Candidate, settings: TrainSettings, net: nn.Module, genome: dict[str, Any],
                 train_set: ImageSet, device: torch.device, checkpoint: Path, progress: bool, label: str,
                 on_step: Callable[[TrainStep], None] | None) -> None:
        self.candidate, self.settings, self.net, self.genome = candidate, settings, net, genome
        self.train_set, self.labels = train_set, torch.from_numpy(train_set.labels)
        self.device, self.checkpoint = device, checkpoint
        self.progress, self.label, self.on_step = progress, label, on_step
        self.steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
        self.schedule = CosineSchedule.of(settings, self.steps_per_epoch)
        self.optimizer = torch.optim.SGD(net.parameters(), lr=settings.lr, momentum=settings.momentum,
                                         weight_decay=settings.weight_decay)
        self.state = TrainingState()

    def run(self) -> None:
        """Train the epochs left (all, or those after the resumed checkpoint) within the time budget."""
        self.net.train()
        for epoch in range(self.state.epoch, self.settings.epochs):
            if self.schedule.out_of_time(self.state.elapsed_s):
                break
            tally, stopped = self.train_epoch(epoch)
            self.finish_epoch(epoch, tally, stopped)
            if stopped:
                break

    def train_epoch(self, epoch: int) -> tuple[_Tally, bool]:
        """One pass over the training images in the epoch's seeded order; (its tally, whether the
        time budget stopped it)."""
        generator = epoch_generator(self.settings.seed, epoch)
        seed_dropout(generator)
        order = torch.randperm(len(self.train_set), generator=generator)
        size, tally, stopped = self.settings.batch_size, _Tally(), False
        bar = epoch_bar(self.steps_per_epoch, self.label, epoch, self.settings.epochs, self.progress)
        for batch in bar:
            lr, loss = self.sgd_step(order[batch * size:(batch + 1) * size], generator, tally)
            bar.set_postfix_str(running_totals(tally.loss, tally.accuracy), refresh=False)
            if self.on_step is not None:
                self.on_step(TrainStep(step=self.state.step, epoch=epoch + 1, elapsed_s=self.state.elapsed_s,
                                       loss=loss, lr=lr, net=self.net))
                self.net.train()
            if self.schedule.out_of_time(self.state.elapsed_s):
                stopped = True
                break
        bar.close()
        return tally, stopped

    def sgd_step(self, index: torch.Tensor, generator: torch.Generator, tally: _Tally) -> tuple[float, float]:
        """One SGD step on the images ``index`` (timed as training); (its learning rate, its loss)."""
        began = time.perf_counter()
        lr = self.schedule.lr_at(self.state.step, self.state.elapsed_s)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x = to_tensor(self.train_set, index.numpy())
        if self.settings.augment:
            x = augment(x, generator)
        x, y = x.to(self.device), self.labels[index].to(self.device)
        scores = self.net(x)
        loss = F.cross_entropy(scores, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        step_loss = loss.item()
        tally.add(step_loss, int((scores.detach().argmax(1) == y).sum()), len(index))
        self.state.step += 1
        self.state.elapsed_s += time.perf_counter() - began
        return lr, step_loss

    def finish_epoch(self, epoch: int, tally: _Tally, stopped: bool) -> None:
        """Record epoch ``epoch`` (from 0) in the history, report it, write the checkpoint."""
        state = self.state
        state.epoch = epoch + 1
        state.history.append({"epoch": epoch + 1, "train_loss": tally.loss, "train_acc": tally.accuracy,
                              "lr": self.optimizer.param_groups[0]["lr"], "elapsed_s": state.elapsed_s,
                              "steps": state.step})
        if self.progress:
            report_epoch(self.label, epoch, self.settings.epochs, tally.loss, tally.accuracy, state.elapsed_s, stopped)
        save_checkpoint(checkpoint_document(state, self.net, self.optimizer, self.candidate, self.settings, self.genome),
                        self.checkpoint)


__all__ = ["TrainResult", "TrainStep", "train_candidate"]
