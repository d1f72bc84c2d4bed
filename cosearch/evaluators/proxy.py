"""``ProxyEvaluator``: the search loop's training-free proxy (``proxy_*`` metrics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.data import EventSet, ImageSet, dataset_info, load_inputs, locate_data
from cosearch.hw import load_hardware_section
from cosearch.proxy.score import (
    CLEAN_METRICS,
    MISMATCH_WEIGHT,
    MISMATCH_WEIGHT_BATCH,
    NOISY_METRICS,
    ProxySettings,
    proxy_device,
    proxy_score,
)
from cosearch.snn.threads import use_cpu_threads
from cosearch.workload import canonical_genome, family, narrowest_channels_lost


class ProxyEvaluator(Evaluator):
    """Scores candidates with :func:`cosearch.proxy.proxy_score`.

    Settings: the experiment's ``proxy`` section overridden by this evaluator's ``options``
    (keys and defaults of :class:`~cosearch.proxy.ProxySettings`), validated on construction.
    Images: the ``train`` split of the experiment's ``data`` section (``dataset``, ``root``,
    ``download``), located on construction and read once, at the first evaluation.
    Torch uses one thread per free core, decided before each candidate
    (:func:`cosearch.snn.threads.cpu_threads`), and runs where
    ``device`` says (default ``auto``: a CUDA GPU when there is one, e.g. one Ray reserved with
    ``backend.gpus_per_worker``, else the CPU).

    Metrics: ``proxy_score`` (float, may be -inf), ``proxy_firing_rate``, ``proxy_spike_count``,
    ``proxy_synops``, ``proxy_layer_firing_rates`` (dict), ``proxy_input_activity`` (list per slot);
    with ``noise: true`` also ``proxy_score_noisy``, ``proxy_score_drop`` (clean - noisy),
    ``proxy_noise_spike_mismatch``, ``proxy_noise_weight_error`` and ``proxy_accuracy_estimate``
    (noisy score - ``mismatch_weight`` x mismatch, :func:`cosearch.proxy.score.accuracy_estimate`:
    the accuracy objective of the shipped hardware-aware experiments). The noisy pass takes each
    layer's mapping from the candidate over the defaults of the hardware cards loaded from the
    experiment's ``hardware`` section exactly as the ``cost`` evaluator loads them, so both agree
    on every layer's device, ADC bits, weight bits and crossbar size.
    """

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        """The ``proxy_*`` metrics above; the noise ones only with ``noise: true``."""
        noisy = {**dict(context.proxy), **dict(options)}.get("noise") is True
        return set(CLEAN_METRICS) | set(NOISY_METRICS) if noisy else set(CLEAN_METRICS)

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        self._given = {**dict(self.context.proxy), **self.options}  # the keys the experiment sets
        self.settings = ProxySettings.from_mapping(self._given)
        proxy_device(self.settings)  # a GPU asked for that is not here stops the run before any trial
        self._data = locate_data(self.context.data, self.context.experiment_dir)
        self._images: ImageSet | EventSet | None = None
        self.hardware = None
        if self.settings.noise:  # load (and check) the cards now, as the cost evaluator does
            self.hardware = load_hardware_section(self.context.project_dir, self.context.hardware)

    @property
    def images(self) -> ImageSet | EventSet:
        if self._images is None:
            self._images = load_inputs(self._data, split="train")
        return self._images

    def check_space(self, network: Mapping[str, Sequence[Any]]) -> None:
        """The batch fits the images available; the network's ``in_channels``, ``image_size`` and
        ``num_classes`` are the dataset's; every channel count keeps >= 1 channel after
        ``channel_scale`` (as :func:`cosearch.workload.scale_channels` rounds it)."""
        available = len(self.images)
        if self.settings.batch_size > available:
            raise ConfigError("", self._setting("batch_size"), f"must be at most the {available} training images "
                                                               f"of {self._data['root']} (got {self.settings.batch_size})")
        for arch in network.get("arch", ()):  # the network's input shape and classes are the dataset's
            dataset_info(str(self._data.get("dataset", "cifar10"))).check_network(network, canonical_genome(family(str(arch)).example))
        lost = narrowest_channels_lost(network.get("channels", ()), self.settings.channel_scale)
        if lost:
            raise ConfigError("", self._setting("channel_scale"), lost)

    def check_objectives(self, metrics: Sequence[str]) -> None:
        """An objective or constraint on ``proxy_accuracy_estimate`` at another batch size than the one its
        default ``mismatch_weight`` was chosen at needs that weight set explicitly (the log-det's
        spread grows faster than B, docs/validation.md section 4)."""
        if ("proxy_accuracy_estimate" in metrics and self.settings.batch_size != MISMATCH_WEIGHT_BATCH
                and "mismatch_weight" not in self._given):
            raise ConfigError("", self._setting("mismatch_weight"),
                              f"proxy_accuracy_estimate's default weight {MISMATCH_WEIGHT:g} was chosen "
                              f"at batch_size {MISMATCH_WEIGHT_BATCH}; at batch_size {self.settings.batch_size} set it "
                              f"explicitly (a number >= 0; on one network the best weight was 1 at batch_size 32 "
                              f"and 8 at 128, docs/validation.md section 4)")

    def _setting(self, key: str) -> str:
        """Key path of a setting: this evaluator's ``options`` override the ``proxy`` section."""
        return f"options.{key}" if key in self.options else f"proxy.{key}"

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        use_cpu_threads()
        return proxy_score(candidate, self.images, self.settings, self.hardware).metrics()
