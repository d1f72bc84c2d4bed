"""Technology node and node scaling: the one place card values are moved to the target node.

A block of the cards may give a value at a reference node (keys ``*_ref_*``, with the block's
``ref_node_nm``); :class:`NodeScaling` moves it to the model's node F (nm) with supply VDD (V):

* energy [pJ]: ``e(F) = e_ref * (F / F_ref) * (VDD / VDD_ref)^2`` (switched capacitance C ~ F, C V^2),
* area [um^2]: ``a(F) = a_ref * (F / F_ref)^2``.

A block may instead fix a value (``energy_pj``, ``area_um2`` ...), which then holds at every node.
VDD per node comes from the technology card (PTM LP cards as used by DNN+NeuroSim V1.3
``Technology.cpp``); ``A_min`` is NeuroSim's minimum-transistor layout area
(``layout.min_transistor_area_f2`` F^2, ``constant.h``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cosearch.core.errors import ConfigError
from cosearch.hw.cards import CardTree


@dataclass(frozen=True)
class Node:
    """The technology node the model is resolved at.

    Attributes:
        nm: feature size F [nm].
        vdd_v: supply voltage [V].
        min_transistor_um2: NeuroSim minimum-size transistor layout area ``A_min`` [um^2].
    """

    nm: int
    vdd_v: float
    min_transistor_um2: float

    @property
    def feature_um(self) -> float:
        """Feature size F [um]."""
        return self.nm * 1e-3


def node_vdds(cards: CardTree) -> dict[int, float]:
    """Node [nm] -> VDD [V] of every node of the technology cards."""
    return {int(k): float(v["vdd_v"]) for k, v in cards.tree["nodes"].items()}


def build_node(cards: CardTree, node_nm: int | None) -> Node:
    """The node ``node_nm`` (default: the cards' ``chip.node_nm``), which the technology cards must list."""
    t = cards.tree
    nodes = node_vdds(cards)
    node = int(t["chip"]["node_nm"]) if node_nm is None else int(node_nm)
    if node not in nodes:
        where = "hardware.node_nm" if node_nm is not None else "chip.node_nm"
        raise ConfigError(cards.where(("chip", "node_nm")) if node_nm is None else "", where,
                          f"node {node} nm is not in the technology cards (known: {', '.join(map(str, sorted(nodes)))})")
    f_um = node * 1e-3
    return Node(nm=node, vdd_v=nodes[node], min_transistor_um2=float(t["layout"]["min_transistor_area_f2"]) * f_um**2)


@dataclass(frozen=True)
class NodeScaling:
    """Reads card blocks at one node: scaled ``*_ref_*`` values, fixed values, per-node tables."""

    cards: CardTree
    node: Node

    def block(self, section: str) -> Mapping[str, Any]:
        return self.cards.tree[section]

    def energy(self, section: str, key: str) -> float:
        """``section.key`` [pJ] given at ``section.ref_node_nm``, scaled to the node."""
        nodes = node_vdds(self.cards)
        ref = int(self.block(section)["ref_node_nm"])
        if ref not in nodes:
            raise ConfigError(self.cards.where((section, "ref_node_nm")), f"{section}.ref_node_nm",
                              f"reference node {ref} nm is not in the technology cards")
        return float(self.block(section)[key]) * (self.node.nm / ref) * (self.node.vdd_v / nodes[ref]) ** 2

    def area(self, section: str, key: str) -> float:
        """``section.key`` [um^2] given at ``section.ref_node_nm``, scaled to the node."""
        return float(self.block(section)[key]) * (self.node.nm / int(self.block(section)["ref_node_nm"])) ** 2

    def fixed(self, section: str, key: str) -> float:
        """A fixed (node-independent) value, ``nan`` when the cards do not set it."""
        return float(self.block(section).get(key, math.nan))

    def fixed_or_energy(self, section: str, fixed_key: str, ref_key: str) -> float:
        """The fixed energy ``fixed_key`` when set, else ``ref_key`` scaled to the node [pJ]."""
        if fixed_key in self.block(section):
            return self.fixed(section, fixed_key)
        return self.energy(section, ref_key)

    def fixed_or_area(self, section: str, fixed_key: str, ref_key: str) -> float:
        """The fixed area ``fixed_key`` when set, else ``ref_key`` scaled to the node [um^2]."""
        if fixed_key in self.block(section):
            return self.fixed(section, fixed_key)
        return self.area(section, ref_key)

    def sram_area(self, section: str) -> float:
        """Area of an SRAM buffer block [um^2]: ``capacity_kb * 8192 bits * cell_area_f2 * F^2``."""
        block = self.block(section)
        kb_bits = 8 * 1024
        return float(block["capacity_kb"]) * kb_bits * float(block["cell_area_f2"]) * self.node.feature_um**2

    def per_node(self, path: tuple[str, ...]) -> float:
        """The value at the node of a ``{node_nm: value}`` table at ``path`` of the cards."""
        node: Any = self.cards.tree
        for key in path:
            node = node[key]
        table = {int(k): float(v) for k, v in node.items()}
        if self.node.nm not in table:
            raise ConfigError(self.cards.where(path), ".".join(path),
                              f"no value for node {self.node.nm} nm (has: {', '.join(map(str, sorted(table)))})")
        return table[self.node.nm]
