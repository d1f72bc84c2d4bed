"""ADC models against DNN+NeuroSim's published per-conversion energies (anchors.md section 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosearch.hw import load_hardware

REPO = Path(__file__).resolve().parents[1]
# NeuroSim per-conversion energies [fJ] for 4/5/6/8 bits (anchors.md section 6).
SAR_FJ = {65: (204, 268, 338, 503), 32: (67, 87, 110, 161), 22: (33, 42, 53, 78)}
FLASH_FJ = {65: (126, 261, 530, 2146), 32: (46, 96, 195, 787), 22: (26, 53, 107, 434)}
BITS = (4, 5, 6, 8)


@pytest.fixture(scope="module", params=[65, 32, 22])
def model(request):
    return load_hardware(REPO, node_nm=request.param)


def test_sar_energy_matches_neurosim(model):
    for bits, expected in zip(BITS, SAR_FJ[model.node_nm]):
        assert model.adc_energy("sar", bits) * 1e3 == pytest.approx(expected, rel=0.05)


def test_flash_energy_matches_neurosim(model):
    for bits, expected in zip(BITS, FLASH_FJ[model.node_nm]):
        assert model.adc_energy("flash", bits) * 1e3 == pytest.approx(expected, rel=0.05)


def test_latency_sar_n_plus_one_flash_one_step(model):
    for bits in range(1, 9):
        assert model.adc_latency("sar", bits) == pytest.approx(bits + 1.0)
        assert model.adc_latency("flash", bits) == pytest.approx(1.0)


def test_flash_beats_sar_up_to_3_bits_loses_from_4(model):
    """NeuroSim transistor counts: a flash ADC (2^N-1 current sense amps) is smaller than a SAR
    up to 3 bits and larger from 4 bits on, at every node (anchors.md section 6)."""
    for bits in (1, 2, 3):
        assert model.adc_area("flash", bits) < model.adc_area("sar", bits)
    for bits in range(4, 11):
        assert model.adc_area("flash", bits) > model.adc_area("sar", bits)
    # per-conversion energy: flash cheaper at <= 3 bits, SAR cheaper from 6 bits (NeuroSim numbers
    # cross between 5 and 6 bits without the column-current term)
    for bits in (1, 2, 3):
        assert model.adc_energy("flash", bits) < model.adc_energy("sar", bits)
    for bits in (6, 7, 8):
        assert model.adc_energy("flash", bits) > model.adc_energy("sar", bits)


def test_flash_area_grows_with_comparators_sar_linearly(model):
    bits = np.arange(1, 11)
    flash = np.array([model.adc_area("flash", int(b)) for b in bits])
    sar = np.array([model.adc_area("sar", int(b)) for b in bits])
    np.testing.assert_allclose(flash / (2.0**bits - 1), flash[0], rtol=1e-12)
    steps = np.diff(sar)
    assert np.all(steps > 0)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-12)  # linear in N
