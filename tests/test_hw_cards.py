"""Hardware cards: loading, validation errors naming file and key, user-added devices."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw import load_hardware, load_hardware_section, map_candidates, price
from cosearch.hw.cards import DEFAULT_CARDS, load_cards, resolve_card_paths
from cosearch.workload import canonical_genome

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "hw_models", tmp_path / "hw_models")
    return tmp_path


def test_default_cards_load_and_every_constant_is_cited():
    cards = load_cards(resolve_card_paths(DEFAULT_CARDS, REPO))
    assert cards.sources and all(source.strip() for source in cards.sources.values())
    model = load_hardware(REPO)
    assert set(model.devices) == {"sram", "pcm", "fefet", "rram"}
    assert model.chip.node.nm == 32


def test_missing_source_names_file_and_key(project: Path):
    card = project / "hw_models/devices/pcm.yaml"
    text, replaced = re.subn(r'cell_area_f2: \{value: 16, source: "[^"]*"\}', "cell_area_f2: {value: 16}", card.read_text())
    assert replaced == 1
    card.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_hardware(project)
    message = str(info.value)
    assert "pcm.yaml" in message and "device.cell_area_f2" in message and "source" in message


def test_bad_value_names_file_and_key(project: Path):
    card = project / "hw_models/devices/fefet.yaml"
    card.write_text(card.read_text().replace("r_on_ohm: {value: 240000,", "r_on_ohm: {value: -5,"))
    with pytest.raises(ConfigError) as info:
        load_hardware(project)
    assert "fefet.yaml" in str(info.value) and "device.r_on_ohm" in str(info.value)
    assert "positive" in str(info.value)


def test_bare_value_and_unknown_key_rejected(project: Path):
    card = project / "hw_models/architecture.yaml"
    text = card.read_text()
    card.write_text(text.replace("  xbars_per_pe:\n", "  xbars_per_pe_typo:\n"))
    with pytest.raises(ConfigError, match=r"architecture.yaml: pe.xbars_per_pe_typo: unknown key"):
        load_hardware(project)
    card.write_text(text.replace("tile:\n  pes_per_tile:", "tile:\n  pes_per_tile: 16\n  old:"))
    with pytest.raises(ConfigError, match=r"architecture.yaml: tile.pes_per_tile: must be \{value"):
        load_hardware(project)


def test_unknown_node_and_default_device(project: Path):
    with pytest.raises(ConfigError, match=r"hardware.node_nm: node 7 nm is not in the technology cards"):
        load_hardware(project, node_nm=7)
    with pytest.raises(ConfigError, match=r"unknown device 'mram'"):
        load_hardware(project, defaults={"device": "mram"})


def test_user_adds_a_device_by_writing_a_card(project: Path):
    (project / "hw_models/devices/mram.yaml").write_text("""
card: {kind: device, name: mram, description: STT-MRAM}
device:
  cell_area_f2: {value: 100, source: "NeuroSim manual: STT-MRAM 10x10 F^2 (anchors.md section 6)"}
  bits_per_cell: {value: 1, source: "binary MTJ"}
  r_on_ohm: {value: 1400, source: "NeuroSim manual: STT-MRAM 1.4 kOhm (anchors.md section 6)"}
  on_off_ratio: {value: 2.8, source: "NeuroSim manual: STT-MRAM on/off 2.8 (anchors.md section 6)"}
  read_voltage_v: {value: 0.5, source: "NeuroSim readVoltage"}
  write_energy_pj: {value: 0.1, source: "Yu & Chen 2016"}
""")
    model = load_hardware(project, defaults={"device": "mram"})
    candidate = Candidate(network=canonical_genome({"arch": "vgg16"}), timesteps=2)
    cost = price(map_candidates([candidate], model), model)
    assert cost.total_energy_pj[0] > 0 and cost.area_um2["array"].sum() > 0


def test_experiment_overrides_accept_plain_values(project: Path):
    model = load_hardware(project, overrides={"tile": {"pes_per_tile": 8}})
    assert model.tile.pes_per_tile == 8
    with pytest.raises(ConfigError, match=r"hardware.overrides: tile.pes_per_tile: must be a positive integer"):
        load_hardware(project, overrides={"tile": {"pes_per_tile": 0}})


def test_device_noise_block_is_checked_on_load_against_its_model(project: Path):
    card = project / "hw_models/devices/pcm.yaml"
    text = card.read_text()
    card.write_text(re.sub(r"\n  g_max_us: [^\n]*", "", text))
    with pytest.raises(ConfigError, match=r"devices/pcm.yaml: nonideality.g_max_us: missing"):
        load_hardware(project)
    card.write_text(text.replace("model: {value: pcm_aihwkit,", "model: {value: pcm_ibm,"))
    with pytest.raises(ConfigError, match=r"devices/pcm.yaml: nonideality.model: unknown noise model 'pcm_ibm' "
                                          r"\(known: none, pcm_aihwkit, fefet_d2d\)"):
        load_hardware(project)
    card.write_text(text.replace("  t0_s:", "  t00_s: {value: 1, source: typo}\n  t0_s:"))
    with pytest.raises(ConfigError, match=r"devices/pcm.yaml: nonideality.t00_s: unknown key \(allowed: .*g_max_us"):
        load_hardware(project)


def test_missing_noise_parameter_names_the_real_card_file(project: Path):
    """A device card outside hw_models/devices/ is named by its own path (the cards know each key's file)."""
    lab = project / "lab"
    lab.mkdir()
    text = (project / "hw_models/devices/pcm.yaml").read_text().replace("name: pcm", "name: pcm_lab")
    (lab / "pcm_lab.yaml").write_text(re.sub(r"\n  read_noise_q: [^\n]*", "", text))
    cards = ["hw_models/*.yaml", "hw_models/devices/sram.yaml", "lab/pcm_lab.yaml"]
    with pytest.raises(ConfigError, match=r"lab/pcm_lab.yaml: nonideality.read_noise_q: missing"):
        load_hardware(project, cards=cards)


def test_noise_parameters_come_from_the_card(project: Path):
    card = project / "hw_models/devices/fefet.yaml"
    card.write_text(card.read_text().replace("value: 0.13\n", "value: 0.25\n"))
    model = load_hardware(project)
    assert model.devices["fefet"].noise.d2d_sigma_rel == 0.25
    assert model.devices["pcm"].noise.prog_noise_coeffs_us == (0.26348, 1.9650, -1.1731)
    assert model.devices["rram"].noise.MODEL == "none"


def test_hardware_section_is_checked_in_one_place():
    with pytest.raises(ConfigError, match=r"hardware.nodes: unknown key \(allowed: cards, node_nm, defaults, overrides\)"):
        load_hardware_section(REPO, {"nodes": 32})
    with pytest.raises(ConfigError, match=r"hardware.cards: must be a list"):
        load_hardware_section(REPO, {"cards": "hw_models/*.yaml"})
    assert load_hardware_section(REPO, {"node_nm": 22}).chip.node.nm == 22
    assert load_hardware_section().device_names == load_hardware(REPO).device_names  # the package's own cards


def test_two_cards_for_one_device_are_refused(project: Path):
    """A copy of a device card under another file name used to merge silently, the card loaded last winning."""
    copy = project / "hw_models/devices/zz_pcm_copy.yaml"
    copy.write_text((project / "hw_models/devices/pcm.yaml").read_text())
    with pytest.raises(ConfigError) as info:
        load_hardware(project)
    message = str(info.value)
    assert "zz_pcm_copy.yaml" in message and "card.name" in message and "pcm.yaml" in message
    same = resolve_card_paths(DEFAULT_CARDS, REPO)
    load_cards([*same, *same])  # one file named twice (overlapping globs) is one card
