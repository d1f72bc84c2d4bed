"""Spike-pattern kernels and their log-determinant (training-free scores).

For one LIF call (one LIF layer at one timestep) let ``x`` be the binary spikes of the B
images flattened to ``B x N`` (N neurons), ``s_i = |x_i|_1`` and ``r_i = s_i / N``. The
Hamming distance matrix is ``d_H = x(1-x)^T + (1-x)x^T = s_i + s_j - 2 (x x^T)_ij``.

* ``hamming`` - SNASNet's sparsity-aware Hamming kernel (Kim et al., ECCV 2022; anchors.md
  section 1)::

      E[d_H](i,j) = N [r_i (1 - r_j) + (1 - r_i) r_j]
      K_l(i,j)    = N - 0.5 * d_H(i,j) / (E[d_H](i,j) + 1e-3)
      K           = sum of K_l over all calls / number of calls

* ``hamming_code`` - the same kernel as the public SNASNet search code computes it
  (``model_snn.py``): the normaliser leaves out the factor N,
  ``E'(i,j) = r_i (1 - r_j) + (1 - r_i) r_j``, so ``0.5 d_H / E'`` is of order N and wider
  layers weigh more. anchors.md's formula (``hamming``) is the default; this variant is
  kept to compare with the published code's rankings.

* ``naswot`` - NASWOT (Mellor et al., ICML 2021; anchors.md section 2) on spikes as binary
  codes: ``K = sum over calls of c c^T + (1-c)(1-c)^T = sum of (N - d_H)``.

Score: ``log|det K|``; a singular K scores ``-inf``.

Numerics: the Gram matrix ``x x^T`` is computed exactly, as a float32 GEMM (every partial sum
is an integer below 2^24, so exact in any order) or an int8 x int8 -> int32 one
(``torch._int_mm``), whichever this machine runs faster (:func:`gram`). Because ``N`` (up to
~2.6e5) dwarfs the informative ``0.5 d_H / E`` term (order 1), the accumulator keeps the two
parts apart in float64 and only combines them at the end; K in float32 would lose about 3 % of
that term to rounding.

Thread-count independence (the same score at any ``torch.set_num_threads``): the Gram matrix
is exact (integer sums), every other step on K is elementwise, and the log-determinant is an LU
factorisation written with numpy elementwise operations (:func:`logdet`), not LAPACK's, whose
blocked, multi-threaded ``getrf`` rounds differently at different thread counts (B = 256:
``log|det K|`` differed by 4e-11 between 1 and 2 threads).
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch

KERNELS = ("hamming", "hamming_code", "naswot")
EPSILON = 1e-3  # SNASNet's stabiliser in the sparsity-aware normalisation
#: Neurons below which a float32 GEMM of 0/1 values is exact: every partial sum is an integer < 2^24.
FLOAT32_EXACT_NEURONS = 2**24


def gram(x: torch.Tensor) -> torch.Tensor:
    """Exact ``x x^T`` (float64 ``[B, B]``) of a binary ``[B, N]`` matrix (any dtype).

    Exact whichever GEMM computes it, so the result is the same at any thread count and on any
    device: a float32 GEMM below :data:`FLOAT32_EXACT_NEURONS` unless :func:`int8_gemm_faster`
    says ``torch._int_mm`` (int32 sums, exact below 2^31) is faster here, and float64 (exact
    below 2^53) where neither applies.
    """
    if x.shape[1] < FLOAT32_EXACT_NEURONS and not int8_gemm_faster(x.device.type):
        wide = x if x.dtype == torch.float32 else x.float()
        return (wide @ wide.t()).to(torch.float64)
    codes = x.to(torch.int8)
    try:
        product = torch._int_mm(codes, codes.t())
    except (AttributeError, RuntimeError):  # no int8 GEMM in this build or for this shape
        wide = x.double()
        product = wide @ wide.t()
    return product.to(torch.float64)


@functools.cache
def int8_gemm_faster(device_type: str) -> bool:
    """Whether ``torch._int_mm`` computes a spike Gram matrix faster than a float32 GEMM on this
    machine: timed once per process and device type on a 64 x 8192 matrix (the best of 3 runs
    each, after one warm-up). Both are exact, so the answer changes the speed only. On CPUs with
    AMX or AVX512-VNNI int8 can win; without them ``_int_mm`` falls back to a slow loop (30x
    slower than MKL's float32 GEMM on a 2-core AMD EPYC with AVX2, where it was 70 % of the
    XPert proxy's time). CUDA: float32 (``_int_mm`` restricts shapes there).
    """
    if device_type != "cpu":
        return False
    spikes = (torch.rand(64, 8192, generator=torch.Generator().manual_seed(0)) < 0.2).float()
    codes = spikes.to(torch.int8)
    try:
        torch._int_mm(codes, codes.t())
    except (AttributeError, RuntimeError):
        return False

    def best(run) -> float:
        run()
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    return best(lambda: torch._int_mm(codes, codes.t())) < best(lambda: spikes @ spikes.t())


def rows(frame: torch.Tensor) -> torch.Tensor:
    """``[B, ...] -> [B, N]`` flattened in memory order (a view for contiguous or channels-last frames).

    The kernel is invariant to the order of neurons, so no copy into NCHW order is needed.
    """
    if frame.dim() == 4 and frame.is_contiguous(memory_format=torch.channels_last):
        frame = frame.permute(0, 2, 3, 1)
    return frame.reshape(frame.shape[0], -1)


class KernelAccumulator:
    """Accumulates K over LIF calls for one batch.

    Args:
        kind: one of :data:`KERNELS` (see module docstring).
        batch_size: B.
    """

    def __init__(self, kind: str, batch_size: int) -> None:
        if kind not in KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(KERNELS)} (got {kind!r})")
        self.kind = kind
        self.batch_size = batch_size
        self.distance = torch.zeros(batch_size, batch_size, dtype=torch.float64)  # sum of (normalised) d_H
        self.neurons = 0.0  # sum of N over calls
        self.calls = 0

    def add(self, x: torch.Tensor, copies: int = 1) -> torch.Tensor:
        """Add one call's binary spikes ``x [B, N]``, counted ``copies`` times; returns s_i (float64 [B])."""
        g = gram(x)
        s = torch.diagonal(g).clone()  # x binary: (x x^T)_ii = |x_i|_1
        d_h = s[:, None] + s[None, :] - 2.0 * g
        n = x.shape[1]
        if self.kind in ("hamming", "hamming_code"):
            r = s / n
            expected = r[:, None] * (1 - r[None, :]) + (1 - r[:, None]) * r[None, :]
            if self.kind == "hamming":
                expected = n * expected
            d_h = d_h / (expected + EPSILON)
        self.distance.add_(d_h, alpha=copies)
        self.neurons += copies * n
        self.calls += copies
        return s

    def matrix(self) -> torch.Tensor:
        """K (float64 ``[B, B]``)."""
        if self.calls == 0:
            raise ValueError("no LIF call was recorded: the network has no spiking layer")
        if self.kind != "naswot":
            return (self.neurons - 0.5 * self.distance) / self.calls
        return self.neurons - self.distance


def logdet(matrix: torch.Tensor | np.ndarray) -> float:
    """``log|det K|``; ``-inf`` for a singular (or non-finite) K, never an error.

    Gaussian elimination with partial pivoting in float64 (LAPACK ``getf2``'s unblocked
    algorithm: the first row of largest ``|pivot|``, then a rank-1 update of the rows below),
    ``log|det K| = sum_i log|u_ii|`` added in pivot order. Every step is a numpy elementwise
    operation or a comparison, so the result has the same bits at any thread count of torch,
    MKL or OpenBLAS; it agrees with ``torch.linalg.slogdet`` to float64 rounding (about 1e-13
    relative at B = 64). B steps of O(B^2) work: about 1 ms at B = 64, 25 ms at B = 256.
    """
    k = np.array(torch.as_tensor(matrix, dtype=torch.float64).cpu().numpy(), dtype=np.float64, copy=True)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"logdet needs a square matrix (got shape {k.shape})")
    if not np.isfinite(k).all():
        return -math.inf
    total = 0.0
    for j in range(k.shape[0]):
        pivot_row = j + int(np.argmax(np.abs(k[j:, j])))
        pivot = float(k[pivot_row, j])
        if pivot == 0.0:
            return -math.inf
        if pivot_row != j:
            k[[j, pivot_row], j:] = k[[pivot_row, j], j:]
        total += math.log(abs(pivot))
        if j + 1 < k.shape[0]:
            k[j + 1:, j + 1:] -= np.multiply.outer(k[j + 1:, j] / pivot, k[j, j + 1:])
    return total


def kernel_matrix(calls: list[torch.Tensor], kind: str = "hamming") -> torch.Tensor:
    """K of a list of binary ``[B, N]`` spike matrices, one per LIF call (reference helper)."""
    acc = KernelAccumulator(kind, calls[0].shape[0])
    for x in calls:
        acc.add(rows(x))
    return acc.matrix()
