"""CIFAR-10 loading from the shared subset, root resolution, errors, checksum + extraction."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cosearch import data
from cosearch.core.errors import CosearchError


@pytest.fixture(scope="module")
def train() -> data.ImageSet:
    return data.load_dataset({"dataset": "cifar10"})


def test_shared_subset_loads_with_labels(train: data.ImageSet) -> None:
    assert train.images.shape == (5085, 3, 32, 32) and train.images.dtype == np.uint8
    assert set(np.unique(train.labels)) == set(range(10))
    test = data.load_cifar10(data.resolve_cifar10(), "test")
    assert len(test) == 1017


def test_batch_is_normalised_deterministic_and_nested(train: data.ImageSet) -> None:
    big = train.batch(256, seed=7, repeat=0)
    assert big.shape == (256, 3, 32, 32) and big.dtype == np.float32
    assert abs(float(big.mean())) < 0.2 and 0.8 < float(big.std()) < 1.2
    np.testing.assert_array_equal(big, train.batch(256, seed=7, repeat=0))
    np.testing.assert_array_equal(big[:64], train.batch(64, seed=7, repeat=0))  # smaller batch = prefix
    assert not np.array_equal(big, train.batch(256, seed=7, repeat=1))
    assert not np.array_equal(big, train.batch(256, seed=8, repeat=0))
    with pytest.raises(CosearchError):
        train.batch(10**6, seed=0)


def test_root_may_name_either_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = data.resolve_cifar10()
    monkeypatch.delenv(data.ENV_VAR)
    assert data.resolve_cifar10(folder) == folder
    assert data.resolve_cifar10(folder.parent) == folder


def test_missing_data_names_every_way_to_provide_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "nothing"))
    with pytest.raises(CosearchError) as info:
        data.load_dataset({"root": str(tmp_path)})
    message = str(info.value)
    assert "data.root" in message and data.ENV_VAR in message and "data.download" in message
    assert str(tmp_path) in message


def test_failed_download_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.delenv(data.ENV_VAR)
    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(CosearchError, match="cannot download"):
        data.resolve_cifar10(tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []  # no partial archive left behind


def _fake_archive(path: Path) -> str:
    """A tar.gz shaped like the official one (2 images per batch); returns its MD5."""
    with tarfile.open(path, "w:gz") as tar:
        for names in data.CIFAR10_FILES.values():
            for name in names:
                entry = {"data": np.full((2, 3072), 7, np.uint8), "labels": [1, 2]}
                payload = pickle.dumps(entry)
                info = tarfile.TarInfo(f"{data.CIFAR10_FOLDER}/{name}")
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_extract_checks_md5_then_unpacks(tmp_path: Path) -> None:
    archive = tmp_path / "cifar.tar.gz"
    md5 = _fake_archive(archive)
    with pytest.raises(CosearchError, match="MD5"):
        data.extract_archive(archive, tmp_path / "bad", md5="0" * 32)
    folder = data.extract_archive(archive, tmp_path / "out", md5=md5)
    assert folder == tmp_path / "out" / data.CIFAR10_FOLDER
    images = data.load_cifar10(folder, "train")
    assert len(images) == 10 and int(images.images.max()) == 7


def test_official_checksum_constant() -> None:
    assert data.CIFAR10_MD5 == "c58f30108f718f92721af3b95e74349a"
