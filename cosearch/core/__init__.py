"""Shared contracts at the bottom of the package: the Candidate and its mapping keys, the
Evaluator interface, the trial record, errors, samplers, Pareto/hypervolume and file helpers.
Nothing here imports the search loop, torch, the proxy or the cost model.
"""
