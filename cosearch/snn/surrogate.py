"""Surrogate spike functions: Heaviside forward, smooth derivative backward, chosen by name.

A spiking neuron emits ``S = H(x)`` with ``x = V - V_th`` and ``H(x) = 1 if x >= 0 else 0``
(SpikingJelly's convention). Its derivative is zero almost everywhere, so training replaces it
by the derivative of a smooth stand-in. Names and default widths follow the field:

* ``atan`` (SpikingJelly ``surrogate.ATan``, default alpha 2, SNASNet's choice):
  ``dS/dx = (alpha / 2) / (1 + (pi/2 * alpha * x)^2)``
* ``fast_sigmoid`` (snnTorch ``surrogate.fast_sigmoid``, slope 25; Zenke & Ganguli 2018):
  ``dS/dx = 1 / (slope * |x| + 1)^2``
* ``sigmoid`` (SpikingJelly ``surrogate.Sigmoid``, default alpha 4):
  ``dS/dx = alpha * sig(alpha x) * (1 - sig(alpha x))``
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: name -> (derivative of the stand-in at x with width parameter a, default width)
_DERIVATIVES: dict[str, tuple[Callable[[torch.Tensor, float], torch.Tensor], float]] = {
    "atan": (lambda x, a: (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), 2.0),
    "fast_sigmoid": (lambda x, a: 1 / (a * x.abs() + 1) ** 2, 25.0),
    "sigmoid": (lambda x, a: a * torch.sigmoid(a * x) * (1 - torch.sigmoid(a * x)), 4.0),
}

SURROGATES: tuple[str, ...] = tuple(_DERIVATIVES)


class _Spike(torch.autograd.Function):
    """Heaviside step whose backward pass uses a named surrogate derivative."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, name: str, width: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.name, ctx.width = name, width
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        derivative, _ = _DERIVATIVES[ctx.name]
        return grad * derivative(x, ctx.width), None, None


def check_surrogate(name: str) -> tuple[Callable[[torch.Tensor, float], torch.Tensor], float]:
    """The (derivative, default width) of a surrogate name; ValueError naming the choices."""
    try:
        return _DERIVATIVES[name]
    except KeyError:
        raise ValueError(f"surrogate must be one of {', '.join(SURROGATES)} (got {name!r})") from None


def spike(x: torch.Tensor, name: str = "atan", width: float | None = None) -> torch.Tensor:
    """Heaviside ``x >= 0`` in x's dtype; gradients use surrogate ``name`` when autograd records.

    Args:
        x: membrane potential minus threshold (any shape).
        name: surrogate name, one of :data:`SURROGATES`.
        width: its alpha/slope; None takes the field's default for that surrogate.
    """
    _, default = check_surrogate(name)
    if not (torch.is_grad_enabled() and x.requires_grad):
        return (x >= 0).to(x.dtype)
    return _Spike.apply(x, name, default if width is None else float(width))


def surrogate_grad(x: torch.Tensor, name: str = "atan", width: float | None = None) -> torch.Tensor:
    """The surrogate derivative dS/dx at x (for tests and plots)."""
    derivative, default = check_surrogate(name)
    return derivative(x, default if width is None else float(width))
