"""Vectorised crossbar cost: energy (pJ), latency (ns), area (mm^2) per layer and component.

All terms are numpy expressions over ``[n_candidates, n_layers]`` arrays from
:func:`cosearch.hw.mapping.map_candidates`; no Python loop over layers or candidates. The
equations, their sources and a worked example are in ``docs/hw_model.md``; symbols:

* ``M`` output positions, ``b`` input bit-planes, ``R = Cin k^2``, ``C = Cout * S`` columns,
  ``P``/``Q`` row/column tiles, ``G = ceil(P / xbars_per_pe)``, ``s`` columns per ADC;
* one *pass* = one input bit-plane of one output position through all crossbars of the layer;
* converting row groups ``g = G`` if the PE sums crossbar currents in analog (SpikeSim), else ``P``
  (every crossbar has its own ADCs, NeuroSim); conversions per pass ``g * C``; ADCs
  ``g * Q * ceil(X / s)``;
* ``n_r = ceil((R/P) / rows_per_read)`` row reads per crossbar (NeuroSim's partial-parallel read);
* activity ``a`` (fraction of rows driven per bit-plane) scales word-line pulses and column current;
  a read whose rows are all idle is skipped, so conversions scale with ``1 - (1 - a)^(R/(P n_r))``.

SNN semantics: layers with ``per_timestep`` run T times, the others once; LIF neurons update at
every timestep. Latency: a PE cycle ``n_r * s * t_adc + t_shift_add`` [ns]; a layer's stage time is
its runs x ``ceil(M / D)`` x bit-planes (x Cout when ``pipeline.serial_unit`` is ``neuron``, SpikeSim)
PE cycles with ``D`` copies of its weights (``chip.max_duplication``, or spare tiles of a
``chip.tiles`` budget given to the slowest layers); layers overlap by ``pipeline.mode``
(``sequential``, ``overlap`` at ``start_fraction``, ``synchronous``), which gives the inference
latency and the period (the slowest stage, or the latency when inferences do not overlap). Ops
count 2 * M * R * Cout per layer run (XPert's count), times the runs; TOPS use the period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cosearch.hw.device import Device
from cosearch.hw.levels import Chip, Pipeline
from cosearch.hw.mapping import LayerArrays
from cosearch.hw.model import HardwareModel

ENERGY_COMPONENTS: tuple[str, ...] = (
    "array", "adc", "mux", "dac", "shift_add", "temp_buffer", "tile_buffer", "global_buffer", "interconnect", "lif",
)
AREA_COMPONENTS: tuple[str, ...] = (
    "array", "adc", "mux", "dac", "shift_add", "layout", "temp_buffer", "tile_buffer", "interconnect", "lif", "input_buffer",
)
#: Components whose area is copied with a layer's weights (the others hold neurons or inputs).
_COPIED = ("array", "adc", "mux", "dac", "shift_add", "layout", "temp_buffer")


@dataclass
class CostArrays:
    """Costs of a batch: per-layer arrays ``[n, L]`` and per-candidate totals ``[n]``.

    ``stage_ns`` is a layer's time for one inference (all its runs, with its weight copies);
    ``latency_ns`` is its share of the inference latency (its finish time minus its producer's:
    the shares add up to ``inference_latency_ns``); ``period_ns`` is the time between two
    inferences in the pipeline (the slowest stage, or the latency when inferences do not overlap).
    """

    energy_pj: dict[str, np.ndarray]  # component -> [n, L], all runs included
    area_um2: dict[str, np.ndarray]  # component -> [n, L]
    latency_ns: np.ndarray  # [n, L] share of the inference latency
    stage_ns: np.ndarray  # [n, L] stage time per inference
    inference_latency_ns: np.ndarray  # [n]
    period_ns: np.ndarray  # [n]
    ops: np.ndarray  # [n, L], all runs included
    crossbars: np.ndarray  # one copy of the weights
    pes: np.ndarray  # one copy of the weights
    tiles: np.ndarray  # all copies; fractional when tiles are shared between layers
    duplication: np.ndarray  # copies of the layer's weights
    chip_tiles: np.ndarray  # [n]
    pe_cycles: np.ndarray  # passes x PEs, all runs included
    global_buffer_area_um2: float

    @cached_property
    def layer_energy_pj(self) -> np.ndarray:
        return sum(self.energy_pj.values(), np.zeros(self.latency_ns.shape))

    @cached_property
    def layer_area_um2(self) -> np.ndarray:
        return sum(self.area_um2.values(), np.zeros(self.latency_ns.shape))

    @property
    def total_energy_pj(self) -> np.ndarray:
        return self.layer_energy_pj.sum(axis=1)

    @property
    def total_latency_ns(self) -> np.ndarray:
        return self.inference_latency_ns

    @property
    def total_area_mm2(self) -> np.ndarray:
        return (self.layer_area_um2.sum(axis=1) + self.global_buffer_area_um2) * 1e-6

    def metrics(self) -> dict[str, np.ndarray]:
        """``hw_*`` scalars per candidate: energy, latency, throughput, area, EDAP, TOPS/W, TOPS/mm^2.

        TOPS and TOPS/mm^2 use the pipelined throughput (ops per ``period_ns``), as SpikeSim and
        NeuroSim report them; EDAP uses the per-inference latency.
        """
        energy, latency, area = self.total_energy_pj, self.total_latency_ns, self.total_area_mm2
        ops = self.ops.sum(axis=1)
        return {
            "hw_energy_pj": energy,
            "hw_latency_ns": latency,
            "hw_throughput_ips": 1e9 / self.period_ns,  # inferences per second
            "hw_area_mm2": area,
            "hw_edap": energy * latency * area,  # pJ * ns * mm^2
            "hw_tops_w": ops / energy,  # op/pJ = TOPS/W
            "hw_tops_mm2": ops / self.period_ns * 1e-3 / area,  # op/ns = 1e-3 TOPS
        }


def price(layers: LayerArrays, model: HardwareModel) -> CostArrays:
    """Energy, latency and area of every layer of every candidate (see module docstring)."""
    devices = [model.devices[name] for name in model.device_names]
    bits_per_cell = np.array([d.bits_per_cell for d in devices], dtype=float)[layers.device]
    cell_area_f2 = np.array([d.cell_area_f2 for d in devices])[layers.device]
    v_read = np.array([d.read_voltage_v for d in devices])[layers.device]
    g_mean = np.array([d.g_mean_s for d in devices])[layers.device]
    fixed_read = _optional_per_layer(devices, "array_read_energy_pj", layers.device)
    column_ns = _optional_per_layer(devices, "column_time_ns", layers.device)
    footprint = _optional_per_layer(devices, "subarray_footprint_um2", layers.device)
    f_um = model.chip.node.feature_um
    pe, tile, chip, peripherals = model.pe, model.tile, model.chip, model.peripherals
    valid = layers.valid

    x = layers.xbar_size
    s = layers.column_sharing
    rows = layers.cin * layers.kernel**2
    columns = layers.cout * np.ceil(layers.weight_bits / bits_per_cell)
    p = np.ceil(rows / x)
    q = np.ceil(columns / x)
    crossbars = p * q * valid
    g = np.ceil(p / pe.xbars_per_pe)
    pes = g * q * valid
    groups = g if pe.analog_psum else p
    rows_xb = rows / p
    read_groups = np.ceil(rows_xb / pe.rows_per_read) if pe.rows_per_read else np.ones_like(rows_xb)
    rows_read = rows_xb / read_groups  # rows driven together in one read
    conversions = groups * columns * read_groups  # per pass
    adcs = groups * q * np.ceil(x / s) * valid
    rows_at_adc = rows_read * (p / g if pe.analog_psum else 1.0)
    a = layers.activity
    busy = 1.0 - (1.0 - a) ** rows_read  # probability a read has an active row

    b = layers.input_bits
    passes = layers.positions * b  # per run
    runs = np.where(layers.per_timestep, layers.timesteps[:, None], 1.0)
    t_conv = model.adc.latency_ns[layers.adc_type, layers.adc_bits]
    accumulator_bits = layers.adc_bits + layers.weight_bits + b

    def fixed_or(fixed: float, computed: np.ndarray | float) -> np.ndarray | float:
        return computed if np.isnan(fixed) else fixed

    # ----------------------------------------------------------- energy per run
    conducting_ns = np.where(np.isnan(column_ns), t_conv, column_ns)  # the column current flows this long
    column_pj = a * rows_at_adc * v_read**2 * g_mean * conducting_ns * 1e3  # V^2 * S * ns -> pJ
    array = np.where(np.isnan(fixed_read), passes * conversions * column_pj,
                     passes * p * q * s * read_groups * busy * np.nan_to_num(fixed_read))
    converted = passes * conversions * busy
    row_pj = model.crossbar.row_wire_cap_ff_per_um * x * np.sqrt(cell_area_f2) * f_um * v_read**2 * 1e-3  # fF*V^2 -> pJ
    accesses = passes * pes
    bits_in = passes * q * rows

    # ------------------------------------------------ latency, copies and area
    cycle_ns = read_groups * s * t_conv + peripherals.shift_add.latency_ns  # one PE cycle
    per_position = b * (layers.cout if chip.pipeline.serial_unit == "neuron" else 1.0)  # PE cycles
    positions = np.maximum(layers.positions, 1.0)
    one_copy_tiles = pes / tile.pes_per_tile if tile.shared else np.ceil(pes / tile.pes_per_tile)
    copies = _duplication(positions * per_position * cycle_ns * runs * valid, one_copy_tiles, positions, chip, layers)
    stage = np.ceil(positions / copies) * per_position * cycle_ns * runs * valid
    if tile.shared:
        chip_tiles = np.ceil((copies * one_copy_tiles).sum(axis=1) - 1e-9)
        used = (copies * one_copy_tiles).sum(axis=1, keepdims=True)
        tiles = copies * one_copy_tiles * np.divide(chip_tiles[:, None], used, out=np.zeros_like(used), where=used > 0)
    else:
        tiles = copies * one_copy_tiles
        chip_tiles = tiles.sum(axis=1)
    area = _component_areas(layers, model, crossbars, adcs, pes, tiles, cell_area_f2, s, accumulator_bits, footprint)
    for name in _COPIED:
        area[name] = area[name] * copies
    copy_area = sum(area[name] for name in (*_COPIED, "tile_buffer", "interconnect"))
    tile_area = copy_area / np.maximum(tiles, 1e-12)  # one tile of the layer: H-tree length sqrt(area)
    interconnect = tile.interconnect
    wire_bit_pj = fixed_or(interconnect.energy_per_bit_pj,
                           interconnect.wire_energy_per_bit_mm_pj * np.sqrt(tile_area) * 1e-3)
    energy = {
        "array": array,
        "adc": converted * model.adc.energy_pj[layers.adc_type, layers.adc_bits],
        "mux": converted * peripherals.mux.energy_pj,
        "dac": passes * q * rows * a * fixed_or(peripherals.dac.energy_pj, row_pj),
        "shift_add": converted * fixed_or(peripherals.shift_add.energy_pj,
                                          peripherals.shift_add.energy_per_bit_pj * accumulator_bits),
        "temp_buffer": passes * adcs * read_groups * busy * peripherals.temp_buffer.energy_pj,
        "tile_buffer": accesses * tile.buffer.energy_per_access_pj + bits_in * tile.buffer.energy_per_bit_pj,
        "global_buffer": accesses * chip.global_buffer.energy_per_access_pj
        + layers.positions * (layers.cin * b + layers.cout) * chip.global_buffer.energy_per_bit_pj,
        "interconnect": accesses * interconnect.energy_per_access_pj + bits_in * wire_bit_pj,
    }
    energy = {name: value * runs * valid for name, value in energy.items()}
    energy["lif"] = layers.positions * layers.cout * peripherals.lif.energy_pj * layers.timesteps[:, None] * valid

    share, latency, period = _pipeline(stage, valid, chip.pipeline)
    ops = 2.0 * layers.positions * rows * layers.cout * runs * valid
    return CostArrays(
        energy_pj=energy,
        area_um2=area,
        latency_ns=share,
        stage_ns=stage,
        inference_latency_ns=latency,
        period_ns=period,
        ops=ops,
        crossbars=crossbars,
        pes=pes,
        tiles=tiles,
        duplication=copies * valid,
        chip_tiles=chip_tiles,
        pe_cycles=accesses * runs * valid,
        global_buffer_area_um2=chip.global_buffer.area_um2,
    )


def _optional_per_layer(devices: Sequence[Device], name: str, index: np.ndarray) -> np.ndarray:
    """An optional device value (``None`` -> NaN) at every layer of every candidate."""
    values = [getattr(d, name) for d in devices]
    return np.array([np.nan if v is None else v for v in values])[index]


def _duplication(stage_one: np.ndarray, tiles_one: np.ndarray, positions: np.ndarray, chip: Chip,
                 layers: LayerArrays) -> np.ndarray:
    """Copies of each layer's weights ``[n, L]`` (a copy computes a share of the output positions).

    ``chip.duplication: balance_inputs`` is :func:`balanced_copies` (NeuroSim V1.4). Otherwise
    ``chip.max_duplication`` copies every layer (at most one per output position); a tile budget
    ``chip.tiles`` gives its spare tiles to the slowest layers: the smallest stage time tau whose
    copies ``clip(ceil(stage / tau), 1, cap)`` fit the budget, found by bisection (vectorised over
    the batch). A network that does not fit gets one copy.
    """
    if chip.duplication == "balance_inputs":
        return np.minimum(balanced_copies(layers.in_positions, layers.kernel, layers.valid, chip.max_duplication),
                          positions)
    cap = np.minimum(positions, chip.max_duplication) if chip.max_duplication else positions
    if not chip.tiles:
        return cap if chip.max_duplication else np.ones_like(stage_one)

    def copies(tau: np.ndarray) -> np.ndarray:
        return np.clip(np.ceil(stage_one / tau[:, None] - 1e-9), 1.0, cap)

    longest = stage_one.max(axis=1)
    high, low = np.maximum(longest, 1e-12), np.maximum((stage_one / cap).max(axis=1), 1e-12)
    for _ in range(60):  # bisection on log(tau): 60 halvings of the ratio high/low
        mid = np.sqrt(high * low)
        fits = (copies(mid) * tiles_one).sum(axis=1) <= chip.tiles
        high, low = np.where(fits, mid, high), np.where(fits, low, mid)
    fits = (copies(high) * tiles_one).sum(axis=1) <= chip.tiles
    return np.where(fits[:, None], copies(high), 1.0)


def balanced_copies(in_positions: np.ndarray, kernel: np.ndarray, valid: np.ndarray, max_degree: int) -> np.ndarray:
    """NeuroSim V1.4's pipeline speed-up (``Chip.cpp`` ``ChipDesignInitialize``), ``[n, L]`` copies.

    With ``H`` a layer's input-map side (``sqrt(in_positions)``), ``H_max`` the largest and
    ``H_min`` the smallest of the layers with a kernel larger than 1: the degree
    ``S = min(max_degree, floor(H_max / H_min))`` (``max_degree`` 0: no limit), the bound
    ``b = ceil(H_max / S)`` and each layer's copies ``ceil((H / b)^2)`` (at least 1), so every layer
    of the pipeline has about the same output positions per copy. VGG8 on 32x32 images:
    S = 4, b = 8, copies 16, 16, 4, 4, 1, 1 for the six convolutions and 1 for the classifier.
    """
    present = valid > 0
    side = np.sqrt(np.where(present, in_positions, 0.0))
    largest = side.max(axis=1)
    spatial = present & (kernel > 1)
    smallest = np.where(spatial.any(axis=1), np.where(spatial, side, np.inf).min(axis=1), largest)
    degree = np.floor(largest / np.maximum(smallest, 1e-12) + 1e-9)
    if max_degree:
        degree = np.minimum(degree, max_degree)
    bound = np.ceil(largest / np.maximum(degree, 1.0) - 1e-9)
    copies = np.ceil((side / np.maximum(bound, 1.0)[:, None]) ** 2 - 1e-9)
    return np.where(present, np.maximum(copies, 1.0), 1.0)


def _pipeline(stage: np.ndarray, valid: np.ndarray, pipeline: Pipeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each layer's share of the inference latency ``[n, L]``, the latency and the period ``[n]``."""
    if pipeline.mode == "sequential":
        finish = np.cumsum(stage, axis=1)
        latency = finish[:, -1]
        period = latency
    elif pipeline.mode == "overlap":
        start = pipeline.start_fraction * (np.cumsum(stage, axis=1) - stage)
        finish = np.maximum.accumulate(start + stage, axis=1)  # no layer ends before its producer
        latency, period = finish[:, -1], stage.max(axis=1)
    else:  # synchronous: every layer is one stage of the slowest stage's period
        period = stage.max(axis=1)
        finish = np.cumsum(valid * period[:, None], axis=1)
        latency = finish[:, -1]
    share = np.diff(finish, axis=1, prepend=0.0)
    return share, latency, period


def _component_areas(
    layers: LayerArrays, model: HardwareModel, crossbars: np.ndarray, adcs: np.ndarray, pes: np.ndarray,
    tiles: np.ndarray, cell_area_f2: np.ndarray, s: np.ndarray, accumulator_bits: np.ndarray, footprint: np.ndarray,
) -> dict[str, np.ndarray]:
    """Area [um^2] of each component of each layer, for one copy of its weights (tiles: all copies).

    ``layout``: where the device gives a crossbar's laid-out footprint (``subarray_footprint_um2``), the
    part of ``crossbars * footprint`` that the crossbar-level blocks (array, ADC, MUX, DAC,
    shift-add) do not fill (never negative); 0 otherwise.
    """
    x = layers.xbar_size
    node, peripherals, tile = model.chip.node, model.peripherals, model.tile
    mux, shift_add = peripherals.mux, peripherals.shift_add
    mux_each = s * mux.area_per_input_um2 if np.isnan(mux.area_um2) else mux.area_um2
    shift_add_each = (accumulator_bits * shift_add.transistors_per_bit * node.min_transistor_um2
                      if np.isnan(shift_add.area_um2) else shift_add.area_um2)
    blocks = {
        "array": crossbars * x * x * cell_area_f2 * node.feature_um**2,
        "adc": adcs * model.adc.area_um2[layers.adc_type, layers.adc_bits],
        "mux": adcs * mux_each,
        "dac": crossbars * x * peripherals.dac.transistors_per_row * node.min_transistor_um2,
        "shift_add": adcs * shift_add_each,
    }
    laid_out = crossbars * np.nan_to_num(footprint)
    return {
        **blocks,
        "layout": np.where(np.isnan(footprint), 0.0, np.maximum(laid_out - sum(blocks.values()), 0.0)),
        "temp_buffer": pes * peripherals.temp_buffer.area_um2,
        "tile_buffer": tiles * tile.buffer.area_um2,
        "interconnect": tiles * tile.interconnect.area_um2,
        "lif": layers.positions * layers.cout * peripherals.lif.area_per_neuron_um2 * layers.valid,
        "input_buffer": layers.in_positions * layers.cin * model.chip.input_buffer.area_per_entry_um2 * layers.valid,
    }


#: Per-layer columns of a breakdown besides ``name``, ``slot`` and the two by-component maps.
LAYER_COLUMNS: tuple[str, ...] = ("energy_pj", "latency_ns", "stage_ns", "area_mm2", "tiles", "crossbars", "pes",
                                  "duplication")


def breakdowns(cost: CostArrays, layers: LayerArrays) -> list[dict[str, Any]]:
    """JSON-ready breakdown of every candidate of the batch.

    Each holds the inference ``latency_ns``, pipeline ``period_ns``, chip ``tiles``, totals by
    component (``energy_by_component_pj`` [pJ], ``area_by_component_mm2`` [mm^2], the latter with
    the ``global_buffer``) and ``layers``: columns with one entry per layer (``name``, ``slot``,
    :data:`LAYER_COLUMNS`, and ``energy_by_component_pj`` / ``area_by_component_mm2`` mapping each
    component to its per-layer list). Columns, not one dict per layer: a batch of 1,000 VGG16
    candidates builds 1,000 small dicts instead of 14,000 (see :func:`breakdown_rows`).
    """
    per_layer = {
        "energy_pj": cost.layer_energy_pj, "latency_ns": cost.latency_ns, "stage_ns": cost.stage_ns,
        "area_mm2": cost.layer_area_um2 * 1e-6, "tiles": np.round(cost.tiles, 6),
        "crossbars": cost.crossbars.astype(int), "pes": cost.pes.astype(int), "duplication": cost.duplication.astype(int),
    }
    columns = {name: per_layer[name].tolist() for name in LAYER_COLUMNS}  # [n][L] each
    energy = {k: v.tolist() for k, v in cost.energy_pj.items()}
    area = {k: (v * 1e-6).tolist() for k, v in cost.area_um2.items()}
    energy_totals = {k: v.sum(axis=1).tolist() for k, v in cost.energy_pj.items()}
    area_totals = {k: (v.sum(axis=1) * 1e-6).tolist() for k, v in cost.area_um2.items()}
    latency, period, tiles = cost.inference_latency_ns.tolist(), cost.period_ns.tolist(), cost.chip_tiles.tolist()
    global_buffer_mm2 = float(cost.global_buffer_area_um2) * 1e-6
    out = []
    for index, (names, slots) in enumerate(zip(layers.names, layers.slots)):
        count = len(names)
        chip_area = {k: v[index] for k, v in area_totals.items()}
        chip_area["global_buffer"] = global_buffer_mm2
        table: dict[str, Any] = {"name": list(names), "slot": list(slots)}
        table.update({name: column[index][:count] for name, column in columns.items()})
        table["energy_by_component_pj"] = {k: v[index][:count] for k, v in energy.items()}
        table["area_by_component_mm2"] = {k: v[index][:count] for k, v in area.items()}
        out.append({
            "latency_ns": latency[index], "period_ns": period[index], "tiles": int(tiles[index]),
            "energy_by_component_pj": {k: v[index] for k, v in energy_totals.items()},
            "area_by_component_mm2": chip_area,
            "layers": table,
        })
    return out


def breakdown_rows(breakdown: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``layers`` columns of one :func:`breakdowns` entry as one dict per layer (the by-component
    maps become per-layer dicts), for tables and checks that read layer by layer."""
    table = breakdown["layers"]
    nested = ("energy_by_component_pj", "area_by_component_mm2")
    rows = []
    for index in range(len(table["name"])):
        row = {key: values[index] for key, values in table.items() if key not in nested}
        row.update({key: {c: v[index] for c, v in table.get(key, {}).items()} for key in nested})
        rows.append(row)
    return rows
