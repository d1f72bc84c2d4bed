"""Where torch runs: the one rule for every ``device`` setting (training, the proxy, validation).

Values: ``auto`` (the first CUDA GPU when torch sees one, else the CPU, with a note logged once
per process), ``cpu``, ``cuda`` (the current CUDA GPU) or ``cuda:N`` (GPU number N). A GPU that
is asked for by name but is not there is a user error (:class:`~cosearch.core.errors.ConfigError`
naming the setting), never a silent fall-back. Ray workers reserve GPUs with
``backend.gpus_per_worker`` and use ``auto``, so each lands on the GPU Ray gave it.
"""

from __future__ import annotations

import logging
import re

import torch

from cosearch.core.errors import ConfigError

#: The accepted forms, as the error messages name them.
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_FORM = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

_log = logging.getLogger(__name__)
_noted = False


def check_device(requested: object, where: str, source: str = "") -> str:
    """``requested`` if it is one of :data:`DEVICE_CHOICES` (spelling only: a driver without a
    GPU may configure workers that have one); else ConfigError naming ``where``."""
    if not isinstance(requested, str) or not _FORM.match(requested):
        raise ConfigError(source, where, f"must be one of {DEVICE_CHOICES} (got {requested!r})")
    return requested


def resolve_device(requested: str, where: str, source: str = "") -> torch.device:
    """The torch device for a ``device`` setting on this machine.

    Args:
        requested: one of :data:`DEVICE_CHOICES`.
        where: the setting's key path or CLI option (``proxy.device``, ``--device``), named in errors.
        source: the file it came from, if any.

    Raises:
        ConfigError: an unknown form; ``cuda`` / ``cuda:N`` when torch sees no such GPU.
    """
    global _noted
    check_device(requested, where, source)
    available = torch.cuda.is_available()
    if requested == "auto":
        if available:
            return torch.device("cuda")
        if not _noted:
            _log.warning("%s: auto -> cpu (torch sees no CUDA GPU)", where)
            _noted = True
        return torch.device("cpu")
    if requested == "cpu":
        return torch.device("cpu")
    if not available:
        raise ConfigError(source, where, f"{requested} asked but torch sees no CUDA GPU here "
                                         f"(torch.cuda.is_available() is False); use cpu or auto")
    device = torch.device(requested)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(source, where, f"{requested} asked but torch sees {torch.cuda.device_count()} CUDA GPU(s) "
                                         f"(numbered from 0)")
    return device
