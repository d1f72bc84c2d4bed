"""Training (issue 7): augmentation, surrogate-gradient BPTT through backward edges, loss goes down, resume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import cosearch.workflows.train as train_module
from cosearch.core.candidate import Candidate
from cosearch.data import ImageSet
from cosearch.workflows.train import (
    TrainSettings,
    augment,
    make_model,
    read_metrics,
    train_candidate,
)
from cosearch.workload import canonical_genome

pytestmark = pytest.mark.usefixtures("one_torch_thread")


PUBLISHED_CELL = "0303 0030 2002 0200"  # SNASNet's CIFAR-10 backward cell (edges 2->0 and 3->1 are backward)


def tiny_candidate(timesteps: int = 2, seed: int = 1) -> Candidate:
    genome = canonical_genome({"arch": "snasnet", "cell": PUBLISHED_CELL, "channels": 4, "image_size": 8})
    return Candidate(network=genome, timesteps=timesteps, seed=seed)


def tiny_images(n: int = 16, size: int = 8, seed: int = 0) -> ImageSet:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 256, size=(n, 3, size, size), dtype=np.uint8)
    images[:, labels % 3] //= 4  # a weak class signal so there is something to fit
    return ImageSet(images, labels.astype(np.int64))


def test_augment_crops_and_flips_per_image() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    out = augment(x, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == x.shape
    again = augment(x, torch.Generator().manual_seed(0), padding=2)
    assert torch.equal(out, again)
    for i in range(2):  # every output is a (possibly flipped) shifted window of the zero-padded image
        padded = F.pad(x[i], (2, 2, 2, 2))
        windows = [padded[:, dy:dy + 8, dx:dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(-1)) for w in windows)


def _backward_edge_grad(timesteps: int) -> float:
    torch.manual_seed(0)
    net, _ = make_model(tiny_candidate(timesteps), 1.0)
    net.train()
    x = torch.randn(4, 3, 8, 8) * 3
    F.cross_entropy(net(x), torch.arange(4)).backward()
    convs = net.cell1.convs()
    assert (2, 0) in convs  # the published cell's backward edge 2 -> 0
    grad = convs[(2, 0)].weight.grad
    return 0.0 if grad is None else float(grad.abs().sum())


def test_gradients_flow_through_backward_edges_across_timesteps() -> None:
    # With T = 1 the feedback edge never delivers (its output reaches node 0 at t + 1): no gradient.
    assert _backward_edge_grad(1) == 0.0
    # With T >= 2 its output at t feeds node 0 at t + 1, and BPTT carries the gradient back through it.
    assert _backward_edge_grad(2) > 0.0


def test_training_reduces_loss_on_a_fixed_batch(tmp_path) -> None:
    images = tiny_images(16)
    settings = TrainSettings(epochs=10, batch_size=16, lr=0.1, augment=False, seed=3)
    result = train_candidate(tiny_candidate(), images, images, settings, tmp_path, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 10
    # SNASNet's classifier init (Linear ~ N(0, 0.01^2), threshold 1) starts near ln(10) and moves
    # slowly at first; the loss must still go down step after step on a fixed batch.
    assert losses[-1] < losses[0] - 5e-4
    assert sum(b < a for a, b in itertools.pairwise(losses)) >= 7
    metrics = read_metrics(tmp_path)
    assert metrics is not None and 0.0 <= metrics["test_acc"] <= 1.0
    assert (tmp_path / "checkpoint.pt").exists()


def test_resume_continues_from_the_checkpoint_epoch(tmp_path, monkeypatch) -> None:
    images = tiny_images(16)
    settings = TrainSettings(epochs=3, batch_size=16, lr=0.05, seed=5)
    reference = train_candidate(tiny_candidate(), images, images, settings, tmp_path / "ref", progress=False)

    saves = {"n": 0}
    real_save = train_module._atomic_save

    def save_then_crash(obj, path):
        real_save(obj, path)
        saves["n"] += 1
        if saves["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "_atomic_save", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_candidate(tiny_candidate(), images, images, settings, tmp_path / "cut", progress=False)
    monkeypatch.setattr(train_module, "_atomic_save", real_save)
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["epoch"] == 2
    resumed = train_candidate(tiny_candidate(), images, images, settings, tmp_path / "cut", resume=True,
                              progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for ref, res in zip(reference.history, resumed.history):
        assert res["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-4, abs=1e-6)
    assert resumed.test_acc == pytest.approx(reference.test_acc)
    ref_state = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=False)["model"]
    res_state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=False)["model"]
    for key in ref_state:
        torch.testing.assert_close(res_state[key], ref_state[key], rtol=1e-4, atol=1e-5)


def test_resume_refuses_another_candidates_checkpoint(tmp_path) -> None:
    from cosearch.core.errors import CosearchError

    images = tiny_images(16)
    settings = TrainSettings(epochs=1, batch_size=16, seed=0)
    train_candidate(tiny_candidate(seed=1), images, images, settings, tmp_path, progress=False)
    with pytest.raises(CosearchError, match="another candidate"):
        train_candidate(tiny_candidate(seed=2), images, images, settings, tmp_path, resume=True, progress=False)


def test_noise_option_reports_accuracy_with_device_perturbed_weights(tmp_path) -> None:
    from cosearch.cli import _device_noise

    candidate = Candidate(network=tiny_candidate().network, timesteps=2, hardware={"device": "pcm"}, seed=1)
    perturb = _device_noise(None, None)
    net, _ = make_model(candidate, 1.0)
    noisy = perturb(net, candidate)
    changed = [not torch.equal(a, b) for a, b in zip(net.state_dict().values(), noisy.state_dict().values())]
    assert any(changed)  # PCM programming noise moved the weights of the copy ...
    assert all(torch.equal(p, q) for p, q in zip(make_model(candidate, 1.0)[0].parameters(), net.parameters()))  # ... not the original
    images = tiny_images(16)
    result = train_candidate(candidate, images, images, TrainSettings(epochs=1, batch_size=16), tmp_path,
                             progress=False, noise=perturb)
    assert result.noise is not None and 0.0 <= result.noise["test_acc"] <= 1.0
    assert read_metrics(tmp_path)["noise"]["test_acc"] == result.noise["test_acc"]


def test_train_cli_on_a_run_directory_trial(write_experiment, tmp_path) -> None:
    from cosearch.cli import main

    run = tmp_path / "run"
    assert main(["run", str(write_experiment(trials=2)), "--out", str(run), "--no-progress"]) == 0
    args = ["train", str(run), "--trial", "0", "--epochs", "1", "--train-size", "32", "--test-size", "32",
            "--channel-scale", "0.03125", "--threads", "1", "--no-progress"]
    assert main(args) == 0
    metrics = read_metrics(run / "train" / "trial_0")
    assert metrics is not None and metrics["epochs"] == 1 and metrics["settings"]["train_images"] == 32
    assert (run / "train" / "trial_0" / "checkpoint.pt").exists()
    assert main(["train", str(run), "--epochs", "1"]) == 2  # a run directory needs --trial
