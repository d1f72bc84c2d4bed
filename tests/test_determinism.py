"""Same seed, same answer at any thread count (issue 34): the training-free evaluators' metrics do
not depend on how many threads torch runs (:mod:`cosearch.snn.threads`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO

from cosearch.config import load_experiment
from cosearch.core.candidate import Candidate
from cosearch.data import load_dataset
from cosearch.proxy import ProxySettings, proxy_score
from cosearch.proxy.kernel import gram, logdet
from cosearch.proxy.synflow import ChannelAffine, synflow
from cosearch.run_dir import RunDirectory
from cosearch.search.loop import run_experiment
from cosearch.snn.layers import BatchNorm2d
from cosearch.snn.threads import ordered_sum
from cosearch.workload import canonical_genome

VGG16 = canonical_genome({"arch": "vgg16", "channels": [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]})
#: An SNASNet cell with a backward (temporal-feedback) edge 3 -> 1.
BACKWARD_CELL = canonical_genome({"arch": "snasnet", "channels": 16, "cell": [[0, 0, 0, 1], [0, 0, 4, 0], [1, 0, 0, 1], [0, 3, 0, 0]]})
TIMING = ["duration_s", "datetime_start"]


def at_threads(run: Callable[[], Any], counts: tuple[int, ...] = (1, 2)) -> list[Any]:
    """``run()`` once per torch thread count, the count restored afterwards."""
    before = torch.get_num_threads()
    try:
        results = []
        for count in counts:
            torch.set_num_threads(count)
            results.append(run())
        return results
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def images():
    return load_dataset({})


def test_batch_norm_statistics_are_the_same_at_any_thread_count() -> None:
    # torch's channels-last batch norm adds one partial sum per thread: other bits at 2 threads
    frames = (torch.randn(3, 64, 16, 32, 32) * 2 + 0.7).flatten(0, 1).contiguous(memory_format=torch.channels_last)
    x = frames.view(3, 64, 16, 32, 32)

    def normalise() -> tuple[torch.Tensor, ...]:
        bn = BatchNorm2d(16)
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(1))
            out = bn(x)
        return out, bn.running_mean, bn.running_var, bn.num_batches_tracked

    one, two, four = at_threads(normalise, (1, 2, 4))
    for a, b, c in zip(one, two, four):
        assert torch.equal(a, b) and torch.equal(a, c)
    # and they are batch norm's values: per timestep, as nn.BatchNorm2d computes them in float64
    # (torch's float32 kernel sums each thread's rows in sequence: its variance is ~1e-6 off here)
    reference = torch.nn.BatchNorm2d(16).double()
    with torch.no_grad():
        reference.weight.copy_(BatchNorm2d(16).weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(1)))
        expected = torch.stack([reference(frame) for frame in x.double().unbind(0)])
    torch.testing.assert_close(one[0].double(), expected, rtol=0, atol=2e-6)  # float32 rounding of x * a + b
    torch.testing.assert_close(one[1].double(), reference.running_mean, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(one[2].double(), reference.running_var, rtol=1e-7, atol=1e-9)
    assert int(one[3]) == 3


def test_batch_norm_reads_and_writes_any_layout_in_place() -> None:
    # a crossbar-grouped layer of the noisy pass hands batch norm NCHW frames; native_batch_norm.out
    # wrote such a frame into the channels-last output in the wrong element order
    frames = torch.randn(2 * 16, 3, 4, 6, 6) * 2 + 0.5
    x = frames.sum(1).view(2, 16, 4, 6, 6)  # NCHW-contiguous frames, as grouped_conv2d returns them
    assert x[0].is_contiguous() and not x[0].is_contiguous(memory_format=torch.channels_last)
    bn = BatchNorm2d(4)
    with torch.no_grad():
        out = bn(x)
        expected = torch.stack([torch.nn.functional.batch_norm(frame.double(), None, None, None, None, True, 0.1, 1e-5)
                                for frame in x.unbind(0)])
    torch.testing.assert_close(out.double(), expected, rtol=0, atol=2e-6)


def test_logdet_and_gram_are_the_same_at_any_thread_count() -> None:
    generator = torch.Generator().manual_seed(0)
    spikes = (torch.rand(256, 3000, generator=generator) < 0.3).float()
    matrices = at_threads(lambda: gram(spikes))
    assert torch.equal(*matrices) and torch.equal(matrices[0], (spikes.double() @ spikes.double().t()))
    k = torch.randn(256, 256, generator=generator, dtype=torch.float64)
    k = k @ k.t() / 256 + torch.eye(256, dtype=torch.float64)  # LAPACK's blocked getrf: 4e-11 apart at 1 and 2 threads
    values = at_threads(lambda: logdet(k), (1, 2, 3))
    assert values[0] == values[1] == values[2]
    assert values[0] == pytest.approx(float(torch.linalg.slogdet(k)[1]), rel=1e-12)
    assert logdet(torch.tensor([[1.0, 2.0], [2.0, 4.0]])) == -float("inf")
    assert logdet(torch.tensor([[0.0, 1.0], [1.0, 0.0]])) == 0.0  # a row exchange; |det| = 1


def test_ordered_sum_is_the_same_at_any_thread_count() -> None:
    values = torch.randn(300_000, generator=torch.Generator().manual_seed(0)) * 1e3
    sums = at_threads(lambda: ordered_sum(values))
    assert sums[0] == sums[1] == pytest.approx(float(values.double().sum()), rel=1e-12)


@pytest.mark.parametrize(("genome", "timesteps"), [(VGG16, 3), (BACKWARD_CELL, 4)])
def test_proxy_metrics_are_bitwise_the_same_at_one_and_two_threads(images, genome, timesteps) -> None:
    # the clean pass, the noisy pass (weights on PCM, ADC-quantised partial sums) and SynFlow
    candidate = Candidate(network=genome, timesteps=timesteps, seed=0, hardware={"device": "pcm", "adc_bits": 5})
    settings = ProxySettings(batch_size=32, repeats=1, channel_scale=0.0625 if genome is VGG16 else 0.5, noise=True)
    one, two = at_threads(lambda: proxy_score(candidate, images, settings).metrics())
    assert list(one) == list(two)
    for key in one:
        assert repr(one[key]) == repr(two[key]), key  # repr: bit for bit, nan and -inf included


def test_synflow_batch_norms_are_affine_maps_with_correct_gradients() -> None:
    # torch's eval-mode batch-norm backward gets this input gradient wrong (a single-image
    # channels-last frame with a batch stride other than C*H*W, NCHW gradient); ChannelAffine does not
    bn = torch.nn.BatchNorm2d(16).double().eval()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.running_mean.uniform_(-1.0, 1.0)
    frame = torch.randn(32, 32, 16, dtype=torch.float64).as_strided((1, 16, 32, 32), (16, 1, 512, 16))
    x = frame.detach().requires_grad_(True)
    affine = ChannelAffine(bn)
    y = affine(x)
    torch.testing.assert_close(y, bn(x.detach()), rtol=1e-14, atol=1e-14)
    upstream = torch.randn(1, 16, 32, 32, dtype=torch.float64)
    (grad,) = torch.autograd.grad(y, x, upstream)
    scale = (bn.weight / (bn.running_var + bn.eps).sqrt()).detach().view(1, -1, 1, 1)
    torch.testing.assert_close(grad, upstream * scale, rtol=1e-14, atol=1e-14)
    first, second = at_threads(lambda: synflow(BACKWARD_CELL, 4, seed=9, sample_shape=(3, 32, 32)))
    assert first == second


@pytest.fixture
def omp_threads(monkeypatch) -> Iterator[Callable[[int], None]]:
    """Set ``$OMP_NUM_THREADS`` (the evaluators' thread rule obeys it before each candidate); torch's
    thread count is restored afterwards."""
    before = torch.get_num_threads()
    yield lambda count: monkeypatch.setenv("OMP_NUM_THREADS", str(count))
    torch.set_num_threads(before)


@pytest.mark.slow
def test_a_search_writes_the_same_trials_csv_at_one_and_two_threads(tmp_path: Path, omp_threads) -> None:
    # the shipped XPert experiment (noise-aware proxy, the cost model re-priced with its spike
    # rates, TPE after two trials) at a small budget and fidelity; before the fix 12 columns
    # differed, from the spike counts to the hypervolume's inputs
    document = yaml.safe_load((REPO / "experiments" / "cifar10_xpert.yaml").read_text())
    document.update(trials=3,
                    proxy={"batch_size": 32, "repeats": 1, "channel_scale": 0.0625, "noise": True, "mismatch_weight": 4.0},
                    searcher={"type": "tpe", "options": {"multivariate": True, "n_startup_trials": 2}})
    for folder in ("search_spaces", "hw_models"):  # a project folder: the space and the cards as shipped
        (tmp_path / folder).symlink_to(REPO / folder, target_is_directory=True)
    path = tmp_path / "xpert.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    tables = []
    for count in (1, 2):
        omp_threads(count)
        out = tmp_path / f"threads{count}"
        run_experiment(load_experiment(path), RunDirectory(out), progress=False)
        assert torch.get_num_threads() == count  # what the evaluators ran with
        tables.append(pd.read_csv(out / "trials.csv").drop(columns=TIMING))
    assert tables[0]["proxy_score"].notna().sum() >= 2
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
