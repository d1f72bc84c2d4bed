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

Same result at any thread count. The count changes from one evaluation to the next, so nothing
a training-free evaluator reports may depend on it (issue 34: the VGG16 baseline's proxy score
was -34.3538 at 1 thread and -34.3514 at 2, enough to reorder close candidates and steer the
sampler elsewhere). Torch splits a reduction across threads only when it has a single output
(one partial result per thread, then added: the grouping follows the thread count), and
``native_batch_norm`` gathers channels-last statistics the same way; a reduction with several
outputs is split by outputs, each reduced in one thread in an order fixed by the shapes alone
(``TensorIteratorReduce.cpp``), and elementwise operations compute each element on its own. So
the proxy path keeps to those: batch statistics per image and channel
(:func:`cosearch.snn.layers.step_channel_sums`), exact integer sums for spike counts and the Gram
matrix, an elementwise LU for the log-determinant (:func:`cosearch.proxy.kernel.logdet`), SynFlow's
batch norms as per-channel affine maps (:class:`cosearch.proxy.synflow.ChannelAffine`) and
:func:`ordered_sum` for totals. oneDNN's convolutions gave the same bits at 1-4 threads on every
shape tried (3-64 channels, 2-32 pixels, 1x1 and 3x3), as did MKL's matrix products at the
classifier widths the spaces use (1,024 and 4,096 outputs, 1-8 threads); MKL does differ at 3-4
threads for some narrow output counts (17-27, 33-43, 65-75, 97-107), such as SNASNet's ``fc2``
(10 classes x 10 votes), whose output no metric reads. ``tests/test_determinism.py``
checks the proxy and a whole search at 1 and 2 threads. Not covered: training (its backward
passes sum gradients across threads) and other CPUs (oneDNN and MKL pick kernels by
instruction set, so an AVX2 and an AVX-512 machine can round differently).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
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


def ordered_sum(values: torch.Tensor) -> float:
    """Sum of all elements of a CPU tensor in float64, the same bits at any thread count.

    numpy's pairwise summation, which runs in the calling thread alone (torch splits a sum to a
    single number across its threads, one partial sum per thread). About 1 ms per million
    float32 elements.
    """
    array = values.detach()
    if array.dtype not in (torch.float32, torch.float64):
        array = array.double()
    return float(np.sum(array.numpy(force=True), dtype=np.float64))
