"""Hardware model: the merged cards checked against the schema and resolved at one technology node.

:func:`load_hardware` is the entry point (:func:`load_hardware_section` for an experiment's
``hardware`` section): it reads the cards (all base cards of ``hw_models/`` by default),
applies an experiment's overrides, checks every key (:mod:`cosearch.hw.schema`) and returns a
:class:`HardwareModel` composed of one object per level, as MNSIM 2.0 / NeuroSim organise
hardware: devices (:mod:`cosearch.hw.device`), crossbar, ADCs (:mod:`cosearch.hw.adc`),
peripherals, PE, tile and chip (:mod:`cosearch.hw.levels`), each with per-event energies (pJ),
latencies (ns) and areas (um^2) at the chosen node (scaling in :mod:`cosearch.hw.technology`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosearch.core.candidate import MAPPING_KEYS, check_layer_mapping
from cosearch.core.errors import ConfigError
from cosearch.hw.adc import AdcTable, build_adc
from cosearch.hw.cards import DEFAULT_CARDS, CardTree, apply_overrides, load_cards, resolve_card_paths
from cosearch.hw.device import Device, build_devices
from cosearch.hw.levels import (
    PE,
    Chip,
    Crossbar,
    Peripherals,
    Tile,
    build_chip,
    build_crossbar,
    build_pe,
    build_peripherals,
    build_tile,
)
from cosearch.hw.schema import kind_error, validate_tree
from cosearch.hw.technology import NodeScaling, build_node

#: Keys of an experiment's ``hardware`` section (arguments of :func:`load_hardware`).
HARDWARE_SECTION_KEYS: tuple[str, ...] = ("cards", "node_nm", "defaults", "overrides")
#: The package's own project directory (holds the shipped ``hw_models/``).
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class HardwareModel:
    """The hardware at one node, one object per level; see docs/hw_model.md for every symbol.

    Attributes:
        devices: device name -> :class:`~cosearch.hw.device.Device` (card order).
        crossbar: word-line constants.
        adc: every ADC type, tabulated per bits.
        peripherals: MUX, DAC, shift-add, temporary buffer, LIF.
        pe: crossbars per PE, analog partial sums.
        tile: PEs per tile, tile buffer, interconnect.
        chip: node, global buffer, default activity.
        defaults: per-layer mapping defaults (keys of :data:`cosearch.core.candidate.MAPPING_KEYS`).
        sources: dotted card key -> its cited source.
    """

    devices: dict[str, Device]
    crossbar: Crossbar
    adc: AdcTable
    peripherals: Peripherals
    pe: PE
    tile: Tile
    chip: Chip
    defaults: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def device_names(self) -> tuple[str, ...]:
        return tuple(self.devices)

    @property
    def mapping_names(self) -> dict[str, tuple[str, ...]]:
        """For each ``str`` mapping key, the names the cards define (``device``, ``adc_type``)."""
        return _mapping_names(self.devices, self.adc)


def _mapping_names(devices: Mapping[str, Device], adc: AdcTable) -> dict[str, tuple[str, ...]]:
    return {"device": tuple(devices), "adc_type": adc.names}


def resolve(cards: CardTree, node_nm: int | None = None) -> HardwareModel:
    """Resolve validated cards at ``node_nm`` (default: ``chip.node_nm`` of the cards)."""
    validate_tree(cards)
    scale = NodeScaling(cards, build_node(cards, node_nm))
    devices = build_devices(cards)
    adc = build_adc(scale)
    defaults = _defaults(cards, _mapping_names(devices, adc), adc)
    return HardwareModel(
        devices=devices,
        crossbar=build_crossbar(scale),
        adc=adc,
        peripherals=build_peripherals(scale),
        pe=build_pe(scale),
        tile=build_tile(scale),
        chip=build_chip(scale),
        defaults=defaults,
        sources={".".join(path): source for path, source in cards.sources.items()},
    )


def _defaults(cards: CardTree, names: Mapping[str, Sequence[str]], adc: AdcTable) -> dict[str, Any]:
    """The cards' per-layer mapping defaults, each checked (and its ADC priced) as a layer mapping."""
    raw = dict(cards.tree["defaults"])
    for key, value in raw.items():
        check_layer_mapping({key: value}, "defaults", cards.where(("defaults", key)), names)
    check_layer_mapping(raw, "defaults", cards.where(("defaults", "column_sharing")), names)
    defaults = {key: MAPPING_KEYS[key].kind(value) for key, value in raw.items()}
    adc.check_priced(np.array([adc.index(defaults["adc_type"])]), np.array([defaults["adc_bits"]]),
                     "defaults.adc_bits")
    return defaults


def load_hardware(
    project_dir: str | Path = ".",
    cards: Sequence[str] | None = None,
    node_nm: int | None = None,
    defaults: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    override_label: str = "hardware.overrides",
) -> HardwareModel:
    """Load hardware cards and resolve them at a node.

    Args:
        project_dir: folder holding ``hw_models/`` (card paths are relative to it).
        cards: card files or globs, merged in order; default :data:`DEFAULT_CARDS` (presets excluded).
        node_nm: technology node [nm]; default the cards' ``chip.node_nm``.
        defaults: per-layer mapping defaults (keys of :data:`cosearch.core.candidate.MAPPING_KEYS`)
            over the cards' ``defaults``.
        overrides: nested card keys -> values (plain or ``{value, source}``) merged over the cards.
        override_label: what an error in an override names as its file (``--set`` on the command line).

    Raises:
        ConfigError: naming the card file (or ``hardware.*`` key) and the key path.
    """
    paths = resolve_card_paths(list(cards) if cards is not None else list(DEFAULT_CARDS), Path(project_dir))
    tree = load_cards(paths)
    if overrides:
        apply_overrides(tree, overrides, label=override_label)
    if defaults:
        if not isinstance(defaults, Mapping):
            raise ConfigError("", "hardware.defaults", "must be a mapping of mapping keys to values")
        check_layer_mapping(defaults, "hardware.defaults")
        apply_overrides(tree, {"defaults": dict(defaults)}, label="hardware.defaults")
    if node_nm is not None and kind_error("int", node_nm):
        raise ConfigError("", "hardware.node_nm", kind_error("int", node_nm) or "")
    return resolve(tree, node_nm)


def load_hardware_section(project_dir: str | Path | None = None,
                          section: Mapping[str, Any] | None = None) -> HardwareModel:
    """The hardware of an experiment's ``hardware`` section (the one place that section is checked).

    Args:
        project_dir: folder holding ``hw_models/``; default the package's own (:data:`PACKAGE_ROOT`).
        section: ``{cards, node_nm, defaults, overrides}`` (all optional; see :func:`load_hardware`).

    Raises:
        ConfigError: an unknown key of the section (``hardware.<key>``) or any error of :func:`load_hardware`.
    """
    section = dict(section or {})
    for key in section:
        if key not in HARDWARE_SECTION_KEYS:
            raise ConfigError("", f"hardware.{key}", f"unknown key (allowed: {', '.join(HARDWARE_SECTION_KEYS)})")
    cards = section.get("cards")
    if cards is not None and (isinstance(cards, str) or not isinstance(cards, Sequence)):
        raise ConfigError("", "hardware.cards", "must be a list of card files or globs")
    return load_hardware(
        project_dir=Path(project_dir) if project_dir is not None else PACKAGE_ROOT,
        cards=cards,
        node_nm=section.get("node_nm"),
        defaults=section.get("defaults"),
        overrides=section.get("overrides"),
    )
