"""Test accuracy of a trained network as the candidate's crossbars compute it (``accuracy_hw``).

Every crossbar-mapped layer (slot) takes the mapping the cost model prices: the candidate's
``layer_hardware(slot)`` over the hardware cards' defaults (:func:`cosearch.hw.map_candidates`
for the input bit-planes, :func:`cosearch.proxy.noise.layer_mappings` for device, weight bits,
ADC bits and crossbar size). The physics is the noise-aware proxy's, reused, not repeated:

1. **Weights** (:func:`cosearch.proxy.noise.program_network`): quantised to ``weight_bits``,
   sliced over ``ceil(weight_bits / bits_per_cell)`` cells of the device card, each cell read
   with the card's conductance model (programming noise, drift and read noise at
   ``t_inference_s`` seconds after programming, global drift compensation); one seeded
   Gaussian draw per weight with the per-cell model's exact mean and variance.
2. **ADC** (:func:`cosearch.proxy.noise.install_adc`): the layer's rows are split into crossbar
   row groups (``xbar_size`` rows: one partial sum per group), each group's partial sum is
   quantised by an ``adc_bits`` ADC over ``[-r, r]``, ``r`` = the largest |partial sum| of the
   layer's call (``2^adc_bits - 1`` levels, the range convention of :func:`~cosearch.proxy.noise.adc_step`),
   then the groups are added digitally. All timesteps and images of one evaluation batch pass
   through one call, so ``r`` is calibrated per batch of ``batch_size`` images.
   Column sharing sets how many conversions one ADC makes in turn (latency, area in the cost
   model), not the converted values, so it does not enter the accuracy.
3. **Image layer input** (layers whose input has no native precision, ``LayerShape.input_bits
   is None``): the analog input is quantised to the mapping's ``input_bits`` (uniform over the
   batch's ``[min, max]``, ``2^input_bits`` codes) and applied bit-serially, as the cost model
   prices it (one 1-bit DAC pulse per bit-plane): each bit-plane's row-group partial sums are
   ADC-quantised separately and shift-added (:func:`bit_serial_forward`). The offset
   ``min * sum(W)`` of the affine input code is added digitally (exact). Spike inputs (1 bit)
   and pooled spikes (native 3 bits) go through the crossbar in one read, as in the proxy.

Three numbers: ``accuracy`` (float network), ``accuracy_quantised`` (every cell ideal: the
device noise of every card replaced by exact levels, so only weight, input and ADC quantisation
act; deterministic) and ``accuracy_hw`` (mean and std over ``draws`` seeded device draws).
A device without noise (SRAM) gives ``accuracy_hw == accuracy_quantised`` with std 0.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from torch import nn

from cosearch.core.candidate import Candidate
from cosearch.core.seeds import derive_seed
from cosearch.core.settings import Number, Rule, Settings
from cosearch.data import ImageSet
from cosearch.hw import HardwareModel, map_candidates
from cosearch.hw.device import IdealCells
from cosearch.proxy.noise import (
    LayerMapping,
    grouped_conv2d,
    grouped_linear,
    hook_crossbars,
    install_adc,
    program_network,
)
from cosearch.snn.protocol import SpikingNetwork
from cosearch.training import CHECKPOINT, evaluate, evaluation_subset, load_checkpoint, make_model
from cosearch.workload import network_layers

#: Mixed into the seed of every device draw (:func:`draw_seed`).
DRAW_SEED_SALT = 0xD1A


class HardwareEvalSettings(Settings):
    """How ``accuracy_hw`` is measured (a pydantic model: values of the wrong type are refused when it
    is made, :meth:`parse` names them; :meth:`check` checks the ranges).

    Attributes:
        draws: seeded device draws averaged (>= 1).
        t_inference_s: time between programming and reading [s] (PCM drift; 86400 = one day).
        batch_size: test images per forward call (the ADC range is calibrated per call).

    Evaluation runs on the CPU: the device draws of :func:`cosearch.proxy.noise.program_weights`
    use CPU generators.
    """

    draws: Annotated[int, Rule("an integer >= 1", lambda value: value >= 1)] = 5
    t_inference_s: Annotated[Number, Rule("a number of seconds >= 0",
                                          lambda value: math.isfinite(value) and value >= 0)] = 0.0
    batch_size: Annotated[int, Rule("an integer >= 1", lambda value: value >= 1)] = 256

    @classmethod
    def parse(cls, values: Mapping[str, Any], where: str = "hardware_eval", source: str = "") -> HardwareEvalSettings:
        """Settings from a YAML mapping or CLI values; ConfigError naming ``source`` and ``<where>.<key>``
        for an unknown key or a value of the wrong type."""
        return cls.from_values(values, _key_under(where), source)

    def check(self, where: str = "hardware_eval", source: str = "") -> None:
        """ConfigError naming ``source`` and ``<where>.<key>`` for a value out of range."""
        self.check_rules(_key_under(where), source)


def _key_under(where: str) -> Callable[[str], str]:
    """Setting name -> ``<where>.<name>`` (just the name when ``where`` is empty)."""
    return lambda name: f"{where}.{name}" if where else name


@dataclass
class HardwareAccuracy:
    """Clean, quantised and hardware test accuracy of one trained network (fractions 0..1)."""

    accuracy: float
    accuracy_quantised: float
    accuracy_hw: float
    accuracy_hw_std: float
    draws: list[float] = field(default_factory=list)
    t_inference_s: float = 0.0
    images: int = 0

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> HardwareAccuracy:
        """Read back what ``write_json(path, asdict(result))`` wrote (strict JSON writes NaN as null)."""
        values: dict[str, Any] = {k: float("nan") if v is None else v for k, v in document.items()}
        return cls(**values)

    def metrics(self) -> dict[str, Any]:
        """Evaluator metrics: the scalars by name, the per-draw list as a detail."""
        return {"accuracy": self.accuracy, "accuracy_quantised": self.accuracy_quantised,
                "accuracy_hw": self.accuracy_hw, "accuracy_hw_std": self.accuracy_hw_std,
                "accuracy_hw_draws": list(self.draws)}


# ------------------------------------------------------------ image layer ----


def bit_serial_forward(x: torch.Tensor, weight: torch.Tensor, module: nn.Module, mapping: LayerMapping,
                       input_bits: int) -> torch.Tensor:
    """Crossbar output (no bias) of a layer whose analog input is applied bit-serially.

    ``x`` is quantised to ``input_bits`` over its ``[min, max]`` (code ``q = round((x - min) / s)``,
    ``s = (max - min) / (2^input_bits - 1)``); bit-plane ``k`` of ``q`` drives the rows, its
    row-group partial sums are ADC-quantised (``grouped_conv2d`` / ``grouped_linear`` of
    :mod:`cosearch.proxy.noise`) and shift-added with weight ``2^k s``; ``min * W @ 1`` is added.
    """
    low, high = float(x.amin()), float(x.amax())
    step = (high - low) / (2**input_bits - 1)
    codes = torch.round((x - low) / step) if step > 0 else torch.zeros_like(x)
    if isinstance(module, nn.Conv2d):
        def crossbar(rows: torch.Tensor, adc_bits: int | None) -> torch.Tensor:
            return grouped_conv2d(rows, weight, module, mapping.xbar_size, adc_bits)
    elif isinstance(module, nn.Linear):
        def crossbar(rows: torch.Tensor, adc_bits: int | None) -> torch.Tensor:
            return grouped_linear(rows, weight, mapping.xbar_size, adc_bits)
    else:
        raise TypeError(f"cannot map {type(module).__name__} onto crossbars")
    out = crossbar(torch.ones_like(x), None).mul_(low) if low != 0.0 else None
    for bit in range(input_bits):
        plane = torch.remainder(torch.floor(codes / 2**bit), 2)
        part = crossbar(plane, mapping.adc_bits).mul_(2**bit * step)
        out = part if out is None else out.add_(part)
    assert out is not None
    return out


def install_input_dac(module: nn.Module, mapping: LayerMapping, input_bits: int) -> None:
    """Make ``module`` (conv or linear, weights programmed) compute :func:`bit_serial_forward`;
    :func:`cosearch.proxy.noise.remove_adc` undoes it."""
    hook_crossbars(module, lambda x, weight: bit_serial_forward(x, weight, module, mapping, input_bits))


# ------------------------------------------------------------- the network ----


def ideal_cells(hardware: HardwareModel) -> HardwareModel:
    """The same hardware with every device's conductance model replaced by exact levels."""
    devices = {name: dataclasses.replace(device, noise=IdealCells()) for name, device in hardware.devices.items()}
    return dataclasses.replace(hardware, devices=devices)


def draw_seed(candidate: Candidate, draw: int) -> int:
    """Seed of device draw ``draw`` (0, 1, ...) of ``candidate``; 32 bits, stable across platforms."""
    return derive_seed(candidate.seed, DRAW_SEED_SALT, draw)


def analog_input_bits(net: SpikingNetwork, candidate: Candidate, hardware: HardwareModel) -> dict[int, int]:
    """Slot -> input bit-planes of every layer whose input has no native precision (the image layer),
    as the cost model counts them (:func:`cosearch.hw.map_candidates` ``input_bits``)."""
    arrays = map_candidates([dataclasses.replace(candidate, network=net.genome)], hardware)  # the canonical genome
    planes = dict(zip(arrays.slots[0], arrays.input_bits[0].astype(int).tolist()))
    return {layer.slot: int(planes[layer.slot]) for layer in network_layers(net.genome) if layer.input_bits is None}


def crossbar_copy(net: SpikingNetwork, candidate: Candidate, hardware: HardwareModel,
                  t_inference_s: float, draw: int | None) -> SpikingNetwork:
    """A copy of ``net`` computing as its crossbars do: weights programmed (device draw ``draw``;
    None = ideal cells), ADC-quantised row-group partial sums, bit-serial image input."""
    mapped = copy.deepcopy(net)
    if draw is None:
        cards, seeded = ideal_cells(hardware), candidate
    else:
        cards, seeded = hardware, dataclasses.replace(candidate, seed=draw_seed(candidate, draw))
    programmed = program_network(mapped, seeded, cards, t_inference_s)
    analog = analog_input_bits(net, candidate, hardware)
    modules = mapped.weight_layers()
    for slot, entry in programmed.items():
        if slot in analog:
            install_input_dac(modules[slot], entry.mapping, analog[slot])
        else:
            install_adc(modules[slot], entry.mapping)
    mapped.eval()
    return mapped


def hardware_accuracy(net: SpikingNetwork, candidate: Candidate, hardware: HardwareModel, images: ImageSet,
                      settings: HardwareEvalSettings | None = None) -> HardwareAccuracy:
    """``accuracy``, ``accuracy_quantised`` and ``accuracy_hw`` (mean, std over draws) of ``net`` on ``images``.

    Args:
        net: the trained network (left unchanged; each pass works on a copy).
        candidate: its mapping over ``hardware.defaults`` and the seed of the device draws.
        hardware: the loaded cards (:func:`cosearch.hw.load_hardware_section`).
        images: the test images.
        settings: draws, time since programming, batch size.
    """
    settings = settings or HardwareEvalSettings()
    settings.check()

    def accuracy_of(network: nn.Module) -> float:
        return evaluate(network, images, settings.batch_size)

    clean = accuracy_of(net)
    quantised = accuracy_of(crossbar_copy(net, candidate, hardware, settings.t_inference_s, None))
    draws = [accuracy_of(crossbar_copy(net, candidate, hardware, settings.t_inference_s, k))
             for k in range(settings.draws)]
    return HardwareAccuracy(
        accuracy=clean, accuracy_quantised=quantised, accuracy_hw=float(np.mean(draws)),
        accuracy_hw_std=float(np.std(draws)), draws=draws, t_inference_s=float(settings.t_inference_s),
        images=len(images),
    )


def checkpoint_accuracy(out_dir: str | Path, hardware: HardwareModel, test_images: ImageSet,
                        settings: HardwareEvalSettings | None = None,
                        mapping: Mapping[str, Any] | None = None) -> HardwareAccuracy:
    """:func:`hardware_accuracy` of the network a training left in ``out_dir/checkpoint.pt``, on the
    test images that training reports (its ``test_size`` subset, seeded as
    :func:`cosearch.training.train_candidate` draws it), on the CPU.

    ``mapping``: hardware mapping keys to evaluate under instead of the trained candidate's
    (e.g. ``{"device": "pcm", "adc_bits": 4}``).
    """
    state = load_checkpoint(Path(out_dir) / CHECKPOINT)
    candidate = Candidate.from_dict(state["candidate"])
    if mapping:
        candidate = dataclasses.replace(candidate, hardware={**dict(candidate.hardware), **dict(mapping)})
    trained = state["settings"]
    net, _ = make_model(candidate, float(state["channel_scale"]), trained["classifier_init"])
    assert isinstance(net, SpikingNetwork)
    net.load_state_dict(state["model"])
    test = evaluation_subset(test_images, trained["test_size"], int(trained["seed"]))
    return hardware_accuracy(net, candidate, hardware, test, settings)


def settings_from_mapping(options: Mapping[str, Any], where: str) -> HardwareEvalSettings:
    """:class:`HardwareEvalSettings` from a YAML mapping, checked; ConfigError naming ``<where>.<key>``."""
    settings = HardwareEvalSettings.parse(options, where)
    settings.check(where)
    return settings


__all__ = [
    "HardwareAccuracy", "HardwareEvalSettings", "analog_input_bits", "bit_serial_forward", "checkpoint_accuracy",
    "crossbar_copy",
    "draw_seed", "hardware_accuracy", "ideal_cells", "install_input_dac", "settings_from_mapping",
]
