"""File helpers: YAML reading with errors that name the file, atomic writes, plain JSON values.

YAML is read by one strict loader (:class:`StrictLoader`, used by :func:`read_yaml` for
experiments and spaces and by the card loader): a mapping that repeats a key is refused (PyYAML
lets the last one win, so a second ``objectives:`` block would silently replace the first), and a
document whose aliases would expand to more than :data:`MAX_EXPANDED_NODES` nodes (an alias
bomb: a few lines that expand to billions of values) is refused before anything expands it.

A reader never sees a half-written file: :func:`write_atomic` writes ``<name>.tmp`` beside the
target and renames it over the target (``os.replace``, atomic on POSIX within one folder).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cosearch.core.errors import ConfigError

#: Most nodes a YAML document may hold once its aliases are expanded (an experiment holds hundreds).
MAX_EXPANDED_NODES = 100_000


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate mapping keys and alias bombs (module docstring)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {seen[key].line + 1}; a repeated key "
                    "would silently replace the first)", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_document(self, node: yaml.Node) -> Any:
        size = expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"its aliases expand to more than {MAX_EXPANDED_NODES:,} values (refused: an alias "
                "bomb would exhaust memory)", node.start_mark)
        return super().construct_document(node)


def expanded_size(node: yaml.Node) -> int:
    """Nodes of ``node`` with every alias expanded, counted without expanding (shared nodes are
    counted once per reference, each computed once)."""
    sizes: dict[int, int] = {}

    def size(current: yaml.Node) -> int:
        known = sizes.get(id(current))
        if known is not None:
            return known
        sizes[id(current)] = 1  # a recursive alias counts once instead of looping
        if isinstance(current, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in current.value)
        else:
            total = 1
        sizes[id(current)] = total
        return total

    return size(node)


def load_yaml(text: str) -> Any:
    """``text`` parsed by :class:`StrictLoader` (yaml.YAMLError on bad input)."""
    return yaml.load(text, Loader=StrictLoader)


def read_yaml(path: str | Path) -> Any:
    """Parsed YAML of ``path``; ConfigError naming the file when it is missing, a directory,
    unreadable, not UTF-8 text, empty, or not valid YAML."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "", "is a directory; give a YAML file") from None
    except PermissionError:
        raise ConfigError(str(path), "", "cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset "
                                         f"{exc.start}); give a YAML file") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = (f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None and problem
                  else " ".join(str(exc).replace('in "<unicode string>", ', "at ").split()))  # one line
        raise ConfigError(str(path), "", f"not valid YAML: {detail}") from None
    if data is None:
        raise ConfigError(str(path), "", "file is empty (or only comments); expected a YAML mapping")
    return data


@contextmanager
def naming_file(path: str | Path) -> Iterator[None]:
    """An OSError raised in the block that names no file is raised again naming ``path`` (pyarrow's
    and Optuna's writes say "No space left on device" without saying where)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or " ".join(str(exc).split()), str(path)) from exc


@contextmanager
def atomic_target(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed over ``path`` when the block ends, removed
    when it raises (a full disk leaves the old file whole and no temporary file behind)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with naming_file(path):
            yield tmp
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` atomically (:func:`atomic_target`);
    return the path."""
    with atomic_target(path) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
    return Path(path)


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: mappings -> dicts with string keys, tuples -> lists, numpy
    scalars and arrays -> Python numbers and lists; non-finite floats stay floats (JSON ``NaN``,
    ``Infinity``); any other object -> its ``str``."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def finite_or_null(value: Any) -> Any:
    """``value`` (plain JSON types) with every NaN and infinity replaced by None: strict JSON,
    which has no NaN (Python's ``json`` would write ``NaN`` that other readers refuse)."""
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_null(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` (through :func:`to_jsonable`) as indented, strict JSON (non-finite numbers as
    ``null``) to ``path`` atomically; return the path."""
    return write_atomic(path, json.dumps(finite_or_null(to_jsonable(data)), indent=2, allow_nan=False))
