"""SpikeNAS-Bench reader: trained accuracies of forward 4-node SNASNet-style cells, mapped onto cosearch cells.

SpikeNAS-Bench (G. Sun et al., "SpikeNAS-Bench: Benchmarking NAS Algorithms for Spiking Neural
Network Architecture", IEEE TAI 6(6):1614-1625, 2025; repository ``tju-sun-lab/SpikeNAS-Bench``)
trained all 5^6 = 15,625 forward cells on CIFAR-10 (T = 5, 100 epochs, one seed per cell) inside
SNASNet's macro network (:mod:`cosearch.workload.snasnet`, 128 channels).

Edges and ids: one op per node pair in the order of :data:`EDGES` = (0,1) (0,2) (0,3) (1,2)
(1,3) (2,3) (cosearch's :func:`~cosearch.workload.snasnet.node_pairs` order), all forward;
``arch_id = sum_k op_k * 5^k`` (:func:`encode_arch_id` / :func:`decode_arch_id`).

Op mapping (:data:`BENCH_OPS` -> :data:`~cosearch.workload.snasnet.SNASNET_OPS`):

==========  ==================================  =========================  ===============
bench op    SpikeNAS-Bench                      cosearch / SNASNet op      topology class
==========  ==================================  =========================  ===============
0           zero                                0 zero                     0
1           identity (skip)                     1 identity                 1
2 / 3 / 4   LIF (threshold 0.5 / 1.0 / 1.5)     3 LIF -> Conv3x3 -> BN     2 (conv)
            -> Conv3x3 -> BN                    (threshold 1.0)
==========  ==================================  =========================  ===============

SNASNet's op set has no per-edge threshold and also holds Conv1x1 and AvgPool3x3, which the
benchmark never trains, so only the benchmark's threshold-1.0 op maps exactly; the benchmark's
README reports that thresholds move accuracy by ~0.3 pp, so cells are ranked per *topology*
(zero / skip / conv per edge, 3^6 = 729 of them): the accuracy of a topology is the mean test
accuracy of its cells, and cosearch scores the topology's cell with every conv edge at SNASNet's
Conv3x3 op.

What the benchmark README says to drop (:func:`usable_cells`): cells trained for 200 instead of
100 epochs (690 in the whole benchmark) and cells without the direct 0 -> 3 edge (at chance
level; SNASNet's sampler rejects them, as :func:`cosearch.workload.snasnet.prune_cell` does).

Two layouts are read (:func:`read_benchmark`):

* ``csv``: one row per cell with at least the columns of :data:`CSV_COLUMNS` (the shared
  development half ``cifar10_dev_half.csv``); ``topology`` is checked against the ops.
* ``repository``: a checkout (or its ``data/CIFAR10`` folder) with one
  ``<id>/train_process.txt`` per cell: ``architecture id: N``, ``model parameters: P``, a
  header ``epoch, train_acc, train_loss, val_acc, val_loss``, one row per epoch, then
  ``test accuracy: X`` (the epoch count is the number of epoch rows).

Accuracies are in percent as the benchmark gives them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.workload import canonical_genome
from cosearch.workload.snasnet import node_pairs

#: Node pairs in the benchmark's (and cosearch's) edge order.
EDGES: list[tuple[int, int]] = node_pairs(4)
OP_COLUMNS: tuple[str, ...] = tuple(f"op_{i}{j}" for i, j in EDGES)
#: Columns the CSV layout must have.
CSV_COLUMNS: tuple[str, ...] = ("arch_id", *OP_COLUMNS, "topology", "test_acc", "epochs")
#: SpikeNAS-Bench edge ops.
BENCH_OPS: dict[int, str] = {0: "zero", 1: "identity", 2: "lif_th0.5_conv3x3", 3: "lif_th1.0_conv3x3",
                             4: "lif_th1.5_conv3x3"}
#: Benchmark op -> topology class (0 zero, 1 skip, 2 conv).
TOPOLOGY_CLASS: dict[int, int] = {0: 0, 1: 1, 2: 2, 3: 2, 4: 2}
#: Topology class -> cosearch (SNASNet) op.
CLASS_TO_SNASNET: dict[int, int] = {0: 0, 1: 1, 2: 3}
CELLS = len(BENCH_OPS) ** len(EDGES)  # 15,625
TRAINED_EPOCHS = 100
OUTPUT_EDGE = OP_COLUMNS[EDGES.index((0, 3))]
LAYOUTS = ("csv", "repository")
_PROCESS_FILE = "train_process.txt"


def decode_arch_id(arch_id: int) -> tuple[int, ...]:
    """Benchmark ops per edge (order :data:`EDGES`) of ``arch_id = sum op_k 5^k``; ValueError when out of range."""
    if not 0 <= arch_id < CELLS:
        raise ValueError(f"architecture id must be in 0..{CELLS - 1} (got {arch_id})")
    base = len(BENCH_OPS)
    return tuple((arch_id // base ** k) % base for k in range(len(EDGES)))


def encode_arch_id(ops: Sequence[int]) -> int:
    """``sum op_k 5^k`` of benchmark ops per edge (inverse of :func:`decode_arch_id`)."""
    if len(ops) != len(EDGES) or any(op not in BENCH_OPS for op in ops):
        raise ValueError(f"need {len(EDGES)} ops in {sorted(BENCH_OPS)} (got {list(ops)})")
    return sum(int(op) * len(BENCH_OPS) ** k for k, op in enumerate(ops))


def topology_of(ops: Sequence[int]) -> str:
    """Topology string (one digit per edge: 0 zero, 1 skip, 2 conv) of benchmark ops."""
    return "".join(str(TOPOLOGY_CLASS[int(op)]) for op in ops)


def snasnet_edge_ops(topology: str) -> list[int]:
    """cosearch ``edge_op`` list (SNASNet ops, order :data:`EDGES`) of a topology string."""
    return [CLASS_TO_SNASNET[int(digit)] for digit in topology]


def topology_number(topology: str) -> int:
    """The topology string read as a base-3 number (0..728): a stable per-topology integer for seeds."""
    return int(topology, 3)


@dataclass(frozen=True)
class BenchmarkTable:
    """Cells read from one benchmark path.

    Attributes:
        cells: one row per cell: ``arch_id``, :data:`OP_COLUMNS`, ``topology``, ``test_acc`` [%],
            ``epochs``.
        source: the path read.
        layout: one of :data:`LAYOUTS`.
    """

    cells: pd.DataFrame
    source: str
    layout: str


def read_benchmark(path: str | Path) -> BenchmarkTable:
    """Read a SpikeNAS-Bench table in either layout (module docstring); ConfigError on bad input."""
    path = Path(path)
    if path.is_file():
        return BenchmarkTable(_read_csv(path), str(path), "csv")
    if path.is_dir():
        for folder in (path / "data" / "CIFAR10", path):
            files = sorted(folder.glob(f"*/{_PROCESS_FILE}"))
            if files:
                return BenchmarkTable(_read_repository(files), str(folder), "repository")
    raise ConfigError(str(path), "", "not a SpikeNAS-Bench table: expected a CSV file with columns "
                      f"{', '.join(CSV_COLUMNS)}, or a folder with data/CIFAR10/<id>/{_PROCESS_FILE} "
                      f"(or <id>/{_PROCESS_FILE}) as in the tju-sun-lab/SpikeNAS-Bench repository")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"topology": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"not a readable CSV table ({exc})") from exc
    missing = [column for column in CSV_COLUMNS if column not in table.columns]
    if missing:
        raise ConfigError(str(path), ", ".join(missing), f"missing column(s); a SpikeNAS-Bench CSV needs "
                          f"{', '.join(CSV_COLUMNS)} (found {', '.join(map(str, table.columns))})")
    for column in ("arch_id", *OP_COLUMNS, "epochs"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any() or (values != values.round()).any():
            row = int(values.isna().idxmax()) if values.isna().any() else int((values != values.round()).idxmax())
            raise ConfigError(str(path), f"row {row + 2}.{column}", f"must be an integer (got {table[column][row]!r})")
        table[column] = values.astype(int)
    for column in OP_COLUMNS:
        bad = ~table[column].isin(list(BENCH_OPS))
        if bad.any():
            row = int(bad.idxmax())
            raise ConfigError(str(path), f"row {row + 2}.{column}",
                              f"op must be one of {sorted(BENCH_OPS)} ({BENCH_OPS}) (got {table[column][row]})")
    ops = table[list(OP_COLUMNS)].to_numpy()
    derived = {"arch_id": [str(encode_arch_id(row)) for row in ops], "topology": [topology_of(row) for row in ops]}
    given = {"arch_id": table["arch_id"].astype(str), "topology": table["topology"].astype(str).str.zfill(len(EDGES))}
    for column in derived:
        mismatch = given[column].to_numpy() != pd.Series(derived[column]).to_numpy()
        if mismatch.any():
            row = int(mismatch.argmax())
            raise ConfigError(str(path), f"row {row + 2}.{column}", f"does not match the row's ops "
                              f"(expected {derived[column][row]}, got {table[column][row]}; arch_id = sum op_k 5^k "
                              f"over {', '.join(OP_COLUMNS)}, topology 0 zero / 1 skip / 2 conv per edge)")
    accuracy = pd.to_numeric(table["test_acc"], errors="coerce")
    if accuracy.isna().any():
        row = int(accuracy.isna().idxmax())
        raise ConfigError(str(path), f"row {row + 2}.test_acc", f"must be a number (got {table['test_acc'][row]!r})")
    table["test_acc"] = accuracy.astype(float)
    table["topology"] = [topology_of(row) for row in ops]
    return table[list(CSV_COLUMNS)]


_ID = re.compile(r"^architecture id:\s*(\d+)\s*$")
_TEST = re.compile(r"^test accuracy:\s*([0-9.]+)\s*$")
_EPOCH = re.compile(r"^\d+(\.\d*)?\s*,")


def _read_repository(files: Sequence[Path]) -> pd.DataFrame:
    rows = []
    for file in files:
        lines = file.read_text(errors="replace").splitlines()
        found_id = _ID.match(lines[0].strip()) if lines else None
        tests = [m for m in (_TEST.match(line.strip()) for line in lines) if m]
        if found_id is None or not tests:
            raise ConfigError(str(file), "", f"not a SpikeNAS-Bench {_PROCESS_FILE}: expected a first line "
                              "'architecture id: N', one 'epoch, train_acc, ...' row per epoch and a line "
                              "'test accuracy: X'")
        arch_id = int(found_id.group(1))
        try:
            ops = decode_arch_id(arch_id)
        except ValueError as exc:
            raise ConfigError(str(file), "architecture id", str(exc)) from exc
        epochs = sum(1 for line in lines if _EPOCH.match(line.strip()))
        rows.append({"arch_id": arch_id, **dict(zip(OP_COLUMNS, ops)), "topology": topology_of(ops),
                     "test_acc": float(tests[-1].group(1)), "epochs": epochs})
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


def usable_cells(table: BenchmarkTable) -> pd.DataFrame:
    """Cells trained for :data:`TRAINED_EPOCHS` epochs with a non-zero 0 -> 3 edge; ConfigError when none."""
    cells = table.cells
    kept = cells[(cells["epochs"] == TRAINED_EPOCHS) & (cells[OUTPUT_EDGE] != 0)]
    if kept.empty:
        raise ConfigError(table.source, "", f"no usable cell: expected {TRAINED_EPOCHS}-epoch cells with a non-zero "
                          f"{OUTPUT_EDGE} (direct 0->3) edge; {len(cells)} cell(s) read, "
                          f"{int((cells['epochs'] == TRAINED_EPOCHS).sum())} of them with {TRAINED_EPOCHS} epochs")
    return kept


def topology_table(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per topology (sorted): ``topology``, ``cells``, ``test_acc`` (mean, %), ``test_acc_std``,
    ``conv_edges`` (the benchmark README's trivial baseline), ``conv_edges_pruned`` (conv edges left
    after SNASNet's pruning of edges that cannot reach the output or be reached from the input,
    :func:`pruned_conv_edges`) and ``edge_op`` (cosearch ops, order :data:`EDGES`)."""
    grouped = cells.groupby("topology", sort=True)["test_acc"]
    out = pd.DataFrame({"cells": grouped.size(), "test_acc": grouped.mean(),
                        "test_acc_std": grouped.std(ddof=0)}).reset_index()
    out["conv_edges"] = out["topology"].str.count("2")
    out["conv_edges_pruned"] = [pruned_conv_edges(t) for t in out["topology"]]
    out["edge_op"] = [snasnet_edge_ops(t) for t in out["topology"]]
    return out


def usable_topologies(path: str | Path) -> pd.DataFrame:
    """:func:`topology_table` of the :func:`usable_cells` of the table at ``path`` (either layout)."""
    return topology_table(usable_cells(read_benchmark(path)))


def sample_topologies(topologies: pd.DataFrame, count: int | None, seed: int) -> pd.DataFrame:
    """A seeded random subset of ``count`` rows of :func:`topology_table` in table order (all rows when
    ``count`` is None, 0 or at least the table's length)."""
    if not count or count >= len(topologies):
        return topologies
    chosen = np.sort(np.random.default_rng(seed).choice(len(topologies), size=count, replace=False))
    return topologies.iloc[chosen].reset_index(drop=True)


def pruned_conv_edges(topology: str) -> int:
    """Conv edges of the topology's cell after :func:`cosearch.workload.snasnet.prune_cell` (the ones
    that can change the cell's output)."""
    cell = canonical_genome({"arch": "snasnet", "nodes": 4, "edge_op": snasnet_edge_ops(topology)})["cell"]
    return sum(op == CLASS_TO_SNASNET[2] for row in cell for op in row)


#: The benchmark's macro network as trained (SNASNet's): 128 channels, T = 5.
CHANNELS = 128
TIMESTEPS = 5


def topology_candidate(topology: str, seed: int, common_seed: bool = False) -> Candidate:
    """The topology's cell in SNASNet's macro network (:data:`CHANNELS`, :data:`TIMESTEPS`) as a Candidate.

    Its evaluation seed is the one the search loop would give it: with ``common_seed`` (an
    experiment's ``common_seed: true``) the run seed's, shared by every topology (same batches and
    weight-init stream, so candidates differ only by their design), else one derived from ``seed``
    and the topology alone (:func:`topology_number`). Either way a topology scores the same
    whichever other topologies are scored beside it.
    """
    from cosearch.core.seeds import evaluation_seed

    genome = canonical_genome({"arch": "snasnet", "nodes": 4, "channels": CHANNELS,
                               "edge_op": snasnet_edge_ops(topology)})
    return Candidate(network=genome, timesteps=TIMESTEPS, params={"topology": topology},
                     seed=evaluation_seed(seed, common_seed, topology_number(topology)))
