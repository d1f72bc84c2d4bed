"""The ``snasnet`` family: the SNASNet macro network (Kim et al., ECCV 2022; anchors.md section 1).

stem conv3x3 (stride ``stem_stride``: 1, or 2 for 64x64 Tiny-ImageNet; computed once on an image
with ``encoding: direct``, run every timestep on spike frames with ``encoding: events``), cell(C), LIF->conv3x3(C->2C)->avgpool2,
cell(2C), LIF->avgpool2, linear(2C*8*8 -> 1024), LIF, linear(1024 -> 10*num_classes) with
voting. ``P = nodes*(nodes-1)/2`` pair slots per cell; ``2P + 4`` slots in all. A slot whose
edge carries no weights has no :class:`~cosearch.workload.shapes.LayerShape`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from cosearch.core.errors import InvalidCandidate
from cosearch.workload.shapes import Family, LayerShape, input_encoding

#: SNASNet edge operations (anchors.md section 1).
SNASNET_OPS: dict[int, str] = {
    0: "zero",
    1: "identity",
    2: "conv1x1",  # LIF -> Conv1x1 -> BN
    3: "conv3x3",  # LIF -> Conv3x3(pad 1) -> BN
    4: "avgpool3x3",  # AvgPool3x3(stride 1, pad 1)
}
_CONV_KERNEL = {2: 1, 3: 3}
#: The ops that carry weights (a conv layer on the crossbars).
CONV_OPS = frozenset(_CONV_KERNEL)


def node_pairs(nodes: int) -> list[tuple[int, int]]:
    """Node pairs (i, j), i < j, in slot order: (0,1), (0,2), ..., (n-2, n-1)."""
    return list(itertools.combinations(range(nodes), 2))


def parse_cell(cell: Any, nodes: int) -> list[list[int]]:
    """An op matrix from a nested list or a string like ``"0303 0030 2002 0200"`` (rows)."""
    rows = [[int(ch) for ch in row] for row in cell.split()] if isinstance(cell, str) else [[int(v) for v in row] for row in cell]
    if len(rows) != nodes or any(len(row) != nodes for row in rows):
        raise InvalidCandidate(f"cell must be a {nodes}x{nodes} op matrix, got {cell!r}")
    if any(v not in SNASNET_OPS for row in rows for v in row):
        raise InvalidCandidate(f"cell ops must be in {sorted(SNASNET_OPS)}, got {cell!r}")
    if any(rows[i][i] for i in range(nodes)):
        raise InvalidCandidate(f"cell has a self-loop on its diagonal: {cell!r}")
    if any(rows[i][j] and rows[j][i] for i, j in node_pairs(nodes)):
        raise InvalidCandidate(f"cell has both a forward and a backward op on one node pair: {cell!r}")
    return rows


def cell_from_edges(edge_op: Sequence[int], edge_dir: Sequence[str] | None, nodes: int) -> list[list[int]]:
    """Op matrix from one op and one direction per node pair (slot order of :func:`node_pairs`).

    ``edge_dir[k] == "backward"`` puts pair (i, j)'s op at [j][i]: a temporal-feedback edge
    j -> i whose output reaches node i at the next timestep.
    """
    pairs = node_pairs(nodes)
    dirs = list(edge_dir) if edge_dir is not None else ["forward"] * len(pairs)
    if len(edge_op) != len(pairs) or len(dirs) != len(pairs):
        raise InvalidCandidate(f"a {nodes}-node cell needs {len(pairs)} edge ops and directions")
    matrix = [[0] * nodes for _ in range(nodes)]
    for (i, j), op, direction in zip(pairs, edge_op, dirs):
        if direction not in ("forward", "backward"):
            raise InvalidCandidate(f"edge direction must be forward or backward, got {direction!r}")
        if direction == "forward":
            matrix[i][j] = int(op)
        else:
            matrix[j][i] = int(op)
    return matrix


def prune_cell(matrix: Sequence[Sequence[int]]) -> list[list[int]]:
    """SNASNet's validity filter (anchors.md section 1).

    Reachability is taken on the unpruned graph (forward and backward edges alike): every
    intermediate/input node that cannot reach the output node loses all its edges, then every
    node not reachable from node 0 loses all its edges. Raises :class:`InvalidCandidate`
    when the direct input->output edge is zero afterwards (SNASNet resamples such cells).
    """
    n = len(matrix)
    adj = [[bool(matrix[i][j]) for j in range(n)] for i in range(n)]
    reach = [row[:] for row in adj]
    for k in range(n):  # transitive closure (Warshall)
        for i in range(n):
            if reach[i][k]:
                for j in range(n):
                    reach[i][j] = reach[i][j] or reach[k][j]
    out = [list(map(int, row)) for row in matrix]
    last = n - 1
    dead = [node for node in range(last) if not reach[node][last]]
    dead += [node for node in range(1, n) if not reach[0][node]]
    for node in dead:
        for k in range(n):
            out[node][k] = 0
            out[k][node] = 0
    if out[0][last] == 0:
        raise InvalidCandidate("cell has no direct input->output edge after pruning (SNASNet rejects it)")
    return out


def _snasnet_genome(values: Mapping[str, Any]) -> dict[str, Any]:
    nodes = int(values.get("nodes", 4))
    if nodes < 2:
        raise InvalidCandidate(f"a cell needs at least 2 nodes, got {nodes}")
    if int(values.get("stem_stride", 1)) not in (1, 2):
        raise InvalidCandidate(f"stem_stride must be 1 or 2 (2: SNASNet's Tiny-ImageNet stem), got {values['stem_stride']!r}")
    if "cell" in values:
        matrix = parse_cell(values["cell"], nodes)
    elif "edge_op" in values:
        matrix = parse_cell(cell_from_edges(values["edge_op"], values.get("edge_dir"), nodes), nodes)
    else:
        raise InvalidCandidate("snasnet genome needs 'cell' (op matrix) or 'edge_op' (+ 'edge_dir')")
    return {
        "arch": "snasnet",
        "nodes": nodes,
        "cell": tuple(tuple(row) for row in prune_cell(matrix)),
        "channels": int(values.get("channels", 128)),
        "in_channels": int(values.get("in_channels", 3)),
        "image_size": int(values.get("image_size", 32)),
        "stem_stride": int(values.get("stem_stride", 1)),
        "encoding": input_encoding(values),
        "num_classes": int(values.get("num_classes", 10)),
        "classifier_width": int(values.get("classifier_width", 1024)),
        "votes_per_class": int(values.get("votes_per_class", 10)),
    }


def _snasnet_slots(genome: Mapping[str, Any]) -> int:
    return 2 * len(node_pairs(int(genome["nodes"]))) + 4


def _cell_layers(genome: Mapping[str, Any], first_slot: int, prefix: str, channels: int, size: int) -> list[LayerShape]:
    matrix = genome["cell"]
    layers = []
    for offset, (i, j) in enumerate(node_pairs(int(genome["nodes"]))):
        src, dst = (i, j) if matrix[i][j] else (j, i)
        op = matrix[src][dst]
        if op in _CONV_KERNEL:
            layers.append(
                LayerShape(
                    slot=first_slot + offset, name=f"{prefix}.{src}->{dst}", kind="conv", cin=channels,
                    cout=channels, kernel=_CONV_KERNEL[op], h_out=size, w_out=size, input_bits=1,
                    per_timestep=True,
                )
            )
    return layers


def _snasnet_layers(genome: Mapping[str, Any]) -> list[LayerShape]:
    c = int(genome["channels"])
    size = int(genome["image_size"]) // int(genome.get("stem_stride", 1))  # genomes stored before stem_stride: 1
    pairs = len(node_pairs(int(genome["nodes"])))
    events = genome.get("encoding") == "events"  # spike frames: a 1-bit input at every timestep
    layers = [
        LayerShape(slot=0, name="stem", kind="conv", cin=int(genome["in_channels"]), cout=c, kernel=3,
                   h_out=size, w_out=size, input_bits=1 if events else None, per_timestep=events)
    ]
    layers += _cell_layers(genome, 1, "cell1", c, size)
    layers.append(
        LayerShape(slot=pairs + 1, name="down", kind="conv", cin=c, cout=2 * c, kernel=3, h_out=size,
                   w_out=size, input_bits=1, per_timestep=True)
    )
    layers += _cell_layers(genome, pairs + 2, "cell2", 2 * c, size // 2)
    pooled = size // 4
    width = int(genome["classifier_width"])
    layers.append(
        LayerShape(slot=2 * pairs + 2, name="fc1", kind="linear", cin=2 * c * pooled * pooled, cout=width,
                   kernel=1, h_out=1, w_out=1, input_bits=3, per_timestep=True)
    )
    layers.append(
        LayerShape(slot=2 * pairs + 3, name="fc2", kind="linear", cin=width,
                   cout=int(genome["num_classes"]) * int(genome["votes_per_class"]), kernel=1, h_out=1,
                   w_out=1, input_bits=1, per_timestep=True)
    )
    return layers


FAMILY = Family(
    name="snasnet", genome=_snasnet_genome, layers=_snasnet_layers, slots=_snasnet_slots,
    network="cosearch.snn.snasnet:SNASNet",
    example={"arch": "snasnet", "cell": "0303 0030 2002 0200"},  # SNASNet's published CIFAR-10 backward cell
)
