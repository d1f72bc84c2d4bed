"""Analytic crossbar cost model: hardware cards -> layer mapping -> energy / latency / area.

Public surface:

* :func:`load_hardware` - read ``hw_models/`` cards into a :class:`HardwareModel` at one node;
  :func:`load_hardware_section` - the same from an experiment's ``hardware`` section (checked here);
* :class:`HardwareModel` - one object per level: ``devices`` (:class:`Device`), ``crossbar``,
  ``adc`` (:class:`AdcTable`), ``peripherals``, ``pe``, ``tile``, ``chip``;
* :func:`map_candidates` - candidates -> ``[n, L]`` layer/mapping arrays (their genomes' layers, or
  given :func:`network_shapes`, e.g. a network CSV's);
* :func:`price` - vectorised per-layer, per-component costs, latency and pipelined throughput
  (:class:`CostArrays`, ``.metrics()``);
* :func:`code_moments` - device conductance physics per weight code (for the noise-aware proxy);
* the ``cost`` evaluator of an experiment is :class:`cosearch.evaluators.cost.CostEvaluator`.

Pure numpy: nothing here imports torch.
"""

from cosearch.hw.adc import ADC_MODELS, AdcTable
from cosearch.hw.cost import (
    AREA_COMPONENTS,
    ENERGY_COMPONENTS,
    CostArrays,
    breakdown_rows,
    breakdowns,
    price,
)
from cosearch.hw.device import NOISE_MODELS, Device, DeviceNoise, code_moments, level_moments
from cosearch.hw.mapping import LayerArrays, NetworkShapes, map_candidates, network_shapes
from cosearch.hw.model import HARDWARE_SECTION_KEYS, HardwareModel, load_hardware, load_hardware_section

__all__ = [
    "ADC_MODELS", "AREA_COMPONENTS", "ENERGY_COMPONENTS", "HARDWARE_SECTION_KEYS", "NOISE_MODELS", "AdcTable",
    "CostArrays", "Device", "DeviceNoise", "HardwareModel", "LayerArrays", "NetworkShapes", "breakdown_rows", "breakdowns",
    "code_moments", "level_moments", "load_hardware", "load_hardware_section", "map_candidates", "network_shapes",
    "price",
]
