"""What a training shows while it runs: a progress bar per epoch and one line after each (stderr)."""

from __future__ import annotations

import sys
from typing import Any


def epoch_bar(steps: int, label: str, epoch: int, epochs: int, enabled: bool) -> Any:
    """A tqdm bar over the ``steps`` batch indices of epoch ``epoch`` (from 0); iterating it yields them."""
    from tqdm import tqdm

    return tqdm(range(steps), desc=f"{label}epoch {epoch + 1}/{epochs}", unit="batch",
                file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False,
                bar_format="{desc}: {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}{postfix}")


def running_totals(loss: float, accuracy: float) -> str:
    """The bar's postfix: the epoch's mean loss and accuracy so far."""
    return f"loss={loss:.3f} acc={accuracy:.3f}"


def report_epoch(label: str, epoch: int, epochs: int, loss: float, accuracy: float, elapsed_s: float,
                 stopped: bool) -> None:
    """The line printed after epoch ``epoch`` (from 0)."""
    print(f"{label}epoch {epoch + 1}/{epochs}: loss {loss:.4f}, train acc {accuracy:.4f}, elapsed {elapsed_s:.0f} s"
          + (" (time budget reached)" if stopped else ""), file=sys.stderr)


__all__ = ["epoch_bar", "report_epoch", "running_totals"]
