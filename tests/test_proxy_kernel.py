"""Kernels against hand-computed values; log-det edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cosearch.proxy import KernelAccumulator, kernel_matrix, logdet
from cosearch.proxy.kernel import gram, rows

# Four samples, N = 4 neurons: rates 0.5, 0.5, 0, 1.
X = torch.tensor([[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.float32)


def test_sparsity_aware_hamming_by_hand() -> None:
    # d_H(0,1) = 2, E = 4 (0.5*0.5 + 0.5*0.5) = 2  -> K = 4 - 0.5 * 2 / 2.001
    # d_H(0,2) = 2, E = 4 (0.5*1 + 0.5*0)   = 2  -> same
    # d_H(2,3) = 4, E = 4 (0*0 + 1*1)       = 4  -> K = 4 - 0.5 * 4 / 4.001
    # d_H(0,3) = 2, E = 4 (0.5*0 + 0.5*1)   = 2
    a, b = 4 - 0.5 * 2 / 2.001, 4 - 0.5 * 4 / 4.001
    expected = torch.tensor([[4, a, a, a], [a, 4, a, a], [a, a, 4, b], [a, a, b, 4]], dtype=torch.float64)
    torch.testing.assert_close(kernel_matrix([X]), expected)
    # two calls: averaged
    torch.testing.assert_close(kernel_matrix([X, X]), expected)


def test_reference_code_normalisation_by_hand() -> None:
    # SNASNet's model_snn.py leaves N out of the normaliser: E' = 0.5 for rates (0.5, *), 1 for (0, 1)
    a, b = 4 - 0.5 * 2 / 0.501, 4 - 0.5 * 4 / 1.001
    expected = torch.tensor([[4, a, a, a], [a, 4, a, a], [a, a, 4, b], [a, a, b, 4]], dtype=torch.float64)
    torch.testing.assert_close(kernel_matrix([X], "hamming_code"), expected)


def test_naswot_by_hand_and_summed_over_calls() -> None:
    # K = N - d_H (matches per neuron)
    expected = torch.tensor([[4, 2, 2, 2], [2, 4, 2, 2], [2, 2, 4, 0], [2, 2, 0, 4]], dtype=torch.float64)
    torch.testing.assert_close(kernel_matrix([X], "naswot"), expected)
    torch.testing.assert_close(kernel_matrix([X, X], "naswot"), 2 * expected)


def test_copies_weight_a_call() -> None:
    y = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 1, 0], [0, 0, 0, 1]], dtype=torch.float32)
    acc = KernelAccumulator("hamming", 4)
    acc.add(X, copies=2)
    acc.add(y)
    torch.testing.assert_close(acc.matrix(), kernel_matrix([X, X, y]))


def test_gram_is_exact_and_rows_follow_memory_order() -> None:
    x = (torch.rand(5, 3, 4, 4) > 0.6).float().contiguous(memory_format=torch.channels_last)
    flat = rows(x)
    assert flat.shape == (5, 48) and flat.data_ptr() == x.data_ptr()  # a view, no copy
    torch.testing.assert_close(gram(flat), (x.reshape(5, -1).double() @ x.reshape(5, -1).double().T))


def test_logdet_values_and_singular_kernel() -> None:
    k = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert logdet(k) == pytest.approx(math.log(3.0))
    assert logdet(-np.eye(3)) == pytest.approx(0.0)  # log|det|, sign ignored
    assert logdet(np.ones((3, 3))) == -math.inf
    assert logdet(np.array([[np.nan, 0.0], [0.0, 1.0]])) == -math.inf
    silent = torch.zeros(4, 10)  # no neuron fires: K is constant, rank 1
    assert logdet(kernel_matrix([silent])) == -math.inf


def test_unknown_kernel_rejected() -> None:
    with pytest.raises(ValueError, match="hamming"):
        KernelAccumulator("jacobian", 4)
