"""Latency and throughput model on hand-computed cases: one layer, two pipelined layers, weight copies,
partial-parallel row reads, tiles shared between layers (docs/hw_model.md section 5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw import load_hardware, map_candidates, price
from cosearch.hw.mapping import network_shapes
from cosearch.workload import LayerShape

REPO = Path(__file__).resolve().parents[1]
T = 2
# 1x1 convs, 64 -> 64 channels, spike inputs: R = 64 rows, 4-bit weights on 4-bit cells -> 64 columns,
# one 64x64 crossbar, one PE, one tile. PE cycle = 8 muxed columns x 10 ns ADC + 0 ns shift-add = 80 ns.
CYCLE_NS = 80.0


def layer(slot: int, side: int) -> LayerShape:
    return LayerShape(slot=slot, name=f"l{slot}", kind="conv", cin=64, cout=64, kernel=1, h_out=side, w_out=side,
                      input_bits=1, per_timestep=True)


def model(**overrides):
    base = {"adc": {"sar": {"latency_ns": 10.0}}, "shift_add": {"latency_ns": 0.0},
            "defaults": {"adc_type": "sar", "weight_bits": 4, "xbar_size": 64, "column_sharing": 8}}
    for section, values in overrides.items():
        base.setdefault(section, {}).update(values)
    return load_hardware(REPO, overrides=base)


def cost(hw, sides=(4,)):
    shapes = network_shapes([layer(i, side) for i, side in enumerate(sides)])
    return price(map_candidates([Candidate(network={"arch": "csv"}, timesteps=T)], hw, shapes=[shapes]), hw)


def test_one_layer_positions_times_cycle_times_timesteps():
    for mode in ("sequential", "overlap", "synchronous"):
        c = cost(model(pipeline={"mode": mode}))
        assert c.stage_ns[0, 0] == 16 * 1 * CYCLE_NS * T == 2560.0  # 16 positions x 1 bit-plane x 80 ns x T
        assert c.total_latency_ns[0] == c.period_ns[0] == 2560.0
    neuron = cost(model(pipeline={"serial_unit": "neuron"}))
    assert neuron.stage_ns[0, 0] == 16 * 64 * CYCLE_NS * T  # SpikeSim: one PE cycle per output neuron


def test_two_pipelined_layers():
    # A: 16 positions -> 2560 ns; B: 64 positions -> 10240 ns
    seq = cost(model(pipeline={"mode": "sequential"}), (4, 8))
    assert seq.total_latency_ns[0] == seq.period_ns[0] == 2560 + 10240
    over = cost(model(pipeline={"mode": "overlap", "start_fraction": 0.5}), (4, 8))
    assert over.total_latency_ns[0] == 0.5 * 2560 + 10240  # B starts at half of A
    assert over.period_ns[0] == 10240  # the slowest stage sets the throughput
    np.testing.assert_allclose(over.latency_ns[0], [2560, 0.5 * 2560 + 10240 - 2560])  # shares add up
    sync = cost(model(pipeline={"mode": "synchronous"}), (4, 8))
    assert sync.period_ns[0] == 10240 and sync.total_latency_ns[0] == 2 * 10240
    # a consumer never finishes before its producer: B (4 positions, 640 ns) waits for A's end
    short = cost(model(pipeline={"mode": "overlap", "start_fraction": 0.5}), (4, 2))
    assert short.total_latency_ns[0] == 2560
    metrics = over.metrics()
    assert metrics["hw_throughput_ips"][0] == pytest.approx(1e9 / 10240)
    assert metrics["hw_tops_mm2"][0] == pytest.approx(over.ops.sum() / 10240 * 1e-3 / over.total_area_mm2[0])


def test_spare_tiles_duplicate_the_slowest_layer():
    # budget 4 tiles, one tile per copy: B (10240 ns) gets 3 copies -> ceil(64 / 3) = 22 positions
    c = cost(model(chip={"tiles": 4}, pipeline={"mode": "synchronous"}), (4, 8))
    np.testing.assert_array_equal(c.duplication[0], [1, 3])
    assert c.stage_ns[0, 1] == 22 * CYCLE_NS * T and c.period_ns[0] == 3520
    one = cost(model(pipeline={"mode": "synchronous"}), (4, 8))
    assert c.area_um2["array"][0, 1] == pytest.approx(3 * one.area_um2["array"][0, 1])
    assert c.area_um2["lif"][0, 1] == pytest.approx(one.area_um2["lif"][0, 1])  # neurons are not copied
    assert c.total_energy_pj[0] == pytest.approx(one.total_energy_pj[0])  # same work, in parallel
    assert c.chip_tiles[0] == 4
    # too small a budget: one copy each
    small = cost(model(chip={"tiles": 1}), (4, 8))
    np.testing.assert_array_equal(small.duplication[0], [1, 1])


def test_max_duplication_copies_every_layer_up_to_its_positions():
    c = cost(model(chip={"max_duplication": 8}), (2, 8))  # 4 and 64 positions
    np.testing.assert_array_equal(c.duplication[0], [4, 8])
    assert c.stage_ns[0, 1] == 8 * CYCLE_NS * T


def test_rows_per_read_splits_reads():
    full, part = cost(model()), cost(model(pe={"rows_per_read": 16}))
    assert part.stage_ns[0, 0] == 4 * full.stage_ns[0, 0]  # 64 rows in 4 reads of 16: 4x the conversions
    assert part.energy_pj["adc"][0, 0] == pytest.approx(4 * full.energy_pj["adc"][0, 0])
    assert part.energy_pj["array"][0, 0] == pytest.approx(full.energy_pj["array"][0, 0])  # same current, 4 x 1/4


def test_tiles_shared_between_layers():
    alone, shared = cost(model(), (4, 8)), cost(model(tile={"shared": True}), (4, 8))
    assert alone.chip_tiles[0] == 2 and shared.chip_tiles[0] == 1  # two 1-PE layers in one 16-PE tile
    assert shared.area_um2["tile_buffer"].sum() == pytest.approx(alone.area_um2["tile_buffer"].sum() / 2)


def test_bad_pipeline_mode_is_a_config_error():
    with pytest.raises(ConfigError, match=r"pipeline.mode: unknown value 'pipelined' \(allowed: sequential"):
        model(pipeline={"mode": "pipelined"})
