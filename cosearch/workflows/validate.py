"""Proxy validation: does the training-free score rank architectures like trained accuracy does?

``run_validation`` draws K candidates from an experiment's space (Optuna random sampler seeded
by the experiment seed), scores each with the proxy at the experiment's proxy settings, trains
each for E epochs at a reduced channel scale (:mod:`cosearch.training`) and reports Kendall's tau-b
and Spearman's rho between score and test accuracy, each with a percentile bootstrap interval.

Statistics: :mod:`cosearch.core.ranking` (Kendall tau-b, Spearman rho, bootstrap intervals),
gathered for ``summary.json`` by :mod:`cosearch.workflows.validation_stats`; figures:
:mod:`cosearch.workflows.validation_plots`. This module holds the orchestration.

Outputs in the output folder: ``candidates.csv`` (one row per candidate), ``summary.json``
(statistics, settings, run time), ``scatter.html`` (self-contained Plotly figure) and
``train/cand_<i>/`` (checkpoints and metrics; a rerun skips finished candidates).

``run_benchmark_validation`` takes trained accuracies from a published table instead of
training (SpikeNAS-Bench, :mod:`cosearch.tables.spikenas`): it scores one cell per topology
(:func:`score_topologies`) and writes ``topologies.csv``, ``summary.json`` (also two trivial
baselines, the number of conv edges before and after pruning, and seconds per candidate) and
``scatter.html``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cosearch.core.files import write_json
from cosearch.tables import BENCHMARKS
from cosearch.workflows.validation_plots import benchmark_scatter_figure, scatter_figure
from cosearch.workflows.validation_stats import benchmark_statistics, training_statistics

# ----------------------------------------------------------------- settings --


@dataclass(frozen=True)
class ValidateSettings:
    """Budget of a validation run. Defaults fit a 2-core CPU in <= 30 min (docs/validation.md).

    Attributes:
        sample: K candidates drawn from the space.
        epochs: E training epochs per candidate.
        channel_scale: training fidelity (channels x this).
        train_size: training images (seeded subset of the train split).
        test_size: test images (None = the whole test split).
        batch_size: SGD batch.
        device: ``cpu`` or ``cuda``.
        resamples: bootstrap resamples.
        seed: overrides the experiment seed when set.
    """

    sample: int = 8
    epochs: int = 2
    channel_scale: float = 0.125
    train_size: int | None = 1024
    test_size: int | None = None
    batch_size: int = 64
    device: str = "cpu"
    resamples: int = 2000
    seed: int | None = None


def sample_candidates(space: Any, count: int, seed: int, max_tries: int = 1000, common_seed: bool = False) -> list[Any]:
    """``count`` distinct candidates from ``space`` (Optuna RandomSampler seeded by ``seed``), each with
    the evaluation seed the search loop would give it (:func:`cosearch.core.seeds.evaluation_seed`)."""
    import optuna

    from cosearch.core.errors import InvalidCandidate
    from cosearch.core.seeds import evaluation_seed

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found, seen = [], set()
    for number in range(max_tries):
        trial = study.ask()
        try:
            candidate = space.sample(trial, seed=evaluation_seed(seed, common_seed, 0, number))
        except InvalidCandidate:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, 0.0)
        key = json.dumps(candidate.design(), sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        found.append(candidate)
        if len(found) == count:
            return found
    from cosearch.core.errors import CosearchError

    raise CosearchError(f"could draw only {len(found)} distinct valid candidates of {count} in {max_tries} tries")


def _proxy_settings(experiment: Any) -> Any:
    from cosearch.proxy import ProxySettings

    options: dict[str, Any] = dict(experiment.config.proxy)
    for evaluator in experiment.config.evaluators:
        if evaluator.type == "proxy":
            options.update(evaluator.options or {})
    return ProxySettings.from_mapping(options, str(experiment.source))


def _data_section(experiment: Any) -> dict[str, Any]:
    data = experiment.config.data.model_dump()
    if data.get("root") is not None:
        root = Path(str(data["root"])).expanduser()
        data["root"] = str(root if root.is_absolute() else Path(experiment.source).parent / root)
    return data


def _same_training(done: dict[str, Any] | None, candidate: Any, train: Any) -> bool:
    """A finished ``metrics.json`` of this candidate trained with these settings (so a rerun may reuse it)."""
    if done is None or done.get("candidate") != candidate.to_dict():
        return False
    keys = ("epochs", "batch_size", "channel_scale", "train_size", "test_size", "lr", "augment", "seed")
    return all(done.get("settings", {}).get(k) == getattr(train, k) for k in keys)


def _validate_candidate(index: int, count: int, candidate: Any, out: Path, train_images: Any, test_images: Any,
                        proxy: Any, settings: ValidateSettings, progress: bool) -> dict[str, Any]:
    """Score candidate ``index`` (of ``count``) with the proxy and train it in ``out/train/cand_<index>``
    (a finished training with the same settings is reused); its row of ``candidates.csv``."""
    import sys

    from cosearch.proxy import proxy_score
    from cosearch.training import TrainSettings, read_metrics, train_candidate

    label = f"[{index + 1}/{count}] "
    folder = out / "train" / f"cand_{index}"
    t0 = time.perf_counter()
    score = proxy_score(candidate, train_images, proxy)
    proxy_s = time.perf_counter() - t0
    train = TrainSettings(epochs=settings.epochs, batch_size=settings.batch_size,
                          channel_scale=settings.channel_scale, train_size=settings.train_size,
                          test_size=settings.test_size, device=settings.device, seed=candidate.seed)
    done = read_metrics(folder)
    if not _same_training(done, candidate, train):
        # an interrupted training of this candidate resumes; one finished with other settings restarts
        result = train_candidate(candidate, train_images, test_images, train, folder, resume=done is None,
                                 progress=progress, label=label)
        done = {"test_acc": result.test_acc, "train_time_s": result.train_time_s, "history": result.history}
    assert done is not None  # read back, or just trained
    last = done["history"][-1] if done.get("history") else {}
    if progress:
        print(f"{label}proxy {score.score:.4g}, test acc {done['test_acc']:.4f}", file=sys.stderr)
    return {
        "candidate": index, "arch": candidate.arch, "timesteps": candidate.timesteps, "seed": candidate.seed,
        "genome": json.dumps(candidate.to_dict()["network"], sort_keys=True),
        "proxy_score": score.score, "proxy_firing_rate": score.firing_rate, "proxy_time_s": proxy_s,
        "test_acc": done["test_acc"], "train_loss": last.get("train_loss", math.nan),
        "train_acc": last.get("train_acc", math.nan), "train_time_s": done.get("train_time_s", math.nan),
    }


def run_validation(experiment_path: str | Path, settings: ValidateSettings, out_dir: str | Path | None = None,
                   progress: bool = True, data_root: str | None = None) -> dict[str, Any]:
    """Sample, score, train, correlate; write the outputs; return the summary."""
    import pandas as pd
    import torch

    from cosearch.config import load_experiment
    from cosearch.data import load_dataset

    began = time.perf_counter()
    experiment = load_experiment(experiment_path, data={"root": str(Path(data_root).resolve())} if data_root else None)
    seed = experiment.config.seed if settings.seed is None else settings.seed
    out = Path(out_dir) if out_dir else Path("runs") / "validate" / experiment.name
    out.mkdir(parents=True, exist_ok=True)
    data = _data_section(experiment)
    train_images = load_dataset(data, split="train")
    test_images = load_dataset(data, split="test")
    proxy = _proxy_settings(experiment)
    candidates = sample_candidates(experiment.phases[0].space, settings.sample, seed,
                                   common_seed=experiment.config.common_seed)
    table = pd.DataFrame([_validate_candidate(index, len(candidates), candidate, out, train_images, test_images, proxy,
                                              settings, progress) for index, candidate in enumerate(candidates)])
    table.to_csv(out / "candidates.csv", index=False)
    summary = {
        "experiment": experiment.name, "source": str(experiment_path), "seed": seed,
        **training_statistics(table, settings.resamples, seed),
        "settings": asdict(settings), "proxy": proxy.model_dump(),
        "train_images": min(len(train_images), settings.train_size or len(train_images)),
        "test_images": min(len(test_images), settings.test_size or len(test_images)),
        "wall_time_s": time.perf_counter() - began, "threads": torch.get_num_threads(),
    }
    write_json(out / "summary.json", summary)
    scatter_figure(table, summary).write_html(out / "scatter.html", include_plotlyjs=True, full_html=True)
    summary["out_dir"] = str(out)
    return summary


# ------------------------------------------------- trained-accuracy tables --


def score_topologies(candidates: Sequence[Any], images: Any, proxy: Any, progress: bool = True,
                     metric: str = "proxy_score", hardware: Any = None) -> list[dict[str, float]]:
    """Proxy score, ``metric`` (a scalar proxy metric; with ``proxy.noise`` a noisy one, priced on
    ``hardware``), firing rate, wall seconds and CPU seconds (this process, all threads) of each
    candidate, with a progress bar on stderr. CPU seconds are robust to other processes sharing the cores."""
    import sys

    from tqdm import tqdm

    from cosearch.proxy import proxy_score

    rows = []
    bar = tqdm(candidates, desc="proxy", unit="cand", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    for candidate in bar:
        t0, c0 = time.perf_counter(), time.process_time()
        result = proxy_score(candidate, images, proxy, hardware)
        value = float(result.metrics()[metric])
        rows.append({"proxy_score": result.score, metric: value, "proxy_firing_rate": result.firing_rate,
                     "proxy_time_s": time.perf_counter() - t0, "proxy_cpu_s": time.process_time() - c0})
        bar.set_postfix_str(f"{metric}={value:.4g}", refresh=False)
    return rows


def benchmark_metric(experiment: Any, metric: str | None) -> tuple[str, int]:
    """The metric the harness ranks topologies by and its sign (+1: higher predicts higher accuracy).

    Default: the experiment's first objective that is a proxy metric (its accuracy objective), else
    ``proxy_score``. The sign is -1 when that objective (or, for a named metric that is one, its
    objective) is minimised. ConfigError for a metric that is not a scalar proxy metric.
    """
    from cosearch.core.errors import ConfigError
    from cosearch.proxy.score import CLEAN_METRICS, NOISY_METRICS, PER_LAYER_METRICS

    scalar = [m for m in (*CLEAN_METRICS, *NOISY_METRICS) if m not in PER_LAYER_METRICS]
    objectives = {o.metric: o.direction for o in experiment.config.objectives}
    if metric is None:
        metric = next((m for m in objectives if m in scalar), "proxy_score")
    if metric not in scalar:
        raise ConfigError(str(experiment.source), "--metric", f"must be a scalar proxy metric, one of "
                                                              f"{', '.join(scalar)} (got {metric!r})")
    return metric, -1 if objectives.get(metric) == "minimize" else 1


def _usable_topologies(table: Any, path: str | Path, sample: int | None, seed: int) -> tuple[Any, Any]:
    """The usable cells of a trained-accuracy ``table`` and its topologies to rank (``sample`` of them,
    seeded; None = all). ConfigError for fewer than 2 topologies to rank."""
    from cosearch.core.errors import ConfigError
    from cosearch.tables import spikenas

    cells = spikenas.usable_cells(table)
    topologies = spikenas.topology_table(cells)
    if len(topologies) < 2:  # one topology has no rank correlation (NaN in summary.json)
        raise ConfigError(table.source, "", f"needs at least 2 usable topologies to rank (found {len(topologies)} "
                          f"in {len(cells)} usable cell(s))")
    if sample is not None and sample < 2 and sample < len(topologies):
        raise ConfigError(str(path), "--sample", f"must be at least 2 topologies (got {sample})")
    return cells, spikenas.sample_topologies(topologies, sample, seed)


def run_benchmark_validation(experiment_path: str | Path, benchmark: str, path: str | Path,
                             out_dir: str | Path | None = None, sample: int | None = None, resamples: int = 2000,
                             seed: int | None = None, progress: bool = True,
                             data_root: str | None = None, metric: str | None = None) -> dict[str, Any]:
    """Score every usable topology of a trained-accuracy table with the experiment's proxy settings and
    correlate ``metric`` with the table's mean test accuracy per topology (and the conv-edge count
    baselines).

    ``metric`` (:func:`benchmark_metric`): default the experiment's proxy objective, e.g.
    ``proxy_accuracy_estimate`` for the hardware-aware experiments; a minimised one is negated, so
    tau > 0 means it ranks like accuracy. The table holds accuracies of software networks: a noisy
    metric ranks each cell on the cards' default mapping of the experiment's ``hardware`` section,
    and a clean one switches the noisy pass off (it would only cost time).
    ``sample``: a seeded random subset of that many topologies (None = all). Writes
    ``topologies.csv``, ``summary.json`` and ``scatter.html`` to ``out_dir`` (default
    ``runs/validate/<experiment name>_<benchmark>``); returns the summary.
    """
    import os

    import pandas as pd
    import torch

    from cosearch.config import load_experiment
    from cosearch.core.errors import ConfigError
    from cosearch.data import load_dataset
    from cosearch.hw import load_hardware_section
    from cosearch.proxy.score import NOISY_METRICS
    from cosearch.tables import spikenas

    if benchmark not in BENCHMARKS:
        raise ConfigError(str(path), "--benchmark", f"must be one of {', '.join(BENCHMARKS)} (got {benchmark!r})")
    began = time.perf_counter()
    table = spikenas.read_benchmark(path)
    experiment = load_experiment(experiment_path, data={"root": str(Path(data_root).resolve())} if data_root else None)
    seed = experiment.config.seed if seed is None else seed
    cells, topologies = _usable_topologies(table, path, sample, seed)
    out = Path(out_dir) if out_dir else Path("runs") / "validate" / f"{experiment.name}_{benchmark}"
    out.mkdir(parents=True, exist_ok=True)
    metric, sign = benchmark_metric(experiment, metric)
    noisy = metric in NOISY_METRICS
    proxy = _proxy_settings(experiment).model_copy(update={"noise": noisy})
    hardware = load_hardware_section(experiment.project_dir, experiment.config.hardware) if noisy else None
    images = load_dataset(_data_section(experiment), split="train")
    common = experiment.config.common_seed
    candidates = [spikenas.topology_candidate(t, seed, common) for t in topologies["topology"]]
    scored = pd.DataFrame(score_topologies(candidates, images, proxy, progress, metric, hardware))
    topologies = topologies.assign(edge_op=[" ".join(map(str, ops)) for ops in topologies["edge_op"]],
                                   seed=[c.seed for c in candidates], **{k: scored[k] for k in scored.columns})
    topologies.to_csv(out / "topologies.csv", index=False)
    summary = {
        "experiment": experiment.name, "source": str(experiment_path), "seed": seed,
        "benchmark": benchmark, "table": table.source, "layout": table.layout,
        "cells_read": len(table.cells), "cells_used": len(cells), "topologies_usable": int(cells["topology"].nunique()),
        "n": len(topologies), "ci_level": 0.95, "metric": metric, "metric_sign": sign, "common_seed": common,
        **benchmark_statistics(topologies, metric, sign, resamples, seed),
        "proxy": proxy.model_dump(), "threads": torch.get_num_threads(), "load_average": list(os.getloadavg()),
        "wall_time_s": time.perf_counter() - began,
    }
    write_json(out / "summary.json", summary)
    benchmark_scatter_figure(topologies, summary).write_html(out / "scatter.html", include_plotlyjs=True,
                                                             full_html=True)
    summary["out_dir"] = str(out)
    return summary
