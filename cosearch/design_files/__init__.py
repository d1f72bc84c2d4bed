"""Design files: what a design is written to and read from outside a run.

* :mod:`~cosearch.design_files.genome`: genome files (YAML/JSON: a Candidate, its metrics and
  where it came from), written by ``cosearch export`` and read by ``cost``, ``train``, ``cosearch.build``;
* :mod:`~cosearch.design_files.network_csv`: NeuroSim / XPert network CSVs (one row per layer);
* :func:`read_design`: either, as the :class:`Design` ``cosearch cost`` prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cosearch.core.candidate import Candidate
from cosearch.design_files.genome import read_genome
from cosearch.design_files.network_csv import read_network_csv
from cosearch.hw.mapping import NetworkShapes


@dataclass(frozen=True)
class Design:
    """A design to price: the candidate (timesteps, per-layer hardware) and, for a CSV, its layers."""

    candidate: Candidate
    shapes: NetworkShapes | None
    source: str


def read_design(path: str | Path, timesteps: int | None = None) -> Design:
    """A genome file (``.yaml`` / ``.json``) or a network CSV (``.csv``) as a :class:`Design`."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        shapes, mapping = read_network_csv(path)
        candidate = Candidate(network={"arch": "csv", "file": str(path)}, timesteps=timesteps or 1, hardware=mapping)
        return Design(candidate, shapes, str(path))
    candidate, _ = read_genome(path)
    if timesteps is not None:
        candidate = Candidate(network=candidate.network, timesteps=timesteps, hardware=candidate.hardware,
                              params=candidate.params, seed=candidate.seed)
    return Design(candidate, None, str(path))


__all__ = ["Design", "read_design"]
