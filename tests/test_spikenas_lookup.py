"""``spikenas_lookup`` evaluator: pruned-cell keys, hand-computed means, refusals, the shipped experiment."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

from cosearch.cli import main
from cosearch.config import experiment_from_dict, load_experiment
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext
from cosearch.core.files import read_yaml
from cosearch.evaluators import load_evaluator_class
from cosearch.evaluators.spikenas_lookup import NotInTable, SpikenasLookupEvaluator
from cosearch.search.loop import pipeline_spec
from cosearch.search.preflight import preflight
from cosearch.tables import spikenas
from cosearch.workload import canonical_genome

EXPERIMENT = REPO / "experiments" / "spikenas_lookup.yaml"
SHARED_TABLE = REPO.parent / "shared" / "data" / "spikenas_bench" / "cifar10_dev_half.csv"

# (benchmark ops per edge (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), test acc %, epochs)
CELLS = [
    ((0, 0, 2, 0, 0, 0), 82.0, 100),  # topology 002000 (threshold 0.5) ...
    ((0, 0, 4, 0, 0, 0), 84.0, 100),  # ... and threshold 1.5: topology mean 83.0
    ((0, 0, 3, 0, 0, 0), 95.0, 200),  # 002000 trained 200 epochs: dropped
    ((1, 0, 3, 0, 0, 0), 86.0, 100),  # topology 102000: the skip 0->1 cannot reach node 3, pruned away
    ((0, 0, 1, 0, 0, 0), 81.0, 100),  # topology 001000: a different pruned cell
    ((2, 0, 0, 0, 2, 0), 10.0, 100),  # no 0->3 edge: dropped
]
# 002000 and 102000 both prune to "0003 0000 0000 0000": mean of the topology means (83 + 86) / 2,
# over the three 100-epoch cells 82, 84, 86 (mean 84): population std sqrt((4 + 0 + 4) / 3)
CONV_ONLY_ACC = (83.0 + 86.0) / 2
CONV_ONLY_STD = math.sqrt(8 / 3)


def write_table(path: Path) -> Path:
    rows = [{"arch_id": spikenas.encode_arch_id(ops), **dict(zip(spikenas.OP_COLUMNS, ops)),
             "topology": spikenas.topology_of(ops), "test_acc": acc, "epochs": epochs} for ops, acc, epochs in CELLS]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def candidate(edge_op: list[int]) -> Candidate:
    return Candidate(network=canonical_genome({"arch": "snasnet", "nodes": 4, "channels": 128, "edge_op": edge_op}),
                     timesteps=5)


@pytest.fixture
def lookup(tmp_path: Path) -> SpikenasLookupEvaluator:
    write_table(tmp_path / "bench.csv")
    return SpikenasLookupEvaluator({"path": "bench.csv"}, EvaluationContext(experiment_dir=tmp_path))


def test_builtin_name_loads_the_class() -> None:
    assert load_evaluator_class("spikenas_lookup") is SpikenasLookupEvaluator
    assert SpikenasLookupEvaluator.produces({}, EvaluationContext()) == {"bench_test_acc", "bench_test_acc_std",
                                                                         "bench_cells"}


def test_cell_reached_by_two_topologies_averages_their_means(lookup: SpikenasLookupEvaluator) -> None:
    assert len(lookup.lookup) == 2 and lookup.topology_count == 3
    for edge_op in ([0, 0, 3, 0, 0, 0], [1, 0, 3, 0, 0, 0], [3, 0, 3, 0, 0, 0]):  # all prune to one cell
        metrics = lookup.evaluate(candidate(edge_op), {})
        assert metrics["bench_test_acc"] == pytest.approx(CONV_ONLY_ACC)
        assert metrics["bench_test_acc_std"] == pytest.approx(CONV_ONLY_STD)
        assert metrics["bench_cells"] == 3
    assert lookup.evaluate(candidate([0, 0, 1, 0, 0, 0]), {}) == {"bench_test_acc": 81.0, "bench_test_acc_std": 0.0,
                                                                  "bench_cells": 1}


def test_cell_not_in_table_fails_with_its_cell(lookup: SpikenasLookupEvaluator) -> None:
    with pytest.raises(NotInTable, match=r"pruned cell 0303 0003 0000 0000 is not in .*bench.csv: none of its "
                                         r"3 usable topologies \(2 distinct pruned cells\)"):
        lookup.evaluate(candidate([3, 0, 3, 0, 3, 0]), {})


def test_ops_and_edges_the_benchmark_never_trained_are_refused(lookup: SpikenasLookupEvaluator) -> None:
    with pytest.raises(ValueError, match=r"edge 0->3 carries op 2 \(conv1x1\), which SpikeNAS-Bench never trained"):
        lookup.evaluate(candidate([0, 0, 2, 0, 0, 0]), {})
    with pytest.raises(ValueError, match=r"op 4 \(avgpool3x3\)"):
        lookup.evaluate(candidate([0, 0, 4, 0, 0, 0]), {})
    backward = Candidate(network=canonical_genome({"arch": "snasnet", "cell": "0303 0030 2002 0200"}), timesteps=5)
    with pytest.raises(ValueError, match="backward edge 2->0"):
        lookup.evaluate(backward, {})
    vgg = Candidate(network=canonical_genome({"arch": "vgg16"}), timesteps=5)
    with pytest.raises(ValueError, match="not a vgg16 network"):
        lookup.evaluate(vgg, {})


def test_options_are_checked_on_construction(tmp_path: Path) -> None:
    context = EvaluationContext(experiment_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"options\.table: unknown spikenas_lookup option \(allowed: path\)"):
        SpikenasLookupEvaluator({"table": "bench.csv"}, context)
    with pytest.raises(ConfigError, match=r"options\.path: required"):
        SpikenasLookupEvaluator({}, context)
    with pytest.raises(ConfigError, match=r"options\.path: .*missing.csv: not a SpikeNAS-Bench table"):
        SpikenasLookupEvaluator({"path": "missing.csv"}, context)
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=r"options\.path: .*other.csv: arch_id, .*missing column"):
        SpikenasLookupEvaluator({"path": "other.csv"}, context)


def test_check_space_refuses_spaces_without_benchmark_cells(lookup: SpikenasLookupEvaluator) -> None:
    lookup.check_space({"arch": ("snasnet",), "nodes": (4,), "edge_op": (0, 1, 3), "edge_dir": ("forward",)})
    with pytest.raises(ConfigError, match=r"network\.arch: .*this space's networks are vgg16"):
        lookup.check_space({"arch": ("vgg16",), "channels": (64, 512)})
    with pytest.raises(ConfigError, match=r"network\.nodes: .*can have 5 nodes"):
        lookup.check_space({"arch": ("snasnet",), "nodes": (4, 5)})
    with pytest.raises(ConfigError, match=r"network\.edge_dir: .*can be backward"):
        lookup.check_space({"arch": ("snasnet",), "nodes": (4,), "edge_dir": ("forward", "backward")})


def test_shipped_experiment_passes_preflight_on_a_fixture_table_and_refuses_vgg16(tmp_path: Path) -> None:
    raw = read_yaml(EXPERIMENT)
    raw["evaluators"][0]["options"]["path"] = str(write_table(tmp_path / "bench.csv"))
    experiment = experiment_from_dict(raw, EXPERIMENT)
    assert experiment.config.objectives[0].metric == "bench_test_acc" and experiment.phases[0].trials == 100
    preflight(experiment, pipeline_spec(experiment, experiment.phases[0]))
    raw["space"] = "search_spaces/xpert_vgg16.yaml"
    experiment = experiment_from_dict(raw, EXPERIMENT)
    with pytest.raises(ConfigError, match=r"network\.arch: spikenas_lookup scores SNASNet cells"):
        preflight(experiment, pipeline_spec(experiment, experiment.phases[0]))


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_TABLE.is_file(), reason="needs the shared SpikeNAS-Bench development half")
def test_shipped_experiment_runs_on_the_shared_table(tmp_path: Path) -> None:
    experiment = load_experiment(EXPERIMENT)
    options = experiment.config.evaluators[0].options
    assert (EXPERIMENT.parent / options["path"]).resolve() == SHARED_TABLE.resolve()
    assert main(["run", str(EXPERIMENT), "--trials", "12", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    table = pd.read_parquet(tmp_path / "run" / "trials.parquet")
    done = table[table["state"] == "COMPLETE"]
    assert len(table) == 12 and len(done) >= 1
    assert done["bench_test_acc"].between(10.0, 100.0).all() and (done["bench_cells"] >= 1).all()
    failed = table.loc[table["state"] == "FAIL", "fail_reason"]
    assert failed.str.startswith("NotInTable: pruned cell").all()
