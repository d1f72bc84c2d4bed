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
* activity ``a`` (fraction of rows driven per bit-plane) scales word-line pulses and column current;
  a crossbar whose rows are all idle is skipped, so conversions scale with ``1 - (1 - a)^(R/P)``.

SNN semantics: layers with ``per_timestep`` run T times, the others once; LIF neurons update at
every timestep. Execution is layer by layer and timestep by timestep (no inter-layer or
inter-timestep pipelining, as SpikeSim: energy and latency linear in T); within a layer all
crossbars work in parallel and data movement overlaps compute. Ops count 2 * M * R * Cout per
layer run (XPert's count), times the runs (T for per-timestep layers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from cosearch.hw.mapping import LayerArrays
from cosearch.hw.model import HardwareModel

ENERGY_COMPONENTS: tuple[str, ...] = (
    "array", "adc", "mux", "dac", "shift_add", "temp_buffer", "tile_buffer", "global_buffer", "interconnect", "lif",
)
AREA_COMPONENTS: tuple[str, ...] = (
    "array", "adc", "mux", "dac", "shift_add", "temp_buffer", "tile_buffer", "interconnect", "lif",
)


@dataclass
class CostArrays:
    """Costs of a batch: per-layer arrays ``[n, L]`` and per-candidate totals ``[n]``."""

    energy_pj: dict[str, np.ndarray]  # component -> [n, L], all runs included
    area_um2: dict[str, np.ndarray]  # component -> [n, L]
    latency_ns: np.ndarray  # [n, L], all runs included
    ops: np.ndarray  # [n, L], all runs included
    crossbars: np.ndarray
    pes: np.ndarray
    tiles: np.ndarray
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
        return self.latency_ns.sum(axis=1)

    @property
    def total_area_mm2(self) -> np.ndarray:
        return (self.layer_area_um2.sum(axis=1) + self.global_buffer_area_um2) * 1e-6

    def metrics(self) -> dict[str, np.ndarray]:
        """``hw_*`` scalars per candidate: energy, latency, area, EDAP, TOPS/W, TOPS/mm^2."""
        energy, latency, area = self.total_energy_pj, self.total_latency_ns, self.total_area_mm2
        ops = self.ops.sum(axis=1)
        return {
            "hw_energy_pj": energy,
            "hw_latency_ns": latency,
            "hw_area_mm2": area,
            "hw_edap": energy * latency * area,  # pJ * ns * mm^2
            "hw_tops_w": ops / energy,  # op/pJ = TOPS/W
            "hw_tops_mm2": ops / latency * 1e-3 / area,  # op/ns = 1e-3 TOPS
        }


def price(layers: LayerArrays, model: HardwareModel) -> CostArrays:
    """Energy, latency and area of every layer of every candidate (see module docstring)."""
    devices = [model.devices[name] for name in model.device_names]
    bits_per_cell = np.array([d.bits_per_cell for d in devices], dtype=float)[layers.device]
    cell_area_f2 = np.array([d.cell_area_f2 for d in devices])[layers.device]
    v_read = np.array([d.read_voltage_v for d in devices])[layers.device]
    g_mean = np.array([d.g_mean_s for d in devices])[layers.device]
    fixed_read = np.array([np.nan if d.array_read_energy_pj is None else d.array_read_energy_pj
                           for d in devices])[layers.device]
    f_um = model.chip.node.feature_um
    pe, tile, chip, peripherals = model.pe, model.tile, model.chip, model.peripherals

    x = layers.xbar_size
    s = layers.column_sharing
    rows = layers.cin * layers.kernel**2
    columns = layers.cout * np.ceil(layers.weight_bits / bits_per_cell)
    p = np.ceil(rows / x)
    q = np.ceil(columns / x)
    crossbars = p * q * layers.valid
    g = np.ceil(p / pe.xbars_per_pe)
    pes = g * q * layers.valid
    tiles = np.ceil(pes / tile.pes_per_tile)
    groups = g if pe.analog_psum else p
    conversions = groups * columns  # per pass
    adcs = groups * q * np.ceil(x / s) * layers.valid
    rows_xb = rows / p
    rows_at_adc = rows_xb * (p / g if pe.analog_psum else 1.0)
    a = layers.activity
    busy = 1.0 - (1.0 - a) ** rows_xb  # probability a crossbar has an active row

    b = layers.input_bits
    passes = layers.positions * b  # per run
    runs = np.where(layers.per_timestep, layers.timesteps[:, None], 1.0)
    t_conv = model.adc.latency_ns[layers.adc_type, layers.adc_bits]
    accumulator_bits = layers.adc_bits + layers.weight_bits + b

    def fixed_or(fixed: float, computed: np.ndarray | float) -> np.ndarray | float:
        return computed if np.isnan(fixed) else fixed

    # ----------------------------------------------------------- energy per run
    column_pj = a * rows_at_adc * v_read**2 * g_mean * t_conv * 1e3  # V^2 * S * ns -> pJ
    array = np.where(np.isnan(fixed_read), passes * conversions * column_pj,
                     passes * p * q * s * busy * np.nan_to_num(fixed_read))
    converted = passes * conversions * busy
    row_pj = model.crossbar.row_wire_cap_ff_per_um * x * np.sqrt(cell_area_f2) * f_um * v_read**2 * 1e-3  # fF*V^2 -> pJ
    accesses = passes * pes
    bits_in = passes * q * rows
    area = _component_areas(layers, model, crossbars, adcs, pes, tiles, cell_area_f2, s, accumulator_bits)
    tile_area = sum(area.values()) / np.maximum(tiles, 1.0)  # one tile of the layer: H-tree length sqrt(area)
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
        "temp_buffer": passes * adcs * busy * peripherals.temp_buffer.energy_pj,
        "tile_buffer": accesses * tile.buffer.energy_per_access_pj + bits_in * tile.buffer.energy_per_bit_pj,
        "global_buffer": accesses * chip.global_buffer.energy_per_access_pj
        + layers.positions * (layers.cin * b + layers.cout) * chip.global_buffer.energy_per_bit_pj,
        "interconnect": accesses * interconnect.energy_per_access_pj + bits_in * wire_bit_pj,
    }
    energy = {name: value * runs * layers.valid for name, value in energy.items()}
    energy["lif"] = layers.positions * layers.cout * peripherals.lif.energy_pj * layers.timesteps[:, None] * layers.valid

    latency = passes * (s * t_conv + peripherals.shift_add.latency_ns) * runs * layers.valid
    ops = 2.0 * layers.positions * rows * layers.cout * runs * layers.valid
    return CostArrays(
        energy_pj=energy,
        area_um2=area,
        latency_ns=latency,
        ops=ops,
        crossbars=crossbars,
        pes=pes,
        tiles=tiles,
        pe_cycles=accesses * runs * layers.valid,
        global_buffer_area_um2=chip.global_buffer.area_um2,
    )


def _component_areas(
    layers: LayerArrays, model: HardwareModel, crossbars: np.ndarray, adcs: np.ndarray, pes: np.ndarray,
    tiles: np.ndarray, cell_area_f2: np.ndarray, s: np.ndarray, accumulator_bits: np.ndarray,
) -> dict[str, np.ndarray]:
    """Area [um^2] of each component of each layer (weights stay resident: no sharing between layers)."""
    x = layers.xbar_size
    node, peripherals, tile = model.chip.node, model.peripherals, model.tile
    mux = peripherals.mux
    mux_each = s * mux.area_per_input_um2 if np.isnan(mux.area_um2) else mux.area_um2
    return {
        "array": crossbars * x * x * cell_area_f2 * node.feature_um**2,
        "adc": adcs * model.adc.area_um2[layers.adc_type, layers.adc_bits],
        "mux": adcs * mux_each,
        "dac": crossbars * x * peripherals.dac.transistors_per_row * node.min_transistor_um2,
        "shift_add": adcs * accumulator_bits * peripherals.shift_add.transistors_per_bit * node.min_transistor_um2,
        "temp_buffer": pes * peripherals.temp_buffer.area_um2,
        "tile_buffer": tiles * tile.buffer.area_um2,
        "interconnect": tiles * tile.interconnect.area_um2,
        "lif": layers.positions * layers.cout * peripherals.lif.area_per_neuron_um2 * layers.valid,
    }


def breakdowns(cost: CostArrays, layers: LayerArrays) -> list[dict[str, Any]]:
    """JSON-ready per-layer and per-component breakdown of every candidate of the batch."""
    energy = {k: v.tolist() for k, v in cost.energy_pj.items()}
    area = {k: (v * 1e-6).tolist() for k, v in cost.area_um2.items()}
    layer_energy = cost.layer_energy_pj.tolist()
    layer_area = (cost.layer_area_um2 * 1e-6).tolist()
    latency = cost.latency_ns.tolist()
    counts = {k: getattr(cost, k).astype(int).tolist() for k in ("crossbars", "pes", "tiles")}
    energy_totals = {k: v.sum(axis=1).tolist() for k, v in cost.energy_pj.items()}
    area_totals = {k: (v.sum(axis=1) * 1e-6).tolist() for k, v in cost.area_um2.items()}
    out = []
    for index, (names, slots) in enumerate(zip(layers.names, layers.slots)):
        per_layer = [
            {
                "name": name,
                "slot": int(slot),
                "energy_pj": layer_energy[index][column],
                "latency_ns": latency[index][column],
                "area_mm2": layer_area[index][column],
                **{key: values[index][column] for key, values in counts.items()},
                "energy_by_component_pj": {k: v[index][column] for k, v in energy.items()},
                "area_by_component_mm2": {k: v[index][column] for k, v in area.items()},
            }
            for column, (name, slot) in enumerate(zip(names, slots))
        ]
        chip_area = {k: v[index] for k, v in area_totals.items()}
        chip_area["global_buffer"] = cost.global_buffer_area_um2 * 1e-6
        out.append({
            "energy_by_component_pj": {k: v[index] for k, v in energy_totals.items()},
            "area_by_component_mm2": chip_area,
            "layers": per_layer,
        })
    return out
