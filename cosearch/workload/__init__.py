"""Network families as torch-free workloads: genome canonicalisation and crossbar layer shapes.

This package is the contract between the SNN side (:mod:`cosearch.snn` builds torch modules
from a genome) and the hardware side (:mod:`cosearch.hw` prices the layers listed here). It
never imports torch, so the cost model stays pure numpy.

Every family numbers its crossbar-mapped layers by *slot*: a fixed position in the family's
layout, so per-layer hardware lists have the same length for every genome of the family.

Families are discovered: every module of this package that defines ``FAMILY``
(:class:`~cosearch.workload.shapes.Family`) is one, so adding a backbone is one module here
(genome + shapes) plus its torch module in :mod:`cosearch.snn`; no registry to edit.
Shipped: :mod:`~cosearch.workload.vgg16` and :mod:`~cosearch.workload.snasnet`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from cosearch.core.errors import InvalidCandidate
from cosearch.core.settings import is_real
from cosearch.workload.shapes import Family, LayerShape


@cache
def families() -> dict[str, Family]:
    """Every family declared by a module of this package, by ``arch`` name."""
    found: dict[str, Family] = {}
    for info in pkgutil.iter_modules(__path__):
        declared = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FAMILY", None)
        if isinstance(declared, Family):
            found[declared.name] = declared
    return found


def family(arch: str) -> Family:
    """The family named ``arch``; InvalidCandidate listing the known ones otherwise."""
    try:
        return families()[arch]
    except KeyError:
        raise InvalidCandidate(f"unknown network arch {arch!r}; known: {', '.join(sorted(families()))}") from None


def canonical_genome(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, canonical genome from the values a space sampled (``values["arch"]`` picks the family)."""
    return family(str(values.get("arch", ""))).genome(values)


def network_layers(genome: Mapping[str, Any]) -> list[LayerShape]:
    """The crossbar-mapped weight layers of a canonical genome, in slot order."""
    return family(str(genome["arch"])).layers(genome)


def network_slots(genome: Mapping[str, Any]) -> int:
    """Length of per-layer hardware lists for this genome's family."""
    return family(str(genome["arch"])).slots(genome)


def scale_channels(genome: Mapping[str, Any], scale: float) -> dict[str, Any]:
    """The canonical genome with every channel count multiplied by ``scale`` (rounded, >= 1).

    Screening-width proxies (``proxy.channel_scale``) and training at reduced width use it.
    """
    genome = canonical_genome(genome)
    if scale == 1.0:
        return genome
    channels = genome["channels"]
    if isinstance(channels, (tuple, list)):
        scaled: Any = tuple(max(1, round(c * scale)) for c in channels)
    else:
        scaled = max(1, round(channels * scale))
    return canonical_genome({**genome, "channels": scaled})


def narrowest_channels_lost(channels: Sequence[Any], scale: float) -> str | None:
    """Why ``scale`` would round the narrowest of the channel counts a space can take to 0
    channels (where :func:`scale_channels` would keep 1 silently), or None when every count
    keeps >= 1. ``channels`` are a space's ``network.channels`` values; non-numbers are skipped."""
    numbers = [c for c in channels if is_real(c)]
    if not numbers or round(min(numbers) * scale) >= 1:
        return None
    smallest = min(numbers)
    return (f"{scale:g} leaves network.channels {smallest:g} with {smallest * scale:.3g} channels "
            f"(rounds to 0); allowed: >= {0.5 / smallest:.3g}")


__all__ = [
    "Family",
    "LayerShape",
    "canonical_genome",
    "families",
    "family",
    "narrowest_channels_lost",
    "network_layers",
    "network_slots",
    "scale_channels",
]
