"""A model of trained accuracy: features (:mod:`cosearch.predictor.features`) -> accuracy [%] and its std.

Fitted on calibration rows (designs whose trained accuracy is known), it predicts the trained
accuracy of any other design of the same kind, with a standard deviation that grows away from
the calibration designs. Two families, compared on SpikeNAS-Bench in docs/validation.md
(section 7):

* ``gp`` (shipped default): scikit-learn's Gaussian process regressor, kernel = a linear trend
  (constant x dot product) + constant x squared-exponential with one length scale per feature
  (automatic relevance determination; length scales >= 0.3 standard deviations) + white noise
  (at least 0.03 of the targets' standard deviation: trained accuracies carry seed noise), targets
  normalised, hyper-parameters by maximum marginal likelihood with seeded restarts. The
  predictive std is the GP's, white noise included (the spread a retrained design would show).
* ``bayesian_ridge``: scikit-learn's Bayesian linear regression (evidence-maximised priors);
  std from its posterior.

Preprocessing, fitted on the calibration rows only (no per-candidate constants): every feature
with at least two distinct finite values is kept; ``-inf`` / ``inf`` / NaN become the finite
minimum / maximum / median of the calibration rows; values are clipped to the calibration range
widened by one range on each side (a GP reverts to its mean far away anyway, a linear model would
extrapolate without bound); then standardised to zero mean and unit variance.

Same rows, same seed: the same model (the optimiser restarts draw from ``seed``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from cosearch.core.ranking import spearman_rho

#: Model families, name -> what it is (the first is the default).
FAMILIES: dict[str, str] = {
    "gp": "Gaussian process: linear + ARD squared-exponential + white noise (scikit-learn)",
    "bayesian_ridge": "Bayesian linear regression (scikit-learn BayesianRidge)",
}
#: Fewest calibration rows a model is fitted on.
MIN_ROWS = 8
#: ``max_features: auto``: one feature per this many calibration rows (at least 2). Every metric of
#: the upstream evaluators and every design feature is 26-37 features; fitted with ARD on a few
#: dozen rows they overfit: on SpikeNAS-Bench's development half the cap moved the median tau at
#: K = 50 from 0.742 to 0.764 (divisors 3 / 4 / 5 / 8: 0.747 / 0.764 / 0.760 / 0.742), and on the
#: 9-13 trained VGG16 width designs the leave-one-out tau from about 0 to 0.47 (docs/validation.md
#: section 7).
ROWS_PER_FEATURE = 4


def feature_limit(max_features: int | str | None, rows: int) -> int | None:
    """How many features a model on ``rows`` calibration rows keeps (None: all)."""
    if max_features == "auto":
        return max(2, rows // ROWS_PER_FEATURE)
    if max_features is None:
        return None
    return int(max_features)


def relevance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|Spearman rho| of each column of ``x`` with ``y`` (0 for a constant column): how much a feature
    alone orders the calibration rows, the criterion ``max_features`` keeps features by."""
    return np.array([abs(rho) if np.isfinite(rho := spearman_rho(x[:, j], y)) else 0.0 for j in range(x.shape[1])])


#: Feature rows: a frame with one column per feature, or one mapping per row (missing features NaN).
Table: TypeAlias = "pd.DataFrame | Sequence[Mapping[str, float]]"


def matrix(table: Table, features: Sequence[str]) -> np.ndarray:
    """``[rows, features]`` float matrix of ``table``; a feature a row lacks is NaN."""
    if isinstance(table, pd.DataFrame):
        return table.reindex(columns=list(features)).to_numpy(dtype=float).reshape(len(table), len(features))
    return np.array([[row.get(name, math.nan) for name in features] for row in table], dtype=float).reshape(
        len(table), len(features))


@dataclass
class Preprocessing:
    """Per-feature fill values, clip bounds and standardisation, fitted on the calibration rows."""

    features: list[str]
    low: np.ndarray
    high: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, table: pd.DataFrame, features: Sequence[str]) -> tuple[Preprocessing, list[str]]:
        """Fit on ``table``'s ``features``; returns the preprocessing and the features left out
        (fewer than two distinct finite values: nothing to learn from them)."""
        kept, dropped, stats = [], [], []
        for name in features:
            values = table[name].to_numpy(float) if name in table else np.full(len(table), np.nan)
            finite = values[np.isfinite(values)]
            if len(np.unique(finite)) < 2:
                dropped.append(name)
                continue
            kept.append(name)
            stats.append((finite.min(), finite.max(), float(np.median(finite))))
        low, high, median = (np.array([s[k] for s in stats], dtype=float) for k in range(3))
        prep = cls(kept, low, high, median, np.zeros(len(kept)), np.ones(len(kept)))
        filled = prep._filled(table)
        prep.mean, prep.scale = filled.mean(axis=0), filled.std(axis=0)
        prep.scale[prep.scale == 0] = 1.0
        return prep, dropped

    def _filled(self, table: Table) -> np.ndarray:
        x = matrix(table, self.features)
        x = np.where(np.isnan(x), self.median, x)
        x = np.where(x == -np.inf, self.low, x)
        x = np.where(x == np.inf, self.high, x)
        span = self.high - self.low
        return np.clip(x, self.low - span, self.high + span)

    def transform(self, table: Table) -> np.ndarray:
        """Standardised feature matrix ``[rows, features]``."""
        return (self._filled(table) - self.mean) / self.scale


@dataclass
class AccuracyModel:
    """Trained accuracy [%] from features, with a calibrated standard deviation.

    Attributes:
        family: one of :data:`FAMILIES`.
        seed: seed of the hyper-parameter optimiser's restarts.
        max_features: the most features the model uses: ``"auto"`` (:data:`ROWS_PER_FEATURE`), an
            integer, or None (all); the ones kept rank highest by |Spearman rho| with the accuracy
            on the calibration rows (:func:`relevance`).
        restarts: GP only: optimiser restarts from random hyper-parameters after the first start (at
            unit length scales). Each costs about as much as the first fit (237 rows x 37 features: a
            few seconds); on SpikeNAS-Bench two restarts moved the median tau at K = 50 by < 0.01.
        features: after :meth:`fit`, the features the model uses.
        ignored: after :meth:`fit`, the requested features left out (constant on the calibration rows).
        unselected: after :meth:`fit`, the features left out by ``max_features``.
        rows: calibration rows fitted on.
    """

    family: str = "gp"
    seed: int = 0
    restarts: int = 0
    max_features: int | str | None = "auto"
    features: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unselected: list[str] = field(default_factory=list)
    rows: int = 0
    _prep: Preprocessing | None = None
    _model: Any = None

    def fit(self, table: pd.DataFrame, features: Sequence[str], accuracy: Sequence[float]) -> AccuracyModel:
        """Fit on ``table[features]`` -> ``accuracy`` [%]; ValueError on too few rows or a constant target."""
        y = np.asarray(accuracy, dtype=float)
        if self.family not in FAMILIES:
            raise ValueError(f"model family must be one of {', '.join(FAMILIES)} (got {self.family!r})")
        if len(y) < MIN_ROWS:
            raise ValueError(f"needs at least {MIN_ROWS} calibration rows (got {len(y)})")
        if not np.isfinite(y).all():
            raise ValueError("calibration accuracies must be finite numbers")
        if np.ptp(y) == 0:
            raise ValueError("calibration accuracies are all equal: nothing to learn")
        self._prep, self.ignored = Preprocessing.fit(table, features)
        limit = feature_limit(self.max_features, len(y))
        if limit is not None and len(self._prep.features) > limit:
            ranked = relevance(self._prep.transform(table), y)
            chosen = [self._prep.features[i] for i in np.argsort(-ranked, kind="stable")[:limit]]
            self.unselected = [f for f in self._prep.features if f not in chosen]
            self._prep, _ = Preprocessing.fit(table, chosen)
        self.features = list(self._prep.features)
        self.rows = len(y)
        x = self._prep.transform(table)
        self._model = _make(self.family, x.shape[1], self.seed, self.restarts)
        with warnings.catch_warnings():  # a hyper-parameter at its bound is an answer here, not a fault
            warnings.simplefilter("ignore", category=UserWarning)
            self._model.fit(x, y)
        return self

    def predict(self, table: Table) -> tuple[np.ndarray, np.ndarray]:
        """Predicted accuracy [%] and its standard deviation [%] of each row of ``table`` (a frame, or
        one feature mapping per candidate as :func:`cosearch.predictor.features.feature_row` gives)."""
        if self._prep is None:
            raise RuntimeError("AccuracyModel.predict before fit")
        x = self._prep.transform(table)
        mean, std = self._model.predict(x, return_std=True)
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)

    def describe(self) -> dict[str, Any]:
        """What was fitted, JSON-ready: family, rows, features, ignored features, and for the GP its
        length scale per feature (shorter = the feature matters more) and noise std [%]."""
        info: dict[str, Any] = {"family": self.family, "seed": self.seed, "rows": self.rows,
                                "features": self.features, "ignored": self.ignored, "unselected": self.unselected}
        if self.family == "gp" and self._model is not None:
            params = self._model.kernel_.get_params()
            scales = next(np.atleast_1d(v) for k, v in params.items() if k.endswith("length_scale"))
            info["length_scales"] = dict(zip(self.features, scales.tolist()))
            noise = next(v for k, v in params.items() if k.endswith("noise_level"))
            info["noise_std"] = math.sqrt(noise) * float(np.atleast_1d(self._model._y_train_std)[0])
        return info


def _make(family: str, dimensions: int, seed: int, restarts: int) -> Any:
    if family == "bayesian_ridge":
        from sklearn.linear_model import BayesianRidge

        return BayesianRidge()
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel

    kernel = (ConstantKernel(1.0) * RBF(np.ones(max(dimensions, 1)), (0.3, 1e3))
              + ConstantKernel(0.1) * DotProduct(1.0)
              + WhiteKernel(0.1, (1e-3, 1.0)))
    return GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=restarts, random_state=seed)
