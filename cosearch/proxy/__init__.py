"""Training-free spike-pattern proxy: SNASNet's sparsity-aware Hamming kernel (or NASWOT's)
log-determinant at initialisation, plus firing rates, SynOps and per-layer input activity.

Public surface: :func:`proxy_score`, :class:`ProxySettings`, :class:`ProxyResult`,
:func:`kernel_matrix`, :func:`logdet`; the search evaluator is
:class:`cosearch.evaluators.proxy.ProxyEvaluator` (imported lazily by the evaluator registry).
"""

from cosearch.proxy.kernel import KERNELS, KernelAccumulator, kernel_matrix, logdet
from cosearch.proxy.score import ProxyResult, ProxySettings, proxy_score

__all__ = [
    "KERNELS", "KernelAccumulator", "ProxyResult", "ProxySettings", "kernel_matrix", "logdet", "proxy_score",
]
