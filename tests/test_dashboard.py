"""Dashboard data (points, statuses, baselines, hypervolume per phase, hardware maps, cell
graphs, comparison) checked without rendering; the CLI verb and the end-of-run hook."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, experiment_dict

from cosearch.cli import main
from cosearch.config import load_experiment
from cosearch.core.errors import RunStalled
from cosearch.core.pareto import hypervolume, to_minimization
from cosearch.dashboard import (
    best_so_far,
    breakdown_info,
    cell_graph,
    compare_info,
    dashboard_figures,
    figures,
    hypervolume_info,
    layer_map,
    load_run,
    parallel_dimensions,
    pareto_designs,
    pareto_front_info,
    write_dashboard,
)
from cosearch.dashboard.data import (
    RunData,
    _dimension,
    accuracy_info,
    metric_errors,
    metric_label,
    phase_starts,
)
from cosearch.results import RunSpec
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment
from cosearch.workload import canonical_genome, network_layers

PUBLISHED_CELL = "0303 0030 2002 0200"  # SNASNet's published cell (anchors.md section 1)

BASELINES = [
    {"name": "vgg16", "values": {"network": {"channels": [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]},
                                 "timesteps": 2, "hardware": {"adc_bits": 4}}},  # area 4.67 mm^2: infeasible
    {"name": "vgg16_slim", "values": {"network": {"channels": [64] * 13}, "timesteps": 2, "hardware": {"adc_bits": 4}}},
]

SNASNET_SPACE = {
    "name": "snas_xbar",
    "network": {
        "arch": "snasnet", "nodes": 4, "channels": {"choices": [16, 32]},
        "edge_op": {"choices": [0, 1, 2, 3, 4], "count": 6, "at": {2: 3}},
        "edge_dir": {"choices": ["forward", "backward"], "count": 6, "at": {2: "forward"}},
    },
    "timesteps": {"low": 2, "high": 5},
    "hardware": {"device": {"choices": ["sram", "pcm", "fefet"], "count": 16},
                 "adc_bits": {"low": 3, "high": 7}, "column_sharing": {"choices": [4, 8, 16]}},
}


def make_run(tmp: Path, name: str, **overrides) -> Path:
    """Run a small experiment (from conftest's :func:`experiment_dict` + overrides) into ``tmp/name``."""
    source = tmp / f"{name}.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(**overrides), sort_keys=False))
    with contextlib.chdir(REPO):  # the cost evaluator finds hw_models/ from here
        run_experiment(load_experiment(source), RunDirectory(tmp / name), progress=False)
    return tmp / name


def make_two_phase_run(tmp: Path, name: str = "two_phase") -> Path:
    """Analytic evaluator, two phases (random then TPE from the first phase's front), two baselines."""
    phases = [{"name": "coarse", "trials": 14, "searcher": {"type": "random"}},
              {"name": "fine", "trials": 8, "inherit": {"enqueue": "best", "fix": ["timesteps"]}}]
    return make_run(tmp, name, phases=phases, enqueue=BASELINES, constraints=[{"metric": "hw_area_mm2", "<=": 4.0}])


def make_snasnet_run(tmp: Path) -> Path:
    """Cost model on SNASNet cells, three objectives, the published cell as a baseline."""
    published = {"name": "snasnet", "values": {"network": {"channels": 16, "edge_op": [3, 2, 3, 3, 2, 2],
                                                           "edge_dir": ["forward", "backward", "forward", "forward",
                                                                        "backward", "forward"]},
                                          "timesteps": 4,
                                          "hardware": {"device": ["sram"] * 4 + ["pcm"] * 12, "adc_bits": 5,
                                                       "column_sharing": 8}}}
    objectives = [{"metric": m, "direction": "minimize"} for m in ("hw_energy_pj", "hw_latency_ns", "hw_area_mm2")]
    return make_run(tmp, "snas", space=SNASNET_SPACE, evaluators=[{"type": "cost", "options": {}}],
                    objectives=objectives, constraints=[], searcher={"type": "random"}, trials=12,
                    enqueue=[published])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("dashboard_runs")
    return {"two_phase": make_two_phase_run(tmp), "single": make_run(tmp, "single", trials=10, seed=5),
            "snas": make_snasnet_run(tmp)}


@pytest.fixture(scope="module")
def two_phase(runs):
    return load_run(runs["two_phase"])


@pytest.fixture(scope="module")
def snas(runs):
    return load_run(runs["snas"])


@pytest.mark.slow
def test_front_points_statuses_and_baseline_labels(two_phase, runs):
    info = pareto_front_info(two_phase, (0, 1))
    table = pd.read_csv(runs["two_phase"] / "trials.csv", keep_default_na=False)
    done = table[table["state"] == "COMPLETE"]
    assert info.metrics == ["proxy_score", "hw_energy_pj"] and info.directions == ["maximize", "minimize"]
    assert list(info.trials) == list(done["trial"])
    assert np.allclose(info.values, done[["objective_proxy_score", "objective_hw_energy_pj"]].to_numpy(float))
    status = pd.Series(info.status, index=done["trial"])
    assert set(status[done["pareto"].to_numpy()]) == {"pareto"}
    assert set(status[~done["feasible"].to_numpy()]) == {"infeasible"}
    assert (status == "dominated").sum() == (done["feasible"] & ~done["pareto"]).sum() > 0
    assert dict(zip(info.baseline, info.status))["vgg16"] == "infeasible"
    assert sorted(b for b in info.baseline if b) == ["vgg16", "vgg16_slim"]
    assert list(done.loc[done["baseline"] == "vgg16_slim", "trial"]) == [info.trials[info.baseline.index("vgg16_slim")]]
    assert list(info.axes_front) == list(done["pareto"])  # two objectives: the axes' front is the front
    hover = info.hover[info.baseline.index("vgg16")]
    assert "baseline <b>vgg16</b>" in hover and "infeasible" in hover and "adc_bits: 4" in hover


def test_hypervolume_per_phase(two_phase):
    hv = hypervolume_info(two_phase)
    table = two_phase.table
    assert np.allclose(hv.run, table["hypervolume"], equal_nan=True)
    assert list(hv.phases) == ["coarse", "fine"]
    _, coarse = hv.phases["coarse"]
    assert np.allclose(coarse, table.loc[table["phase"] == "coarse", "hypervolume"])  # first phase = run so far
    fine_trials, fine = hv.phases["fine"]
    rows = table[table["phase"] == "fine"]
    assert list(fine_trials) == list(rows["trial"])
    directions = two_phase.spec.directions
    reference = to_minimization(np.array([hv.reference]), directions)[0]
    points = to_minimization(rows[["objective_proxy_score", "objective_hw_energy_pj"]].to_numpy(float), directions)
    for k in range(len(rows)):
        mine = points[: k + 1][rows["feasible"].to_numpy()[: k + 1]]
        assert fine[k] == pytest.approx(hypervolume(mine, reference))
    assert np.all(np.diff(fine) >= 0) and fine[-1] <= hv.run[-1] + 1e-9


def test_best_so_far_is_cumulative_best_of_feasible(two_phase):
    best = best_so_far(two_phase)
    table = two_phase.table
    for metric, direction in zip(two_phase.spec.metrics, two_phase.spec.directions):
        values = table[f"objective_{metric}"].where(table["feasible"])
        expected = (values.cummax() if direction == "maximize" else values.cummin()).ffill()  # carried over infeasible trials
        assert np.allclose(best[metric], expected.to_numpy(float), equal_nan=True)


def test_published_snasnet_cell_graph_marks_backward_edges():
    graph = cell_graph(canonical_genome({"arch": "snasnet", "cell": PUBLISHED_CELL}))
    edges = {(e.src, e.dst): (e.op, e.backward) for e in graph.edges}
    assert graph.nodes == 4
    assert edges == {
        (0, 1): ("conv3x3", False), (0, 3): ("conv3x3", False), (1, 2): ("conv3x3", False),
        (2, 0): ("conv1x1", True), (2, 3): ("conv1x1", False), (3, 1): ("conv1x1", True),
    }
    assert cell_graph({"arch": "snasnet", "nodes": 4, "cell": PUBLISHED_CELL}).edges == graph.edges
    assert cell_graph(canonical_genome({"arch": "vgg16"})) is None


def test_hardware_map_and_cost_breakdown_of_a_pareto_design(snas):
    trial = int(pareto_designs(snas)["trial"].iloc[0])
    record = snas.records[trial]
    candidate = record["candidate"]
    rows = layer_map(candidate)
    layers = network_layers(candidate["network"])
    assert [r["layer"] for r in rows] == [layer.name for layer in layers]
    devices = candidate["hardware"]["device"]
    assert [r["device"] for r in rows] == [devices[layer.slot] for layer in layers]
    assert {r["adc_bits"] for r in rows} == {candidate["hardware"]["adc_bits"]}
    assert rows[0]["input_bits"] == "card default" and rows[1]["input_bits"] == "1 (spikes)"
    assert rows[0]["weight_bits"] == "card default" and rows[0]["cout"] == candidate["network"]["channels"]
    costs = breakdown_info(record["details"])
    assert costs.layers == [r["layer"] for r in rows]
    metrics = snas.table.set_index("trial").loc[trial]
    assert sum(map(sum, costs.energy_pj.values())) == pytest.approx(metrics["hw_energy_pj"], rel=1e-9)
    assert sum(costs.latency_ns) == pytest.approx(metrics["hw_latency_ns"], rel=1e-9)
    assert {"array", "adc"} <= set(costs.energy_pj) and {"array", "adc"} <= set(costs.area_mm2)


def test_breakdown_absent_or_partial_degrades():
    assert breakdown_info({}) is None and breakdown_info(None) is None
    assert breakdown_info({"hw_breakdown": {"layers": {"name": []}}}) is None
    partial = breakdown_info({"hw_breakdown": {"layers": {"name": ["conv1"], "energy_pj": [2.0], "area_mm2": [0.5]}}})
    assert partial.energy_pj == {"total": [2.0]} and partial.area_mm2 == {"total": [0.5]} and partial.latency_ns == [0.0]
    assert layer_map({"network": {"arch": "unknown"}}) == []


@pytest.mark.slow
def test_figures_per_design_follow_what_the_records_hold(two_phase, snas):
    analytic = dashboard_figures(two_phase)
    designs = [int(t) for t in pareto_designs(two_phase)["trial"]]
    assert {"pareto:0-1", "progress", "parallel"} <= set(analytic) and "pareto3d" not in analytic
    assert {f"map:{t}" for t in designs} <= set(analytic)
    assert not any(k.startswith(("breakdown:", "cell:", "compare:")) for k in analytic)
    three = dashboard_figures(snas)
    assert {"pareto:0-1", "pareto:0-2", "pareto:1-2", "pareto3d"} <= set(three)
    best = int(pareto_designs(snas)["trial"].iloc[0])
    assert {f"map:{best}", f"breakdown:{best}", f"cell:{best}"} <= set(three)
    backward = [t for t in three[f"cell:{best}"].data if t.line.dash == "dash" and t.x[0] is not None]
    assert len(backward) == sum(e.backward for e in cell_graph(snas.records[best]["candidate"]["network"]).edges)


def test_three_objective_projection_front(snas):
    info = pareto_front_info(snas, (0, 2))
    assert len(info.metrics) == 2
    feasible = [s != "infeasible" for s in info.status]
    assert info.axes_front.sum() >= 1 and all(f for f, a in zip(feasible, info.axes_front) if a)
    assert "snasnet" in info.baseline and "cell: 0303 0030 2002 0200" in info.hover[info.baseline.index("snasnet")]


def test_parallel_dimensions_cover_varying_params_then_objectives(two_phase):
    dims, total = parallel_dimensions(two_phase, max_params=5)
    feasible = two_phase.table[two_phase.table["feasible"]]
    labels = [d.label for d in dims]
    assert labels[-2:] == ["proxy_score", "hw_energy_pj"] and len(dims) == 5 + 2
    assert total == sum(feasible[c].nunique(dropna=False) > 1 for c in feasible if c.startswith("params_"))
    assert all(len(d.values) == len(feasible) for d in dims)


def test_pareto_table_ids_match_trials_csv(runs, two_phase):
    front = pareto_designs(two_phase)
    csv = pd.read_csv(runs["two_phase"] / "pareto.csv")
    assert sorted(front["trial"]) == sorted(csv["trial"])
    assert list(front["proxy_score"]) == sorted(front["proxy_score"], reverse=True)  # best first (maximised)
    assert {"T", "channels", "adc_bits"} <= set(front.columns)


def test_compare_runs_share_the_main_reference(two_phase, runs):
    single = load_run(runs["single"])
    series = compare_info(two_phase, [single], (0, 1))
    assert [s.label for s in series] == ["tiny (two_phase)", "tiny (single)"]
    assert series[0].hypervolume == pytest.approx(two_phase.table["hypervolume"].iloc[-1])
    assert len(series[1].values) == int(single.table["feasible"].sum())
    assert list(series[0].front) == list(two_phase.table.loc[two_phase.table["feasible"], "pareto"])


@pytest.mark.slow
def test_cli_dashboard_writes_one_self_contained_file(runs, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["dashboard", str(runs["two_phase"]), "-o", str(out), "--compare", str(runs["single"])]) == 0
    assert str(out) in capsys.readouterr().out
    page = out.read_text()
    assert not re.search(r"<script[^>]+src=", page) and "* plotly.js v" in page  # plotly.js inlined
    assert all(f'id="fig-{name}"' in page for name in ("pareto", "compare", "progress", "parallel", "map"))
    assert 'data-trial="' in page and "vgg16_slim" in page and "dataset: cifar10" in page
    assert main(["dashboard", str(tmp_path / "nowhere")]) == 2


def test_run_writes_dashboard_and_survives_a_broken_one(tmp_path, monkeypatch, capsys):
    source = tmp_path / "exp.yaml"
    source.write_text(yaml.safe_dump(experiment_dict(trials=4), sort_keys=False))
    assert main(["run", str(source), "--out", str(tmp_path / "ok"), "--no-progress"]) == 0
    assert (tmp_path / "ok" / "dashboard.html").stat().st_size > 1_000_000

    def broken(*args, **kwargs):
        raise RuntimeError("no plot today")

    monkeypatch.setattr("cosearch.dashboard.write_dashboard", broken)
    assert main(["run", str(source), "--out", str(tmp_path / "broken"), "--no-progress"]) == 0
    assert "warning: dashboard not written (RuntimeError: no plot today)" in capsys.readouterr().err
    assert (tmp_path / "broken" / "trials.csv").is_file() and not (tmp_path / "broken" / "dashboard.html").exists()


def test_dashboard_of_a_run_whose_trials_all_failed(tmp_path):
    space = {**experiment_dict()["space"], "timesteps": {"value": 2}}
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {"fail_if_timesteps": 2}}]
    with pytest.raises(RunStalled):  # the run stops (exit 3) but keeps what it recorded
        make_run(tmp_path, "failing", space=space, evaluators=evaluators, trials=3)
    page = write_dashboard(tmp_path / "failing").read_text()
    assert "3 trials (fail 3)" in page and "no completed trials yet" in page


def test_parallel_axis_of_a_parameter_missing_in_some_trials():
    # phases with different spaces leave a parameter empty in some rows; its axis shows "-" there
    dimension = _dimension("device_group_4", pd.Series(["pcm", np.nan, "sram", "pcm"]))
    assert dimension.ticktext == ["-", "pcm", "sram"]
    assert list(dimension.values) == [1.0, 0.0, 2.0, 1.0]


# ------------------------------------------------ predicted accuracy (accuracy_pred) ----


def accuracy_run() -> RunData:
    """Four trials of a run maximising ``accuracy_pred`` [%]: trial 0 trained on hardware
    (``accuracy_hw`` 0.415), trial 1 only clean (``accuracy`` 0.48), trials 2 and 3 predicted only;
    trial 2 has no recorded std. On (accuracy_pred, hw_energy_pj) trial 2 is dominated by trial 1."""
    nan = np.nan
    table = pd.DataFrame({
        "trial": [0, 1, 2, 3], "phase": "search", "phase_trial": [0, 1, 2, 3], "state": "COMPLETE",
        "baseline": ["", "", "", ""],
        "objective_accuracy_pred": [40.0, 50.0, 45.0, 60.0],
        "objective_hw_energy_pj": [1.0, 2.0, 3.0, 4.0],
        "objective_hw_area_mm2": [4.0, 3.0, 1.0, 2.0],
        "feasible": True, "pareto": True, "hypervolume": 0.0,
        "accuracy": [0.43, 0.48, nan, nan],
        "accuracy_hw": [0.415, nan, nan, nan],
        "accuracy_pred": [40.0, 50.0, 45.0, 60.0],
        "accuracy_pred_std": [1.0, 2.0, nan, 0.5],
        "hw_area_mm2": [4.0, 3.0, 1.0, 2.0],
        "hw_energy_pj": [1.0, 2.0, 3.0, 4.0],
    })
    spec = RunSpec(name="acc", phases=["search"], metrics=["accuracy_pred", "hw_energy_pj", "hw_area_mm2"],
                   directions=["maximize", "minimize", "minimize"], constraints=[], reference=None)
    return RunData(Path("acc"), "acc", spec, table, {})


def test_accuracy_info_marks_trained_rows_in_percent():
    accuracy = accuracy_info(accuracy_run().table)
    assert accuracy is not None
    assert list(accuracy.trained) == [True, True, False, False]
    assert accuracy.measured[:2] == pytest.approx([41.5, 48.0])  # accuracy_hw (0.415) preferred over accuracy (0.43)
    assert np.isnan(accuracy.measured[2:]).all() and accuracy.source == ["accuracy_hw", "accuracy", "", ""]
    assert np.allclose(accuracy.predicted, [40.0, 50.0, 45.0, 60.0])
    assert np.allclose(accuracy.std, [1.0, 2.0, np.nan, 0.5], equal_nan=True)
    assert metric_label("accuracy_pred") == "predicted accuracy [%]" and metric_label("hw_energy_pj") == "hw_energy_pj"
    assert metric_errors(accuracy_run().table, "hw_energy_pj") is None


def test_front_info_with_predicted_accuracy_has_error_bars_and_trained_values():
    run = accuracy_run()
    info = pareto_front_info(run, (0, 1))
    assert info.accuracy_axis == 0 and info.errors[1] is None
    assert np.allclose(info.errors[0], [1.0, 2.0, np.nan, 0.5], equal_nan=True)
    assert list(info.axes_front) == [True, True, False, True]  # 45 % at 3 pJ loses to 50 % at 2 pJ
    assert "accuracy: 40 ± 1 % predicted · 41.5 % trained (accuracy_hw)" in info.hover[0]
    assert "accuracy: 50 ± 2 % predicted · 48 % trained (accuracy)" in info.hover[1]
    assert "accuracy: 45 % predicted" in info.hover[2] and "trained" not in info.hover[2]
    assert "accuracy_pred =" not in info.hover[0] and "hw_energy_pj = 1" in info.hover[0]
    swapped = pareto_front_info(run, (1, 0))  # accuracy on the y axis
    assert swapped.accuracy_axis == 1 and swapped.errors[0] is None and swapped.errors[1] is not None
    other = pareto_front_info(run, (1, 2))  # accuracy not plotted: no error bars, trained rows still known
    assert other.accuracy_axis is None and other.errors == [None, None]
    assert other.accuracy is not None and list(other.accuracy.trained) == [True, True, False, False]


def test_predicted_accuracy_figures_build():
    run = accuracy_run()
    fig = figures.pareto_figure(pareto_front_info(run, (0, 1)))
    assert fig.layout.xaxis.title.text == "predicted accuracy [%] ↑" and fig.layout.xaxis.type == "linear"
    traces = {t.name: t for t in fig.data}
    assert list(traces["trained"].x) == [40.0, 50.0] and traces["trained"].marker.symbol == "diamond"
    assert list(traces["trained"].error_x.array) == [1.0, 2.0]
    assert list(traces["trained accuracy [%]"].x) == pytest.approx([41.5, 48.0])
    assert list(traces["trained accuracy [%]"].y) == [1.0, 2.0]
    assert list(traces["trained vs predicted"].x) == pytest.approx([40.0, 41.5, None, 50.0, 48.0, None])
    assert list(traces["Pareto"].x) == [45.0, 60.0]  # the untrained points (all on the 3-objective front)
    assert np.allclose(np.array(traces["Pareto"].error_x.array, dtype=float), [np.nan, 0.5], equal_nan=True)
    swapped = figures.pareto_figure(pareto_front_info(run, (1, 0)))
    assert swapped.layout.yaxis.title.text == "predicted accuracy [%] ↑"
    assert list({t.name: t for t in swapped.data}["trained"].error_y.array) == [1.0, 2.0]
    three = figures.pareto_figure(pareto_front_info(run, (0, 1, 2)))
    assert three.layout.scene.xaxis.title.text == "predicted accuracy [%] ↑"
    assert list({t.name: t for t in three.data}["trained accuracy [%]"].x) == pytest.approx([41.5, 48.0])
    compare = figures.compare_figure(compare_info(run, [], (0, 1)), ["accuracy_pred", "hw_energy_pj"],
                                     ["maximize", "minimize"])
    assert compare.layout.xaxis.title.text == "predicted accuracy [%] ↑"
    assert any(t.error_x.array is not None for t in compare.data)
    progress = figures.progress_figure(hypervolume_info(run), best_so_far(run), run.spec.directions, phase_starts(run))
    assert "best so far: predicted accuracy [%] ↑" in [a.text for a in progress.layout.annotations]
    dims, _ = parallel_dimensions(run)
    assert [d.label for d in dims][-3:] == ["predicted accuracy [%]", "hw_energy_pj", "hw_area_mm2"]
    figures.parallel_figure(dims, "predicted accuracy [%]", "maximize")
    front = pareto_designs(run)
    assert list(front["trial"]) == [3, 1, 2, 0]  # best predicted accuracy first
    assert np.allclose(front["trained accuracy [%]"], [np.nan, 48.0, np.nan, 41.5], equal_nan=True)
    assert np.allclose(front["accuracy_pred_std"], [0.5, 2.0, np.nan, 1.0], equal_nan=True)


def test_runs_without_predicted_accuracy_are_unchanged(two_phase):
    assert accuracy_info(two_phase.table) is None
    info = pareto_front_info(two_phase, (0, 1))
    assert info.accuracy is None and info.accuracy_axis is None and info.errors == [None, None]
    fig = figures.pareto_figure(info)
    assert fig.layout.xaxis.title.text == "proxy_score ↑"
    assert not any(t.name and "trained" in t.name for t in fig.data)
    assert all(t.error_x.array is None and t.error_y.array is None for t in fig.data)
    assert "trained accuracy [%]" not in pareto_designs(two_phase).columns


PREDICTOR_MODULE = """
import math

from cosearch.core.evaluator import Evaluator


class PredictedAccuracy(Evaluator):
    \"\"\"accuracy_pred = 30 + 5 T [%] (std T/2); trials with even T also 'trained': accuracy_hw = (accuracy_pred - 3) / 100.\"\"\"

    @classmethod
    def produces(cls, options, context):
        return {"accuracy_pred", "accuracy_pred_std", "accuracy_hw"}

    def evaluate(self, candidate, upstream):
        predicted = 30.0 + 5.0 * candidate.timesteps
        trained = (predicted - 3.0) / 100.0 if candidate.timesteps % 2 == 0 else math.nan
        return {"accuracy_pred": predicted, "accuracy_pred_std": candidate.timesteps / 2, "accuracy_hw": trained}
"""


@pytest.mark.slow
def test_dashboard_of_a_run_maximising_predicted_accuracy(tmp_path, monkeypatch):
    (tmp_path / "predictor_evaluator.py").write_text(PREDICTOR_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    evaluators = [{"type": "analytic_evaluator:AnalyticEvaluator", "options": {}},
                  {"type": "predictor_evaluator:PredictedAccuracy", "options": {}}]
    objectives = [{"metric": "accuracy_pred", "direction": "maximize"}, {"metric": "hw_energy_pj", "direction": "minimize"}]
    path = make_run(tmp_path, "predicted", evaluators=evaluators, objectives=objectives, trials=10)
    run = load_run(path)
    accuracy = accuracy_info(run.complete)
    assert accuracy is not None and accuracy.trained.any() and not accuracy.trained.all()
    even = run.complete["params_timesteps"].to_numpy() % 2 == 0
    assert list(accuracy.trained) == list(even)
    assert np.allclose(accuracy.measured[even], accuracy.predicted[even] - 3.0)
    figs = dashboard_figures(run)
    assert figs["pareto:0-1"].layout.xaxis.title.text == "predicted accuracy [%] ↑"
    page = write_dashboard(path).read_text()
    assert "predicted accuracy [%]" in page and "outlined diamonds: trained" in page
    assert "% trained (accuracy_hw)" in page
