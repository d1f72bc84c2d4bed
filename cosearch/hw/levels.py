"""Crossbar, peripheral, PE, tile and chip levels of the hardware model, resolved at one node.

One small frozen dataclass per level and block, as MNSIM 2.0 / NeuroSim organise hardware
(devices are in :mod:`cosearch.hw.device`, ADCs in :mod:`cosearch.hw.adc`); each ``build_*``
reads its card sections through :class:`~cosearch.hw.technology.NodeScaling`. Units: energies
in pJ per event (the event of each block is listed in ``hw_models/peripherals.yaml`` and
docs/hw_model.md section 3), latencies in ns, areas in um^2. ``nan`` marks an optional fixed
value no card sets (the cost model then uses its computed value).
"""

from __future__ import annotations

from dataclasses import dataclass

from cosearch.hw.technology import Node, NodeScaling


@dataclass(frozen=True)
class Crossbar:
    """The crossbar array's word lines: ``row_wire_cap_ff_per_um`` [fF/um] (with the cell pitch it
    sizes the 1-bit DAC pulse energy)."""

    row_wire_cap_ff_per_um: float


@dataclass(frozen=True)
class Mux:
    """Column multiplexer in front of an ADC: energy per conversion; area per multiplexed column
    input, or a fixed area per ADC's MUX (``area_um2``, nan when not fixed)."""

    energy_pj: float
    area_per_input_um2: float
    area_um2: float


@dataclass(frozen=True)
class Dac:
    """Word-line driver (1-bit DAC): transistors per row; fixed energy per row pulse (nan: wire model)."""

    transistors_per_row: float
    energy_pj: float


@dataclass(frozen=True)
class ShiftAdd:
    """Shift-and-add accumulator: energy per accumulator bit per accumulation, or a fixed energy per
    accumulation (nan when not fixed); transistors per accumulator bit; latency per input bit-plane."""

    energy_per_bit_pj: float
    energy_pj: float
    transistors_per_bit: float
    latency_ns: float


@dataclass(frozen=True)
class TempBuffer:
    """PE temporary buffer: energy per ADC-group write per bit-plane; area per PE."""

    energy_pj: float
    area_um2: float


@dataclass(frozen=True)
class Lif:
    """LIF neuron: energy per neuron update; membrane storage area per neuron."""

    energy_pj: float
    area_per_neuron_um2: float


@dataclass(frozen=True)
class Peripherals:
    """Per-crossbar and per-PE peripheral circuits (the ADCs are the model's ``adc`` level)."""

    mux: Mux
    dac: Dac
    shift_add: ShiftAdd
    temp_buffer: TempBuffer
    lif: Lif


@dataclass(frozen=True)
class PE:
    """Processing element: crossbars per PE; whether their currents are summed before the ADC."""

    xbars_per_pe: int
    analog_psum: bool


@dataclass(frozen=True)
class Buffer:
    """An SRAM buffer: energy per bit moved, fixed energy per PE access (0 when not set), area."""

    energy_per_bit_pj: float
    energy_per_access_pj: float
    area_um2: float


@dataclass(frozen=True)
class Interconnect:
    """Tile H-tree: wire energy per bit per mm of tile side; fixed energy per bit (nan: wire model);
    energy per PE access (0 when not set); area per tile."""

    wire_energy_per_bit_mm_pj: float
    energy_per_bit_pj: float
    energy_per_access_pj: float
    area_um2: float


@dataclass(frozen=True)
class Tile:
    """A tile: PEs per tile, its buffer and its interconnect."""

    pes_per_tile: int
    buffer: Buffer
    interconnect: Interconnect


@dataclass(frozen=True)
class Chip:
    """The chip: technology node, global buffer, input activity when none is measured (0..1]."""

    node: Node
    global_buffer: Buffer
    default_activity: float


def build_crossbar(scale: NodeScaling) -> Crossbar:
    return Crossbar(row_wire_cap_ff_per_um=float(scale.block("layout")["wire_cap_ff_per_um"]))


def build_peripherals(scale: NodeScaling) -> Peripherals:
    a_min = scale.node.min_transistor_um2
    return Peripherals(
        mux=Mux(
            energy_pj=scale.fixed_or_energy("mux", "energy_pj", "energy_ref_pj"),
            area_per_input_um2=float(scale.block("mux")["transistors_per_input"]) * a_min,
            area_um2=scale.fixed("mux", "area_um2"),
        ),
        dac=Dac(transistors_per_row=float(scale.block("dac")["transistors_per_row"]),
                energy_pj=scale.fixed("dac", "energy_pj")),
        shift_add=ShiftAdd(
            energy_per_bit_pj=scale.energy("shift_add", "energy_per_bit_ref_pj"),
            energy_pj=scale.fixed("shift_add", "energy_pj"),
            transistors_per_bit=float(scale.block("shift_add")["transistors_per_bit"]),
            latency_ns=float(scale.block("shift_add")["latency_ns"]),
        ),
        temp_buffer=TempBuffer(
            energy_pj=scale.fixed_or_energy("temp_buffer", "energy_pj", "energy_ref_pj"),
            area_um2=scale.fixed_or_area("temp_buffer", "area_um2", "area_ref_um2"),
        ),
        lif=Lif(
            energy_pj=scale.fixed_or_energy("lif", "energy_pj", "energy_ref_pj"),
            area_per_neuron_um2=float(scale.block("lif")["membrane_bits"]) * scale.area("lif", "area_per_bit_ref_um2"),
        ),
    )


def build_pe(scale: NodeScaling) -> PE:
    pe = scale.block("pe")
    return PE(xbars_per_pe=int(pe["xbars_per_pe"]), analog_psum=bool(pe["analog_psum"]))


def build_buffer(scale: NodeScaling, section: str) -> Buffer:
    return Buffer(
        energy_per_bit_pj=scale.energy(section, "energy_per_bit_ref_pj"),
        energy_per_access_pj=float(scale.block(section).get("energy_per_access_pj", 0.0)),
        area_um2=scale.sram_area(section),
    )


def build_tile(scale: NodeScaling) -> Tile:
    layout = scale.block("layout")
    return Tile(
        pes_per_tile=int(scale.block("tile")["pes_per_tile"]),
        buffer=build_buffer(scale, "tile_buffer"),
        interconnect=Interconnect(
            wire_energy_per_bit_mm_pj=float(layout["wire_activity"]) * float(layout["wire_cap_ff_per_um"]) * 1e3
            * scale.node.vdd_v**2 * 1e-3,
            energy_per_bit_pj=scale.fixed("interconnect", "energy_per_bit_pj"),
            energy_per_access_pj=float(scale.block("interconnect").get("energy_per_access_pj", 0.0)),
            area_um2=scale.fixed_or_area("interconnect", "area_um2", "area_ref_um2"),
        ),
    )


def build_chip(scale: NodeScaling) -> Chip:
    return Chip(node=scale.node, global_buffer=build_buffer(scale, "global_buffer"),
                default_activity=float(scale.block("chip")["default_activity"]))
