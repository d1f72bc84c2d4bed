"""Every seed rule of the project: how a seed is derived from other seeds and counters.

:func:`derive_seed` is the rule for new code (a hash of the parts, stable across platforms and
numpy versions). The other functions are older rules kept bit for bit, because changing one would
change stored results: the weights, data order and checkpoints of runs made before.
"""

from __future__ import annotations

import numpy as np


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integers (run seed, phase, trial ...), stable across platforms."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def evaluation_seed(run_seed: int, common_seed: bool, *parts: int) -> int:
    """A candidate's evaluation seed: with ``common_seed`` (the experiment key) the run seed's, shared by
    every candidate (same initial-weight stream, batches and noise draws: candidates differ only by
    their design), else one derived from the run seed and ``parts`` (phase and trial number, or what
    identifies the candidate)."""
    return derive_seed(run_seed) if common_seed else derive_seed(run_seed, *parts)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of training epoch ``epoch`` (from 0) of a training seeded ``seed``: its data order,
    augmentation and dropout masks (a 63-bit value for ``torch.Generator.manual_seed``).

    An affine rule, not :func:`derive_seed`: kept so that trainings resume and repeat as before.
    """
    return (int(seed) * 1_000_003 + int(epoch) * 7919 + 17) & 0x7FFFFFFFFFFFFFFF


def evaluation_subset_seed(seed: int) -> int:
    """Seed of the test-image subset a training seeded ``seed`` reports on (its training subset takes
    ``seed`` itself). Kept as ``seed + 1`` so stored accuracies stay comparable."""
    return int(seed) + 1


__all__ = ["derive_seed", "epoch_seed", "evaluation_seed", "evaluation_subset_seed"]
