"""The features of the accuracy model: one function per design feature, and which metrics count.

A feature is a number computed from a candidate (its genome, T and hardware mapping) or read
from the metrics the evaluators before the model produced. This module is the one home of the
feature list:

* :data:`DESIGN_FEATURES`: name -> function ``(design) -> float`` of a :class:`Design` (the
  candidate with its layers and pruned cell; design features are torch-free).
* :func:`is_metric_feature`: which upstream metrics are features (every scalar ``proxy_*`` and
  ``hw_*`` metric, noisy ones included).
* :func:`feature_row`: both, for one candidate.

Design features (units in brackets):

===================  ==========================================================================
``log_params``       ln of the weights of every crossbar-mapped layer (sum of cin x cout x k^2)
``log_macs``         ln of multiply-accumulates per timestep (weights x output positions)
``timesteps``        T
``conv_edges``       conv edges of the (pruned) cell(s) that can change the output (SNASNet's
                     pruning, :func:`cosearch.workload.snasnet.prune_cell`); 0 for a network without cells
``conv_chain``       the longest chain of conv edges on a forward input-to-output path of the
                     pruned cell (backward edges cross timesteps and are not counted)
``depth``            weight layers on the longest input-to-output path of the whole network
``width_stage1..5``  log2 of the mean output channels of the conv layers at each feature-map
                     resolution, largest resolution first (stage k > the network's last stage
                     repeats its last stage). Relative to the space's widest channel count this
                     is a constant shift, which standardisation on the calibration set removes.
``adc_bits_min``,    minimum and mean ADC precision over the crossbar-mapped layers [bits]
``adc_bits_mean``
``adc_flash_share``  share of the layers with a flash ADC (else SAR or another type)
``log2_column_sharing``  mean log2 of the columns sharing one ADC
``input_bits``       DAC precision of the layers with analog (image) input [bits]
``device_<name>``    share of the crossbar-mapped layers on each device card (one feature per
                     card the loaded hardware defines)
===================  ==========================================================================

The conv-edge count *before* pruning is not a feature: two cells that prune to the same cell
build the same network, so it describes no property of what is trained. It is one of the
structural baselines of the validation harness (:mod:`cosearch.workflows.validate`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.record import is_scalar_metric
from cosearch.workload import network_layers
from cosearch.workload.shapes import LayerShape
from cosearch.workload.snasnet import CONV_OPS

#: Prefixes of the upstream metrics that are features (proxy and cost evaluators).
METRIC_PREFIXES = ("proxy_", "hw_")
#: Feature-map stages read by ``width_stage<k>``.
STAGES = 5


@dataclass(frozen=True)
class FeatureScope:
    """What the design features need besides the candidate.

    Attributes:
        defaults: per-layer hardware mapping defaults of the loaded cards (keys of
            :data:`cosearch.core.candidate.MAPPING_KEYS`); a key the candidate leaves out takes them.
        devices: the device card names (one ``device_<name>`` feature each).
    """

    defaults: Mapping[str, Any] = field(default_factory=dict)
    devices: tuple[str, ...] = ()


def is_metric_feature(name: str, value: Any) -> bool:
    """Whether an upstream metric is a feature: a scalar ``proxy_*`` or ``hw_*`` number."""
    return name.startswith(METRIC_PREFIXES) and is_scalar_metric(value)


@dataclass(frozen=True)
class Design:
    """A candidate as the feature functions read it: its layers and pruned cell computed once.

    Attributes:
        candidate: the design.
        scope: the cards' defaults and device names.
        layers: its crossbar-mapped layers (:func:`cosearch.workload.network_layers`).
        cell: its pruned op matrix, or None for a network without cells.
    """

    candidate: Candidate
    scope: FeatureScope
    layers: tuple[LayerShape, ...]
    cell: tuple[tuple[int, ...], ...] | None

    @classmethod
    def of(cls, candidate: Candidate, scope: FeatureScope) -> Design:
        cell = candidate.network.get("cell")
        return cls(candidate, scope, tuple(network_layers(candidate.network)),
                   tuple(tuple(row) for row in cell) if cell is not None else None)

    def mapping(self, key: str) -> list[Any]:
        """The mapping value of ``key`` on every layer (the candidate's, else the cards' default)."""
        default = self.scope.defaults.get(key)
        return [self.candidate.layer_hardware(layer.slot).get(key, default) for layer in self.layers]


def _weights(layer: LayerShape) -> int:
    return layer.cin * layer.cout * layer.kernel * layer.kernel


def log_params(design: Design) -> float:
    """ln of the crossbar-mapped weights of the network."""
    return math.log(sum(_weights(layer) for layer in design.layers))


def log_macs(design: Design) -> float:
    """ln of the multiply-accumulates of one timestep (each layer's weights x its output positions)."""
    return math.log(sum(_weights(layer) * layer.h_out * layer.w_out for layer in design.layers))


def timesteps(design: Design) -> float:
    """SNN timesteps T."""
    return float(design.candidate.timesteps)


def conv_edges(design: Design) -> float:
    """Conv edges (Conv1x1 or Conv3x3) of the pruned cell; 0 without a cell."""
    return float(sum(op in CONV_OPS for row in design.cell for op in row)) if design.cell else 0.0


def cell_conv_chain(cell: Sequence[Sequence[int]]) -> int:
    """The most conv edges on one forward path from node 0 to the last node of a pruned op matrix
    (``cell[i][j]`` with ``i < j``; identity and pooling edges pass the path on without counting)."""
    nodes = len(cell)
    best: list[float] = [0.0] + [-math.inf] * (nodes - 1)  # most convs on a path from node 0 to each node
    for j in range(1, nodes):
        for i in range(j):
            if cell[i][j] and best[i] > -math.inf:
                best[j] = max(best[j], best[i] + (cell[i][j] in CONV_OPS))
    return int(best[-1]) if best[-1] > -math.inf else 0


def conv_chain(design: Design) -> float:
    """Longest conv chain of the pruned cell (:func:`cell_conv_chain`); 0 without a cell."""
    return float(cell_conv_chain(design.cell)) if design.cell else 0.0


def depth(design: Design) -> float:
    """Weight layers on the longest input-to-output path: for a cell network, the layers outside
    the cells plus the conv chain of each cell; otherwise every weight layer (a chain)."""
    if not design.cell:
        return float(len(design.layers))
    in_cells = [layer for layer in design.layers if "->" in layer.name]
    cells = len({layer.name.split(".")[0] for layer in in_cells}) or 2
    return float(len(design.layers) - len(in_cells) + cells * cell_conv_chain(design.cell))


def _stage_widths(design: Design) -> list[float]:
    convs = [layer for layer in design.layers if layer.kind == "conv"]
    sizes = sorted({layer.h_out for layer in convs}, reverse=True)
    widths = [math.log2(sum(layer.cout for layer in convs if layer.h_out == size)
                        / sum(1 for layer in convs if layer.h_out == size)) for size in sizes]
    return widths + [widths[-1]] * (STAGES - len(widths))


def _width(stage: int) -> Callable[[Design], float]:
    def width(design: Design) -> float:
        return _stage_widths(design)[stage]

    width.__doc__ = f"log2 of the mean output channels of the conv layers of feature-map stage {stage + 1}."
    return width


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def adc_bits_min(design: Design) -> float:
    """Smallest ADC precision of any layer [bits]."""
    return float(min(design.mapping("adc_bits")))


def adc_bits_mean(design: Design) -> float:
    """Mean ADC precision over the layers [bits]."""
    return _mean([float(v) for v in design.mapping("adc_bits")])


def adc_flash_share(design: Design) -> float:
    """Share of the layers whose ADC type is ``flash``."""
    return _mean([float(v == "flash") for v in design.mapping("adc_type")])


def log2_column_sharing(design: Design) -> float:
    """Mean log2 of the crossbar columns that share one ADC."""
    return _mean([math.log2(v) for v in design.mapping("column_sharing")])


def input_bits(design: Design) -> float:
    """DAC precision of the analog-input layers [bits] (mean; the cards' default when none is analog)."""
    analog = [value for layer, value in zip(design.layers, design.mapping("input_bits")) if layer.input_bits is None]
    return _mean([float(v) for v in analog]) if analog else float(design.scope.defaults.get("input_bits", 8))


#: Design features, name -> function (the one list; docs in the module docstring).
DESIGN_FEATURES: dict[str, Callable[[Design], float]] = {
    "log_params": log_params,
    "log_macs": log_macs,
    "timesteps": timesteps,
    "conv_edges": conv_edges,
    "conv_chain": conv_chain,
    "depth": depth,
    **{f"width_stage{k + 1}": _width(k) for k in range(STAGES)},
    "adc_bits_min": adc_bits_min,
    "adc_bits_mean": adc_bits_mean,
    "adc_flash_share": adc_flash_share,
    "log2_column_sharing": log2_column_sharing,
    "input_bits": input_bits,
}


def device_share(design: Design, device: str) -> float:
    """Share of the crossbar-mapped layers on ``device``."""
    return _mean([float(v == device) for v in design.mapping("device")])


def design_feature_names(scope: FeatureScope) -> list[str]:
    """Every design feature name under ``scope`` (the fixed list, then one per device card)."""
    return [*DESIGN_FEATURES, *(f"device_{name}" for name in scope.devices)]


def feature_row(candidate: Candidate, metrics: Mapping[str, Any], scope: FeatureScope) -> dict[str, float]:
    """Every feature of one candidate: the design features, then its scalar ``proxy_*`` / ``hw_*``
    metrics (``-inf`` / ``inf`` kept: :class:`cosearch.predictor.model.AccuracyModel` clips them)."""
    design = Design.of(candidate, scope)
    row = {name: float(function(design)) for name, function in DESIGN_FEATURES.items()}
    row.update({f"device_{name}": device_share(design, name) for name in scope.devices})
    row.update({name: float(value) for name, value in metrics.items() if is_metric_feature(name, value)})
    return row
