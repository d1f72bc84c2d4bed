"""``cosearch cost``: price one design (a genome file or a network CSV, read by
:mod:`cosearch.design_files`) without a search.

A CSV layer runs every timestep (T = 1 unless given: a NeuroSim network is a one-pass ANN); its
input precision is the row's ``input_bits`` or the cards' default. :func:`price_design` returns
the metrics and the per-layer breakdown; :func:`cost_table` the printable table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from cosearch.core.errors import ConfigError
from cosearch.design_files import Design
from cosearch.hw.cost import breakdown_rows, breakdowns, price
from cosearch.hw.mapping import map_candidates
from cosearch.hw.model import HardwareModel, load_hardware
from cosearch.workload import network_layers

#: Presets shipped under ``hw_models/presets/`` (``--preset NAME``).
PRESET_DIR = "hw_models/presets"


def parse_settings(settings: Sequence[str]) -> dict[str, Any]:
    """``section.key=value`` strings (values read as YAML scalars) -> nested card overrides.

    Raises:
        ConfigError: a setting without ``=`` or without a dotted key (``--set``).
    """
    overrides: dict[str, Any] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        parts = [part for part in key.strip().split(".") if part]
        if not sep or len(parts) < 2:
            raise ConfigError("--set", setting, "expected section.key=value (e.g. pe.rows_per_read=32)")
        node = overrides
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError("--set", setting, f"{part} is set both as a value and as a section")
        node[parts[-1]] = yaml.safe_load(value)
    return overrides


def load_design_hardware(project_dir: str | Path | None, cards: Sequence[str] | None = None, preset: str | None = None,
                         node_nm: int | None = None, settings: Sequence[str] = ()) -> HardwareModel:
    """The cards (default ones, plus ``hw_models/presets/<preset>.yaml``) with ``--set`` overrides.

    ``project_dir`` holds ``hw_models/`` (card paths are relative to it); None: the current folder
    when it has ``hw_models/``, else the package's own.
    """
    from cosearch.hw.cards import DEFAULT_CARDS
    from cosearch.hw.model import PACKAGE_ROOT

    if project_dir is None:
        project_dir = Path.cwd() if (Path.cwd() / "hw_models").is_dir() else PACKAGE_ROOT
    card_list = list(cards) if cards else list(DEFAULT_CARDS)
    if preset:
        preset_file = Path(project_dir) / PRESET_DIR / f"{preset}.yaml"
        if not preset_file.is_file():
            known = sorted(p.stem for p in (Path(project_dir) / PRESET_DIR).glob("*.yaml"))
            raise ConfigError("--preset", preset, f"no such preset (shipped: {', '.join(known)})")
        card_list.append(f"{PRESET_DIR}/{preset}.yaml")
    return load_hardware(project_dir, cards=card_list, node_nm=node_nm, overrides=parse_settings(settings) or None,
                         override_label="--set")


def price_design(design: Design, model: HardwareModel, activity: float | None = None) -> dict[str, Any]:
    """``{"metrics": hw_* scalars, "breakdown": per-layer and per-component costs}`` of one design.

    Raises:
        ConfigError: an activity outside [0, 1], or a mapping value the cards cannot price.
    """
    if activity is not None and not 0.0 <= activity <= 1.0:
        raise ConfigError("--activity", "", f"must lie in [0, 1] (got {activity})")
    shapes = [design.shapes] if design.shapes is not None else None
    slots = len(design.shapes.slots) if design.shapes is not None else len(network_layers(design.candidate.network))
    activities = [[activity] * slots] if activity is not None else None
    try:
        layers = map_candidates([design.candidate], model, activities, shapes=shapes)
    except ConfigError as exc:
        raise ConfigError(design.source, exc.path, exc.detail) from None
    cost = price(layers, model)
    metrics = {name: float(values[0]) for name, values in cost.metrics().items()}
    return {"metrics": metrics, "breakdown": breakdowns(cost, layers)[0]}


def cost_table(result: Mapping[str, Any]) -> str:
    """The per-layer table, the per-component totals and the metrics as plain text."""
    breakdown, metrics = result["breakdown"], result["metrics"]
    lines = [f"{'layer':<12} {'crossbars':>9} {'PEs':>5} {'tiles':>7} {'copies':>6} {'energy pJ':>12} "
             f"{'stage ns':>12} {'latency ns':>12} {'area mm2':>9}"]
    for layer in breakdown_rows(breakdown):
        lines.append(f"{layer['name']:<12} {layer['crossbars']:>9} {layer['pes']:>5} {layer['tiles']:>7.3g} "
                     f"{layer['duplication']:>6} {layer['energy_pj']:>12.4g} {layer['stage_ns']:>12.4g} "
                     f"{layer['latency_ns']:>12.4g} {layer['area_mm2']:>9.4g}")
    lines += ["", f"{'component':<14} {'energy pJ':>12} {'area mm2':>9}"]
    energy, area = breakdown["energy_by_component_pj"], breakdown["area_by_component_mm2"]
    for name in dict.fromkeys([*energy, *area]):
        lines.append(f"{name:<14} {energy.get(name, 0.0):>12.4g} {area.get(name, 0.0):>9.4g}")
    lines += ["", f"tiles on chip: {breakdown['tiles']}"]
    lines += [f"{name:<18} {value:.5g}" for name, value in metrics.items()]
    return "\n".join(lines)
