"""Calibration rows of the accuracy model: designs whose trained accuracy is known, and their features.

Sources (an ``accuracy_model`` evaluator's ``calibration:`` list, any mix):

* ``{benchmark: spikenas, path: TABLE, sample: K, seed: S}``: a published table (SpikeNAS-Bench
  CSV or checkout, :mod:`cosearch.tables.spikenas`), one row per usable topology (mean test
  accuracy of its cells, %), ``sample`` seeded topologies of it (default: all). The topology's
  cell is scored in the benchmark's macro network (128 channels, T = 5).
* ``{runs: [RUN_DIR, ...]}``: trained trials of earlier runs (rows with a finite ``accuracy_hw``
  or ``accuracy``, see ``target``), their metrics read from the run, accuracies x 100 (the
  ``train`` evaluator reports fractions; the model works in percent, the tables' scale).
* ``{this_run: true}``: this run's trained trials (a ``train`` evaluator listed before the model):
  the ones already in the run directory when it starts (resume), and each new one as it arrives.

A row's features need the metrics of the evaluators listed before the model (``proxy_*``,
``hw_*``): rows from runs carry them; benchmark rows are scored by those evaluators once, and
the metrics are cached in ``<run dir>/accuracy_model/calibration.csv`` keyed by design, seed and
the evaluators' options, so a resumed run or a second run with the same folder does not score
them again.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from tqdm import tqdm

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import Metrics
from cosearch.core.settings import is_number
from cosearch.predictor.features import is_metric_feature
from cosearch.tables import BENCHMARKS

#: Trained-accuracy columns a run's trial may carry, in order of preference (``target: auto``).
TARGETS = ("accuracy_hw", "accuracy")


class SourceConfig(BaseModel):
    """One ``calibration:`` item (exactly one of ``benchmark``, ``runs``, ``this_run``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    benchmark: str | None = None
    path: str | None = None
    sample: int | None = Field(None, ge=2)
    seed: int = Field(0, ge=0)
    runs: list[str] | None = Field(None, min_length=1)
    this_run: bool = False

    @field_validator("benchmark")
    @classmethod
    def _known(cls, name: str | None) -> str | None:
        if name is not None and name not in BENCHMARKS:
            raise ValueError(f"must be one of {', '.join(BENCHMARKS)} (got {name!r})")
        return name

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        kinds = [self.benchmark is not None, self.runs is not None, self.this_run]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of benchmark (with path), runs (a list of run directories) "
                             "or this_run: true")
        if self.benchmark is not None and self.path is None:
            raise ValueError("a benchmark source needs path: the table (CSV file or checkout)")
        if self.benchmark is None and (self.path is not None or self.sample is not None):
            raise ValueError("path and sample belong to a benchmark source")
        return self


def pydantic_error(exc: ValidationError, prefix: str) -> ConfigError:
    """The first error of a pydantic validation as a ConfigError on ``prefix.<location>``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in (prefix, *first["loc"]) if str(part) != "")
    given = f" (got {first['input']!r})" if first["type"] not in ("value_error", "missing") else ""
    return ConfigError("", where, f"{first['msg']}{given}"[:300])


@dataclass
class CalibrationRow:
    """A design with a trained accuracy.

    Attributes:
        candidate: the design (as the upstream evaluators score it).
        accuracy: trained test accuracy [%].
        origin: where it comes from (table and topology, or run directory and trial).
        metrics: its upstream metrics when known (runs); None until scored (benchmark rows).
        cpu_s: CPU seconds the upstream evaluators took on it (NaN when not scored here).
    """

    candidate: Candidate
    accuracy: float
    origin: str
    metrics: dict[str, Any] | None = field(default=None)
    cpu_s: float = math.nan


def resolve(path: str, base: Path) -> Path:
    """``path`` (``~`` expanded) relative to ``base`` unless absolute."""
    given = Path(path).expanduser()
    return given if given.is_absolute() else base / given


def benchmark_rows(source: SourceConfig, base: Path, seed: int, common_seed: bool, where: str) -> list[CalibrationRow]:
    """The rows of a ``benchmark`` source (topologies of the table, seeded as the loop seeds candidates)."""
    from cosearch.tables import spikenas

    assert source.path is not None
    path = resolve(source.path, base)
    if not path.exists():
        raise ConfigError(str(path), f"{where}.path", "no such file or folder (a SpikeNAS-Bench CSV or checkout)")
    topologies = spikenas.usable_topologies(path)
    topologies = spikenas.sample_topologies(topologies, source.sample, source.seed)
    return [CalibrationRow(spikenas.topology_candidate(t, seed, common_seed), float(acc), f"{path}:{t}")
            for t, acc in zip(topologies["topology"], topologies["test_acc"])]


def target_of(row: Mapping[str, Any], target: str) -> float:
    """A trial row's trained accuracy [fraction] under ``target`` (``auto``: the first finite of
    :data:`TARGETS`); NaN when it has none."""
    for name in (TARGETS if target == "auto" else (target,)):
        value = row.get(name)
        if is_number(value):
            return float(value)
    return math.nan


def trained_rows(table: pd.DataFrame, records: Mapping[int, Mapping[str, Any]], target: str,
                 origin: str) -> list[CalibrationRow]:
    """Rows of a results table whose trial was trained (finite target), accuracy in percent."""
    rows = []
    for record in table.to_dict("records"):
        accuracy = target_of(record, target)
        candidate = (records.get(int(record["trial"])) or {}).get("candidate")
        if math.isnan(accuracy) or candidate is None:
            continue
        metrics = {k: v for k, v in record.items() if is_metric_feature(k, v) and not _is_nan(v)}
        rows.append(CalibrationRow(Candidate.from_dict(candidate), 100.0 * accuracy,
                                   f"{origin} trial {record['trial']}", metrics))
    return rows


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def run_rows(run: Path, target: str, where: str) -> list[CalibrationRow]:
    """Trained rows of one run directory."""
    from cosearch.results import load_results

    if not (run / "config.yaml").is_file():
        raise ConfigError(str(run), where, "not a run directory (no config.yaml): give a folder `cosearch run` wrote")
    results = load_results(run)
    return trained_rows(results.table, results.records, target, str(run))


def design_key(candidate: Candidate, upstream: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Cache key of a design's upstream metrics: its design, evaluation seed and the evaluators' options."""
    text = json.dumps({"design": candidate.design(), "seed": candidate.seed, "upstream": [list(u) for u in upstream]},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def score_rows(rows: Sequence[CalibrationRow], upstream: Sequence[tuple[str, Mapping[str, Any]]],
               scorer: Callable[[], Callable[[Candidate], Metrics]], cache: Path | None, progress: bool = True) -> None:
    """Fill ``metrics`` of every row that lacks them with the upstream evaluators' metrics (in place),
    reading and extending the cache file ``cache`` (CSV: ``key``, ``cpu_s`` and one column per scalar
    metric; keys by :func:`design_key` with ``upstream``, the evaluators' names and options).
    ``scorer()`` builds the function that scores one design, called at the first design not cached."""
    missing = [row for row in rows if row.metrics is None]
    if not missing:
        return
    cached: dict[str, dict[str, Any]] = {}
    cpu: dict[str, float] = {}
    if cache is not None and cache.is_file():
        try:
            table = pd.read_csv(cache)
            cached = {str(r.pop("key")): r for r in table.to_dict("records")}
            cpu = {key: float(r.pop("cpu_s", math.nan)) for key, r in cached.items()}
        except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, UnicodeDecodeError):
            cached, cpu = {}, {}  # a damaged cache is rebuilt
    score: Callable[[Candidate], Metrics] | None = None
    fresh = False
    for row in tqdm(missing, desc="calibration designs", unit="design", file=sys.stderr, disable=not progress,
                    dynamic_ncols=True):
        key = design_key(row.candidate, upstream)
        if key not in cached:  # a design scores once (topologies that prune to one cell are one design)
            if score is None:
                score = scorer()
            began = time.process_time()
            metrics = score(row.candidate)
            cpu[key] = time.process_time() - began
            cached[key] = {k: float(v) for k, v in metrics.items() if is_metric_feature(k, v)}
            fresh = True
        row.metrics = {k: v for k, v in cached[key].items() if not _is_nan(v)}
        row.cpu_s = cpu.get(key, math.nan)
    if fresh and cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        table = pd.DataFrame([{"key": k, "cpu_s": cpu.get(k, math.nan), **v} for k, v in cached.items()])
        tmp = cache.with_suffix(".tmp")
        table.to_csv(tmp, index=False)
        tmp.replace(cache)
