"""One self-contained HTML dashboard per run: figures -> JSON -> a page with plotly.js inlined.

Every figure is drawn in Python (:mod:`cosearch.dashboard.figures`) and stored in the page as
JSON; a small script shows them and swaps them when a selector changes (objective pair,
Pareto design), when a Pareto point is clicked, or when a table row is clicked. plotly.js is
embedded (as ``include_plotlyjs=True`` does), so the file opens with no network.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from cosearch.core.files import write_atomic
from cosearch.dashboard import figures
from cosearch.dashboard.assets import CSS, JS
from cosearch.dashboard.data import (
    PREDICTED,
    RunData,
    accuracy_info,
    accuracy_text,
    best_so_far,
    compare_info,
    hypervolume_info,
    load_run,
    metric_label,
    objective_pairs,
    parallel_dimensions,
    pareto_designs,
    pareto_front_info,
    phase_starts,
)
from cosearch.dashboard.design import (
    breakdown_info,
    card_defaults,
    cell_graph,
    design_summary,
    layer_map,
)
from cosearch.results import first_phase_baselines, reference_rule
from cosearch.run_dir import RunDirectory

MAX_DESIGNS = 60  # Pareto designs offered in the design selector (best first on the first objective)
TEMPLATE = "plotly_white"


def write_dashboard(run_dir: str | Path, out: str | Path | None = None, compare: Sequence[str | Path] = ()) -> Path:
    """Write the dashboard of ``run_dir`` (default ``RUN_DIR/dashboard.html``); return its path.

    ``compare`` names other run directories whose feasible points and fronts are overlaid on
    this run's objectives.
    """
    main = load_run(run_dir)
    others = [load_run(path) for path in compare]
    target = Path(out) if out is not None else Path(run_dir) / "dashboard.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, render_page(main, others))
    return target


def dashboard_figures(main: RunData, others: Sequence[RunData] = ()) -> dict[str, go.Figure]:
    """Every figure of the page by key: ``pareto:i-j``, ``pareto3d``, ``compare:i-j``,
    ``progress``, ``parallel``, and per selectable design ``map:T``, ``breakdown:T``, ``cell:T``."""
    spec = main.spec
    out: dict[str, go.Figure] = {}
    if main.complete.empty:
        return out
    for i, j in objective_pairs(spec):
        out[f"pareto:{i}-{j}"] = figures.pareto_figure(pareto_front_info(main, (i, j)))
        if others:
            out[f"compare:{i}-{j}"] = figures.compare_figure(
                compare_info(main, others, (i, j)), [spec.metrics[i], spec.metrics[j]],
                [spec.directions[i], spec.directions[j]])
    if len(spec.metrics) == 3:
        out["pareto3d"] = figures.pareto_figure(pareto_front_info(main, (0, 1, 2)))
    out["progress"] = figures.progress_figure(hypervolume_info(main), best_so_far(main), spec.directions,
                                              phase_starts(main))
    dims, _ = parallel_dimensions(main)
    if dims:
        out["parallel"] = figures.parallel_figure(dims, metric_label(spec.metrics[0]), spec.directions[0])
    defaults = card_defaults(RunDirectory(main.path).read_config()) if selectable_designs(main) else None
    for trial in selectable_designs(main):
        record = main.records.get(trial) or {}
        candidate = record.get("candidate") or {}
        costs = breakdown_info(record.get("details"))
        rows = layer_map(candidate, defaults)
        if rows:
            out[f"map:{trial}"] = figures.layer_map_figure(rows, costs)
        if costs is not None:
            out[f"breakdown:{trial}"] = figures.breakdown_figure(costs)
        graph = cell_graph(candidate.get("network", {}))
        if graph is not None:
            out[f"cell:{trial}"] = figures.cell_figure(graph)
    return out


def selectable_designs(run: RunData) -> list[int]:
    """Trial ids of the Pareto designs the design selector offers, best first."""
    return [int(t) for t in pareto_designs(run)["trial"].head(MAX_DESIGNS)]


def render_page(main: RunData, others: Sequence[RunData] = ()) -> str:
    """The complete HTML document of the dashboard."""
    figs = dashboard_figures(main, others)
    designs = selectable_designs(main)
    payload = {
        "template": pio.templates[TEMPLATE].to_plotly_json(),
        "figures": {key: _figure_json(fig) for key, fig in figs.items()},
        "pairs": [f"{i}-{j}" for i, j in objective_pairs(main.spec)],
        "designs": designs,
        "summaries": {str(t): _summary_html(main, t) for t in designs},
    }
    data = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    body = "\n".join(section for section in (
        _header(main, others),
        _front_section(main, figs, others),
        _section("progress", "Hypervolume and best so far",
                 f'<p class="note" id="hv-reference">{html.escape(hypervolume_note(main))}</p>'
                 '<div id="fig-progress" class="plot"></div>', figs),
        _section("parallel", "Parameters → objectives (feasible trials)", _parallel_body(main), figs),
        _design_section(main, designs),
        _table_section(main),
    ) if section)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>cosearch: {html.escape(main.label)}</title>\n'
        f"<style>{CSS}</style>\n"
        f"<script>{get_plotlyjs()}</script>\n</head><body>\n{body}\n"
        f'<script type="application/json" id="cosearch-data">{data}</script>\n'
        f"<script>{JS}</script>\n</body></html>\n"
    )


def _figure_json(fig: go.Figure) -> dict[str, Any]:
    """Figure as plain JSON with its template dropped (the page applies one shared template)."""
    plain = json.loads(pio.to_json(fig, validate=False))
    plain.get("layout", {}).pop("template", None)
    return plain


def _summary_html(run: RunData, trial: int) -> str:
    rows = run.table[run.table["trial"] == trial]
    row = rows.iloc[0]
    parts = [f"<b>trial {trial}</b> ({html.escape(str(row['phase']))})"]
    if row["baseline"]:
        parts.append(f"baseline <b>{html.escape(str(row['baseline']))}</b>")
    accuracy = accuracy_info(rows)
    parts += [html.escape(accuracy_text(accuracy, 0)) if m == PREDICTED and accuracy is not None
              else f"{html.escape(m)} = {row[f'objective_{m}']:.5g}" for m in run.spec.metrics]
    if accuracy is not None and PREDICTED not in run.spec.metrics:
        parts.append(html.escape(accuracy_text(accuracy, 0)))
    candidate = (run.records.get(trial) or {}).get("candidate") or {}
    parts += [f"{html.escape(k)}: {html.escape(v)}" for k, v in design_summary(candidate).items()]
    return " · ".join(parts)


def _header(main: RunData, others: Sequence[RunData]) -> str:
    table = main.table
    objectives = ", ".join(figures.axis_title(m, d) for m, d in zip(main.spec.metrics, main.spec.directions))
    constraints = ", ".join(f"{m} {op} {bound:g}" for m, op, bound in main.spec.constraints) or "none"
    if table.empty:
        stats = "no finished trials yet"
    else:
        states = ", ".join(f"{k.lower()} {v}" for k, v in table["state"].value_counts().items())
        stats = (f"{len(table)} trials ({states}) · {int(table['feasible'].sum())} feasible · "
                 f"{int(table['pareto'].sum())} Pareto · hypervolume {table['hypervolume'].iloc[-1]:.5g}")
    compared = f"<p>compared with: {html.escape(', '.join(o.label for o in others))}</p>" if others else ""
    return (f"<header><h1>cosearch dashboard: {html.escape(main.label)}</h1>"
            f"<p>{html.escape(str(main.path))} · dataset: {html.escape(main.spec.dataset)} · phases: "
            f"{html.escape(', '.join(main.spec.phases))}</p>"
            f"<p>{html.escape(stats)}</p><p>objectives: {html.escape(objectives)} · constraints: "
            f"{html.escape(constraints)}</p>{compared}</header>")


def hypervolume_note(run: RunData) -> str:
    """What the hypervolume is measured against (the reference point of
    :func:`cosearch.results.reference_point`) and so why it may stay 0 for a while."""
    spec, table = run.spec, run.table
    reference = run.reference
    if reference is None:
        return "No hypervolume yet: no feasible trial to take the reference point from."
    point = ", ".join(f"{m} {v:.4g}" for m, v in zip(spec.metrics, reference))
    done = table[table["state"] == "COMPLETE"]
    baselines = first_phase_baselines(spec, table)["baseline"]
    rule = reference_rule(bool(spec.reference), len(baselines) > 0)
    if rule == "reference_point":
        basis = f"the experiment's reference_point ({point})"
        rule = "a design counts once it beats that point on every objective"
    elif rule == "baselines":
        names = ", ".join(dict.fromkeys(map(str, baselines)))
        basis = f"the worst value of each objective over the baselines {names} ({point})"
        rule = "a design counts only where it beats every baseline on every objective"
    else:
        first = int(done[done["feasible"]]["trial"].iloc[0])
        basis = f"the first feasible trial, {first} ({point})"
        rule = "a design counts only where it beats that trial on every objective"
    positive = table[table["hypervolume"] > 0]
    since = (f"first above 0 at trial {int(positive['trial'].iloc[0])}" if len(positive)
             else "still 0: no feasible design beats it on every objective yet")
    return f"Hypervolume reference point: {basis}; {rule}, so the hypervolume stays 0 until one does ({since})."


def _section(key: str, title: str, body: str, figs: dict[str, go.Figure]) -> str:
    if key not in figs:
        return ""
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>'


def _front_section(main: RunData, figs: dict[str, go.Figure], others: Sequence[RunData]) -> str:
    if len(main.spec.metrics) < 2:
        return ""
    if main.complete.empty:
        return '<section id="front"><h2>Pareto front</h2><p class="note">no completed trials yet</p></section>'
    options = "".join(
        f'<option value="{i}-{j}">{html.escape(main.spec.metrics[i])} vs {html.escape(main.spec.metrics[j])}</option>'
        for i, j in objective_pairs(main.spec))
    body = [
        '<section id="front"><h2>Pareto front</h2>',
        f'<label>objectives <select id="pair">{options}</select></label>',
        '<span class="note">faded: dominated · grey ×: infeasible · stars: baselines'
        f"{_accuracy_note(main)} · click a Pareto point to show its hardware map</span>",
        '<div class="row"><div id="fig-pareto" class="plot"></div>',
    ]
    if "pareto3d" in figs:
        body.append('<div id="fig-pareto3d" class="plot"></div>')
    body.append("</div>")
    if others:
        body.append(f"<h3>Comparison: {html.escape(' vs '.join([main.label, *[o.label for o in others]]))}</h3>"
                    '<div id="fig-compare" class="plot"></div>')
    body.append("</section>")
    return "".join(body)


def _accuracy_note(main: RunData) -> str:
    """Legend note of prediction error bars and trained points; "" for a run without ``accuracy_pred``."""
    accuracy = accuracy_info(main.complete)
    if accuracy is None:
        return ""
    notes = []
    if PREDICTED in main.spec.metrics and np.isfinite(accuracy.std).any():
        notes.append("bars: ± one std of the predicted accuracy")
    if accuracy.trained.any():
        notes.append("outlined diamonds: trained")
        if PREDICTED in main.spec.metrics:
            notes.append("green: trained accuracy [%], linked to its prediction")
    return "".join(f" · {note}" for note in notes)


def _parallel_body(main: RunData) -> str:
    dims, total = parallel_dimensions(main)
    shown = max(len(dims) - len(main.spec.metrics), 0)
    note = f'<p class="note">first {shown} of {total} varying parameters</p>' if shown < total else ""
    return f'{note}<div id="fig-parallel" class="plot"></div>'


def _design_section(main: RunData, designs: list[int]) -> str:
    if not designs:
        return ""
    options = "".join(f'<option value="{t}">trial {t}</option>' for t in designs)
    return (
        '<section id="design"><h2>Pareto design: hardware map</h2>'
        f'<label>design <select id="design-select">{options}</select></label>'
        '<p id="design-summary"></p>'
        '<div id="fig-map" class="plot"></div>'
        '<h3 id="breakdown-title">Energy, area and latency by layer</h3><div id="fig-breakdown" class="plot"></div>'
        '<p id="no-breakdown" class="note">no cost breakdown recorded for this design '
        "(the run had no <code>cost</code> evaluator)</p>"
        '<h3 id="cell-title">SNN cell</h3><div id="fig-cell" class="plot"></div></section>'
    )


def _table_section(main: RunData) -> str:
    front = pareto_designs(main)
    if front.empty:
        return ""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in front.columns)
    rows = "".join(
        f'<tr data-trial="{int(row["trial"])}">' + "".join(_cell(v) for v in row) + "</tr>"
        for _, row in front.iterrows()
    )
    return ('<section id="table"><h2>Pareto designs</h2><p class="note">click a header to sort, a row to show '
            f'the design</p><table id="pareto-table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
            "</section>")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = "" if pd.isna(value) else f"{value:.5g}"
        return f'<td data-v="{"" if pd.isna(value) else repr(value)}">{text}</td>'
    return f'<td data-v="{html.escape(str(value))}">{html.escape(str(value))}</td>'
