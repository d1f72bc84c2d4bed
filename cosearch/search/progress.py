"""Progress bar for long searches: trials done, feasible count, hypervolume, best values, elapsed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tqdm import tqdm


def _short(value: float) -> str:
    return f"{value:.4g}"


class SearchProgress:
    """One bar per phase; :meth:`update` after each finished trial."""

    def __init__(self, label: str, total: int, done: int, enabled: bool = True) -> None:
        self.bar = tqdm(
            total=total, initial=done, desc=label, unit="trial", file=sys.stderr, disable=not enabled,
            dynamic_ncols=True, bar_format="{desc}: {n_fmt}/{total_fmt} |{bar:20}| {elapsed}<{remaining}{postfix}",
        )

    def update(self, feasible: int, hypervolume: float | None, best: Sequence[tuple[str, float]]) -> None:
        parts = [f"feasible={feasible}", f"hv={_short(hypervolume) if hypervolume is not None else '-'}"]
        parts += [f"{name}={_short(value)}" for name, value in best]
        self.bar.set_postfix_str(" ".join(parts), refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
