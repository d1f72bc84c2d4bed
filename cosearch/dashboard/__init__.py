"""Pareto-front dashboards: one self-contained HTML file per run (``cosearch dashboard``).

Data and drawing are separate, as in Optuna's visualization: :mod:`.data` (run level) and
:mod:`.design` (one design) compute what is shown, :mod:`.figures` draws it with Plotly, and
:mod:`.page` assembles the HTML.
"""

from cosearch.dashboard.data import (
    RunData,
    accuracy_info,
    best_so_far,
    compare_info,
    hypervolume_info,
    load_run,
    parallel_dimensions,
    pareto_designs,
    pareto_front_info,
)
from cosearch.dashboard.design import (
    breakdown_info,
    cell_graph,
    design_summary,
    layer_map,
)
from cosearch.dashboard.page import dashboard_figures, render_page, write_dashboard

__all__ = [
    "RunData", "accuracy_info", "best_so_far", "breakdown_info", "cell_graph", "compare_info", "dashboard_figures",
    "design_summary", "hypervolume_info", "layer_map", "load_run", "parallel_dimensions", "pareto_designs",
    "pareto_front_info", "render_page", "write_dashboard",
]
