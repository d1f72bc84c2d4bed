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

from cosearch.core.errors import ConfigError
from cosearch.hw.technology import Node, NodeScaling

#: ``pipeline.mode`` values: how layers of one inference and successive inferences overlap.
PIPELINE_MODES: tuple[str, ...] = ("sequential", "overlap", "synchronous")
#: ``pipeline.serial_unit`` values: what one PE cycle of a layer's crossbar set produces.
SERIAL_UNITS: tuple[str, ...] = ("position", "neuron")
#: ``chip.duplication`` values: how many copies of its weights each layer gets (``cosearch.hw.cost``).
DUPLICATION_RULES: tuple[str, ...] = ("uniform", "balance_inputs")


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
    accumulation (nan when not fixed); transistors per accumulator bit, or a fixed area per ADC
    (``area_um2``, nan when not fixed); latency per input bit-plane."""

    energy_per_bit_pj: float
    energy_pj: float
    transistors_per_bit: float
    area_um2: float
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
    """Processing element: crossbars per PE; whether their currents are summed before the ADC;
    rows of a crossbar driven at once (``rows_per_read``, 0 = all rows: NeuroSim's
    ``numRowParallel``; fewer rows mean more, smaller conversions)."""

    xbars_per_pe: int
    analog_psum: bool
    rows_per_read: int


@dataclass(frozen=True)
class Buffer:
    """An SRAM buffer: energy per bit moved, fixed energy per PE access (0 when not set), area
    (``capacity_kb`` of the architecture card; 0 = the architecture has no such buffer)."""

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
    """A tile: PEs per tile, its buffer and its interconnect; ``shared``: PEs of consecutive layers
    are packed into the same tiles (SpikeSim), else every layer has its own tiles (NeuroSim)."""

    pes_per_tile: int
    buffer: Buffer
    interconnect: Interconnect
    shared: bool


@dataclass(frozen=True)
class InputBuffer:
    """Storage of each layer's whole input feature map: area per entry [um^2] (0: none)."""

    area_per_entry_um2: float


@dataclass(frozen=True)
class Pipeline:
    """How a layer's work is serialised and how layers overlap (docs/hw_model.md section 5).

    Attributes:
        mode: ``sequential`` (layer after layer, one inference at a time), ``overlap`` (a layer
            starts when ``start_fraction`` of its producer's work is done; SpikeSim's ELA, 0.75),
            ``synchronous`` (every layer is a stage clocked at the slowest stage; NeuroSim's
            ``pipeline = true``).
        start_fraction: fraction (0, 1] of a layer's run after which its consumer starts (overlap).
        serial_unit: ``position`` (one PE cycle gives every output channel of one output position
            per input bit-plane; NeuroSim) or ``neuron`` (one PE cycle per output neuron;
            SpikeSim's ``latency_gen``).
    """

    mode: str
    start_fraction: float
    serial_unit: str


@dataclass(frozen=True)
class Chip:
    """The chip: technology node, global buffer, input activity when none is measured (0..1],
    tile budget (``tiles``, 0 = as many as the network needs; spare tiles hold weight copies),
    the most copies of one layer's weights (``max_duplication``, NeuroSim's ``speedUpDegree``;
    0 = no limit but the layer's output positions), the rule that sets each layer's copies
    (``duplication``: ``uniform``, every layer ``max_duplication`` copies; ``balance_inputs``,
    NeuroSim V1.4's pipeline speed-up, copies in proportion to the layer's input-map area), the
    pipeline and the input buffers."""

    node: Node
    global_buffer: Buffer
    default_activity: float
    tiles: int
    max_duplication: int
    duplication: str
    pipeline: Pipeline
    input_buffer: InputBuffer


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
            area_um2=scale.fixed("shift_add", "area_um2"),
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
    return PE(xbars_per_pe=int(pe["xbars_per_pe"]), analog_psum=bool(pe["analog_psum"]),
              rows_per_read=int(pe.get("rows_per_read", 0)))


def build_buffer(scale: NodeScaling, section: str) -> Buffer:
    return Buffer(
        energy_per_bit_pj=scale.energy(section, "energy_per_bit_ref_pj"),
        energy_per_access_pj=float(scale.block(section).get("energy_per_access_pj", 0.0)),
        area_um2=scale.sram_area(section),
    )


def _choice(scale: NodeScaling, section: str, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    block = scale.block(section)
    value = block.get(key, default) if default is not None else block[key]
    if value not in allowed:
        raise ConfigError(scale.cards.where((section, key)), f"{section}.{key}",
                          f"unknown value {value!r} (allowed: {', '.join(allowed)})")
    return str(value)


def build_pipeline(scale: NodeScaling) -> Pipeline:
    return Pipeline(mode=_choice(scale, "pipeline", "mode", PIPELINE_MODES),
                    start_fraction=float(scale.block("pipeline")["start_fraction"]),
                    serial_unit=_choice(scale, "pipeline", "serial_unit", SERIAL_UNITS))


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
        shared=bool(scale.block("tile").get("shared", False)),
    )


def build_chip(scale: NodeScaling) -> Chip:
    chip, inputs = scale.block("chip"), scale.block("input_buffer")
    return Chip(node=scale.node, global_buffer=build_buffer(scale, "global_buffer"),
                default_activity=float(chip["default_activity"]),
                tiles=int(chip.get("tiles", 0)), max_duplication=int(chip.get("max_duplication", 0)),
                duplication=_choice(scale, "chip", "duplication", DUPLICATION_RULES, default="uniform"),
                pipeline=build_pipeline(scale),
                input_buffer=InputBuffer(float(inputs["bits_per_entry"]) * scale.area("input_buffer", "area_per_bit_ref_um2")))
