"""Training (issues 7, 11): augmentation, BPTT through backward edges, loss falls step after step, the
narrow-classifier init, the time budget, resume, and the bad settings (exit 2 naming the option)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import cosearch.training.loop as loop_module
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.data import ImageSet
from cosearch.training import TrainSettings, make_model, read_metrics, train_candidate
from cosearch.training.images import augment
from cosearch.training.schedule import cosine_factor
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


def _step_losses(tmp_path, classifier_init: str) -> list[float]:
    """Per-step training loss on one fixed batch (16 images, no augmentation), 5 SGD steps."""
    images = tiny_images(16)
    settings = TrainSettings(epochs=5, batch_size=16, lr=0.02, augment=False, seed=3, device="cpu",
                             classifier_init=classifier_init)
    losses: list[float] = []
    result = train_candidate(tiny_candidate(), images, images, settings, tmp_path / classifier_init, progress=False,
                             on_step=lambda step: losses.append(step.loss))
    assert result.steps == 5 and [h["steps"] for h in result.history] == [1, 2, 3, 4, 5]
    return losses


@pytest.mark.slow
def test_loss_on_a_fixed_batch_falls_step_after_step(tmp_path) -> None:
    losses = _step_losses(tmp_path, "width")
    assert all(b < a for a, b in itertools.pairwise(losses)), losses
    assert losses[-1] < losses[0] - 0.02
    metrics = read_metrics(tmp_path / "width")
    assert metrics is not None and 0.0 <= metrics["test_acc"] <= 1.0 and metrics["steps"] == 5
    assert (tmp_path / "width" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_published_init_leaves_a_narrow_classifier_silent_at_ln10(tmp_path) -> None:
    # SNASNet's fc1 ~ N(0, 0.01^2) at fan-in 32: the classifier LIF never fires, the logits are 0,
    # the loss is ln 10 and stays there (the failure docs/training.md diagnoses).
    losses = _step_losses(tmp_path, "published")
    assert losses == pytest.approx([math.log(10)] * 5, abs=2e-4)


@pytest.mark.slow
def test_width_init_is_snasnets_own_at_published_widths() -> None:
    for channels in (128, 256):
        genome = canonical_genome({"arch": "snasnet", "cell": PUBLISHED_CELL, "channels": channels})
        candidate = Candidate(network=genome, timesteps=5, seed=4)
        widened, _ = make_model(candidate, 1.0, "width")
        published, _ = make_model(candidate, 1.0, "published")
        for (key, a), b in zip(widened.state_dict().items(), published.state_dict().values()):
            assert torch.equal(a, b), key
    narrow, _ = make_model(tiny_candidate(), 1.0, "width")  # fan-in 2 * 4 * 2^2 = 32: sigma = 0.01 * 16384 / 32
    assert float(narrow.classifier.fc1.weight.detach().std()) == pytest.approx(5.12, rel=0.3)


def test_time_budget_stops_training_and_the_schedule_fits_into_it(tmp_path) -> None:
    images = tiny_images(16)
    settings = TrainSettings(epochs=3, batch_size=8, augment=False, device="cpu", time_budget_s=1e-9)
    lrs: list[float] = []
    result = train_candidate(tiny_candidate(), images, images, settings, tmp_path, progress=False,
                             on_step=lambda step: lrs.append(step.lr))
    assert result.steps == 1 and result.epochs == 1 and lrs == [pytest.approx(0.1)]
    assert cosine_factor(0.0, 0.01) == 1.0 and cosine_factor(1.0, 0.01) == pytest.approx(0.01)
    assert cosine_factor(0.5, 0.01) == pytest.approx(0.505)
    again = train_candidate(tiny_candidate(), images, images, settings, tmp_path, resume=True, progress=False)
    assert again.steps == 1  # resumed with the budget spent: nothing more to train


def test_resume_continues_from_the_checkpoint_epoch(tmp_path, monkeypatch) -> None:
    images = tiny_images(16)
    settings = TrainSettings(epochs=3, batch_size=16, lr=0.05, seed=5)
    reference = train_candidate(tiny_candidate(), images, images, settings, tmp_path / "ref", progress=False)

    saves = {"n": 0}
    real_save = loop_module.save_checkpoint

    def save_then_crash(obj, path):
        real_save(obj, path)
        saves["n"] += 1
        if saves["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop_module, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train_candidate(tiny_candidate(), images, images, settings, tmp_path / "cut", progress=False)
    monkeypatch.setattr(loop_module, "save_checkpoint", real_save)
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    resumed = train_candidate(tiny_candidate(), images, images, settings, tmp_path / "cut", resume=True,
                              progress=False)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for ref, res in zip(reference.history, resumed.history):
        assert res["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-4, abs=1e-6)
    assert resumed.test_acc == pytest.approx(reference.test_acc)
    ref_state = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=True)["model"]
    res_state = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["model"]
    for key in ref_state:
        torch.testing.assert_close(res_state[key], ref_state[key], rtol=1e-4, atol=1e-5)


def test_resume_refuses_another_candidates_checkpoint(tmp_path) -> None:
    from cosearch.core.errors import CosearchError

    images = tiny_images(16)
    settings = TrainSettings(epochs=1, batch_size=16, seed=0)
    train_candidate(tiny_candidate(seed=1), images, images, settings, tmp_path, progress=False)
    with pytest.raises(CosearchError, match="another candidate"):
        train_candidate(tiny_candidate(seed=2), images, images, settings, tmp_path, resume=True, progress=False)


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


@pytest.mark.parametrize(("settings", "option", "key"), [
    (TrainSettings(epochs=0), "--epochs", "epochs"),
    (TrainSettings(batch_size=0), "--batch-size", "batch_size"),
    (TrainSettings(channel_scale=0.0), "--channel-scale", "channel_scale"),
    (TrainSettings(device="gpu"), "--device", "device"),
    (TrainSettings(device="cuda:x"), "--device", "device"),
    (TrainSettings(classifier_init="kaiming"), "--classifier-init", "classifier_init"),
    (TrainSettings(time_budget_s=0), "--time-budget", "time_budget_s"),
])
def test_bad_settings_name_their_option(settings: TrainSettings, option: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"^command line: {option}: "):
        settings.check("--")
    with pytest.raises(ConfigError, match=f"options.{key}: ") as raised:
        settings.check("options.")
    assert raised.value.path == f"options.{key}"


def test_a_width_that_rounds_a_layer_to_zero_channels_is_refused() -> None:
    vgg = canonical_genome({"arch": "vgg16"})  # narrowest layer: 64 channels
    TrainSettings(channel_scale=1 / 64).check("--", vgg)  # 1 channel: allowed
    words = r"^command line: --channel-scale: 0.005 leaves network.channels 64 with 0.32 channels \(rounds to 0\); allowed: >= 0.0078"
    with pytest.raises(ConfigError, match=words):
        TrainSettings(channel_scale=0.005).check("--", vgg)


def test_cuda_without_a_gpu_is_refused_and_auto_falls_back(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"^command line: --device: cuda asked but torch sees no CUDA GPU"):
        TrainSettings(device="cuda").check("--")
    TrainSettings(device="auto").check("--")


def _genome_file(tmp_path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(f"arch: snasnet\ncell: '{PUBLISHED_CELL}'\nchannels: 4\nimage_size: 8\ntimesteps: 2\n")
    return str(path)


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "0"], "--epochs: must be an integer >= 1 (got 0)"),
    (["--device", "tpu"], "--device: must be one of auto, cpu, cuda, cuda:N (got 'tpu')"),
    (["--device", "cuda"], "--device: cuda asked but torch sees no CUDA GPU"),
    (["--channel-scale", "0.1"], "--channel-scale: 0.1 leaves network.channels 4 with 0.4 channels (rounds to 0); allowed: >= 0.125"),
])
def test_train_cli_exits_2_naming_the_option(tmp_path, monkeypatch, capsys, flags: list[str], message: str) -> None:
    from cosearch.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", _genome_file(tmp_path), "--out", str(tmp_path / "out"), "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "checkpoint.pt").exists()  # refused before anything was trained


def test_validate_cli_checks_its_training_options_first(tmp_path, capsys) -> None:
    from cosearch.cli import main

    assert main(["validate", str(tmp_path / "missing.yaml"), "--epochs", "0", "--no-progress"]) == 2
    assert "--epochs: must be an integer >= 1 (got 0)" in capsys.readouterr().err
