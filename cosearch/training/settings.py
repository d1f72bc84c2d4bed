"""Training hyper-parameters (SNASNet's recipe by default) and the checks that name a bad one."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from cosearch.core.errors import ConfigError
from cosearch.core.settings import Number, Rule, Settings
from cosearch.snn.device import DEVICE_CHOICES, resolve_device

#: ``classifier_init`` values: SNASNet's initialisation scaled for narrow widths, or as published.
CLASSIFIER_INITS = ("width", "published")
#: settings whose CLI option is not the field name with dashes
_CLI_NAMES = {"time_budget_s": "time-budget"}

Count = Annotated[int, Rule("an integer >= 1", lambda value: value >= 1)]
CountOrAll = Annotated[int | None, Rule("an integer >= 1 or all", lambda value: value is None or value >= 1)]
AnyNumber = Annotated[Number, Rule("a number")]


class TrainSettings(Settings):
    """Training hyper-parameters (SNASNet's recipe by default).

    Made with values of the right types (a pydantic model; :meth:`parse` names a wrong one);
    :meth:`check` then checks their ranges.

    Attributes:
        epochs: passes over the training images.
        batch_size: images per SGD step.
        lr, momentum, weight_decay: SGD.
        final_lr_ratio: the cosine schedule ends at ``lr * final_lr_ratio``.
        channel_scale: train a version of the genome with channels multiplied by this (1 = as found).
        train_size: use this many training images (a seeded subset; None = all).
        test_size: evaluate on this many test images (first of a seeded order; None = all).
        augment: random crop (padding 4) + horizontal flip.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (:func:`cosearch.snn.device.resolve_device`).
        seed: data order, augmentation, dropout and weight initialisation.
        eval_batch_size: images per batch at test time.
        classifier_init: ``width`` (SNASNet's init, classifier widened below C = 128) or ``published``.
        time_budget_s: stop after this many seconds of training [s] (None = run all epochs).
    """

    epochs: Count = 10
    batch_size: Count = 64
    lr: Annotated[Number, Rule("a number > 0", lambda value: math.isfinite(value) and value > 0)] = 0.1
    momentum: AnyNumber = 0.9
    weight_decay: AnyNumber = 5e-4
    final_lr_ratio: AnyNumber = 0.01
    channel_scale: Annotated[Number, Rule("a number in (0, 4]", lambda value: math.isfinite(value) and 0 < value <= 4)] = 1.0
    train_size: CountOrAll = None
    test_size: CountOrAll = None
    augment: Annotated[bool, Rule("true or false")] = True
    device: Annotated[str, Rule(f"one of {DEVICE_CHOICES}")] = "auto"  # resolved by check()
    seed: Annotated[int, Rule("an integer")] = 0
    eval_batch_size: Count = 256
    classifier_init: Annotated[str, Rule(f"one of {', '.join(CLASSIFIER_INITS)}",
                                         lambda value: value in CLASSIFIER_INITS)] = "width"
    time_budget_s: Annotated[Number | None, Rule("a number of seconds > 0, or none",
                                                 lambda value: value is None or (math.isfinite(value) and value > 0))] = None

    @classmethod
    def parse(cls, values: Mapping[str, Any], where: str = "") -> TrainSettings:
        """Settings from user values; ConfigError naming an unknown key or a value of the wrong type
        (``where`` as in :meth:`check`)."""
        return cls.from_values(values, *_naming(where))

    def check(self, where: str = "", network: Mapping[str, Any] | None = None) -> None:
        """ConfigError naming the first bad setting.

        Args:
            where: how settings are named in messages: ``"--"`` for CLI options (``command line:
                --channel-scale``), else a key prefix (``"options."`` -> ``options.channel_scale``,
                the file left for the caller to add, as the search loop does).
            network: the genome to be trained; checks that ``channel_scale`` leaves every layer
                at least one channel.
        """
        key, source = _naming(where)
        self.check_rules(key, source)
        resolve_device(self.device, key("device"), source)
        if network is not None:
            check_width(network, self.channel_scale, key("channel_scale"), source)


def _naming(where: str) -> tuple[Callable[[str], str], str]:
    """(setting name -> how messages name it, the source messages name) for ``where`` (see :meth:`TrainSettings.check`)."""
    if where == "--":
        return (lambda name: "--" + _CLI_NAMES.get(name, name.replace("_", "-"))), "command line"
    return (lambda name: f"{where}{name}"), ""


def check_width(network: Mapping[str, Any], scale: float, where: str, source: str = "") -> None:
    """ConfigError (naming ``where``) when ``scale`` rounds a layer of ``network`` to 0 channels,
    as :func:`cosearch.workload.scale_channels` rounds them (which would keep 1 channel silently)."""
    from cosearch.workload import canonical_genome, narrowest_channels_lost

    channels = canonical_genome(network).get("channels")
    if channels is None:
        return
    lost = narrowest_channels_lost(channels if isinstance(channels, (list, tuple)) else [channels], scale)
    if lost:
        raise ConfigError(source, where, lost)


__all__ = ["CLASSIFIER_INITS", "TrainSettings", "check_width"]
