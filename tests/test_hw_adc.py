"""ADC models against DNN+NeuroSim's published per-conversion energies (anchors.md section 6); ADC types by card."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw import load_hardware, map_candidates, price
from cosearch.workload import canonical_genome

REPO = Path(__file__).resolve().parents[1]
# NeuroSim per-conversion energies [fJ] for 4/5/6/8 bits (anchors.md section 6).
SAR_FJ = {65: (204, 268, 338, 503), 32: (67, 87, 110, 161), 22: (33, 42, 53, 78)}
FLASH_FJ = {65: (126, 261, 530, 2146), 32: (46, 96, 195, 787), 22: (26, 53, 107, 434)}
BITS = (4, 5, 6, 8)


@pytest.fixture(scope="module", params=[65, 32, 22])
def model(request):
    return load_hardware(REPO, node_nm=request.param)


def test_sar_energy_matches_neurosim(model):
    for bits, expected in zip(BITS, SAR_FJ[model.chip.node.nm]):
        assert model.adc.energy("sar", bits) * 1e3 == pytest.approx(expected, rel=0.05)


def test_flash_energy_matches_neurosim(model):
    for bits, expected in zip(BITS, FLASH_FJ[model.chip.node.nm]):
        assert model.adc.energy("flash", bits) * 1e3 == pytest.approx(expected, rel=0.05)


def test_latency_sar_n_plus_one_flash_one_step(model):
    for bits in range(1, 9):
        assert model.adc.latency("sar", bits) == pytest.approx(bits + 1.0)
        assert model.adc.latency("flash", bits) == pytest.approx(1.0)


def test_flash_beats_sar_up_to_3_bits_loses_from_4(model):
    """NeuroSim transistor counts: a flash ADC (2^N-1 current sense amps) is smaller than a SAR
    up to 3 bits and larger from 4 bits on, at every node (anchors.md section 6)."""
    for bits in (1, 2, 3):
        assert model.adc.area("flash", bits) < model.adc.area("sar", bits)
    for bits in range(4, 11):
        assert model.adc.area("flash", bits) > model.adc.area("sar", bits)
    # per-conversion energy: flash cheaper at <= 3 bits, SAR cheaper from 6 bits (NeuroSim numbers
    # cross between 5 and 6 bits without the column-current term)
    for bits in (1, 2, 3):
        assert model.adc.energy("flash", bits) < model.adc.energy("sar", bits)
    for bits in (6, 7, 8):
        assert model.adc.energy("flash", bits) > model.adc.energy("sar", bits)


def test_flash_area_grows_with_comparators_sar_linearly(model):
    bits = np.arange(1, 11)
    flash = np.array([model.adc.area("flash", int(b)) for b in bits])
    sar = np.array([model.adc.area("sar", int(b)) for b in bits])
    np.testing.assert_allclose(flash / (2.0**bits - 1), flash[0], rtol=1e-12)
    steps = np.diff(sar)
    assert np.all(steps > 0)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-12)  # linear in N


# ------------------------------------------------------------ ADC types by card ----

RAMP_CARD = """
card: {kind: peripherals, name: ramp_adc, description: a ramp ADC given by its measured figures}
adc:
  ramp:
    model: {value: fixed, source: "test figures"}
    energy_pj: {value: {3: 0.25, 4: 0.5}, source: "test figures, per bits"}
    latency_ns: {value: 16.0, source: "test figures"}
    area_um2: {value: 120.0, source: "test figures"}
"""


@pytest.fixture()
def ramp_project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "hw_models", tmp_path / "hw_models")
    (tmp_path / "hw_models/adc_ramp.yaml").write_text(RAMP_CARD)
    return tmp_path


def test_a_new_adc_type_is_one_card_priced_with_exactly_its_figures(ramp_project: Path):
    model = load_hardware(ramp_project)
    assert set(model.adc.names) == {"sar", "flash", "ramp"}
    assert (model.adc.energy("ramp", 3), model.adc.energy("ramp", 4)) == (0.25, 0.5)
    assert (model.adc.latency("ramp", 4), model.adc.area("ramp", 4)) == (16.0, 120.0)
    genome = canonical_genome({"arch": "vgg16"})
    ramp = price(map_candidates([Candidate(network=genome, timesteps=2, hardware={"adc_type": "ramp", "adc_bits": 4})],
                                model), model)
    # the same figures fixed on the SAR entry (as the SpikeSim preset does) price identically
    fixed_sar = load_hardware(REPO, overrides={"adc": {"sar": {"energy_pj": 0.5, "latency_ns": 16.0, "area_um2": 120.0}}})
    sar = price(map_candidates([Candidate(network=genome, timesteps=2, hardware={"adc_type": "sar", "adc_bits": 4})],
                               fixed_sar), fixed_sar)
    for name in ramp.energy_pj:
        np.testing.assert_array_equal(ramp.energy_pj[name], sar.energy_pj[name])
    for name in ramp.area_um2:
        np.testing.assert_array_equal(ramp.area_um2[name], sar.area_um2[name])
    np.testing.assert_array_equal(ramp.latency_ns, sar.latency_ns)


def test_adc_type_and_bits_a_card_does_not_price_are_config_errors(ramp_project: Path):
    model = load_hardware(ramp_project)
    genome = canonical_genome({"arch": "vgg16"})
    with pytest.raises(ConfigError, match=r"candidate.hardware.adc_type: unknown adc_type 'pipeline' "
                                          r"\(cards define: (ramp|sar|flash), (ramp|sar|flash), (ramp|sar|flash)\)"):
        map_candidates([Candidate(network=genome, timesteps=1, hardware={"adc_type": "pipeline"})], model)
    with pytest.raises(ConfigError, match=r"adc_ramp.yaml: candidate.hardware.adc_bits: ADC type 'ramp' has no "
                                          r"figures for 5 bits \(its card prices bits: 3, 4\)"):
        map_candidates([Candidate(network=genome, timesteps=1, hardware={"adc_type": "ramp", "adc_bits": 5})], model)
    with pytest.raises(ConfigError, match=r"defaults.adc_type: unknown adc_type 'pipeline'"):
        load_hardware(ramp_project, defaults={"adc_type": "pipeline"})


def test_adc_card_errors_name_file_and_key(ramp_project: Path):
    card = ramp_project / "hw_models/adc_ramp.yaml"
    card.write_text(RAMP_CARD.replace("value: fixed,", "value: pipelined,"))
    with pytest.raises(ConfigError, match=r"adc_ramp.yaml: adc.ramp.model: unknown ADC model 'pipelined' "
                                          r"\(known: neurosim_sar, neurosim_flash, fixed\)"):
        load_hardware(ramp_project)
    card.write_text(RAMP_CARD.replace("    latency_ns: {value: 16.0, source: \"test figures\"}\n", ""))
    with pytest.raises(ConfigError, match=r"adc_ramp.yaml: adc.ramp.latency_ns: missing"):
        load_hardware(ramp_project)
    card.write_text(RAMP_CARD.replace("{3: 0.25, 4: 0.5}", "{3: 0.25, 40: 0.5}"))
    with pytest.raises(ConfigError, match=r"adc_ramp.yaml: adc.ramp.energy_pj: must map bits \(1..16\)"):
        load_hardware(ramp_project)
