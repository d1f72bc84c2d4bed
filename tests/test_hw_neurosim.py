"""NeuroSim V1.4 manual Table VII (VGG8 on CIFAR-10, 22 nm, 128x128, 1 bit/cell, 8-bit W/A, 4-bit ADC) with the
NeuroSim-like preset (hw_models/presets/neurosim_v14_22nm.yaml); what is not matched is stated in
docs/hw_model.md section 8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosearch.design_files import read_design
from cosearch.hw.cost import balanced_copies, breakdown_rows
from cosearch.workflows.cost import load_design_hardware, price_design

REPO = Path(__file__).resolve().parents[1]
# DNN+NeuroSim V1.4 Inference_pytorch/NeuroSIM/NetWork_VGG8.csv: H, W, Cin, kH, kW, Cout, pooling, stride
VGG8_CSV = """\
32,32,3,3,3,128,0,1
32,32,128,3,3,128,1,1
16,16,128,3,3,256,0,1
16,16,256,3,3,256,1,1
8,8,256,3,3,512,0,1
8,8,512,3,3,512,1,1
1,1,8192,1,1,1024,0,1
1,1,1024,1,1,10,0,1
"""
# Table VII: (device, parallel rows) -> (area mm^2, TOPS/W)
TABLE_VII = {("rram", 32): (381.90, 11.25), ("rram", 64): (378.06, 19.88),
             ("sram", 32): (85.97, 8.76), ("sram", 64): (84.39, 17.13)}


@pytest.fixture(scope="module")
def vgg8(tmp_path_factory):
    path = tmp_path_factory.mktemp("neurosim") / "NetWork_VGG8.csv"
    path.write_text(VGG8_CSV)
    design = read_design(path)
    out = {}
    for device, rows in TABLE_VII:
        model = load_design_hardware(REPO, preset="neurosim_v14_22nm",
                                     settings=[f"pe.rows_per_read={rows}", f"defaults.device={device}"])
        out[device, rows] = price_design(design, model)["metrics"]
    return out


def test_ops_are_neurosims_count(vgg8):
    # NeuroSim main.cpp numComputation = 2 * H * W * Cin * kH * kW * Cout summed over layers
    rows = [list(map(int, line.split(","))) for line in VGG8_CSV.split()]
    ops = sum(2 * h * w * cin * kh * kw * cout for h, w, cin, kh, kw, cout, _, _ in rows)
    metrics = vgg8["sram", 32]
    assert metrics["hw_tops_w"] * metrics["hw_energy_pj"] == pytest.approx(ops)


@pytest.mark.parametrize("key", sorted(TABLE_VII))
def test_tops_per_watt_within_1_5x(vgg8, key):
    ratio = vgg8[key]["hw_tops_w"] / TABLE_VII[key][1]
    assert 1 / 1.5 <= ratio <= 1.5


def test_rram_column_energy_is_the_engines(vgg8, tmp_path):
    # column_time_ns 0.11: the engine's column part of its RRAM 'ADC' energy was 5.57 / 5.86 uJ at 32 / 64 rows
    path = tmp_path / "NetWork_VGG8.csv"
    path.write_text(VGG8_CSV)
    for rows, engine_uj in ((32, 5.57), (64, 5.86)):
        model = load_design_hardware(REPO, preset="neurosim_v14_22nm",
                                     settings=[f"pe.rows_per_read={rows}", "defaults.device=rram"])
        energy = price_design(read_design(path), model)["breakdown"]["energy_by_component_pj"]
        assert energy["array"] * 1e-6 == pytest.approx(engine_uj, rel=0.05)


def test_more_parallel_rows_raise_tops_per_watt(vgg8):
    for device in ("sram", "rram"):
        assert vgg8[device, 64]["hw_tops_w"] > 1.3 * vgg8[device, 32]["hw_tops_w"]


def test_area_within_1_5x(vgg8):
    # NeuroSim's per-layer weight copies (balance_inputs) and its laid-out sub-array footprints
    for key, (area, _) in TABLE_VII.items():
        assert 1 / 1.5 <= vgg8[key]["hw_area_mm2"] / area <= 1.5, key


def test_rram_layout_is_neurosims_sub_array_footprint(vgg8, tmp_path):
    # 8,840 sub-arrays of 32,751.76 um^2 (NeuroSim's laid-out RRAM sub-array): the crossbar-level blocks
    # plus the layout component fill exactly that
    path = tmp_path / "NetWork_VGG8.csv"
    path.write_text(VGG8_CSV)
    model = load_design_hardware(REPO, preset="neurosim_v14_22nm", settings=["defaults.device=rram"])
    area = price_design(read_design(path), model)["breakdown"]["area_by_component_mm2"]
    sub_array = sum(area[name] for name in ("array", "adc", "mux", "dac", "shift_add", "layout"))
    assert sub_array == pytest.approx(8840 * 32751.76e-6)
    assert area["layout"] > 0


def test_neurosim_copies_per_layer():
    # Chip.cpp: H_max 32, H_min 8 (conv), speedUpDegree 8 -> 4, bound 8: ceil((H / 8)^2)
    rows = [list(map(int, line.split(","))) for line in VGG8_CSV.split()]
    side = np.array([[r[0] for r in rows]], dtype=float)
    kernel = np.array([[r[3] for r in rows]], dtype=float)
    copies = balanced_copies(side**2, kernel, np.ones_like(side, dtype=bool), 8)
    assert copies.tolist() == [[16, 16, 4, 4, 1, 1, 1, 1]]
    # a degree below the bound: S = 2, bound 16 -> 4, 4, 1, 1, ...
    assert balanced_copies(side**2, kernel, np.ones_like(side, dtype=bool), 2).tolist() == [[4, 4, 1, 1, 1, 1, 1, 1]]
    # no limit: S = floor(32 / 8) = 4, as with 8
    assert balanced_copies(side**2, kernel, np.ones_like(side, dtype=bool), 0).tolist() == [[16, 16, 4, 4, 1, 1, 1, 1]]


def test_neurosim_preset_copies_vgg8_as_neurosim(tmp_path):
    path = tmp_path / "NetWork_VGG8.csv"
    path.write_text(VGG8_CSV)
    model = load_design_hardware(REPO, preset="neurosim_v14_22nm", settings=["defaults.device=sram"])
    breakdown = price_design(read_design(path), model)["breakdown"]
    assert [layer["duplication"] for layer in breakdown_rows(breakdown)] == [16, 16, 4, 4, 1, 1, 1, 1]
