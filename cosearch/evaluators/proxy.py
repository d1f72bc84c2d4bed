"""``ProxyEvaluator``: the search loop's training-free proxy (``proxy_*`` metrics)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from cosearch.core.candidate import Candidate
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.data import ImageSet, load_dataset, resolve_cifar10
from cosearch.hw import load_hardware_section
from cosearch.proxy.score import ProxySettings, proxy_score


def available_cores() -> int:
    """CPU cores this process may use: $OMP_NUM_THREADS when set (Ray sets it to a worker's
    CPU reservation, so two 1-CPU workers do not oversubscribe), else the cores it may run on."""
    reserved = os.environ.get("OMP_NUM_THREADS", "")
    if reserved.isdigit() and int(reserved) > 0:
        return int(reserved)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ProxyEvaluator(Evaluator):
    """Scores candidates with :func:`cosearch.proxy.proxy_score`.

    Settings: the experiment's ``proxy`` section overridden by this evaluator's ``options``
    (keys and defaults of :class:`~cosearch.proxy.ProxySettings`), validated on construction.
    Images: the ``train`` split of the experiment's ``data`` section (``dataset``, ``root``,
    ``download``), located on construction and read once, at the first evaluation.
    Torch uses the cores available to the process (:func:`available_cores`).

    Metrics: ``proxy_score`` (float, may be -inf), ``proxy_firing_rate``, ``proxy_spike_count``,
    ``proxy_synops``, ``proxy_layer_firing_rates`` (dict), ``proxy_input_activity`` (list per slot);
    with ``noise: true`` also ``proxy_score_noisy``, ``proxy_score_drop`` (clean - noisy),
    ``proxy_noise_spike_mismatch`` and ``proxy_noise_weight_error``. The noisy pass takes each
    layer's mapping from the candidate over the defaults of the hardware cards loaded from the
    experiment's ``hardware`` section exactly as the ``cost`` evaluator loads them, so both agree
    on every layer's device, ADC bits, weight bits and crossbar size.
    """

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        self.settings = ProxySettings.from_mapping({**dict(self.context.proxy), **self.options})
        data = dict(self.context.data)
        if data.get("root") is not None:
            data["root"] = str(self.context.experiment_dir / os.path.expanduser(str(data["root"])))
        # locate (or download) now: a missing dataset stops the run with what to set, before any trial
        data["root"] = str(resolve_cifar10(data.get("root"), bool(data.get("download"))))
        self._data = data
        self._images: ImageSet | None = None
        self.hardware = None
        if self.settings.noise:  # load (and check) the cards now, as the cost evaluator does
            self.hardware = load_hardware_section(self.context.project_dir, self.context.hardware)
        torch.set_num_threads(available_cores())

    @property
    def images(self) -> ImageSet:
        if self._images is None:
            self._images = load_dataset(self._data, split="train")
        return self._images

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        return proxy_score(candidate, self.images, self.settings, self.hardware).metrics()
