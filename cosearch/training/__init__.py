"""The training library: surrogate-gradient BPTT of a candidate SNN (SNASNet's recipe).

Modules: ``settings`` (:class:`TrainSettings`), ``model`` (:func:`make_model`), ``images``
(tensors, subsets, augmentation), ``schedule`` (cosine learning rate, time budget, per-epoch
random streams), ``progress`` (progress bar and epoch lines), ``loop`` (:func:`train_candidate`),
``evaluation`` (:func:`evaluate`, :func:`evaluation_subset`), ``checkpoints`` (the output folder:
:data:`CHECKPOINT`, :func:`load_checkpoint`, :data:`METRICS`, :func:`read_metrics`, resume).
What ``cosearch train`` does with it is :mod:`cosearch.workflows.train`.
"""

from cosearch.training.checkpoints import CHECKPOINT, METRICS, load_checkpoint, read_metrics
from cosearch.training.evaluation import evaluate, evaluation_subset
from cosearch.training.loop import TrainResult, TrainStep, train_candidate
from cosearch.training.model import make_model
from cosearch.training.settings import TrainSettings

__all__ = ["CHECKPOINT", "METRICS", "TrainResult", "TrainSettings", "TrainStep", "evaluate", "evaluation_subset",
           "load_checkpoint", "make_model", "read_metrics", "train_candidate"]
