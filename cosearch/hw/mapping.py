"""Layer -> crossbar mapping as arrays ``[n_candidates, n_layers]`` (one numpy pass prices them all).

Each candidate's crossbar layers come from :func:`cosearch.workload.network_layers`; each layer's
mapping (device, ADC type and bits, column sharing, input/weight bits, crossbar size) from
``candidate.layer_hardware(slot)`` with missing keys taken from the hardware defaults. Layers
are padded to the longest network; ``valid`` marks real layers.

Crossbar counts (per layer, X = crossbar size, b_cell = device bits per cell):

* rows ``R = Cin * k^2``; weight slices ``S = ceil(weight_bits / b_cell)``; columns ``C = Cout * S``;
* row tiles ``P = ceil(R / X)``, column tiles ``Q = ceil(C / X)``, crossbars ``P * Q``;
* PEs ``Q * ceil(P / xbars_per_pe)`` (a PE holds row tiles of one column tile); tiles, weight
  copies and tile sharing between layers are priced in :mod:`cosearch.hw.cost`.

Input bit-planes per output position: ``LayerShape.input_bits`` when the layer's input has a
native precision (1 for spikes, 3 for 2x2-pooled spikes), else the mapping's ``input_bits``
(analog inputs through a bit-serial 1-bit DAC, as NeuroSim).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from cosearch.core.candidate import MAPPING_KEYS, Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw.model import HardwareModel
from cosearch.workload import LayerShape, network_layers

#: Columns of a network's layer rows (:class:`NetworkShapes`); ``native_input_bits`` 0 = not native;
#: ``in_positions`` = H_in * W_in of the layer's input map.
SHAPE_COLUMNS: tuple[str, ...] = ("cin", "cout", "kernel", "positions", "native_input_bits", "in_positions")


@dataclass(frozen=True)
class LayerArrays:
    """Shapes and mappings of a batch of candidates; every array is ``[n, L]`` unless noted."""

    valid: np.ndarray  # bool
    cin: np.ndarray
    cout: np.ndarray
    kernel: np.ndarray
    positions: np.ndarray  # H_out * W_out
    in_positions: np.ndarray  # H_in * W_in
    input_bits: np.ndarray  # bit-planes per output position
    per_timestep: np.ndarray  # bool
    device: np.ndarray  # index into model.device_names
    adc_type: np.ndarray  # index into model.adc.names
    adc_bits: np.ndarray
    column_sharing: np.ndarray
    weight_bits: np.ndarray
    xbar_size: np.ndarray
    activity: np.ndarray  # input activity (fraction of active rows per bit-plane)
    timesteps: np.ndarray  # [n]
    names: list[list[str]]  # layer names per candidate
    slots: list[list[int]]

    @property
    def shape(self) -> tuple[int, int]:
        return self.valid.shape


def _hashable(network: Mapping[str, Any]) -> tuple | None:
    try:
        key = tuple(sorted(network.items()))
        hash(key)
        return key
    except TypeError:
        return None


@dataclass(frozen=True)
class NetworkShapes:
    """One network's layers as rows with the columns :data:`SHAPE_COLUMNS`."""

    rows: np.ndarray
    per_timestep: list[bool]
    names: list[str]
    slots: list[int]


def network_shapes(layers: Sequence[LayerShape], in_positions: Sequence[float] | None = None) -> NetworkShapes:
    """Rows of a network's layers; ``in_positions`` (H_in * W_in per layer) defaults to the output
    positions (stride 1, same padding: the genome families)."""
    inputs = [layer.h_out * layer.w_out for layer in layers] if in_positions is None else list(in_positions)
    rows = np.array([[layer.cin, layer.cout, layer.kernel, layer.h_out * layer.w_out, layer.input_bits or 0, size]
                     for layer, size in zip(layers, inputs)], dtype=float)
    return NetworkShapes(rows.reshape(len(layers), len(SHAPE_COLUMNS)), [layer.per_timestep for layer in layers],
                         [layer.name for layer in layers], [layer.slot for layer in layers])


@lru_cache(maxsize=65536)
def _cached_shapes(key: tuple) -> NetworkShapes:
    return network_shapes(network_layers(dict(key)))


def candidate_shapes(candidate: Candidate) -> NetworkShapes:
    """The candidate's crossbar layers as arrays (cached per genome)."""
    key = _hashable(candidate.network)
    return _cached_shapes(key) if key is not None else network_shapes(network_layers(candidate.network))


def map_candidates(
    candidates: Sequence[Candidate],
    model: HardwareModel,
    activities: Sequence[Sequence[float | None] | None] | None = None,
    shapes: Sequence[NetworkShapes] | None = None,
) -> LayerArrays:
    """Arrays of layer shapes and mappings for a batch of candidates.

    Args:
        candidates: the batch.
        model: resolved hardware (defaults and device names).
        activities: per candidate, a list with one input activity (0..1) or None per layer slot
            (e.g. ``upstream["proxy_input_activity"]``); None uses ``model.default_activity``.
        shapes: per candidate, its layers (:func:`network_shapes`, e.g. from a network CSV)
            instead of those of its genome.

    Raises:
        ConfigError: a mapping value the cards cannot price (unknown device, bits out of range ...).
    """
    lookups = {key: {name: i for i, name in enumerate(names)} for key, names in model.mapping_names.items()}
    per_layer = list(shapes) if shapes is not None else [candidate_shapes(c) for c in candidates]
    n, width = len(candidates), max((len(shapes.slots) for shapes in per_layer), default=0)
    width = max(width, 1)
    shape_rows = np.zeros((len(SHAPE_COLUMNS), n, width))
    per_ts = np.zeros((n, width), dtype=bool)
    valid = np.zeros((n, width), dtype=bool)
    mapped: dict[str, list[list[Any]]] = {key: [] for key in MAPPING_KEYS}  # padded rows, one array each at the end
    activity = np.full((n, width), model.chip.default_activity)
    names: list[list[str]] = []
    slots: list[list[int]] = []
    defaults = model.defaults
    for row, (candidate, network) in enumerate(zip(candidates, per_layer)):
        layer_slots = network.slots
        count = len(layer_slots)
        padding = [0] * (width - count)
        names.append(network.names)
        slots.append(layer_slots)
        valid[row, :count] = True
        shape_rows[:, row, :count] = network.rows.T
        per_ts[row, :count] = network.per_timestep
        hardware = candidate.hardware
        for key, rows in mapped.items():
            value = hardware.get(key, defaults[key])
            values = [value[s] for s in layer_slots] if isinstance(value, (tuple, list)) else [value] * count
            if key in lookups:
                index = lookups[key]
                values = [index[v] if isinstance(v, str) and v in index else _lookup(index, v, key) for v in values]
            rows.append(values + padding)
        measured = activities[row] if activities is not None else None
        if measured is not None:
            for column_index, slot in enumerate(layer_slots):
                value = measured[slot] if slot < len(measured) else None
                if value is not None:
                    activity[row, column_index] = float(value)
    columns = {key: _as_array(rows, n, width, key) for key, rows in mapped.items()}
    _check_ranges(columns, valid, activity)
    shape = dict(zip(SHAPE_COLUMNS, shape_rows))
    input_bits = np.where(shape["native_input_bits"] > 0, shape["native_input_bits"], columns["input_bits"])
    pad = ~valid
    adc_type = columns["adc_type"].astype(np.intp)
    adc_bits = np.where(pad, 1, columns["adc_bits"]).astype(np.intp)
    model.adc.check_priced(adc_type[valid], adc_bits[valid], "candidate.hardware.adc_bits")
    return LayerArrays(
        valid=valid,
        cin=np.where(pad, 1.0, shape["cin"]),
        cout=np.where(pad, 0.0, shape["cout"]),
        kernel=np.where(pad, 1.0, shape["kernel"]),
        positions=np.where(pad, 0.0, shape["positions"]),
        in_positions=np.where(pad, 0.0, shape["in_positions"]),
        input_bits=np.where(pad, 1.0, input_bits),
        per_timestep=per_ts,
        device=columns["device"].astype(np.intp),
        adc_type=adc_type,
        adc_bits=adc_bits,
        column_sharing=np.where(pad, 1.0, columns["column_sharing"]),
        weight_bits=np.where(pad, 1.0, columns["weight_bits"]),
        xbar_size=np.where(pad, 1.0, columns["xbar_size"]),
        activity=activity,
        timesteps=np.array([c.timesteps for c in candidates], dtype=float),
        names=names,
        slots=slots,
    )


def _as_array(rows: list[list[Any]], n: int, width: int, key: str) -> np.ndarray:
    """``[n, width]`` floats of one mapping key; ConfigError naming the key for a value that is no number."""
    try:
        return np.array(rows, dtype=float).reshape(n, width)
    except (TypeError, ValueError):
        bad = next(v for r in rows for v in r if not isinstance(v, (int, float)))
        raise ConfigError("", f"candidate.hardware.{key}", f"must be a number (got {bad!r})") from None


def _lookup(index: Mapping[str, int], value: Any, key: str) -> int:
    try:
        return index[value]
    except (KeyError, TypeError):
        raise ConfigError("", f"candidate.hardware.{key}",
                          f"unknown {key} {value!r} (cards define: {', '.join(index)})") from None


def _check_ranges(columns: Mapping[str, np.ndarray], valid: np.ndarray, activity: np.ndarray) -> None:
    """The range rule of :data:`~cosearch.core.candidate.MAPPING_KEYS` on every real layer, vectorised."""
    for key, spec in MAPPING_KEYS.items():
        if spec.kind is not int:
            continue
        values = columns[key][valid]
        bad = (values < 1) | (values != np.round(values))
        if spec.high is not None:
            bad |= values > spec.high
        if bad.any():
            first = float(values[bad][0])
            raise ConfigError("", f"candidate.hardware.{key}",
                              spec.value_error(int(first) if first.is_integer() else first) or "")
    if (columns["column_sharing"][valid] > columns["xbar_size"][valid]).any():
        raise ConfigError("", "candidate.hardware.column_sharing", "cannot exceed the crossbar size")
    if ((activity < 0) | (activity > 1) | ~np.isfinite(activity)).any():
        raise ConfigError("", "upstream.proxy_input_activity", "activities must lie in [0, 1]")
