"""SNASNet cell with forward and backward (temporal feedback) edges (Kim et al., ECCV 2022).

The cell is an ``n``-node graph given as an op matrix (see :mod:`cosearch.workload`): entry
``[i][j]`` is the op on edge ``i -> j``. Node 0 is the cell input, node ``n-1`` its output.
Ops: 0 zero, 1 identity, 2 LIF -> Conv1x1 -> BN, 3 LIF -> Conv3x3(pad 1) -> BN,
4 AvgPool3x3(stride 1, pad 1) (anchors.md section 1).

Node values at timestep t (``fwd`` = edges i -> j with i < j, ``bwd`` = edges j -> i with j > i)::

    v_0[t] = x[t]                          + sum_{j > 0} op_j0(v_j[t-1])
    v_k[t] = sum_{i < k} op_ik(v_i[t])     + sum_{j > k} op_jk(v_j[t-1])

so a backward op computed from node j's value at t reaches node i at t+1; the feedback is zero
at t = 0 (state is reset at the start of every sample). The cell outputs ``v_{n-1}``.

All conv edges leaving one node see the same node value, so their LIF layers (one per edge in
the reference code) would emit identical spikes: the cell keeps one LIF per source node and
declares how many conv edges it feeds (:meth:`Cell.lif_copies`), computed at every timestep. Without backward edges
the whole cell runs all timesteps at once; with them it steps through time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from cosearch.snn.layers import AvgPool2d, BatchNorm2d, SpikeConv2d
from cosearch.snn.neuron import LIF, Stateful
from cosearch.snn.protocol import SharedLIFs

CONV_KERNELS = {2: 1, 3: 3}  # op -> kernel size
IDENTITY, AVGPOOL = 1, 4

Edge = tuple[int, int, int]  # (source node, destination node, op)


def _add(a: torch.Tensor | None, b: torch.Tensor) -> torch.Tensor:
    return b if a is None else a + b


class Cell(Stateful, SharedLIFs):
    """One SNASNet cell on ``[T, B, C, H, W]`` (shape preserved).

    Args:
        matrix: ``n x n`` op matrix (already validated and pruned, e.g. a canonical genome's
            ``cell``).
        channels: C of every edge (conv edges are C -> C).
        neuron: keyword arguments of :class:`~cosearch.snn.neuron.LIF`.
    """

    def __init__(self, matrix: Sequence[Sequence[int]], channels: int, neuron: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        n = len(matrix)
        self.nodes = n
        self.forward_edges: list[Edge] = [(i, j, int(matrix[i][j])) for j in range(n) for i in range(j) if matrix[i][j]]
        self.backward_edges: list[Edge] = [
            (j, i, int(matrix[j][i])) for i in range(n) for j in range(i + 1, n) if matrix[j][i]
        ]
        self.ops = nn.ModuleDict()
        self.lifs = nn.ModuleDict()
        for src, dst, op in self.forward_edges + self.backward_edges:
            if op in CONV_KERNELS:
                k = CONV_KERNELS[op]
                self.ops[self._key(src, dst)] = nn.Sequential(
                    SpikeConv2d(channels, channels, k, padding=k // 2, bias=False), BatchNorm2d(channels)
                )
                if f"node{src}" not in self.lifs:
                    self.lifs[f"node{src}"] = LIF(**dict(neuron or {}))
            elif op == AVGPOOL:
                self.ops[self._key(src, dst)] = AvgPool2d(3, stride=1, padding=1)
        self._last: tuple[list[torch.Tensor], list[torch.Tensor | None]] | None = None

    def lif_copies(self) -> dict[str, int]:
        """``lifs.node<i>`` -> number of conv edges leaving node i (the LIF layers it stands for)."""
        return dict(Counter(f"lifs.node{src}" for src, _, op in self.forward_edges + self.backward_edges
                            if op in CONV_KERNELS))

    @staticmethod
    def _key(src: int, dst: int) -> str:
        return f"{src}_{dst}"

    def convs(self) -> dict[tuple[int, int], nn.Module]:
        """(source, destination) -> conv layer, for every conv edge."""
        return {
            (src, dst): self.ops[self._key(src, dst)].get_submodule("0")
            for src, dst, op in self.forward_edges + self.backward_edges
            if op in CONV_KERNELS
        }

    def reset_state(self) -> None:
        self._last = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.backward_edges:
            return self._nodes(x, None)[0][-1]
        out = []
        for t in range(x.shape[0]):
            values, spikes = self._nodes(x[t : t + 1], self._feedback())
            self._last = (values, spikes)
            out.append(values[-1][0])
        return torch.stack(out)  # not slice writes: those cost a zero fill + copy each in backward

    def _edge(self, src: int, dst: int, op: int, value: torch.Tensor, spikes: torch.Tensor | None) -> torch.Tensor:
        if op == IDENTITY:
            return value
        if op == AVGPOOL:
            return self.ops[self._key(src, dst)](value)
        return self.ops[self._key(src, dst)](spikes)

    def _feedback(self) -> list[torch.Tensor | None]:
        """Per node: the sum of backward ops applied to the previous timestep's node values."""
        feedback: list[torch.Tensor | None] = [None] * self.nodes
        if self._last is not None:
            values, spikes = self._last
            for src, dst, op in self.backward_edges:
                feedback[dst] = _add(feedback[dst], self._edge(src, dst, op, values[src], spikes[src]))
        return feedback

    def _nodes(
        self, x: torch.Tensor, feedback: list[torch.Tensor | None] | None
    ) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """Node values and node spikes (None where no LIF) for the timesteps in x."""
        values: list[torch.Tensor] = []
        spikes: list[torch.Tensor | None] = []
        for node in range(self.nodes):
            v: torch.Tensor | None = x if node == 0 else None
            for src, dst, op in self.forward_edges:
                if dst == node:
                    v = _add(v, self._edge(src, dst, op, values[src], spikes[src]))
            fed_back = None if feedback is None else feedback[node]
            if fed_back is not None:
                v = _add(v, fed_back)
            if v is None:  # only fed by feedback, which is zero at t = 0
                v = torch.zeros_like(x)
            values.append(v)
            lif = self.lifs[f"node{node}"] if f"node{node}" in self.lifs else None  # noqa: SIM401 - ModuleDict has no get()
            spikes.append(None if lif is None else lif(v))
        return values, spikes
