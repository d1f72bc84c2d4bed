"""Datasets beyond CIFAR-10: tiny fixtures in each native on-disk format, written here, then
load -> proxy -> cost end to end; bad input (unknown name, another dataset's root, bad archive,
unreadable files) as ConfigErrors naming the file or key. Nothing is downloaded."""

from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cosearch import data
from cosearch.config import experiment_from_dict
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError
from cosearch.core.evaluator import EvaluationContext
from cosearch.evaluators.cost import CostEvaluator
from cosearch.evaluators.proxy import ProxyEvaluator
from cosearch.workload import canonical_genome, network_layers

REPO = Path(__file__).resolve().parents[1]
CELL = "0303 0030 2002 0200"


def pixels(count: int) -> np.ndarray:
    """The uint8 ``[count, 3, 32, 32]`` images the CIFAR-100 fixture stores (seeded)."""
    return np.random.default_rng(1).integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)


def write_cifar100(root: Path, per_split: int = 6) -> Path:
    """``cifar-100-python/{train,test,meta}`` pickles: random pixels (:func:`pixels`), fine label 99 - k."""
    folder = root / data.CIFAR100_FOLDER
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        entry = {"data": pixels(per_split).reshape(per_split, 3072),
                 "fine_labels": [99 - k for k in range(per_split)], "coarse_labels": [0] * per_split}
        (folder / split).write_bytes(pickle.dumps(entry))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{k}" for k in range(100)]}))
    return folder


def write_tiny_imagenet(root: Path, wnids: tuple[str, ...] = ("n02", "n01", "n03"), per_class: int = 2) -> Path:
    """``tiny-imagenet-200/`` with ``per_class`` JPEGs per class (one grey-scale) and a labelled ``val``."""
    folder = root / data.TINY_IMAGENET_FOLDER
    (folder / "val" / "images").mkdir(parents=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")
    rng = np.random.default_rng(0)
    for wnid in wnids:
        images = folder / "train" / wnid / "images"
        images.mkdir(parents=True)
        for k in range(per_class):
            mode = "L" if k == 0 else "RGB"
            pixels = rng.integers(0, 256, (64, 64) if mode == "L" else (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels, mode).save(images / f"{wnid}_{k}.JPEG")
    lines = []
    for k, wnid in enumerate(["n03", "n01", "n03"]):
        Image.fromarray(np.full((64, 64, 3), 10 * k, np.uint8)).save(folder / "val" / "images" / f"val_{k}.png")
        lines.append(f"val_{k}.png\t{wnid}\t0\t0\t63\t63")
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_registry_lists_shapes_and_classes() -> None:
    assert {name: (info.shape, info.classes) for name, info in data.DATASETS.items()} == {
        "cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100), "tiny-imagenet": ((3, 64, 64), 200),
        "nmnist": ((2, 34, 34), 10), "cifar10-dvs": ((2, 32, 32), 10), "dvs-gesture": ((2, 32, 32), 11)}
    assert [name for name, info in data.DATASETS.items() if info.encoding == "events"] == ["nmnist", "cifar10-dvs",
                                                                                          "dvs-gesture"]
    assert data.DATASETS["cifar100"].md5 == "eb9058c3a382ffc7106e4002c42a8d85"  # torchvision's CIFAR100
    assert data.DATASETS["tiny-imagenet"].md5 == "90528d7ca1a48142e341f4ef8d21d0de"
    assert data.DATASETS["tiny-imagenet"].network_values() == {"in_channels": 3, "image_size": 64, "num_classes": 200,
                                                               "encoding": "direct"}


def test_cifar100_reads_fine_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_cifar100(tmp_path)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    assert data.resolve_dataset("cifar100", tmp_path) == folder
    assert data.resolve_dataset("cifar100", folder) == folder
    train = data.load_dataset({"dataset": "cifar100", "root": str(tmp_path)})
    assert train.images.shape == (6, 3, 32, 32) and train.labels.tolist() == [99, 98, 97, 96, 95, 94]
    np.testing.assert_array_equal(train.images, pixels(6))  # row-major 3072 bytes = R plane, G plane, B plane
    assert train.mean != data.CIFAR10_MEAN


def test_tiny_imagenet_folder_tree_val_annotations_and_cache(tmp_path: Path) -> None:
    folder = write_tiny_imagenet(tmp_path)
    train = data.load_dataset({"dataset": "tiny-imagenet", "root": str(tmp_path)})
    assert train.images.shape == (6, 3, 64, 64) and train.images.dtype == np.uint8
    assert train.labels.tolist() == [0, 0, 1, 1, 2, 2]  # class index = position in sorted wnids: n01, n02, n03
    grey = train.images[0]
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[1], grey[2])  # "L" JPEG -> RGB
    test = data.load_dataset({"dataset": "tiny-imagenet", "root": str(folder)}, split="test")
    assert test.labels.tolist() == [2, 0, 2]  # from val_annotations.txt
    assert [int(test.images[k].max()) for k in range(3)] == [0, 10, 20]  # PNG: lossless
    assert (folder / "cosearch-cache" / "test.npz").is_file()
    (folder / "val" / "images" / "val_0.png").unlink()  # the cache is read, not the images
    assert data.load_dataset({"dataset": "tiny-imagenet", "root": str(folder)}, split="test").labels.tolist() == [2, 0, 2]


def test_unknown_dataset_lists_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data.dataset: must be one of cifar10, cifar100, tiny-imagenet"):
        data.load_dataset({"dataset": "mnist"})
    raw = {"name": "x", "data": {"dataset": "imagenet"}, "space": {"network": {"arch": "vgg16"}, "timesteps": 2},
           "evaluators": ["cost"], "objectives": [{"metric": "hw_edap", "direction": "minimize"}]}
    with pytest.raises(ConfigError, match=r"x.yaml: data.dataset: .*cifar100.*got 'imagenet'"):
        experiment_from_dict(raw, tmp_path / "x.yaml")


def test_root_holding_another_dataset_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cifar100(tmp_path)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEFAULT_CACHE", tmp_path / "no-cache")
    with pytest.raises(ConfigError) as info:
        data.load_dataset({"dataset": "tiny-imagenet", "root": str(tmp_path)})
    message = info.value.detail  # the pipeline puts the experiment file in front of the key path
    assert info.value.path == "data.root" and message.startswith("Tiny-ImageNet-200 not found")
    assert f"{tmp_path} holds CIFAR-100 (data.dataset: cifar100)" in message and "data.download" in message


def _tar(path: Path, members: dict[str, bytes]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(payload)
            tar.addfile(entry, io.BytesIO(payload))
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_archives_checksum_truncation_and_zip(tmp_path: Path) -> None:
    pickled = pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "fine_labels": [3]})
    archive = tmp_path / "c100.tar.gz"
    md5 = _tar(archive, {f"{data.CIFAR100_FOLDER}/{n}": pickled for n in ("train", "test", "meta")})
    with pytest.raises(ConfigError, match="does not match the expected eb9058c3a382ffc7106e4002c42a8d85"):
        data.extract_archive(archive, tmp_path / "official", name="cifar100")  # not the official bytes
    folder = data.extract_archive(archive, tmp_path / "out", md5=md5, name="cifar100")
    assert data.load_cifar100(folder, "test").labels.tolist() == [3]
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: len(archive.read_bytes()) // 2])
    with pytest.raises(ConfigError, match=r"cut.tar.gz: cannot unpack"):
        data.extract_archive(truncated, tmp_path / "cut", md5=data.md5sum(truncated), name="cifar100")
    with pytest.raises(ConfigError, match="holds no `tiny-imagenet-200/` with the Tiny-ImageNet-200 files"):
        data.extract_archive(archive, tmp_path / "wrong", md5=md5, name="tiny-imagenet")
    import zipfile

    source = write_tiny_imagenet(tmp_path / "src")
    zipped = tmp_path / "tiny.zip"
    with zipfile.ZipFile(zipped, "w") as bundle:
        for path in sorted(source.rglob("*")):
            bundle.write(path, path.relative_to(tmp_path / "src"))
    found = data.extract_archive(zipped, tmp_path / "tiny", md5=data.md5sum(zipped), name="tiny-imagenet")
    assert len(data.load_tiny_imagenet(found, "train")) == 6


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    folder = write_cifar100(tmp_path)
    (folder / "test").write_bytes(b"\x80\x04 truncated")
    with pytest.raises(ConfigError, match=r"cifar-100-python/test: cannot read this pickle"):
        data.load_cifar100(folder, "test")
    tiny = write_tiny_imagenet(tmp_path / "t")
    (tiny / "val" / "images" / "val_1.png").write_bytes(b"not an image")
    with pytest.raises(ConfigError, match=r"val_1.png: cannot decode"):
        data.load_tiny_imagenet(tiny, "test")
    (tiny / "val" / "val_annotations.txt").write_text("val_0.png\tn99\t0\t0\t1\t1\n")
    with pytest.raises(ConfigError, match=r"class 'n99' is not listed"):
        data.load_tiny_imagenet(tiny, "test")


@pytest.mark.parametrize(("dataset", "network"), [
    ("cifar100", {"num_classes": 100}),
    ("tiny-imagenet", {"image_size": 64, "stem_stride": 2, "num_classes": 200, "classifier_width": 64,
                       "votes_per_class": 5}),
])
def test_load_proxy_cost_end_to_end(tmp_path: Path, dataset: str, network: dict) -> None:
    (write_cifar100 if dataset == "cifar100" else write_tiny_imagenet)(tmp_path)
    context = EvaluationContext(experiment_dir=tmp_path, project_dir=REPO, data={"dataset": dataset, "root": "."},
                                proxy={"batch_size": 4, "repeats": 1})
    proxy = ProxyEvaluator({}, context)
    proxy.check_space({"arch": ("snasnet",), **{k: (v,) for k, v in network.items()}})
    with pytest.raises(ConfigError, match=r"network.num_classes: must be .* for "):
        proxy.check_space({"arch": ("snasnet",), **{k: (v,) for k, v in network.items() if k != "num_classes"}})
    genome = canonical_genome({"arch": "snasnet", "cell": CELL, "channels": 4, **network})
    candidate = Candidate(network=genome, timesteps=2, seed=1)
    metrics = proxy.evaluate(candidate, {})
    assert np.isfinite(metrics["proxy_score"]) and 0 < metrics["proxy_firing_rate"] < 1
    cost = CostEvaluator({"use_activity": True}, context).evaluate(candidate, metrics)
    assert cost["hw_energy_pj"] > 0 and cost["hw_area_mm2"] > 0
    layers = {layer.name: layer for layer in network_layers(genome)}
    assert layers["fc2"].cout == network["num_classes"] * genome["votes_per_class"]
    cells = 32  # both datasets' cells run at 32x32 (Tiny-ImageNet: 64x64 through a stride-2 stem)
    assert layers["stem"].h_out == layers["down"].h_out == cells and layers["fc1"].cin == 2 * 4 * (cells // 4) ** 2


# ------------------------------------------------------------------ event data (tonic) ----

def nmnist_bytes(events: list[tuple[int, int, int, int]]) -> bytes:
    """N-MNIST's 5-byte records (x, y, polarity bit 7 + 23-bit timestamp [µs]) of (x, y, t, p) events."""
    out = bytearray()
    for x, y, t, p in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


#: Recording k of digit d: four events at t = 0, 10, 90, 100 µs on pixels that depend on (d, k).
def _recording(digit: int, k: int) -> list[tuple[int, int, int, int]]:
    return [(digit + k, 1, 0, 0), (digit + k, 2, 10, 1), (5, digit + k, 90, 1), (6, 3 * digit + k, 100, 0)]


def _random_recording(digit: int, k: int) -> list[tuple[int, int, int, int]]:
    """400 events at random pixels, polarities and times within 10 ms (seeded by digit, k)."""
    rng = np.random.default_rng([digit, k])
    times = np.sort(rng.integers(0, 10_000, 400))
    return [(int(rng.integers(34)), int(rng.integers(34)), int(t), int(rng.integers(2))) for t in times]


def write_nmnist(root: Path, digits: tuple[int, ...] = (0, 1, 2), per_digit: int = 3, recording=_recording) -> Path:
    """``NMNIST/{Train,Test}/<digit>/<k>.bin`` files holding ``recording(digit, k)``."""
    folder = root / "NMNIST"
    for split in ("Train", "Test"):
        for digit in digits:
            (folder / split / str(digit)).mkdir(parents=True)
            for k in range(per_digit):
                (folder / split / str(digit) / f"{k:05d}.bin").write_bytes(nmnist_bytes(recording(digit, k)))
    return folder


def test_nmnist_binary_files_bin_into_T_frames(tmp_path: Path) -> None:
    folder = write_nmnist(tmp_path)
    recordings = data.load_inputs({"dataset": "nmnist", "root": str(tmp_path)})
    assert isinstance(recordings, data.EventSet) and len(recordings) == 9
    assert recordings.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # digit 1, k = 1: (x=2, y=1) p0 at 0 µs, (2, 2) p1 at 10, (5, 2) p1 at 90, (6, 4) p0 at 100. tonic's
    # ToFrame(n_time_bins=T) bins are half-open [k w, (k+1) w), w = 100 µs / T: the event at the very
    # end of the recording falls outside them.
    two = recordings.recording(4, 2)
    assert two.shape == (2, 2, 34, 34) and two.dtype == np.uint8 and int(two.sum()) == 3
    assert two[0, 0, 1, 2] == two[0, 1, 2, 2] == two[1, 1, 2, 5] == 1  # [t, p, y, x]
    four = recordings.recording(4, 4)  # T changes the binning: frames of 25 µs
    assert four.shape == (4, 2, 34, 34) and four.sum(axis=(1, 2, 3)).tolist() == [2, 0, 0, 1]
    assert (folder / "cosearch-cache" / "34px" / "T4" / "Train" / "1" / "00001.bin.npy").is_file()
    batch = recordings.at(3).batch(5, seed=0)
    assert batch.shape == (5, 3, 2, 34, 34) and batch.dtype == np.float32 and set(np.unique(batch)) == {0.0, 1.0}


def test_event_files_tonic_cannot_parse_and_T_too_long(tmp_path: Path) -> None:
    folder = write_nmnist(tmp_path, digits=(0,), per_digit=2)
    (folder / "Train" / "0" / "00001.bin").write_bytes(b"\x01\x02\x03")  # not whole 5-byte records
    recordings = data.load_inputs({"dataset": "nmnist", "root": str(folder)})
    with pytest.raises(ConfigError, match=r"00001.bin: tonic cannot parse this event file"):
        recordings.recording(1, 2)
    with pytest.raises(ConfigError, match=r"00000.bin: timesteps: T = 200 frames do not fit a recording of 100 µs"):
        recordings.recording(0, 200)
    for name in data.events.CIFAR10DVS_CLASSES:
        (tmp_path / "CIFAR10DVS" / name).mkdir(parents=True)
        (tmp_path / "CIFAR10DVS" / name / "0.aedat4").write_bytes(b"#!AER-DAT4.0\r\n garbage")
    dvs = data.load_inputs({"dataset": "cifar10-dvs", "root": str(tmp_path)})
    assert len(dvs) == 10 and dvs.labels.tolist() == list(range(10))  # 1 file per class: 90 % rounds to 1 = train
    with pytest.raises(ConfigError, match=r"airplane/0.aedat4: tonic cannot parse"):
        dvs.recording(0, 2)
    with pytest.raises(ConfigError, match=r"data.dataset: 'nmnist' is an event dataset"):
        data.load_dataset({"dataset": "nmnist", "root": str(folder)})


def test_dvs_gesture_npy_recordings(tmp_path: Path) -> None:
    for split in ("ibmGestureTrain", "ibmGestureTest"):
        for user, label in (("user01_led", 3), ("user02_natural", 10)):
            (tmp_path / "DVSGesture" / split / user).mkdir(parents=True, exist_ok=True)
            rows = np.array([[0, 0, 0, 0], [127, 127, 1, 5], [64, 32, 1, 9]])  # x, y, p, t [ms]
            np.save(tmp_path / "DVSGesture" / split / user / f"{label}.npy", rows)
    recordings = data.load_inputs({"dataset": "dvs-gesture", "root": str(tmp_path)}, split="test")
    assert recordings.labels.tolist() == [3, 10]
    frames = recordings.recording(0, 2)  # 128 x 128 sensor downsampled to 32 x 32: pixel // 4; bins of 4.5 ms
    assert frames.shape == (2, 2, 32, 32) and int(frames.sum()) == 2  # the last event (9 ms) ends the recording
    assert frames[0, 0, 0, 0] == frames[1, 1, 31, 31] == 1


def test_event_input_end_to_end_first_layer_priced_as_spikes(tmp_path: Path) -> None:
    write_nmnist(tmp_path, recording=_random_recording)
    context = EvaluationContext(experiment_dir=tmp_path, project_dir=REPO, data={"dataset": "nmnist", "root": "."},
                                proxy={"batch_size": 4, "repeats": 1})
    proxy = ProxyEvaluator({}, context)
    network = {"in_channels": 2, "image_size": 34, "encoding": "events"}
    proxy.check_space({"arch": ("snasnet",), **{k: (v,) for k, v in network.items()}})
    with pytest.raises(ConfigError, match=r"network.encoding: must be events for N-MNIST"):
        proxy.check_space({"arch": ("snasnet",), "in_channels": (2,), "image_size": (34,)})
    events = canonical_genome({"arch": "snasnet", "cell": CELL, "channels": 4, **network})
    direct = canonical_genome({"arch": "snasnet", "cell": CELL, "channels": 4, "in_channels": 2, "image_size": 34})
    stem = network_layers(events)[0]
    assert (stem.input_bits, stem.per_timestep) == (1, True)
    assert (network_layers(direct)[0].input_bits, network_layers(direct)[0].per_timestep) == (None, False)
    cost = CostEvaluator({}, context)
    energy = {}
    for timesteps in (2, 4):
        candidate = Candidate(network=events, timesteps=timesteps, seed=1)
        metrics = proxy.evaluate(candidate, {})
        assert np.isfinite(metrics["proxy_score"]) and 0 < metrics["proxy_input_activity"][0] < 1  # sparse spikes in
        energy[timesteps] = cost.evaluate(candidate, metrics)["hw_breakdown"]["layers"]["energy_pj"][0]
        direct_energy = cost.evaluate(Candidate(network=direct, timesteps=timesteps), {})["hw_breakdown"]["layers"]["energy_pj"][0]
        # events: T passes of 1 bit-plane; direct: one pass of the mapping's input_bits (8) bit-planes
        assert energy[timesteps] < direct_energy
    assert energy[4] == pytest.approx(2 * energy[2], rel=1e-6)  # the event stem runs every timestep
    vgg = canonical_genome({"arch": "vgg16", "channels": 4, **network})
    assert (network_layers(vgg)[0].input_bits, network_layers(vgg)[0].per_timestep) == (1, True)
    assert np.isfinite(proxy.evaluate(Candidate(network=vgg, timesteps=2, seed=0), {})["proxy_score"])


def test_genome_encoding_and_stem_stride_are_checked() -> None:
    from cosearch.core.errors import InvalidCandidate

    with pytest.raises(InvalidCandidate, match="encoding must be one of direct, events, got 'spikes'"):
        canonical_genome({"arch": "vgg16", "encoding": "spikes"})
    with pytest.raises(InvalidCandidate, match="stem_stride must be 1 or 2"):
        canonical_genome({"arch": "snasnet", "cell": CELL, "stem_stride": 4})
    assert canonical_genome({"arch": "snasnet", "cell": CELL})["encoding"] == "direct"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cifar100_snasnet", "tiny_imagenet_snasnet", "dvs_gesture_snasnet", "dvs_gesture_cosearch"])
def test_shipped_dataset_experiments_pass_preflight(tmp_path: Path, name: str) -> None:
    """Each new experiment against a fixture of its dataset: config, space, proxy shape checks."""
    from cosearch.config import load_experiment
    from cosearch.search.loop import pipeline_spec
    from cosearch.search.preflight import preflight

    if name.startswith("cifar100"):
        write_cifar100(tmp_path, per_split=64)
    elif name.startswith("tiny"):
        write_tiny_imagenet(tmp_path, per_class=22)
    else:
        for split in ("ibmGestureTrain", "ibmGestureTest"):
            for label in range(11):
                for user in range(6):
                    folder = tmp_path / "DVSGesture" / split / f"user{user:02d}_led"
                    folder.mkdir(parents=True, exist_ok=True)
                    np.save(folder / f"{label}.npy", np.array([[0, 0, 0, 0], [1, 1, 1, 20]]))
    experiment = load_experiment(REPO / "experiments" / f"{name}.yaml", data={"root": str(tmp_path)})
    preflight(experiment, pipeline_spec(experiment, experiment.phases[0]))
    network = experiment.phases[0].space.raw["network"]
    wanted = data.dataset_info(experiment.config.data.dataset).network_values()
    assert wanted["num_classes"] == network["num_classes"]  # set by the space, checked by preflight


def test_offline_downloads_say_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEFAULT_CACHE", tmp_path / "no-cache")
    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    with pytest.raises(ConfigError, match=r"cannot download Tiny-ImageNet-200 from http://cs231n.*network unreachable"):
        data.resolve_dataset("tiny-imagenet", tmp_path / "a", download=True)
    assert list((tmp_path / "a").iterdir()) == []  # no partial archive left behind
    monkeypatch.setitem(data.DATASETS, "nmnist", dataclasses.replace(data.DATASETS["nmnist"], fetch=lambda target: offline()))
    with pytest.raises(ConfigError) as info:
        data.resolve_dataset("nmnist", tmp_path / "b", download=True)
    assert info.value.path == "data.download" and "through tonic.datasets.NMNIST" in info.value.detail
