"""Matrix completion: every missing score of every model, filled and marked as predicted.

Basis benchmarks are filled by the fitted PCA imputer (the fixed point of the reference's
iteration for each row's observed scores). Their intervals come from the imputer's own
out-of-sample errors: a seeded share of the observed cells is hidden, the imputer refitted
without them, and the quantile of the absolute errors on the hidden cells (per benchmark)
gives the half-width. Observed cells are never changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig
from obsscale.model.capabilities.factors import CapabilityPCA


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


def holdout_errors(
    X: pd.DataFrame, settings: CapabilityConfig, frac: float, seed: int
) -> pd.DataFrame:
    """Errors (predicted - actual) on a seeded share ``frac`` of hidden observed cells."""
    rng = np.random.default_rng(seed)
    hide = hide_cells(X, frac, rng)
    filled = impute_hidden(X, hide, settings)
    rows, cols = np.nonzero(hide)
    actual = X.to_numpy(dtype=float)[rows, cols]
    return pd.DataFrame(
        {
            "column": np.asarray(X.columns)[cols],
            "actual": actual,
            "predicted": filled[rows, cols],
            "error": filled[rows, cols] - actual,
        }
    )


def complete_basis(
    models: pd.DataFrame, settings: CapabilityConfig, level: float, seed: int = 0
) -> pd.DataFrame:
    """Every basis cell of every model with at least one basis score: observed or predicted
    (with a ``level`` interval from hold-out errors of the same imputer)."""
    basis = list(settings.benchmarks)
    X = models[basis].set_axis(models["model"].to_numpy(), axis=0)
    X = X[X.notna().any(axis=1)]
    pca = CapabilityPCA.from_config(settings).fit(X)
    filled = pd.DataFrame(pca.impute(X), index=X.index, columns=basis)
    errors = holdout_errors(X, settings, frac=0.1, seed=seed)
    half = errors.groupby("column")["error"].apply(lambda e: float(np.quantile(e.abs(), level)))
    long = filled.stack().rename("value").reset_index()
    long.columns = ["model", "column", "value"]
    observed = X.stack().rename("observed").reset_index()
    observed.columns = ["model", "column", "observed"]
    long = long.merge(observed, on=["model", "column"], how="left")
    predicted = long["observed"].isna()
    width = long["column"].map(half).fillna(np.nan)
    long["status"] = np.where(predicted, "predicted", "observed")
    long["lower"] = np.where(predicted, np.clip(long["value"] - width, 0, 1), np.nan)
    long["upper"] = np.where(predicted, np.clip(long["value"] + width, 0, 1), np.nan)
    long.loc[~predicted, "value"] = long.loc[~predicted, "observed"]
    return long[["model", "column", "status", "value", "lower", "upper"]]
