"""The built-in evaluators: thin adapters from a Candidate to the proxy (``proxy/``) and the
cost model (``hw/``). Each is one module; adding an evaluator is one file here plus its name in
:data:`BUILTIN` (or no edit at all: an experiment may name any ``"module:Class"``).
"""

#: Built-in evaluator names -> "module:Class" (imported lazily so torch loads only when needed).
BUILTIN: dict[str, str] = {
    "proxy": "cosearch.evaluators.proxy:ProxyEvaluator",
    "cost": "cosearch.evaluators.cost:CostEvaluator",
    "train": "cosearch.evaluators.train:TrainEvaluator",
}
