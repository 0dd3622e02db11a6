"""Matrix completion: every missing score of every model, filled and marked as predicted.

Basis benchmarks are filled by the fitted PCA imputer (the fixed point of the reference's
iteration for each row's observed scores). Their intervals are split-conformal on the
imputer's own out-of-sample errors *for the row's pattern of observed scores*: how well a
cell is filled depends on what else the row has (a model known by 3 of 8 benchmarks is filled
far less well than one missing a single cell), so hidden cells drawn at random, mostly from
rows missing one or two cells, give intervals too narrow for the sparse rows (they covered
0.85 of random cells, less for models known by a few scores). The fully evaluated models are
split into seeded folds; the imputer is refitted without each fold, the fold's rows are
masked to the pattern and filled, and the conformal quantile (rank ⌈(m+1)·level⌉ of the m
absolute errors of each column, ``calibration.conformal_quantile``, as the predictor's
intervals) gives that column's half-width for that pattern (``capabilities.holdout``: the same
out-of-sample fills carry the uncertainty of forecasts from a model's own scores). Observed
cells are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.capabilities.holdout import CrossFitImputer
from obsscale.model.prediction.calibration import conformal_quantile


def hide_cells(X: pd.DataFrame, frac: float, rng: np.random.Generator) -> np.ndarray:
    """A mask of observed cells to hide, never a row's last observed cell."""
    observed = X.notna().to_numpy()
    hide = observed & (rng.random(observed.shape) < frac)
    lost = hide.sum(axis=1) == observed.sum(axis=1)
    for i in np.flatnonzero(lost):  # keep one observed cell in every row
        hide[i, rng.choice(np.flatnonzero(observed[i]))] = False
    return hide


def impute_hidden(X: pd.DataFrame, hide: np.ndarray, settings: CapabilityConfig) -> np.ndarray:
    """Refit the imputer without the hidden cells; its values at every cell."""
    masked = X.mask(hide)
    pca = CapabilityPCA.from_config(settings).fit(masked)
    return pca.impute(masked)


@dataclass
class PatternIntervals:
    """Half-widths of filled cells per pattern of observed scores: the conformal quantile of
    the cross-fitted fills' errors (see the module docstring)."""

    crossfit: CrossFitImputer
    level: float
    _cache: dict[bytes, np.ndarray] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, X: pd.DataFrame, settings: CapabilityConfig, level: float, seed: int = 0
    ) -> PatternIntervals:
        return cls(CrossFitImputer.fit(X, settings, seed), level)

    def half_widths(self, observed: np.ndarray) -> np.ndarray:
        """Per column, the ``level`` half-width of a cell filled from the ``observed`` cells
        (0 where observed; infinite where too few complete rows to calibrate)."""
        key = observed.tobytes()
        if key not in self._cache:
            fit = self.crossfit
            errors = np.abs(fit.refilled(observed) - fit.complete)
            half = [conformal_quantile(errors[:, j], self.level) for j in range(len(observed))]
            self._cache[key] = np.where(observed, 0.0, np.array(half))
        return self._cache[key]

    def of_rows(self, observed: np.ndarray) -> np.ndarray:
        """Half-widths (n x p) of every row's cells, each from its own pattern."""
        return np.vstack([self.half_widths(row) for row in observed])


def complete_basis(
    models: pd.DataFrame, settings: CapabilityConfig, level: float, seed: int = 0
) -> pd.DataFrame:
    """Every basis cell of every model with at least one basis score: observed or predicted
    (with a ``level`` interval for the model's own pattern of observed scores)."""
    basis = list(settings.benchmarks)
    X = models[basis].set_axis(models["model"].to_numpy(), axis=0)
    X = X[X.notna().any(axis=1)]
    pca = CapabilityPCA.from_config(settings).fit(X)
    filled = pca.impute(X)
    observed = X.notna().to_numpy()
    half = PatternIntervals.fit(X, settings, level, seed).of_rows(observed)
    predicted = ~observed
    lower = np.where(predicted, np.clip(filled - half, 0, 1), np.nan)
    upper = np.where(predicted, np.clip(filled + half, 0, 1), np.nan)
    value = np.where(observed, X.to_numpy(dtype=float), filled)
    n, p = value.shape
    return pd.DataFrame(
        {
            "model": np.repeat(X.index.to_numpy(), p),
            "column": np.tile(np.asarray(basis, dtype=object), n),
            "status": np.where(predicted, "predicted", "observed").ravel(),
            "value": value.ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
        }
    )
