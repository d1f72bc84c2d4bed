"""What the merged hardware cards may hold: every section, key and value kind, checked on load.

:data:`SCHEMA` lists the fixed sections; :data:`MODEL_SECTIONS` the blocks whose keys depend on
the ``model`` they name (``adc.<type>`` -> :data:`cosearch.hw.adc.ADC_MODELS`, a device's
``nonideality`` -> :data:`cosearch.hw.device.NOISE_MODELS`). :func:`validate_tree` rejects an
unknown section or key, a missing key and a value of the wrong kind with a
:class:`~cosearch.core.errors.ConfigError` naming the card file that set it and the key path.
The per-layer mapping ``defaults`` are checked by :func:`cosearch.core.candidate.check_layer_mapping`
(the one rule for mapping values) when the model is resolved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cosearch.core.candidate import MAPPING_KEYS, MAX_ADC_BITS
from cosearch.core.errors import ConfigError
from cosearch.core.settings import Rule, is_number
from cosearch.hw.adc import ADC_MODELS
from cosearch.hw.cards import CardTree
from cosearch.hw.device import NOISE_MODELS

# kind: pos (>0), nonneg (>=0), int (integer >= 1), count (integer >= 0, 0 = none / no limit), bool, str, frac (0 < x <= 1),
# node (node_nm -> pos), pair ([nonneg, nonneg]), line ([number, number]: slope, intercept),
# numbers (non-empty list of numbers), figure / pos_figure (nonneg / pos number, or bits -> that),
# mapping (a per-layer mapping value, checked by core.candidate.check_layer_mapping).
# Keys ending in "?" are optional.
SCHEMA: dict[str, dict[str, str]] = {
    "nodes.*": {"vdd_v": "pos"},
    "layout": {"min_transistor_area_f2": "pos", "wire_cap_ff_per_um": "pos", "wire_activity": "frac"},
    "mux": {
        "energy_ref_pj": "nonneg", "ref_node_nm": "int", "transistors_per_input": "pos",
        "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "dac": {"transistors_per_row": "nonneg", "energy_pj?": "nonneg"},
    "shift_add": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "transistors_per_bit": "pos",
        "latency_ns": "nonneg", "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "temp_buffer": {
        "energy_ref_pj": "nonneg", "area_ref_um2": "nonneg", "ref_node_nm": "int",
        "energy_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "tile_buffer": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "capacity_kb": "nonneg", "cell_area_f2": "pos",
        "energy_per_access_pj?": "nonneg",
    },
    "global_buffer": {
        "energy_per_bit_ref_pj": "nonneg", "ref_node_nm": "int", "capacity_kb": "nonneg", "cell_area_f2": "pos",
        "energy_per_access_pj?": "nonneg",
    },
    "interconnect": {
        "area_ref_um2": "nonneg", "ref_node_nm": "int", "energy_per_bit_pj?": "nonneg",
        "energy_per_access_pj?": "nonneg", "area_um2?": "nonneg",
    },
    "lif": {
        "energy_ref_pj": "nonneg", "membrane_bits": "int", "area_per_bit_ref_um2": "nonneg", "ref_node_nm": "int",
        "energy_pj?": "nonneg",
    },
    "input_buffer": {"bits_per_entry": "nonneg", "area_per_bit_ref_um2": "nonneg", "ref_node_nm": "int"},
    "pe": {"xbars_per_pe": "int", "analog_psum": "bool", "rows_per_read?": "count"},
    "tile": {"pes_per_tile": "int", "shared?": "bool"},
    "chip": {"node_nm": "int", "default_activity": "frac", "tiles?": "count", "max_duplication?": "count",
             "duplication?": "str"},
    "pipeline": {"mode": "str", "start_fraction": "frac", "serial_unit": "str"},
    "defaults": {key: "mapping" for key in MAPPING_KEYS},
    "devices.*.device": {
        "cell_area_f2": "pos", "bits_per_cell": "int", "r_on_ohm": "pos", "on_off_ratio": "pos",
        "read_voltage_v": "pos", "write_energy_pj": "nonneg", "array_read_energy_pj?": "nonneg",
        "subarray_footprint_um2?": "pos", "column_time_ns?": "pos",
    },
}
#: Blocks whose keys are those of the model their ``model`` key names: pattern -> (what, model -> keys).
MODEL_SECTIONS: dict[str, tuple[str, dict[str, dict[str, str]]]] = {
    "adc.*": ("ADC model", {name: model.keys for name, model in ADC_MODELS.items()}),
    "devices.*.nonideality": ("noise model", {name: cls.KEYS for name, cls in NOISE_MODELS.items()}),
}
#: Sections that must have at least one entry: pattern -> what to say when none does.
REQUIRED_ENTRIES: dict[str, str] = {
    "nodes.*": "no technology node defined (a technology card must list nodes)",
    "devices.*": "no device defined (add a device card, e.g. hw_models/devices/rram.yaml)",
    "adc.*": "no ADC type defined (a peripherals card must define adc.<type> with a model)",
}


def _integral(value: Any, low: int) -> bool:
    """A whole number >= ``low`` (``128.0`` counts: the cards' integers may be written as floats)."""
    return is_number(value) and float(value).is_integer() and value >= low


def _sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple))


#: The value kinds of :data:`SCHEMA` but ``figure``, ``pos_figure`` and ``node`` (whose messages
#: name the bad entry, :func:`kind_error`): what each must be, as messages say it, and its test.
KINDS: dict[str, Rule] = {
    "pos": Rule("a positive number", lambda value: is_number(value) and value > 0),
    "nonneg": Rule("a number >= 0", lambda value: is_number(value) and value >= 0),
    "frac": Rule("a number in (0, 1]", lambda value: is_number(value) and 0 < value <= 1),
    "int": Rule("a positive integer", lambda value: _integral(value, 1)),
    "count": Rule("an integer >= 0", lambda value: _integral(value, 0)),
    "bool": Rule("true or false", lambda value: isinstance(value, bool)),
    "str": Rule("a non-empty string", lambda value: isinstance(value, str) and bool(value)),
    "pair": Rule("a list of two numbers >= 0",
                 lambda value: _sequence(value) and len(value) == 2 and all(is_number(v) and v >= 0 for v in value)),
    "line": Rule("a list of two numbers [slope, intercept]",
                 lambda value: _sequence(value) and len(value) == 2 and all(map(is_number, value))),
    "numbers": Rule("a non-empty list of numbers", lambda value: _sequence(value) and bool(value) and all(map(is_number, value))),
}


def _figure_error(value: Any, positive: bool) -> str | None:
    def ok(number: Any) -> bool:
        return is_number(number) and (number > 0 if positive else number >= 0)

    what = "a positive number" if positive else "a number >= 0"
    if isinstance(value, Mapping):
        if not value:
            return f"must be {what} or a table bits -> {what} (got an empty table)"
        for bits, number in value.items():
            if not (str(bits).isdigit() and 1 <= int(bits) <= MAX_ADC_BITS) or not ok(number):
                return f"must map bits (1..{MAX_ADC_BITS}) -> {what} (bad entry {bits!r}: {number!r})"
        return None
    return None if ok(value) else f"must be {what} or a table bits -> {what} (got {value!r})"


def kind_error(kind: str, value: Any) -> str | None:
    """Why ``value`` is not of schema ``kind`` (None when it is)."""
    if kind in KINDS:
        rule = KINDS[kind]
        return None if rule.holds(value) else f"must be {rule.expected} (got {value!r})"
    if kind in ("figure", "pos_figure"):
        return _figure_error(value, positive=kind == "pos_figure")
    if kind == "node":
        if not (isinstance(value, Mapping) and value):
            return f"must map node_nm -> positive number (got {value!r})"
        for node, number in value.items():
            if not (is_number(node) or str(node).isdigit()) or not (is_number(number) and number > 0):
                return f"must map node_nm -> positive number (bad entry {node!r}: {number!r})"
    return None


def validate_tree(cards: CardTree) -> None:
    """Check every section and key of the merged cards against :data:`SCHEMA` and :data:`MODEL_SECTIONS`."""
    tree = cards.tree

    def fail(path: tuple[str, ...], message: str) -> ConfigError:
        return ConfigError(cards.where(path), cards.shown(path), message)

    sections: list[tuple[tuple[str, ...], dict[str, str]]] = []
    for pattern, keys in SCHEMA.items():
        parts = tuple(pattern.split("."))
        sections += [(path, keys) for path in _expand(tree, parts)] or (
            [] if "*" in parts else [(parts, keys)]
        )
    modelled = [(path, what, models) for pattern, (what, models) in MODEL_SECTIONS.items()
                for path in _expand(tree, tuple(pattern.split(".")))]
    _check_unknown(tree, (), {path for path, _ in sections} | {path for path, _, _ in modelled}, fail)
    for pattern, message in REQUIRED_ENTRIES.items():
        parts = tuple(pattern.split("."))
        if not _expand(tree, parts):
            raise fail(parts[:-1], message)
    for path, what, models in modelled:
        block = _get(tree, path)
        if not isinstance(block, Mapping):
            raise fail(path, f"must be a section with a model (one of: {', '.join(models)})")
        model = block.get("model")
        if model is None:
            raise fail(path + ("model",), f"missing (names the {what}, one of: {', '.join(models)})")
        if not isinstance(model, str) or model not in models:
            raise fail(path + ("model",), f"unknown {what} {model!r} (known: {', '.join(models)})")
        sections.append((path, {"model": "str", **models[model]}))
    for path, keys in sections:
        _check_section(tree, path, keys, fail)


def _check_section(tree: Mapping[str, Any], path: tuple[str, ...], keys: Mapping[str, str], fail: Callable) -> None:
    node = _get(tree, path)
    if not isinstance(node, Mapping):
        raise fail(path, "missing section (no card defines it)")
    for name in node:
        if name not in {key.rstrip("?") for key in keys}:
            allowed = ", ".join(sorted(key.rstrip("?") for key in keys))
            raise fail(path + (str(name),), f"unknown key (allowed: {allowed})")
    for key, kind in keys.items():
        optional = key.endswith("?")
        name = key.rstrip("?")
        if name not in node:
            if optional:
                continue
            raise fail(path + (name,), "missing (no card defines it)")
        reason = kind_error(kind, node[name])
        if reason:
            raise fail(path + (name,), reason)


def _expand(tree: Mapping[str, Any], parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Concrete paths matching a pattern with ``*`` parts."""
    paths: list[tuple[str, ...]] = [()]
    for part in parts:
        nxt = []
        for path in paths:
            node = _get(tree, path)
            if not isinstance(node, Mapping):
                continue
            keys = [str(k) for k in node] if part == "*" else ([part] if part in node else [])
            nxt += [path + (k,) for k in keys]
        paths = nxt
    return paths


def _check_unknown(tree: Any, path: tuple[str, ...], known: set[tuple[str, ...]], fail: Callable) -> None:
    """Reject top-level / intermediate sections the schema does not know."""
    if path in known or not isinstance(tree, Mapping):
        return
    prefixes = {k[: len(path) + 1] for k in known if k[: len(path)] == path and len(k) > len(path)}
    for key in tree:
        sub = path + (str(key),)
        if sub not in prefixes:
            raise fail(sub, "unknown section")
        _check_unknown(tree[key], sub, known, fail)


def _get(tree: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key, node.get(int(key)) if key.isdigit() else None)
    return node
