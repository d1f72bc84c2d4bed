"""Training-free proxy of a candidate: build its SNN at a chosen fidelity, run image batches at
initialisation, score the spike patterns (log-det of a kernel), the synaptic flow of the same
weights (:mod:`cosearch.proxy.synflow`) and report spiking activity.

Procedure (SNASNet, Kim et al., ECCV 2022; anchors.md section 1): the network is freshly
initialised from the candidate's seed and run in training mode (batch norm uses the batch's
statistics, as in the reference search code) without gradients; ``repeats`` different batches
of ``batch_size`` training images pass through the *same* network, each gives
``log|det K|`` and the score is their mean (``-inf`` when any K is singular).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import torch

from cosearch.core.allocation import keep_freed_memory
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.settings import Rule, Settings
from cosearch.data import EventSet, ImageSet
from cosearch.hw import HardwareModel, load_hardware_section
from cosearch.proxy.kernel import KERNELS, logdet
from cosearch.proxy.noise import NoiseResult, SpikeStore, noisy_pass
from cosearch.proxy.recorder import SpikeRecorder
from cosearch.proxy.synflow import synflow
from cosearch.snn import build
from cosearch.snn.device import DEVICE_CHOICES, check_device, resolve_device
from cosearch.snn.layers import use_integer_convs
from cosearch.workload import network_layers, network_slots, scale_channels

#: The metrics of :meth:`ProxyResult.metrics`: always (``PER_LAYER_METRICS`` are a dict and a list,
#: the others numbers) and, with ``noise``, ``NOISY_METRICS`` too.
CLEAN_METRICS = ("proxy_score", "proxy_synflow", "proxy_firing_rate", "proxy_spike_count", "proxy_synops", "proxy_layer_firing_rates",
                 "proxy_input_activity")
NOISY_METRICS = ("proxy_score_noisy", "proxy_score_drop", "proxy_noise_spike_mismatch", "proxy_noise_weight_error",
                 "proxy_accuracy_estimate")
PER_LAYER_METRICS = ("proxy_layer_firing_rates", "proxy_input_activity")

#: The batch size the default ``mismatch_weight`` of ``proxy_accuracy_estimate`` was chosen at.
MISMATCH_WEIGHT_BATCH = 64
#: The default ``mismatch_weight`` (chosen at :data:`MISMATCH_WEIGHT_BATCH`, see :class:`ProxySettings`).
MISMATCH_WEIGHT = 4.0

#: ``proxy.dtype`` -> the dtype the network is built in; ``int8`` is a bfloat16 network whose
#: spike convolutions run as int8 GEMMs (:class:`cosearch.snn.layers.SpikeConv2d`).
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "int8": torch.bfloat16}


class ProxySettings(Settings):
    """The experiment's ``proxy`` section (a pydantic model, :class:`cosearch.core.settings.Settings`:
    values of the wrong type are refused when it is made, :meth:`from_mapping` names them and
    checks the ranges; numbers of float fields are stored as floats).

    Attributes:
        kernel: ``hamming`` (SNASNet's sparsity-aware kernel) or ``naswot``.
        batch_size: images per batch B (K is B x B). SNASNet: 256.
        repeats: batches per candidate (score = mean log-det). SNASNet: 2.
        channel_scale: fidelity factor applied to the genome's channel counts (1.0 = as sampled).
        dtype: ``float32`` or ``bfloat16`` for weights and activations (membranes stay float32;
            bfloat16 is 3-6x faster on CPUs with AMX/AVX512-BF16 and changes scores slightly), or
            ``int8``: bfloat16, except that every convolution of spikes runs as an int8 GEMM with
            weights rounded to 8 bits per output channel (:mod:`cosearch.snn.spike_conv`; the
            fastest at wide layers, C >= 128, on CPUs with AVX512-VNNI or AMX; scores change
            slightly, as with bfloat16).
        time_chunk: timesteps run per pass (None = all T at once); lower it to cap memory.
        noise: also score the network as its crossbars compute it (device noise from the hardware
            cards, weight quantisation, ADC-quantised partial sums; :mod:`cosearch.proxy.noise`):
            adds ``proxy_score_noisy``, ``proxy_score_drop``, ``proxy_accuracy_estimate`` and the
            noise diagnostics.
        noise_t_inference_s: time since programming at which the noisy network is read [s]
            (PCM drift and 1/f read noise); default 1 day.
        adc_quantisation: with ``noise``, quantise each crossbar row group's partial sum to the
            layer's ``adc_bits`` (False: device noise and weight quantisation only).
        mismatch_weight: with ``noise``, the weight w of the spike mismatch in
            ``proxy_accuracy_estimate = proxy_score_noisy - w * proxy_noise_spike_mismatch``
            (log-det units per unit of mismatch, a fraction of spikes). The default 4 was chosen
            at ``batch_size`` 64 on two trained networks and checked on two held-out ones
            (:func:`accuracy_estimate`); the log-det's spread grows faster than B, so set it
            again when you change ``batch_size`` (docs/validation.md section 4).
        device: where the network runs: ``auto`` (a CUDA GPU when torch sees one, else the CPU),
            ``cpu``, ``cuda`` or ``cuda:N`` (:func:`cosearch.snn.device.resolve_device`). Weights
            and batches are drawn on the CPU either way; ``noise`` runs on the CPU only.
    Defaults are the screening fidelity chosen by ``benchmarks/fidelity_study.py``: 1/8 of the
    genome's channels (C = 16 for the 128-channel SNASNet genome), B = 64, 2 repeats, float32
    - about 3 candidates/s on 2 CPU cores, Kendall tau 0.83 against B = 256 at C = 64
    (docs/proxy.md). SNASNet's own setting is ``batch_size=256, channel_scale=1.0``.
    """

    kernel: Annotated[str, Rule(f"one of {', '.join(KERNELS)}", lambda value: value in KERNELS)] = "hamming"
    batch_size: Annotated[int, Rule("an integer >= 2", lambda value: value >= 2)] = 64
    repeats: Annotated[int, Rule("an integer >= 1", lambda value: value >= 1)] = 2
    channel_scale: Annotated[float, Rule("a number in (0, 4]", lambda value: math.isfinite(value) and 0 < value <= 4)] = 0.125
    dtype: Annotated[str, Rule(f"one of {', '.join(DTYPES)}", lambda value: value in DTYPES)] = "float32"
    time_chunk: Annotated[int | None, Rule("null or an integer >= 1", lambda value: value is None or value >= 1)] = None
    noise: Annotated[bool, Rule("true or false")] = False
    noise_t_inference_s: Annotated[float, Rule("a number of seconds >= 0",
                                               lambda value: math.isfinite(value) and value >= 0)] = 86400.0
    adc_quantisation: Annotated[bool, Rule("true or false")] = True
    mismatch_weight: Annotated[float, Rule("a number >= 0",
                                           lambda value: math.isfinite(value) and value >= 0)] = MISMATCH_WEIGHT
    device: Annotated[str, Rule(f"one of {DEVICE_CHOICES}")] = "auto"  # its form is checked by check_device

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str = "", prefix: str = "proxy") -> ProxySettings:
        """Validated settings; :class:`~cosearch.core.errors.ConfigError` names ``source`` and
        ``<prefix>.<key>`` of an unknown key or a bad value."""

        def key(name: str) -> str:
            return f"{prefix}.{name}"

        settings = cls.from_values(values, key, source)
        settings.check_rules(key, source, given=values)
        check_device(settings.device, key("device"), source)
        return settings


#: The defaults (the screening fidelity), :func:`proxy_score`'s default settings.
DEFAULT_SETTINGS = ProxySettings()


@dataclass
class ProxyResult:
    """Score and activity of one candidate (activity per sample, summed over T timesteps).

    Attributes:
        score: mean log|det K| over repeats (``-inf`` when any K is singular).
        repeat_scores: log|det K| of each batch.
        synflow: :func:`cosearch.proxy.synflow.synflow` of the same network (log synaptic flow of
            its linearised weights; data-free; docs/validation.md section 7).
        firing_rate: spikes / (neurons x timesteps) over all LIF layers.
        spike_count: spikes per sample over all LIF layers and timesteps.
        synops: synaptic operations per sample (NeuroBench sense: non-zero inputs of
            per-timestep weight layers x fan-out Cout*k^2, summed over timesteps).
        layer_firing_rates: LIF layer name -> firing rate.
        input_activity: per layer slot, the fraction of non-zero inputs of that slot's weight
            layer (None where the slot has no layer).
        noise: the noisy pass (:class:`cosearch.proxy.noise.NoiseResult`) when settings.noise.
        accuracy_estimate: with the noisy pass, :func:`accuracy_estimate` of it.
    """

    score: float
    repeat_scores: list[float]
    synflow: float
    firing_rate: float
    spike_count: float
    synops: float
    layer_firing_rates: dict[str, float] = field(default_factory=dict)
    input_activity: list[float | None] = field(default_factory=list)
    noise: NoiseResult | None = None
    accuracy_estimate: float | None = None

    def metrics(self) -> dict[str, Any]:
        """As evaluator metrics (``proxy_*`` names)."""
        metrics = {
            "proxy_score": self.score,
            "proxy_synflow": self.synflow,
            "proxy_firing_rate": self.firing_rate,
            "proxy_spike_count": self.spike_count,
            "proxy_synops": self.synops,
            "proxy_layer_firing_rates": dict(self.layer_firing_rates),
            "proxy_input_activity": list(self.input_activity),
        }
        if self.noise is not None:
            metrics.update({
                "proxy_score_noisy": self.noise.score,
                "proxy_score_drop": score_drop(self.score, self.noise.score),
                "proxy_noise_spike_mismatch": self.noise.spike_mismatch,
                "proxy_noise_weight_error": self.noise.weight_error,
                "proxy_accuracy_estimate": self.accuracy_estimate,
            })
        return metrics


def proxy_device(settings: ProxySettings) -> torch.device:
    """The torch device of ``settings.device`` here; ConfigError when a GPU is asked for with ``noise``
    (the noisy pass draws device noise with CPU generators)."""
    device = resolve_device(settings.device, "proxy.device")
    if settings.noise and device.type != "cpu":
        if settings.device != "auto":
            raise ConfigError("", "proxy.device", f"{settings.device} with noise: true; the noisy pass runs on the "
                                                  f"CPU only (use cpu or auto)")
        return torch.device("cpu")
    return device


def score_drop(clean: float, noisy: float) -> float:
    """clean - noisy; nan when both are -inf (no information either way)."""
    if clean == noisy == -math.inf:
        return math.nan
    return clean - noisy


def accuracy_estimate(noisy: float, mismatch: float, weight: float = MISMATCH_WEIGHT) -> float:
    """The T- and noise-aware accuracy estimate ``noisy - weight * mismatch`` (log-det units).

    ``noisy``: ``proxy_score_noisy``; ``mismatch``: ``proxy_noise_spike_mismatch`` (0 = the crossbars
    reproduce every spike, 1 = disjoint spikes). The noisy log-det falls with coarse ADCs and short
    T; the mismatch rises with coarse ADCs and noisy devices but also with T (errors accumulate in
    the membranes), so neither alone ranks hardware accuracy. ``weight`` = 4 maximised Kendall tau
    against ``accuracy_hw`` over 20 settings (T, ADC bits, devices) on each of two trained networks
    at B = 64 (VGG16/8: 0.800, SNASNet C = 16: 0.814; grid 0-50), and was then checked on two
    held-out SNASNet cells: 0.786 and 0.806 on all 1,017 test images, against 0.786 and 0.711 for
    the noisy score alone (docs/validation.md section 4). ``-inf`` when ``noisy`` is.
    """
    return noisy - weight * mismatch


def proxy_score(
    candidate: Candidate, images: ImageSet | EventSet, settings: ProxySettings = DEFAULT_SETTINGS,
    hardware: HardwareModel | None = None,
) -> ProxyResult:
    """Score one candidate on batches drawn from ``images`` with the candidate's seed.

    With ``settings.noise`` the same batches are run again through the network as the
    candidate's crossbar mapping computes it (``hardware``: a :class:`cosearch.hw.HardwareModel`
    giving devices and mapping defaults; default: the package's own cards).
    Same candidate (genome, timesteps, seed) and settings -> same result; the clean score does
    not depend on ``noise``. Event recordings are binned into the candidate's T frames.
    The process's C heap keeps freed tensors' memory from here on
    (:func:`cosearch.core.allocation.keep_freed_memory`).
    """
    keep_freed_memory()
    inputs = images.at(candidate.timesteps) if isinstance(images, EventSet) else images
    genome = scale_channels(candidate.network, settings.channel_scale)
    dtype = DTYPES[settings.dtype]
    device = proxy_device(settings)
    if settings.noise and hardware is None:
        hardware = load_hardware_section()
    layers = network_layers(genome)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(candidate.seed)
        net = build(genome, candidate.timesteps, dtype=dtype).to(device)
        if settings.dtype == "int8":
            use_integer_convs(net)
        net.train()
        net.time_chunk = settings.time_chunk
        recorder = SpikeRecorder(net, settings.kernel, layers)
        store = SpikeStore(net) if settings.noise else None
        scores, batches, states = [], [], []
        noise = None
        try:
            with torch.inference_mode():
                for repeat in range(settings.repeats):
                    batch = torch.from_numpy(inputs.batch(settings.batch_size, candidate.seed, repeat)).to(device, dtype)
                    if store is not None:
                        batches.append(batch)
                        states.append(torch.get_rng_state())
                        store.begin(repeat)
                    recorder.begin(settings.batch_size)
                    assert recorder.kernel is not None  # begin() made it
                    recorder.kernel.distance = recorder.kernel.distance.to(device)  # K accumulates where the spikes are
                    net(batch)
                    scores.append(logdet(recorder.kernel.matrix()))
                recorder.remove()
                if store is not None:
                    store.remove()
                    assert hardware is not None  # loaded above when settings.noise
                    noise = noisy_pass(net, layers, candidate, hardware, batches, states, store, settings.kernel,
                                       settings.noise_t_inference_s, settings.adc_quantisation)
        finally:
            recorder.remove()
            if store is not None:
                store.remove()
    steps = sum(recorder.neuron_steps.values())
    spikes = sum(recorder.spikes.values())
    activity: list[float | None] = [None] * network_slots(genome)
    for slot, total in recorder.inputs.items():
        activity[slot] = recorder.nonzero[slot] / total
    return ProxyResult(
        score=-math.inf if any(s == -math.inf for s in scores) else float(np.mean(scores)),
        repeat_scores=scores,
        synflow=synflow(genome, candidate.timesteps, candidate.seed, inputs.batch(1, candidate.seed).shape[1:]),
        firing_rate=spikes / steps if steps else 0.0,
        spike_count=spikes / recorder.samples,
        synops=recorder.synops / recorder.samples,
        layer_firing_rates={name: recorder.spikes[name] / recorder.neuron_steps[name] for name in recorder.neuron_steps},
        input_activity=activity,
        noise=noise,
        accuracy_estimate=None if noise is None else accuracy_estimate(noise.score, noise.spike_mismatch,
                                                                       settings.mismatch_weight),
    )
