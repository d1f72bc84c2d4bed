"""Device level: memory cells from the device cards and their conductance physics (pure numpy).

A device card (``hw_models/devices/<name>.yaml``) gives the cell constants the cost model uses
(:class:`Device`) and an optional ``nonideality:`` block whose ``model`` names one of
:data:`NOISE_MODELS`; every parameter of that model comes from the card (the block is checked
against the model's keys when the cards are loaded; a card without the block is ``none``).
The noise-aware proxy (:mod:`cosearch.proxy.noise`) programs weights from :func:`code_moments`.

Conductances are relative, ``g' = g / g_max`` with level ``c`` of a ``b``-bit cell at
``g' = c / (2^b - 1)``. Models, per cell:

* ``none`` (SRAM: digital bits): exact levels.
* ``pcm_aihwkit`` (IBM aihwkit ``PCMLikeNoiseModel``, Nandakumar et al. ICECS 2019; aihwkit
  ``src/aihwkit/inference/noise/pcm.py``; anchors.md section 8):
  programming ``g_p = max(g + sigma_p n, 0)``, ``sigma_p = sum_i c_i g'^i`` uS;
  drift ``g_d = g_p (t / t0)^(-nu)``, ``t = t_inference + t0``, ``nu ~ |N(mu_nu, sigma_nu)|``,
  ``mu_nu = clip(a ln g' + b, nu_min, nu_max)``, ``sigma_nu = clip(a_s ln g' + b_s, s_min, s_max)``
  (log of the relative conductance floored at 1e-7, as aihwkit);
  1/f read noise ``g_f = g_d + |g_d| sigma_r n``, ``sigma_r = q_s sqrt(ln((t + t_read) / (2 t_read)))``,
  ``q_s = min(q / max(g'^e, 1e-3), q_max)``.
* ``fefet_d2d``: device-to-device variation ``g_f = g (1 + sigma_rel n)``.

:func:`level_moments` gives the exact mean and variance of one cell's read conductance per level
(the ``max(., 0)`` clamp kept for level 0, where it matters; drift's lognormal moments);
:func:`code_moments` sums them over the slices of a ``weight_bits`` code and both cells of its
differential pair (the G- cell at level 0), in code units.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cosearch.hw.cards import CardTree

ZERO_CLIP = 1e-7  # aihwkit's floor of g/g_max inside the drift log
READ_NOISE_FLOOR = 1e-3  # aihwkit's floor of g'^e in the 1/f read-noise amplitude


@dataclass(frozen=True)
class DeviceNoise(ABC):
    """Base of the conductance models; subclasses declare ``MODEL`` (card name) and ``KEYS``
    (nonideality key -> schema kind of :mod:`cosearch.hw.schema`), one dataclass field per key."""

    MODEL: ClassVar[str]
    KEYS: ClassVar[dict[str, str]]

    @classmethod
    def from_block(cls, block: Mapping[str, Any]) -> DeviceNoise:
        """The model with the parameters of a validated ``nonideality`` block."""
        values = {}
        for key, kind in cls.KEYS.items():
            value = block[key]
            values[key] = tuple(float(v) for v in value) if kind in ("numbers", "line") else float(value)
        return cls(**values)

    @abstractmethod
    def moments(self, g_rel: np.ndarray, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the read conductance (units of g_max) of cells programmed to ``g_rel``."""


@dataclass(frozen=True)
class IdealCells(DeviceNoise):
    """``none``: every level read exactly."""

    MODEL: ClassVar[str] = "none"
    KEYS: ClassVar[dict[str, str]] = {}

    def moments(self, g_rel: np.ndarray, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
        return g_rel, np.zeros_like(g_rel)


@dataclass(frozen=True)
class FefetD2d(DeviceNoise):
    """``fefet_d2d``: relative device-to-device spread ``d2d_sigma_rel`` (sigma / mean per cell)."""

    MODEL: ClassVar[str] = "fefet_d2d"
    KEYS: ClassVar[dict[str, str]] = {"d2d_sigma_rel": "nonneg"}

    d2d_sigma_rel: float

    def moments(self, g_rel: np.ndarray, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
        return g_rel, (self.d2d_sigma_rel * g_rel) ** 2


@dataclass(frozen=True)
class PcmAihwkit(DeviceNoise):
    """``pcm_aihwkit``: programming noise, drift and 1/f read noise (parameters as the card names them).

    Attributes:
        g_max_us: conductance of the top level [uS].
        prog_noise_coeffs_us: ``c_i`` of ``sigma_p = sum_i c_i g'^i`` [uS].
        drift_nu_coeffs, drift_nu_min, drift_nu_max: ``(a, b)`` and clip of the drift exponent mean.
        drift_nu_std_coeffs, drift_nu_std_min, drift_nu_std_max: the same for its std.
        t0_s: drift reference time [s]. t_read_s: read-noise integration time [s].
        read_noise_q, read_noise_exp, read_noise_q_max: ``q``, ``e`` and ``q_max`` of ``q_s``.
    """

    MODEL: ClassVar[str] = "pcm_aihwkit"
    KEYS: ClassVar[dict[str, str]] = {
        "g_max_us": "pos", "prog_noise_coeffs_us": "numbers", "drift_nu_coeffs": "line", "drift_nu_min": "nonneg",
        "drift_nu_max": "pos", "drift_nu_std_coeffs": "line", "drift_nu_std_min": "nonneg",
        "drift_nu_std_max": "pos", "t0_s": "pos", "t_read_s": "pos", "read_noise_q": "nonneg",
        "read_noise_exp": "pos", "read_noise_q_max": "pos",
    }

    g_max_us: float
    prog_noise_coeffs_us: tuple[float, ...]
    drift_nu_coeffs: tuple[float, float]
    drift_nu_min: float
    drift_nu_max: float
    drift_nu_std_coeffs: tuple[float, float]
    drift_nu_std_min: float
    drift_nu_std_max: float
    t0_s: float
    t_read_s: float
    read_noise_q: float
    read_noise_exp: float
    read_noise_q_max: float

    def prog_sigma_us(self, g_rel: np.ndarray | float) -> np.ndarray:
        """Programming-noise std [uS] at relative conductance ``g' = g / g_max``."""
        g_rel = np.asarray(g_rel, dtype=float)
        return sum((c * g_rel**i for i, c in enumerate(self.prog_noise_coeffs_us)), np.zeros_like(g_rel))

    def drift_nu(self, g_rel: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) of the drift exponent nu at ``g' = g / g_max`` (log of g' floored at 1e-7)."""
        log_g = np.log(np.clip(np.abs(np.asarray(g_rel, dtype=float)), ZERO_CLIP, None))
        mean = np.clip(self.drift_nu_coeffs[0] * log_g + self.drift_nu_coeffs[1], self.drift_nu_min, self.drift_nu_max)
        std = np.clip(self.drift_nu_std_coeffs[0] * log_g + self.drift_nu_std_coeffs[1],
                      self.drift_nu_std_min, self.drift_nu_std_max)
        return mean, std

    def read_noise_qs(self, g_rel: np.ndarray) -> np.ndarray:
        """1/f read-noise amplitude ``q_s = min(q / max(g'^e, 1e-3), q_max)``."""
        return np.minimum(self.read_noise_q / np.maximum(g_rel**self.read_noise_exp, READ_NOISE_FLOOR),
                          self.read_noise_q_max)

    def moments(self, g_rel: np.ndarray, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
        sigma_p = self.prog_sigma_us(g_rel) / self.g_max_us
        mean_nu, std_nu = self.drift_nu(g_rel)
        t0, t_read = self.t0_s, self.t_read_s
        t = t_inference_s + t0
        log_t = math.log(t / t0)
        # drift factor d = exp(-L nu), nu ~ N(mean, std): lognormal moments (|nu| folding ignored: mean >= 1.09 std)
        e_d = np.exp(-log_t * mean_nu + 0.5 * (log_t * std_nu) ** 2)
        e_d2 = np.exp(-2 * log_t * mean_nu + 2 * (log_t * std_nu) ** 2)
        sigma_r = self.read_noise_qs(g_rel) * math.sqrt(math.log((t + t_read) / (2 * t_read)))
        # programmed conductance max(g + sigma_p n, 0): first two moments (the clamp matters at level 0 only)
        mean_p = g_rel.copy()
        second_p = g_rel**2 + sigma_p**2
        mean_p[0] = sigma_p[0] / math.sqrt(2 * math.pi)
        second_p[0] = sigma_p[0] ** 2 / 2
        mean = mean_p * e_d
        second = second_p * e_d2 * (1 + sigma_r**2)
        return mean, np.maximum(second - mean**2, 0.0)


#: Nonideality model name (``nonideality.model`` of a device card) -> model class.
NOISE_MODELS: dict[str, type[DeviceNoise]] = {cls.MODEL: cls for cls in (IdealCells, PcmAihwkit, FefetD2d)}


@dataclass(frozen=True)
class Device:
    """One memory device (values from its card; the cell constants do not scale with the node).

    Attributes:
        name: card name (``device`` mapping value).
        cell_area_f2: cell area [F^2]. bits_per_cell: levels per cell = 2^bits.
        r_on_ohm: on resistance [Ohm]. on_off_ratio: R_off / R_on. read_voltage_v: read voltage [V].
        write_energy_pj: write energy per bit [pJ] (not used by the inference cost).
        array_read_energy_pj: fixed energy of one crossbar read step [pJ] (None: column-current model).
        subarray_footprint_um2: laid-out area of one crossbar with its own periphery [um^2], for
            presets that reproduce a tool's floorplan (None: the sum of the blocks).
        column_time_ns: how long the column current flows per conversion [ns] (None: the ADC's
            conversion time).
        noise: the card's conductance model.
    """

    name: str
    cell_area_f2: float
    bits_per_cell: int
    r_on_ohm: float
    on_off_ratio: float
    read_voltage_v: float
    write_energy_pj: float
    array_read_energy_pj: float | None
    subarray_footprint_um2: float | None
    column_time_ns: float | None
    noise: DeviceNoise

    @property
    def g_mean_s(self) -> float:
        """Mean cell conductance [S] for uniformly used levels: (G_on + G_off) / 2."""
        return (1.0 + 1.0 / self.on_off_ratio) / (2.0 * self.r_on_ohm)


def _optional(cell: Mapping[str, Any], key: str) -> float | None:
    """An optional number of a card's ``device:`` block (None when the card leaves it out)."""
    return float(cell[key]) if key in cell else None


def build_devices(cards: CardTree) -> dict[str, Device]:
    """Every device of the (validated) cards, by name."""
    devices = {}
    for name, card in cards.tree["devices"].items():
        cell = card["device"]
        block = card.get("nonideality", {"model": IdealCells.MODEL})
        devices[name] = Device(
            name=name,
            cell_area_f2=float(cell["cell_area_f2"]),
            bits_per_cell=int(cell["bits_per_cell"]),
            r_on_ohm=float(cell["r_on_ohm"]),
            on_off_ratio=float(cell["on_off_ratio"]),
            read_voltage_v=float(cell["read_voltage_v"]),
            write_energy_pj=float(cell["write_energy_pj"]),
            array_read_energy_pj=_optional(cell, "array_read_energy_pj"),
            subarray_footprint_um2=_optional(cell, "subarray_footprint_um2"),
            column_time_ns=_optional(cell, "column_time_ns"),
            noise=NOISE_MODELS[str(block["model"])].from_block(block),
        )
    return devices


def level_moments(noise: DeviceNoise, bits_per_cell: int, t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of one cell's read conductance (units of g_max) for each level 0 .. 2^b - 1,
    read ``t_inference_s`` seconds after programming."""
    levels = 2**bits_per_cell - 1
    g_rel = np.arange(levels + 1) / levels
    return noise.moments(g_rel, t_inference_s)


def code_moments(noise: DeviceNoise, bits_per_cell: int, weight_bits: int,
                 t_inference_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per weight-magnitude code q = 0 .. 2^weight_bits - 1: mean and std (float64) of the programmed
    weight in code units (ideal: q), summed over the code's ``ceil(weight_bits / b)`` slices (slice s
    at significance ``2^(b s)``) and both cells of its differential pair."""
    b = bits_per_cell
    cell_max = 2**b - 1
    mean_level, var_level = level_moments(noise, b, t_inference_s)
    codes = np.arange(2**weight_bits, dtype=np.int64)
    mean = np.zeros(codes.shape)
    var = np.zeros(codes.shape)
    for s in range(math.ceil(weight_bits / b)):
        level = (codes >> (b * s)) & cell_max
        significance = float(2 ** (b * s) * cell_max)
        mean += significance * (mean_level[level] - mean_level[0])  # G+ cell minus its G- partner at level 0
        var += significance**2 * (var_level[level] + var_level[0])
    return mean, np.sqrt(var)
