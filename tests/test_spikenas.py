"""SpikeNAS-Bench harness (issue 12): op mapping round trip, both layouts, hand-checked tau, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cosearch.cli import main
from cosearch.core.errors import ConfigError
from cosearch.core.seeds import derive_seed
from cosearch.tables import spikenas
from cosearch.workflows.validate import run_benchmark_validation

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# (ops per edge (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), test acc %, epochs)
CELLS = [
    ((0, 0, 1, 0, 0, 0), 81.0, 100),  # topology 001000, 0 conv edges
    ((0, 0, 2, 0, 0, 0), 82.0, 100),  # 002000 (threshold 0.5) ...
    ((0, 0, 4, 0, 0, 0), 84.0, 100),  # ... and threshold 1.5: mean 83.0, 1 conv edge
    ((2, 0, 3, 0, 1, 0), 82.0, 100),  # 202010, 2 conv edges
    ((3, 0, 2, 0, 4, 0), 85.0, 100),  # 202020, 3 conv edges
    ((4, 0, 4, 0, 4, 0), 90.0, 200),  # 202020 trained 200 epochs: dropped
    ((2, 0, 0, 0, 2, 0), 10.0, 100),  # no 0->3 edge: dropped
]
# conv edges 0, 1, 2, 3 vs mean accuracy 81, 83, 82, 85: 5 concordant, 1 discordant pair of 6
BASELINE_TAU = (5 - 1) / 6
BASELINE_RHO = 1 - 6 * (0 + 1 + 1 + 0) / (4 * (4 ** 2 - 1))  # ranks 1 3 2 4 vs 1 2 3 4


def write_csv(path: Path, cells=CELLS) -> Path:
    rows = [{"arch_id": spikenas.encode_arch_id(ops), **dict(zip(spikenas.OP_COLUMNS, ops)),
             "topology": spikenas.topology_of(ops), "params": 1, "test_acc": acc, "epochs": epochs}
            for ops, acc, epochs in cells]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def process_file(arch_id: int, acc: float, epochs: int) -> str:
    lines = [f"architecture id: {arch_id}", "model parameters: 17179620", "epoch, train_acc, train_loss, val_acc, val_loss"]
    lines += [f"{e:.3f}, 50.000, 1.000, 50.000, 1.000" for e in range(epochs)]
    lines += [f"test accuracy: {acc:.3f}", "firing rate of layers: 0.1, -1.000", "Elapsed time: 0.0hour1.0minute0.0second"]
    return "\n".join(lines) + "\n"


def write_repository(root: Path, cells=CELLS) -> Path:
    for ops, acc, epochs in cells:
        arch_id = spikenas.encode_arch_id(ops)
        folder = root / "data" / "CIFAR10" / str(arch_id)
        folder.mkdir(parents=True)
        (folder / "train_process.txt").write_text(process_file(arch_id, acc, epochs))
    return root


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    space = Path(__file__).resolve().parents[1] / "search_spaces" / "snasnet_backward.yaml"
    document = {
        "name": "tiny_bench", "seed": 2, "space": str(space),
        "evaluators": ["proxy"], "objectives": [{"metric": "proxy_score", "direction": "maximize"}],
        "proxy": {"batch_size": 16, "repeats": 1, "channel_scale": 0.0625},
    }
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_arch_id_round_trips_through_ops() -> None:
    for arch_id in range(spikenas.CELLS):
        assert spikenas.encode_arch_id(spikenas.decode_arch_id(arch_id)) == arch_id
    assert spikenas.decode_arch_id(1) == (1, 0, 0, 0, 0, 0)
    assert spikenas.decode_arch_id(2 * 5 ** 2 + 4 * 5 ** 5) == (0, 0, 2, 0, 0, 4)
    assert spikenas.topology_of((0, 1, 2, 3, 4, 0)) == "012220"
    # every LIF-threshold conv op becomes SNASNet's LIF -> Conv3x3 -> BN (op 3)
    assert spikenas.snasnet_edge_ops("012220") == [0, 1, 3, 3, 3, 0]
    with pytest.raises(ValueError):
        spikenas.decode_arch_id(spikenas.CELLS)


def test_both_layouts_read_the_same_cells_and_drop_what_the_readme_says(tmp_path: Path) -> None:
    from_csv = spikenas.read_benchmark(write_csv(tmp_path / "bench.csv"))
    from_repo = spikenas.read_benchmark(write_repository(tmp_path / "checkout"))
    assert (from_csv.layout, from_repo.layout) == ("csv", "repository")
    key = ["arch_id"]
    pd.testing.assert_frame_equal(from_csv.cells.sort_values(key).reset_index(drop=True),
                                  from_repo.cells.sort_values(key).reset_index(drop=True), check_dtype=False)
    topologies = spikenas.topology_table(spikenas.usable_cells(from_repo))
    assert list(topologies["topology"]) == ["001000", "002000", "202010", "202020"]
    assert list(topologies["test_acc"]) == [81.0, 83.0, 82.0, 85.0]
    assert list(topologies["cells"]) == [1, 2, 1, 1]
    assert list(topologies["conv_edges"]) == [0, 1, 2, 3]
    # 202010: node 1 reaches the output through its skip edge, so its input conv counts
    assert list(topologies["conv_edges_pruned"]) == [0, 1, 2, 3]
    assert spikenas.pruned_conv_edges("202000") == 1  # conv 0->1 feeds a node that reaches nothing


@pytest.mark.slow
def test_harness_reports_hand_checked_baseline_and_is_deterministic_by_seed(tmp_path: Path, experiment: Path) -> None:
    first = run_benchmark_validation(experiment, "spikenas", write_csv(tmp_path / "bench.csv"), tmp_path / "a",
                                     resamples=100, progress=False)
    assert first["n"] == 4 and first["cells_read"] == len(CELLS) and first["cells_used"] == 5
    assert first["baseline"]["kendall_tau"] == pytest.approx(BASELINE_TAU)
    assert first["baseline"]["spearman_rho"] == pytest.approx(BASELINE_RHO)
    assert first["baseline_pruned"]["kendall_tau"] == pytest.approx(BASELINE_TAU)  # no edge is pruned here
    table = pd.read_csv(tmp_path / "a" / "topologies.csv", dtype={"topology": str})
    from cosearch.core.ranking import kendall_tau

    assert first["kendall_tau"] == pytest.approx(kendall_tau(table["proxy_score"], table["test_acc"]))
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["seconds_per_candidate"] > 0
    assert (tmp_path / "a" / "scatter.html").stat().st_size > 100_000  # plotly.js inlined
    # same seed, other layout: the same scores; another seed: other scores
    second = run_benchmark_validation(experiment, "spikenas", write_repository(tmp_path / "checkout"), tmp_path / "b",
                                      resamples=100, progress=False)
    again = pd.read_csv(tmp_path / "b" / "topologies.csv", dtype={"topology": str})
    assert list(again["proxy_score"]) == list(table["proxy_score"]) and second["kendall_tau"] == first["kendall_tau"]
    run_benchmark_validation(experiment, "spikenas", tmp_path / "bench.csv", tmp_path / "c", seed=7, resamples=100,
                             progress=False)
    other = pd.read_csv(tmp_path / "c" / "topologies.csv", dtype={"topology": str})
    assert list(other["proxy_score"]) != list(table["proxy_score"])


def _bad_csv(tmp_path: Path, edit) -> Path:
    path = write_csv(tmp_path / "bad.csv")
    table = pd.read_csv(path, dtype={"topology": str})
    edit(table)
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("column, row, value, expected", [
    ("test_acc", None, None, "test_acc: missing column"),
    ("op_12", 0, 7, "row 2.op_12: op must be one of [0, 1, 2, 3, 4]"),
    ("arch_id", 1, 3, "row 3.arch_id: does not match the row's ops"),
    ("test_acc", 2, "high", "row 4.test_acc: must be a number"),
])
def test_bad_tables_name_the_file_and_what_was_expected(tmp_path: Path, column: str, row, value, expected: str) -> None:
    path = write_csv(tmp_path / "bad.csv")
    table = pd.read_csv(path, dtype={"topology": str, column: object})
    if row is None:
        table = table.drop(columns=[column])
    else:
        table.loc[row, column] = value
    table.to_csv(path, index=False)
    with pytest.raises(ConfigError) as info:
        spikenas.read_benchmark(path)
    assert str(path) in str(info.value) and expected in str(info.value)


@pytest.mark.parametrize("cells", [
    [(ops, acc, 200) for ops, acc, _ in CELLS],  # every cell trained for 200 epochs
    [((2, 0, 0, 0, 2, 0), 10.0, 100), ((1, 0, 0, 0, 0, 0), 10.0, 100)],  # no direct 0->3 edge
])
def test_a_table_empty_after_filtering_is_refused(tmp_path: Path, cells) -> None:
    path = write_csv(tmp_path / "bench.csv", cells)
    with pytest.raises(ConfigError, match="no usable cell") as info:
        spikenas.usable_cells(spikenas.read_benchmark(path))
    assert str(path) in str(info.value)


def test_bad_repository_files_and_paths(tmp_path: Path, experiment: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="not a SpikeNAS-Bench table"):
        spikenas.read_benchmark(empty)
    broken = tmp_path / "broken" / "17"
    broken.mkdir(parents=True)
    (broken / "train_process.txt").write_text("architecture id: 17\nepoch, train_acc\n0.000, 10.0\n")
    with pytest.raises(ConfigError, match="test accuracy: X"):
        spikenas.read_benchmark(tmp_path / "broken")
    (broken / "train_process.txt").write_text(process_file(20000, 80.0, 100))
    with pytest.raises(ConfigError, match=r"architecture id: architecture id must be in 0\.\.15624"):
        spikenas.read_benchmark(tmp_path / "broken")
    code = main(["validate", str(experiment), "--benchmark", "spikenas", str(empty), "--no-progress"])
    assert code == 2


@pytest.mark.slow
def test_harness_ranks_by_the_experiments_noisy_accuracy_objective(tmp_path: Path, experiment: Path) -> None:
    """A hardware-aware experiment's objective (here the accuracy estimate) is what the harness ranks by,
    with the noisy pass on the cards' default mapping; a minimised metric is negated."""
    document = yaml.safe_load(experiment.read_text())
    document["common_seed"] = True  # as the hardware-aware experiments: every topology gets the run's seed
    document["proxy"]["noise"] = True
    document["objectives"] = [{"metric": "proxy_accuracy_estimate", "direction": "maximize"},
                              {"metric": "proxy_noise_spike_mismatch", "direction": "minimize"}]
    noisy = tmp_path / "noisy.yaml"
    noisy.write_text(yaml.safe_dump(document))
    bench = write_csv(tmp_path / "bench.csv")
    summary = run_benchmark_validation(noisy, "spikenas", bench, tmp_path / "a", resamples=100, progress=False)
    table = pd.read_csv(tmp_path / "a" / "topologies.csv", dtype={"topology": str})
    from cosearch.core.ranking import kendall_tau

    assert summary["metric"] == "proxy_accuracy_estimate" and summary["metric_sign"] == 1
    assert (table["proxy_accuracy_estimate"] < table["proxy_score"]).all()  # noisy score minus a positive mismatch
    assert summary["kendall_tau"] == pytest.approx(kendall_tau(table["proxy_accuracy_estimate"], table["test_acc"]))
    again = run_benchmark_validation(noisy, "spikenas", bench, tmp_path / "b", resamples=100, progress=False)
    assert again["kendall_tau"] == summary["kendall_tau"]
    mismatch = run_benchmark_validation(noisy, "spikenas", bench, tmp_path / "c", resamples=100, progress=False,
                                        metric="proxy_noise_spike_mismatch")
    column = pd.read_csv(tmp_path / "c" / "topologies.csv")["proxy_noise_spike_mismatch"]
    assert mismatch["metric_sign"] == -1
    assert mismatch["kendall_tau"] == pytest.approx(kendall_tau(-column, table["test_acc"]))
    assert set(table["seed"]) == {derive_seed(2)} and summary["common_seed"] is True
    document["proxy"]["noise"], document["objectives"] = False, [{"metric": "proxy_score", "direction": "maximize"}]
    clean = tmp_path / "clean.yaml"
    clean.write_text(yaml.safe_dump(document))
    summary = run_benchmark_validation(clean, "spikenas", bench, tmp_path / "d", resamples=100, progress=False)
    assert summary["metric"] == "proxy_score" and list(pd.read_csv(tmp_path / "d" / "topologies.csv")["proxy_score"]) \
        == list(table["proxy_score"])  # the clean score does not depend on the noisy pass
    per_topology = run_benchmark_validation(experiment, "spikenas", bench, tmp_path / "e", resamples=100, progress=False)
    seeds = pd.read_csv(tmp_path / "e" / "topologies.csv")["seed"]
    assert per_topology["common_seed"] is False and seeds.nunique() == len(seeds)


def test_bad_metric_names_the_flag_and_the_allowed_metrics(tmp_path: Path, experiment: Path) -> None:
    bench = write_csv(tmp_path / "bench.csv")
    with pytest.raises(ConfigError, match=r"--metric: must be a scalar proxy metric, one of proxy_score, .*"
                                          r"proxy_accuracy_estimate \(got 'hw_edap'\)"):
        run_benchmark_validation(experiment, "spikenas", bench, tmp_path / "a", progress=False, metric="hw_edap")
    assert main(["validate", str(experiment), "--benchmark", "spikenas", str(bench), "--metric", "accuracy",
                 "--no-progress", "--out", str(tmp_path / "b")]) == 2
    assert main(["validate", str(experiment), "--metric", "proxy_score", "--no-progress"]) == 2


def test_a_table_with_one_usable_topology_is_refused(tmp_path: Path, experiment: Path, capsys) -> None:
    """One topology has no rank correlation: exit 2 instead of NaN in summary.json and exit 0."""
    path = write_csv(tmp_path / "bench.csv", CELLS[1:3])  # two cells of topology 002000
    out = tmp_path / "out"
    assert main(["validate", str(experiment), "--benchmark", "spikenas", str(path), "--out", str(out), "--no-progress"]) == 2
    assert "needs at least 2 usable topologies to rank (found 1" in capsys.readouterr().err
    assert not out.exists()
