"""What the dashboard shows about one design, from its stored record (no drawing here).

A record (:func:`cosearch.results.load_records`) holds the trial's ``candidate`` dict and its
``details``; from them come a one-line-per-key summary for hovers and tables, the per-layer
hardware map, the cost model's energy/latency/area breakdown (``details["hw_breakdown"]``,
see :func:`cosearch.hw.cost.breakdown`) and, for SNASNet genomes, the cell graph.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosearch.core.errors import CosearchError, InvalidCandidate
from cosearch.core.settings import is_real
from cosearch.hw import load_hardware_section
from cosearch.workload import network_layers
from cosearch.workload.snasnet import SNASNET_OPS, parse_cell

#: Hardware-map columns, in display order (keys of :data:`cosearch.core.candidate.MAPPING_KEYS`).
MAP_KEYS: tuple[str, ...] = ("device", "adc_type", "adc_bits", "column_sharing", "input_bits", "weight_bits", "xbar_size")
#: Shown for a mapping key the candidate leaves out when the run's cards cannot be loaded.
CARD_DEFAULT = "card default"
#: Appended to a value that comes from the cards' defaults rather than from the candidate.
DEFAULT_MARK = " (default)"


def _compact(value: Any) -> str:
    """A per-layer list as counts (``pcm×9 sram×5``) or a range (``3–7``); scalars as is."""
    if not isinstance(value, (list, tuple)):
        return str(value)
    if len(set(map(str, value))) == 1:
        return str(value[0])
    if all(map(is_real, value)):
        return f"{min(value)}–{max(value)}"
    return " ".join(f"{k}×{n}" for k, n in Counter(map(str, value)).most_common())


def cell_string(cell: Sequence[Sequence[int]]) -> str:
    """An op matrix as SNASNet writes it: one digit per op, rows separated by spaces."""
    return " ".join("".join(str(int(v)) for v in row) for row in cell)


def design_summary(candidate: Mapping[str, Any]) -> dict[str, str]:
    """Key parameters of a candidate dict as short strings: arch, T, channels, cell, hardware keys."""
    if not candidate:
        return {}
    network = candidate.get("network", {})
    out = {"arch": str(network.get("arch", "?")), "T": str(candidate.get("timesteps", "?"))}
    if "channels" in network:
        out["channels"] = _compact(network["channels"])
    if "cell" in network:
        out["cell"] = cell_string(network["cell"])
    for key in MAP_KEYS:
        if key in candidate.get("hardware", {}):
            out[key] = _compact(candidate["hardware"][key])
    return out


# ------------------------------------------------------------ hardware map ----


def card_defaults(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The per-layer mapping defaults the run's cost model used: the cards of the run config's
    ``hardware`` section (:func:`cosearch.hw.load_hardware_section`, found under the package's
    project or the current folder), or None when they cannot be loaded here."""
    for project in (None, Path.cwd()):
        try:
            return dict(load_hardware_section(project, config.get("hardware")).defaults)
        except CosearchError:
            continue
    return None


def layer_map(candidate: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per crossbar-mapped layer: name, kind, channels, kernel and its hardware mapping.

    A mapping key the candidate leaves out takes its value from ``defaults`` (the cards' per-layer
    defaults, :func:`card_defaults`), marked with :data:`DEFAULT_MARK` and listed in the row's
    ``from_defaults``; without ``defaults`` it reads ``card default``. ``input_bits`` of a spiking
    layer is its native input precision (1 bit, 3 bits after 2x2 pooling), of an analog-input
    layer the mapping's DAC precision. Empty when the network family is unknown.
    """
    try:
        layers = network_layers(candidate["network"])
    except (InvalidCandidate, KeyError, TypeError, ValueError):
        return []
    hardware = candidate.get("hardware", {})
    rows = []
    for layer in layers:
        row: dict[str, Any] = {"layer": layer.name, "slot": layer.slot, "kind": layer.kind,
                               "cin": layer.cin, "cout": layer.cout, "kernel": layer.kernel}
        from_defaults = []
        for key in MAP_KEYS:
            if key in hardware:
                value = hardware[key]
                row[key] = value[layer.slot] if isinstance(value, (list, tuple)) else value
            else:
                from_defaults.append(key)
                row[key] = f"{defaults[key]}{DEFAULT_MARK}" if defaults and key in defaults else CARD_DEFAULT
        row["from_defaults"] = tuple(from_defaults)
        if layer.input_bits is not None:
            row["input_bits"] = f"{layer.input_bits} (spikes)"
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Breakdown:
    """Per-layer costs of one design by component (from the cost model's ``hw_breakdown``).

    Attributes:
        layers: layer names in slot order.
        energy_pj: component -> energy per layer [pJ].
        area_mm2: component -> area per layer [mm^2].
        latency_ns: latency per layer [ns].
        totals: chip-level energy [pJ] / area [mm^2] by component (area includes the global buffer).
    """

    layers: list[str]
    energy_pj: dict[str, list[float]]
    area_mm2: dict[str, list[float]]
    latency_ns: list[float]
    totals: dict[str, dict[str, float]]


def breakdown_info(details: Mapping[str, Any] | None) -> Breakdown | None:
    """The cost breakdown of a record's ``details``, or None when it holds none."""
    raw = (details or {}).get("hw_breakdown")
    if not isinstance(raw, Mapping):
        return None
    table = raw.get("layers")
    if not isinstance(table, Mapping) or not table.get("name"):
        return None
    count = len(table["name"])

    def column(name: str) -> list[float]:
        return [float(v) for v in table.get(name) or [0.0] * count]

    def by_component(per_layer: str, total: str) -> dict[str, list[float]]:
        components = table.get(per_layer) or {}
        if not components:
            return {"total": column(total)}
        return {c: [float(v) for v in values] for c, values in components.items()}

    return Breakdown(
        layers=[str(name) for name in table["name"]],
        energy_pj=by_component("energy_by_component_pj", "energy_pj"),
        area_mm2=by_component("area_by_component_mm2", "area_mm2"),
        latency_ns=column("latency_ns"),
        totals={"energy_pj": dict(raw.get("energy_by_component_pj", {})),
                "area_mm2": dict(raw.get("area_by_component_mm2", {}))},
    )


# ------------------------------------------------------------ cell graph ----


@dataclass(frozen=True)
class CellEdge:
    """One edge of a SNASNet cell: ``src -> dst`` with its op; backward = temporal feedback."""

    src: int
    dst: int
    op: str
    backward: bool


@dataclass(frozen=True)
class CellGraph:
    """A cell's nodes (0 = input, nodes-1 = output) and its non-zero edges, row by row."""

    nodes: int
    edges: list[CellEdge]


def cell_graph(network: Mapping[str, Any]) -> CellGraph | None:
    """The cell of a SNASNet genome as a graph (None for other families).

    ``network["cell"]`` is an op matrix or its string form (``"0303 0030 2002 0200"``); entry
    [i][j] != 0 is an edge i -> j, forward when i < j, backward (next timestep) when i > j.
    """
    if network.get("arch") != "snasnet" or "cell" not in network:
        return None
    nodes = int(network.get("nodes", 4))
    matrix = parse_cell(network["cell"], nodes)
    edges = [CellEdge(i, j, SNASNET_OPS[op], i > j)
             for i, row in enumerate(matrix) for j, op in enumerate(row) if op]
    return CellGraph(nodes, edges)

