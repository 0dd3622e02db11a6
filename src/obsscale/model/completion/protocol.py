"""Completion accuracy by the published completers' protocol (the bench's completion slice
and the report's accuracy table by method).

Per model, its observed cells are split in 3 folds; each fold is hidden in turn and predicted
from a fit on the rest; 10 seeds (10 different splits). The metric is the median over the 30
folds of each fold's median absolute error in points (and of its median absolute percentage
error, on cells scored above 0). Every method's own choices (the PCA rank and scale, the ALS
rank and ridge, the chosen method, the interval widths) are made by ``MatrixCompleter``'s inner
held-out-cell back-test *inside* each training fold: the hidden cells never shape them.

Methods side by side: rank-1 PCA imputation (fraction scale: today's ``PCAImputer``; and on
the logit scale), rank-k PCA (k and scale chosen), the biased logit ALS (rank and ridge chosen),
the capability index, and the chosen method. 90% intervals: coverage and median width
(points) on the hidden cells.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from obsscale.exceptions import ConvergenceWarning
from obsscale.model.completion.choose import MatrixCompleter, cell_folds

SEEDS = 10
FOLDS = 3
LEVEL = 0.9
# bench row -> how its candidate is picked: a fixed name, or the best of these families
METHODS: dict[str, tuple[str, ...] | str] = {
    "pca rank 1 (fraction scale)": "pca1",
    "pca rank 1 (logit scale)": "pca1_logit",
    "pca rank k (chosen)": ("pca1", "pca"),
    "als logit (rank, ridge chosen)": ("als",),
    "capability index": "index",
    "chosen per matrix": "chosen",
}
BASELINE = "pca rank 1 (fraction scale)"


def _pick(mc: MatrixCompleter, how: tuple[str, ...] | str) -> str:
    if how == "chosen":
        return mc.chosen_
    return how if isinstance(how, str) else mc.best(how)


def _fold_rows(X: np.ndarray, hide: np.ndarray, seed: int) -> list[dict[str, Any]]:
    """Every method's errors on one hidden fold, all choices made on the rest."""
    mc = MatrixCompleter(level=LEVEL, random_state=seed).fit(np.where(hide, np.nan, X))
    actual = X[hide]
    rows = []
    for method, how in METHODS.items():
        name = _pick(mc, how)
        values, lower, upper = (a[hide] for a in mc.complete_with(name))
        err = np.abs(values - actual)
        pos = actual > 0
        rows.append(
            {
                "method": method,
                "picked": name,
                "medae_points": float(np.median(err)) * 100,
                "medape": float(np.median(err[pos] / actual[pos])) * 100,
                "coverage_90": float(np.mean((lower <= actual) & (actual <= upper))),
                "width_points": float(np.median(upper - lower)) * 100,
            }
        )
    return rows


def completion_protocol(full: pd.DataFrame, seeds: int = SEEDS) -> dict[str, Any]:
    """The protocol on the matrix ``full`` (fractions, NaN = unseen): one row per method
    (medians over the folds) and every fold's row."""
    X = full.to_numpy(dtype=float)
    start = time.perf_counter()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(seeds):
            folds = cell_folds(~np.isnan(X), FOLDS, np.random.default_rng(seed))
            for k in range(FOLDS):
                for row in _fold_rows(X, folds == k, seed):
                    rows.append(row | {"seed": seed, "fold": k})
    per_fold = pd.DataFrame(rows)
    table = summary_table(per_fold)
    base = float(table.loc[table["method"] == BASELINE, "medae_points"].iloc[0])
    best = table.loc[table["method"] != BASELINE, "medae_points"].min()
    return {
        "protocol": f"per model {FOLDS} folds of its observed cells, {seeds} seeds",
        "models": int(X.shape[0]),
        "benchmarks": int(X.shape[1]),
        "cells": int((~np.isnan(X)).sum()),
        "seconds": time.perf_counter() - start,
        "methods": table.to_dict(orient="records"),
        "best_vs_rank1_pca": float(best / base),
        "folds": rows,
    }


def summary_table(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Per method: medians over the folds, and which candidates it picked how often."""
    g = per_fold.groupby("method", sort=False)
    table = g[["medae_points", "medape", "coverage_90", "width_points"]].median()
    table["coverage_90"] = g["coverage_90"].mean()
    table["folds"] = g.size()
    table["picked"] = g["picked"].agg(
        lambda s: ", ".join(f"{k} x{v}" for k, v in s.value_counts().items())
    )
    return table.reset_index()


def accuracy_table(result: dict[str, Any]) -> pd.DataFrame:
    """The completion-accuracy table (one row per method) of a ``completion_protocol``
    result, as the report's frontier section shows it."""
    cols = ["method", "medae_points", "medape", "coverage_90", "width_points", "picked"]
    names = {
        "medae_points": "MedAE (points)",
        "medape": "MedAPE (%)",
        "coverage_90": "90% coverage",
        "width_points": "median width (points)",
        "picked": "candidates picked",
    }
    return pd.DataFrame(result["methods"])[cols].rename(columns=names)
