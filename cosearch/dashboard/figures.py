"""Plotly figures drawn from the data of :mod:`cosearch.dashboard.data` and ``.design``.

Every function takes plain data and returns a ``go.Figure``; none reads a run directory.
Point ``customdata`` is the table's ``trial`` id, so a click can select a design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.colors import hex_to_rgb, qualitative
from plotly.subplots import make_subplots

from cosearch.dashboard.data import (
    STATUSES,
    CompareSeries,
    Dimension,
    FrontInfo,
    HypervolumeInfo,
    metric_label,
    metric_unit,
)
from cosearch.dashboard.design import DEFAULT_MARK, MAP_KEYS, Breakdown, CellGraph

FRONT_COLOR = "#1f5fa8"
INFEASIBLE_COLOR = "#9a9a9a"
BASELINE_COLOR = "#e07b00"
BACKWARD_COLOR = "#c0392b"
TRAINED_COLOR = "#1b7837"  # accuracy measured by training, beside its prediction
DEVICE_COLORS = {"sram": "#dbe9f6", "pcm": "#fde2c8", "fefet": "#d9f0d3", "rram": "#eadcf2"}
PALETTE = qualitative.Plotly + qualitative.D3


def log_scale(values: Sequence[float] | np.ndarray) -> bool:
    """Whether an axis reads better in log scale: positive values spanning 50x or more."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return bool(len(finite)) and finite.min() > 0 and finite.max() / finite.min() >= 50


def _axis_type(values: Sequence[float] | np.ndarray, metric: str = "") -> str:
    """Axis type of ``metric``'s values: percentages (``accuracy_pred``) always linear, else :func:`log_scale`."""
    return "log" if metric_unit(metric) != "%" and log_scale(values) else "linear"


#: d3 format of numeric parallel-coordinates ticks: 3 significant digits, plain exponent (1.2e+12).
PARALLEL_TICKS = ".3~g"

BOTTOM_LEGEND = dict(orientation="h", yanchor="top", y=-0.16, x=0)


def axis_title(metric: str, direction: str) -> str:
    """Label with the good direction: ``hw_energy_pj ↓`` / ``proxy_score ↑``."""
    return f"{metric} {'↑' if direction == 'maximize' else '↓'}"


def axis_label(metric: str, direction: str) -> str:
    """Axis title of a metric (:func:`~cosearch.dashboard.data.metric_label`) with the good
    direction: ``hw_energy_pj ↓``, ``predicted accuracy [%] ↑``."""
    return axis_title(metric_label(metric), direction)


# ------------------------------------------------------------ Pareto ----

_STYLE = {
    "pareto": dict(name="Pareto", marker=dict(color=FRONT_COLOR, size=9, opacity=1.0,
                                              line=dict(color="white", width=1))),
    "dominated": dict(name="dominated", marker=dict(color=FRONT_COLOR, size=6, opacity=0.25)),
    "infeasible": dict(name="infeasible", marker=dict(color=INFEASIBLE_COLOR, size=6, opacity=0.35, symbol="x")),
}
_STYLE_3D = dict(name="infeasible", marker=dict(color=INFEASIBLE_COLOR, size=3, opacity=0.35, symbol="circle-open"))
#: Error-bar colour per status (marker opacity does not fade error bars) and fill of a trained point's diamond.
_FADED = {"pareto": FRONT_COLOR, "dominated": "rgba(31,95,168,0.35)", "infeasible": "rgba(154,154,154,0.5)"}


def pareto_figure(info: FrontInfo) -> go.Figure:
    """Scatter of one run's trials on two or three objectives: front solid, the rest faded,
    baselines as labelled stars; in 2-D a staircase through the plotted axes' own front.

    With ``accuracy_pred`` (``info.accuracy``): its ``accuracy_pred_std`` as error bars, trained
    trials as outlined diamonds and, on an ``accuracy_pred`` axis, each trained value [%] as a small
    green marker linked to its prediction (:func:`_trained_traces`)."""
    three = len(info.metrics) == 3
    scatter = go.Scatter3d if three else go.Scatter
    status = np.array(info.status)
    baseline = np.array(info.baseline, dtype=object)
    trained = info.accuracy.trained if info.accuracy is not None else np.zeros(len(status), dtype=bool)
    fig = go.Figure()
    if not three and info.axes_front.any():
        front = np.flatnonzero(info.axes_front)
        front = front[np.argsort(info.values[front, 0], kind="stable")]
        shape = "hv" if info.directions[0] == "minimize" else "vh"
        fig.add_trace(go.Scatter(x=info.values[front, 0].tolist(), y=info.values[front, 1].tolist(), mode="lines",
                                 line=dict(color=FRONT_COLOR, width=1, dash="dot", shape=shape),
                                 name="front of these axes", hoverinfo="skip"))
    for name in reversed(STATUSES):  # the front drawn last, on top
        keep = np.flatnonzero((status == name) & (baseline == "") & ~trained)
        fig.add_trace(scatter(**_coords(info, keep), mode="markers", customdata=info.trials[keep].tolist(),
                              hovertext=[info.hover[i] for i in keep], hoverinfo="text",
                              **_errors(info.errors, keep, _FADED[name]),
                              **(_STYLE_3D if three and name == "infeasible" else _STYLE[name])))
    if trained.any():
        fig.add_traces(_trained_traces(info, status, baseline))
    marked = np.flatnonzero(baseline != "")
    if len(marked):
        fig.add_trace(scatter(
            **_coords(info, marked), mode="markers+text", name="baselines", text=baseline[marked].tolist(),
            textposition="top center", customdata=info.trials[marked].tolist(),
            hovertext=[info.hover[i] for i in marked], hoverinfo="text", **_errors(info.errors, marked, BASELINE_COLOR),
            marker=dict(color=BASELINE_COLOR, size=8 if three else 14, symbol="diamond" if three else "star",
                        line=dict(color="black", width=1)),
        ))
    titles = [axis_label(m, d) for m, d in zip(info.metrics, info.directions)]
    if three:
        axes = {f"{a}axis": dict(title=dict(text=t)) for a, t in zip("xyz", titles)}  # 3-D log ticks clutter
        fig.update_layout(scene=dict(**axes, aspectmode="cube", camera=dict(eye=dict(x=1.7, y=1.7, z=1.1))),
                          height=500, margin=dict(l=0, r=0, t=10, b=60))
    else:
        fig.update_layout(xaxis=dict(title=dict(text=titles[0]), type=_axis_type(info.values[:, 0], info.metrics[0])),
                          yaxis=dict(title=dict(text=titles[1]), type=_axis_type(info.values[:, 1], info.metrics[1])),
                          height=500, margin=dict(l=60, r=20, t=20, b=40))
    fig.update_layout(legend=BOTTOM_LEGEND)
    return fig


def _coords(info: FrontInfo, rows: np.ndarray) -> dict[str, list[float]]:
    return {axis: info.values[rows, k].tolist() for k, axis in zip(range(len(info.metrics)), "xyz")}


def _errors(errors: Sequence[np.ndarray | None], rows: np.ndarray, color: str) -> dict[str, dict]:
    """``error_x``/``error_y``/``error_z`` of a trace of points ``rows`` (one standard deviation);
    empty for axes without errors or where none of these points has one."""
    out = {}
    for axis, error in zip("xyz", errors):
        if error is not None and np.isfinite(error[rows]).any():
            out[f"error_{axis}"] = dict(type="data", array=error[rows].tolist(), visible=True, color=color,
                                        thickness=1, width=2)
    return out


def _fade(color: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r,g,b,alpha)``: error bars ignore the marker's opacity."""
    r, g, b = hex_to_rgb(color)
    return f"rgba({r},{g},{b},{alpha})"


def _trained_traces(info: FrontInfo, status: np.ndarray, baseline: np.ndarray) -> list[go.Scatter | go.Scatter3d]:
    """Trained trials: outlined diamonds (baselines keep their star) and, when ``accuracy_pred`` is
    an axis, the trained accuracy [%] as a small green marker on that axis, linked to the prediction."""
    assert info.accuracy is not None
    three = len(info.metrics) == 3
    scatter = go.Scatter3d if three else go.Scatter
    rows = np.flatnonzero(info.accuracy.trained)
    traces: list[go.Scatter | go.Scatter3d] = []
    k = info.accuracy_axis
    measured = info.values.copy()
    if k is not None:
        measured[:, k] = info.accuracy.measured
        links: dict[str, list[float | None]] = {axis: [] for axis in "xyz"[: len(info.metrics)]}
        for i in rows:
            for j, axis in enumerate(links):
                links[axis] += [float(info.values[i, j]), float(measured[i, j]), None]
        traces.append(scatter(**links, mode="lines", line=dict(color=TRAINED_COLOR, width=1), hoverinfo="skip",
                              name="trained vs predicted", legendgroup="trained", showlegend=False))
    diamonds = rows[baseline[rows] == ""]
    if len(diamonds):
        traces.append(scatter(
            **_coords(info, diamonds), mode="markers", name="trained", legendgroup="trained",
            customdata=info.trials[diamonds].tolist(), hovertext=[info.hover[i] for i in diamonds], hoverinfo="text",
            **_errors(info.errors, diamonds, FRONT_COLOR),
            marker=dict(symbol="diamond", size=6 if three else 12, color=[_FADED[s] for s in status[diamonds]],
                        line=dict(color="black", width=1.5)),
        ))
    if k is not None:
        traces.append(scatter(
            **{axis: measured[rows, j].tolist() for j, axis in enumerate("xyz"[: len(info.metrics)])},
            mode="markers", name="trained accuracy [%]", legendgroup="trained",
            customdata=info.trials[rows].tolist(), hovertext=[info.hover[i] for i in rows], hoverinfo="text",
            marker=dict(color=TRAINED_COLOR, size=3 if three else 7, line=dict(color="white", width=1)),
        ))
    return traces


def compare_figure(series: Sequence[CompareSeries], metrics: Sequence[str], directions: Sequence[str]) -> go.Figure:
    """Several runs on one pair of objectives: each run's front as a line, its other feasible
    points faded; the legend carries each run's hypervolume on the first run's reference."""
    fig = go.Figure()
    shape = "hv" if directions[0] == "minimize" else "vh"
    for k, run in enumerate(series):  # error bars where a run records a std (accuracy_pred_std)
        color = PALETTE[k % len(PALETTE)]
        label = run.label if run.hypervolume is None else f"{run.label} (HV {run.hypervolume:.4g})"
        rest = ~run.front
        fig.add_trace(go.Scatter(x=run.values[rest, 0].tolist(), y=run.values[rest, 1].tolist(), mode="markers",
                                 marker=dict(color=color, size=5, opacity=0.25), legendgroup=label,
                                 **_errors(run.errors, np.flatnonzero(rest), _fade(color, 0.25)),
                                 showlegend=False, customdata=run.trials[rest].tolist(),
                                 hovertemplate=f"{run.label}<br>trial %{{customdata}}<extra></extra>"))
        order = np.flatnonzero(run.front)
        order = order[np.argsort(run.values[order, 0], kind="stable")]
        fig.add_trace(go.Scatter(x=run.values[order, 0].tolist(), y=run.values[order, 1].tolist(),
                                 mode="lines+markers", name=label, legendgroup=label,
                                 line=dict(color=color, shape=shape), marker=dict(color=color, size=8),
                                 **_errors(run.errors, order, color),
                                 customdata=run.trials[order].tolist(),
                                 hovertemplate=f"{run.label}<br>trial %{{customdata}}<extra></extra>"))
    xs = np.concatenate([run.values[:, 0] for run in series]) if series else np.zeros(0)
    ys = np.concatenate([run.values[:, 1] for run in series]) if series else np.zeros(0)
    fig.update_layout(xaxis=dict(title=dict(text=axis_label(metrics[0], directions[0])), type=_axis_type(xs, metrics[0])),
                      yaxis=dict(title=dict(text=axis_label(metrics[1], directions[1])), type=_axis_type(ys, metrics[1])),
                      height=480, margin=dict(l=60, r=20, t=20, b=40), legend=BOTTOM_LEGEND)
    return fig


# ------------------------------------------------------------ progress ----


def progress_figure(hv: HypervolumeInfo, best: dict[str, np.ndarray], directions: Sequence[str],
                    phase_starts: Sequence[tuple[str, int]]) -> go.Figure:
    """Hypervolume vs trial (run-wide and per phase) above one best-so-far panel per objective."""
    metrics = list(best)
    fig = make_subplots(rows=1 + len(metrics), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=["hypervolume (feasible trials, run reference point)",
                                        *[f"best so far: {axis_label(m, d)}" for m, d in zip(metrics, directions)]])
    fig.add_trace(go.Scatter(x=hv.trials.tolist(), y=hv.run.tolist(), mode="lines", name="run",
                             line=dict(color="black", width=2, shape="hv")), row=1, col=1)
    if len(hv.phases) > 1:
        for k, (phase, (trials, values)) in enumerate(hv.phases.items()):
            fig.add_trace(go.Scatter(x=trials.tolist(), y=values.tolist(), mode="lines", name=f"phase {phase}",
                                     line=dict(color=PALETTE[k % len(PALETTE)], dash="dash", shape="hv")),
                          row=1, col=1)
    for row, metric in enumerate(metrics, start=2):
        fig.add_trace(go.Scatter(x=hv.trials.tolist(), y=best[metric].tolist(), mode="lines", showlegend=False,
                                 name=metric, line=dict(color=FRONT_COLOR, shape="hv")), row=row, col=1)
        fig.update_yaxes(type=_axis_type(best[metric], metric), row=row, col=1)
    for phase, trial in phase_starts:
        fig.add_vline(x=trial - 0.5, line=dict(color="gray", dash="dot"), row="all", col=1)
        fig.add_annotation(x=trial - 0.5, y=1, yref="paper", text=phase, showarrow=False, xanchor="left")
    fig.update_xaxes(title_text="trial", row=1 + len(metrics), col=1)
    fig.update_layout(height=230 + 170 * len(metrics), margin=dict(l=60, r=20, t=40, b=50),
                      legend=dict(orientation="h", yanchor="bottom", y=1.03, x=0))
    return fig


def parallel_figure(dims: Sequence[Dimension], color_metric: str, direction: str) -> go.Figure:
    """Parallel coordinates (parameters then objectives), lines coloured by the axis labelled
    ``color_metric`` (an objective's :func:`~cosearch.dashboard.data.metric_label`)."""
    dimensions = []
    for dim in dims:
        entry = dict(label=dim.label, values=dim.values.tolist())
        if dim.ticktext is not None:
            entry.update(tickvals=list(range(len(dim.ticktext))), ticktext=dim.ticktext)
        else:  # plain d3 text: plotly's default exponent format is HTML, which parcoords prints raw (1×10<sup>12</sup>)
            entry.update(tickformat=PARALLEL_TICKS)
        dimensions.append(entry)
    color = next(d.values for d in dims if d.label == color_metric)
    fig = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line=dict(color=color.tolist(), colorscale="Viridis", reversescale=direction == "minimize",
                  showscale=True, colorbar=dict(title=dict(text=color_metric))),
    ))
    fig.update_layout(height=420, margin=dict(l=60, r=60, t=60, b=30))
    return fig


# ------------------------------------------------------------ one design ----


def layer_map_figure(rows: Sequence[dict], costs: Breakdown | None) -> go.Figure:
    """Per-layer hardware mapping as a table (mapping keys every layer takes from the cards'
    defaults are left out, except the device); device cells tinted; per-layer energy, latency
    and area when known."""
    columns = ["layer", "kind", "cin", "cout", "kernel", *MAP_KEYS]
    columns = [c for c in columns if c in ("layer", "device") or any(c not in r.get("from_defaults", ()) for r in rows)]
    values = [[row[c] for row in rows] for c in columns]
    fills = [["white"] * len(rows) for _ in columns]
    fills[columns.index("device")] = [DEVICE_COLORS.get(str(row["device"]).removesuffix(DEFAULT_MARK), "white")
                                      for row in rows]
    if costs is not None:
        per_layer = {name: k for k, name in enumerate(costs.layers)}
        energy = [sum(v[per_layer[r["layer"]]] for v in costs.energy_pj.values()) if r["layer"] in per_layer else None
                  for r in rows]
        latency = [costs.latency_ns[per_layer[r["layer"]]] if r["layer"] in per_layer else None for r in rows]
        area = [sum(v[per_layer[r["layer"]]] for v in costs.area_mm2.values()) if r["layer"] in per_layer else None
                for r in rows]
        for name, column in (("energy_pj", energy), ("latency_ns", latency), ("area_mm2", area)):
            columns.append(name)
            values.append([f"{v:.4g}" if v is not None else "" for v in column])
            fills.append(["white"] * len(rows))
    fig = go.Figure(go.Table(
        header=dict(values=[f"<b>{c}</b>" for c in columns], fill_color="#e8ecf2", align="left"),
        cells=dict(values=values, fill_color=fills, align="left", height=22),
    ))
    fig.update_layout(height=80 + 30 * max(len(rows), 1), margin=dict(l=10, r=10, t=10, b=10))
    return fig


def breakdown_figure(costs: Breakdown) -> go.Figure:
    """Energy and area per layer stacked by component, and latency per layer (horizontal bars)."""
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=["energy [pJ] by component", "area [mm²] by component", "latency [ns]"])
    components = list(dict.fromkeys([*costs.energy_pj, *costs.area_mm2]))
    colors = {c: PALETTE[k % len(PALETTE)] for k, c in enumerate(components)}
    for col, table in ((1, costs.energy_pj), (2, costs.area_mm2)):
        for component, values in table.items():
            fig.add_trace(go.Bar(y=costs.layers, x=values, orientation="h", name=component, legendgroup=component,
                                 marker_color=colors[component], showlegend=col == 1 or component not in costs.energy_pj),
                          row=1, col=col)
    fig.add_trace(go.Bar(y=costs.layers, x=costs.latency_ns, orientation="h", name="latency",
                         marker_color="#555", showlegend=False), row=1, col=3)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(barmode="stack", height=120 + 22 * len(costs.layers), margin=dict(l=90, r=20, t=40, b=40),
                      legend=dict(orientation="h", y=-0.08, yanchor="top"))
    return fig


def cell_figure(graph: CellGraph) -> go.Figure:
    """A SNASNet cell: nodes on a line, forward edges as solid arcs above, backward (temporal
    feedback) edges as dashed red arcs below, each labelled with its op and ending in an arrow."""
    fig = go.Figure()
    annotations = []
    for edge in graph.edges:
        a, b = float(edge.src), float(edge.dst)
        lift = 0.32 * abs(b - a) * (-1.0 if edge.backward else 1.0)
        t = np.linspace(0.0, 1.0, 30)[:, None]
        p0, p1, p2 = np.array([a, 0.0]), np.array([(a + b) / 2, 2 * lift]), np.array([b, 0.0])
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
        color = BACKWARD_COLOR if edge.backward else FRONT_COLOR
        kind = "backward" if edge.backward else "forward"
        fig.add_trace(go.Scatter(x=curve[:, 0].tolist(), y=curve[:, 1].tolist(), mode="lines",
                                 line=dict(color=color, width=2, dash="dash" if edge.backward else "solid"),
                                 name=kind, legendgroup=kind, showlegend=False,
                                 hovertemplate=f"{edge.src} → {edge.dst}: {edge.op} ({kind})<extra></extra>"))
        tip, tail = curve[-3], curve[-6]
        annotations.append(dict(x=tip[0], y=tip[1], ax=tail[0], ay=tail[1], xref="x", yref="y", axref="x",
                                ayref="y", showarrow=True, arrowhead=2, arrowsize=1.5, arrowcolor=color, text=""))
        annotations.append(dict(x=curve[15, 0], y=curve[15, 1], text=edge.op, showarrow=False,
                                font=dict(color=color, size=12), bgcolor="rgba(255,255,255,0.85)"))
    for kind, color, dash in (("forward", FRONT_COLOR, "solid"), ("backward (next timestep)", BACKWARD_COLOR, "dash")):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=kind, line=dict(color=color, dash=dash)))
    labels = [f"{n}<br>{'in' if n == 0 else 'out' if n == graph.nodes - 1 else ''}" for n in range(graph.nodes)]
    fig.add_trace(go.Scatter(x=list(range(graph.nodes)), y=[0.0] * graph.nodes, mode="markers+text", text=labels,
                             textfont=dict(color="white"), showlegend=False, hoverinfo="skip",
                             marker=dict(size=34, color="#333")))
    reach = 0.32 * max(graph.nodes - 1, 1) + 0.3
    fig.update_layout(annotations=annotations, height=360, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(visible=False, range=[-0.5, graph.nodes - 0.5]),
                      yaxis=dict(visible=False, range=[-reach, reach]), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.08))
    return fig
