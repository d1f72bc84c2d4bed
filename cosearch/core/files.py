"""Reading YAML files with errors that name the file (no traceback for a user's typo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cosearch.core.errors import ConfigError


def read_yaml(path: str | Path) -> Any:
    """Parsed YAML of ``path``; ConfigError ``<path>: file not found`` / ``not valid YAML: ...``."""
    path = Path(path)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "", f"not valid YAML: {exc}") from None
