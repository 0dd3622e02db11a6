"""The stitched capability index as the report's frontier section shows it: ``frontier.json``'s
``index`` entry, computed from the model table alone.

- **points**: every dated model with hub scores on the index's benchmarks: C with its
  interval (Laplace: the curvature of the fit at its optimum), the number of benchmarks it
  rests on, whether it was in the fit or folded in afterwards (benchmarks fixed), and whether
  it set a new best C when released (the frontier);
- **trend**: the straight line of C in the release date fitted to the frontier points, with
  its least-squares prediction band (Student t), drawn to the last forecast horizon, and the
  forecasts at the configured months past the newest model;
- **benchmarks**: difficulty D and slope alpha of each benchmark with their intervals.

Dates are years since 2020-01-01, as in the rest of ``frontier.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.hub_matrix import years
from obsscale.model.index.tables import benchmark_table, fit_index, model_table
from obsscale.model.index.trend import FrontierTrend, frontier_points

METHOD = (
    "benchmark-stitching item-response model, score = sigmoid(alpha_b (C_m - D_b)), fitted by "
    "maximum likelihood; intervals: Laplace (normal approximation at the optimum)"
)
GRID = 40  # points of the drawn trend


def index_section(
    models: pd.DataFrame, level: float, horizons_months: Sequence[float]
) -> dict[str, Any]:
    """The index's points, frontier trend and benchmarks (JSON-able), or why there are none."""
    try:
        index = fit_index(models)
    except CapabilityDataError as e:
        return {"error": f"capability index not fitted: {e}"}
    table = model_table(models, index, None, level)
    dates = models.set_index("model")["release_date"]
    table["t"] = years(table["release_date"])
    table = table[np.isfinite(table["t"])].sort_values(["t", "model"], kind="stable")
    best = frontier_points(index.capability_, dates)
    table["frontier"] = table["model"].isin(best.index)
    shown = ["model", "t", "capability", "lower", "upper", "n_benchmarks", "in_fit", "frontier"]
    out: dict[str, Any] = {
        "anchor": index.anchor_,
        "scale": f"logits of {index.anchor_} (difficulty 0, slope 1)",
        "method": METHOD,
        "n_models": len(index.models_),
        "n_benchmarks": len(index.benchmarks_),
        "points": table[shown].to_dict("records"),
        "benchmarks": benchmark_table(index, level).to_dict("records"),
    }
    return out | {"trend": _trend(best, float(table["t"].max()), level, horizons_months)}


def _trend(
    best: pd.DataFrame, newest: float, level: float, horizons_months: Sequence[float]
) -> dict[str, Any]:
    """The frontier line with its band to the last horizon, and its forecasts there."""
    try:
        trend = FrontierTrend(level=level).fit(best["t"].to_numpy(), best["capability"].to_numpy())
    except CapabilityDataError as e:
        return {"error": str(e)}
    ahead = np.array([newest + h / 12 for h in horizons_months])
    grid = np.linspace(float(best["t"].min()), float(max(ahead.max(), newest)), GRID)
    band = trend.predict(grid)
    at = trend.predict(ahead)
    return {
        "per_year": trend.per_year(),
        "n_points": trend.n_,
        "years": grid.tolist(),
        "predicted": band["capability"].tolist(),
        "lower": band["lower"].tolist(),
        "upper": band["upper"].tolist(),
        "forecasts": [
            {"months": float(h), "years": float(t)} | at.iloc[i].to_dict()
            for i, (h, t) in enumerate(zip(horizons_months, ahead, strict=True))
        ],
    }
