"""Errors a user can cause, each carrying a message fit to print as-is (no traceback)."""

from __future__ import annotations


class CosearchError(Exception):
    """Base class of user-facing errors; the CLI prints the message and exits with code 2."""


class ConfigError(CosearchError):
    """A bad value in a YAML file: names the file, the key path and what was expected.

    Example message: ``experiments/x.yaml: objectives[1].direction: must be one of
    minimize, maximize (got 'minimise')``.
    """

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.detail = message
        where = f"{source}: {path}" if path else source
        super().__init__(f"{where}: {message}")


class InvalidCandidate(CosearchError):
    """A sampled genome that no network can be built from (e.g. a cell with no input->output path)."""


class RunStalled(CosearchError):
    """A run that cannot progress: its first trials all failed alike, or every trial failed.

    The CLI prints the message and exits with code 3; what was recorded is kept.
    """
