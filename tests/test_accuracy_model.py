"""The accuracy model: features on hand-computed designs, the model on synthetic relations, the
calibration sources, the evaluator's bad input and the validation harness on a fixture table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext
from cosearch.core.ranking import kendall_tau
from cosearch.predictor.calibration import design_key, target_of, trained_rows
from cosearch.predictor.features import DESIGN_FEATURES, FeatureScope, cell_conv_chain, design_feature_names, feature_row
from cosearch.predictor.model import FAMILIES, MIN_ROWS, AccuracyModel
from cosearch.workload import canonical_genome

ROOT = Path(__file__).resolve().parents[1]
VGG16 = (64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512)
SCOPE = FeatureScope({"device": "rram", "adc_type": "sar", "adc_bits": 5, "column_sharing": 8, "input_bits": 8},
                     ("pcm", "rram"))


def cell(edge_op: list[int], channels: int = 16) -> Candidate:
    return Candidate(network=canonical_genome({"arch": "snasnet", "nodes": 4, "channels": channels, "edge_op": edge_op}),
                     timesteps=5)


# ------------------------------------------------------------------ features --

def test_vgg16_design_features_by_hand():
    hardware = {"adc_bits": (4,) * 7 + (8,) * 7, "adc_type": ("flash",) * 7 + ("sar",) * 7,
                "column_sharing": 16, "device": ("pcm",) * 7 + ("rram",) * 7, "input_bits": 6}
    candidate = Candidate(network=canonical_genome({"arch": "vgg16", "channels": VGG16}), timesteps=3, hardware=hardware)
    row = feature_row(candidate, {"proxy_score": -40.0, "hw_edap": 2.5, "proxy_layer_firing_rates": {"a": 1}}, SCOPE)
    # weights: 3*64*9 + 64*64*9 + 64*128*9 + 128^2*9 + 128*256*9 + 2*256^2*9 + 256*512*9 + 5*512^2*9 + 512*4*10
    assert row["log_params"] == pytest.approx(math.log(14_730_944))
    assert row["log_macs"] == pytest.approx(math.log(313_217_024))
    assert row["timesteps"] == 3
    assert (row["conv_edges"], row["conv_chain"], row["depth"]) == (0, 0, 14)  # 13 convs + classifier, no cell
    # stages by feature-map size 32, 16, 8, 4, 2: 64, 128, 256, 512, 512 channels
    assert [row[f"width_stage{k}"] for k in range(1, 6)] == [6, 7, 8, 9, 9]
    assert row["adc_bits_min"] == 4 and row["adc_bits_mean"] == 6
    assert row["adc_flash_share"] == 0.5
    assert row["log2_column_sharing"] == 4
    assert row["input_bits"] == 6
    assert row["device_pcm"] == 0.5 and row["device_rram"] == 0.5
    assert row["proxy_score"] == -40 and row["hw_edap"] == 2.5
    assert "proxy_layer_firing_rates" not in row  # not a scalar


def test_cell_features_by_hand():
    # all six edges conv3x3: chain 0->1->2->3 has 3 convs; depth = stem, down, fc1, fc2 + 2 cells x 3
    full = feature_row(cell([3, 3, 3, 3, 3, 3]), {}, SCOPE)
    assert (full["conv_edges"], full["conv_chain"], full["depth"]) == (6, 3, 10)
    # skip 0->1, skip 0->2, conv 0->3, zero 1->2, skip 1->3, zero 2->3: node 2 cannot reach the output
    # and is pruned; the longest conv chain is the direct conv
    pruned = feature_row(cell([1, 1, 3, 0, 1, 0]), {}, SCOPE)
    assert (pruned["conv_edges"], pruned["conv_chain"], pruned["depth"]) == (1, 1, 6)
    # width stages: 32x32 (stem 16, 1 cell conv of 16, down 32 channels) then 16x16 (1 conv of 32)
    assert pruned["width_stage1"] == pytest.approx(math.log2((16 + 16 + 32) / 3))
    assert pruned["width_stage2"] == pruned["width_stage5"] == 5
    assert pruned["adc_bits_min"] == 5 and pruned["device_rram"] == 1.0  # the cards' defaults
    # conv 0->1, conv 1->2, skip 2->3 beats the direct conv 0->3 and conv 0->2 + skip 2->3
    assert cell_conv_chain([[0, 3, 3, 3], [0, 0, 3, 0], [0, 0, 0, 1], [0, 0, 0, 0]]) == 2


def test_feature_names_have_one_home():
    assert design_feature_names(SCOPE) == [*DESIGN_FEATURES, "device_pcm", "device_rram"]
    assert set(feature_row(cell([3, 0, 3, 0, 0, 3]), {}, SCOPE)) == set(design_feature_names(SCOPE))


# --------------------------------------------------------------------- model --

def synthetic(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Accuracy rises monotonically (and saturates) with ``x``; ``noise`` is irrelevant."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"x": rng.uniform(-2, 2, rows), "noise": rng.normal(size=rows)})
    return table, 80 + 5 * np.tanh(table["x"].to_numpy()) + rng.normal(0, 0.05, rows)


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_model_recovers_a_monotone_relation(family):
    table, accuracy = synthetic(40, 0)
    model = AccuracyModel(family, seed=0).fit(table, ["x", "noise"], accuracy)
    grid = pd.DataFrame({"x": np.linspace(-1.9, 1.9, 25), "noise": np.random.default_rng(1).normal(size=25)})
    mean, std = model.predict(grid)
    assert kendall_tau(mean, grid["x"]) > 0.9
    assert np.all(std > 0)
    # the irrelevant feature barely moves the prediction; the relevant one moves it by its effect
    probe, _ = model.predict(pd.DataFrame({"x": [0.0, 0.0, -1.5, 1.5], "noise": [-2.0, 2.0, 0.0, 0.0]}))
    assert abs(probe[1] - probe[0]) < 0.5 and probe[3] - probe[2] > 0.8 * 10 * math.tanh(1.5)
    if family == "gp":  # the nonlinear family also gets the saturating shape
        truth = 80 + 5 * np.tanh(grid["x"].to_numpy())
        assert np.mean(np.abs(mean - truth)) < 0.3  # percent


@pytest.mark.slow
def test_model_is_deterministic_and_uncertain_away_from_data():
    table, accuracy = synthetic(30, 2)
    one = AccuracyModel("gp", seed=3).fit(table, ["x", "noise"], accuracy)
    two = AccuracyModel("gp", seed=3).fit(table, ["x", "noise"], accuracy)
    probe = pd.DataFrame({"x": [0.0, 30.0], "noise": [0.0, 0.0]})
    assert np.array_equal(one.predict(probe)[0], two.predict(probe)[0])
    near, far = one.predict(probe)[1]
    assert far > near


def test_preprocessing_fills_non_finite_and_drops_constant_features():
    table, accuracy = synthetic(20, 4)
    table["score"] = table["x"]
    table.loc[0, "score"] = -np.inf
    table["constant"] = 5.0
    model = AccuracyModel("bayesian_ridge").fit(table, ["x", "score", "constant"], accuracy)
    assert model.features == ["x", "score"] and model.ignored == ["constant"]
    mean, _ = model.predict(pd.DataFrame({"x": [0.0], "score": [-np.inf], "constant": [5.0]}))
    assert np.isfinite(mean).all()


def test_model_refuses_too_few_rows_and_a_constant_target():
    table, accuracy = synthetic(MIN_ROWS - 1, 0)
    with pytest.raises(ValueError, match=f"at least {MIN_ROWS}"):
        AccuracyModel().fit(table, ["x"], accuracy)
    table, _ = synthetic(MIN_ROWS, 0)
    with pytest.raises(ValueError, match="all equal"):
        AccuracyModel().fit(table, ["x"], np.full(MIN_ROWS, 85.0))


# --------------------------------------------------------------- calibration --

def test_trained_rows_take_trained_trials_in_percent():
    design = cell([3, 0, 3, 0, 0, 3])
    table = pd.DataFrame({"trial": [0, 1, 2], "accuracy": [0.40, np.nan, 0.30], "accuracy_hw": [0.35, np.nan, np.nan],
                          "proxy_score": [-40.0, -41.0, np.nan], "hw_edap": [1.0, 2.0, 3.0]})
    records = {i: {"candidate": design.to_dict()} for i in range(3)}
    rows = trained_rows(table, records, "auto", "run")
    assert [r.accuracy for r in rows] == pytest.approx([35.0, 30.0])  # accuracy_hw first, else accuracy
    assert rows[0].metrics == {"proxy_score": -40.0, "hw_edap": 1.0}
    assert rows[1].metrics == {"hw_edap": 3.0}  # NaN metrics left out
    assert [r.accuracy for r in trained_rows(table, records, "accuracy", "run")] == pytest.approx([40.0, 30.0])
    assert math.isnan(target_of({"accuracy": float("nan")}, "auto"))


def test_design_key_ignores_params_but_not_seed_or_evaluators():
    a, b = cell([3, 0, 3, 0, 0, 3]), cell([3, 0, 3, 0, 0, 3])
    assert design_key(a, (("proxy", {}),)) == design_key(b, (("proxy", {}),))
    assert design_key(a, (("proxy", {}),)) != design_key(a, (("proxy", {"repeats": 1}),))


def test_score_rows_scores_a_design_once_and_caches_it(tmp_path):
    """Topologies 002000 and 102000 prune to one cell: one design, scored once; a second call reads the cache."""
    from cosearch.predictor.calibration import CalibrationRow, score_rows
    from cosearch.tables.spikenas import topology_candidate

    calls = []

    def scorer():
        def score(candidate):
            calls.append(candidate)
            return {"proxy_score": float(len(calls)), "proxy_layer_firing_rates": {}, "accuracy": 0.5}
        return score

    def rows():
        return [CalibrationRow(topology_candidate(t, 0, True), 80.0, t) for t in ("002000", "102000", "222222")]

    first = rows()
    score_rows(first, (("proxy", {}),), scorer, tmp_path / "cache.csv", progress=False)
    assert len(calls) == 2 and first[0].metrics == first[1].metrics == {"proxy_score": 1.0}
    assert first[2].metrics == {"proxy_score": 2.0}  # only proxy_* / hw_* scalars are kept
    again = rows()
    score_rows(again, (("proxy", {}),), scorer, tmp_path / "cache.csv", progress=False)
    assert len(calls) == 2 and [r.metrics for r in again] == [r.metrics for r in first]
    assert len(pd.read_csv(tmp_path / "cache.csv")) == 2


# ----------------------------------------------------------------- evaluator --

def evaluator(options, **context):
    from cosearch.evaluators.accuracy_model import AccuracyModelEvaluator

    return AccuracyModelEvaluator(options, EvaluationContext(experiment_dir=ROOT, project_dir=ROOT, **context))


@pytest.mark.parametrize("options, key, text", [
    ({}, "options.calibration", "Field required"),
    ({"calibration": []}, "options.calibration", "at least 1"),
    ({"calibration": [{"benchmark": "nasbench", "path": "x.csv"}]}, "options.calibration.0.benchmark", "spikenas"),
    ({"calibration": [{"runs": ["a"], "this_run": True}]}, "options.calibration.0", "exactly one"),
    ({"calibration": [{"this_run": True}], "family": "forest"}, "options.family", "gp"),
    ({"calibration": [{"this_run": True}], "colour": 1}, "options.colour", "Extra inputs"),
    ({"calibration": [{"benchmark": "spikenas", "path": "missing.csv"}]}, "options.calibration[0].path", "no such file"),
    ({"calibration": [{"runs": ["tests"]}]}, "options.calibration[0].runs[0]", "not a run directory"),
    ({"calibration": [{"this_run": True}], "features": ["log_params", "proxy_magic"]}, "options.features", "proxy_magic"),
])
def test_evaluator_bad_options_name_the_key(options, key, text):
    with pytest.raises(ConfigError) as error:
        evaluator(options)
    assert key in str(error.value) and text in str(error.value)


def fixture_table(path: Path, accuracy_of) -> Path:
    """A SpikeNAS-Bench CSV, one cell (op 3 for conv) per topology, accuracy from its topology."""
    from cosearch.tables import spikenas

    rows = []
    for number in range(3 ** 6):
        topology = np.base_repr(number, 3).zfill(6)
        ops = [{"0": 0, "1": 1, "2": 3}[d] for d in topology]
        if ops[2] == 0 or number % 7:  # the 0->3 edge, and about one topology in 7
            continue
        rows.append({"arch_id": spikenas.encode_arch_id(ops), **dict(zip(spikenas.OP_COLUMNS, ops)),
                     "topology": topology, "test_acc": accuracy_of(topology), "epochs": 100})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_evaluator_refuses_too_few_rows_and_a_space_without_cells(tmp_path):
    table = fixture_table(tmp_path / "bench.csv", lambda t: 80.0 + t.count("2"))
    with pytest.raises(ConfigError, match=f"at least {MIN_ROWS}"):
        evaluator({"calibration": [{"benchmark": "spikenas", "path": str(table), "sample": 5}]})
    model = evaluator({"calibration": [{"benchmark": "spikenas", "path": str(table)}]})
    with pytest.raises(ConfigError, match="cannot express"):
        model.check_space({"arch": ["vgg16"], "channels": [64, 128]})
    model.check_space({"arch": ["snasnet"], "nodes": [4]})


@pytest.mark.slow
def test_evaluator_predicts_in_percent_with_cost_features(tmp_path):
    """Calibrated on a table where accuracy grows with the pruned conv count, the model (design and
    cost features only: no torch) ranks unseen cells by it and caches its rows' metrics."""
    table = fixture_table(tmp_path / "bench.csv", lambda t: 80.0 + 2 * t.count("2"))
    run_dir = tmp_path / "run"
    model = evaluator({"calibration": [{"benchmark": "spikenas", "path": str(table)}]},
                      run_dir=run_dir, upstream=(("cost", {}),))
    designs = [cell([3, 0, 1, 0, 0, 0], 128), cell([3, 3, 3, 3, 3, 3], 128)]
    metrics = model.evaluate_batch(designs, [{}, {}])
    low, high = (m["accuracy_pred"] for m in metrics)
    assert 78 < low < high < 94 and all(m["accuracy_pred_std"] > 0 for m in metrics)
    cached = pd.read_csv(run_dir / "accuracy_model" / "calibration.csv")
    assert len(cached) == len(model.rows) and "hw_edap" in cached.columns
    described = json.loads((run_dir / "accuracy_model" / "model.json").read_text())
    assert described["rows"] == len(model.rows) and "hw_edap" in described["features"]


# ------------------------------------------------------------------- harness --

@pytest.mark.slow
def test_harness_on_a_fixture_table(tmp_path):
    """Accuracy = 80 + the topology's longest conv chain: that baseline ranks it perfectly (tau-b 1
    with ties on both sides), the calibration topologies are left out of the ranking, and the
    summary's numbers are those of the written tables."""
    from cosearch.predictor.features import cell_conv_chain as chain
    from cosearch.tables.spikenas import snasnet_edge_ops
    from cosearch.workflows.model_validation import run_model_validation

    def accuracy(topology: str) -> float:
        return 80.0 + chain([list(r) for r in canonical_genome(
            {"arch": "snasnet", "nodes": 4, "edge_op": snasnet_edge_ops(topology)})["cell"]])

    table = fixture_table(tmp_path / "bench.csv", accuracy)
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(f"name: fixture\nspace: {ROOT / 'search_spaces/snasnet_forward.yaml'}\n"
                          "evaluators: [cost, {type: accuracy_model, options: {family: bayesian_ridge, "
                          "calibration: [{this_run: true}]}}]\nobjectives: [{metric: accuracy_pred, direction: maximize}]\n")
    summary = run_model_validation(experiment, "spikenas", table, table, calibration_size=10, out_dir=tmp_path / "out",
                                   resamples=50, progress=False, curve_sizes=(8, 10), curve_seeds=2)
    ranked = pd.read_csv(tmp_path / "out" / "topologies.csv", dtype={"topology": str})
    features = pd.read_csv(tmp_path / "out" / "features.csv", dtype={"topology": str})
    assert summary["n"] == len(ranked) == len(features) - 10
    assert summary["baselines"]["conv_chain"]["kendall_tau"] == pytest.approx(1.0)
    assert summary["kendall_tau"] == pytest.approx(kendall_tau(ranked["accuracy_pred"], ranked["test_acc"]))
    assert summary["model"]["family"] == "bayesian_ridge" and summary["model"]["rows"] == 10
    curve = pd.read_csv(tmp_path / "out" / "learning_curve.csv")
    assert list(curve["calibration_size"]) == [8, 8, 10, 10]
    assert (curve["tau_conv_chain"] == 1.0).all()
    assert (tmp_path / "out" / "scatter.html").stat().st_size > 10_000
    again = run_model_validation(experiment, "spikenas", table, table, calibration_size=10, out_dir=tmp_path / "out",
                                 resamples=50, progress=False, curve_sizes=(8,), curve_seeds=1)
    assert again["kendall_tau"] == summary["kendall_tau"]  # same seed, same numbers (metrics from the cache)


@pytest.mark.slow
def test_runs_and_this_run_calibrate_a_search(write_experiment, tmp_path):
    """A run whose trials were "trained" calibrates a second run's model (accuracy in percent); with
    this_run the second run's own trained trials join the rows as they arrive."""
    from cosearch.cli import main

    trained = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {}},
               {"type": "analytic_evaluator:AnalyticAccuracy", "options": {}}]
    first = write_experiment("first.yaml", evaluators=trained, searcher={"type": "random"})
    assert main(["run", str(first), "--out", str(tmp_path / "first"), "--no-progress"]) == 0
    model = {"type": "accuracy_model", "options": {"calibration": [{"runs": [str(tmp_path / "first")]}, {"this_run": True}]}}
    second = write_experiment("second.yaml", evaluators=[trained[0], {**trained[1], "options": {"every": 2}}, model],
                              objectives=[{"metric": "accuracy_pred", "direction": "maximize"}], searcher={"type": "random"},
                              seed=5)
    assert main(["run", str(second), "--out", str(tmp_path / "second"), "--no-progress"]) == 0
    table = pd.read_csv(tmp_path / "second" / "trials.csv")
    assert table["accuracy_pred"].notna().all() and (table["accuracy_pred_std"] > 0).all()
    truth = 100 * (0.2 + 0.02 * table[[f"params_channels_{k}" for k in range(13)]].map(math.log2).mean(axis=1)
                   + 0.01 * table["params_timesteps"])
    assert kendall_tau(table["accuracy_pred"], truth) > 0.6
    described = json.loads((tmp_path / "second" / "accuracy_model" / "model.json").read_text())
    own = int((table["params_timesteps"] % 2 == 0).sum())
    assert described["rows"] == 12 + own  # the first run's 12 trials, then every trained trial of this one


def test_validate_calibrate_bad_flags_exit_2(tmp_path, capsys):
    from cosearch.cli import main

    table = fixture_table(tmp_path / "bench.csv", lambda t: 80.0 + t.count("2"))
    experiment = str(ROOT / "experiments" / "validate_accuracy_model.yaml")
    cases = [([experiment, "--calibrate", str(table)], "--calibrate: fits the accuracy model for a --benchmark table"),
             ([experiment, "--benchmark", "spikenas", str(table), "--calibrate", str(table), "--calibration-size", "5"],
              f"--calibration-size: must be in {MIN_ROWS}.."),
             ([experiment, "--benchmark", "spikenas", str(table), "--calibrate", str(tmp_path / "none.csv")],
              "none.csv: --calibrate: no such file")]
    for argv, expected in cases:
        assert main(["validate", *argv, "--out", str(tmp_path / "out")]) == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before anything is scored or written


def test_max_features_keeps_the_features_that_order_the_calibration_rows():
    rng = np.random.default_rng(5)
    table = pd.DataFrame(rng.normal(size=(16, 12)), columns=[f"n{k}" for k in range(12)])
    table["a"], table["b"] = np.linspace(-1, 1, 16), rng.permutation(np.linspace(-1, 1, 16))
    accuracy = 80 + 3 * table["a"] + 2 * table["b"]
    names = [*(f"n{k}" for k in range(12)), "a", "b"]
    model = AccuracyModel("bayesian_ridge").fit(table, names, accuracy)  # auto: 16 // 4 = 4 features
    assert len(model.features) == 4 and {"a", "b"} <= set(model.features)
    assert sorted(model.features + model.unselected) == sorted(names)
    everything = AccuracyModel("bayesian_ridge", max_features=None).fit(table, names, accuracy)
    assert everything.features == names and everything.unselected == []
