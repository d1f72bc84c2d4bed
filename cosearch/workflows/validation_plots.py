"""Figures of the proxy validation harnesses (:mod:`cosearch.workflows.validate`).

Self-contained Plotly scatter plots in the dashboard's style: proxy score (or the ranked metric)
against trained accuracy, written as ``scatter.html`` by :func:`~cosearch.workflows.validate.run_validation`
(:func:`scatter_figure`) and :func:`~cosearch.workflows.validate.run_benchmark_validation`
(:func:`benchmark_scatter_figure`).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def scatter(scores: Any, accuracies: Any, labels: Any, title: str, y_title: str, color: Any = None,
            color_title: str = "", x_title: str = "proxy score (log|det K|, higher is better)") -> Any:
    """Self-contained Plotly scatter of proxy score vs accuracy in the dashboard's style (non-finite
    scores left out, counted in the title); ``color`` (optional) shades the markers."""
    import plotly.graph_objects as go

    from cosearch.dashboard.figures import FRONT_COLOR

    x = np.asarray(scores, dtype=float)
    finite = np.isfinite(x)
    marker: dict[str, Any] = dict(color=FRONT_COLOR, size=10, opacity=0.85)
    if color is not None:
        marker.update(color=np.asarray(color)[finite], colorscale="Blues", cmin=-1,
                      colorbar=dict(title=color_title), line=dict(color=FRONT_COLOR, width=1))
    fig = go.Figure(go.Scatter(
        x=x[finite], y=np.asarray(accuracies, dtype=float)[finite], mode="markers", marker=marker,
        text=np.asarray(labels, dtype=object)[finite],
        hovertemplate="%{text}<br>score %{x:.4g}<br>accuracy %{y:.3f}<extra></extra>",
    ))
    dropped = int((~finite).sum())
    fig.update_layout(template="plotly_white",
                      title=dict(text=title + (f" ({dropped} with score -inf not drawn)" if dropped else ""),
                                 font=dict(size=14)),
                      xaxis_title=x_title, yaxis_title=y_title,
                      width=820, height=520)
    return fig


def benchmark_scatter_figure(topologies: Any, summary: dict[str, Any]) -> Any:
    """The ranked metric vs mean trained accuracy, one marker per topology, shaded by its conv-edge count
    (``topologies.csv`` and ``summary.json`` of :func:`run_benchmark_validation`)."""
    metric = summary["metric"]
    title = (f"{summary['experiment']} on {summary['benchmark']} ({summary['n']} topologies): Kendall tau "
             f"{summary['kendall_tau']:.3f} [{summary['kendall_ci'][0]:.2f}, {summary['kendall_ci'][1]:.2f}]; "
             f"conv-edge baseline {summary['baseline']['kendall_tau']:.3f}")
    return scatter(topologies[metric], topologies["test_acc"], [f"topology {t}" for t in topologies["topology"]],
                   title, "mean test accuracy of the topology's cells [%] (100 epochs)",
                   color=topologies["conv_edges"], color_title="conv edges",
                   x_title=f"{metric} ({'lower' if summary['metric_sign'] < 0 else 'higher'} is better)")


def scatter_figure(table: Any, summary: dict[str, Any]) -> Any:
    """Proxy score vs test accuracy of a training validation, one marker per candidate."""
    labels = [f"candidate {c} (T={t})" for c, t in zip(table["candidate"], table["timesteps"])]
    title = (f"{summary['experiment']}: Kendall tau {summary['kendall_tau']:.3f} "
             f"[{summary['kendall_ci'][0]:.2f}, {summary['kendall_ci'][1]:.2f}], Spearman rho "
             f"{summary['spearman_rho']:.3f} [{summary['spearman_ci'][0]:.2f}, {summary['spearman_ci'][1]:.2f}], "
             f"n={summary['n']}")
    return scatter(table["proxy_score"], table["test_acc"], labels, title,
                   f"test accuracy after {summary['settings']['epochs']} epochs")
