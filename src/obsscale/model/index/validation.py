"""The capability index validated as a predictor, seeded throughout.

- ``heldout_cells``: the observed cells split in ``folds`` random folds; each fold hidden in
  turn, the index refitted on the rest and the hidden cells predicted (R^2 and MSE on the
  fraction scale, pooled over the folds: the protocol Epoch reports for its index);
- ``heldout_models``: the models split in ``folds`` folds; the index fitted without a fold's
  models, then each of them given ``k`` of its scores (drawn at random), its C folded in with
  the benchmarks' parameters fixed, and its other scores predicted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from obsscale.model.index.irt import CapabilityIndex


def _r2_mse(err: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    sst = float(np.sum((actual - actual.mean()) ** 2))
    return {"r2": 1 - float(np.sum(err**2)) / sst, "mse": float(np.mean(err**2))}


def heldout_cells(X: pd.DataFrame, folds: int = 10, seed: int = 0, **params: Any) -> dict:
    """Pooled held-out R^2 and MSE (fraction scale) over ``folds`` folds of observed cells."""
    arr = X.to_numpy(dtype=float)
    cells = np.argwhere(~np.isnan(arr))
    fold = np.random.default_rng(seed).permutation(len(cells)) % folds
    errors, actual = [], []
    for k in range(folds):
        hidden = cells[fold == k]
        train = arr.copy()
        train[hidden[:, 0], hidden[:, 1]] = np.nan
        frame = pd.DataFrame(train, index=X.index, columns=X.columns)
        frame = frame.loc[:, frame.notna().any()]
        fitted = CapabilityIndex(**params).fit(frame).fitted().reindex(columns=X.columns)
        pred = fitted.to_numpy()[hidden[:, 0], hidden[:, 1]]
        truth = arr[hidden[:, 0], hidden[:, 1]]
        keep = ~np.isnan(pred)  # a benchmark left with no training score is not predicted
        errors.append(pred[keep] - truth[keep])
        actual.append(truth[keep])
    err, truth = np.concatenate(errors), np.concatenate(actual)
    return {"folds": folds, "n_cells": len(err)} | _r2_mse(err, truth)


def heldout_models(
    X: pd.DataFrame,
    revealed: Sequence[int] = (1, 5, 10),
    folds: int = 10,
    seed: int = 0,
    **params: Any,
) -> list[dict[str, Any]]:
    """Error on a held-out model's other scores from ``k`` revealed ones, for each ``k``
    (models with more than ``k`` scores only)."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(X)) % folds
    errors: dict[int, list[np.ndarray]] = {k: [] for k in revealed}
    models: dict[int, int] = dict.fromkeys(revealed, 0)
    for f in range(folds):
        train = X[fold != f]
        train = train.loc[:, train.notna().any()]
        index = CapabilityIndex(**params).fit(train)
        for _name, row in X[fold == f].iterrows():
            seen = np.flatnonzero(row[train.columns].notna().to_numpy())
            for k in revealed:
                if len(seen) <= k:
                    continue
                show = rng.choice(seen, k, replace=False)
                errors[k].append(_predict_rest(index, train.columns, row, show, seen))
                models[k] += 1
    return [_scores(k, errors[k], models[k]) for k in revealed]


def _predict_rest(
    index: CapabilityIndex, cols: pd.Index, row: pd.Series, show: np.ndarray, seen: np.ndarray
) -> np.ndarray:
    """Predicted minus actual on the row's scores that were not shown."""
    values = row[cols].to_numpy(dtype=float)
    given = np.full(len(cols), np.nan)
    given[show] = values[show]
    cap = index.fold_in(pd.DataFrame([given], columns=cols))["capability"]
    pred = index.predict_scores(cap.to_numpy())[list(cols)].to_numpy()[0]
    rest = np.setdiff1d(seen, show)
    return np.asarray(pred[rest] - values[rest])


def _scores(k: int, errors: list[np.ndarray], n_models: int) -> dict[str, Any]:
    if not errors:
        return {"revealed": k, "models": 0, "cells": 0, "mae_points": None, "mse": None}
    err = np.concatenate(errors)
    return {
        "revealed": k,
        "models": n_models,
        "cells": len(err),
        "mae_points": float(np.mean(np.abs(err)) * 100),
        "medae_points": float(np.median(np.abs(err)) * 100),
        "mse": float(np.mean(err**2)),
    }
