"""Noise-aware scoring: the proxy re-run with every weight layer as its crossbars would compute it.

For each crossbar-mapped layer (slot) the mapping -- device, ``weight_bits``, ``adc_bits``,
``xbar_size`` -- is ``candidate.layer_hardware(slot)`` over the hardware cards' defaults, the same
resolution the cost model uses (:func:`cosearch.hw.map_candidates`). Then:

1. **Weights -> conductances.** ``W`` is scaled so ``max|W|`` maps to ``g_max``; the magnitude is
   quantised to a ``weight_bits``-bit code ``q`` (sign carried by a differential pair G+ / G-, as
   aihwkit's single-pair converter with ``g_min = 0``), and ``q`` is sliced over
   ``S = ceil(weight_bits / b_cell)`` cells of ``b_cell`` bits (the device card's
   ``bits_per_cell``): slice ``s`` holds level ``c_s`` in ``0 .. 2^b_cell - 1`` at conductance
   ``g = c_s / (2^b_cell - 1) * g_max`` with significance ``2^(b_cell s)``. The other cell of each
   pair (and every cell at level 0) is programmed to ``g = 0``.
2. **Device model** (the card's ``nonideality.model``; the numpy physics and its sources are in
   :mod:`cosearch.hw.device`, every parameter from the device card): ``none`` (exact levels, i.e.
   plain ``weight_bits`` weight quantisation), ``pcm_aihwkit`` (aihwkit's PCM programming noise,
   drift and 1/f read noise) or ``fefet_d2d`` (device-to-device variation). After drift the
   layer's outputs are scaled by ``alpha = sum|W_target| / sum|E[W(t)]|`` (global drift
   compensation: aihwkit's ``GlobalDriftCompensation`` reads the mean |output| of the programmed
   and the drifted array; here from expected conductances).

   The weight's error is drawn as one Gaussian per weight with the **exact mean and variance** of
   the per-cell model (:func:`cosearch.hw.code_moments`: summed over the S slices and both cells
   of the pair, with the ``max(., 0)`` clamp of level-0 cells' programming noise kept in the
   moments; the lognormal shape of drift and the clamp of non-zero levels are not kept). Per-code
   moments are tabulated once per (device, bits, time), so a layer costs two table look-ups and
   one ``randn`` per weight instead of ``2 S`` per-cell draws.
3. **ADC quantisation of partial sums.** The rows of a layer (``Cin k^2``) are split into crossbar
   row groups: a conv keeps ``Cin_g = max(1, floor(xbar_size / k^2))`` input channels per group
   (``G = ceil(Cin / Cin_g)``, the last group zero-padded), a linear layer ``xbar_size`` inputs per
   group. Each group's partial sum is computed separately (one grouped convolution with weights
   ``[G Cout, Cin_g, k, k]`` and ``groups=G``, or one batched matmul), quantised to
   ``2^adc_bits - 1`` uniform levels over ``[-r, r]`` (step ``2r / (2^adc_bits - 2)``, aihwkit's
   ``out_res = 1/(2^b - 2)``; 1 bit: ``+-r``), with ``r = max|partial sum|`` of the layer's call
   (all timesteps and images of the batch pass through one call, so ``r`` is calibrated on the
   batch), then the groups are added digitally and the bias is added. Column sharing changes
   only how many conversions one ADC does (latency, area), not the values: it does not enter here.

:func:`program_network` programs a network's weight layers onto the candidate's devices (steps 1-2);
:func:`noisy_pass` adds the ADC (step 3) and reruns the clean pass's batches.

Determinism: the noise draw uses its own generator seeded with ``candidate.seed + NOISE_SEED_OFFSET``;
the noisy pass reuses the clean pass's images and dropout masks (the global RNG state of each
clean repeat is replayed), so the clean score is the same with or without ``noise``. Nothing
depends on torch's thread count (:mod:`cosearch.snn.threads`): totals over a layer's weights are
integer counts or :func:`~cosearch.snn.threads.ordered_sum`; the crossbar groups' partial sums
are added by a reduction with one output per pixel and channel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw import DeviceNoise, HardwareModel, code_moments
from cosearch.proxy.kernel import KernelAccumulator, logdet, rows
from cosearch.snn.neuron import LIF
from cosearch.snn.protocol import SpikingNetwork
from cosearch.snn.threads import ordered_sum
from cosearch.workload import LayerShape

#: Added to the candidate's seed for the noise draw (fixed, so a trial's noisy score is reproducible).
NOISE_SEED_OFFSET = 0x5EED


# ------------------------------------------------------------- mapping ----


@dataclass(frozen=True)
class LayerMapping:
    """What the noisy pass needs of one layer's crossbar mapping (``noise``: the device's model)."""

    slot: int
    device: str
    bits_per_cell: int
    weight_bits: int
    adc_bits: int
    xbar_size: int
    noise: DeviceNoise


def layer_mappings(candidate: Candidate, hardware: HardwareModel, slots: Iterable[int]) -> dict[int, LayerMapping]:
    """Per slot: the candidate's mapping over ``hardware.defaults``."""
    out = {}
    for slot in slots:
        mapping = {**hardware.defaults, **candidate.layer_hardware(slot)}
        device_name = str(mapping["device"])
        if device_name not in hardware.devices:
            raise ConfigError("", "hardware.device",
                              f"unknown device {device_name!r} at layer slot {slot} "
                              f"(cards define: {', '.join(hardware.device_names)})")
        device = hardware.devices[device_name]
        out[slot] = LayerMapping(
            slot=slot, device=device_name, bits_per_cell=int(device.bits_per_cell),
            weight_bits=int(mapping["weight_bits"]), adc_bits=int(mapping["adc_bits"]),
            xbar_size=int(mapping["xbar_size"]), noise=device.noise,
        )
    return out


# ------------------------------------------------------ programming ----


def code_tables(mapping: LayerMapping, t_inference_s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per weight-magnitude code q = 0 .. 2^weight_bits - 1: mean and std (float32) of the programmed
    weight in code units (ideal: q), from :func:`cosearch.hw.code_moments`."""
    return _code_tables(mapping.noise, mapping.bits_per_cell, mapping.weight_bits, float(t_inference_s))


@functools.lru_cache(maxsize=256)
def _code_tables(noise: DeviceNoise, bits_per_cell: int, weight_bits: int,
                 t_inference_s: float) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = code_moments(noise, bits_per_cell, weight_bits, t_inference_s)
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


def program_weights(weight: torch.Tensor, mapping: LayerMapping, t_inference_s: float,
                    generator: torch.Generator | None) -> torch.Tensor:
    """The weights as the layer's crossbars hold them at inference time (float32, same shape).

    Quantised to ``weight_bits``, perturbed by the device model (one Gaussian draw per weight with
    the per-cell model's moments, see the module docstring) and drift-compensated.
    """
    w = weight.detach().float()
    w_max = float(w.abs().max())
    if w_max == 0.0:
        return w.clone()
    top = 2**mapping.weight_bits - 1
    step = w_max / top
    codes = torch.round(w.abs() / step).long()
    mean_table, std_table = code_tables(mapping, float(t_inference_s))
    sign = torch.sign(w)
    mean = sign * mean_table[codes]
    # global drift compensation: sum of |ideal codes| over sum of |expected programmed codes|, from
    # how many non-zero weights hold each code (exact integer counts, so the same at any thread count)
    held = torch.bincount(codes[w != 0], minlength=top + 1)
    target_total = float(int((held * torch.arange(top + 1)).sum()))
    total = ordered_sum(held.double() * mean_table.abs().double())
    alpha = target_total / total if total > 0 else 1.0
    out = mean
    if bool(std_table.any()):
        noise = torch.randn(w.shape, generator=generator, dtype=torch.float32)
        out = out.add_(noise.mul_(std_table[codes]))
    return out.mul_(alpha * step)


@dataclass(frozen=True)
class ProgrammedLayer:
    """One programmed weight layer: its mapping and relative weight error ``||W_hw - W|| / ||W||``."""

    mapping: LayerMapping
    weight_error: float


def program_network(net: SpikingNetwork, candidate: Candidate, hardware: HardwareModel, t_inference_s: float,
                    slots: Iterable[int] | None = None) -> dict[int, ProgrammedLayer]:
    """Program weight layers of ``net`` in place onto the candidate's devices (:func:`program_weights`).

    Args:
        net: the network; its ``weight_layers()`` give the modules per slot.
        candidate: the mapping (over ``hardware.defaults``) and the seed of the noise draw
            (``candidate.seed + NOISE_SEED_OFFSET``, drawn layer by layer in slot order).
        hardware: the loaded cards.
        t_inference_s: time since programming at which the weights are read [s].
        slots: the layers to program (default: every weight layer).

    Returns:
        slot -> its mapping and weight error, in slot order.
    """
    modules = net.weight_layers()
    chosen = sorted(modules if slots is None else slots)
    mappings = layer_mappings(candidate, hardware, chosen)
    generator = torch.Generator().manual_seed(int(candidate.seed) + NOISE_SEED_OFFSET)
    out = {}
    for slot in chosen:
        weight = modules[slot].weight
        assert isinstance(weight, torch.Tensor)
        clean = weight.detach().float()
        programmed = program_weights(clean, mappings[slot], t_inference_s, generator)
        norm = math.sqrt(ordered_sum(clean.double().square_()))  # float64, the same at any thread count
        error = math.sqrt(ordered_sum((programmed.double() - clean.double()).square_())) / norm if norm > 0 else 0.0
        with torch.no_grad():
            weight.copy_(programmed)
        out[slot] = ProgrammedLayer(mapping=mappings[slot], weight_error=error)
    return out


# ------------------------------------------------------ ADC partial sums ----


def adc_step(y: torch.Tensor, adc_bits: int) -> float:
    """ADC step over ``[-r, r]``, ``r = max|y|``: ``2r / (2^adc_bits - 2)`` (1 bit: ``2r``, levels ``+-r``); 0 when y == 0."""
    if not y.numel():
        return 0.0
    r = max(-float(y.amin()), float(y.amax()))  # two reductions beat aminmax / abs().amax() on CPU
    return 2.0 * r / (2**adc_bits - 2) if adc_bits > 1 else 2.0 * r


def _to_levels_(y: torch.Tensor, step: float, adc_bits: int) -> torch.Tensor:
    """In place: y in units of ``step``, rounded to the ADC's levels (integers; half-integers for 1 bit)."""
    if adc_bits <= 1:
        return y.sign_().mul_(0.5)
    return y.mul_(1.0 / step).round_()


def quantise_psum_(y: torch.Tensor, adc_bits: int) -> torch.Tensor:
    """In place: uniform ``2^adc_bits - 1`` levels over ``[-r, r]``, ``r = max|y|`` (1 bit: ``+-r``)."""
    step = adc_step(y, adc_bits)
    return y if step == 0.0 else _to_levels_(y, step, adc_bits).mul_(step)


def conv_groups(cin: int, kernel: int, xbar_size: int) -> tuple[int, int]:
    """(input channels per crossbar row group, number of groups) of a conv layer."""
    per_group = max(1, xbar_size // (kernel * kernel))
    return per_group, math.ceil(cin / per_group)


def grouped_conv2d(x: torch.Tensor, weight: torch.Tensor, conv: nn.Conv2d, xbar_size: int,
                   adc_bits: int | None) -> torch.Tensor:
    """4-D conv whose crossbar row groups' partial sums are computed apart, ADC-quantised
    (``adc_bits=None``: not quantised) and then added: ``[N, Cin, H, W] -> [N, Cout, H', W']`` (no bias)."""
    cout, cin, kh, kw = weight.shape
    per_group, groups = conv_groups(cin, kh, xbar_size)
    if groups == 1:
        y = F.conv2d(x, weight, None, conv.stride, conv.padding, conv.dilation)
        return y if adc_bits is None else quantise_psum_(y, adc_bits)
    padded = groups * per_group
    if padded != cin:
        xp = torch.empty((x.shape[0], padded, *x.shape[2:]), dtype=x.dtype, memory_format=torch.channels_last)
        xp[:, cin:] = 0
        xp[:, :cin] = x
        wp = weight.new_zeros((cout, padded, kh, kw))
        wp[:, :cin] = weight
    else:
        xp, wp = x, weight
    wg = wp.reshape(cout, groups, per_group, kh, kw).transpose(0, 1).reshape(groups * cout, per_group, kh, kw)
    wg = wg.contiguous(memory_format=torch.channels_last)
    y = F.conv2d(xp, wg, None, conv.stride, conv.padding, conv.dilation, groups=groups)
    step = 0.0 if adc_bits is None else adc_step(y, adc_bits)
    if step and adc_bits is not None:
        _to_levels_(y, step, adc_bits)  # sum the integer ADC codes, scale once after the sum
    out = y.view(y.shape[0], groups, cout, *y.shape[2:]).sum(1)
    return out.mul_(step) if step else out


def grouped_linear(x: torch.Tensor, weight: torch.Tensor, xbar_size: int, adc_bits: int | None) -> torch.Tensor:
    """``x [..., F] @ W^T`` with partial sums over groups of ``xbar_size`` inputs, ADC-quantised, then added (no bias)."""
    cout, fan_in = weight.shape
    groups = math.ceil(fan_in / xbar_size)
    if groups == 1:
        y = F.linear(x, weight)
        return y if adc_bits is None else quantise_psum_(y, adc_bits)
    padded = groups * xbar_size
    x2 = x.reshape(-1, fan_in)
    wt = weight.t()
    if padded != fan_in:
        x2 = F.pad(x2, (0, padded - fan_in))
        wt = F.pad(wt, (0, 0, 0, padded - fan_in))
    xg = x2.view(-1, groups, xbar_size).transpose(0, 1)  # [G, M, X]
    y = torch.bmm(xg, wt.reshape(groups, xbar_size, cout))  # [G, M, Cout]
    step = 0.0 if adc_bits is None else adc_step(y, adc_bits)
    if step and adc_bits is not None:
        _to_levels_(y, step, adc_bits)
    out = y.sum(0).view(*x.shape[:-1], cout)
    return out.mul_(step) if step else out


CrossbarProduct = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(input, programmed weight) -> output without bias``: what a layer's crossbars compute."""


def hook_crossbars(module: nn.Module, product: CrossbarProduct) -> None:
    """Make ``module`` (conv or linear, weights already programmed) compute ``product`` plus its
    bias instead of its exact product; :func:`remove_adc` undoes it."""
    if isinstance(module, nn.Conv2d):
        def conv_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
            y = product(x, weight)
            return y if bias is None else y + bias.view(1, -1, 1, 1)

        module._conv_forward = conv_forward  # type: ignore[method-assign, assignment]
    elif isinstance(module, nn.Linear):
        def linear_forward(x: torch.Tensor) -> torch.Tensor:
            y = product(x, module.weight)
            return y if module.bias is None else y + module.bias

        module.forward = linear_forward  # type: ignore[method-assign, assignment]
    else:
        raise TypeError(f"cannot map {type(module).__name__} onto crossbars")


def install_adc(module: nn.Module, mapping: LayerMapping) -> None:
    """Make ``module`` (conv or linear, weights already programmed) compute crossbar-grouped,
    ADC-quantised partial sums; :func:`remove_adc` undoes it."""
    bits, size = mapping.adc_bits, mapping.xbar_size
    if isinstance(module, nn.Conv2d):
        hook_crossbars(module, lambda x, weight: grouped_conv2d(x, weight, module, size, bits))
    else:
        hook_crossbars(module, lambda x, weight: grouped_linear(x, weight, size, bits))


def remove_adc(module: nn.Module) -> None:
    for name in ("_conv_forward", "forward"):
        module.__dict__.pop(name, None)


# ------------------------------------------------------------ noisy pass ----


class SpikeStore:
    """Keeps the binary spikes of every LIF call of the clean pass's first batch, so the noisy
    pass can count how many spikes the hardware changes (first batch only: memory and time)."""

    def __init__(self, net: SpikingNetwork) -> None:
        self.spikes: list[torch.Tensor] = []
        self.recording = False
        self._handles = [m.register_forward_hook(self._hook) for m, _ in net.spiking_layers().values()]

    def begin(self, repeat: int) -> None:
        self.recording = repeat == 0

    def _hook(self, module: LIF, args: tuple, out: torch.Tensor) -> None:
        if self.recording:
            self.spikes.append(out.to(torch.bool))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


class _NoisyRecorder:
    """Kernel of the noisy pass plus spike mismatch against the stored clean spikes."""

    def __init__(self, net: SpikingNetwork, kind: str, store: SpikeStore) -> None:
        self.kind = kind
        self.store = store
        self.kernel: KernelAccumulator | None = None
        self.clean: list[torch.Tensor] = []
        self.index = 0
        self.mismatch = 0.0
        self.spikes = 0.0
        self._handles = [m.register_forward_hook(self._hook(copies)) for m, copies in net.spiking_layers().values()]

    def begin(self, repeat: int, batch_size: int) -> None:
        self.kernel = KernelAccumulator(self.kind, batch_size)
        self.clean = self.store.spikes if repeat == 0 else []
        self.index = 0

    def _hook(self, copies: int) -> Callable[[LIF, tuple, torch.Tensor], None]:
        """Forward hook of one LIF layer standing for ``copies`` reference LIF layers."""
        def hook(module: LIF, args: tuple, out: torch.Tensor) -> None:
            assert self.kernel is not None
            noisy_spikes = 0.0
            for t in range(out.shape[0]):
                noisy_spikes += float(self.kernel.add(rows(out[t]), copies).sum())
            if not self.clean:
                return
            clean = self.clean[self.index]
            self.index += 1
            self.mismatch += copies * float(torch.count_nonzero(out.to(torch.bool) ^ clean))
            self.spikes += copies * (noisy_spikes + float(torch.count_nonzero(clean)))

        return hook

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


@dataclass
class NoiseResult:
    """Outcome of the noisy pass.

    Attributes:
        score: mean log|det K| of the noisy network over the same batches (may be -inf).
        repeat_scores: per batch.
        spike_mismatch: spikes that differ between the clean and the noisy pass over spikes of
            both passes, ``|S_c xor S_n| / (|S_c| + |S_n|)`` (0 = identical, 1 = disjoint), on
            the first batch.
        weight_error: mean over layers of ``||W_hw - W|| / ||W||`` (quantisation + device noise).
        layer_weight_error: slot -> that layer's relative weight error.
    """

    score: float
    repeat_scores: list[float]
    spike_mismatch: float
    weight_error: float
    layer_weight_error: dict[int, float] = field(default_factory=dict)


def noisy_pass(
    net: SpikingNetwork,
    layers: Sequence[LayerShape],
    candidate: Candidate,
    hardware: HardwareModel,
    batches: Sequence[torch.Tensor],
    rng_states: Sequence[torch.Tensor],
    store: SpikeStore,
    kind: str,
    t_inference_s: float,
    adc: bool,
) -> NoiseResult:
    """Program every weight layer of ``net`` (in place, :func:`program_network`), optionally install
    the ADC, and rerun the clean pass's batches (with its dropout RNG states). Call under
    ``torch.inference_mode()``."""
    programmed = program_network(net, candidate, hardware, t_inference_s, [layer.slot for layer in layers])
    modules = net.weight_layers()
    errors = {slot: entry.weight_error for slot, entry in programmed.items()}
    if adc:
        for slot, entry in programmed.items():
            install_adc(modules[slot], entry.mapping)
    recorder = _NoisyRecorder(net, kind, store)
    scores = []
    try:
        for repeat, (batch, state) in enumerate(zip(batches, rng_states)):
            torch.set_rng_state(state)
            recorder.begin(repeat, batch.shape[0])
            net(batch)
            assert recorder.kernel is not None
            scores.append(logdet(recorder.kernel.matrix()))
    finally:
        recorder.remove()
        for layer in layers:
            remove_adc(modules[layer.slot])
    return NoiseResult(
        score=-math.inf if any(s == -math.inf for s in scores) else float(np.mean(scores)),
        repeat_scores=scores,
        spike_mismatch=recorder.mismatch / recorder.spikes if recorder.spikes else 0.0,
        weight_error=float(np.mean(list(errors.values()))) if errors else 0.0,
        layer_weight_error=errors,
    )
