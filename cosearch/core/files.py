"""File helpers: YAML reading with errors that name the file, atomic writes, plain JSON values.

A reader never sees a half-written file: :func:`write_atomic` writes ``<name>.tmp`` beside the
target and renames it over the target (``os.replace``, atomic on POSIX within one folder).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cosearch.core.errors import ConfigError


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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        detail = (f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None and problem
                  else " ".join(str(exc).replace('in "<unicode string>", ', "at ").split()))  # one line
        raise ConfigError(str(path), "", f"not valid YAML: {detail}") from None
    if data is None:
        raise ConfigError(str(path), "", "file is empty (or only comments); expected a YAML mapping")
    return data


def write_atomic(path: str | Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8, or bytes) to ``path`` atomically; return the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)
    return path


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


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` (through :func:`to_jsonable`) as indented JSON to ``path`` atomically; return the path."""
    return write_atomic(path, json.dumps(to_jsonable(data), indent=2))
