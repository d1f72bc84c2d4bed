"""``cosearch export``: a run's trials as genome files (:mod:`cosearch.design_files.genome`) or
NeuroSim / XPert network CSVs (:mod:`cosearch.design_files.network_csv`), and ``cosearch.build``.

:func:`build` turns a genome file (or a Candidate, or a bare genome) into a freshly initialised
torch module. Torch is imported only by :func:`build`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.core.files import to_jsonable
from cosearch.design_files.genome import candidate_from_document, genome_document, read_genome, write_genome
from cosearch.design_files.network_csv import CSV_FORMATS, network_csv

# ------------------------------------------------------------ run directories --


def _trial_metrics(row: Mapping[str, Any]) -> dict[str, Any]:
    skip = {"trial", "phase", "phase_trial", "baseline", "datetime_start", "fail_reason"}
    out = {}
    for key, value in row.items():
        if key in skip or key.startswith("params_"):
            continue
        value = to_jsonable(value)
        if isinstance(value, float) and math.isnan(value):
            continue
        out[key] = value
    return out


def trial_document(run_dir: str | Path, trial: int, table: Any = None, records: Any = None) -> dict[str, Any]:
    """The genome document of trial ``trial`` (the results table's ``trial`` id) of a run."""
    from cosearch.results import RunSpec, load_records, load_table
    from cosearch.run_dir import RunDirectory

    table = load_table(run_dir) if table is None else table
    records = load_records(run_dir) if records is None else records
    if trial not in records or table.empty or trial not in set(table["trial"]):
        known = f"0..{len(table) - 1}" if not table.empty else "none yet"
        raise CosearchError(f"{run_dir}: no trial {trial} (finished trials: {known})")
    candidate = records[trial].get("candidate")
    if not candidate:
        raise CosearchError(f"{run_dir}: trial {trial} has no stored candidate (it failed before sampling finished)")
    row = table[table["trial"] == trial].iloc[0].to_dict()
    details = records[trial].get("details") or {}
    metrics = _trial_metrics(row)
    metrics.update({k: to_jsonable(v) for k, v in details.items() if k.startswith("proxy_") and k not in metrics})
    config = RunDirectory(run_dir).read_config()
    source = {"run_dir": str(run_dir), "trial": int(trial), "experiment": config.get("name", ""),
              "phase": row.get("phase", ""), "dataset": RunSpec.from_config(config).dataset}
    return genome_document(Candidate.from_dict(candidate), metrics, source)


def export_trials(run_dir: str | Path, trials: list[int] | None = None, pareto: bool = False,
                  output: str | Path | None = None, fmt: str = "yaml") -> list[Path]:
    """Write genome files for the given trials (or the Pareto set); returns their paths.

    One trial and an ``output`` with a file suffix -> that file; otherwise ``output`` is a
    folder (default ``RUN_DIR/export``) that receives ``trial_<N>.<fmt>`` files. ``fmt``
    ``neurosim`` / ``xpert`` writes the network CSV of :func:`cosearch.design_files.network_csv.network_csv`
    (``trial_<N>.csv``; the XPert columns a trial leaves out come from the run's hardware defaults).
    """
    from cosearch.results import load_records, load_table

    table = load_table(run_dir)
    if table.empty:
        raise CosearchError(f"{run_dir}: no finished trials to export")
    records = load_records(run_dir)
    if pareto:
        trials = [int(t) for t in table.loc[table["pareto"], "trial"]]
        if not trials:
            raise CosearchError(f"{run_dir}: the Pareto set is empty (no feasible finished trial)")
    if not trials:
        raise CosearchError("say which trials to export: --trial N (repeatable) or --pareto")
    documents = [trial_document(run_dir, t, table, records) for t in trials]
    out = Path(output) if output else Path(run_dir) / "export"
    if fmt in CSV_FORMATS:
        from cosearch.hw.model import load_hardware_section
        from cosearch.run_dir import RunDirectory

        defaults = load_hardware_section(None, RunDirectory(run_dir).read_config().get("hardware")).defaults
        texts = [network_csv(Candidate.from_dict(doc["candidate"]), fmt, defaults) for doc in documents]
        paths = [out] if len(texts) == 1 and out.suffix.lower() == ".csv" else [out / f"trial_{t}.csv" for t in trials]
        for path, text in zip(paths, texts):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return paths
    if len(documents) == 1 and out.suffix.lower() in (".yaml", ".yml", ".json"):
        return [write_genome(documents[0], out)]
    return [write_genome(doc, out / f"trial_{t}.{fmt}") for t, doc in zip(trials, documents)]


# ------------------------------------------------------------------- build --


def build(genome_or_file: Any, timesteps: int | None = None, **kwargs: Any) -> Any:
    """A freshly initialised torch SNN from a genome file, a genome document, a Candidate or a bare genome.

    Keyword arguments go to :func:`cosearch.snn.build` (``neuron``, ``dtype``). Weights come
    from torch's global RNG: seed it (or load a state dict) for identical weights.
    """
    from cosearch.snn import build as snn_build

    if isinstance(genome_or_file, Candidate):
        candidate = genome_or_file
    elif isinstance(genome_or_file, (str, Path)):
        candidate, _ = read_genome(genome_or_file)
    elif isinstance(genome_or_file, Mapping):
        candidate = candidate_from_document(genome_or_file)
    else:
        raise CosearchError(f"cannot build a network from {type(genome_or_file).__name__}")
    return snn_build(candidate, timesteps, **kwargs)
