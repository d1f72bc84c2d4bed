"""ADC level: every ADC type the peripherals cards define, tabulated per bits at one node.

An ADC type is a block ``adc.<type>`` of the cards whose ``model`` names how it is priced;
the types a candidate may use (``adc_type``) are exactly the blocks the loaded cards define.
Models (N = bits, ``A_min`` the node's minimum transistor area, ``t_clk`` the SAR clock):

* ``neurosim_sar`` (DNN+NeuroSim V1.3 ``SarADC.cpp``, LSTP; anchors.md section 6):
  ``E = (a_node * N + b_node) uW * (N + 1) * t_clk``; latency ``(N + 1) * t_clk``;
  area ``[(n0 + n1 (N-1)) + (p0 + p1 (N-1))] * A_min``.
* ``neurosim_flash`` (DNN+NeuroSim V1.3 ``MultilevelSenseAmp.cpp``, current mode):
  ``E = c_node uW * (2^N - 1) * t_flash``; latency ``t_flash``; area ``(2^N - 1) * (n_cmp + p_cmp) * A_min``.
* ``fixed``: the card gives the figures themselves.

Figures (:data:`FIGURES`): ``energy_pj`` per conversion [pJ], ``latency_ns`` per conversion [ns]
and ``area_um2`` per ADC [um^2], each a number (every bit width) or a table ``{bits: number}``
(only those bit widths can be priced). A ``fixed`` type needs all three; on a parametric type
they are optional and replace the model's value (presets fix SpikeSim's ADC this way).
A new ADC type is therefore one card block, no code::

    adc:
      my_adc:
        model: {value: fixed, source: "..."}
        energy_pj: {value: {4: 0.5, 5: 0.9}, source: "..."}
        latency_ns: {value: 2.0, source: "..."}
        area_um2: {value: 300.0, source: "..."}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosearch.core.candidate import MAX_ADC_BITS
from cosearch.core.errors import ConfigError
from cosearch.hw.technology import NodeScaling

#: Per-conversion figures a card may fix, with their schema kind (see :mod:`cosearch.hw.schema`).
FIGURES: dict[str, str] = {"energy_pj": "figure", "latency_ns": "pos_figure", "area_um2": "figure"}

Curves = tuple[np.ndarray, np.ndarray, np.ndarray]  # energy [pJ], latency [ns], area [um^2] per bits 0..MAX


@dataclass(frozen=True)
class AdcModel:
    """How one kind of ADC is priced: its card keys (schema kinds, ``?`` optional) and its curves.

    ``curves(path, scale)`` gets the block's key path (``("adc", <type>)``) and the node scaling,
    and returns energy, latency and area for bits ``0 .. MAX_ADC_BITS`` (``nan``: not priced).
    """

    keys: dict[str, str]
    curves: Callable[[tuple[str, ...], NodeScaling], Curves]


def _bits() -> np.ndarray:
    return np.arange(MAX_ADC_BITS + 1, dtype=float)


def _block(path: tuple[str, ...], scale: NodeScaling) -> Mapping[str, Any]:
    return scale.cards.tree[path[0]][path[1]]


def _sar_curves(path: tuple[str, ...], scale: NodeScaling) -> Curves:
    sar = _block(path, scale)
    bits = _bits()
    latency = (bits + 1) * float(sar["clock_ns"])
    energy = (scale.per_node(path + ("power_per_bit_uw",)) * bits
              + scale.per_node(path + ("power_fixed_uw",))) * latency * 1e-3
    n0, n1 = sar["transistors_n"]
    p0, p1 = sar["transistors_p"]
    area = ((n0 + n1 * (bits - 1)) + (p0 + p1 * (bits - 1))) * scale.node.min_transistor_um2
    return energy, latency, area


def _flash_curves(path: tuple[str, ...], scale: NodeScaling) -> Curves:
    flash = _block(path, scale)
    bits = _bits()
    comparators = 2.0**bits - 1
    latency = np.full_like(bits, float(flash["latency_ns"]))
    energy = scale.per_node(path + ("power_per_comparator_uw",)) * comparators * latency * 1e-3
    area = comparators * sum(flash["transistors_per_comparator"]) * scale.node.min_transistor_um2
    return energy, latency, area


def _unpriced(path: tuple[str, ...], scale: NodeScaling) -> Curves:
    """Curves of a ``fixed`` type before its figures are applied (every figure is required)."""
    nan = np.full(MAX_ADC_BITS + 1, np.nan)
    return nan, nan.copy(), nan.copy()


def _optional(figures: Mapping[str, str]) -> dict[str, str]:
    return {f"{key}?": kind for key, kind in figures.items()}


#: ADC model name (the ``model`` key of an ``adc.<type>`` block) -> model.
ADC_MODELS: dict[str, AdcModel] = {
    "neurosim_sar": AdcModel(
        keys={"power_per_bit_uw": "node", "power_fixed_uw": "node", "clock_ns": "pos", "transistors_n": "pair",
              "transistors_p": "pair", **_optional(FIGURES)},
        curves=_sar_curves,
    ),
    "neurosim_flash": AdcModel(
        keys={"power_per_comparator_uw": "node", "latency_ns": "pos", "transistors_per_comparator": "pair",
              **_optional({key: kind for key, kind in FIGURES.items() if key != "latency_ns"})},
        curves=_flash_curves,
    ),
    "fixed": AdcModel(keys=dict(FIGURES), curves=_unpriced),
}


def figure_table(value: Any) -> np.ndarray:
    """A card figure (number, or ``{bits: number}``) as values per bits ``0 .. MAX_ADC_BITS`` (``nan``: not given)."""
    if isinstance(value, Mapping):
        table = np.full(MAX_ADC_BITS + 1, np.nan)
        for bits, number in value.items():
            table[int(bits)] = float(number)
        return table
    return np.full(MAX_ADC_BITS + 1, float(value))


@dataclass(frozen=True)
class AdcTable:
    """Every ADC type of the cards at the model's node; arrays are ``[type, bits]`` (bits 0 .. MAX_ADC_BITS).

    Attributes:
        names: the ADC types (``adc_type`` values), in card order; row ``i`` of each array is ``names[i]``.
        energy_pj: energy of one conversion [pJ] (``nan``: the type has no figure for those bits).
        latency_ns: latency of one conversion [ns].
        area_um2: area of one ADC [um^2].
        files: type -> the card file that defines it (for errors).
    """

    names: tuple[str, ...]
    energy_pj: np.ndarray
    latency_ns: np.ndarray
    area_um2: np.ndarray
    files: dict[str, str]

    def index(self, adc_type: str) -> int:
        """Row of ``adc_type``; ConfigError naming the allowed types when the cards do not define it."""
        if adc_type not in self.names:
            raise ConfigError("", "adc_type", f"unknown adc_type {adc_type!r} (cards define: {', '.join(self.names)})")
        return self.names.index(adc_type)

    def energy(self, adc_type: str, bits: int) -> float:
        """Energy of one conversion [pJ]."""
        return float(self.energy_pj[self.index(adc_type), bits])

    def latency(self, adc_type: str, bits: int) -> float:
        """Latency of one conversion [ns]."""
        return float(self.latency_ns[self.index(adc_type), bits])

    def area(self, adc_type: str, bits: int) -> float:
        """Area of one ADC [um^2]."""
        return float(self.area_um2[self.index(adc_type), bits])

    @property
    def priced(self) -> np.ndarray:
        """``[type, bits]``: True where the type has all three figures for those bits."""
        return ~(np.isnan(self.energy_pj) | np.isnan(self.latency_ns) | np.isnan(self.area_um2))

    def check_priced(self, types: np.ndarray, bits: np.ndarray, where: str) -> None:
        """ConfigError when a (type index, bits) pair has no figures (a per-bits table without those bits)."""
        priced = self.priced
        missing = ~priced[types, bits]
        if missing.any():
            row = int(types[missing][0])
            given = ", ".join(map(str, np.flatnonzero(priced[row]))) or "none"
            raise ConfigError(self.files[self.names[row]], where,
                              f"ADC type {self.names[row]!r} has no figures for {int(bits[missing][0])} bits "
                              f"(its card prices bits: {given})")


def build_adc(scale: NodeScaling) -> AdcTable:
    """Tabulate every ``adc.<type>`` block of the (validated) cards at the node of ``scale``."""
    blocks = scale.cards.tree["adc"]
    names = tuple(str(name) for name in blocks)
    tables: list[Curves] = []
    for name in names:
        path = ("adc", name)
        block = blocks[name]
        energy, latency, area = ADC_MODELS[str(block["model"])].curves(path, scale)
        for key, table in (("energy_pj", energy), ("latency_ns", latency), ("area_um2", area)):
            if key in block:
                given = figure_table(block[key])
                table[~np.isnan(given)] = given[~np.isnan(given)]
        tables.append((energy, latency, area))
    return AdcTable(
        names=names,
        energy_pj=np.stack([t[0] for t in tables]),
        latency_ns=np.stack([t[1] for t in tables]),
        area_um2=np.stack([t[2] for t in tables]),
        files={name: scale.cards.where(("adc", name)) for name in names},
    )
