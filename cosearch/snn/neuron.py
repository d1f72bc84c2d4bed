"""Multi-step leaky integrate-and-fire (LIF) neuron, time-major ``[T, B, ...]``.

Dynamics per timestep t (SpikingJelly ``LIFNode`` with ``decay_input=True`` and ``v_reset=0``
when parameterised by ``tau``; snnTorch ``Leaky`` when parameterised by ``beta``)::

    H[t] = decay * V[t-1] + gain * X[t]       tau: decay = 1 - 1/tau, gain = 1/tau
                                              beta: decay = beta,      gain = 1
    S[t] = 1 if H[t] >= threshold else 0      (surrogate gradient in backward)
    V[t] = H[t] * (1 - S[t])                  reset="zero"     (hard reset to 0)
    V[t] = H[t] - S[t] * threshold            reset="subtract" (soft reset)

``detach_reset`` cuts the gradient through S in the reset term (SpikingJelly's option).
SNASNet defaults (Kim et al., ECCV 2022; anchors.md section 1): tau = 4/3, so
``V[t] = 0.25 V[t-1] + 0.75 X[t]``, threshold 1.0, hard reset, detached reset, ATan (alpha 2).

The membrane is stored in at least float32 even when the network runs in bfloat16, so
reduced-precision activations do not accumulate rounding error over timesteps.
"""

from __future__ import annotations

import torch
from torch import nn

from cosearch.snn.steps import empty_steps
from cosearch.snn.surrogate import check_surrogate, spike

RESETS = ("zero", "subtract")


class Stateful(nn.Module):
    """A module that keeps state across timesteps; :meth:`reset_state` starts a new sample."""

    def reset_state(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def reset_states(module: nn.Module) -> None:
    """Reset every stateful submodule (call before each new input sequence)."""
    for sub in module.modules():
        if isinstance(sub, Stateful):
            sub.reset_state()


class LIF(Stateful):
    """Multi-step LIF layer: ``forward(x [T, B, ...]) -> spikes [T, B, ...]`` (x's dtype).

    Args:
        tau: membrane time constant [timesteps] (SpikingJelly); mutually exclusive with beta.
        beta: membrane decay per timestep (snnTorch); input is then not scaled.
        threshold: firing threshold V_th.
        reset: ``"zero"`` (hard reset to 0) or ``"subtract"`` (soft reset by V_th).
        surrogate: surrogate gradient name (see :mod:`cosearch.snn.surrogate`).
        surrogate_width: alpha/slope of the surrogate; None = its default.
        detach_reset: stop gradients through the spike in the reset term.

    Attributes:
        v: membrane state after the last timestep (None = reset, i.e. zero).
    """

    def __init__(
        self,
        tau: float | None = 4.0 / 3.0,
        beta: float | None = None,
        threshold: float = 1.0,
        reset: str = "zero",
        surrogate: str = "atan",
        surrogate_width: float | None = None,
        detach_reset: bool = True,
    ) -> None:
        super().__init__()
        if beta is not None:
            if not 0.0 <= beta <= 1.0:
                raise ValueError(f"beta must be in [0, 1] (got {beta})")
            self.decay, self.gain = float(beta), 1.0
        elif tau is not None:
            if tau < 1.0:
                raise ValueError(f"tau must be >= 1 (got {tau})")
            self.decay, self.gain = 1.0 - 1.0 / float(tau), 1.0 / float(tau)
        else:
            raise ValueError("LIF needs tau or beta")
        if reset not in RESETS:
            raise ValueError(f"reset must be one of {', '.join(RESETS)} (got {reset!r})")
        check_surrogate(surrogate)
        self.threshold = float(threshold)
        self.reset = reset
        self.surrogate = surrogate
        self.surrogate_width = surrogate_width
        self.detach_reset = detach_reset
        self.v: torch.Tensor | None = None

    def extra_repr(self) -> str:
        return (f"decay={self.decay:.4g}, gain={self.gain:.4g}, threshold={self.threshold}, reset={self.reset}, "
                f"surrogate={self.surrogate}")

    def reset_state(self) -> None:
        self.v = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state_dtype = torch.promote_types(x.dtype, torch.float32)
        if torch.is_grad_enabled():
            return self._forward_autograd(x, state_dtype)
        return self._forward_fast(x, state_dtype)

    def _forward_fast(self, x: torch.Tensor, state_dtype: torch.dtype) -> torch.Tensor:
        """In-place update without autograd bookkeeping (inference / proxy path)."""
        out = empty_steps(x.shape[0], x[0])
        v = None if self.v is None else self.v.clone()  # never mutate a state the caller may hold
        for t in range(x.shape[0]):
            h = x[t].to(state_dtype, copy=True).mul_(self.gain) if v is None else v.mul_(self.decay).add_(x[t], alpha=self.gain)
            spikes = out[t]
            spikes.copy_((h >= self.threshold).view(torch.uint8))  # uint8 -> float copies vectorise, bool does not
            if self.reset == "zero":
                h.addcmul_(h, spikes, value=-1.0)  # h * (1 - S); faster than masked_fill_
            else:
                h.sub_(spikes, alpha=self.threshold)
            v = h
        self.v = v
        return out

    def _forward_autograd(self, x: torch.Tensor, state_dtype: torch.dtype) -> torch.Tensor:
        spikes = []
        v = self.v
        for t in range(x.shape[0]):
            xt = x[t].to(state_dtype) * self.gain
            h = xt if v is None else v * self.decay + xt
            s = spike(h - self.threshold, self.surrogate, self.surrogate_width)
            r = s.detach() if self.detach_reset else s
            v = h * (1.0 - r) if self.reset == "zero" else h - r * self.threshold
            spikes.append(s.to(x.dtype))
        self.v = v
        return torch.stack(spikes)
