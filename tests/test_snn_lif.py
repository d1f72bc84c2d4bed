"""LIF dynamics against the closed form, resets, surrogate gradients."""

from __future__ import annotations

import math

import pytest
import torch

from cosearch.snn import LIF, SURROGATES, spike, surrogate_grad


def _run_steps(lif: LIF, x: torch.Tensor) -> tuple[list[float], list[float]]:
    spikes, membranes = [], []
    for t in range(x.shape[0]):
        spikes.append(float(lif(x[t : t + 1]).detach().flatten()[0]))
        membranes.append(float(lif.v.detach().flatten()[0]))
    return spikes, membranes


@pytest.mark.parametrize("grad", [False, True])
def test_snasnet_lif_matches_closed_form(grad: bool) -> None:
    # tau = 4/3: V[t] = 0.25 V[t-1] + 0.75 X[t]; constant X = 0.8 never fires (V -> 0.8):
    # V[t] = 0.8 * (1 - 0.25^(t+1)).
    lif = LIF()
    x = torch.full((6, 1, 1), 0.8, requires_grad=grad)
    with torch.set_grad_enabled(grad):
        spikes, membranes = _run_steps(lif, x)
    assert spikes == [0.0] * 6
    for t, v in enumerate(membranes):
        assert v == pytest.approx(0.8 * (1 - 0.25 ** (t + 1)), abs=1e-6)


@pytest.mark.parametrize("grad", [False, True])
def test_hard_and_soft_reset_sequences(grad: bool) -> None:
    x = torch.full((6, 1, 1), 1.2, requires_grad=grad)
    with torch.set_grad_enabled(grad):
        hard = _run_steps(LIF(reset="zero"), x)
        soft = _run_steps(LIF(reset="subtract"), x)
    # H0 = 0.9; H1 = 0.225 + 0.9 = 1.125 -> spike, reset to 0 (hard) or 0.125 (soft).
    assert hard[0] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert hard[1][:2] == pytest.approx([0.9, 0.0])
    assert soft[0] == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert soft[1][1] == pytest.approx(0.125)
    assert soft[1][2] == pytest.approx(0.125 * 0.25 + 0.9)


def test_multi_step_equals_single_steps_and_reset_state() -> None:
    x = torch.rand(7, 3, 4, 5, 5) * 2
    lif = LIF()
    with torch.inference_mode():
        whole = lif(x)
        lif.reset_state()
        parts = torch.cat([lif(x[:3]), lif(x[3:])])
    torch.testing.assert_close(whole, parts)
    with torch.no_grad():
        lif.reset_state()
        torch.testing.assert_close(lif(x), whole)  # the autograd path gives the same spikes
    assert 0 < float(whole.mean()) < 1


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_path_is_the_float32_dynamics_bit_for_bit(reset: str, dtype: torch.dtype) -> None:
    # the no-grad path widens a reduced-precision input into a float32 buffer per step: the same
    # spikes and float32 membranes as float32 input with the same values, and in float32 the same
    # as the autograd path, bit for bit, in both memory layouts
    x = (torch.rand(5, 3, 4, 6, 6) * 2.5).to(dtype).contiguous()
    frames = x.flatten(0, 1).contiguous(memory_format=torch.channels_last).view(x.shape)
    for inputs in (x, frames):
        fast, wide, slow = LIF(reset=reset), LIF(reset=reset), LIF(reset=reset)
        with torch.inference_mode():
            first = fast(inputs[:2])
            held, before = fast.v.clone(), fast.v
            spikes = torch.cat([first, fast(inputs[2:])])
            widened = torch.cat([wide(inputs[:2].float()), wide(inputs[2:].float())])
        assert torch.equal(before, held)  # a state the caller held is not written over
        assert spikes.dtype == dtype and fast.v.dtype == torch.float32
        assert torch.equal(spikes.float(), widened) and torch.equal(fast.v, wide.v)
        with torch.enable_grad():
            autograd = torch.cat([slow(inputs[:2].float()), slow(inputs[2:].float())]).detach()
        assert torch.equal(widened, autograd) and torch.equal(wide.v, slow.v.detach())
        assert 0 < float(widened.mean()) < 1


def test_beta_parameterisation_does_not_scale_input() -> None:
    lif = LIF(tau=None, beta=0.5, threshold=10.0)
    with torch.no_grad():
        lif(torch.full((2, 1), 1.0))
    assert float(lif.v) == pytest.approx(1.5)  # 0.5 * 1 + 1


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="reset"):
        LIF(reset="soft")
    with pytest.raises(ValueError, match="surrogate"):
        LIF(surrogate="relu")


@pytest.mark.parametrize("name", SURROGATES)
def test_surrogate_gradient_flows(name: str) -> None:
    lif = LIF(surrogate=name, detach_reset=True)
    x = torch.tensor([[0.3], [1.5]], requires_grad=True)
    lif(x).sum().backward()
    assert x.grad is not None and bool((x.grad != 0).all())


def test_atan_derivative_value() -> None:
    x = torch.tensor([0.0, 0.5, -0.2], requires_grad=True)
    spike(x, "atan").sum().backward()
    expected = (2 / 2) / (1 + (math.pi / 2 * 2 * x.detach()) ** 2)
    torch.testing.assert_close(x.grad, expected)
    torch.testing.assert_close(surrogate_grad(x.detach(), "atan"), expected)
    assert spike(torch.tensor([-1e-6, 0.0, 1.0])).tolist() == [0.0, 1.0, 1.0]


def _composed_lif(lif: LIF, x: torch.Tensor, v: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The LIF dynamics written out op by op under autograd (the reference for the fused BPTT node)."""
    spikes = []
    for t in range(x.shape[0]):
        h = x[t] * lif.gain if v is None else v * lif.decay + x[t] * lif.gain
        s = spike(h - lif.threshold, lif.surrogate, lif.surrogate_width)
        r = s.detach() if lif.detach_reset else s
        v = h * (1.0 - r) if lif.reset == "zero" else h - r * lif.threshold
        spikes.append(s)
    assert v is not None
    return torch.stack(spikes), v


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("detach_reset", [True, False])
@pytest.mark.parametrize("surrogate", ["atan", "sigmoid"])
def test_fused_bptt_matches_the_composed_ops(reset: str, detach_reset: bool, surrogate: str) -> None:
    torch.manual_seed(0)
    lif = LIF(reset=reset, detach_reset=detach_reset, surrogate=surrogate)
    x = (torch.randn(4, 3, 5) * 1.5).requires_grad_()
    weights = torch.randn(4, 3, 5)
    lif.reset_state()
    first = lif(x[:2])  # two calls: the membrane state carries the gradient across them
    second = lif(x[2:])
    assert lif.v is not None
    fused, = torch.autograd.grad((torch.cat([first, second]) * weights).sum() + lif.v.sum(), x)
    s1, v1 = _composed_lif(lif, x[:2], None)
    s2, v2 = _composed_lif(lif, x[2:], v1)
    reference, = torch.autograd.grad((torch.cat([s1, s2]) * weights).sum() + v2.sum(), x)
    assert torch.equal(torch.cat([first, second]), torch.cat([s1, s2]))
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)
