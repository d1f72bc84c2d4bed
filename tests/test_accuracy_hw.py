"""Accuracy under the candidate's hardware (issue 11 part 2): hand-computed crossbar arithmetic and
the trends of ``accuracy_hw`` on a tiny network trained here (seconds)."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from cosearch.accuracy import HardwareEvalSettings, crossbar_copy, hardware_accuracy
from cosearch.accuracy.hardware import install_input_dac
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.data import ImageSet
from cosearch.hw import load_hardware_section
from cosearch.hw.device import IdealCells
from cosearch.proxy.noise import LayerMapping, install_adc
from cosearch.snn.protocol import SpikingNetwork
from cosearch.training import CHECKPOINT, TrainSettings, make_model, train_candidate
from cosearch.workload import canonical_genome

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def quadrant_images(n: int, seed: int, classes: int = 4, size: int = 32) -> ImageSet:
    """A separable task: class k has a bright quadrant k on a noisy grey background."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = rng.integers(60, 120, size=(n, 3, size, size)).astype(np.uint8)
    half = size // 2
    for k in range(classes):
        row, col = divmod(k, 2)
        images[labels == k, :, row * half:(row + 1) * half, col * half:(col + 1) * half] = 250
    return ImageSet(images, labels.astype(np.int64), (0.4, 0.4, 0.4), (0.2, 0.2, 0.2))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[SpikingNetwork, Candidate, ImageSet]:
    """A VGG16 SNN at 8 channels per layer trained 8 epochs on 128 quadrant images (~10 s)."""
    torch.set_num_threads(1)
    genome = canonical_genome({"arch": "vgg16", "channels": [8] * 13, "num_classes": 4})
    candidate = Candidate(network=genome, timesteps=2, seed=1)
    out = tmp_path_factory.mktemp("hw_train")
    settings = TrainSettings(epochs=8, batch_size=16, lr=0.1, augment=False, seed=0)
    train_candidate(candidate, quadrant_images(128, 0), quadrant_images(64, 1), settings, out, progress=False)
    net, _ = make_model(candidate)
    net.load_state_dict(torch.load(Path(out) / CHECKPOINT, weights_only=False)["model"])
    assert isinstance(net, SpikingNetwork)
    return net, candidate, quadrant_images(128, 2)


@pytest.fixture(scope="module")
def hardware():
    return load_hardware_section()


def _mapping(adc_bits: int, xbar_size: int) -> LayerMapping:
    return LayerMapping(slot=0, device="sram", bits_per_cell=1, weight_bits=2, adc_bits=adc_bits,
                        xbar_size=xbar_size, noise=IdealCells())


def _hand_conv() -> tuple[nn.Conv2d, torch.Tensor]:
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, -1.0]]).view(2, 2, 1, 1))
    x = torch.tensor([[1.0, 3.0], [2.0, 0.0]]).view(1, 2, 1, 2)  # two positions: (1, 2) and (3, 0)
    return conv, x


@torch.no_grad()
def test_row_group_partial_sums_are_quantised_apart() -> None:
    # W = [[1, 2], [3, -1]], 1 row per crossbar -> 2 row groups; inputs (1, 2) and (3, 0), exact out (5, 3 | 1, 9).
    # Group 0 partial sums 1*x0 = (1, 3), 3*x0 = (3, 9); group 1: 2*x1 = (4, 0), -1*x1 = (-2, 0); r = 9.
    # 3-bit ADC: step 2r / (2^3 - 2) = 3; codes round(p / 3): g0 (0, 1 | 1, 3), g1 (1, 0 | -1, 0);
    # summed and scaled: out0 = (3, 3), out1 = (0, 9).
    conv, x = _hand_conv()
    install_adc(conv, _mapping(adc_bits=3, xbar_size=1))
    assert conv(x).flatten().tolist() == [3.0, 3.0, 0.0, 9.0]
    # one crossbar holding both rows: partial sums are the exact outputs (5, 3 | 1, 9), r = 9, step 3
    conv, x = _hand_conv()
    install_adc(conv, _mapping(adc_bits=3, xbar_size=2))
    assert conv(x).flatten().tolist() == [6.0, 3.0, 0.0, 9.0]


@torch.no_grad()
def test_bit_serial_image_input_hand_computed() -> None:
    # 2-bit input over [0, 3] (step 1): codes = x; bit-planes b0: (1, 0 | 1, 0), b1: (0, 1 | 1, 0) per position.
    # Plane 0 partial sums (g0 | g1): out0 (1, 1 | 0, 0), out1 (3, 3 | 0, 0); r = 3, 2-bit ADC step 3 -> out0 0, out1 (3, 3).
    # Plane 1: g0 out0 (0, 1), out1 (0, 3); g1 out0 (2, 0), out1 (-1, 0); r = 3 -> out0 (0+3, 0), out1 (0, 3+0).
    # Shift-add: out0 = (0, 0) + 2 * (3, 0) = (6, 0); out1 = (3, 3) + 2 * (0, 3) = (3, 9).
    conv, x = _hand_conv()
    assert conv(x).flatten().tolist() == [5.0, 3.0, 1.0, 9.0]
    install_input_dac(conv, _mapping(adc_bits=2, xbar_size=1), input_bits=2)
    assert conv(x).flatten().tolist() == [6.0, 0.0, 3.0, 9.0]


@torch.no_grad()
def test_bit_serial_input_with_fine_adc_reproduces_the_quantised_input() -> None:
    conv, _ = _hand_conv()
    x = torch.tensor([[0.3, -1.2], [2.0, 0.7]]).view(1, 2, 1, 2)  # offset (min -1.2) and 4-bit input grid
    low, step = -1.2, (2.0 + 1.2) / 15
    expected = conv(low + step * torch.round((x - low) / step))
    install_input_dac(conv, _mapping(adc_bits=16, xbar_size=1), input_bits=4)
    assert torch.allclose(conv(x), expected, atol=1e-3)


@pytest.mark.slow
def test_sram_equals_the_quantised_accuracy_and_the_network_learned(trained, hardware) -> None:
    net, candidate, test = trained
    sram = dataclasses.replace(candidate, hardware={"device": "sram", "adc_bits": 8})
    result = hardware_accuracy(net, sram, hardware, test, HardwareEvalSettings(draws=2, batch_size=64))
    assert result.accuracy >= 0.6  # chance is 0.25: the checkpoint learned the task
    assert result.accuracy_hw == result.accuracy_quantised
    assert result.accuracy_hw_std == 0.0
    assert result.draws == [result.accuracy_quantised] * 2
    assert abs(result.accuracy_quantised - result.accuracy) <= 0.05  # 8-bit weights, inputs and ADC


@pytest.mark.slow
def test_accuracy_hw_does_not_rise_as_adc_bits_fall(trained, hardware) -> None:
    net, candidate, test = trained
    ladder = []
    for bits in (8, 4, 3, 2):
        mapped = dataclasses.replace(candidate, hardware={"device": "sram", "adc_bits": bits})
        ladder.append(hardware_accuracy(net, mapped, hardware, test, HardwareEvalSettings(draws=1, batch_size=64)).accuracy_hw)
    assert all(a >= b for a, b in itertools.pairwise(ladder)), ladder
    assert ladder[-1] < ladder[0] - 0.2, ladder  # 2-bit partial sums (3 levels) break the network


@pytest.mark.slow
def test_a_noisier_device_costs_accuracy(trained) -> None:
    net, candidate, test = trained
    fefet = dataclasses.replace(candidate, hardware={"device": "fefet", "adc_bits": 8})
    settings = HardwareEvalSettings(draws=3, batch_size=64)
    accuracies = []
    for sigma in (0.0, 0.05, 1.0):
        cards = load_hardware_section(section={"overrides": {"devices": {"fefet": {"nonideality": {"d2d_sigma_rel": sigma}}}}})
        accuracies.append(hardware_accuracy(net, fefet, cards, test, settings))
    assert accuracies[0].accuracy_hw == accuracies[0].accuracy_quantised  # sigma 0: exact levels
    assert accuracies[2].accuracy_hw <= accuracies[1].accuracy_hw <= accuracies[0].accuracy_hw + 1 / len(test)
    assert accuracies[2].accuracy_hw < accuracies[0].accuracy_hw - 0.2
    assert accuracies[1].accuracy_hw_std >= 0.0 and accuracies[2].draws != accuracies[1].draws


@pytest.mark.slow
def test_draws_are_seeded_and_the_network_is_left_unchanged(trained, hardware) -> None:
    net, candidate, _ = trained
    pcm = dataclasses.replace(candidate, hardware={"device": "pcm"})
    before = {k: v.clone() for k, v in net.state_dict().items()}
    a = crossbar_copy(net, pcm, hardware, 86400.0, draw=0).weight_layers()[3].weight
    b = crossbar_copy(net, pcm, hardware, 86400.0, draw=0).weight_layers()[3].weight
    c = crossbar_copy(net, pcm, hardware, 86400.0, draw=1).weight_layers()[3].weight
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="draws"):
        HardwareEvalSettings(draws=0).check()
    with pytest.raises(ConfigError, match="t_inference_s"):
        HardwareEvalSettings(t_inference_s=-1.0).check()
