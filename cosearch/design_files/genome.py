"""Genome files: a Candidate and its metrics as plain YAML/JSON data, written and read back.

A genome file is plain data, readable without cosearch::

    format: cosearch-genome/1
    source: {run_dir: runs/x, trial: 12, experiment: x, phase: search, dataset: cifar10}
    candidate:                 # cosearch.core.candidate.Candidate.to_dict()
      network: {arch: snasnet, cell: [[0, 3, 0, 3], ...], channels: 128, ...}
      timesteps: 5
      hardware: {adc_bits: [...], ...}
      params: {...}            # the sampled Optuna parameters
      seed: 123
    metrics: {proxy_score: 1234.5, hw_energy_pj: ..., objective_proxy_score: ...}

:func:`read_genome` gives back the Candidate (``cosearch.build`` turns one into a torch module).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.core.files import read_yaml, to_jsonable, write_atomic, write_json

FORMAT = "cosearch-genome/1"


def genome_document(candidate: Candidate, metrics: Mapping[str, Any] | None = None,
                    source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The genome file's content for one candidate."""
    return {
        "format": FORMAT,
        "source": dict(source or {}),
        "candidate": candidate.to_dict(),
        "metrics": {str(k): to_jsonable(v) for k, v in (metrics or {}).items()},
    }


def write_genome(document: Mapping[str, Any], path: str | Path) -> Path:
    """Write a genome document; ``.json`` -> JSON, anything else -> YAML."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        return write_json(path, document)
    return write_atomic(path, yaml.safe_dump(dict(document), sort_keys=False, default_flow_style=None, width=120))


def load_genome_document(path: str | Path) -> dict[str, Any]:
    """A genome file's content (YAML or JSON; JSON is YAML)."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("candidate", data), dict):
        raise CosearchError(f"{path}: not a cosearch genome file (expected a mapping with a `candidate` key)")
    return data


def candidate_from_document(data: Mapping[str, Any], where: str = "<genome>") -> Candidate:
    """Candidate from a genome document, a Candidate dict, or a bare network genome."""
    body = data.get("candidate", data)
    try:
        if "network" in body:
            return Candidate.from_dict(body)
        if "arch" in body:  # a bare network genome
            from cosearch.workload import canonical_genome

            network = {k: v for k, v in body.items() if k != "timesteps"}
            return Candidate(network=canonical_genome(network), timesteps=int(body.get("timesteps", 5)))
    except (KeyError, TypeError, ValueError) as exc:
        raise CosearchError(f"{where}: malformed genome ({type(exc).__name__}: {exc})") from None
    raise CosearchError(f"{where}: no `candidate.network` (nor a bare genome with `arch`) found")


def read_genome(path: str | Path) -> tuple[Candidate, dict[str, Any]]:
    """(Candidate, metrics) of a genome file."""
    data = load_genome_document(path)
    return candidate_from_document(data, str(path)), dict(data.get("metrics") or {})
