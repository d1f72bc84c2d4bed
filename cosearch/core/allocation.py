"""Allocation-heavy code: without the cyclic garbage collector's passes, and without the C heap
handing every large tensor back to the kernel.

* Python objects. CPython runs a collection every 700 net container allocations and, as objects
  survive, full passes over every tracked object of the process. Code that builds many small
  acyclic lists and dicts (the cost model's per-candidate metrics and breakdowns) pays for passes
  that can free nothing: pricing 10,000 VGG16 candidates through the cost evaluator took 2-5x as
  long with the collector running (benchmarks/bench_cost_model.py).
* Tensors. glibc serves every block above its mmap threshold (at most 32 MiB) from a fresh
  ``mmap`` and unmaps it on free, so each new activation of a wide network costs a page fault
  per 4 KiB page and the kernel zeroing it. At the reference fidelity of the proxy (C = 256,
  64 images: 16-64 MiB per tensor) that was a third of the proxy's time; jemalloc and tcmalloc,
  which PyTorch's CPU tuning guide recommends, avoid it by keeping freed memory.
  :func:`keep_freed_memory` makes glibc do the same (benchmarks/proxy_vs_reference.py).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

#: glibc ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
#: Free memory at the top of the heap glibc keeps instead of returning it [bytes]: the largest
#: value ``mallopt`` takes (2 GiB).
TRIM_THRESHOLD = 2**31 - 1
#: ``$COSEARCH_MALLOC=system`` leaves the C allocator as the process found it.
ENV = "COSEARCH_MALLOC"


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


@functools.cache
def keep_freed_memory() -> bool:
    """Have glibc serve large blocks from its heap and keep what is freed for the next tensor of
    that size (no ``mmap`` per block, no trimming). Once per process; returns whether it applies:
    False where the C library is not glibc or ``$COSEARCH_MALLOC`` is ``system``.

    The process's resident memory then stays at its peak instead of falling between evaluations;
    values are unchanged (only where memory comes from changes).
    """
    if os.environ.get(ENV, "").strip().lower() == "system":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
