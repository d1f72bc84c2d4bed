"""Analytic crossbar cost model: hardware cards -> layer mapping -> energy / latency / area.

Public surface:

* :func:`load_hardware` - read ``hw_models/`` cards into a :class:`HardwareModel` at one node;
* :func:`map_candidates` - candidates -> ``[n, L]`` layer/mapping arrays;
* :func:`price` - vectorised per-layer, per-component costs (:class:`CostArrays`, ``.metrics()``);
* :class:`CostEvaluator` - the ``cost`` evaluator of an experiment (``cosearch.evaluators.cost``).

Pure numpy: nothing here imports torch.
"""

from cosearch.hw.cost import (
    AREA_COMPONENTS,
    ENERGY_COMPONENTS,
    CostArrays,
    breakdowns,
    price,
)
from cosearch.hw.mapping import LayerArrays, map_candidates
from cosearch.hw.model import (
    ADC_TYPES,
    MAPPING_KEYS,
    Device,
    HardwareModel,
    load_hardware,
)

__all__ = [
    "ADC_TYPES", "AREA_COMPONENTS", "ENERGY_COMPONENTS", "MAPPING_KEYS", "CostArrays", "Device", "HardwareModel",
    "LayerArrays", "breakdowns", "load_hardware", "map_candidates", "price",
]
