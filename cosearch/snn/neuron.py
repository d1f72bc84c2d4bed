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
from cosearch.snn.surrogate import check_surrogate

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
        """Update without autograd bookkeeping (inference / proxy path): the float32 dynamics of the
        autograd path, bit for bit. Every elementwise pass runs in the state's dtype: a reduced-precision input
        is widened once per timestep into one buffer, as are its spikes for the reset, because
        torch's mixed-dtype in-place ops allocate and convert a temporary per call (3-4x the time
        of the same op on equal dtypes)."""
        out = empty_steps(x.shape[0], x[0])
        wide = None if x.dtype == state_dtype else torch.empty_like(x[0], dtype=state_dtype)
        v = self.v
        for t in range(x.shape[0]):
            xt = x[t] if wide is None else wide.copy_(x[t])
            if v is None:
                h = torch.mul(xt, self.gain)
            elif t == 0:  # out of place: never mutate a state the caller may hold
                h = torch.mul(v, self.decay).add_(xt, alpha=self.gain)
            else:
                h = v.mul_(self.decay).add_(xt, alpha=self.gain)
            spikes = out[t]
            spikes.copy_((h >= self.threshold).view(torch.uint8))  # uint8 -> float copies vectorise, bool does not
            fired = spikes if wide is None else wide.copy_(spikes)
            if self.reset == "zero":
                h.addcmul_(h, fired, value=-1.0)  # h * (1 - S); faster than masked_fill_
            else:
                h.sub_(fired, alpha=self.threshold)
            v = h
        self.v = v
        return out

    def _forward_autograd(self, x: torch.Tensor, state_dtype: torch.dtype) -> torch.Tensor:
        """BPTT path: :class:`_LIFSteps` (same values and surrogate gradients as composing the
        per-timestep ops under autograd, with a fraction of the tensor passes)."""
        spikes, v = _LIFSteps.apply(x, self.v, self, state_dtype)
        self.v = v
        return spikes


class _LIFSteps(torch.autograd.Function):
    """All timesteps of one LIF layer as one autograd node.

    Forward: the dynamics of the module docstring, saving the membrane ``H[t]`` only. Backward,
    from t = T-1 down to 0, with ``sg = surrogate'(H[t] - V_th)`` and ``g_V`` the gradient
    reaching ``V[t]`` (from the next timestep, or from the caller through the returned state)::

        dV/dH = 1 - S          (zero reset; - H * sg without detach_reset)
        dV/dH = 1              (subtract reset; - V_th * sg without detach_reset)
        g_H   = g_S[t] * sg + g_V * dV/dH
        g_X[t] = gain * g_H,   g_V <- decay * g_H
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, v0: torch.Tensor | None, lif: LIF, state_dtype: torch.dtype):
        steps = x.shape[0]
        out = empty_steps(steps, x[0])
        membranes = empty_steps(steps, x[0].to(state_dtype))
        v = v0
        for t in range(steps):
            h = membranes[t]
            if v is None:
                torch.mul(x[t], lif.gain, out=h)
            else:
                torch.add(v * lif.decay, x[t], alpha=lif.gain, out=h)
            fired = h >= lif.threshold
            out[t].copy_(fired)
            v = h * ~fired if lif.reset == "zero" else h - fired * lif.threshold
        ctx.lif, ctx.has_v0 = lif, v0 is not None
        ctx.save_for_backward(membranes)
        return out, v

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor, grad_v: torch.Tensor | None):
        (membranes,) = ctx.saved_tensors
        lif: LIF = ctx.lif
        derivative, default = check_surrogate(lif.surrogate)
        width = default if lif.surrogate_width is None else float(lif.surrogate_width)
        grad_x = torch.empty_like(grad_spikes)
        g_v = grad_v
        for t in range(membranes.shape[0] - 1, -1, -1):
            h = membranes[t]
            sg = derivative(h - lif.threshold, width)
            g_h = grad_spikes[t].to(h.dtype) * sg
            if g_v is not None:
                if lif.reset == "zero":
                    dv_dh = (h < lif.threshold).to(h.dtype)
                    if not lif.detach_reset:
                        dv_dh = dv_dh - h * sg
                else:
                    dv_dh = torch.ones_like(h) if lif.detach_reset else 1.0 - lif.threshold * sg
                g_h = g_h + g_v * dv_dh
            grad_x[t] = g_h * lif.gain
            g_v = g_h * lif.decay
        return grad_x, (g_v if ctx.has_v0 else None), None, None
