"""The ``device`` setting (issue 11): one rule for training, the proxy and validation; CPU paths
and the errors only (CI has no GPU; torch.cuda is faked where a GPU must seem present)."""

from __future__ import annotations

import logging

import pytest
import torch

import cosearch.snn.device as device_module
from cosearch.core.errors import ConfigError
from cosearch.proxy.score import ProxySettings, proxy_device
from cosearch.snn.device import check_device, resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_noted", False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_accepted_spellings(value: str) -> None:
    assert check_device(value, "proxy.device") == value


@pytest.mark.parametrize("value", ["gpu", "CUDA", "cuda:", "cuda:one", "mps", "", None, 0])
def test_unknown_spellings_name_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^x.yaml: proxy.device: must be one of auto, cpu, cuda, cuda:N"):
        check_device(value, "proxy.device", "x.yaml")


def test_auto_falls_back_to_cpu_with_one_note(no_gpu, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="cosearch.snn.device"):
        assert resolve_device("auto", "device") == torch.device("cpu")
        assert resolve_device("auto", "device") == torch.device("cpu")
    assert [r.getMessage() for r in caplog.records] == ["device: auto -> cpu (torch sees no CUDA GPU)"]
    assert resolve_device("cpu", "device") == torch.device("cpu")


@pytest.mark.parametrize("value", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_a_config_error(no_gpu, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^: --device: {value} asked but torch sees no CUDA GPU"):
        resolve_device(value, "--device")


def test_gpu_choice_when_gpus_are_there(two_gpus) -> None:
    assert resolve_device("auto", "device") == torch.device("cuda")
    assert resolve_device("cuda:1", "device") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="cuda:2 asked but torch sees 2 CUDA GPU"):
        resolve_device("cuda:2", "device")


def test_proxy_settings_check_the_device_key() -> None:
    assert ProxySettings.from_mapping({}).device == "auto"
    assert ProxySettings.from_mapping({"device": "cuda:1"}).device == "cuda:1"  # spelling only: workers may have GPUs
    with pytest.raises(ConfigError, match=r"^exp.yaml: options.device: must be one of auto"):
        ProxySettings.from_mapping({"device": "gpu"}, "exp.yaml", "options")


def test_proxy_device_rules(no_gpu, monkeypatch) -> None:
    assert proxy_device(ProxySettings(device="auto")) == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"proxy\.device: cuda asked but torch sees no CUDA GPU"):
        proxy_device(ProxySettings(device="cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert proxy_device(ProxySettings(device="auto")) == torch.device("cuda")
    assert proxy_device(ProxySettings(device="auto", noise=True)) == torch.device("cpu")  # the noisy pass is CPU-only
    with pytest.raises(ConfigError, match=r"proxy\.device: cuda with noise: true"):
        proxy_device(ProxySettings(device="cuda", noise=True))
