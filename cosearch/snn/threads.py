"""How many CPU threads torch uses: the one rule for the proxy, training and validation on a CPU.

Torch's OpenMP threads spin while they wait for each other. With as many threads as cores and
another busy process on one of them, every parallel region waits for the thread that shares its
core with the other process, and a search slows down several times over (a 2-core machine: the
XPert search from 1.0 to 2.8 s/trial beside one busy process, `benchmarks/bench_contention.py`).
One thread per *free* core avoids it and keeps the speed-up of two threads on an idle machine.

The rule (:func:`cpu_threads`): ``$OMP_NUM_THREADS`` when set (Ray sets it to a worker's CPU
reservation; a user who sets it means it); otherwise the cores this process may run on minus the
threads other processes keep runnable, read from the kernel's count of runnable threads
(``/proc/loadavg``) just before each evaluation, at least 1. Elsewhere than Linux: all the cores.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch

#: Samples of the runnable-thread count per decision, and the pause between them [s]; the
#: smallest sample counts, so a process that runs for an instant is not mistaken for a busy one.
SAMPLES, SAMPLE_GAP_S = 3, 0.0005
_LOADAVG = Path("/proc/loadavg")


def fixed_threads() -> int | None:
    """``$OMP_NUM_THREADS`` as a positive integer, else None."""
    reserved = os.environ.get("OMP_NUM_THREADS", "")
    return int(reserved) if reserved.isdigit() and int(reserved) > 0 else None


def available_cores() -> int:
    """CPU cores this process may use: ``$OMP_NUM_THREADS`` when set, else the cores it may run on."""
    fixed = fixed_threads()
    if fixed is not None:
        return fixed
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def busy_elsewhere() -> int | None:
    """Threads runnable on the machine besides the calling one (the fewest of :data:`SAMPLES`
    readings of ``/proc/loadavg``'s running count), or None where the kernel does not say."""
    counts = []
    for sample in range(SAMPLES):
        if sample:
            time.sleep(SAMPLE_GAP_S)
        try:
            running = _LOADAVG.read_text().split()[3].split("/")[0]
        except (OSError, IndexError):
            return None
        counts.append(int(running) - 1)  # the caller is running while it reads
    return max(min(counts), 0)


def cpu_threads() -> int:
    """Threads for the next CPU evaluation (module docstring): ``$OMP_NUM_THREADS`` when set, else
    the cores of :func:`available_cores` that no other runnable thread needs, at least 1."""
    fixed = fixed_threads()
    if fixed is not None:
        return fixed
    cores = available_cores()
    others = busy_elsewhere()
    return cores if others is None else max(1, cores - others)


def use_cpu_threads() -> int:
    """Set torch's intra-op threads to :func:`cpu_threads` (only when it changes) and return it."""
    threads = cpu_threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
