"""Allocation-heavy code without the cyclic garbage collector's passes.

CPython runs a collection every 700 net container allocations and, as objects survive, full
passes over every tracked object of the process. Code that builds many small acyclic lists and
dicts (the cost model's per-candidate metrics and breakdowns) pays for passes that can free
nothing: pricing 10,000 VGG16 candidates through the cost evaluator took 2-5x as long with the
collector running (benchmarks/bench_cost_model.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for the block, restored as it was (reference counting
    still frees everything that is not part of a cycle)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
