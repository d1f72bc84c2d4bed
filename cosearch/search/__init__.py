"""The one search loop: evaluators, samplers, objectives/constraints, backends, phases."""
