"""The subset-selection back-test: does the V-optimal subset of K small models predict the
large ones better than random subsets of the same size?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from obsscale.bench.accuracy import CURATED
from obsscale.config import LLAMA2_7B_FLOPS, CapabilityConfig, PredictConfig
from obsscale.model.capabilities.fit import fit_capabilities
from obsscale.model.capabilities.rows import select_models
from obsscale.model.design.selection import TargetSet, select_subset
from obsscale.model.prediction.intervals import make_regressor

BUDGETS = (8, 12, 16, 24)
N_RANDOM = 200


def _subset_mse(
    X: np.ndarray, y: np.ndarray, rows: np.ndarray, test: np.ndarray, pconf: PredictConfig
) -> float:
    reg = make_regressor(pconf, n_starts=2)  # 201 fits per task: fewer random restarts
    try:
        reg.fit(X[rows], y[rows])
    except ValueError:
        return float("nan")
    return float(np.mean((reg.predict(X[test]) - y[test]) ** 2))


def run_selection(
    models: pd.DataFrame, pconf: PredictConfig, budgets: tuple[int, ...] = BUDGETS
) -> list[dict[str, Any]]:
    """For each held-out curated benchmark: choose ``K`` models among those at or below the
    Llama-2-7B cutoff (V-optimal for the models above it), fit the law on them alone, and
    compare its test MSE above the cutoff with the median over 200 random subsets of size K
    drawn from the same candidates."""
    rows = []
    base = select_models(models, CURATED)
    for target in CURATED:
        basis = [b for b in CURATED if b != target]
        data = base[base[target].notna()].sort_values("model").reset_index(drop=True)
        fit = fit_capabilities(data, CapabilityConfig(benchmarks=tuple(basis)))
        X = fit.models[fit.components].to_numpy()
        y = data[target].to_numpy()
        flops = data["flops"]
        cand = (flops <= LLAMA2_7B_FLOPS).fillna(False)
        test = (flops > LLAMA2_7B_FLOPS).fillna(False)
        rng = np.random.default_rng(pconf.random_state)
        for k in budgets:
            sel = select_subset(
                fit.models,
                fit.components,
                budget=k,
                criterion="v",
                candidates=cand,
                targets=TargetSet(test, "above the cutoff"),
            )
            chosen = fit.models.index[fit.models["model"].isin(sel.chosen["model"])].to_numpy()
            mse = _subset_mse(X, y, chosen, test.to_numpy(), pconf)
            pool = np.flatnonzero(cand.to_numpy())
            rand = [
                _subset_mse(X, y, rng.choice(pool, size=k, replace=False), test.to_numpy(), pconf)
                for _ in range(N_RANDOM)
            ]
            med = float(np.nanmedian(rand))
            rows.append(
                {
                    "target": target,
                    "budget": k,
                    "n_candidates": int(cand.sum()),
                    "n_test": int(test.sum()),
                    "selected_mse": mse,
                    "random_median_mse": med,
                    "beats_median": bool(mse < med),
                    "random_rank": float(np.mean(np.array(rand) < mse)),
                }
            )
    return rows
