"""``spikenas_lookup`` evaluator: the trained test accuracy [%] of a candidate's cell, read from SpikeNAS-Bench.

A tabular evaluator, as NAS-Bench users score candidates: no proxy, no training, one dictionary
look-up. The table is SpikeNAS-Bench (G. Sun et al., IEEE TAI 6(6):1614-1625, 2025; read by
:mod:`cosearch.tables.spikenas`, which also says which cells are usable): CIFAR-10 test accuracy
of every forward 4-node cell trained for 100 epochs inside SNASNet's macro network (128 channels,
T = 5, one seed per cell).

Experiment YAML::

    space: search_spaces/spikenas_bench.yaml     # the benchmark's space: ops 0 / 1 / 3, forward
    evaluators:
      - type: spikenas_lookup
        options:
          path: ../../shared/data/spikenas_bench/cifar10_dev_half.csv   # CSV or repository checkout
    objectives:
      - {metric: bench_test_acc, direction: maximize}

Which table rows score a candidate: cosearch evaluates the *pruned* cell
(``network["cell"]``, :func:`cosearch.workload.snasnet.prune_cell`), and several benchmark
topologies (zero / skip / conv per edge) prune to the same cell (they differ only by edges that
cannot reach the output or be reached from the input). So the key is the pruned cell: every
usable table topology (:func:`cosearch.tables.spikenas.usable_cells`) whose cell, with each conv
edge at SNASNet's LIF -> Conv3x3 -> BN (cosearch op 3), prunes to the candidate's cell.

Metrics:

* ``bench_test_acc`` [%]: the mean over those topologies of each topology's mean test accuracy
  (a topology's cells differ only by their LIF thresholds, :data:`cosearch.tables.spikenas.BENCH_OPS`);
  every topology counts once, whatever its number of cells.
* ``bench_test_acc_std`` [%]: population standard deviation of the test accuracies of the
  benchmark cells (table rows) behind the value: threshold and seed spread.
* ``bench_cells``: how many benchmark cells (table rows) are behind the value.

A candidate the table cannot score fails its trial with the reason: a cell with a conv1x1 (op 2)
or avgpool (op 4) edge after pruning (ops the benchmark never trained), a backward edge, another
family or node count, or a cell the table does not hold (the shared development half holds half
of the 729 topologies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.predictor.calibration import resolve
from cosearch.tables.spikenas import (
    CLASS_TO_SNASNET,
    read_benchmark,
    snasnet_edge_ops,
    usable_cells,
)
from cosearch.workload import canonical_genome
from cosearch.workload.snasnet import SNASNET_OPS

OPTION_KEYS = ("path",)
METRICS = ("bench_test_acc", "bench_test_acc_std", "bench_cells")
#: Nodes of a SpikeNAS-Bench cell.
NODES = 4
#: cosearch ops the benchmark trained: zero, identity and (every LIF threshold of) LIF -> Conv3x3 -> BN.
BENCH_SNASNET_OPS = frozenset(CLASS_TO_SNASNET.values())

Cell = tuple[tuple[int, ...], ...]


class NotInTable(LookupError):
    """A candidate whose pruned cell no usable table topology prunes to (its trial fails)."""


def pruned_cell(topology: str) -> Cell:
    """The pruned op matrix cosearch builds for a benchmark topology (conv edges at op 3)."""
    genome = canonical_genome({"arch": "snasnet", "nodes": NODES, "edge_op": snasnet_edge_ops(topology)})
    return tuple(tuple(int(op) for op in row) for row in genome["cell"])


def cell_text(cell: Cell) -> str:
    """A cell as cosearch writes op matrices (rows, e.g. ``"0013 0003 0000 0000"``)."""
    return " ".join("".join(map(str, row)) for row in cell)


class SpikenasLookupEvaluator(Evaluator):
    """Trained test accuracy of a candidate's pruned 4-node cell from a SpikeNAS-Bench table (module docstring).

    Options:
        path (str, required): the table, a CSV file or a repository checkout
            (:func:`cosearch.tables.spikenas.read_benchmark`), relative to the experiment's folder.
    """

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return set(METRICS)

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        for key in self.options:
            if key not in OPTION_KEYS:
                raise ConfigError("", f"options.{key}",
                                  f"unknown spikenas_lookup option (allowed: {', '.join(OPTION_KEYS)})")
        path = self.options.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigError("", "options.path", "required: the SpikeNAS-Bench table, a CSV file or a "
                                                  f"repository checkout, relative to the experiment's folder (got {path!r})")
        resolved = resolve(path, self.context.experiment_dir)
        try:
            table = read_benchmark(resolved)
            cells = usable_cells(table)
        except ConfigError as exc:
            raise ConfigError("", "options.path", str(exc)) from None
        self.source = table.source
        self.topology_count = int(cells["topology"].nunique())
        self.lookup = self._build(cells)

    def _build(self, cells: pd.DataFrame) -> dict[Cell, Metrics]:
        """Pruned cell -> metrics, over the usable cells' topologies (module docstring)."""
        means: dict[Cell, list[float]] = defaultdict(list)
        rows: dict[Cell, list[float]] = defaultdict(list)
        for topology, group in cells.groupby("topology", sort=True)["test_acc"]:
            key = pruned_cell(str(topology))
            means[key].append(float(group.mean()))
            rows[key].extend(float(acc) for acc in group)
        return {key: {"bench_test_acc": float(np.mean(means[key])), "bench_test_acc_std": float(np.std(rows[key])),
                      "bench_cells": len(rows[key])} for key in means}

    def check_space(self, network: Mapping[str, Sequence[Any]]) -> None:
        """The space's networks can be benchmark cells: SNASNet, 4 nodes, forward edges only."""
        archs = [str(a) for a in network.get("arch", ())]
        if "snasnet" not in archs:
            raise ConfigError("", "network.arch", f"spikenas_lookup scores SNASNet cells (SpikeNAS-Bench); this "
                                                  f"space's networks are {', '.join(archs) or 'none'}")
        wrong_nodes = [n for n in network.get("nodes", (NODES,)) if n != NODES]
        if wrong_nodes:
            raise ConfigError("", "network.nodes", f"spikenas_lookup scores {NODES}-node cells (SpikeNAS-Bench); "
                                                   f"this space's cells can have {wrong_nodes[0]} nodes")
        if "backward" in network.get("edge_dir", ()):
            raise ConfigError("", "network.edge_dir", "spikenas_lookup scores forward cells (SpikeNAS-Bench has no "
                                                      "backward edges); this space's edge_dir can be backward")

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        network = candidate.network
        if network.get("arch") != "snasnet" or int(network.get("nodes", 0)) != NODES:
            raise ValueError(f"SpikeNAS-Bench holds {NODES}-node snasnet cells, not a {network.get('arch')} network "
                             f"with {network.get('nodes', 'no')} nodes")
        cell: Cell = tuple(tuple(int(op) for op in row) for row in network["cell"])
        for i, row in enumerate(cell):
            for j, op in enumerate(row):
                if op and j < i:
                    raise ValueError(f"cell {cell_text(cell)} has a backward edge {i}->{j}; SpikeNAS-Bench trained "
                                     "forward cells only")
                if op not in BENCH_SNASNET_OPS:
                    raise ValueError(f"cell {cell_text(cell)}: edge {i}->{j} carries op {op} ({SNASNET_OPS[op]}), "
                                     f"which SpikeNAS-Bench never trained (its ops are cosearch's "
                                     f"{', '.join(f'{o} {SNASNET_OPS[o]}' for o in sorted(BENCH_SNASNET_OPS))})")
        found = self.lookup.get(cell)
        if found is None:
            raise NotInTable(f"pruned cell {cell_text(cell)} is not in {self.source}: none of its "
                             f"{self.topology_count} usable topologies ({len(self.lookup)} distinct pruned cells) "
                             "prunes to it")
        return dict(found)
