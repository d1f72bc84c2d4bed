"""Accuracy of trained networks on the candidate's hardware (torch): :mod:`cosearch.accuracy.hardware`."""

from cosearch.accuracy.hardware import (
    HardwareAccuracy,
    HardwareEvalSettings,
    checkpoint_accuracy,
    crossbar_copy,
    hardware_accuracy,
)

__all__ = ["HardwareAccuracy", "HardwareEvalSettings", "checkpoint_accuracy", "crossbar_copy", "hardware_accuracy"]
