"""Network CSVs, one row per layer, as DNN+NeuroSim's ``NetWork_*.csv`` and XPert's per-layer search
variables: read (:func:`read_network_csv`) and written (:func:`network_csv`).

Columns: input H, input W, Cin, kernel H, kernel W, Cout, pooling (0/1, after the layer), stride
(:data:`NEUROSIM_COLUMNS`). Four further columns, as XPert's per-layer search variables, are read
when present: columns per ADC (``column_sharing``), ADC type, input bits, ADC bits
(:data:`XPERT_COLUMNS`; XPert's own file format was not available; this column order is
cosearch's). A CSV may start with a header naming its columns (:data:`CSV_COLUMNS`, any order);
without one the columns are positional.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw.mapping import NetworkShapes, network_shapes
from cosearch.workload import LayerShape, network_layers

#: NeuroSim's eight columns, then XPert's four per-layer mapping columns (optional).
NEUROSIM_COLUMNS: tuple[str, ...] = ("h", "w", "cin", "kernel_h", "kernel_w", "cout", "pooling", "stride")
XPERT_COLUMNS: tuple[str, ...] = ("column_sharing", "adc_type", "input_bits", "adc_bits")
CSV_COLUMNS: tuple[str, ...] = NEUROSIM_COLUMNS + XPERT_COLUMNS
#: ``cosearch export --format`` values that write a network CSV, with their columns.
CSV_FORMATS: dict[str, tuple[str, ...]] = {"neurosim": NEUROSIM_COLUMNS, "xpert": CSV_COLUMNS}
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
