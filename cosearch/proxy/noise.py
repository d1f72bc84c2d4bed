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
2. **Device model** (the card's ``nonideality.model``), per cell:

   * ``none`` (SRAM: digital bits; RRAM until its card gets a model): exact levels, i.e. plain
     ``weight_bits`` weight quantisation.
   * ``pcm_aihwkit`` (IBM aihwkit ``PCMLikeNoiseModel``, Nandakumar et al. ICECS 2019;
     anchors.md section 8), ``g' = g / g_max``:
     programming ``g_p = max(g + sigma_p n, 0)``, ``sigma_p = c0 + c1 g' + c2 g'^2`` uS;
     drift ``g_d = g_p (t / t0)^(-nu)``, ``t = t_inference + t0``,
     ``nu ~ |N(mu_nu, sigma_nu)|``, ``mu_nu = clip(-0.0155 ln g' + 0.0244, 0.049, 0.1)``,
     ``sigma_nu = clip(-0.0125 ln g' - 0.0059, 0.008, 0.045)`` (aihwkit takes the log of the
     *relative* conductance ``g' = g/g_max``, clipped at 1e-7, not of g in uS);
     read (1/f) noise ``g_f = g_d + |g_d| sigma_r n``, ``sigma_r = q_s sqrt(ln((t + t_read) / (2 t_read)))``,
     ``q_s = min(0.0088 / max(g'^0.65, 1e-3), 0.2)``;
     then global drift compensation: the layer's outputs are scaled by
     ``alpha = sum|W_target| / sum|E[W(t)]|`` (aihwkit's ``GlobalDriftCompensation`` reads the
     mean |output| of the programmed and the drifted array; here from expected conductances).
   * ``fefet_d2d``: device-to-device variation ``g_f = g (1 + sigma_rel n)`` (card ``d2d_sigma_rel``).

   The weight's error is drawn as one Gaussian per weight with the **exact mean and variance** of
   the per-cell model above (summed over the S slices and both cells of the pair, with the
   ``max(., 0)`` clamp of level-0 cells' programming noise kept in the moments; the lognormal
   shape of drift and the clamp of non-zero levels are not kept). Per-code moments are tabulated
   once per (device, bits, time), so a layer costs two table look-ups and one ``randn`` per weight
   instead of ``2 S`` per-cell draws.
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

Determinism: the noise draw uses its own generator seeded with ``candidate.seed + NOISE_SEED_OFFSET``;
the noisy pass reuses the clean pass's images and dropout masks (the global RNG state of each
clean repeat is replayed), so the clean score is the same with or without ``noise``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.proxy.kernel import KernelAccumulator, logdet, rows
from cosearch.snn.neuron import LIF
from cosearch.workload import LayerShape

#: Added to the candidate's seed for the noise draw (fixed, so a trial's noisy score is reproducible).
NOISE_SEED_OFFSET = 0x5EED
NOISE_MODELS = ("none", "pcm_aihwkit", "fefet_d2d")
_ZERO_CLIP = 1e-7  # aihwkit's floor of g/g_max inside the drift log


# ------------------------------------------------------------- mapping ----


@dataclass(frozen=True)
class LayerMapping:
    """What the noisy pass needs of one layer's crossbar mapping."""

    slot: int
    device: str
    model: str
    bits_per_cell: int
    weight_bits: int
    adc_bits: int
    xbar_size: int
    params: tuple[tuple[str, Any], ...] = ()  # the device's nonideality block (hashable)

    def param(self, key: str, default: Any = None) -> Any:
        value = dict(self.params).get(key, default)
        if value is None:
            raise ConfigError(f"hw_models/devices/{self.device}.yaml", f"nonideality.{key}",
                              f"missing (the {self.model} noise model needs it)")
        return value


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, (list, tuple)) else value


def layer_mappings(candidate: Candidate, hardware: Any, slots: Iterable[int]) -> dict[int, LayerMapping]:
    """Per slot: the candidate's mapping over ``hardware.defaults`` (a :class:`cosearch.hw.HardwareModel`)."""
    out = {}
    for slot in slots:
        mapping = {**hardware.defaults, **candidate.layer_hardware(slot)}
        device_name = str(mapping["device"])
        if device_name not in hardware.devices:
            raise ConfigError("", "hardware.device",
                              f"unknown device {device_name!r} at layer slot {slot} "
                              f"(cards define: {', '.join(hardware.device_names)})")
        device = hardware.devices[device_name]
        block = dict(device.nonideality)
        model = str(block.get("model", "none"))
        if model not in NOISE_MODELS:
            raise ConfigError(f"hw_models/devices/{device_name}.yaml", "nonideality.model",
                              f"unknown noise model {model!r} (known: {', '.join(NOISE_MODELS)})")
        out[slot] = LayerMapping(
            slot=slot, device=device_name, model=model, bits_per_cell=int(device.bits_per_cell),
            weight_bits=int(mapping["weight_bits"]), adc_bits=int(mapping["adc_bits"]),
            xbar_size=int(mapping["xbar_size"]),
            params=tuple(sorted((k, _freeze(v)) for k, v in block.items() if k != "model")),
        )
    return out


# ------------------------------------------------------- device models ----


def pcm_prog_sigma_us(g_rel: np.ndarray | float, coeffs: Sequence[float] = (0.26348, 1.9650, -1.1731)) -> np.ndarray:
    """aihwkit PCM programming-noise std [uS] at relative conductance ``g' = g / g_max``."""
    g_rel = np.asarray(g_rel, dtype=float)
    return sum(c * g_rel**i for i, c in enumerate(coeffs))


def pcm_drift_nu(
    g_rel: np.ndarray | float,
    mean_coeffs: Sequence[float] = (-0.0155, 0.0244),
    mean_clip: tuple[float, float] = (0.049, 0.1),
    std_coeffs: Sequence[float] = (-0.0125, -0.0059),
    std_clip: tuple[float, float] = (0.008, 0.045),
) -> tuple[np.ndarray, np.ndarray]:
    """aihwkit PCM drift exponent: (mean, std) of nu at ``g' = g / g_max`` (log of g' clipped at 1e-7)."""
    log_g = np.log(np.clip(np.abs(np.asarray(g_rel, dtype=float)), _ZERO_CLIP, None))
    mean = np.clip(mean_coeffs[0] * log_g + mean_coeffs[1], *mean_clip)
    std = np.clip(std_coeffs[0] * log_g + std_coeffs[1], *std_clip)
    return mean, std


def _level_moments(mapping: LayerMapping, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of one cell's read conductance (units of g_max) for each level 0 .. 2^b - 1."""
    levels = 2**mapping.bits_per_cell - 1
    g_rel = np.arange(levels + 1) / levels
    if mapping.model == "none":
        return g_rel, np.zeros_like(g_rel)
    if mapping.model == "fefet_d2d":
        sigma = float(mapping.param("d2d_sigma_rel"))
        return g_rel, (sigma * g_rel) ** 2
    # pcm_aihwkit
    g_max = float(mapping.param("g_max_us"))
    sigma_p = pcm_prog_sigma_us(g_rel, mapping.param("prog_noise_coeffs_us")) / g_max
    mean_nu, std_nu = pcm_drift_nu(
        g_rel, mapping.param("drift_nu_coeffs"),
        (float(mapping.param("drift_nu_min")), float(mapping.param("drift_nu_max"))),
        mapping.param("drift_nu_std_coeffs", (-0.0125, -0.0059)),
        (float(mapping.param("drift_nu_std_min", 0.008)), float(mapping.param("drift_nu_std_max", 0.045))),
    )
    t0 = float(mapping.param("t0_s"))
    t_read = float(mapping.param("t_read_s"))
    t = t_inference_s + t0
    log_t = math.log(t / t0)
    # drift factor d = exp(-L nu), nu ~ N(mean, std): lognormal moments (|nu| folding ignored: mean >= 1.09 std)
    e_d = np.exp(-log_t * mean_nu + 0.5 * (log_t * std_nu) ** 2)
    e_d2 = np.exp(-2 * log_t * mean_nu + 2 * (log_t * std_nu) ** 2)
    q_s = np.minimum(float(mapping.param("read_noise_q", 0.0088))
                     / np.maximum(g_rel ** float(mapping.param("read_noise_exp", 0.65)), 1e-3),
                     float(mapping.param("read_noise_q_max", 0.2)))
    sigma_r = q_s * math.sqrt(math.log((t + t_read) / (2 * t_read)))
    # programmed conductance max(g + sigma_p n, 0): first two moments (the clamp matters at level 0 only)
    mean_p = g_rel.copy()
    second_p = g_rel**2 + sigma_p**2
    mean_p[0] = sigma_p[0] / math.sqrt(2 * math.pi)
    second_p[0] = sigma_p[0] ** 2 / 2
    mean = mean_p * e_d
    second = second_p * e_d2 * (1 + sigma_r**2)
    return mean, np.maximum(second - mean**2, 0.0)


def code_tables(mapping: LayerMapping, t_inference_s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per weight-magnitude code q = 0 .. 2^weight_bits - 1: mean and std of the programmed weight in
    code units (ideal: q), summed over the code's slices and both cells of its differential pair."""
    return _code_tables(dataclasses.replace(mapping, slot=0, adc_bits=1, xbar_size=1), float(t_inference_s))


@functools.lru_cache(maxsize=256)
def _code_tables(mapping: LayerMapping, t_inference_s: float) -> tuple[torch.Tensor, torch.Tensor]:
    b = mapping.bits_per_cell
    cell_max = 2**b - 1
    mean_level, var_level = _level_moments(mapping, t_inference_s)
    codes = np.arange(2**mapping.weight_bits, dtype=np.int64)
    mean = np.zeros(codes.shape)
    var = np.zeros(codes.shape)
    for s in range(math.ceil(mapping.weight_bits / b)):
        level = (codes >> (b * s)) & cell_max
        significance = float(2 ** (b * s) * cell_max)
        mean += significance * (mean_level[level] - mean_level[0])  # G+ cell minus its G- partner at level 0
        var += significance**2 * (var_level[level] + var_level[0])
    return torch.from_numpy(mean).float(), torch.from_numpy(np.sqrt(var)).float()


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
    target = sign * codes  # ideal codes, for the compensation reference
    mean = sign * mean_table[codes]
    total = float(mean.abs().sum())
    alpha = float(target.abs().sum()) / total if total > 0 else 1.0  # global drift compensation
    out = mean
    if bool(std_table.any()):
        noise = torch.randn(w.shape, generator=generator, dtype=torch.float32)
        out = out.add_(noise.mul_(std_table[codes]))
    return out.mul_(alpha * step)


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
    if step:
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
    if step:
        _to_levels_(y, step, adc_bits)
    out = y.sum(0).view(*x.shape[:-1], cout)
    return out.mul_(step) if step else out


def install_adc(module: nn.Module, mapping: LayerMapping) -> None:
    """Make ``module`` (conv or linear, weights already programmed) compute crossbar-grouped,
    ADC-quantised partial sums; :func:`remove_adc` undoes it."""
    bits, size = mapping.adc_bits, mapping.xbar_size
    if isinstance(module, nn.Conv2d):
        def conv_forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
            y = grouped_conv2d(x, weight, module, size, bits)
            return y if bias is None else y + bias.view(1, -1, 1, 1)

        module._conv_forward = conv_forward  # type: ignore[method-assign]
    elif isinstance(module, nn.Linear):
        def linear_forward(x: torch.Tensor) -> torch.Tensor:
            y = grouped_linear(x, module.weight, size, bits)
            return y if module.bias is None else y + module.bias

        module.forward = linear_forward  # type: ignore[method-assign]
    else:
        raise TypeError(f"cannot map {type(module).__name__} onto crossbars")


def remove_adc(module: nn.Module) -> None:
    for name in ("_conv_forward", "forward"):
        module.__dict__.pop(name, None)


# ------------------------------------------------------------ noisy pass ----


class SpikeStore:
    """Keeps the binary spikes of every LIF call of the clean pass's first batch, so the noisy
    pass can count how many spikes the hardware changes (first batch only: memory and time)."""

    def __init__(self, net: nn.Module) -> None:
        self.spikes: list[torch.Tensor] = []
        self.recording = False
        self._handles = [m.register_forward_hook(self._hook) for m in net.modules() if isinstance(m, LIF)]

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

    def __init__(self, net: nn.Module, kind: str, store: SpikeStore) -> None:
        self.kind = kind
        self.store = store
        self.kernel: KernelAccumulator | None = None
        self.clean: list[torch.Tensor] = []
        self.index = 0
        self.mismatch = 0.0
        self.spikes = 0.0
        self._handles = [m.register_forward_hook(self._hook) for m in net.modules() if isinstance(m, LIF)]

    def begin(self, repeat: int, batch_size: int) -> None:
        self.kernel = KernelAccumulator(self.kind, batch_size)
        self.clean = self.store.spikes if repeat == 0 else []
        self.index = 0

    def _hook(self, module: LIF, args: tuple, out: torch.Tensor) -> None:
        assert self.kernel is not None
        noisy_spikes = 0.0
        for t in range(out.shape[0]):
            noisy_spikes += float(self.kernel.add(rows(out[t]), module.copies).sum())
        if not self.clean:
            return
        clean = self.clean[self.index]
        self.index += 1
        self.mismatch += module.copies * float(torch.count_nonzero(out.to(torch.bool) ^ clean))
        self.spikes += module.copies * (noisy_spikes + float(torch.count_nonzero(clean)))

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
    net: nn.Module,
    layers: Sequence[LayerShape],
    candidate: Candidate,
    hardware: Any,
    batches: Sequence[torch.Tensor],
    rng_states: Sequence[torch.Tensor],
    store: SpikeStore,
    kind: str,
    t_inference_s: float,
    adc: bool,
) -> NoiseResult:
    """Program every weight layer of ``net`` (in place), optionally install the ADC, and rerun the
    clean pass's batches (with its dropout RNG states). Call under ``torch.inference_mode()``."""
    mappings = layer_mappings(candidate, hardware, [layer.slot for layer in layers])
    modules = net.weight_layers()
    generator = torch.Generator().manual_seed(int(candidate.seed) + NOISE_SEED_OFFSET)
    errors = {}
    for layer in sorted(layers, key=lambda l: l.slot):
        module = modules[layer.slot]
        mapping = mappings[layer.slot]
        clean = module.weight.detach().float()
        programmed = program_weights(clean, mapping, t_inference_s, generator)
        norm = float(clean.norm())
        errors[layer.slot] = float((programmed - clean).norm()) / norm if norm > 0 else 0.0
        with torch.no_grad():
            module.weight.copy_(programmed)
        if adc:
            install_adc(module, mapping)
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


def default_hardware(project_dir: Any = None, section: Mapping[str, Any] | None = None) -> Any:
    """Hardware cards as the cost evaluator loads them: ``load_hardware(project_dir, **section)``
    (``section`` = the experiment's ``hardware`` section; default: the package's own cards)."""
    from pathlib import Path

    from cosearch.hw import load_hardware

    section = dict(section or {})
    allowed = ("cards", "node_nm", "defaults", "overrides")
    for key in section:
        if key not in allowed:
            raise ConfigError("", f"hardware.{key}", f"unknown key (allowed: {', '.join(allowed)})")
    root = Path(project_dir) if project_dir is not None else Path(__file__).resolve().parents[2]
    return load_hardware(project_dir=root, cards=section.get("cards"), node_nm=section.get("node_nm"),
                         defaults=section.get("defaults"), overrides=section.get("overrides"))
