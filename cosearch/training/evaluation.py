"""Test accuracy of a network, and which test images a training reports on."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cosearch.core.seeds import evaluation_subset_seed
from cosearch.data import ImageSet
from cosearch.snn.device import resolve_device
from cosearch.training.images import subset, to_tensor


def evaluation_subset(images: ImageSet, size: int | None, seed: int) -> ImageSet:
    """The test images a training with ``seed`` reports on: :func:`~cosearch.training.images.subset`
    with :func:`~cosearch.core.seeds.evaluation_subset_seed` (the training subset takes ``seed``)."""
    return subset(images, size, evaluation_subset_seed(seed))


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


__all__ = ["evaluate", "evaluation_subset"]
