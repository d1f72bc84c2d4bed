"""Datasets: one registry (:data:`DATASETS`: name -> files, input shape, classes, reader).

Shipped image datasets, each in its standard on-disk format:

* ``cifar10``: ``cifar-10-batches-py/`` (python pickles ``data_batch_1..5``, ``test_batch``);
* ``cifar100``: ``cifar-100-python/`` (pickles ``train``, ``test``, ``meta``; the 100 fine labels);
* ``tiny-imagenet``: ``tiny-imagenet-200/`` (``wnids.txt``, ``train/<wnid>/images/*.JPEG``,
  ``val/images/*.JPEG`` labelled by ``val/val_annotations.txt``; 64x64 RGB). The labelled
  ``val`` split is the ``test`` split here; class index = position of the wnid in sorted
  ``wnids.txt``. Decoded images are cached as ``cosearch-cache/<split>.npz`` in that folder
  (delete it to re-read the JPEGs);
* event data (:mod:`cosearch.events`, through tonic): ``nmnist``, ``cifar10-dvs``, ``dvs-gesture``
  in the layouts tonic's dataset classes unpack; recordings (:class:`EventSet`) are binned into
  the candidate's T spike frames when a batch draws them.

Where the data comes from, in order:

1. ``root`` (the experiment's ``data.root``; relative to the experiment folder), else the
   ``COSEARCH_DATA`` environment variable; either may name the folder that contains the
   dataset's folder (e.g. ``cifar-100-python/``) or that folder itself;
2. an earlier download in ``~/.cache/cosearch``;
3. with ``download=True`` (``data.download: true``), the official archive (URL and MD5 in the
   registry) is fetched, MD5-checked and unpacked into that root (or ``~/.cache/cosearch``);
   event datasets are downloaded by tonic's dataset classes, which check their own MD5s.

Otherwise :class:`~cosearch.core.errors.ConfigError` says which of these to set, and names a
root that holds another registered dataset's files. Pixels are kept as uint8;
:meth:`ImageSet.batch` returns a seeded, normalised float32 batch. Torch-free (numpy; Pillow
only to decode Tiny-ImageNet's JPEGs; tonic only for event data).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cosearch import events
from cosearch.core.errors import ConfigError, CosearchError

ENV_VAR = "COSEARCH_DATA"
DEFAULT_CACHE = Path("~/.cache/cosearch")
SPLITS = ("train", "test")

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
#: Per-channel mean and standard deviation of the CIFAR-10 training set (pixel values in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

#: CIFAR-100 archive and MD5 as torchvision's ``CIFAR100`` lists them.
CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"
CIFAR100_FOLDER = "cifar-100-python"
CIFAR100_FILES = {"train": ["train"], "test": ["test"]}

#: Tiny-ImageNet-200 (Stanford CS231n) archive and the MD5 its loaders check.
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
TINY_IMAGENET_FOLDER = "tiny-imagenet-200"
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")


@dataclass(frozen=True)
class ImageSet:
    """Images of one split as uint8 ``[N, C, H, W]`` (RGB) with int64 labels ``[N]``."""

    images: np.ndarray
    labels: np.ndarray
    mean: tuple[float, ...] = CIFAR10_MEAN
    std: tuple[float, ...] = CIFAR10_STD

    def __len__(self) -> int:
        return len(self.labels)

    def indices(self, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
        """:func:`batch_indices` of these images."""
        return batch_indices(len(self), batch_size, seed, repeat)

    def batch(self, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
        """Normalised float32 images ``[batch_size, C, H, W]`` of :meth:`indices`."""
        pixels = self.images[self.indices(batch_size, seed, repeat)].astype(np.float32) / 255.0
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return (pixels - mean) / std


def batch_indices(count: int, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
    """Deterministic batch of ``count`` samples: the first ``batch_size`` entries of a permutation
    seeded by ``(seed, repeat)``, so a smaller batch is a subset of a larger one with the same seed."""
    if not 1 <= batch_size <= count:
        raise CosearchError(f"batch size {batch_size} is not between 1 and the {count} samples available")
    order = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(repeat)]).permutation(count)
    return order[:batch_size]


@dataclass(frozen=True)
class EventSet:
    """Event recordings of one split, binned into T spike frames on demand (:mod:`cosearch.events`).

    A recording binned at T is kept in memory and cached as uint8 ``[T, P, H, W]`` in
    ``<folder>/cosearch-cache/<size>px/T<T>/<recording's path in folder>.npy``, so only the
    recordings a batch draws are ever binned.
    """

    folder: Path
    files: tuple[Path, ...]
    labels: np.ndarray
    read: Callable[[Path], np.ndarray]
    sensor: tuple[int, int, int]
    size: int
    _frames: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    def recording(self, index: int, timesteps: int) -> np.ndarray:
        """Spike frames uint8 ``[T, P, H, W]`` of recording ``index``."""
        key = (int(index), int(timesteps))
        if key not in self._frames:
            path = self.files[index]
            cached = self.folder / "cosearch-cache" / f"{self.size}px" / f"T{timesteps}" / path.relative_to(self.folder)
            cached = cached.with_name(cached.name + ".npy")
            if cached.is_file():
                self._frames[key] = np.load(cached)
            else:
                frames = events.bin_recording(events.read_events(self.read, path), self.sensor, self.size, timesteps, path)
                try:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cached, frames)
                except OSError:
                    pass  # a read-only data folder: bin again next time
                self._frames[key] = frames
        return self._frames[key]

    def at(self, timesteps: int) -> EventFrames:
        """The recordings as T-frame spike inputs (what a candidate with ``timesteps`` = T sees)."""
        return EventFrames(self, int(timesteps))


@dataclass(frozen=True)
class EventFrames:
    """An :class:`EventSet` binned at ``timesteps`` frames; batches like :class:`ImageSet`."""

    recordings: EventSet
    timesteps: int

    def __len__(self) -> int:
        return len(self.recordings)

    def batch(self, batch_size: int, seed: int, repeat: int = 0) -> np.ndarray:
        """Spikes (0 / 1) float32 ``[batch_size, T, P, H, W]`` of :func:`batch_indices`."""
        chosen = batch_indices(len(self), batch_size, seed, repeat)
        return np.stack([self.recordings.recording(int(k), self.timesteps) for k in chosen]).astype(np.float32)


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset.

    Attributes:
        name: the ``data.dataset`` value.
        title: readable name for messages.
        folder: the dataset's folder name under a data root.
        shape: ``(channels, height, width)`` of one input.
        classes: number of classes.
        url, md5: the official archive and its MD5 (for a dataset tonic downloads: the tonic
            class, and no MD5 here: tonic checks its own archives).
        holds: does this folder hold the dataset's files?
        read: ``(folder, split) -> ImageSet`` (or :class:`EventSet` for event data).
        encoding: ``direct`` (images fed to a stem computed once) or ``events`` (spike frames,
            a different one at every timestep).
        fetch: downloads the dataset into a folder by other means than one archive (tonic's
            dataset classes, which check their archives' MD5s), else None.
    """

    name: str
    title: str
    folder: str
    shape: tuple[int, int, int]
    classes: int
    url: str
    md5: str
    holds: Callable[[Path], bool]
    read: Callable[[Path, str], ImageSet | EventSet]
    encoding: str = "direct"
    fetch: Callable[[Path], None] | None = None

    def network_values(self) -> dict[str, Any]:
        """The genome keys a network on this dataset must carry (``network`` section of a space)."""
        return {"in_channels": self.shape[0], "image_size": self.shape[1], "num_classes": self.classes,
                "encoding": self.encoding}

    def check_network(self, network: Mapping[str, Sequence[Any]], defaults: Mapping[str, Any]) -> None:
        """ConfigError on ``network.<key>`` when a value a space can take (``network``: key -> values;
        a key it leaves out takes the family's ``defaults``) differs from :meth:`network_values`."""
        for key, wanted in self.network_values().items():
            wrong = [value for value in network.get(key, (defaults.get(key, wanted),)) if value != wanted]
            if wrong:
                raise ConfigError("", f"network.{key}", f"must be {wanted} for {self.title} (data.dataset: {self.name}; "
                                                        f"inputs {'x'.join(map(str, self.shape))}, {self.classes} classes); "
                                                        f"got {wrong[0]!r}")


def _unpickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ConfigError(str(path), "", f"cannot read this pickle ({exc}); the file is truncated or not a CIFAR batch") from None
    if not isinstance(entry, dict):
        raise ConfigError(str(path), "", f"holds a {type(entry).__name__}, not a CIFAR batch dictionary")
    return entry


def _read_cifar(folder: Path, split: str, files: Mapping[str, list[str]], label_key: str,
                mean: tuple[float, ...], std: tuple[float, ...]) -> ImageSet:
    images, labels = [], []
    for name in files[split]:
        entry = _unpickle(folder / name)
        if "data" not in entry or label_key not in entry:
            raise ConfigError(str(folder / name), "", f"has no 'data' / {label_key!r} entries (keys: {', '.join(map(str, entry))})")
        images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(entry[label_key], dtype=np.int64))
    return ImageSet(np.concatenate(images), np.concatenate(labels), mean, std)


def load_cifar10(folder: Path, split: str = "train") -> ImageSet:
    """Read one split (``train`` or ``test``) of a ``cifar-10-batches-py`` folder."""
    return _read_cifar(folder, _split(split), CIFAR10_FILES, "labels", CIFAR10_MEAN, CIFAR10_STD)


def load_cifar100(folder: Path, split: str = "train") -> ImageSet:
    """Read one split of a ``cifar-100-python`` folder with its 100 fine labels.

    Normalisation: the CIFAR-100 training-set statistics used by common training scripts.
    """
    return _read_cifar(folder, _split(split), CIFAR100_FILES, "fine_labels", (0.5071, 0.4865, 0.4409),
                       (0.2673, 0.2564, 0.2762))


def _tiny_files(folder: Path, split: str) -> list[tuple[Path, str]]:
    """(image path, wnid) of one Tiny-ImageNet split, in a fixed order."""
    if split == "train":
        return [(path, wnid.name) for wnid in sorted(p for p in (folder / "train").iterdir() if p.is_dir())
                for path in sorted((wnid / "images").iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
    annotations = folder / "val" / "val_annotations.txt"
    files = []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        fields = line.split("\t")
        if len(fields) < 2:
            raise ConfigError(str(annotations), f"line {number}", f"needs '<file>\\t<wnid>...' (got {line!r})")
        files.append((folder / "val" / "images" / fields[0], fields[1]))
    return files


def load_tiny_imagenet(folder: Path, split: str = "train") -> ImageSet:
    """Read one split of a ``tiny-imagenet-200`` folder (``test`` = the labelled ``val`` split).

    Grey-scale JPEGs are converted to RGB; every image must be 64x64. The decoded split is cached
    as ``cosearch-cache/<split>.npz`` beside the images when the folder is writable.
    Normalisation: the Tiny-ImageNet training-set statistics used by common training scripts.
    """
    split = _split(split)
    mean, std = (0.4802, 0.4481, 0.3975), (0.2302, 0.2265, 0.2262)
    cache = folder / "cosearch-cache" / f"{split}.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            return ImageSet(stored["images"], stored["labels"], mean, std)
    from PIL import Image, UnidentifiedImageError

    wnids = sorted((folder / "wnids.txt").read_text().split())
    index = {wnid: k for k, wnid in enumerate(wnids)}
    files = _tiny_files(folder, split)
    if not files:
        raise ConfigError(str(folder), "", f"the {split} split of Tiny-ImageNet holds no images")
    images = np.empty((len(files), 3, 64, 64), np.uint8)
    labels = np.empty(len(files), np.int64)
    for k, (path, wnid) in enumerate(files):
        if wnid not in index:
            raise ConfigError(str(path), "", f"class {wnid!r} is not listed in {folder / 'wnids.txt'}")
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as exc:
            raise ConfigError(str(path), "", f"cannot decode this image ({exc})") from None
        if pixels.shape != (64, 64, 3):
            raise ConfigError(str(path), "", f"is {pixels.shape[1]}x{pixels.shape[0]}; Tiny-ImageNet images are 64x64")
        images[k], labels[k] = pixels.transpose(2, 0, 1), index[wnid]
    try:
        cache.parent.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, images=images, labels=labels)
        os.replace(tmp.name, cache)
    except OSError:
        pass  # a read-only data folder: decode again next time
    return ImageSet(images, labels, mean, std)


def _cifar_holds(files: Mapping[str, list[str]]) -> Callable[[Path], bool]:
    return lambda folder: all((folder / n).is_file() for names in files.values() for n in names)


def _tiny_holds(folder: Path) -> bool:
    return (folder / "wnids.txt").is_file() and (folder / "train").is_dir() and (folder / "val" / "val_annotations.txt").is_file()


def _event_reader(files: Callable[[Path, str], list[tuple[Path, int]]], read: Callable[[Path], np.ndarray],
                  sensor: tuple[int, int, int], size: int) -> Callable[[Path, str], EventSet]:
    def load(folder: Path, split: str) -> EventSet:
        listed = files(folder, _split(split))
        if not listed:
            raise ConfigError(str(folder), "", f"the {split} split holds no event files")
        return EventSet(folder, tuple(path for path, _ in listed), np.array([label for _, label in listed], np.int64),
                        read, sensor, size)
    return load


def _tonic_fetch(cls: str, splits: bool) -> Callable[[Path], None]:
    """Download through ``tonic.datasets.<cls>`` into a folder (tonic checks the MD5s)."""
    def fetch(target: Path) -> None:
        dataset = getattr(events._tonic().datasets, cls)
        for train in (True, False) if splits else (True,):
            dataset(str(target), train=train) if splits else dataset(str(target))
    return fetch


#: Every dataset ``data.dataset`` may name (config validation lists these names).
DATASETS: dict[str, DatasetInfo] = {
    info.name: info for info in (
        DatasetInfo("cifar10", "CIFAR-10", CIFAR10_FOLDER, (3, 32, 32), 10, CIFAR10_URL, CIFAR10_MD5,
                    _cifar_holds(CIFAR10_FILES), load_cifar10),
        DatasetInfo("cifar100", "CIFAR-100", CIFAR100_FOLDER, (3, 32, 32), 100, CIFAR100_URL, CIFAR100_MD5,
                    _cifar_holds(CIFAR100_FILES), load_cifar100),
        DatasetInfo("tiny-imagenet", "Tiny-ImageNet-200", TINY_IMAGENET_FOLDER, (3, 64, 64), 200, TINY_IMAGENET_URL,
                    TINY_IMAGENET_MD5, _tiny_holds, load_tiny_imagenet),
        # event data (tonic): frames at the sensor size (N-MNIST) or downsampled to 32 x 32
        DatasetInfo("nmnist", "N-MNIST", "NMNIST", (2, 34, 34), 10, "tonic.datasets.NMNIST", "",
                    events.nmnist_holds, _event_reader(events.nmnist_files, events.read_nmnist, (34, 34, 2), 34),
                    "events", _tonic_fetch("NMNIST", splits=True)),
        DatasetInfo("cifar10-dvs", "CIFAR10-DVS", "CIFAR10DVS", (2, 32, 32), 10, "tonic.datasets.CIFAR10DVS",
                    "", events.cifar10dvs_holds,
                    _event_reader(events.cifar10dvs_files, events.read_cifar10dvs, (128, 128, 2), 32),
                    "events", _tonic_fetch("CIFAR10DVS", splits=False)),
        DatasetInfo("dvs-gesture", "DVS128 Gesture", "DVSGesture", (2, 32, 32), 11, "tonic.datasets.DVSGesture",
                    "", events.gesture_holds,
                    _event_reader(events.gesture_files, events.read_gesture, (128, 128, 2), 32),
                    "events", _tonic_fetch("DVSGesture", splits=True)),
    )
}


def _split(split: str) -> str:
    if split not in SPLITS:
        raise CosearchError(f"dataset split must be one of {', '.join(SPLITS)} (got {split!r})")
    return split


def dataset_info(name: str) -> DatasetInfo:
    """The registered dataset ``name``; ConfigError on ``data.dataset`` listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError("", "data.dataset", f"must be one of {', '.join(DATASETS)} (got {name!r})") from None


def _found_in(info: DatasetInfo, root: Path) -> Path | None:
    """``root`` itself or ``root/<folder>`` when it holds ``info``'s files."""
    for folder in (root, root / info.folder):
        if info.holds(folder):
            return folder
    return None


def missing_data_message(searched: list[Path], name: str = "cifar10") -> str:
    """What to set when dataset ``name`` is in none of ``searched``; names roots holding another dataset."""
    info = dataset_info(name)
    where = ", ".join(str(p) for p in searched) or "nowhere (no root given)"
    others = [f"{root} holds {other.title} (data.dataset: {other.name}), not {info.title}"
              for root in searched for other in DATASETS.values() if other is not info and _found_in(other, root)]
    return (
        f"{info.title} not found (looked in: {where}). " + "".join(f"{line}. " for line in others)
        + f"Point the experiment's `data.root` or the {ENV_VAR} environment variable at the folder containing "
        f"`{info.folder}/` (or at that folder itself), or set `data.download: true` to fetch "
        + (f"it through {info.url} (MD5-checked by tonic)" if info.fetch else f"the official archive ({info.url}, MD5-checked)")
        + " when a network is available."
    )


def resolve_dataset(name: str, root: str | Path | None = None, download: bool = False) -> Path:
    """The folder of dataset ``name``: from root, else $COSEARCH_DATA, else an earlier download in
    ``~/.cache/cosearch``, else downloaded (when ``download`` is on).

    Raises:
        ConfigError: unknown name, the data is nowhere and ``download`` is off, or the download failed.
    """
    info = dataset_info(name)
    given = [Path(p).expanduser() for p in (root, os.environ.get(ENV_VAR)) if p]
    for folder in [*given, DEFAULT_CACHE.expanduser()]:
        found = _found_in(info, folder)
        if found is not None:
            return found
    if not download:
        raise ConfigError("", "data.root", missing_data_message(given, name))
    return download_dataset(name, given[0] if given else DEFAULT_CACHE.expanduser())


def resolve_cifar10(root: str | Path | None = None, download: bool = False) -> Path:
    """:func:`resolve_dataset` for CIFAR-10."""
    return resolve_dataset("cifar10", root, download)


def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _unsafe(names: list[str]) -> bool:
    return any(name.startswith("/") or ".." in Path(name).parts for name in names)


def extract_archive(archive: Path, target: Path, md5: str | None = None, name: str = "cifar10") -> Path:
    """Check ``archive``'s MD5 (default: the registry's for ``name``), unpack it (tar.gz or zip)
    into ``target`` and return the dataset's folder.

    Raises:
        ConfigError: checksum mismatch, an unreadable archive, or one without the dataset's files.
    """
    info = dataset_info(name)
    expected = info.md5 if md5 is None else md5
    if not expected:
        raise ConfigError(str(archive), "", f"{info.title} is unpacked by {info.url}, not from one archive")
    actual = md5sum(archive)
    if actual != expected:
        raise ConfigError(str(archive), "", f"MD5 {actual} does not match the expected {expected} of the official "
                                            f"{info.title} archive (truncated or another file); delete it and download again")
    target.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as bundle:
                if _unsafe(bundle.namelist()):
                    raise ConfigError(str(archive), "", "has members outside its folder; refusing to unpack it")
                bundle.extractall(target)
        else:
            with tarfile.open(archive, "r:*") as tar:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuses unsafe members
                    tar.extractall(target, filter="data")
                elif _unsafe(tar.getnames()):
                    raise ConfigError(str(archive), "", "has members outside its folder; refusing to unpack it")
                else:
                    tar.extractall(target)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(str(archive), "", f"cannot unpack this archive ({exc})") from None
    found = _found_in(info, target)
    if found is None:
        raise ConfigError(str(archive), "", f"holds no `{info.folder}/` with the {info.title} files")
    return found


def download_dataset(name: str, target: Path, url: str | None = None, md5: str | None = None) -> Path:
    """Download dataset ``name``'s official archive into ``target``, verify and unpack it."""
    info = dataset_info(name)
    target.mkdir(parents=True, exist_ok=True)
    if info.fetch is not None:
        try:
            info.fetch(target)
        except (OSError, RuntimeError) as exc:
            raise ConfigError("", "data.download", f"cannot download {info.title} through {info.url} ({exc}). "
                              + missing_data_message([target], name)) from None
        found = _found_in(info, target)
        if found is None:
            raise ConfigError(str(target), "data.download", f"{info.url} left no `{info.folder}/` with the {info.title} files")
        return found
    url = url or info.url
    suffix = ".zip" if url.endswith(".zip") else ".tar.gz"
    with tempfile.NamedTemporaryFile(dir=target, suffix=suffix, delete=False) as tmp:
        archive = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, tmp)
        except OSError as exc:
            archive.unlink(missing_ok=True)
            raise ConfigError("", "data.download", f"cannot download {info.title} from {url} ({exc}). "
                              + missing_data_message([target], name)) from None
    try:
        return extract_archive(archive, target, md5, name)
    finally:
        archive.unlink(missing_ok=True)


def locate_data(data: Mapping[str, object], base_dir: Path) -> dict[str, object]:
    """An experiment's ``data`` section with ``root`` set to the dataset's folder, found (or
    downloaded) now, so a missing dataset stops a run with what to set before any trial.

    A relative ``root`` is taken relative to ``base_dir`` (the experiment's folder).
    """
    located = dict(data)
    root = located.get("root")
    if root is not None:
        root = Path(base_dir) / Path(str(root)).expanduser()
    located["root"] = str(resolve_dataset(str(located.get("dataset", "cifar10")), root, bool(located.get("download", False))))
    return located


def load_inputs(data: Mapping[str, object], base_dir: Path | None = None, split: str = "train") -> ImageSet | EventSet:
    """An experiment's ``data`` section (``dataset``, ``root``, ``download``) -> inputs of ``split``:
    images, or event recordings for an event dataset.

    A relative ``root`` is taken relative to ``base_dir`` (the experiment's folder).
    """
    info = dataset_info(str(data.get("dataset", "cifar10")))
    root = data.get("root")
    if root is not None and base_dir is not None:
        root = Path(base_dir) / Path(str(root)).expanduser()
    folder = resolve_dataset(info.name, None if root is None else Path(str(root)), bool(data.get("download", False)))
    return info.read(folder, split)


def load_dataset(data: Mapping[str, object], base_dir: Path | None = None, split: str = "train") -> ImageSet:
    """:func:`load_inputs` for image datasets (what training and validation read).

    Raises:
        ConfigError: ``data.dataset`` names an event dataset (only the proxy and cost evaluators
            take event input so far).
    """
    inputs = load_inputs(data, base_dir, split)
    if not isinstance(inputs, ImageSet):
        images = ", ".join(name for name, info in DATASETS.items() if info.encoding == "direct")
        raise ConfigError("", "data.dataset", f"{data.get('dataset')!r} is an event dataset; training and validation "
                                              f"read image datasets only ({images})")
    return inputs
