"""Declarative hardware cards: YAML files whose every constant is ``{value: ..., source: "..."}``.

A card starts with a ``card:`` header (``kind``, ``name``, ``description``) and holds sections
organised by level (as MNSIM 2.0 / NeuroSim do):

========================  ====================================================================
kind                      top-level sections it may hold
========================  ====================================================================
``technology``            ``nodes`` (per-node constants), ``layout``
``peripherals``           ``adc``, ``mux``, ``dac``, ``shift_add``, ``temp_buffer``,
                          ``tile_buffer``, ``global_buffer``, ``interconnect``, ``lif``
``architecture``          ``pe``, ``tile``, ``chip``, ``pipeline``, buffer capacities
                          (``tile_buffer``, ``global_buffer``, ``input_buffer``), ``defaults``
                          (per-layer mapping defaults)
``device``                ``device`` (cell constants), ``nonideality`` (for noise-aware proxies);
                          stored under ``devices.<card.name>``
``preset``                any of the sections above plus ``devices.<name>``; merged on top
========================  ====================================================================

Cards are deep-merged in the order given, so a preset listed last overrides the base cards.
Every value is checked here for shape (a ``{value, source}`` leaf with a non-empty source);
the meaning of each key is checked by :mod:`cosearch.hw.schema`. Errors are
:class:`~cosearch.core.errors.ConfigError` naming the card file and the key path.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cosearch.core.errors import ConfigError
from cosearch.core.files import load_yaml

#: Card kind -> top-level sections it may define.
KIND_SECTIONS: dict[str, frozenset[str]] = {
    "technology": frozenset({"nodes", "layout"}),
    "peripherals": frozenset(
        {"adc", "mux", "dac", "shift_add", "temp_buffer", "tile_buffer", "global_buffer", "interconnect", "lif"}
    ),
    "architecture": frozenset(
        {"pe", "tile", "chip", "pipeline", "tile_buffer", "global_buffer", "input_buffer", "defaults"}
    ),
    "device": frozenset({"device", "nonideality"}),
}
KIND_SECTIONS["preset"] = frozenset().union(
    KIND_SECTIONS["technology"], KIND_SECTIONS["peripherals"], KIND_SECTIONS["architecture"], {"devices"}
)

#: Default card globs, relative to the project directory (presets are opt-in).
DEFAULT_CARDS: tuple[str, ...] = ("hw_models/*.yaml", "hw_models/devices/*.yaml")


@dataclass
class CardTree:
    """Merged cards: ``tree`` of plain values and ``origin`` (key path -> file that set it)."""

    tree: dict[str, Any] = field(default_factory=dict)
    origin: dict[tuple[str, ...], str] = field(default_factory=dict)
    sources: dict[tuple[str, ...], str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    device_cards: dict[str, str] = field(default_factory=dict)

    def shown(self, path: tuple[str, ...]) -> str:
        """Key path as written in the card that defines it (device cards omit ``devices.<name>``)."""
        if path[:1] == ("devices",) and len(path) > 2 and self.where(path) == self.device_cards.get(path[1]):
            return ".".join(path[2:])
        return ".".join(path)

    def where(self, path: tuple[str, ...]) -> str:
        """The card file that defined ``path`` (or its closest defined parent)."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.origin:
                return self.origin[path[:cut]]
            siblings = [file for key, file in self.origin.items() if key[:cut] == path[:cut]]
            if siblings:
                return siblings[-1]
        return ", ".join(self.files) or "hw_models"


def resolve_card_paths(patterns: Sequence[str], project_dir: Path) -> list[Path]:
    """Card files for a list of paths or globs relative to ``project_dir`` (order kept)."""
    paths: list[Path] = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern:
            raise ConfigError("", f"hardware.cards[{index}]", f"must be a file path or glob (got {pattern!r})")
        full = str(Path(project_dir) / pattern)
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else ([full] if Path(full).is_file() else [])
        if not matches:
            raise ConfigError("", f"hardware.cards[{index}]", f"no card file matches {pattern!r} under {project_dir}")
        paths += [Path(m) for m in matches if Path(m) not in paths]
    return paths


def load_cards(paths: Sequence[Path]) -> CardTree:
    """Read, shape-check and merge card files in order."""
    cards = CardTree()
    for path in paths:
        label = str(path)
        try:
            data = load_yaml(Path(path).read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            detail = " ".join(str(exc).split())[:300]  # one line
            raise ConfigError(label, "", f"cannot read hardware card: {detail}") from None
        merge_card(cards, data, label)
    return cards


def merge_card(cards: CardTree, data: Any, label: str) -> None:
    """Check one parsed card and deep-merge it into ``cards``."""
    if not isinstance(data, Mapping):
        raise ConfigError(label, "", "a hardware card must be a mapping with a 'card:' header")
    header = data.get("card")
    if not isinstance(header, Mapping):
        raise ConfigError(label, "card", "missing header: card: {kind: ..., name: ...}")
    kind = header.get("kind")
    if kind not in KIND_SECTIONS:
        raise ConfigError(label, "card.kind", f"must be one of {', '.join(sorted(KIND_SECTIONS))} (got {kind!r})")
    name = header.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(label, "card.name", "must be a non-empty string")
    body = {key: value for key, value in data.items() if key != "card"}
    for key in body:
        if key not in KIND_SECTIONS[kind]:
            allowed = ", ".join(sorted(KIND_SECTIONS[kind]))
            raise ConfigError(label, str(key), f"unknown section for a {kind} card (allowed: {allowed})")
    if kind == "device" and cards.device_cards.get(name, label) != label:
        raise ConfigError(label, "card.name", f"device {name!r} is already defined by {cards.device_cards[name]}: "
                          "two cards for one device would merge silently (the one loaded last winning); "
                          "rename one or load only one of them")
    prefix: tuple[str, ...] = ("devices", name) if kind == "device" else ()
    for key, value in body.items():
        _merge(cards, prefix + (str(key),), value, label, len(prefix))
    cards.files.append(label)
    if kind == "device":
        cards.device_cards[name] = label


def _merge(cards: CardTree, path: tuple[str, ...], value: Any, label: str, hidden: int) -> None:
    """Merge one card value; ``hidden`` leading path parts were added by the loader, not the file."""
    dotted = ".".join(path[hidden:])
    if isinstance(value, Mapping) and "value" in value:
        extra = set(value) - {"value", "source"}
        if extra:
            raise ConfigError(label, dotted, f"unexpected keys {sorted(extra)} next to 'value' (only value and source)")
        source = value.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(label, dotted, "missing 'source:' (every constant must cite a paper, tool or survey)")
        _set(cards.tree, path, value["value"])
        cards.origin[path] = label
        cards.sources[path] = source
    elif isinstance(value, Mapping):
        if not value:
            raise ConfigError(label, dotted, "empty section")
        for key, sub in value.items():
            _merge(cards, path + (str(key),), sub, label, hidden)
    else:
        raise ConfigError(label, dotted, f"must be {{value: ..., source: \"...\"}} (got a bare {type(value).__name__})")


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def apply_overrides(cards: CardTree, overrides: Mapping[str, Any], label: str = "hardware.overrides") -> None:
    """Deep-merge experiment overrides; plain values are accepted and cited as the experiment."""

    def walk(path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping) and "value" not in value:
            for key, sub in value.items():
                walk(path + (str(key),), sub)
            return
        if isinstance(value, Mapping):
            value = value["value"]
        _set(cards.tree, path, value)
        cards.origin[path] = label
        cards.sources[path] = "experiment override"

    if not isinstance(overrides, Mapping):
        raise ConfigError("", "hardware.overrides", "must be a mapping of card keys to values")
    walk((), overrides)
