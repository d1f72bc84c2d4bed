"""``cost`` evaluator: prices candidates with the analytic crossbar model (pure numpy).

Experiment YAML::

    hardware:                      # EvaluationContext.hardware, checked by cosearch.hw.load_hardware_section
      cards: ["hw_models/*.yaml", "hw_models/devices/*.yaml"]   # default; paths/globs under project_dir
      node_nm: 32                  # default: the cards' chip.node_nm
      defaults: {device: rram, adc_bits: 5}   # per-layer mapping defaults over the cards' defaults
      overrides: {tile: {pes_per_tile: 8}}    # any card key (plain value or {value, source})
    evaluators:
      - name: cost
        options: {use_activity: true}         # scale reads by upstream["proxy_input_activity"]

Metrics: ``hw_energy_pj``, ``hw_latency_ns`` (per inference), ``hw_throughput_ips`` (pipelined,
inferences/s), ``hw_area_mm2``, ``hw_edap`` (pJ*ns*mm^2), ``hw_tops_w``, ``hw_tops_mm2`` (from the
throughput) (scalars) and ``hw_breakdown`` (per layer and component, JSON).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from cosearch.core.allocation import paused_gc
from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.core.settings import Rule, Settings
from cosearch.hw.cost import breakdowns, price
from cosearch.hw.mapping import map_candidates
from cosearch.hw.model import load_hardware_section
from cosearch.workload import canonical_genome, families

ACTIVITY_METRIC = "proxy_input_activity"


class CostOptions(Settings):
    """The cost evaluator's ``options`` (see :class:`CostEvaluator`)."""

    use_activity: Annotated[bool, Rule("true or false")] = False


class CostEvaluator(Evaluator):
    """Energy / latency / throughput / area / EDAP / TOPS/W / TOPS/mm^2 of a candidate's crossbar mapping.

    Options:
        use_activity (bool, default False): use the input spike rates a proxy measured
            (``upstream["proxy_input_activity"]``, one float or None per layer slot) instead of
            the cards' dense default activity.
    """

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        """The scalars of :meth:`cosearch.hw.cost.CostArrays.metrics`, read off one priced example
        network (so the list has one home), and ``hw_breakdown``."""
        model = load_hardware_section(context.project_dir, context.hardware)
        example = Candidate(network=canonical_genome(families()["vgg16"].example), timesteps=1)
        return set(price(map_candidates([example], model), model).metrics()) | {"hw_breakdown"}

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        self.use_activity = CostOptions.from_values(self.options, lambda name: f"options.{name}").use_activity
        self.model = load_hardware_section(self.context.project_dir, self.context.hardware)

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        return self.evaluate_batch([candidate], [upstream])[0]

    def evaluate_batch(self, candidates: Sequence[Candidate], upstream: Sequence[Mapping[str, Any]]) -> list[Metrics]:
        """All candidates in one vectorised pricing call."""
        with paused_gc():
            return self._evaluate_batch(candidates, upstream)

    def _evaluate_batch(self, candidates: Sequence[Candidate], upstream: Sequence[Mapping[str, Any]]) -> list[Metrics]:
        activities = [u.get(ACTIVITY_METRIC) for u in upstream] if self.use_activity else None
        layers = map_candidates(candidates, self.model, activities)
        cost = price(layers, self.model)
        scalars = cost.metrics()
        columns = {name: values.tolist() for name, values in scalars.items()}
        results = []
        for index, detail in enumerate(breakdowns(cost, layers)):
            metrics: Metrics = {name: values[index] for name, values in columns.items()}
            metrics["hw_breakdown"] = detail
            results.append(metrics)
        return results
