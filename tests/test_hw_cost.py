"""Crossbar mapping counts, monotonic cost trends, SNN semantics, the cost evaluator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext
from cosearch.evaluators.cost import CostEvaluator
from cosearch.hw import breakdown_rows, load_hardware, map_candidates, price
from cosearch.workload import canonical_genome

REPO = Path(__file__).resolve().parents[1]
VGG = canonical_genome({"arch": "vgg16"})


@pytest.fixture(scope="module")
def model():
    return load_hardware(REPO)


def cost_of(model, timesteps=5, activities=None, **hardware):
    candidate = Candidate(network=VGG, timesteps=timesteps, hardware=hardware)
    layers = map_candidates([candidate], model, activities)
    return price(layers, model)


def test_crossbar_counts_hand_worked(model):
    cost = cost_of(model)  # 64x64, rram 4 bits/cell, 8-bit weights -> 2 columns per weight
    # conv1: R = 3*9 = 27 -> P = 1; C = 64*2 = 128 -> Q = 2
    # conv3: R = 64*9 = 576 -> P = 9; C = 128*2 = 256 -> Q = 4; PEs = ceil(9/4)*4 = 12
    # fc: R = 512*2*2 = 2048 -> P = 32; C = 10*2 = 20 -> Q = 1
    assert cost.crossbars[0, 0] == 2 and cost.crossbars[0, 2] == 36 and cost.crossbars[0, 13] == 32
    assert cost.pes[0, 2] == 12 and cost.tiles[0, 2] == 1
    sram = cost_of(model, device="sram")  # 1 bit per cell: 8 columns per weight
    assert sram.crossbars[0, 2] == 9 * 16


def test_sram_array_area_much_larger_than_nvm(model):
    areas = {d: cost_of(model, device=d).area_um2["array"].sum() for d in ("sram", "pcm", "fefet")}
    assert areas["sram"] > 10 * areas["pcm"] and areas["sram"] > 10 * areas["fefet"]


def test_energy_monotonic_in_adc_bits_timesteps_input_bits(model):
    energy = [cost_of(model, adc_bits=b).total_energy_pj[0] for b in range(2, 9)]
    assert np.all(np.diff(energy) > 0)
    energy = [cost_of(model, timesteps=t).total_energy_pj[0] for t in range(1, 7)]
    assert np.all(np.diff(energy) > 0)
    energy = [cost_of(model, input_bits=b).total_energy_pj[0] for b in (2, 4, 6, 8)]
    assert np.all(np.diff(energy) > 0)
    # each spiking layer's stage time grows with T; the inference latency too, once a spiking stage
    # is slower than the once-run stem (conv1, 8 bit-planes over 1024 positions) that sets the period
    stages = [cost_of(model, timesteps=t).stage_ns[0, 1:].sum() for t in range(1, 7)]
    assert np.all(np.diff(stages) > 0)
    latency = [cost_of(model, timesteps=t).total_latency_ns[0] for t in (1, 8, 16, 32)]
    assert np.all(np.diff(latency) >= 0) and latency[-1] > latency[0]


def test_column_sharing_trades_adc_area_for_latency(model):
    costs = [cost_of(model, column_sharing=s) for s in (2, 4, 8, 16, 32)]
    adc_area = [c.area_um2["adc"].sum() for c in costs]
    latency = [c.total_latency_ns[0] for c in costs]
    assert np.all(np.diff(adc_area) < 0) and np.all(np.diff(latency) > 0)


def test_direct_encoded_layer_runs_once(model):
    one, five = cost_of(model, timesteps=1), cost_of(model, timesteps=5)
    # conv1 (per_timestep False): crossbar energy and latency do not depend on T; LIF does
    assert one.energy_pj["adc"][0, 0] == pytest.approx(five.energy_pj["adc"][0, 0])
    assert one.stage_ns[0, 0] == pytest.approx(five.stage_ns[0, 0])
    assert five.energy_pj["lif"][0, 0] == pytest.approx(5 * one.energy_pj["lif"][0, 0])
    assert five.energy_pj["adc"][0, 1] == pytest.approx(5 * one.energy_pj["adc"][0, 1])
    # ops count every run: T for per-timestep layers
    assert five.ops[0, 1] == pytest.approx(5 * 2 * 32 * 32 * 64 * 9 * 64)


def test_activity_scales_reads_not_latency(model):
    dense = cost_of(model)
    sparse = cost_of(model, activities=[[None] + [0.05] * 13])
    assert sparse.energy_pj["array"][0, 1] == pytest.approx(0.05 * dense.energy_pj["array"][0, 1])
    assert sparse.energy_pj["adc"][0, 1] < dense.energy_pj["adc"][0, 1]
    assert sparse.energy_pj["array"][0, 0] == pytest.approx(dense.energy_pj["array"][0, 0])  # None: default
    np.testing.assert_allclose(sparse.total_latency_ns, dense.total_latency_ns)


def test_per_layer_mapping_tuples(model):
    sar = cost_of(model, adc_type="sar", adc_bits=3)
    mixed = cost_of(model, adc_type=("flash",) + ("sar",) * 13, adc_bits=3)
    assert mixed.area_um2["adc"][0, 0] < sar.area_um2["adc"][0, 0]
    np.testing.assert_allclose(mixed.area_um2["adc"][0, 1:], sar.area_um2["adc"][0, 1:])


def test_evaluator_metrics_batch_and_breakdown():
    context = EvaluationContext(project_dir=REPO, hardware={"node_nm": 22, "defaults": {"device": "fefet"}})
    evaluator = CostEvaluator({"use_activity": True}, context)
    rng = np.random.default_rng(0)
    candidates = [
        Candidate(network=canonical_genome({"arch": "vgg16", "channels": tuple(rng.choice([64, 128, 256], 13))}),
                  timesteps=int(t), hardware={"adc_bits": int(b)})
        for t, b in zip(rng.integers(1, 6, 4), rng.integers(3, 8, 4))
    ]
    upstream = [{"proxy_input_activity": [None] + [0.2] * 13}] * 4
    batch = evaluator.evaluate_batch(candidates, upstream)
    for candidate, up, metrics in zip(candidates, upstream, batch):
        single = evaluator.evaluate(candidate, up)
        for name in ("hw_energy_pj", "hw_latency_ns", "hw_throughput_ips", "hw_area_mm2", "hw_edap", "hw_tops_w",
                     "hw_tops_mm2"):
            assert np.isfinite(metrics[name]) and metrics[name] > 0
            assert single[name] == pytest.approx(metrics[name])
        assert metrics["hw_edap"] == pytest.approx(
            metrics["hw_energy_pj"] * metrics["hw_latency_ns"] * metrics["hw_area_mm2"])
        json.dumps(metrics["hw_breakdown"])
        layers = breakdown_rows(metrics["hw_breakdown"])
        assert len(layers) == 14 and sum(layer["energy_pj"] for layer in layers) == pytest.approx(metrics["hw_energy_pj"])
        for layer in layers:  # the columns regroup into layers whose components add up to the layer
            assert sum(layer["energy_by_component_pj"].values()) == pytest.approx(layer["energy_pj"])
            assert sum(layer["area_by_component_mm2"].values()) == pytest.approx(layer["area_mm2"])
        assert sum(layer["latency_ns"] for layer in layers) == pytest.approx(metrics["hw_latency_ns"])
        assert max(layer["stage_ns"] for layer in layers) == pytest.approx(1e9 / metrics["hw_throughput_ips"])


def test_snasnet_family_is_priced(model):
    genome = canonical_genome({"arch": "snasnet", "cell": "0303 0030 0003 0000", "channels": 64})
    cost = price(map_candidates([Candidate(network=genome, timesteps=5)], model), model)
    assert cost.total_energy_pj[0] > 0 and cost.total_area_mm2[0] > 0


def test_evaluator_rejects_bad_configuration():
    with pytest.raises(ConfigError, match=r"hardware.node_nm"):
        CostEvaluator({}, EvaluationContext(project_dir=REPO, hardware={"node_nm": 5}))
    with pytest.raises(ConfigError, match=r"hardware.nodes"):
        CostEvaluator({}, EvaluationContext(project_dir=REPO, hardware={"nodes": 32}))
    with pytest.raises(ConfigError, match=r"options.use_activity"):
        CostEvaluator({"use_activity": "yes"}, EvaluationContext(project_dir=REPO))
    evaluator = CostEvaluator({}, EvaluationContext(project_dir=REPO))
    with pytest.raises(ConfigError, match=r"candidate.hardware.device"):
        evaluator.evaluate(Candidate(network=VGG, timesteps=1, hardware={"device": "mram"}), {})


def test_component_names_are_the_public_lists(model):
    from cosearch.hw import AREA_COMPONENTS, ENERGY_COMPONENTS

    cost = cost_of(model)
    assert tuple(cost.energy_pj) == ENERGY_COMPONENTS and tuple(cost.area_um2) == AREA_COMPONENTS


def test_mapping_ranges_are_those_of_core_mapping_keys(model):
    """The vectorised check says what check_layer_mapping would say of the first bad value."""
    from cosearch.core.candidate import MAPPING_KEYS

    bad = {"adc_bits": MAPPING_KEYS["adc_bits"].high + 1, "xbar_size": 0, "weight_bits": 2.5}
    for key, value in bad.items():
        with pytest.raises(ConfigError) as info:
            cost_of(model, **{key: value})
        assert str(info.value) == f": candidate.hardware.{key}: {MAPPING_KEYS[key].value_error(value)}"
    with pytest.raises(ConfigError, match=r"candidate.hardware.column_sharing: cannot exceed the crossbar size"):
        cost_of(model, column_sharing=128, xbar_size=64)
