"""Layer -> crossbar mapping as arrays ``[n_candidates, n_layers]`` (one numpy pass prices them all).

Each candidate's crossbar layers come from :func:`cosearch.workload.network_layers`; each layer's
mapping (device, ADC type and bits, column sharing, input/weight bits, crossbar size) from
``candidate.layer_hardware(slot)`` with missing keys taken from the hardware defaults. Layers
are padded to the longest network; ``valid`` marks real layers.

Crossbar counts (per layer, X = crossbar size, b_cell = device bits per cell):

* rows ``R = Cin * k^2``; weight slices ``S = ceil(weight_bits / b_cell)``; columns ``C = Cout * S``;
* row tiles ``P = ceil(R / X)``, column tiles ``Q = ceil(C / X)``, crossbars ``P * Q``;
* PEs ``Q * ceil(P / xbars_per_pe)`` (a PE holds row tiles of one column tile), tiles
  ``ceil(PEs / pes_per_tile)`` (no PE or tile is shared between layers).

Input bit-planes per output position: ``LayerShape.input_bits`` when the layer's input has a
native precision (1 for spikes, 3 for 2x2-pooled spikes), else the mapping's ``input_bits``
(analog inputs through a bit-serial 1-bit DAC, as NeuroSim).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.hw.model import ADC_TYPES, MAX_ADC_BITS, HardwareModel
from cosearch.workload import LayerShape, network_layers

_INT_KEYS = ("adc_bits", "column_sharing", "input_bits", "weight_bits", "xbar_size")


@dataclass(frozen=True)
class LayerArrays:
    """Shapes and mappings of a batch of candidates; every array is ``[n, L]`` unless noted."""

    valid: np.ndarray  # bool
    cin: np.ndarray
    cout: np.ndarray
    kernel: np.ndarray
    positions: np.ndarray  # H_out * W_out
    input_bits: np.ndarray  # bit-planes per output position
    per_timestep: np.ndarray  # bool
    device: np.ndarray  # index into model.device_names
    adc_type: np.ndarray  # index into ADC_TYPES
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
class _Shapes:
    """One genome's layers as rows ``[cin, cout, kernel, positions, native input bits]``."""

    rows: np.ndarray
    per_timestep: list[bool]
    names: list[str]
    slots: list[int]


def _shapes(layers: Sequence[LayerShape]) -> _Shapes:
    rows = np.array([[l.cin, l.cout, l.kernel, l.h_out * l.w_out, l.input_bits or 0] for l in layers], dtype=float)
    return _Shapes(rows.reshape(len(layers), 5), [l.per_timestep for l in layers],
                   [l.name for l in layers], [l.slot for l in layers])


@lru_cache(maxsize=65536)
def _cached_shapes(key: tuple) -> _Shapes:
    return _shapes(network_layers(dict(key)))


def candidate_shapes(candidate: Candidate) -> _Shapes:
    """The candidate's crossbar layers as arrays (cached per genome)."""
    key = _hashable(candidate.network)
    return _cached_shapes(key) if key is not None else _shapes(network_layers(candidate.network))


def map_candidates(
    candidates: Sequence[Candidate],
    model: HardwareModel,
    activities: Sequence[Sequence[float | None] | None] | None = None,
) -> LayerArrays:
    """Arrays of layer shapes and mappings for a batch of candidates.

    Args:
        candidates: the batch.
        model: resolved hardware (defaults and device names).
        activities: per candidate, a list with one input activity (0..1) or None per layer slot
            (e.g. ``upstream["proxy_input_activity"]``); None uses ``model.default_activity``.

    Raises:
        ConfigError: a mapping value the cards cannot price (unknown device, bits out of range ...).
    """
    device_index = {name: i for i, name in enumerate(model.device_names)}
    adc_index = {name: i for i, name in enumerate(ADC_TYPES)}
    per_layer = [candidate_shapes(c) for c in candidates]
    n, width = len(candidates), max((len(shapes.slots) for shapes in per_layer), default=0)
    width = max(width, 1)
    shape_cols = np.zeros((5, n, width))
    per_ts = np.zeros((n, width), dtype=bool)
    valid = np.zeros((n, width), dtype=bool)
    mapped = np.zeros((7, n, width))
    activity = np.full((n, width), model.default_activity)
    names: list[list[str]] = []
    slots: list[list[int]] = []
    defaults = model.defaults
    lookups = {"device": device_index, "adc_type": adc_index}
    for row, (candidate, shapes) in enumerate(zip(candidates, per_layer)):
        layer_slots = shapes.slots
        count = len(layer_slots)
        names.append(shapes.names)
        slots.append(layer_slots)
        valid[row, :count] = True
        shape_cols[:, row, :count] = shapes.rows.T
        per_ts[row, :count] = shapes.per_timestep
        hardware = candidate.hardware
        for index, key in enumerate(("device", "adc_type", *_INT_KEYS)):
            value = hardware.get(key, defaults[key])
            values = [value[s] for s in layer_slots] if isinstance(value, (tuple, list)) else [value] * count
            if key in lookups:
                values = [_lookup(lookups[key], v, key) for v in values]
            mapped[index, row, :count] = values
        measured = activities[row] if activities is not None else None
        if measured is not None:
            for column, slot in enumerate(layer_slots):
                if slot < len(measured) and measured[slot] is not None:
                    activity[row, column] = float(measured[slot])
    _check_ranges(mapped, valid, activity)
    input_bits = np.where(shape_cols[4] > 0, shape_cols[4], mapped[4])
    pad = ~valid
    return LayerArrays(
        valid=valid,
        cin=np.where(pad, 1.0, shape_cols[0]),
        cout=np.where(pad, 0.0, shape_cols[1]),
        kernel=np.where(pad, 1.0, shape_cols[2]),
        positions=np.where(pad, 0.0, shape_cols[3]),
        input_bits=np.where(pad, 1.0, input_bits),
        per_timestep=per_ts,
        device=mapped[0].astype(np.intp),
        adc_type=mapped[1].astype(np.intp),
        adc_bits=np.where(pad, 1, mapped[2]).astype(np.intp),
        column_sharing=np.where(pad, 1.0, mapped[3]),
        weight_bits=np.where(pad, 1.0, mapped[5]),
        xbar_size=np.where(pad, 1.0, mapped[6]),
        activity=activity,
        timesteps=np.array([c.timesteps for c in candidates], dtype=float),
        names=names,
        slots=slots,
    )


def _lookup(index: Mapping[str, int], value: Any, key: str) -> int:
    try:
        return index[value]
    except (KeyError, TypeError):
        raise ConfigError("", f"candidate.hardware.{key}",
                          f"unknown {key} {value!r} (cards define: {', '.join(index)})") from None


def _check_ranges(mapped: np.ndarray, valid: np.ndarray, activity: np.ndarray) -> None:
    checks = (
        (2, 1, MAX_ADC_BITS, "adc_bits"),
        (3, 1, None, "column_sharing"),
        (4, 1, None, "input_bits"),
        (5, 1, None, "weight_bits"),
        (6, 1, None, "xbar_size"),
    )
    for index, low, high, key in checks:
        values = mapped[index][valid]
        bad = (values < low) | (values != np.round(values))
        if high is not None:
            bad |= values > high
        if bad.any():
            limit = f"1..{high}" if high else ">= 1"
            raise ConfigError("", f"candidate.hardware.{key}",
                              f"must be an integer {limit} (got {values[bad][0]!r})")
    if (mapped[3][valid] > mapped[6][valid]).any():
        raise ConfigError("", "candidate.hardware.column_sharing", "cannot exceed the crossbar size")
    if ((activity < 0) | (activity > 1) | ~np.isfinite(activity)).any():
        raise ConfigError("", "upstream.proxy_input_activity", "activities must lie in [0, 1]")
