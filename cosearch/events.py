"""Event-camera recordings through tonic: file listing, reading and binning into T frames.

Folder layouts are those tonic's own dataset classes unpack (``tonic.datasets.<Class>(save_to)``
writes ``<save_to>/<Class>/...``), so a folder tonic downloaded is read as it is:

* N-MNIST (``NMNIST/``): ``Train/<digit>/*.bin`` and ``Test/<digit>/*.bin``, the 5-byte ATIS
  records read by ``tonic.io.read_mnist_file``; sensor 34 x 34, 2 polarities; timestamps in µs.
* CIFAR10-DVS (``CIFAR10DVS/``): ``<class>/*.aedat4`` (tonic's AEDAT4 conversion) read by
  ``tonic.io.read_aedat4`` (needs the ``aedat`` package); sensor 128 x 128. It has no official
  split: per class, the first 90 % of the sorted files are ``train``, the rest ``test``.
* DVS128 Gesture (``DVSGesture/``): ``ibmGestureTrain|ibmGestureTest/user<NN>_<lighting>/<label>.npy``
  (tonic's preprocessed release; rows ``x, y, p, t`` with t in ms); sensor 128 x 128, 11 classes.

Binning (:func:`bin_recording`): ``tonic.transforms.Downsample`` to the registered frame size,
then ``tonic.transforms.ToFrame(n_time_bins=T)``: T frames of equal duration over the
recording; a pixel that saw at least one event in a frame is a spike (1), else 0. So T is the
candidate's timesteps: searching T changes the binning. Numpy only; tonic is imported on use
(the optional ``events`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import recfunctions

from cosearch.core.errors import ConfigError

#: CIFAR10-DVS class folders in label order (tonic's ``CIFAR10DVS.classes``).
CIFAR10DVS_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10DVS_TRAIN_FRACTION = 0.9
NMNIST_DTYPE = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
GESTURE_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])


def _tonic() -> Any:
    """The tonic module, imported on first use."""
    try:
        import tonic
    except ImportError:
        raise ConfigError("", "data.dataset", "event datasets need tonic: pip install 'cosearch[events]'") from None
    return tonic


# ------------------------------------------------------------------ listing ----

def nmnist_holds(folder: Path) -> bool:
    return (folder / "Train").is_dir() and (folder / "Test").is_dir()


def nmnist_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(file, digit) of one split: ``Train`` or ``Test``, digit = the parent folder's name."""
    root = folder / ("Train" if split == "train" else "Test")
    return [(path, int(path.parent.name)) for path in sorted(root.glob("[0-9]/*.bin"))]


def cifar10dvs_holds(folder: Path) -> bool:
    return all((folder / name).is_dir() for name in CIFAR10DVS_CLASSES)


def cifar10dvs_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(file, class) of one split: the first 90 % of each class's sorted files train, the rest test."""
    files = []
    for label, name in enumerate(CIFAR10DVS_CLASSES):
        paths = sorted((folder / name).glob("*.aedat4"))
        cut = round(CIFAR10DVS_TRAIN_FRACTION * len(paths))
        files += [(path, label) for path in (paths[:cut] if split == "train" else paths[cut:])]
    return files


def gesture_holds(folder: Path) -> bool:
    return (folder / "ibmGestureTrain").is_dir() and (folder / "ibmGestureTest").is_dir()


def gesture_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(file, gesture) of one split; the label is the file name (``<label>.npy``)."""
    root = folder / ("ibmGestureTrain" if split == "train" else "ibmGestureTest")
    return [(path, int(path.stem)) for path in sorted(root.glob("user*/*.npy")) if path.stem.isdigit()]


# ------------------------------------------------------------------ reading ----

def read_nmnist(path: Path) -> np.ndarray:
    """Events of one N-MNIST ``.bin`` file (structured x, y, t [µs], p)."""
    if path.stat().st_size % 5:
        raise ValueError(f"{path.stat().st_size} bytes is not a whole number of 5-byte events")
    return _tonic().io.read_mnist_file(str(path), dtype=NMNIST_DTYPE)


def read_cifar10dvs(path: Path) -> np.ndarray:
    """Events of one CIFAR10-DVS ``.aedat4`` file (structured t [µs], x, y, p)."""
    events = _tonic().io.read_aedat4(str(path))
    events.dtype.names = ("t", "x", "y", "p")
    return events


def read_gesture(path: Path) -> np.ndarray:
    """Events of one DVS128 Gesture ``.npy`` file (rows x, y, p, t [ms] -> structured, t in µs)."""
    rows = np.load(path, allow_pickle=False)
    if rows.ndim != 2 or rows.shape[1] != 4:
        raise ValueError(f"holds an array of shape {rows.shape}, not events as rows of x, y, p, t")
    rows = rows.astype(np.int64)
    rows[:, 3] *= 1000
    return recfunctions.unstructured_to_structured(rows, GESTURE_DTYPE)


def read_events(read: Callable[[Path], np.ndarray], path: Path) -> np.ndarray:
    """``read(path)``; any failure of the parser is a ConfigError naming the file."""
    try:
        return read(path)
    except ConfigError:
        raise
    except Exception as exc:  # tonic's parsers raise many kinds (struct, index, value, decoder errors)
        raise ConfigError(str(path), "", f"tonic cannot parse this event file ({type(exc).__name__}: {exc})") from None


# ------------------------------------------------------------------ binning ----

def bin_recording(events: np.ndarray, sensor: tuple[int, int, int], size: int, timesteps: int,
                  path: Path) -> np.ndarray:
    """One recording -> uint8 spikes ``[T, P, size, size]`` (tonic Downsample + ToFrame(n_time_bins=T)).

    Args:
        sensor: tonic's ``sensor_size`` (width, height, polarities) of the recording.
        size: frame side after downsampling (the dataset's registered input size).
        path: the file, for error messages.

    Raises:
        ConfigError: the recording has no events, or lasts fewer µs than T (a bin shorter
            than one timestamp tick), naming the file and the ``timesteps`` key.
    """
    tonic = _tonic()
    if len(events) == 0:
        raise ConfigError(str(path), "", "holds no events")
    duration = int(events["t"].max()) - int(events["t"].min())
    if duration < timesteps:
        raise ConfigError(str(path), "timesteps", f"T = {timesteps} frames do not fit a recording of {duration} µs "
                                                  f"(each frame needs at least 1 µs); choose T <= {max(duration, 1)}")
    transforms = [tonic.transforms.ToFrame(sensor_size=(size, size, sensor[2]), n_time_bins=timesteps)]
    if size != sensor[0] or size != sensor[1]:
        transforms.insert(0, tonic.transforms.Downsample(sensor_size=sensor, target_size=(size, size)))
    frames = tonic.transforms.Compose(transforms)(events)
    return (np.asarray(frames)[:timesteps] > 0).astype(np.uint8)
