"""Hardware model: merged cards checked against a schema and resolved at one technology node.

:func:`load_hardware` is the entry point: it reads the cards (all base cards of ``hw_models/`` by
default), applies an experiment's overrides, checks every key, and returns a
:class:`HardwareModel` holding per-event energies (pJ), latencies (ns) and areas (um^2) at the
chosen node. Node scaling of values given at a reference node (``*_ref_*`` keys):

* energy: ``e(node) = e_ref * (F / F_ref) * (VDD / VDD_ref)^2`` (switched capacitance C ~ F),
* area: ``a(node) = a_ref * (F / F_ref)^2``.

ADC models (DNN+NeuroSim V1.3, anchors.md section 6; N = bits):

* SAR: ``E = (a_node * N + b_node) uW * (N + 1) * t_clk``; latency ``(N + 1) * t_clk``;
  area ``[(n0 + n1 (N-1)) + (p0 + p1 (N-1))] * A_min``.
* flash: ``E = c_node uW * (2^N - 1) * t_flash``; latency ``t_flash``;
  area ``(2^N - 1) * (n_cmp + p_cmp) * A_min``.

``A_min`` is NeuroSim's minimum-transistor layout area (``layout.min_transistor_area_f2`` F^2).
A card may fix ``energy_pj`` / ``area_um2`` / ``latency_ns`` of an ADC type (presets do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from cosearch.core.errors import ConfigError
from cosearch.hw.cards import (
    DEFAULT_CARDS,
    CardTree,
    apply_overrides,
    load_cards,
    resolve_card_paths,
)

ADC_TYPES: tuple[str, ...] = ("sar", "flash")
MAX_ADC_BITS = 16
#: Per-layer mapping keys (as :data:`cosearch.core.candidate.HARDWARE_KEYS`) and their value kinds.
MAPPING_KEYS: dict[str, str] = {
    "device": "str",
    "adc_type": "str",
    "adc_bits": "int",
    "column_sharing": "int",
    "input_bits": "int",
    "weight_bits": "int",
    "xbar_size": "int",
}

# ------------------------------------------------------------------ schema ----
# kind: pos (>0), nonneg (>=0), int (integer >= 1), bool, str, frac (0 < x <= 1),
# node (node_nm -> pos), pair ([nonneg, nonneg]). Keys ending in "?" are optional.
SCHEMA: dict[str, dict[str, str]] = {
    "nodes.*": {"vdd_v": "pos"},
    "layout": {"min_transistor_area_f2": "pos", "wire_cap_ff_per_um": "pos", "wire_activity": "frac"},
    "adc.sar": {
        "power_per_bit_uw": "node", "power_fixed_uw": "node", "clock_ns": "pos", "transistors_n": "pair",
        "transistors_p": "pair", "energy_pj?": "nonneg", "area_um2?": "nonneg", "latency_ns?": "pos",
    },
    "adc.flash": {
        "power_per_comparator_uw": "node", "latency_ns": "pos", "transistors_per_comparator": "pair",
        "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "mux": {
        "energy_ref_pj": "nonneg", "ref_node_nm": "int", "transistors_per_input": "pos",
        "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "dac": {"transistors_per_row": "pos", "energy_pj?": "nonneg"},
    "shift_add": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "transistors_per_bit": "pos",
        "latency_ns": "nonneg", "energy_pj?": "nonneg",
    },
    "temp_buffer": {
        "energy_ref_pj": "nonneg", "area_ref_um2": "nonneg", "ref_node_nm": "int",
        "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "tile_buffer": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "capacity_kb": "pos", "cell_area_f2": "pos",
        "energy_per_access_pj?": "nonneg",
    },
    "global_buffer": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "capacity_kb": "pos", "cell_area_f2": "pos",
        "energy_per_access_pj?": "nonneg",
    },
    "interconnect": {
        "area_ref_um2": "nonneg", "ref_node_nm": "int", "energy_per_bit_pj?": "nonneg",
        "energy_per_access_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "lif": {
        "energy_ref_pj": "nonneg", "membrane_bits": "int", "area_per_bit_ref_um2": "nonneg", "ref_node_nm": "int",
        "energy_pj?": "nonneg",
    },
    "pe": {"xbars_per_pe": "int", "analog_psum": "bool"},
    "tile": {"pes_per_tile": "int"},
    "chip": {"node_nm": "int", "default_activity": "frac"},
    "defaults": {key: ("str" if kind == "str" else "int") for key, kind in MAPPING_KEYS.items()},
    "devices.*.device": {
        "cell_area_f2": "pos", "bits_per_cell": "int", "r_on_ohm": "pos", "on_off_ratio": "pos",
        "read_voltage_v": "pos", "write_energy_pj": "nonneg", "array_read_energy_pj?": "nonneg",
    },
}
#: Free-form sections (read by other modules, e.g. the noise-aware proxy).
FREE_SECTIONS = ("devices.*.nonideality",)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(float(value))


def _kind_error(kind: str, value: Any) -> str | None:
    """Why ``value`` is not of schema ``kind`` (None when it is)."""
    if kind == "pos" and not (_is_number(value) and value > 0):
        return f"must be a positive number (got {value!r})"
    if kind == "nonneg" and not (_is_number(value) and value >= 0):
        return f"must be a number >= 0 (got {value!r})"
    if kind == "frac" and not (_is_number(value) and 0 < value <= 1):
        return f"must be a number in (0, 1] (got {value!r})"
    if kind == "int" and not (_is_number(value) and float(value).is_integer() and value >= 1):
        return f"must be a positive integer (got {value!r})"
    if kind == "bool" and not isinstance(value, bool):
        return f"must be true or false (got {value!r})"
    if kind == "str" and not (isinstance(value, str) and value):
        return f"must be a non-empty string (got {value!r})"
    if kind == "pair" and not (
        isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) and v >= 0 for v in value)
    ):
        return f"must be a list of two numbers >= 0 (got {value!r})"
    if kind == "node":
        if not (isinstance(value, Mapping) and value):
            return f"must map node_nm -> positive number (got {value!r})"
        for node, number in value.items():
            if not (_is_number(node) or str(node).isdigit()) or not (_is_number(number) and number > 0):
                return f"must map node_nm -> positive number (bad entry {node!r}: {number!r})"
    return None


def validate_tree(cards: CardTree) -> None:
    """Check every section and key of the merged cards against :data:`SCHEMA`."""
    tree = cards.tree

    def fail(path: tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(cards.where(path), cards.shown(path), message)

    sections: list[tuple[tuple[str, ...], dict[str, str]]] = []
    for pattern, keys in SCHEMA.items():
        parts = tuple(pattern.split("."))
        sections += [(path, keys) for path in _expand(tree, parts)] or (
            [] if "*" in parts else [(parts, keys)]
        )
    known = {path for path, _ in sections} | {p for pattern in FREE_SECTIONS for p in _expand(tree, tuple(pattern.split(".")))}
    _check_unknown(tree, (), known, fail)
    if not _expand(tree, ("nodes", "*")):
        raise fail(("nodes",), "no technology node defined (a technology card must list nodes)")
    if not _expand(tree, ("devices", "*")):
        raise fail(("devices",), "no device defined (add a device card, e.g. hw_models/devices/rram.yaml)")
    for path, keys in sections:
        node = _get(tree, path)
        if not isinstance(node, Mapping):
            raise fail(path, "missing section (no card defines it)")
        for name in node:
            if name not in {key.rstrip("?") for key in keys}:
                allowed = ", ".join(sorted(key.rstrip("?") for key in keys))
                raise fail(path + (str(name),), f"unknown key (allowed: {allowed})")
        for key, kind in keys.items():
            optional = key.endswith("?")
            name = key.rstrip("?")
            if name not in node:
                if optional:
                    continue
                raise fail(path + (name,), "missing (no card defines it)")
            reason = _kind_error(kind, node[name])
            if reason:
                raise fail(path + (name,), reason)


def _expand(tree: Mapping[str, Any], parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Concrete paths matching a pattern with ``*`` parts."""
    paths: list[tuple[str, ...]] = [()]
    for part in parts:
        nxt = []
        for path in paths:
            node = _get(tree, path)
            if not isinstance(node, Mapping):
                continue
            keys = [str(k) for k in node] if part == "*" else ([part] if part in node else [])
            nxt += [path + (k,) for k in keys]
        paths = nxt
    return paths


def _check_unknown(tree: Any, path: tuple[str, ...], known: set[tuple[str, ...]], fail: Callable) -> None:
    """Reject top-level / intermediate sections the schema does not know."""
    if path in known or not isinstance(tree, Mapping):
        return
    prefixes = {k[: len(path) + 1] for k in known if k[: len(path)] == path and len(k) > len(path)}
    for key in tree:
        sub = path + (str(key),)
        if sub not in prefixes:
            raise fail(sub, "unknown section")
        _check_unknown(tree[key], sub, known, fail)


def _get(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key, node.get(int(key)) if key.isdigit() else None)
    return node


# -------------------------------------------------------------- resolved ----


@dataclass(frozen=True)
class Device:
    """One memory device at the model's node (values from its card)."""

    name: str
    cell_area_f2: float
    bits_per_cell: int
    r_on_ohm: float
    on_off_ratio: float
    read_voltage_v: float
    write_energy_pj: float
    array_read_energy_pj: float | None
    nonideality: Mapping[str, Any]

    @property
    def g_mean_s(self) -> float:
        """Mean cell conductance [S] for uniformly used levels: (G_on + G_off) / 2."""
        return (1.0 + 1.0 / self.on_off_ratio) / (2.0 * self.r_on_ohm)


@dataclass(frozen=True)
class HardwareModel:
    """Per-event costs resolved at one node; see docs/hw_model.md for every symbol.

    Energies in pJ per event, latencies in ns, areas in um^2. ``nan`` marks "not fixed by a card"
    for optional fixed-value overrides.
    """

    node_nm: int
    vdd_v: float
    devices: dict[str, Device]
    defaults: dict[str, Any]
    xbars_per_pe: int
    pes_per_tile: int
    analog_psum: bool
    default_activity: float
    min_transistor_um2: float
    row_wire_cap_ff_per_um: float
    adc_energy_pj: np.ndarray  # [adc type, bits]
    adc_latency_ns: np.ndarray
    adc_area_um2: np.ndarray
    mux_energy_pj: float
    mux_area_per_input_um2: float
    mux_area_fixed_um2: float
    dac_transistors_per_row: float
    dac_energy_fixed_pj: float
    shift_add_energy_per_bit_pj: float
    shift_add_energy_fixed_pj: float
    shift_add_transistors_per_bit: float
    shift_add_latency_ns: float
    temp_buffer_energy_pj: float
    temp_buffer_area_um2: float
    tile_buffer_energy_per_bit_pj: float
    tile_buffer_energy_per_access_pj: float
    tile_buffer_area_um2: float
    global_buffer_energy_per_bit_pj: float
    global_buffer_energy_per_access_pj: float
    global_buffer_area_um2: float
    wire_energy_per_bit_mm_pj: float
    interconnect_energy_per_bit_pj: float
    interconnect_energy_per_access_pj: float
    interconnect_area_um2: float
    lif_energy_pj: float
    lif_area_per_neuron_um2: float
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def feature_um(self) -> float:
        return self.node_nm * 1e-3

    @property
    def device_names(self) -> tuple[str, ...]:
        return tuple(self.devices)

    def adc_energy(self, adc_type: str, bits: int) -> float:
        """Energy of one conversion [pJ]."""
        return float(self.adc_energy_pj[ADC_TYPES.index(adc_type), bits])

    def adc_latency(self, adc_type: str, bits: int) -> float:
        """Latency of one conversion [ns]."""
        return float(self.adc_latency_ns[ADC_TYPES.index(adc_type), bits])

    def adc_area(self, adc_type: str, bits: int) -> float:
        """Area of one ADC [um^2]."""
        return float(self.adc_area_um2[ADC_TYPES.index(adc_type), bits])


def _node_map(value: Mapping[Any, Any]) -> dict[int, float]:
    return {int(k): float(v) for k, v in value.items()}


def resolve(cards: CardTree, node_nm: int | None = None) -> HardwareModel:
    """Resolve validated cards at ``node_nm`` (default: ``chip.node_nm`` of the cards)."""
    validate_tree(cards)
    t = cards.tree
    nodes = {int(k): float(v["vdd_v"]) for k, v in t["nodes"].items()}
    node = int(t["chip"]["node_nm"]) if node_nm is None else int(node_nm)
    if node not in nodes:
        where = "hardware.node_nm" if node_nm is not None else "chip.node_nm"
        raise ConfigError(cards.where(("chip", "node_nm")) if node_nm is None else "", where,
                          f"node {node} nm is not in the technology cards (known: {', '.join(map(str, sorted(nodes)))})")
    vdd = nodes[node]

    def energy_at(section: str, key: str) -> float:
        ref = int(t[section]["ref_node_nm"])
        if ref not in nodes:
            raise ConfigError(cards.where((section, "ref_node_nm")), f"{section}.ref_node_nm",
                              f"reference node {ref} nm is not in the technology cards")
        return float(t[section][key]) * (node / ref) * (vdd / nodes[ref]) ** 2

    def area_at(section: str, key: str) -> float:
        return float(t[section][key]) * (node / int(t[section]["ref_node_nm"])) ** 2

    def fixed(section: str, key: str) -> float:
        return float(t[section].get(key, math.nan))

    def per_node(section: str, key: str) -> float:
        table = _node_map(t["adc"][section][key])
        if node not in table:
            raise ConfigError(cards.where(("adc", section, key)), f"adc.{section}.{key}",
                              f"no value for node {node} nm (has: {', '.join(map(str, sorted(table)))})")
        return table[node]

    f_um = node * 1e-3
    a_min = float(t["layout"]["min_transistor_area_f2"]) * f_um**2
    bits = np.arange(MAX_ADC_BITS + 1, dtype=float)
    sar, flash = t["adc"]["sar"], t["adc"]["flash"]
    sar_lat = (bits + 1) * float(sar["clock_ns"])
    sar_e = (per_node("sar", "power_per_bit_uw") * bits + per_node("sar", "power_fixed_uw")) * sar_lat * 1e-3
    n0, n1 = sar["transistors_n"]
    p0, p1 = sar["transistors_p"]
    sar_a = ((n0 + n1 * (bits - 1)) + (p0 + p1 * (bits - 1))) * a_min
    comparators = 2.0**bits - 1
    flash_lat = np.full_like(bits, float(flash["latency_ns"]))
    flash_e = per_node("flash", "power_per_comparator_uw") * comparators * flash_lat * 1e-3
    flash_a = comparators * sum(flash["transistors_per_comparator"]) * a_min
    energy = np.stack([sar_e, flash_e])
    latency = np.stack([sar_lat, flash_lat])
    area = np.stack([sar_a, flash_a])
    for index, name in enumerate(ADC_TYPES):
        for key, table in (("energy_pj", energy), ("latency_ns", latency), ("area_um2", area)):
            if key in t["adc"][name]:
                table[index, :] = float(t["adc"][name][key])

    devices = {
        name: Device(
            name=name,
            cell_area_f2=float(d["device"]["cell_area_f2"]),
            bits_per_cell=int(d["device"]["bits_per_cell"]),
            r_on_ohm=float(d["device"]["r_on_ohm"]),
            on_off_ratio=float(d["device"]["on_off_ratio"]),
            read_voltage_v=float(d["device"]["read_voltage_v"]),
            write_energy_pj=float(d["device"]["write_energy_pj"]),
            array_read_energy_pj=(float(d["device"]["array_read_energy_pj"])
                                  if "array_read_energy_pj" in d["device"] else None),
            nonideality=dict(d.get("nonideality", {})),
        )
        for name, d in t["devices"].items()
    }
    defaults = {key: (str(v) if MAPPING_KEYS[key] == "str" else int(v)) for key, v in t["defaults"].items()}
    kb_bits = 8 * 1024
    wire = t["layout"]
    return HardwareModel(
        node_nm=node,
        vdd_v=vdd,
        devices=devices,
        defaults=defaults,
        xbars_per_pe=int(t["pe"]["xbars_per_pe"]),
        pes_per_tile=int(t["tile"]["pes_per_tile"]),
        analog_psum=bool(t["pe"]["analog_psum"]),
        default_activity=float(t["chip"]["default_activity"]),
        min_transistor_um2=a_min,
        row_wire_cap_ff_per_um=float(wire["wire_cap_ff_per_um"]),
        adc_energy_pj=energy,
        adc_latency_ns=latency,
        adc_area_um2=area,
        mux_energy_pj=fixed("mux", "energy_pj") if "energy_pj" in t["mux"] else energy_at("mux", "energy_ref_pj"),
        mux_area_per_input_um2=float(t["mux"]["transistors_per_input"]) * a_min,
        mux_area_fixed_um2=fixed("mux", "area_um2"),
        dac_transistors_per_row=float(t["dac"]["transistors_per_row"]),
        dac_energy_fixed_pj=fixed("dac", "energy_pj"),
        shift_add_energy_per_bit_pj=energy_at("shift_add", "energy_per_bit_ref_pj"),
        shift_add_energy_fixed_pj=fixed("shift_add", "energy_pj"),
        shift_add_transistors_per_bit=float(t["shift_add"]["transistors_per_bit"]),
        shift_add_latency_ns=float(t["shift_add"]["latency_ns"]),
        temp_buffer_energy_pj=(fixed("temp_buffer", "energy_pj") if "energy_pj" in t["temp_buffer"]
                               else energy_at("temp_buffer", "energy_ref_pj")),
        temp_buffer_area_um2=(fixed("temp_buffer", "area_um2") if "area_um2" in t["temp_buffer"]
                              else area_at("temp_buffer", "area_ref_um2")),
        tile_buffer_energy_per_bit_pj=energy_at("tile_buffer", "energy_per_bit_ref_pj"),
        tile_buffer_energy_per_access_pj=float(t["tile_buffer"].get("energy_per_access_pj", 0.0)),
        tile_buffer_area_um2=float(t["tile_buffer"]["capacity_kb"]) * kb_bits
        * float(t["tile_buffer"]["cell_area_f2"]) * f_um**2,
        global_buffer_energy_per_bit_pj=energy_at("global_buffer", "energy_per_bit_ref_pj"),
        global_buffer_energy_per_access_pj=float(t["global_buffer"].get("energy_per_access_pj", 0.0)),
        global_buffer_area_um2=float(t["global_buffer"]["capacity_kb"]) * kb_bits
        * float(t["global_buffer"]["cell_area_f2"]) * f_um**2,
        wire_energy_per_bit_mm_pj=float(wire["wire_activity"]) * float(wire["wire_cap_ff_per_um"]) * 1e3
        * vdd**2 * 1e-3,
        interconnect_energy_per_bit_pj=fixed("interconnect", "energy_per_bit_pj"),
        interconnect_energy_per_access_pj=float(t["interconnect"].get("energy_per_access_pj", 0.0)),
        interconnect_area_um2=(fixed("interconnect", "area_um2") if "area_um2" in t["interconnect"]
                               else area_at("interconnect", "area_ref_um2")),
        lif_energy_pj=fixed("lif", "energy_pj") if "energy_pj" in t["lif"] else energy_at("lif", "energy_ref_pj"),
        lif_area_per_neuron_um2=float(t["lif"]["membrane_bits"]) * area_at("lif", "area_per_bit_ref_um2"),
        sources={".".join(path): source for path, source in cards.sources.items()},
    )


# ----------------------------------------------------------------- loader ----


def load_hardware(
    project_dir: str | Path = ".",
    cards: Sequence[str] | None = None,
    node_nm: int | None = None,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> HardwareModel:
    """Load hardware cards and resolve them at a node.

    Args:
        project_dir: folder holding ``hw_models/`` (card paths are relative to it).
        cards: card files or globs, merged in order; default :data:`DEFAULT_CARDS` (presets excluded).
        node_nm: technology node [nm]; default the cards' ``chip.node_nm``.
        defaults: per-layer mapping defaults (keys of :data:`MAPPING_KEYS`) over the cards' ``defaults``.
        overrides: nested card keys -> values (plain or ``{value, source}``) merged over the cards.

    Raises:
        ConfigError: naming the card file (or ``hardware.*`` key) and the key path.
    """
    paths = resolve_card_paths(list(cards) if cards is not None else list(DEFAULT_CARDS), Path(project_dir))
    tree = load_cards(paths)
    if overrides:
        apply_overrides(tree, overrides)
    if defaults:
        if not isinstance(defaults, Mapping):
            raise ConfigError("", "hardware.defaults", "must be a mapping of mapping keys to values")
        for key, value in defaults.items():
            if key not in MAPPING_KEYS:
                raise ConfigError("", f"hardware.defaults.{key}",
                                  f"unknown mapping key (allowed: {', '.join(MAPPING_KEYS)})")
            reason = _kind_error(MAPPING_KEYS[key], value)
            if reason:
                raise ConfigError("", f"hardware.defaults.{key}", reason)
        apply_overrides(tree, {"defaults": dict(defaults)}, label="hardware.defaults")
    if node_nm is not None and _kind_error("int", node_nm):
        raise ConfigError("", "hardware.node_nm", _kind_error("int", node_nm) or "")
    model = resolve(tree, node_nm)
    check_mapping(model, model.defaults, "defaults", source=tree.where(("defaults",)))
    return model


def check_mapping(model: HardwareModel, mapping: Mapping[str, Any], where: str, source: str = "") -> None:
    """Validate one layer mapping (device known, ADC type known, bits and sizes in range)."""
    device = mapping.get("device")
    if device is not None and device not in model.devices:
        raise ConfigError(source, f"{where}.device",
                          f"unknown device {device!r} (cards define: {', '.join(model.devices)})")
    adc = mapping.get("adc_type")
    if adc is not None and adc not in ADC_TYPES:
        raise ConfigError(source, f"{where}.adc_type", f"must be one of {', '.join(ADC_TYPES)} (got {adc!r})")
    bits = mapping.get("adc_bits")
    if bits is not None and not (isinstance(bits, int) and 1 <= bits <= MAX_ADC_BITS):
        raise ConfigError(source, f"{where}.adc_bits", f"must be an integer in 1..{MAX_ADC_BITS} (got {bits!r})")
    for key in ("column_sharing", "input_bits", "weight_bits", "xbar_size"):
        value = mapping.get(key)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise ConfigError(source, f"{where}.{key}", f"must be a positive integer (got {value!r})")
    sharing, size = mapping.get("column_sharing"), mapping.get("xbar_size")
    if sharing is not None and size is not None and sharing > size:
        raise ConfigError(source, f"{where}.column_sharing",
                          f"cannot exceed the crossbar size {size} (got {sharing})")
