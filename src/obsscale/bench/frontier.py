"""Frontier benchmarks on Epoch's Benchmarking Hub (``epoch_hub:*`` columns).

- Date back-tests: on three of Epoch's own runs (GPQA Diamond, MATH Level 5, OTIS Mock AIME),
  train on models released before ``FRONTIER_CUTOFF`` and test on later ones. The factor
  predictor (``model.backtest``: PCA of the other hub benchmarks, refitted on the training side)
  and its compute baseline run as in the accuracy suite; the date baseline (a sigmoid in the
  release date) is fitted here with the same link, since the date is not a backtest predictor.
- Completion: hide 20% of the observed cells of the hub matrix (seeded, 10 repeats) and
  predict them from each model's other scores with ``PCAImputer`` fitted on the rest (rank 1-3,
  raw or logit scale): median absolute error in points, and the coverage of a 90% interval whose
  half-width is the residual quantile of the other half of the hidden cells (split conformal).
- Factor stability: |cosine| between the first loading vector and its refits on bootstrap
  resamples of the models.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig, PredictConfig
from obsscale.exceptions import ConvergenceWarning, PredictError
from obsscale.model.hub_matrix import (
    PREFIX,
    complete_matrix,
    hide_cells,
    hub_matrix,
    loading_bootstrap,
    matrix_summary,
    years,
)
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.sigmoid import SigmoidRegressor
from obsscale.model.prediction.splits import CutoffDate

FRONTIER_CUTOFF = "2025-03-01"
DATE_TARGETS = ("GPQA Diamond", "MATH Level 5", "OTIS Mock AIME 2024-2025")
N_REPEATS = 10


# ------------------------------------------------------------------------- date back-tests


def date_baseline(models: pd.DataFrame, target: str, cutoff: str) -> dict[str, Any]:
    """Sigmoid in the release date, fitted before the cutoff, scored on or after it."""
    rows = models[models[target].notna() & models["release_date"].notna()]
    x, y = years(rows["release_date"]), rows[target].to_numpy(dtype=float)
    train = (pd.to_datetime(rows["release_date"]) < pd.Timestamp(cutoff)).to_numpy()
    if train.sum() < 3 or (~train).sum() == 0:
        return {"date_mae": None, "date_n": 0}
    reg = SigmoidRegressor(random_state=0).fit(x[train, None], y[train])
    err = reg.predict(x[~train, None]) - y[~train]
    return {"date_mae": float(np.mean(np.abs(err))), "date_n": int((~train).sum())}


def _basis(models: pd.DataFrame, target: str, k: int = 8) -> tuple[str, ...]:
    """The ``k`` hub benchmarks most often observed alongside the target."""
    cols = [c for c in models.columns if c.startswith(PREFIX) and c != target]
    with_target = models[models[target].notna()]
    counts = with_target[cols].notna().sum().sort_values(ascending=False, kind="stable")
    return tuple(counts.index[:k])


def date_backtest(models: pd.DataFrame, name: str, pconf: PredictConfig) -> dict[str, Any]:
    """Factors and compute (``backtest``) and the date baseline, on the same models."""
    target = PREFIX + name
    basis = _basis(models, target)
    settings = CapabilityConfig(benchmarks=basis, n_components=2, base_only=False)
    row: dict[str, Any] = {"target": name, "cutoff": FRONTIER_CUTOFF, "basis": len(basis)}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            r = backtest_target(
                models, target, split=CutoffDate(FRONTIER_CUTOFF), settings=settings, pconf=pconf
            )
    except PredictError as e:
        return row | {"error": str(e)}
    row |= {"n_train": r.n_train, "n_test": r.n_test} | _scores(r.predictions)
    pc_test = r.predictions[(r.predictions["predictor"] == "pc")]
    return row | date_baseline(
        models[models["model"].isin(pc_test["model"])], target, FRONTIER_CUTOFF
    )


def _scores(pred: pd.DataFrame) -> dict[str, Any]:
    """Test MAE of the factors on every test model they score, and of compute against the
    factors on the test models whose compute is known (backtest's own metrics use only the
    models every predictor scores, and parameter counts are rarely known here)."""
    test = pred[pred["split"] == "test"]
    err = (test["predicted"] - test["actual"]).abs()
    pc, flops = test["predictor"] == "pc", test["predictor"] == "log_flops"
    with_flops = pc & test["model"].isin(test.loc[flops, "model"])
    return {
        "pc_mae": float(err[pc].mean()),
        "pc_n": int(pc.sum()),
        "flops_n": int(flops.sum()),
        "log_flops_mae": float(err[flops].mean()) if flops.any() else None,
        "pc_mae_on_flops_models": float(err[with_flops].mean()) if flops.any() else None,
    }


# ------------------------------------------------------------------------------ completion


def _conformal_coverage(err: np.ndarray, rng: np.random.Generator, level: float = 0.9) -> float:
    """Coverage of |err| <= q, q the ``level`` quantile of the other half's |err|."""
    half = rng.permutation(len(err)) < len(err) // 2
    a, b = np.abs(err[half]), np.abs(err[~half])
    return float((np.mean(b <= np.quantile(a, level)) + np.mean(a <= np.quantile(b, level))) / 2)


def completion(full: pd.DataFrame, rank: int, logit: bool, seed: int = 0) -> dict[str, Any]:
    X = full.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    errors, coverage = [], []
    for _ in range(N_REPEATS):
        hidden = hide_cells(X, rng)
        pred = complete_matrix(np.where(hidden, np.nan, X), rank, logit)
        err = pred[hidden] - X[hidden]
        errors.append(err)
        coverage.append(_conformal_coverage(err, rng))
    allerr = np.concatenate(errors)
    return {
        "rank": rank,
        "scale": "logit" if logit else "fraction",
        "hidden_cells": int(len(allerr) / N_REPEATS),
        "median_abs_err_points": float(np.median(np.abs(allerr)) * 100),
        "mean_abs_err_points": float(np.mean(np.abs(allerr)) * 100),
        "coverage_90": float(np.mean(coverage)),
    }


def factor_stability(full: pd.DataFrame, n_boot: int = 20, seed: int = 0) -> dict[str, Any]:
    """|cosine| of the first two loadings refitted on bootstrap resamples of the models."""
    _, _, cos = loading_bootstrap(full.to_numpy(dtype=float), 2, n_boot, seed)
    return {
        "n_boot": len(cos),
        "pc1_cosine_median": float(np.median(cos[:, 0])),
        "pc1_cosine_p05": float(np.quantile(cos[:, 0], 0.05)),
        "pc2_cosine_median": float(np.median(cos[:, 1])),
    }


def run_frontier(models: pd.DataFrame, pconf: PredictConfig) -> dict[str, Any]:
    """The whole frontier suite (empty when the hub was not fetched)."""
    if not any(c.startswith(PREFIX) for c in models.columns):
        return {"skipped": "no epoch_hub: columns (fetch the Epoch hub sources)"}
    full = hub_matrix(models)
    return {
        "matrix": matrix_summary(full, models),
        "date_backtests": [date_backtest(models, t, pconf) for t in DATE_TARGETS],
        "completion": [completion(full, r, lg) for lg in (False, True) for r in (1, 2, 3)],
        "stability": factor_stability(full),
    }
