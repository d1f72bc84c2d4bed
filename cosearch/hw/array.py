"""The crossbar arrays of a batch: device constants per layer, array geometry, read energy and area.

Every array is ``[n_candidates, n_layers]`` (:class:`~cosearch.hw.mapping.LayerArrays`). Symbols
(docs/hw_model.md section 4): ``X`` crossbar size, ``s`` columns per ADC, ``R = Cin k^2`` rows,
``C = Cout ceil(w / b_cell)`` columns, ``P``/``Q`` row/column tiles, ``G = ceil(P / xbars_per_pe)``,
``n_r`` row reads per crossbar; one *pass* = one input bit-plane of one output position through
all crossbars of the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cosearch.hw.device import Device
from cosearch.hw.levels import PE
from cosearch.hw.mapping import LayerArrays
from cosearch.hw.model import HardwareModel


def _optional_per_layer(devices: Sequence[Device], name: str, index: np.ndarray) -> np.ndarray:
    """An optional device value (``None`` -> NaN) at every layer of every candidate."""
    values = [getattr(d, name) for d in devices]
    return np.array([np.nan if v is None else v for v in values])[index]


@dataclass(frozen=True)
class LayerDevices:
    """The constants of each layer's device (its ``device`` mapping) at every layer, ``[n, L]``.

    ``array_read_energy_pj`` [pJ per crossbar read step], ``column_time_ns`` [ns the column
    current flows] and ``subarray_footprint_um2`` [um^2 laid out per crossbar] are NaN where the
    device card does not set them.
    """

    bits_per_cell: np.ndarray
    cell_area_f2: np.ndarray  # F^2
    read_voltage_v: np.ndarray  # V
    g_mean_s: np.ndarray  # S, mean cell conductance
    array_read_energy_pj: np.ndarray
    column_time_ns: np.ndarray
    subarray_footprint_um2: np.ndarray

    @classmethod
    def of(cls, model: HardwareModel, device: np.ndarray) -> LayerDevices:
        """The constants at every layer; ``device`` indexes ``model.device_names``."""
        devices = [model.devices[name] for name in model.device_names]
        return cls(
            bits_per_cell=np.array([d.bits_per_cell for d in devices], dtype=float)[device],
            cell_area_f2=np.array([d.cell_area_f2 for d in devices])[device],
            read_voltage_v=np.array([d.read_voltage_v for d in devices])[device],
            g_mean_s=np.array([d.g_mean_s for d in devices])[device],
            array_read_energy_pj=_optional_per_layer(devices, "array_read_energy_pj", device),
            column_time_ns=_optional_per_layer(devices, "column_time_ns", device),
            subarray_footprint_um2=_optional_per_layer(devices, "subarray_footprint_um2", device),
        )

    def read_energy_pj(self, passes: np.ndarray, geometry: ArrayGeometry, activity: np.ndarray, busy: np.ndarray,
                       column_sharing: np.ndarray, t_conv: np.ndarray) -> np.ndarray:
        """Crossbar read energy [pJ] of ``passes`` passes (docs/hw_model.md section 5, ``array`` row).

        Column-current model: every conversion ``a * R_adc * V^2 * G_mean * t`` with ``t`` the
        device's ``column_time_ns``, else the ADC conversion time ``t_conv`` [ns] (the current flows
        while the ADC converts; NeuroSim). A fixed ``array_read_energy_pj`` (a charge per read
        step: SpikeSim's crossbar, SRAM bit lines) is charged per read step ``P Q s n_r`` of a busy read.
        """
        conducting_ns = np.where(np.isnan(self.column_time_ns), t_conv, self.column_time_ns)
        column_pj = activity * geometry.rows_at_adc * self.read_voltage_v**2 * self.g_mean_s * conducting_ns * 1e3  # V^2*S*ns -> pJ
        fixed = self.array_read_energy_pj
        return np.where(np.isnan(fixed), passes * geometry.conversions * column_pj,
                        passes * geometry.p * geometry.q * column_sharing * geometry.read_groups * busy * np.nan_to_num(fixed))

    def array_area_um2(self, crossbars: np.ndarray, xbar_size: np.ndarray, feature_um: float) -> np.ndarray:
        """Cell area [um^2] of ``crossbars`` crossbars of ``X x X`` cells: ``P Q X^2 cell_F^2 F^2``."""
        return crossbars * xbar_size * xbar_size * self.cell_area_f2 * feature_um**2

    def layout_area_um2(self, crossbars: np.ndarray, blocks_um2: np.ndarray) -> np.ndarray:
        """What the crossbar-level blocks (``blocks_um2``) leave unfilled of ``crossbars`` laid-out
        footprints [um^2] (never negative); 0 where the device gives no ``subarray_footprint_um2``."""
        footprint = self.subarray_footprint_um2
        laid_out = crossbars * np.nan_to_num(footprint)
        return np.where(np.isnan(footprint), 0.0, np.maximum(laid_out - blocks_um2, 0.0))


@dataclass(frozen=True)
class ArrayGeometry:
    """How each layer's weights sit on crossbars, PEs and ADCs, ``[n, L]`` counts (0 on padding
    where noted).

    Attributes:
        rows: ``R = Cin k^2``.
        columns: ``C = Cout ceil(w / b_cell)``.
        p, q: row and column tiles ``P = ceil(R / X)``, ``Q = ceil(C / X)``.
        g: row tiles' PE groups ``G = ceil(P / xbars_per_pe)``.
        crossbars: ``P Q`` (0 on padding).
        pes: ``G Q`` (0 on padding).
        groups: converting row groups ``g``: ``G`` when the PE sums crossbar currents in analog
            (SpikeSim), else ``P`` (every crossbar has its ADCs; NeuroSim).
        read_groups: row reads per crossbar ``n_r = ceil((R / P) / rows_per_read)`` (1 when
            ``rows_per_read`` is 0: all rows at once).
        rows_read: rows driven together in one read, ``R / (P n_r)``.
        rows_at_adc: rows whose currents one conversion sums (``rows_read * P / G`` with analog
            partial sums).
        conversions: ADC conversions per pass, ``g C n_r``.
        adcs: ``g Q ceil(X / s)`` (0 on padding).
    """

    rows: np.ndarray
    columns: np.ndarray
    p: np.ndarray
    q: np.ndarray
    g: np.ndarray
    crossbars: np.ndarray
    pes: np.ndarray
    groups: np.ndarray
    read_groups: np.ndarray
    rows_read: np.ndarray
    rows_at_adc: np.ndarray
    conversions: np.ndarray
    adcs: np.ndarray

    def busy(self, activity: np.ndarray) -> np.ndarray:
        """Probability that a read has an active row, ``1 - (1 - a)^(R / (P n_r))`` for activity ``a``
        (a read whose rows are all idle is skipped)."""
        return 1.0 - (1.0 - activity) ** self.rows_read


def array_geometry(layers: LayerArrays, bits_per_cell: np.ndarray, pe: PE) -> ArrayGeometry:
    """The :class:`ArrayGeometry` of a batch (``bits_per_cell`` of each layer's device)."""
    x, valid = layers.xbar_size, layers.valid
    rows = layers.cin * layers.kernel**2
    columns = layers.cout * np.ceil(layers.weight_bits / bits_per_cell)
    p = np.ceil(rows / x)
    q = np.ceil(columns / x)
    g = np.ceil(p / pe.xbars_per_pe)
    groups = g if pe.analog_psum else p
    rows_xb = rows / p
    read_groups = np.ceil(rows_xb / pe.rows_per_read) if pe.rows_per_read else np.ones_like(rows_xb)
    rows_read = rows_xb / read_groups
    return ArrayGeometry(
        rows=rows, columns=columns, p=p, q=q, g=g, crossbars=p * q * valid, pes=g * q * valid, groups=groups,
        read_groups=read_groups, rows_read=rows_read, rows_at_adc=rows_read * (p / g if pe.analog_psum else 1.0),
        conversions=groups * columns * read_groups, adcs=groups * q * np.ceil(x / layers.column_sharing) * valid,
    )
