"""``cosearch train``: train one design, a trial of a run directory or a genome file.

What trains where: trial ``N`` of a run directory trains into ``RUN_DIR/train/trial_N`` on the
run's data (its ``data`` section; a relative ``root`` that does not resolve from here falls back
to ``$COSEARCH_DATA``) and, with ``--hardware``, is evaluated on the run's hardware cards; a
genome file ``X.yaml`` trains into ``runs/train/X`` on ``$COSEARCH_DATA`` with the package's cards.
``--data-root`` overrides the data folder. The training seed is the candidate's. Every setting
and the hardware cards are checked before anything is trained.

The training itself is :mod:`cosearch.training`; the accuracy on the candidate's crossbars is
:func:`cosearch.accuracy.checkpoint_accuracy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cosearch.accuracy import HardwareAccuracy, HardwareEvalSettings, checkpoint_accuracy
from cosearch.core.candidate import Candidate
from cosearch.core.errors import CosearchError
from cosearch.data import ImageSet, load_dataset
from cosearch.hw import HardwareModel, load_hardware_section
from cosearch.training import TrainResult, TrainSettings, train_candidate

#: how ``--hardware`` settings are named in messages
HARDWARE_SOURCE = "cosearch train --hardware"


@dataclass
class TrainingJob:
    """One ``cosearch train``, checked: the design, where it trains, on which data, how.

    Attributes:
        candidate: the design (its seed seeds the training).
        out: the output folder (checkpoint, metrics).
        data: the ``data`` section the images are loaded with.
        settings: the training settings (checked against the design).
        hardware: the cards ``--hardware`` evaluates on (None: no hardware evaluation).
        hardware_settings: how it evaluates.
    """

    candidate: Candidate
    out: Path
    data: dict[str, Any]
    settings: TrainSettings
    hardware: HardwareModel | None = None
    hardware_settings: HardwareEvalSettings | None = None
    _test_images: ImageSet | None = field(default=None, init=False, repr=False)

    def test_images(self) -> ImageSet:
        if self._test_images is None:
            self._test_images = load_dataset(self.data, split="test")
        return self._test_images

    def train(self, resume: bool = False, progress: bool = True) -> TrainResult:
        """Train (``resume``: continue from the output folder's checkpoint)."""
        test_images = self.test_images()
        return train_candidate(self.candidate, load_dataset(self.data, split="train"), test_images,
                               self.settings, self.out, resume=resume, progress=progress)

    def hardware_accuracy(self) -> HardwareAccuracy | None:
        """The trained checkpoint's accuracy as its crossbars compute it (None without ``--hardware``)."""
        if self.hardware is None:
            return None
        return checkpoint_accuracy(self.out, self.hardware, self.test_images(), self.hardware_settings)


def prepare_training(source: str | Path, options: Mapping[str, Any], *, trial: int | None = None,
                     out: str | Path | None = None, data_root: str | None = None,
                     hardware: Mapping[str, Any] | None = None) -> TrainingJob:
    """The checked :class:`TrainingJob` of ``cosearch train SOURCE``.

    Args:
        source: a run directory (with ``trial``) or a genome file.
        options: :class:`~cosearch.training.TrainSettings` values but ``seed`` (named as CLI options in errors).
        out: the output folder (default: see the module docstring).
        data_root: the dataset folder, over the run's and ``$COSEARCH_DATA``.
        hardware: :class:`~cosearch.accuracy.HardwareEvalSettings` values, to evaluate on the hardware too.

    Raises:
        CosearchError: a run directory without ``trial``, an unknown trial, a bad setting or card.
    """
    candidate, folder, data, config = _design(Path(source), trial)
    if data_root:
        data["root"] = str(Path(data_root).resolve())
    elif data.get("root") and not Path(str(data["root"])).expanduser().exists():
        data.pop("root")  # a root relative to the experiment folder: fall back to $COSEARCH_DATA
    settings = TrainSettings.parse({**options, "seed": candidate.seed}, "--")
    settings.check("--", candidate.network)
    job = TrainingJob(candidate, Path(out) if out else folder, data, settings)
    if hardware is not None:  # checked (cards loaded) before training
        job.hardware_settings = HardwareEvalSettings.parse(hardware, "", HARDWARE_SOURCE)
        job.hardware_settings.check("", HARDWARE_SOURCE)
        job.hardware = load_hardware_section(None, (config or {}).get("hardware"))
    return job


def _design(source: Path, trial: int | None) -> tuple[Candidate, Path, dict[str, Any], dict[str, Any] | None]:
    """(candidate, default output folder, data section, run config or None) of ``source``."""
    if not source.is_dir():
        from cosearch.design_files.genome import read_genome

        candidate, _ = read_genome(source)
        return candidate, Path("runs") / "train" / source.stem, {}, None
    from cosearch.design_files.genome import candidate_from_document
    from cosearch.run_dir import RunDirectory
    from cosearch.workflows.export import trial_document

    if trial is None:
        raise CosearchError(f"{source} is a run directory: say which trial to train with --trial N")
    config = RunDirectory(source).read_config()
    candidate = candidate_from_document(trial_document(source, trial), f"{source} trial {trial}")
    return candidate, source / "train" / f"trial_{trial}", dict(config.get("data") or {}), config


__all__ = ["TrainingJob", "prepare_training"]
