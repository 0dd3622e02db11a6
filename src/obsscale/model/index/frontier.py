"""What the report shows of the frontier (Epoch Benchmarking Hub scores): ``frontier.json``.

``frontier_report`` computes, from the model table alone and seeded throughout:

- **matrix**: how much of the hub table is observed, and which cells of the block dense
  enough to factor (``hub_matrix``), for the coverage figure;
- **factors**: the loadings of its first factors (standardized scores, PCA imputation) with
  bootstrap intervals over resampled models, the median |cosine| of the refits with the
  whole-matrix loading, and each factor's share of the variance;
- **curves**: for each configured frontier benchmark with enough dated models, the scores
  against release date with a sigmoid trend in the date and its prediction band (the date
  baseline of the bench's back-tests), the trend forecast 6 and 12 months past the newest
  model, the best score so far, and the scores against training compute where it is known;
- **completion**: the missing frontier scores of the newest models, predicted from their other
  hub scores (rank-2 PCA on the logit scale, the bench's best completion) with a split-
  conformal interval whose half-width is a quantile of the errors on hidden observed cells;
- **index**: the stitched capability index (``index.section``): each model's C against its
  release date, the frontier line and its forecasts, the benchmarks' difficulties and slopes.

Without ``epoch_hub:`` columns the result only says so: the fit never fails for want of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from obsscale.config import FrontierConfig, PredictConfig
from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.hub_matrix import (
    PREFIX,
    complete_matrix,
    fit_imputer,
    hide_cells,
    hub_columns,
    hub_matrix,
    loading_bootstrap,
    matrix_summary,
    variance_shares,
    years,
)
from obsscale.model.index.section import index_section
from obsscale.model.prediction.intervals import fit_with_bootstrap, prediction_interval

FORMAT = "obsscale.frontier/1"
SOURCE = "Epoch AI Benchmarking Hub (epoch_hub: columns of models.csv)"
GRID = 60  # points of each drawn trend


def frontier_report(
    models: pd.DataFrame, fconf: FrontierConfig, pconf: PredictConfig
) -> dict[str, Any]:
    """The frontier section's numbers (JSON-able), or why there are none."""
    cols = hub_columns(models)
    if not cols or not models[cols].notna().to_numpy().any():
        return {
            "format": FORMAT,
            "skipped": "models.csv has no epoch_hub: scores (fetch the Epoch Benchmarking Hub "
            "sources to get this section)",
        }
    # many small (35 x 35) eigendecompositions: one BLAS thread is several times faster
    with threadpool_limits(1):
        return _report(models, fconf, pconf)


def _report(models: pd.DataFrame, fconf: FrontierConfig, pconf: PredictConfig) -> dict[str, Any]:
    full = hub_matrix(models)
    dates = models.set_index("model")["release_date"]
    curves, skipped = [], []
    for name in fconf.targets:
        curve = _curve(models, name, fconf, pconf)
        if isinstance(curve, str):
            skipped.append({"benchmark": name, "reason": curve})
        else:
            curves.append(curve)
    return {
        "format": FORMAT,
        "source": SOURCE,
        "interval": pconf.interval,
        "matrix": matrix_summary(full, models) | _mask(full, dates),
        "factors": _factors(full, fconf, pconf.interval),
        "curves": curves,
        "skipped_curves": skipped,
        "completion": _completion(full, dates, fconf, pconf.interval),
        "index": index_section(models, pconf.interval, fconf.horizons_months),
    }


def _name(column: str) -> str:
    return column.removeprefix(PREFIX)


def _mask(full: pd.DataFrame, dates: pd.Series) -> dict[str, Any]:
    """Observed cells of the factored block: benchmarks by how often they are observed,
    models by release date (undated last), one '0'/'1' string per model."""
    cols = full.notna().sum().sort_values(ascending=False, kind="stable").index
    when = pd.to_datetime(dates.reindex(full.index), errors="coerce")
    order = when.reset_index(drop=True).sort_values(kind="stable", na_position="last").index
    observed = full[cols].notna().to_numpy()[order]
    return {
        "mask_benchmarks": [_name(c) for c in cols],
        "mask_rows": ["".join("1" if v else "0" for v in row) for row in observed],
    }


def _factors(full: pd.DataFrame, fconf: FrontierConfig, level: float) -> dict[str, Any]:
    """Loadings of the first ``rank`` factors with their bootstrap intervals and stability."""
    X = full.to_numpy(dtype=float)
    try:
        imp = fit_imputer(X, fconf.rank)
        ref, boots, cos = loading_bootstrap(X, fconf.rank, fconf.n_boot, fconf.random_state, imp)
        shares = variance_shares(imp, X)
    except CapabilityDataError as e:
        return {"error": f"hub factors not fitted: {e}"}
    q = [(1 - level) / 2, (1 + level) / 2]
    lo, hi = np.quantile(boots, q, axis=0) if len(boots) else (ref * np.nan, ref * np.nan)
    return {
        "benchmarks": [_name(c) for c in full.columns],
        "components": [f"PC-{k + 1}" for k in range(fconf.rank)],
        "loadings": ref.T,  # benchmarks x components
        "lower": lo.T,
        "upper": hi.T,
        "variance_share": shares,
        "n_boot": len(boots),
        "cosine_median": np.median(cos, axis=0) if len(cos) else None,
        "cosine_p05": np.quantile(cos, 0.05, axis=0) if len(cos) else None,
    }


def _band(
    x: np.ndarray, y: np.ndarray, grid: np.ndarray, pconf: PredictConfig, seed: int
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    """The configured sigmoid of y in x with its bootstrap fit, and its prediction band
    (predicted, lower, upper) on ``grid``, clipped to [0, 1] as the scores are."""
    rng = np.random.default_rng(seed)
    fit = fit_with_bootstrap(x[:, None], y, pconf, rng)
    lo, hi = prediction_interval(fit, grid[:, None], pconf.interval, rng)
    return fit, fit.reg.predict(grid[:, None]), np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def _curve(
    models: pd.DataFrame, name: str, fconf: FrontierConfig, pconf: PredictConfig
) -> dict[str, Any] | str:
    """One benchmark against date (trend, band, forecasts) and compute; a string says why not."""
    col = PREFIX + name
    if col not in models.columns:
        return "not in models.csv"
    rows = models[models[col].notna()].assign(_t=lambda d: years(d["release_date"]))
    rows = rows[rows["_t"].notna()].sort_values(["_t", "model"], kind="stable")
    if len(rows) < fconf.min_points:
        return f"{len(rows)} dated models with a score (fewer than {fconf.min_points})"
    t, y = rows["_t"].to_numpy(), rows[col].to_numpy(dtype=float)
    ahead = max(fconf.horizons_months, default=0.0) / 12
    grid = np.linspace(t.min(), t.max() + ahead, GRID)
    seed = fconf.random_state
    fit, pred, lo, hi = _band(t, y, grid, pconf, seed)
    newest = pd.Timestamp(rows["release_date"].max())
    when = [newest + pd.Timedelta(days=round(h * 365.25 / 12)) for h in fconf.horizons_months]
    t_h = years(pd.Series(when))
    f_lo, f_hi = np.clip(
        prediction_interval(fit, t_h[:, None], pconf.interval, np.random.default_rng(seed)), 0, 1
    )
    return {
        "benchmark": name,
        "n": len(rows),
        "dates": pd.to_datetime(rows["release_date"]).dt.strftime("%Y-%m-%d").tolist(),
        "years": t,
        "scores": y,
        "best_so_far": np.maximum.accumulate(y),
        "log10_flops": np.log10(rows["flops"].to_numpy(dtype=float)),
        "trend": {"years": grid, "predicted": pred, "lower": lo, "upper": hi},
        "newest": newest.strftime("%Y-%m-%d"),
        "forecasts": [
            {"months": h, "date": d.strftime("%Y-%m-%d"), "years": th, "predicted": p}
            | {"lower": a, "upper": b}
            for h, d, th, p, a, b in zip(
                fconf.horizons_months,
                when,
                t_h,
                fit.reg.predict(t_h[:, None]),
                f_lo,
                f_hi,
                strict=True,
            )
        ],
        "compute": _compute_trend(rows, col, fconf, pconf),
    }


def _compute_trend(
    rows: pd.DataFrame, col: str, fconf: FrontierConfig, pconf: PredictConfig
) -> dict[str, Any]:
    """The sigmoid in log10 training compute, where enough of the models have it."""
    known = rows[rows["flops"].notna() & (rows["flops"] > 0)]
    if len(known) < fconf.min_compute_points:
        return {"n": len(known), "trend": None}
    x = np.log10(known["flops"].to_numpy(dtype=float))
    grid = np.linspace(x.min(), x.max(), GRID)
    _, pred, lo, hi = _band(x, known[col].to_numpy(dtype=float), grid, pconf, fconf.random_state)
    return {
        "n": len(known),
        "trend": {"log10_flops": grid, "predicted": pred, "lower": lo, "upper": hi},
    }


def _completion(
    full: pd.DataFrame, dates: pd.Series, fconf: FrontierConfig, level: float
) -> dict[str, Any]:
    """Missing frontier scores of the ``recent_models`` newest models of the factored block,
    with a split-conformal interval: the ``level`` quantile of |error| on a seeded 20% of
    the observed cells, hidden and predicted back from the rest."""
    targets = [PREFIX + t for t in fconf.targets if PREFIX + t in full.columns]
    if not targets or fconf.recent_models == 0 or full.shape[0] <= fconf.rank:
        return {"rows": [], "reason": "no frontier benchmark in the factored hub block"}
    X = full.to_numpy(dtype=float)
    try:
        hidden = hide_cells(X, np.random.default_rng(fconf.random_state))
        back = complete_matrix(np.where(hidden, np.nan, X), fconf.rank, logit=True)
        filled = complete_matrix(X, fconf.rank, logit=True)
    except CapabilityDataError as e:
        return {"rows": [], "reason": f"hub matrix not completed: {e}"}
    half = float(np.quantile(np.abs(back[hidden] - X[hidden]), level)) if hidden.any() else None
    when = pd.to_datetime(dates.reindex(full.index), errors="coerce")
    recent = when.dropna().sort_values(ascending=False, kind="stable").index
    rows = []
    for model in recent[: fconf.recent_models]:
        i = full.index.get_loc(model)
        for col in targets:
            j = full.columns.get_loc(col)
            if np.isnan(X[i, j]):
                p = float(filled[i, j])
                lo, hi = (None, None) if half is None else (max(p - half, 0), min(p + half, 1))
                rows.append(
                    {"model": model, "release_date": when[model].strftime("%Y-%m-%d")}
                    | {"benchmark": _name(col), "predicted": p, "lower": lo, "upper": hi}
                    | {"n_observed": int((~np.isnan(X[i])).sum())}
                )
    return {"rows": rows, "half_width": half, "n_hidden": int(hidden.sum()), "rank": fconf.rank}
