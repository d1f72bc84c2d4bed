"""Crossbar, peripheral, PE, tile and chip levels of the hardware model, resolved at one node.

One small frozen dataclass per level and block, as MNSIM 2.0 / NeuroSim organise hardware
(devices are in :mod:`cosearch.hw.device`, ADCs in :mod:`cosearch.hw.adc`); each ``build_*``
reads its card sections through :class:`~cosearch.hw.technology.NodeScaling`. Units: energies
in pJ per event (the event of each block is listed in ``hw_models/peripherals.yaml`` and
docs/hw_model.md section 3), latencies in ns, areas in um^2. ``nan`` marks an optional fixed
value no card sets (the cost model then uses its computed value).

Each level also prices its own events for :func:`cosearch.hw.cost.price`: energy = events x energy
per event, area = instances x area per instance, over ``[n_candidates, n_layers]`` arrays of event
counts (the counts come from :mod:`cosearch.hw.array` and ``cost.py``; the equations and sources are
in docs/hw_model.md sections 3 and 5). :class:`Chip` sets the copies of each layer's weights,
:class:`Tile` places them on tiles and :class:`Pipeline` overlaps the layers' stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosearch.core.errors import ConfigError
from cosearch.hw.technology import Node, NodeScaling

#: ``pipeline.mode`` values: how layers of one inference and successive inferences overlap.
PIPELINE_MODES: tuple[str, ...] = ("sequential", "overlap", "synchronous")
#: ``pipeline.serial_unit`` values: what one PE cycle of a layer's crossbar set produces.
SERIAL_UNITS: tuple[str, ...] = ("position", "neuron")
#: ``chip.duplication`` values: how many copies of its weights each layer gets (``cosearch.hw.cost``).
DUPLICATION_RULES: tuple[str, ...] = ("uniform", "balance_inputs")


def _fixed_or(fixed: float, computed: np.ndarray | float) -> np.ndarray | float:
    """A card's fixed value, or the computed one where the card leaves it ``nan``."""
    return computed if np.isnan(fixed) else fixed


@dataclass(frozen=True)
class Crossbar:
    """The crossbar array's word lines: ``row_wire_cap_ff_per_um`` [fF/um] (with the cell pitch it
    sizes the 1-bit DAC pulse energy)."""

    row_wire_cap_ff_per_um: float

    def row_pulse_pj(self, xbar_size: np.ndarray, cell_area_f2: np.ndarray, feature_um: float,
                     read_voltage_v: np.ndarray) -> np.ndarray:
        """Energy of one word-line pulse [pJ]: ``C_wire [fF/um] * X * sqrt(cell F^2) * F [um] * V_read^2``
        (the row's wire charged to the read voltage; Ho et al. 2001, docs/hw_model.md section 3)."""
        return self.row_wire_cap_ff_per_um * xbar_size * np.sqrt(cell_area_f2) * feature_um * read_voltage_v**2 * 1e-3  # fF*V^2 -> pJ


@dataclass(frozen=True)
class Mux:
    """Column multiplexer in front of an ADC: energy per conversion; area per multiplexed column
    input, or a fixed area per ADC's MUX (``area_um2``, nan when not fixed)."""

    energy_pj: float
    area_per_input_um2: float
    area_um2: float

    def energy(self, conversions: np.ndarray) -> np.ndarray:
        """[pJ] of ``conversions`` ADC conversions (one MUX switch each)."""
        return conversions * self.energy_pj

    def area_per_adc(self, column_sharing: np.ndarray) -> np.ndarray | float:
        """[um^2] of one ADC's MUX: ``s`` inputs x area per input, or the card's fixed area."""
        return column_sharing * self.area_per_input_um2 if np.isnan(self.area_um2) else self.area_um2


@dataclass(frozen=True)
class Dac:
    """Word-line driver (1-bit DAC): transistors per row; fixed energy per row pulse (nan: wire model)."""

    transistors_per_row: float
    energy_pj: float

    def energy(self, pulses: np.ndarray, wire_pulse_pj: np.ndarray) -> np.ndarray:
        """[pJ] of ``pulses`` row pulses: the card's fixed energy per pulse, else the word line's
        (``wire_pulse_pj``, :meth:`Crossbar.row_pulse_pj`)."""
        return pulses * _fixed_or(self.energy_pj, wire_pulse_pj)

    def area(self, rows: np.ndarray, min_transistor_um2: float) -> np.ndarray:
        """[um^2] of the drivers of ``rows`` crossbar rows."""
        return rows * self.transistors_per_row * min_transistor_um2


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

    def energy(self, accumulations: np.ndarray, accumulator_bits: np.ndarray) -> np.ndarray:
        """[pJ] of ``accumulations`` (one per conversion), each the card's fixed energy or
        ``energy_per_bit_pj`` x accumulator bits ``N + w + b`` (Horowitz 2014)."""
        return accumulations * _fixed_or(self.energy_pj, self.energy_per_bit_pj * accumulator_bits)

    def area_per_adc(self, accumulator_bits: np.ndarray, min_transistor_um2: float) -> np.ndarray | float:
        """[um^2] of one ADC's accumulator: ``N + w + b`` bits x transistors per bit, or the card's fixed area."""
        if np.isnan(self.area_um2):
            return accumulator_bits * self.transistors_per_bit * min_transistor_um2
        return self.area_um2


@dataclass(frozen=True)
class TempBuffer:
    """PE temporary buffer: energy per ADC-group write per bit-plane; area per PE."""

    energy_pj: float
    area_um2: float

    def energy(self, writes: np.ndarray) -> np.ndarray:
        """[pJ] of ``writes`` ADC-group writes."""
        return writes * self.energy_pj


@dataclass(frozen=True)
class Lif:
    """LIF neuron: energy per neuron update; membrane storage area per neuron."""

    energy_pj: float
    area_per_neuron_um2: float

    def energy(self, updates: np.ndarray) -> np.ndarray:
        """[pJ] of ``updates`` neuron updates."""
        return updates * self.energy_pj

    def area(self, neurons: np.ndarray) -> np.ndarray:
        """[um^2] of the membranes of ``neurons`` neurons."""
        return neurons * self.area_per_neuron_um2


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

    def energy(self, accesses: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """[pJ] of ``accesses`` PE accesses and ``bits`` bits moved."""
        return accesses * self.energy_per_access_pj + bits * self.energy_per_bit_pj


@dataclass(frozen=True)
class Interconnect:
    """Tile H-tree: wire energy per bit per mm of tile side; fixed energy per bit (nan: wire model);
    energy per PE access (0 when not set); area per tile."""

    wire_energy_per_bit_mm_pj: float
    energy_per_bit_pj: float
    energy_per_access_pj: float
    area_um2: float

    def energy_per_bit(self, tile_area_um2: np.ndarray) -> np.ndarray | float:
        """[pJ] per bit: the card's fixed value, else the H-tree wire across a tile of side
        ``sqrt(tile_area_um2)`` (um -> mm)."""
        return _fixed_or(self.energy_per_bit_pj, self.wire_energy_per_bit_mm_pj * np.sqrt(tile_area_um2) * 1e-3)

    def energy(self, accesses: np.ndarray, bits: np.ndarray, tile_area_um2: np.ndarray) -> np.ndarray:
        """[pJ] of ``accesses`` PE accesses and ``bits`` bits carried across tiles of ``tile_area_um2``."""
        return accesses * self.energy_per_access_pj + bits * self.energy_per_bit(tile_area_um2)


@dataclass(frozen=True)
class Tile:
    """A tile: PEs per tile, its buffer and its interconnect; ``shared``: PEs of consecutive layers
    are packed into the same tiles (SpikeSim), else every layer has its own tiles (NeuroSim)."""

    pes_per_tile: int
    buffer: Buffer
    interconnect: Interconnect
    shared: bool

    def tiles_per_copy(self, pes: np.ndarray) -> np.ndarray:
        """Tiles of one copy of each layer's weights: ``PEs / pes_per_tile``, whole tiles unless shared."""
        return pes / self.pes_per_tile if self.shared else np.ceil(pes / self.pes_per_tile)

    def place(self, copies: np.ndarray, tiles_per_copy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each layer's tiles ``[n, L]`` (all its copies) and the chip's ``[n]``.

        Shared tiles: the chip has ``ceil(sum of the layers' tiles)`` and each layer is charged its
        share of them (fractional); otherwise every layer has its own whole tiles.
        """
        if self.shared:
            chip_tiles = np.ceil((copies * tiles_per_copy).sum(axis=1) - 1e-9)
            used = (copies * tiles_per_copy).sum(axis=1, keepdims=True)
            tiles = copies * tiles_per_copy * np.divide(chip_tiles[:, None], used, out=np.zeros_like(used), where=used > 0)
        else:
            tiles = copies * tiles_per_copy
            chip_tiles = tiles.sum(axis=1)
        return tiles, chip_tiles


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

    def cycles_per_position(self, input_bits: np.ndarray, cout: np.ndarray) -> np.ndarray:
        """PE cycles per output position and run: the bit-planes (x ``Cout`` for ``serial_unit: neuron``)."""
        return input_bits * (cout if self.serial_unit == "neuron" else 1.0)

    def timeline(self, stage: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each layer's share of the inference latency ``[n, L]``, the latency and the period ``[n]`` [ns]
        from the stage times ``stage`` [ns] (docs/hw_model.md section 5, mode table)."""
        if self.mode == "sequential":
            finish = np.cumsum(stage, axis=1)
            latency = finish[:, -1]
            period = latency
        elif self.mode == "overlap":
            start = self.start_fraction * (np.cumsum(stage, axis=1) - stage)
            finish = np.maximum.accumulate(start + stage, axis=1)  # no layer ends before its producer
            latency, period = finish[:, -1], stage.max(axis=1)
        else:  # synchronous: every layer is one stage of the slowest stage's period
            period = stage.max(axis=1)
            finish = np.cumsum(valid * period[:, None], axis=1)
            latency = finish[:, -1]
        share = np.diff(finish, axis=1, prepend=0.0)
        return share, latency, period


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

    def copies(self, stage_one: np.ndarray, tiles_one: np.ndarray, positions: np.ndarray, in_positions: np.ndarray,
               kernel: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Copies of each layer's weights ``[n, L]`` (a copy computes a share of the output positions).

        ``stage_one``: each layer's stage time with one copy [ns]; ``tiles_one``: its tiles per copy;
        ``positions``: its output positions (at least 1), the most copies it can use.
        ``duplication: balance_inputs`` is :func:`balanced_copies` (NeuroSim V1.4). Otherwise
        ``max_duplication`` copies every layer (at most one per output position); a tile budget
        ``tiles`` gives its spare tiles to the slowest layers: the smallest stage time tau whose
        copies ``clip(ceil(stage / tau), 1, cap)`` fit the budget, found by bisection (vectorised over
        the batch). A network that does not fit gets one copy.
        """
        if self.duplication == "balance_inputs":
            return np.minimum(balanced_copies(in_positions, kernel, valid, self.max_duplication), positions)
        cap = np.minimum(positions, self.max_duplication) if self.max_duplication else positions
        if not self.tiles:
            return cap if self.max_duplication else np.ones_like(stage_one)

        def copies(tau: np.ndarray) -> np.ndarray:
            return np.clip(np.ceil(stage_one / tau[:, None] - 1e-9), 1.0, cap)

        longest = stage_one.max(axis=1)
        high, low = np.maximum(longest, 1e-12), np.maximum((stage_one / cap).max(axis=1), 1e-12)
        for _ in range(60):  # bisection on log(tau): 60 halvings of the ratio high/low
            mid = np.sqrt(high * low)
            fits = (copies(mid) * tiles_one).sum(axis=1) <= self.tiles
            high, low = np.where(fits, mid, high), np.where(fits, low, mid)
        fits = (copies(high) * tiles_one).sum(axis=1) <= self.tiles
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
