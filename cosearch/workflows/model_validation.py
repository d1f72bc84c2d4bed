"""Validation of the accuracy model on a trained-accuracy table: ``cosearch validate EXP.yaml
--benchmark spikenas PATH --calibrate CSV --calibration-size K``.

1. Every usable topology of PATH and of CSV (:mod:`cosearch.tables.spikenas`: 100-epoch cells
   with the direct 0 -> 3 edge, grouped by topology) is scored once by the evaluators the
   experiment lists before its ``accuracy_model`` (all of them when it has none), seeded as the
   search seeds candidates; the metrics are cached in ``OUT/calibration.csv``.
2. The model (the experiment's ``accuracy_model`` options, else the defaults) is fitted on K
   seeded topologies of CSV and ranks every topology of PATH; when PATH and CSV are the same
   table, the K calibration topologies are left out of the ranking.
3. Kendall tau and Spearman rho with bootstrap intervals, on the same ranked topologies, for
   ``accuracy_pred``, every training-free scalar metric (``proxy_*``) and three structural
   baselines: conv edges (before pruning), conv edges after pruning, and the longest chain of
   conv edges on a live input-to-output path (:func:`cosearch.predictor.features.cell_conv_chain`).
   Calibration of the std: the share of ranked topologies within 1 and 2 predicted std.
4. A learning curve: K = 10, 25, 50, 100 x 5 seeds, every model family of
   :data:`cosearch.predictor.model.FAMILIES`, with the baselines on the same held-out topologies.

Outputs in OUT: ``features.csv`` (per topology: accuracy, every feature, scoring CPU seconds),
``topologies.csv`` (the ranked topologies with predictions), ``learning_curve.csv``,
``summary.json`` and ``scatter.html`` (prediction vs trained accuracy with std error bars).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cosearch.core.errors import ConfigError
from cosearch.core.files import write_json
from cosearch.core.ranking import correlate
from cosearch.tables import BENCHMARKS

#: Calibration sizes and seeds of the learning curve.
CURVE_SIZES = (10, 25, 50, 100)
CURVE_SEEDS = 5
#: The structural baselines: column -> what it is.
BASELINES = {"conv_edges_raw": "conv edges (before pruning)", "conv_edges": "conv edges after pruning",
             "conv_chain": "longest conv chain on a live path"}
#: Per-topology columns of ``features.csv`` that are not model features.
TABLE_COLUMNS = ("topology", "test_acc", "test_acc_std", "cells", "conv_edges_raw", "cpu_s")


def _finite(values: Any) -> np.ndarray:
    """A metric as rankable numbers: -inf / inf stay (they rank), NaN becomes -inf."""
    x = np.asarray(values, dtype=float)
    return np.where(np.isnan(x), -np.inf, x)


def model_setup(experiment: Any) -> tuple[Any, dict[str, Any]]:
    """The pipeline context with ``upstream`` = the evaluators before the experiment's ``accuracy_model``
    (all of them when it has none), and that evaluator's options (``{}`` when none)."""
    from cosearch.search.loop import pipeline_spec

    spec = pipeline_spec(experiment)
    names = [name for name, _ in spec.evaluators]
    if "accuracy_model" in names:
        index = names.index("accuracy_model")
        return replace(spec.context, upstream=spec.evaluators[:index]), dict(spec.evaluators[index][1])
    kept = tuple(e for e in spec.evaluators if e[0] not in ("train", "spikenas_lookup"))
    return replace(spec.context, upstream=kept), {}


def feature_table(tables: Sequence[pd.DataFrame], context: Any, out: Path, progress: bool) -> pd.DataFrame:
    """One row per topology of ``tables`` (:func:`cosearch.tables.spikenas.usable_topologies` of PATH and
    CSV): features, accuracy, scoring CPU seconds; scored through the cache ``out/calibration.csv``."""
    from cosearch.evaluators.accuracy_model import feature_scope, upstream_scorer
    from cosearch.predictor.calibration import CalibrationRow, score_rows
    from cosearch.predictor.features import feature_row
    from cosearch.tables import spikenas

    topologies = pd.concat(tables).drop_duplicates("topology").sort_values("topology").reset_index(drop=True)
    rows = [CalibrationRow(spikenas.topology_candidate(t, context.seed, context.common_seed), float(acc), t)
            for t, acc in zip(topologies["topology"], topologies["test_acc"])]
    score_rows(rows, context.upstream, lambda: upstream_scorer(context), out / "calibration.csv", progress)
    scope = feature_scope(context)
    features = pd.DataFrame([feature_row(r.candidate, r.metrics or {}, scope) for r in rows])
    table = pd.DataFrame({"topology": topologies["topology"], "test_acc": topologies["test_acc"],
                          "test_acc_std": topologies["test_acc_std"], "cells": topologies["cells"],
                          "conv_edges_raw": topologies["conv_edges"], "cpu_s": [r.cpu_s for r in rows]})
    return pd.concat([table, features], axis=1)


def _fit_predict(table: pd.DataFrame, train: np.ndarray, test: np.ndarray, family: str, seed: int,
                 features: Sequence[str], restarts: int = 0,
                 max_features: int | str | None = "auto") -> tuple[np.ndarray, np.ndarray, Any]:
    from cosearch.predictor.model import AccuracyModel

    model = AccuracyModel(family, seed, restarts, max_features).fit(table[train], features, table["test_acc"][train].to_numpy(float))
    mean, std = model.predict(table[test])
    return mean, std, model


def coverage(mean: np.ndarray, std: np.ndarray, truth: np.ndarray, k: float) -> float:
    """Share of ``truth`` within ``k`` predicted standard deviations of ``mean``."""
    return float(np.mean(np.abs(truth - mean) <= k * std))


def _masks(table: pd.DataFrame, ranked: set[str], pool: set[str], size: int, seed: int,
           same: bool) -> tuple[np.ndarray, np.ndarray]:
    """Calibration mask (``size`` seeded topologies of ``pool``) and ranked mask (``ranked`` minus
    the calibration ones when both come from one table)."""
    from cosearch.tables.spikenas import sample_topologies

    candidates = table[table["topology"].isin(pool)][["topology"]]
    chosen = set(sample_topologies(candidates.reset_index(drop=True), size, seed)["topology"])
    train = table["topology"].isin(chosen).to_numpy()
    test = table["topology"].isin(ranked).to_numpy() & (~train if same else True)
    return train, test


def run_model_validation(experiment_path: str | Path, benchmark: str, path: str | Path, calibrate: str | Path,
                         calibration_size: int = 50, out_dir: str | Path | None = None, resamples: int = 2000,
                         seed: int | None = None, progress: bool = True, data_root: str | None = None,
                         curve_sizes: Sequence[int] = CURVE_SIZES, curve_seeds: int = CURVE_SEEDS) -> dict[str, Any]:
    """Fit, rank, correlate, learning curve; write the outputs (module docstring); return the summary."""
    import torch

    from cosearch.config import load_experiment
    from cosearch.evaluators.accuracy_model import parse_options
    from cosearch.predictor.model import FAMILIES, MIN_ROWS
    from cosearch.tables import spikenas

    if benchmark not in BENCHMARKS:
        raise ConfigError(str(path), "--benchmark", f"must be one of {', '.join(BENCHMARKS)} (got {benchmark!r})")
    began = time.perf_counter()
    experiment = load_experiment(experiment_path, data={"root": str(Path(data_root).resolve())} if data_root else None)
    seed = experiment.config.seed if seed is None else seed
    context, options = model_setup(experiment)
    settings = parse_options({**options, "calibration": [{"this_run": True}]})  # sources come from the flags here
    path, calibrate = Path(path), Path(calibrate)
    for given, flag in ((path, "--benchmark"), (calibrate, "--calibrate")):
        if not given.exists():
            raise ConfigError(str(given), flag, "no such file or folder (a SpikeNAS-Bench CSV or checkout)")
    out = Path(out_dir) if out_dir else Path("runs") / "validate" / f"{experiment.name}_{benchmark}_model"
    tables = [spikenas.usable_topologies(path), spikenas.usable_topologies(calibrate)]
    ranked_set, pool = (set(t["topology"]) for t in tables)
    same = path.resolve() == calibrate.resolve()
    limit = len(pool) - (2 if same else 0)
    if not MIN_ROWS <= calibration_size <= limit:
        raise ConfigError(str(calibrate), "--calibration-size", f"must be in {MIN_ROWS}..{limit} (the table has "
                          f"{len(pool)} usable topologies{', 2 left to rank' if same else ''}; got {calibration_size})")
    out.mkdir(parents=True, exist_ok=True)
    table = feature_table(tables, context, out, progress)
    table.to_csv(out / "features.csv", index=False)
    features = [c for c in table.columns if c not in TABLE_COLUMNS]
    if settings.features != "all":
        features = list(settings.features)
    metrics = [c for c in features if c.startswith("proxy_") and table[c].nunique() > 1]

    train, test = _masks(table, ranked_set, pool, calibration_size, seed, same)
    fit_began = time.perf_counter()
    mean, std, model = _fit_predict(table, train, test, settings.family, settings.seed, features,
                                   settings.restarts, settings.max_features)
    fit_s = time.perf_counter() - fit_began
    truth = table["test_acc"][test].to_numpy(float)
    ranked = table[test].assign(accuracy_pred=mean, accuracy_pred_std=std).reset_index(drop=True)
    ranked.to_csv(out / "topologies.csv", index=False)

    def corr(values: Any) -> dict[str, Any]:
        return correlate(_finite(values), truth, resamples, seed=seed).summary()

    curve = learning_curve(table, ranked_set, pool, same, features, metrics, curve_sizes, curve_seeds, seed,
                           settings.max_features)
    curve.to_csv(out / "learning_curve.csv", index=False)
    summary = {
        "experiment": experiment.name, "source": str(experiment_path), "seed": seed, "benchmark": benchmark,
        "table": str(path), "calibration_table": str(calibrate), "same_table": same,
        "calibration_size": calibration_size, "n": int(test.sum()), "ci_level": 0.95,
        "model": model.describe(), "metric": "accuracy_pred", **corr(mean),
        "std_coverage": {"1_std": coverage(mean, std, truth, 1.0), "2_std": coverage(mean, std, truth, 2.0)},
        "training_free": {m: corr(ranked[m]) for m in metrics},
        "baselines": {name: {"label": label, **corr(ranked[name])} for name, label in BASELINES.items()},
        "learning_curve": curve_summary(curve), "families": dict(FAMILIES),
        "fit_seconds": fit_s, "predict_ms_per_candidate": predict_ms(model, table),
        "cpu_seconds_per_topology": float(np.nanmean(table["cpu_s"])) if table["cpu_s"].notna().any() else None,
        "threads": torch.get_num_threads(), "load_average": list(os.getloadavg()),
        "wall_time_s": time.perf_counter() - began,
    }
    write_json(out / "summary.json", summary)
    scatter_figure(ranked, summary).write_html(out / "scatter.html", include_plotlyjs=True, full_html=True)
    summary["out_dir"] = str(out)
    return summary


def predict_ms(model: Any, table: pd.DataFrame, repeats: int = 50) -> float:
    """Milliseconds per candidate of one-candidate predictions (features already computed)."""
    row = table.iloc[[0]]
    began = time.perf_counter()
    for _ in range(repeats):
        model.predict(row)
    return 1000.0 * (time.perf_counter() - began) / repeats


def learning_curve(table: pd.DataFrame, ranked: set[str], pool: set[str], same: bool, features: Sequence[str],
                   metrics: Sequence[str], sizes: Sequence[int], seeds: int, seed: int,
                   max_features: int | str | None = "auto") -> pd.DataFrame:
    """Tau of every model family per calibration size and seed, with the best training-free metric's
    and the structural baselines' tau on the same held-out topologies."""
    from cosearch.core.ranking import kendall_tau
    from cosearch.predictor.model import FAMILIES

    rows = []
    for size in sizes:
        if size > len(pool) - (2 if same else 0):
            continue
        for k in range(seeds):
            train, test = _masks(table, ranked, pool, size, seed + k, same)
            truth = table["test_acc"][test].to_numpy(float)
            row: dict[str, Any] = {"calibration_size": size, "seed": seed + k, "ranked": int(test.sum())}
            for family in FAMILIES:
                mean, std, _ = _fit_predict(table, train, test, family, 0, features, max_features=max_features)
                row[f"tau_{family}"] = kendall_tau(mean, truth)
                row[f"coverage2_{family}"] = coverage(mean, std, truth, 2.0)
            for name in (*metrics, *BASELINES):
                row[f"tau_{name}"] = kendall_tau(_finite(table[name][test]), truth)
            rows.append(row)
    return pd.DataFrame(rows)


def curve_summary(curve: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Median of every ``tau_*`` / ``coverage2_*`` column per calibration size."""
    if curve.empty:
        return {}
    columns = [c for c in curve.columns if c.startswith(("tau_", "coverage2_"))]
    medians = curve.groupby("calibration_size")[columns].median()
    return {str(size): {c: float(v) for c, v in row.items()} for size, row in medians.iterrows()}


def scatter_figure(ranked: pd.DataFrame, summary: dict[str, Any]) -> Any:
    """Predicted vs trained accuracy of the ranked topologies, std as error bars."""
    import plotly.graph_objects as go

    from cosearch.dashboard.figures import FRONT_COLOR

    fig = go.Figure(go.Scatter(
        x=ranked["test_acc"], y=ranked["accuracy_pred"], mode="markers",
        error_y=dict(type="data", array=ranked["accuracy_pred_std"], thickness=1, width=0, color="#9db3d6"),
        marker=dict(color=ranked["conv_chain"], colorscale="Blues", cmin=-1, size=9, colorbar=dict(title="conv chain"),
                    line=dict(color=FRONT_COLOR, width=1)),
        text=[f"topology {t}" for t in ranked["topology"]],
        hovertemplate="%{text}<br>trained %{x:.2f} %<br>predicted %{y:.2f} %<extra></extra>"))
    low, high = float(ranked["test_acc"].min()), float(ranked["test_acc"].max())
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", line=dict(color="#bbbbbb", dash="dot"),
                             hoverinfo="skip", showlegend=False))
    fig.update_layout(template="plotly_white", width=820, height=560, showlegend=False,
                      title=dict(text=f"{summary['experiment']}: accuracy model fitted on {summary['calibration_size']} "
                                      f"topologies, {summary['n']} ranked: Kendall tau {summary['kendall_tau']:.3f} "
                                      f"[{summary['kendall_ci'][0]:.2f}, {summary['kendall_ci'][1]:.2f}]",
                                 font=dict(size=14)),
                      xaxis_title="trained test accuracy [%] (SpikeNAS-Bench, mean over the topology's cells)",
                      yaxis_title="predicted accuracy [%] (± 1 std)")
    return fig
