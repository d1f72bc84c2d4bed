"""Statistics of the proxy validation harnesses' ``summary.json`` (:mod:`cosearch.workflows.validate`).

The rank statistics themselves (Kendall tau-b, Spearman rho, bootstrap intervals) are
:mod:`cosearch.core.ranking`; here they are applied to a harness's table and gathered with the
accuracy range and the proxy's time per candidate, in the order the summary lists them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cosearch.core.ranking import correlate

#: Structural baselines of a benchmark validation: summary key -> column of ``topologies.csv``.
BASELINES: tuple[tuple[str, str], ...] = (("baseline", "conv_edges"), ("baseline_pruned", "conv_edges_pruned"))


def accuracy_range(accuracies: np.ndarray) -> dict[str, float]:
    """``test_acc_mean``, ``test_acc_min`` and ``test_acc_max`` of ``accuracies``."""
    return {"test_acc_mean": float(np.mean(accuracies)), "test_acc_min": float(np.min(accuracies)),
            "test_acc_max": float(np.max(accuracies))}


def training_statistics(table: Any, resamples: int, seed: int) -> dict[str, Any]:
    """A training validation's ``n``, Kendall tau and Spearman rho of ``proxy_score`` against
    ``test_acc`` with their bootstrap intervals and ``ci_level``, and the accuracy range
    (``table``: the rows of ``candidates.csv``)."""
    accuracies = table["test_acc"].to_numpy(float)
    stats = correlate(table["proxy_score"].to_numpy(float), accuracies, resamples, seed=seed)
    return {"n": stats.n, **stats.summary(), "ci_level": stats.level, **accuracy_range(accuracies)}


def benchmark_statistics(topologies: Any, metric: str, sign: int, resamples: int, seed: int) -> dict[str, Any]:
    """A benchmark validation's rank correlations with the topologies' ``test_acc``: of ``sign *
    metric`` (so tau > 0 means it ranks like accuracy) and of each of :data:`BASELINES` (with its
    column ``name``); the accuracy range; the proxy's wall seconds per candidate (mean and median)
    and CPU seconds (mean). ``topologies``: the rows of ``topologies.csv``."""
    accuracies = topologies["test_acc"].to_numpy(float)
    times = topologies["proxy_time_s"].to_numpy(float)

    def against_accuracy(values: np.ndarray) -> dict[str, Any]:
        return correlate(values, accuracies, resamples, seed=seed).summary()

    return {
        **against_accuracy(sign * topologies[metric].to_numpy(float)),
        **{key: {"name": column, **against_accuracy(topologies[column].to_numpy(float))} for key, column in BASELINES},
        **accuracy_range(accuracies),
        "seconds_per_candidate": float(np.mean(times)), "seconds_per_candidate_median": float(np.median(times)),
        "cpu_seconds_per_candidate": float(topologies["proxy_cpu_s"].mean()),
    }
