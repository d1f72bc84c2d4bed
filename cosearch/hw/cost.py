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

Where the physics lives: :mod:`cosearch.hw.array` holds the crossbar side (each layer's device
constants, :class:`~cosearch.hw.array.ArrayGeometry` with the counts above, the array's read
energy and cell area); the level classes of :mod:`cosearch.hw.levels` price their own events
(MUX, DAC, shift-add, temporary buffer, LIF, buffers, H-tree) and hold the copy rule
(``Chip.copies``), tile placement (``Tile.place``) and layer overlap (``Pipeline.timeline``).
:func:`price` composes them: :func:`schedule` (latency, copies, pipeline), ``_areas``, ``_energies``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cosearch.hw.array import ArrayGeometry, LayerDevices, array_geometry
from cosearch.hw.levels import balanced_copies as balanced_copies  # re-exported: NeuroSim's copy rule
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
    devices = LayerDevices.of(model, layers.device)
    geometry = array_geometry(layers, devices.bits_per_cell, model.pe)
    valid = layers.valid
    runs = np.where(layers.per_timestep, layers.timesteps[:, None], 1.0)
    t_conv = model.adc.latency_ns[layers.adc_type, layers.adc_bits]
    accumulator_bits = layers.adc_bits + layers.weight_bits + layers.input_bits
    timing = schedule(layers, model, geometry, t_conv, runs)
    area = _areas(layers, model, devices, geometry, timing.copies, timing.tiles, accumulator_bits)
    energy = _energies(layers, model, devices, geometry, t_conv, accumulator_bits, _tile_area(area, timing.tiles), runs)
    return CostArrays(
        energy_pj=energy,
        area_um2=area,
        latency_ns=timing.share,
        stage_ns=timing.stage,
        inference_latency_ns=timing.latency,
        period_ns=timing.period,
        ops=2.0 * layers.positions * geometry.rows * layers.cout * runs * valid,
        crossbars=geometry.crossbars,
        pes=geometry.pes,
        tiles=timing.tiles,
        duplication=timing.copies * valid,
        chip_tiles=timing.chip_tiles,
        pe_cycles=layers.positions * layers.input_bits * geometry.pes * runs * valid,
        global_buffer_area_um2=model.chip.global_buffer.area_um2,
    )


@dataclass(frozen=True)
class Schedule:
    """Copies, tiles and timing of a batch: ``[n, L]`` per layer, ``[n]`` per candidate.

    ``copies`` of each layer's weights, its ``tiles`` (all copies) and the chip's ``chip_tiles``;
    ``stage`` [ns] a layer's time for one inference, ``share`` [ns] its share of the inference
    ``latency`` [ns], ``period`` [ns] between two inferences (:meth:`Pipeline.timeline`).
    """

    copies: np.ndarray
    tiles: np.ndarray
    chip_tiles: np.ndarray
    stage: np.ndarray
    share: np.ndarray
    latency: np.ndarray
    period: np.ndarray


def schedule(layers: LayerArrays, model: HardwareModel, geometry: ArrayGeometry, t_conv: np.ndarray,
             runs: np.ndarray) -> Schedule:
    """Latency, weight copies and pipeline of a batch (docs/hw_model.md section 5).

    A PE cycle is ``n_r * s * t_conv + t_shift_add`` [ns] (``t_conv`` the ADC conversion time [ns]);
    a layer's stage is its ``runs`` x ``ceil(M / D)`` positions x :meth:`Pipeline.cycles_per_position`
    PE cycles with ``D`` copies of its weights (:meth:`Chip.copies`, placed on tiles by
    :meth:`Tile.place`); the stages overlap by :meth:`Pipeline.timeline`.
    """
    chip, tile, valid = model.chip, model.tile, layers.valid
    cycle_ns = geometry.read_groups * layers.column_sharing * t_conv + model.peripherals.shift_add.latency_ns
    per_position = chip.pipeline.cycles_per_position(layers.input_bits, layers.cout)  # PE cycles
    positions = np.maximum(layers.positions, 1.0)
    one_copy_tiles = tile.tiles_per_copy(geometry.pes)
    copies = chip.copies(positions * per_position * cycle_ns * runs * valid, one_copy_tiles, positions,
                         layers.in_positions, layers.kernel, valid)
    stage = np.ceil(positions / copies) * per_position * cycle_ns * runs * valid
    tiles, chip_tiles = tile.place(copies, one_copy_tiles)
    share, latency, period = chip.pipeline.timeline(stage, valid)
    return Schedule(copies=copies, tiles=tiles, chip_tiles=chip_tiles, stage=stage, share=share, latency=latency,
                    period=period)


def _areas(layers: LayerArrays, model: HardwareModel, devices: LayerDevices, geometry: ArrayGeometry,
           copies: np.ndarray, tiles: np.ndarray, accumulator_bits: np.ndarray) -> dict[str, np.ndarray]:
    """Area [um^2] of each component of each layer; the :data:`_COPIED` ones times the layer's ``copies``.

    Array, ADC, MUX and shift-add (per ADC), DAC (per row), ``layout`` (what those crossbar-level
    blocks leave unfilled of the device's laid-out footprint), temporary buffer (per PE); tile
    buffer and H-tree per tile (``tiles``: all copies); LIF membranes per output neuron and the
    input buffer per input entry.
    """
    x, node, peripherals, tile = layers.xbar_size, model.chip.node, model.peripherals, model.tile
    adcs, crossbars = geometry.adcs, geometry.crossbars
    blocks = {
        "array": devices.array_area_um2(crossbars, x, node.feature_um),
        "adc": adcs * model.adc.area_um2[layers.adc_type, layers.adc_bits],
        "mux": adcs * peripherals.mux.area_per_adc(layers.column_sharing),
        "dac": peripherals.dac.area(crossbars * x, node.min_transistor_um2),
        "shift_add": adcs * peripherals.shift_add.area_per_adc(accumulator_bits, node.min_transistor_um2),
    }
    area = {
        **blocks,
        "layout": devices.layout_area_um2(crossbars, sum(blocks.values())),
        "temp_buffer": geometry.pes * peripherals.temp_buffer.area_um2,
        "tile_buffer": tiles * tile.buffer.area_um2,
        "interconnect": tiles * tile.interconnect.area_um2,
        "lif": peripherals.lif.area(layers.positions * layers.cout) * layers.valid,
        "input_buffer": layers.in_positions * layers.cin * model.chip.input_buffer.area_per_entry_um2 * layers.valid,
    }
    for name in _COPIED:
        area[name] = area[name] * copies
    return area


def _tile_area(area: Mapping[str, np.ndarray], tiles: np.ndarray) -> np.ndarray:
    """Area [um^2] of one tile of each layer (its copied blocks, tile buffers and H-trees over its tiles)."""
    copy_area = sum(area[name] for name in (*_COPIED, "tile_buffer", "interconnect"))
    return copy_area / np.maximum(tiles, 1e-12)


def _energies(layers: LayerArrays, model: HardwareModel, devices: LayerDevices, geometry: ArrayGeometry,
              t_conv: np.ndarray, accumulator_bits: np.ndarray, tile_area: np.ndarray,
              runs: np.ndarray) -> dict[str, np.ndarray]:
    """Energy [pJ] of each component of each layer, all ``runs`` (docs/hw_model.md section 5 table).

    Each term counts a level's events per run (passes ``M b``, conversions of busy reads, row pulses,
    temporary-buffer writes, PE accesses, bits moved) and prices them with the level's energy per
    event; the LIF neurons update at every timestep.
    """
    peripherals, tile, valid = model.peripherals, model.tile, layers.valid
    a, b = layers.activity, layers.input_bits
    passes = layers.positions * b  # per run
    busy = geometry.busy(a)
    converted = passes * geometry.conversions * busy
    accesses = passes * geometry.pes
    bits_in = passes * geometry.q * geometry.rows  # input bits, delivered to every column tile
    row_pj = model.crossbar.row_pulse_pj(layers.xbar_size, devices.cell_area_f2, model.chip.node.feature_um,
                                         devices.read_voltage_v)
    energy = {
        "array": devices.read_energy_pj(passes, geometry, a, busy, layers.column_sharing, t_conv),
        "adc": converted * model.adc.energy_pj[layers.adc_type, layers.adc_bits],
        "mux": peripherals.mux.energy(converted),
        "dac": peripherals.dac.energy(bits_in * a, row_pj),
        "shift_add": peripherals.shift_add.energy(converted, accumulator_bits),
        "temp_buffer": peripherals.temp_buffer.energy(passes * geometry.adcs * geometry.read_groups * busy),
        "tile_buffer": tile.buffer.energy(accesses, bits_in),
        "global_buffer": model.chip.global_buffer.energy(accesses, layers.positions * (layers.cin * b + layers.cout)),
        "interconnect": tile.interconnect.energy(accesses, bits_in, tile_area),
    }
    energy = {name: value * runs * valid for name, value in energy.items()}
    energy["lif"] = peripherals.lif.energy(layers.positions * layers.cout) * layers.timesteps[:, None] * valid
    return energy


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
