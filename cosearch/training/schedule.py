"""When a training changes its learning rate and stops, and the random streams of each epoch.

Schedule (SNASNet): cosine from ``lr`` to ``final_lr_ratio x lr``, stepped every iteration.
Wall-clock budget: with ``time_budget_s`` training stops once that many seconds of training
(evaluation callbacks excluded) have passed, and the cosine schedule runs over whichever of the
budget and the epochs ends first, so the learning rate still decays to its final value.

Determinism: epoch ``e`` draws its data order, augmentation and dropout masks from a generator
seeded by ``(seed, e)`` (:func:`cosearch.core.seeds.epoch_seed`; CPU generators, also when
training on a GPU), so a run resumed from the checkpoint after epoch ``e`` continues exactly as
an uninterrupted one would (same weights on the same machine; a run cut by its time budget is
not bit-reproducible, and resumed it continues at the next epoch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cosearch.core.seeds import epoch_seed
from cosearch.training.settings import TrainSettings


def cosine_factor(progress: float, final_ratio: float) -> float:
    """Learning-rate factor at ``progress`` in [0, 1]: cosine from 1 to ``final_ratio``."""
    progress = min(1.0, max(0.0, progress))
    return final_ratio + (1.0 - final_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class CosineSchedule:
    """The learning rate of every step, over ``total_steps`` steps or ``budget_s`` seconds of training."""

    lr: float
    final_ratio: float
    total_steps: int
    budget_s: float | None

    @classmethod
    def of(cls, settings: TrainSettings, steps_per_epoch: int) -> CosineSchedule:
        return cls(settings.lr, settings.final_lr_ratio, settings.epochs * steps_per_epoch, settings.time_budget_s)

    def lr_at(self, step: int, elapsed_s: float) -> float:
        """Learning rate of the step after ``step`` steps and ``elapsed_s`` seconds of training."""
        progress = step / self.total_steps
        if self.budget_s is not None:
            progress = max(progress, elapsed_s / self.budget_s)
        return self.lr * cosine_factor(progress, self.final_ratio)

    def out_of_time(self, elapsed_s: float) -> bool:
        """Whether ``elapsed_s`` seconds of training have spent the time budget."""
        return self.budget_s is not None and elapsed_s >= self.budget_s


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator of epoch ``epoch`` (from 0): data order and augmentation."""
    return torch.Generator().manual_seed(epoch_seed(seed, epoch))


def seed_dropout(generator: torch.Generator) -> None:
    """Seed torch's global generator (dropout masks) from the epoch's ``generator``."""
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))


__all__ = ["CosineSchedule", "cosine_factor", "epoch_generator", "seed_dropout"]
