"""``cosearch cost``: price one design without a search, and the network CSVs of NeuroSim and XPert.

A design is a genome file (as ``cosearch export`` writes it) or a network CSV, one row per
layer, as DNN+NeuroSim's ``NetWork_*.csv``: input H, input W, Cin, kernel H, kernel W, Cout,
pooling (0/1, after the layer), stride. Four further columns, as XPert's per-layer search
variables, are read when present: columns per ADC (``column_sharing``), ADC type, input bits,
ADC bits (XPert's own file format was not available; this column order is cosearch's). A CSV
may start with a header naming its columns (:data:`CSV_COLUMNS`, any order); without one the
columns are positional. A CSV layer runs every timestep (T = 1 unless given:
a NeuroSim network is a one-pass ANN); its input precision is the row's ``input_bits`` or the
cards' default.

:func:`price_design` returns the metrics and the per-layer breakdown; :func:`cost_table` the
printable table; :func:`network_csv` writes a candidate's layers in either CSV format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw.cost import breakdown_rows, breakdowns, price
from cosearch.hw.mapping import NetworkShapes, map_candidates, network_shapes
from cosearch.hw.model import HardwareModel, load_hardware
from cosearch.workload import LayerShape, network_layers

#: NeuroSim's eight columns, then XPert's four per-layer mapping columns (optional).
NEUROSIM_COLUMNS: tuple[str, ...] = ("h", "w", "cin", "kernel_h", "kernel_w", "cout", "pooling", "stride")
XPERT_COLUMNS: tuple[str, ...] = ("column_sharing", "adc_type", "input_bits", "adc_bits")
CSV_COLUMNS: tuple[str, ...] = NEUROSIM_COLUMNS + XPERT_COLUMNS
#: ``cosearch export --format`` values that write a network CSV, with their columns.
CSV_FORMATS: dict[str, tuple[str, ...]] = {"neurosim": NEUROSIM_COLUMNS, "xpert": CSV_COLUMNS}
#: Presets shipped under ``hw_models/presets/`` (``--preset NAME``).
PRESET_DIR = "hw_models/presets"


@dataclass(frozen=True)
class Design:
    """A design to price: the candidate (timesteps, per-layer hardware) and, for a CSV, its layers."""

    candidate: Candidate
    shapes: NetworkShapes | None
    source: str


def read_network_csv(path: str | Path) -> tuple[NetworkShapes, dict[str, tuple[Any, ...]]]:
    """Layers and per-layer mapping columns of a NeuroSim / XPert network CSV.

    Raises:
        ConfigError: naming the file and row (1-based) of a missing column, a dimension that is not
            a positive integer, a non-square kernel, a kernel larger than its input (half the kernel
            at least the input's side, so that with same padding its outer taps never see data), or an
            unknown header column.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the network CSV ({exc.strerror})") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ConfigError(str(path), "", "empty network CSV (one row per layer: " + ", ".join(NEUROSIM_COLUMNS) + ")")
    header = rows[0] if not _is_number(rows[0][0]) else None
    if header is not None:
        names = [cell.strip().lower() for cell in header]
        for name in names:
            if name not in CSV_COLUMNS:
                raise ConfigError(str(path), "row 1", f"unknown column {name!r} (allowed: {', '.join(CSV_COLUMNS)})")
        missing = [name for name in NEUROSIM_COLUMNS if name not in names]
        if missing:
            raise ConfigError(str(path), "row 1", f"missing column(s) {', '.join(missing)}")
        rows = rows[1:]
    else:
        names = list(CSV_COLUMNS[: max(len(r) for r in rows)])
    first = 2 if header is not None else 1
    layers: list[LayerShape] = []
    inputs: list[int] = []
    mapping: dict[str, list[Any]] = {name: [] for name in names if name in XPERT_COLUMNS}
    for number, row in enumerate(rows, start=first):
        where = f"row {number}"
        if len(row) < len(NEUROSIM_COLUMNS) or len(row) > len(names):
            raise ConfigError(str(path), where, f"has {len(row)} columns, expected {len(NEUROSIM_COLUMNS)} "
                              f"({', '.join(NEUROSIM_COLUMNS)}) or {len(CSV_COLUMNS)} with XPert's "
                              f"({', '.join(XPERT_COLUMNS)})")
        values = dict(zip(names, (cell.strip() for cell in row)))
        if len(row) < len(names) and any(name in XPERT_COLUMNS for name in names[len(row):]):
            raise ConfigError(str(path), where, f"missing column(s) {', '.join(names[len(row):])}")
        dims = {name: _integer(values[name], path, where, name, low=0 if name == "pooling" else 1)
                for name in NEUROSIM_COLUMNS}
        if dims["kernel_h"] != dims["kernel_w"]:
            raise ConfigError(str(path), where, f"kernel {dims['kernel_h']}x{dims['kernel_w']} is not square "
                              "(crossbar rows are Cin * k^2)")
        if dims["kernel_h"] // 2 >= min(dims["h"], dims["w"]):  # same padding: its outer taps never see data
            raise ConfigError(str(path), where, f"kernel {dims['kernel_h']} is larger than the "
                              f"{dims['h']}x{dims['w']} input (same padding: half the kernel >= the input): "
                              "the layer cannot map")
        h_out, w_out = -(-dims["h"] // dims["stride"]), -(-dims["w"] // dims["stride"])
        kind = "linear" if dims["h"] == dims["w"] == dims["kernel_h"] == 1 else "conv"
        layers.append(LayerShape(slot=len(layers), name=f"{kind}{len(layers) + 1}", kind=kind, cin=dims["cin"],
                                 cout=dims["cout"], kernel=dims["kernel_h"], h_out=h_out, w_out=w_out,
                                 input_bits=None, per_timestep=True))
        inputs.append(dims["h"] * dims["w"])
        for name in mapping:
            value = values[name]
            mapping[name].append(value if name == "adc_type" else _integer(value, path, where, name, low=1))
    return network_shapes(layers, inputs), {name: tuple(values) for name, values in mapping.items()}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _integer(text: str, path: Path, where: str, name: str, low: int) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(str(path), f"{where}.{name}", f"must be an integer (got {text!r})") from None
    if not value.is_integer() or value < low:
        raise ConfigError(str(path), f"{where}.{name}", f"must be an integer >= {low} (got {text!r})")
    return int(value)


def read_design(path: str | Path, timesteps: int | None = None) -> Design:
    """A genome file (``.yaml`` / ``.json``) or a network CSV (``.csv``) as a :class:`Design`."""
    from cosearch.workflows.export import read_genome

    path = Path(path)
    if path.suffix.lower() == ".csv":
        shapes, mapping = read_network_csv(path)
        candidate = Candidate(network={"arch": "csv", "file": str(path)}, timesteps=timesteps or 1, hardware=mapping)
        return Design(candidate, shapes, str(path))
    candidate, _ = read_genome(path)
    if timesteps is not None:
        candidate = Candidate(network=candidate.network, timesteps=timesteps, hardware=candidate.hardware,
                              params=candidate.params, seed=candidate.seed)
    return Design(candidate, None, str(path))


def parse_settings(settings: Sequence[str]) -> dict[str, Any]:
    """``section.key=value`` strings (values read as YAML scalars) -> nested card overrides.

    Raises:
        ConfigError: a setting without ``=`` or without a dotted key (``--set``).
    """
    overrides: dict[str, Any] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        parts = [part for part in key.strip().split(".") if part]
        if not sep or len(parts) < 2:
            raise ConfigError("--set", setting, "expected section.key=value (e.g. pe.rows_per_read=32)")
        node = overrides
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError("--set", setting, f"{part} is set both as a value and as a section")
        node[parts[-1]] = yaml.safe_load(value)
    return overrides


def load_design_hardware(project_dir: str | Path | None, cards: Sequence[str] | None = None, preset: str | None = None,
                         node_nm: int | None = None, settings: Sequence[str] = ()) -> HardwareModel:
    """The cards (default ones, plus ``hw_models/presets/<preset>.yaml``) with ``--set`` overrides.

    ``project_dir`` holds ``hw_models/`` (card paths are relative to it); None: the current folder
    when it has ``hw_models/``, else the package's own.
    """
    from cosearch.hw.cards import DEFAULT_CARDS
    from cosearch.hw.model import PACKAGE_ROOT

    if project_dir is None:
        project_dir = Path.cwd() if (Path.cwd() / "hw_models").is_dir() else PACKAGE_ROOT
    card_list = list(cards) if cards else list(DEFAULT_CARDS)
    if preset:
        preset_file = Path(project_dir) / PRESET_DIR / f"{preset}.yaml"
        if not preset_file.is_file():
            known = sorted(p.stem for p in (Path(project_dir) / PRESET_DIR).glob("*.yaml"))
            raise ConfigError("--preset", preset, f"no such preset (shipped: {', '.join(known)})")
        card_list.append(f"{PRESET_DIR}/{preset}.yaml")
    return load_hardware(project_dir, cards=card_list, node_nm=node_nm, overrides=parse_settings(settings) or None,
                         override_label="--set")


def price_design(design: Design, model: HardwareModel, activity: float | None = None) -> dict[str, Any]:
    """``{"metrics": hw_* scalars, "breakdown": per-layer and per-component costs}`` of one design.

    Raises:
        ConfigError: an activity outside [0, 1], or a mapping value the cards cannot price.
    """
    if activity is not None and not 0.0 <= activity <= 1.0:
        raise ConfigError("--activity", "", f"must lie in [0, 1] (got {activity})")
    shapes = [design.shapes] if design.shapes is not None else None
    slots = len(design.shapes.slots) if design.shapes is not None else len(network_layers(design.candidate.network))
    activities = [[activity] * slots] if activity is not None else None
    try:
        layers = map_candidates([design.candidate], model, activities, shapes=shapes)
    except ConfigError as exc:
        raise ConfigError(design.source, exc.path, exc.detail) from None
    cost = price(layers, model)
    metrics = {name: float(values[0]) for name, values in cost.metrics().items()}
    return {"metrics": metrics, "breakdown": breakdowns(cost, layers)[0]}


def cost_table(result: Mapping[str, Any]) -> str:
    """The per-layer table, the per-component totals and the metrics as plain text."""
    breakdown, metrics = result["breakdown"], result["metrics"]
    lines = [f"{'layer':<12} {'crossbars':>9} {'PEs':>5} {'tiles':>7} {'copies':>6} {'energy pJ':>12} "
             f"{'stage ns':>12} {'latency ns':>12} {'area mm2':>9}"]
    for layer in breakdown_rows(breakdown):
        lines.append(f"{layer['name']:<12} {layer['crossbars']:>9} {layer['pes']:>5} {layer['tiles']:>7.3g} "
                     f"{layer['duplication']:>6} {layer['energy_pj']:>12.4g} {layer['stage_ns']:>12.4g} "
                     f"{layer['latency_ns']:>12.4g} {layer['area_mm2']:>9.4g}")
    lines += ["", f"{'component':<14} {'energy pJ':>12} {'area mm2':>9}"]
    energy, area = breakdown["energy_by_component_pj"], breakdown["area_by_component_mm2"]
    for name in dict.fromkeys([*energy, *area]):
        lines.append(f"{name:<14} {energy.get(name, 0.0):>12.4g} {area.get(name, 0.0):>9.4g}")
    lines += ["", f"tiles on chip: {breakdown['tiles']}"]
    lines += [f"{name:<18} {value:.5g}" for name, value in metrics.items()]
    return "\n".join(lines)


def network_csv(candidate: Candidate, fmt: str, defaults: Mapping[str, Any]) -> str:
    """A candidate's crossbar layers as a NeuroSim (``neurosim``) or XPert (``xpert``) network CSV.

    Layers are written in slot order with stride 1 and same padding (input H x W = output H x W);
    ``pooling`` is 1 when the next layer's map is smaller. ``defaults`` fill the XPert columns a
    candidate leaves out (the cards' per-layer defaults).
    """
    if fmt not in CSV_FORMATS:
        raise ConfigError("--format", fmt, f"unknown network CSV format (allowed: {', '.join(CSV_FORMATS)})")
    layers = network_layers(candidate.network)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for index, layer in enumerate(layers):
        following = layers[index + 1] if index + 1 < len(layers) else None
        pooled = following is not None and following.kind == "conv" and following.h_out < layer.h_out
        row: list[Any] = [layer.h_out, layer.w_out, layer.cin, layer.kernel, layer.kernel, layer.cout, int(pooled), 1]
        if fmt == "xpert":
            hardware = {**defaults, **candidate.layer_hardware(layer.slot)}
            row += [hardware[name] for name in XPERT_COLUMNS]
        writer.writerow(row)
    return out.getvalue()
