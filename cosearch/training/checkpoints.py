"""A training's output folder: ``checkpoint.pt`` (after every epoch, written atomically, read back
weights-only) and ``metrics.json`` (history per epoch, final test accuracy), and resuming from them."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.core.files import write_atomic, write_json
from cosearch.training.settings import TrainSettings

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"


@dataclass
class TrainingState:
    """How far a training has come: what a checkpoint restores besides the weights and optimizer.

    Attributes:
        epoch: epochs finished.
        step: SGD steps done.
        elapsed_s: training wall time so far [s].
        history: one record per finished epoch (as ``metrics.json`` lists them).
    """

    epoch: int = 0
    step: int = 0
    elapsed_s: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


def load_checkpoint(path: Path, device: Any = "cpu") -> dict[str, Any]:
    """A checkpoint written by :func:`~cosearch.training.loop.train_candidate`, read with ``weights_only=True``: tensors,
    numbers, strings, lists and dicts only, so a file that would run code when unpickled (a shared
    or downloaded run directory) is refused instead of executed. CosearchError naming the file for
    anything else (damaged, truncated, not a checkpoint)."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # UnpicklingError, EOFError, RuntimeError (zip damage) ...: one message
        raise CosearchError(f"{path}: not a cosearch checkpoint, damaged, or holding objects other than "
                            f"tensors and plain values (refused: loading them could run code): "
                            f"{type(exc).__name__}") from None
    missing = [key for key in ("candidate", "model", "epoch") if not isinstance(state, dict) or key not in state]
    if missing:
        raise CosearchError(f"{path}: not a cosearch checkpoint (missing {', '.join(missing)})")
    return state


def checkpoint_document(state: TrainingState, net: nn.Module, optimizer: torch.optim.Optimizer, candidate: Candidate,
                        settings: TrainSettings, genome: Mapping[str, Any]) -> dict[str, Any]:
    """What ``checkpoint.pt`` holds after ``state.epoch`` epochs."""
    return {"epoch": state.epoch, "step": state.step, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
            "history": state.history, "elapsed_s": state.elapsed_s, "candidate": candidate.to_dict(),
            "channel_scale": settings.channel_scale, "genome": genome, "settings": settings.model_dump()}


def save_checkpoint(document: Mapping[str, Any], path: Path) -> None:
    """Write ``document`` to ``path`` atomically (a kill leaves the previous checkpoint whole)."""
    buffer = io.BytesIO()
    torch.save(document, buffer)
    write_atomic(path, buffer.getvalue())


def resume_from(path: Path, candidate: Candidate, settings: TrainSettings, net: nn.Module,
                optimizer: torch.optim.Optimizer, device: Any, steps_per_epoch: int) -> TrainingState:
    """Load the checkpoint at ``path`` into ``net`` and ``optimizer`` and return how far it had come
    (a fresh state when there is none). CosearchError when it is another candidate's or width's."""
    if not path.exists():
        return TrainingState()
    state = load_checkpoint(path, device)
    if state["candidate"] != candidate.to_dict() or state["channel_scale"] != settings.channel_scale:
        raise CosearchError(f"{path} belongs to another candidate or channel scale; "
                            f"use a fresh output folder or drop --resume")
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    epoch = int(state["epoch"])
    return TrainingState(epoch=epoch, step=int(state.get("step", epoch * steps_per_epoch)),
                         elapsed_s=float(state["elapsed_s"]), history=list(state["history"]))


def write_metrics(out_dir: str | Path, document: Mapping[str, Any]) -> Path:
    """Write ``metrics.json`` (a finished training) into ``out_dir``."""
    return write_json(Path(out_dir) / METRICS, document)


def read_metrics(out_dir: str | Path) -> dict[str, Any] | None:
    """``metrics.json`` of a finished training, or None."""
    path = Path(out_dir) / METRICS
    if not path.exists():
        return None
    try:
        metrics = json.loads(path.read_bytes())
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        metrics = None
    if not isinstance(metrics, dict):
        raise CosearchError(f"{path}: damaged (not the JSON object a finished training writes); delete it, and "
                            "the checkpoint beside it, to train this design again")
    return metrics


__all__ = ["CHECKPOINT", "METRICS", "TrainingState", "checkpoint_document", "load_checkpoint", "read_metrics",
           "resume_from", "save_checkpoint", "write_metrics"]
