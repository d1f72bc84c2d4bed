"""Time-major building blocks: stateless layers applied per timestep, per-timestep batch norm,
time-consistent dropout, and the SNASNet weight initialisation.

Every tensor between blocks is ``[T, B, C, H, W]`` (or ``[T, B, F]``). Stateless layers fold
time into the batch (``[T*B, ...]``) so all timesteps run as one call.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cosearch.snn.neuron import Stateful
from cosearch.snn.spike_conv import spike_conv2d
from cosearch.snn.steps import empty_steps, merge_time


class _PerStep:
    """Mixin: run the wrapped stateless layer on all timesteps at once.

    An input that repeats one frame over time (a stride-0 view such as the SNASNet stem's output,
    :func:`cosearch.snn.steps.repeat_steps`) is computed once and repeated the same way: the layer
    is stateless, so every timestep's output is the same.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1 and x.stride(0) == 0:
            frame = super().forward(x[0])  # type: ignore[misc]
            return frame.unsqueeze(0).expand(x.shape[0], *frame.shape)
        y = super().forward(merge_time(x))  # type: ignore[misc]
        return y.view(x.shape[0], x.shape[1], *y.shape[1:])


class Conv2d(_PerStep, nn.Conv2d):
    """``nn.Conv2d`` over ``[T, B, C, H, W]``."""


class SpikeConv2d(Conv2d):
    """:class:`Conv2d` whose input is always binary spikes (a LIF's output, or max-pooled spikes).

    With ``integer`` set (:func:`use_integer_convs`), autograd off and the tensors on the CPU, it
    runs as an int8 GEMM (:func:`cosearch.snn.spike_conv.spike_conv2d`: weights rounded to int8
    per output channel, output in the input's dtype); otherwise it is a plain convolution. A
    forward that the noisy proxy pass installs on the module replaces both.
    """

    integer = False

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if (self.integer and not torch.is_grad_enabled() and input.device.type == "cpu" and bias is None and self.groups == 1
                and self.dilation == (1, 1) and self.padding_mode == "zeros" and isinstance(self.padding, tuple)):
            return spike_conv2d(input, weight, self.stride, self.padding)
        return super()._conv_forward(input, weight, bias)


def use_integer_convs(net: nn.Module) -> int:
    """Switch every :class:`SpikeConv2d` of ``net`` to its int8 path; returns how many there are."""
    convs = [m for m in net.modules() if isinstance(m, SpikeConv2d)]
    for conv in convs:
        conv.integer = True
    return len(convs)


class AvgPool2d(_PerStep, nn.AvgPool2d):
    """``nn.AvgPool2d`` over ``[T, B, C, H, W]``."""


class MaxPool2d(_PerStep, nn.MaxPool2d):
    """``nn.MaxPool2d`` over ``[T, B, C, H, W]`` (keeps binary spikes binary)."""


def step_channel_sums(x: torch.Tensor) -> np.ndarray:
    """Per-timestep, per-channel sums (float64 ``[T, C]``) of a float32 CPU tensor
    ``[T, B, C, H, W]``, the same bits at any torch thread count.

    Each image's pixels are summed per channel by torch in float32 (``[T * B, C]`` outputs), then
    the images of each timestep by numpy in float64. Torch's CPU reductions split only the
    *outputs* among threads when there are several (``TensorIteratorReduce.cpp``:
    ``parallel_dim_reduction`` never splits a reduced dimension) and reduce each output in one
    thread, in an order that depends on the tensor's shape and strides alone. Only a reduction to
    a single output is split across threads (one partial sum per thread, then added): that is how
    ``native_batch_norm`` gathers its channels-last statistics, which made the proxy's scores
    depend on the thread count. numpy runs in the calling thread alone.
    """
    steps, b, c = x.shape[:3]
    frames = x.reshape(steps * b, *x.shape[2:])  # a view for the time-major layouts of cosearch.snn.steps
    if steps * b * c == 1:
        return np.asarray(np.sum(frames.numpy(force=True), dtype=np.float64)).reshape(1, 1)
    if frames.is_contiguous(memory_format=torch.channels_last):
        per_image = frames.permute(0, 2, 3, 1).reshape(steps * b, -1, c).sum(1)  # a view: pixels x channels
    else:
        per_image = frames.reshape(steps * b, c, -1).sum(2)
    return np.asarray(np.sum(per_image.numpy(force=True).reshape(steps, b, c), axis=1, dtype=np.float64))


def batch_norm_steps(x: torch.Tensor, bn: nn.BatchNorm2d, out: torch.Tensor) -> torch.Tensor:
    """Training-mode batch norm of every timestep of a CPU tensor ``[T, B, C, H, W]`` with that
    timestep's batch statistics, without autograd, written into ``out`` (same shape and dtype);
    the running statistics are updated once per timestep. ``native_batch_norm``'s values per
    timestep to float32 rounding (its variance is the less accurate one: it adds each thread's
    rows in sequence in float32), and the same bits at any torch thread count.

    Statistics in float64 from :func:`step_channel_sums` (two passes: the mean, then the squared
    deviations from the mean rounded to float32, corrected for that rounding); then
    ``y = x * a + b`` per timestep and channel with ``a = gamma / sqrt(var + eps)`` and
    ``b = beta - mean * a`` rounded once to float32 (an elementwise pass: each element on its own,
    whatever the thread). ``out`` is the scratch of the second pass, so float32 needs no other
    full-size buffer. All T timesteps go through each step at once and the per-channel arithmetic
    is numpy's: torch's per-operation overhead would otherwise cost more than the work at 4 x 4
    frames. An input that repeats one frame over time (stride 0) has its statistics computed once.
    """
    steps, b, c, h, w = x.shape
    count = b * h * w
    if count < 2:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(x.shape[1:])}")
    wide = x if x.dtype == torch.float32 else x.float()
    scratch = out if out.dtype == torch.float32 else torch.empty(out.shape, dtype=torch.float32)
    repeated = steps > 1 and x.stride(0) == 0
    source, work = (wide[:1], scratch[:1]) if repeated else (wide, scratch)
    mean = step_channel_sums(source) / count  # [T or 1, C]
    shift = mean.astype(np.float32)
    torch.sub(source, torch.from_numpy(shift).view(-1, 1, c, 1, 1), out=work).mul_(work)  # mul_: half square_'s time
    # sum (x - m32)^2 / n = var + (m - m32)^2
    var = np.maximum(step_channel_sums(work) / count - (mean - shift.astype(np.float64)) ** 2, 0.0)
    if repeated:
        mean, var = np.repeat(mean, steps, axis=0), np.repeat(var, steps, axis=0)
    scale = 1.0 / np.sqrt(var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.detach().double().numpy(force=True)
    offset = -mean * scale
    if bn.bias is not None:
        offset = offset + bn.bias.detach().double().numpy(force=True)
    normalised = torch.addcmul(torch.from_numpy(offset.astype(np.float32)).view(steps, 1, c, 1, 1), wide,
                               torch.from_numpy(scale.astype(np.float32)).view(steps, 1, c, 1, 1),
                               out=out if out.dtype == torch.float32 else None)
    if normalised is not out:
        out.copy_(normalised)
    if bn.training and bn.track_running_stats and bn.running_mean is not None and bn.running_var is not None:
        assert bn.num_batches_tracked is not None  # a buffer whenever running statistics are tracked
        running = [bn.running_mean.double().numpy(force=True), bn.running_var.double().numpy(force=True)]
        for t in range(steps):
            bn.num_batches_tracked.add_(1)
            momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
            running = [value * (1.0 - momentum) + momentum * batch
                       for value, batch in zip(running, (mean[t], var[t] * (count / (count - 1))))]
        bn.running_mean.copy_(torch.from_numpy(running[0]))
        bn.running_var.copy_(torch.from_numpy(running[1]))
    return out


class BatchNorm2d(nn.BatchNorm2d):
    """Batch norm over ``[T, B, C, H, W]`` with per-timestep batch statistics in training mode
    (and over a plain ``[B, C, H, W]`` frame, as ``nn.BatchNorm2d``).

    This is what a single-step SNN (SNASNet's reference, which calls its BN layers once per
    timestep) computes: each timestep is normalised with the mean/variance of its own batch,
    and the running statistics are updated once per timestep. In eval mode (running
    statistics) all timesteps are normalised in one call. Without autograd on the CPU (the
    proxy), batch statistics come from :func:`batch_norm_steps`: the same bits at any torch
    thread count.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.dim() == 5
        if not self.training and self.track_running_stats:
            return super().forward(merge_time(x)).view(x.shape) if frames else super().forward(x)
        if not torch.is_grad_enabled() and x.device.type == "cpu" and x.dim() in (4, 5):
            steps = x if frames else x.unsqueeze(0)
            out = empty_steps(steps.shape[0], steps[0])
            batch_norm_steps(steps, self, out)
            return out if frames else out[0]
        if not torch.is_grad_enabled() and frames:
            return self._forward_into(x)
        if not frames:
            return super().forward(x)
        # unbound and stacked, not indexed and written into a preallocated tensor: under autograd
        # each x[t] or out[t] costs a full-size zero fill and copy in backward (2-3x slower here)
        norm = super().forward  # bound here: zero-argument super() does not work inside a comprehension
        return torch.stack([norm(frame) for frame in x.unbind(0)])

    def _forward_into(self, x: torch.Tensor) -> torch.Tensor:
        """No-grad batch-statistics pass on a GPU (no thread count to depend on there): every
        timestep normalised by ``native_batch_norm`` and written straight into one ``[T, B, ...]``
        output (no per-step tensors, no stack copy); running statistics updated once per timestep."""
        out = empty_steps(x.shape[0], x[0])
        unused = x.new_empty(0)  # save_mean / save_invstd: only backward reads them
        momentum = 0.0 if self.momentum is None else self.momentum
        for t in range(x.shape[0]):
            if self.training and self.track_running_stats and self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:  # cumulative moving average
                    momentum = 1.0 / float(self.num_batches_tracked)
            torch.ops.aten.native_batch_norm.out(x[t], self.weight, self.bias, self.running_mean, self.running_var,
                                                 True, momentum, self.eps,
                                                 out=out[t], save_mean=unused, save_invstd=unused.clone())
        return out


class Dropout(Stateful):
    """Dropout whose mask is drawn once per sample sequence and reused at every timestep.

    Args:
        p: drop probability; kept units are scaled by 1/(1-p). Active in training mode only.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be in [0, 1) (got {p})")
        self.p = p
        self.mask: torch.Tensor | None = None

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def reset_state(self) -> None:
        self.mask = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.mask is None:  # drawn from the CPU generator, so a GPU run drops the same units
            keep = (torch.rand(x.shape[1:]) >= self.p).to(x.device)
            self.mask = keep.to(x.dtype) / (1.0 - self.p)
        return x * self.mask


def snasnet_init(module: nn.Module) -> None:
    """Initial weights as in the SNASNet reference code (Kim et al., ECCV 2022).

    Conv: Kaiming-uniform with negative slope a = 2; Linear: N(0, 0.01^2); BatchNorm: weight 1,
    bias 0; all biases 0. Draws from torch's global RNG (seed it for reproducible weights).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, a=2)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            nn.init.zeros_(m.bias)
