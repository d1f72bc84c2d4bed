"""A small analytic evaluator for loop tests: closed-form metrics of a Candidate, no torch.

Metrics (VGG16-family candidates):
* ``proxy_score`` = sum(log2(channels)) + timesteps                 (maximise)
* ``hw_energy_pj`` = sum(channels) * timesteps * mean(adc_bits)   (minimise)
* ``hw_area_mm2`` = sum(channels) / 1000                          (constraint)

Options: ``fail_if_timesteps`` raises for that T; ``nan_if_timesteps`` returns NaN for that T;
``sleep_s`` sleeps per evaluation (for kill tests); ``hang_if_timesteps`` sleeps 600 s and
``exit_if_timesteps`` kills the evaluating process (for backend fault tests); ``fail_if_env``
names an environment variable whose presence makes every evaluation raise (a fault that appears
between two sessions of one run, the experiment unchanged).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext, Evaluator


class AnalyticEvaluator(Evaluator):
    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return {"proxy_score", "hw_energy_pj", "hw_area_mm2", "hw_per_layer"}

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> dict[str, Any]:
        if self.options.get("sleep_s"):
            time.sleep(float(self.options["sleep_s"]))
        if self.options.get("fail_if_env") and os.environ.get(str(self.options["fail_if_env"])):
            raise RuntimeError(f"analytic evaluator fails while ${self.options['fail_if_env']} is set")
        timesteps = candidate.timesteps
        if timesteps == self.options.get("hang_if_timesteps"):
            time.sleep(600)
        if timesteps == self.options.get("exit_if_timesteps"):
            os._exit(1)
        if timesteps == self.options.get("fail_if_timesteps"):
            raise RuntimeError(f"analytic evaluator refuses T={timesteps}")
        channels = candidate.network["channels"]
        bits = candidate.hardware.get("adc_bits", 4)
        mean_bits = sum(bits) / len(bits) if isinstance(bits, tuple) else float(bits)
        energy = float(sum(channels) * timesteps * mean_bits)
        if timesteps == self.options.get("nan_if_timesteps"):
            energy = math.nan
        return {
            "proxy_score": sum(math.log2(c) for c in channels) + timesteps,
            "hw_energy_pj": energy,
            "hw_area_mm2": sum(channels) / 1000.0,
            "hw_per_layer": list(channels),
        }


class AnalyticAccuracy(Evaluator):
    """A stand-in for the ``train`` evaluator: ``accuracy`` [fraction] = 0.2 + 0.02 x mean log2(channels)
    + 0.01 x T, no torch. Option ``every``: only trials whose T is a multiple of it are "trained"."""

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return {"accuracy"}

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> dict[str, Any]:
        if candidate.timesteps % int(self.options.get("every", 1)):
            return {}
        channels = candidate.network["channels"]
        width = sum(math.log2(c) for c in channels) / len(channels)
        return {"accuracy": 0.2 + 0.02 * width + 0.01 * candidate.timesteps}
