"""Training images as tensors: normalisation, the seeded training subset, CIFAR augmentation.

Augmentation is standard CIFAR: random crop 32 from the image zero-padded by 4 on the normalised
tensor (i.e. padded with the mean colour) + horizontal flip with p = 0.5, in torch, drawn from
the epoch's generator (:func:`cosearch.training.schedule.epoch_generator`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from cosearch.data import ImageSet


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


__all__ = ["augment", "subset", "to_tensor"]
