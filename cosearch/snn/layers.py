"""Time-major building blocks: stateless layers applied per timestep, per-timestep batch norm,
time-consistent dropout, and the SNASNet weight initialisation.

Every tensor between blocks is ``[T, B, C, H, W]`` (or ``[T, B, F]``). Stateless layers fold
time into the batch (``[T*B, ...]``) so all timesteps run as one call.
"""

from __future__ import annotations

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


class BatchNorm2d(nn.BatchNorm2d):
    """Batch norm over ``[T, B, C, H, W]`` with per-timestep batch statistics in training mode.

    This is what a single-step SNN (SNASNet's reference, which calls its BN layers once per
    timestep) computes: each timestep is normalised with the mean/variance of its own batch,
    and the running statistics are updated once per timestep. In eval mode (running
    statistics) all timesteps are normalised in one call.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and self.track_running_stats:
            y = super().forward(merge_time(x))
            return y.view(x.shape)
        if not torch.is_grad_enabled() and x.dim() == 5 and self._plain_training():
            return self._forward_into(x)
        # unbound and stacked, not indexed and written into a preallocated tensor: under autograd
        # each x[t] or out[t] costs a full-size zero fill and copy in backward (2-3x slower here)
        norm = super().forward  # bound here: zero-argument super() does not work inside a comprehension
        return torch.stack([norm(frame) for frame in x.unbind(0)])

    def _plain_training(self) -> bool:
        """Training mode with running statistics at a fixed momentum (the SNASNet / cosearch setting)."""
        return (self.training and self.track_running_stats and self.momentum is not None
                and self.running_mean is not None and self.running_var is not None)

    def _forward_into(self, x: torch.Tensor) -> torch.Tensor:
        """No-grad training-mode pass (the proxy): every timestep normalised by the same kernel as
        ``forward``'s, written straight into one ``[T, B, ...]`` output (no per-step tensors, no stack
        copy). Same values and running statistics, bit for bit."""
        out = empty_steps(x.shape[0], x[0])
        unused = x.new_empty(0)  # save_mean / save_invstd: only backward reads them
        assert self.running_mean is not None and self.running_var is not None and self.momentum is not None
        for t in range(x.shape[0]):
            torch.ops.aten.native_batch_norm.out(x[t], self.weight, self.bias, self.running_mean, self.running_var,
                                                 True, self.momentum, self.eps,
                                                 out=out[t], save_mean=unused, save_invstd=unused.clone())
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(x.shape[0])
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
