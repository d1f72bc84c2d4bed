"""cosearch: hardware-aware neural-architecture co-search of spiking neural networks on IMC crossbars."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("cosearch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def __getattr__(name: str) -> Any:  # PEP 562 lazy attributes: importing cosearch stays torch-free
    if name == "build":
        from cosearch.workflows.export import build

        return build
    raise AttributeError(f"module 'cosearch' has no attribute {name!r}")
