"""``train`` evaluator: short surrogate-gradient training, then clean and hardware test accuracy.

The multi-fidelity step of a search: a phase that lists it (``phases[i].evaluators``) trains
each of its candidates -- typically the previous phase's Pareto set, ``inherit: {enqueue:
pareto, sample: false}`` -- at a reduced width for a few epochs on a subset, and measures
``accuracy`` (float network), ``accuracy_quantised`` (weights, inputs and ADC quantised on ideal
cells) and ``accuracy_hw`` (+ ``accuracy_hw_std``: the candidate's devices with their noise,
:mod:`cosearch.accuracy.hardware`), on the experiment's test split.

Experiment YAML::

    evaluators:
      - proxy
      - cost
      - type: train
        options:
          epochs: 2                # budget per candidate (>= 1)
          channel_scale: 0.125     # width trained (every channel count must keep >= 1 channel)
          train_size: 1024         # training images (seeded subset; null = all)
          test_size: 512           # test images (null = all)
          device: auto             # training (cuda when torch sees a GPU); the hardware evaluation runs on the CPU
          # any other TrainSettings field (batch_size, lr, augment, classifier_init, time_budget_s ...)
          hardware_eval: {draws: 3, t_inference_s: 0, batch_size: 256}

Checkpoints: ``<run dir>/train/<key>/`` (``checkpoint.pt`` after every epoch, ``metrics.json``,
``hardware.json``), ``key`` a hash of the design (network, T, hardware mapping) and the options.
The training seed is derived from the same hash, not from the trial, so a design trains the
same way in every trial: a trial re-run after ``kill -9`` continues from its checkpoint, and a
finished design is read back instead of trained again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cosearch.accuracy.hardware import HardwareAccuracy, checkpoint_accuracy, settings_from_mapping
from cosearch.core.candidate import Candidate
from cosearch.core.errors import ConfigError, CosearchError
from cosearch.core.evaluator import EvaluationContext, Evaluator, Metrics
from cosearch.core.files import write_json
from cosearch.core.seeds import derive_seed
from cosearch.data import ImageSet, load_dataset, locate_data
from cosearch.hw import load_hardware_section
from cosearch.snn.threads import use_cpu_threads
from cosearch.training import TrainSettings, train_candidate
from cosearch.workload import narrowest_channels_lost

#: Options of :class:`TrainEvaluator` that differ from :class:`~cosearch.training.TrainSettings`'s
#: defaults (any other field of it but ``seed`` may be set too; ``hardware_eval``:
#: :class:`~cosearch.accuracy.HardwareEvalSettings`).
DEFAULTS: dict[str, Any] = {"epochs": 2, "channel_scale": 0.125, "train_size": 1024, "test_size": 512,
                            "hardware_eval": {}}
#: Metrics (scalars, plus the per-draw list as a detail).
METRICS = frozenset({"accuracy", "accuracy_quantised", "accuracy_hw", "accuracy_hw_std", "accuracy_hw_draws",
                     "train_time_s", "train_loss"})
HARDWARE_FILE = "hardware.json"


class TrainEvaluator(Evaluator):
    """Trains each candidate briefly and returns its clean and hardware test accuracy (see module docstring)."""

    @classmethod
    def produces(cls, options: Mapping[str, Any], context: EvaluationContext) -> set[str]:
        return set(METRICS)

    def __init__(self, options: Mapping[str, Any] | None = None, context: EvaluationContext | None = None) -> None:
        super().__init__(options, context)
        allowed = [name for name in TrainSettings.model_fields if name != "seed"] + ["hardware_eval"]
        unknown = [key for key in self.options if key not in allowed]
        if unknown:
            raise ConfigError("", f"options.{unknown[0]}", f"unknown train option (allowed: {', '.join(allowed)})")
        options = {**DEFAULTS, **self.options}
        hardware_eval = options.pop("hardware_eval")
        if not isinstance(hardware_eval, Mapping):
            raise ConfigError("", "options.hardware_eval", "must be a mapping of draws, t_inference_s, batch_size")
        self.eval_settings = settings_from_mapping(hardware_eval, "options.hardware_eval")
        self.settings = TrainSettings.parse(options, "options.")
        self.settings.check("options.")
        self._data = locate_data(self.context.data, self.context.experiment_dir)
        self._splits: dict[str, ImageSet] = {}
        self.hardware = load_hardware_section(self.context.project_dir, self.context.hardware)

    def images(self, split: str) -> ImageSet:
        if split not in self._splits:
            self._splits[split] = load_dataset(self._data, split=split)
        return self._splits[split]

    def check_space(self, network: Mapping[str, Sequence[Any]]) -> None:
        """Every channel count the space can take keeps >= 1 channel at ``channel_scale``."""
        lost = narrowest_channels_lost(network.get("channels", ()), self.settings.channel_scale)
        if lost:
            raise ConfigError("", "options.channel_scale", lost)

    def design(self, candidate: Candidate) -> tuple[str, Candidate]:
        """(checkpoint key, the candidate as trained: same design, seed derived from the key)."""
        settings = self.settings.model_dump(exclude={"seed"})
        document = {**candidate.design(), "train": settings, "hardware_eval": self.eval_settings.model_dump()}
        digest = hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()
        seed = derive_seed(int(digest[:16], 16))
        trained = Candidate(network=candidate.network, timesteps=candidate.timesteps, hardware=candidate.hardware,
                            seed=seed)
        return digest[:16], trained

    def evaluate(self, candidate: Candidate, upstream: Mapping[str, Any]) -> Metrics:
        self.settings.check("options.", network=candidate.network)  # this design keeps >= 1 channel per layer
        use_cpu_threads()  # one thread per free core, decided per design
        if self.context.run_dir is None:
            raise CosearchError("the train evaluator keeps its checkpoints in the run directory: "
                                "run it from an experiment (cosearch run)")
        key, trained = self.design(candidate)
        out = Path(self.context.run_dir) / "train" / key
        settings = self.settings.model_copy(update={"seed": trained.seed})
        result = train_candidate(trained, self.images("train"), self.images("test"), settings, out, resume=True,
                                 progress=False)
        measured = self._hardware(out)
        last = result.history[-1] if result.history else {}
        return {**measured.metrics(), "train_time_s": result.train_time_s,
                "train_loss": float(last.get("train_loss", float("nan")))}

    def _hardware(self, out: Path) -> HardwareAccuracy:
        """``accuracy_hw`` of the trained checkpoint (read back from ``hardware.json`` when measured)."""
        path = out / HARDWARE_FILE
        if path.exists():
            return HardwareAccuracy.from_json(json.loads(path.read_text()))
        measured = checkpoint_accuracy(out, self.hardware, self.images("test"), self.eval_settings)
        write_json(path, asdict(measured))
        return measured
