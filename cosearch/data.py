"""Datasets: CIFAR-10 in its standard python-batch format (``cifar-10-batches-py``).

Where the data comes from, in order:

1. ``root`` (the experiment's ``data.root``; relative to the experiment folder), else the
   ``COSEARCH_DATA`` environment variable; either may name the folder that contains
   ``cifar-10-batches-py/`` or that folder itself;
2. with ``download=True`` (``data.download: true``), the official archive
   (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, MD5 checked) is fetched and
   unpacked into that root (or ``~/.cache/cosearch`` when neither is set).

Otherwise :class:`~cosearch.core.errors.CosearchError` says which of these to set. Files are read
with ``pickle`` (``encoding="latin1"``) and kept as uint8; :meth:`ImageSet.batch` returns a
seeded, normalised float32 batch. Torch-free (numpy only).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosearch.core.errors import CosearchError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
#: Per-channel mean and standard deviation of the CIFAR-10 training set (pixel values in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
ENV_VAR = "COSEARCH_DATA"
DEFAULT_CACHE = Path("~/.cache/cosearch")


@dataclass(frozen=True)
class ImageSet:
    """Images of one split as uint8 ``[N, 3, 32, 32]`` (RGB) with int64 labels ``[N]``."""

    images: np.ndarray
    labels: np.ndarray
    mean: tuple[float, ...] = CIFAR10_MEAN
    std: tuple[float, ...] = CIFAR10_STD

    def __len__(self) -> int:
        return len(self.labels)

    def indices(self, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
        """Deterministic batch: the first ``batch_size`` entries of a permutation seeded by
        ``(seed, repeat)``, so a smaller batch is a subset of a larger one with the same seed."""
        if not 1 <= batch_size <= len(self):
            raise CosearchError(f"batch size {batch_size} is not between 1 and the {len(self)} images available")
        order = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(repeat)]).permutation(len(self))
        return order[:batch_size]

    def batch(self, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
        """Normalised float32 images ``[batch_size, 3, 32, 32]`` of :meth:`indices`."""
        pixels = self.images[self.indices(batch_size, seed, repeat)].astype(np.float32) / 255.0
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return (pixels - mean) / std


def _batches_folder(root: Path) -> Path | None:
    """``root`` itself or ``root/cifar-10-batches-py`` when it holds the batch files."""
    for folder in (root, root / CIFAR10_FOLDER):
        if all((folder / name).is_file() for names in CIFAR10_FILES.values() for name in names):
            return folder
    return None


def missing_data_message(searched: list[Path]) -> str:
    where = ", ".join(str(p) for p in searched) or "nowhere (no root given)"
    return (
        f"CIFAR-10 not found (looked in: {where}). Point the experiment's `data.root` or the "
        f"{ENV_VAR} environment variable at the folder containing `{CIFAR10_FOLDER}/` (or at that "
        f"folder itself), or set `data.download: true` to fetch the official archive "
        f"({CIFAR10_URL}, 163 MB, MD5-checked) when a network is available."
    )


def resolve_cifar10(root: str | Path | None = None, download: bool = False) -> Path:
    """The ``cifar-10-batches-py`` folder: from root, else $COSEARCH_DATA, else an earlier
    download in ``~/.cache/cosearch``, else downloaded (when ``download`` is on).

    Raises:
        CosearchError: the data is nowhere and ``download`` is off, or the download failed.
    """
    given = [Path(p).expanduser() for p in (root, os.environ.get(ENV_VAR)) if p]
    for folder in [*given, DEFAULT_CACHE.expanduser()]:
        found = _batches_folder(folder)
        if found is not None:
            return found
    if not download:
        raise CosearchError(missing_data_message(given))
    return download_cifar10(given[0] if given else DEFAULT_CACHE.expanduser())


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def extract_archive(archive: Path, target: Path, md5: str = CIFAR10_MD5) -> Path:
    """Check ``archive``'s MD5, unpack it into ``target`` and return the batches folder.

    Raises:
        CosearchError: checksum mismatch, or the archive holds no CIFAR-10 batches.
    """
    actual = md5sum(archive)
    if actual != md5:
        raise CosearchError(f"{archive}: MD5 {actual} does not match the expected {md5}; delete it and download again")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuses unsafe members
            tar.extractall(target, filter="data")
        else:
            if any(m.name.startswith("/") or ".." in Path(m.name).parts for m in tar.getmembers()):
                raise CosearchError(f"{archive} has members outside its folder; refusing to unpack it")
            tar.extractall(target)
    found = _batches_folder(target)
    if found is None:
        raise CosearchError(f"{archive} holds no `{CIFAR10_FOLDER}/` with the CIFAR-10 batch files")
    return found


def download_cifar10(target: Path, url: str = CIFAR10_URL, md5: str = CIFAR10_MD5) -> Path:
    """Download the official archive into ``target``, verify and unpack it."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target, suffix=".tar.gz", delete=False) as tmp:
        archive = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            archive.unlink(missing_ok=True)
            raise CosearchError(f"cannot download CIFAR-10 from {url} ({exc}). " + missing_data_message([target])) from None
    try:
        return extract_archive(archive, target, md5)
    finally:
        archive.unlink(missing_ok=True)


def load_cifar10(folder: Path, split: str = "train") -> ImageSet:
    """Read one split (``train`` or ``test``) of a ``cifar-10-batches-py`` folder."""
    if split not in CIFAR10_FILES:
        raise CosearchError(f"CIFAR-10 split must be one of {', '.join(CIFAR10_FILES)} (got {split!r})")
    images, labels = [], []
    for name in CIFAR10_FILES[split]:
        with open(folder / name, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry["labels"], dtype=np.int64))
    return ImageSet(np.concatenate(images), np.concatenate(labels))


def load_dataset(data: Mapping[str, object], base_dir: Path | None = None, split: str = "train") -> ImageSet:
    """An experiment's ``data`` section (``dataset``, ``root``, ``download``) -> images of ``split``.

    A relative ``root`` is taken relative to ``base_dir`` (the experiment's folder).
    """
    dataset = str(data.get("dataset", "cifar10"))
    if dataset != "cifar10":
        raise CosearchError(f"data.dataset: must be cifar10 (got {dataset!r})")
    root = data.get("root")
    if root is not None and base_dir is not None:
        root = Path(base_dir) / Path(str(root)).expanduser()
    return load_cifar10(resolve_cifar10(None if root is None else Path(str(root)), bool(data.get("download", False))), split)
