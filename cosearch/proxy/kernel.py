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

Score: ``log|det K|`` (slogdet); a singular K scores ``-inf``.

Numerics: the Gram matrix ``x x^T`` is computed exactly in int8 x int8 -> int32 arithmetic
(``torch._int_mm``, oneDNN/AMX on recent x86) where available, else float32 (exact below
2^24 neurons). Because ``N`` (up to ~2.6e5) dwarfs the informative ``0.5 d_H / E`` term
(order 1), the accumulator keeps the two parts apart in float64 and only combines them at the
end; K in float32 would lose about 3 % of that term to rounding.
"""

from __future__ import annotations

import math

import numpy as np
import torch

KERNELS = ("hamming", "hamming_code", "naswot")
EPSILON = 1e-3  # SNASNet's stabiliser in the sparsity-aware normalisation


def gram(x: torch.Tensor) -> torch.Tensor:
    """Exact ``x x^T`` (float64 ``[B, B]``) of a binary ``[B, N]`` matrix (any dtype)."""
    codes = x.to(torch.int8)
    try:
        product = torch._int_mm(codes, codes.t())
    except (AttributeError, RuntimeError):  # no int8 GEMM in this build: float32 is exact below 2^24
        product = codes.float() @ codes.float().t()
    return product.to(torch.float64)


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
    """``log|det K|`` via slogdet; ``-inf`` for a singular (or non-finite) K, never an error."""
    k = torch.as_tensor(matrix, dtype=torch.float64)
    if not torch.isfinite(k).all():
        return -math.inf
    sign, value = torch.linalg.slogdet(k)
    return -math.inf if float(sign) == 0.0 else float(value)


def kernel_matrix(calls: list[torch.Tensor], kind: str = "hamming") -> torch.Tensor:
    """K of a list of binary ``[B, N]`` spike matrices, one per LIF call (reference helper)."""
    acc = KernelAccumulator(kind, calls[0].shape[0])
    for x in calls:
        acc.add(rows(x))
    return acc.matrix()
