"""Back-tests of forecasting, the product's main question.

- **From compute alone**: for every family with at least 3 models of known compute, its
  largest model is held out entirely (all its scores), everything is refitted on the rest,
  and the held-out model is forecast from its family and FLOPs only; beside it, the pooled
  log-FLOPs baseline (a sigmoid of log10 FLOPs fitted on the rest) and a forecast of the same
  model from 3 of its own other benchmark scores. All three go through the same predictor
  (``DownstreamPredictor``): the forecasts with the configured method (the default's
  calibrated intervals), the baseline with the paper's.
- **Matrix completion**: 20% of the observed basis cells hidden (seeded, 10 repeats), refilled
  by the imputer fitted without them; absolute error and the coverage of intervals whose
  half-width comes from a separate hold-out inside the remaining cells.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import (
    LEADERBOARD_V2_TARGETS,
    OBSSCALING_BENCHMARKS,
    CapabilityConfig,
    PredictConfig,
)
from obsscale.exceptions import ExtrapolationWarning, PredictError
from obsscale.model.completion import hide_cells, holdout_errors, impute_hidden
from obsscale.model.forecast.forecast import ForecastTarget, Scenario, forecast
from obsscale.model.prediction.methods import LogFlops, PaperMethod
from obsscale.model.prediction.predictor import DownstreamPredictor

TARGETS = [ForecastTarget(b) for b in OBSSCALING_BENCHMARKS] + [
    ForecastTarget(t.column, t.chance) for t in LEADERBOARD_V2_TARGETS
]
OWN_SCORES = ("obsscaling:MMLU", "obsscaling:ARC-C", "obsscaling:HellaSwag", "obsscaling:Winograd")


def held_out_models(models: pd.DataFrame, min_models: int = 3) -> pd.DataFrame:
    """The largest model of every family with at least ``min_models`` of known compute."""
    known = models[models["flops"].notna() & models["family"].notna()]
    sizes = known.groupby("family")["flops"].transform("size")
    known = known[sizes >= min_models]
    return known.loc[known.groupby("family")["flops"].idxmax()].sort_values("model")


def _own_scores(row: pd.Series, target: str) -> tuple[tuple[str, float], ...]:
    """Three of the model's own other benchmark scores (never the target)."""
    cols = [c for c in OWN_SCORES if c != target and pd.notna(row.get(c))][:3]
    return tuple((c, float(row[c])) for c in cols)


def _baseline(
    rest: pd.DataFrame,
    row: pd.Series,
    target: ForecastTarget,
    settings: CapabilityConfig,
    pconf: PredictConfig,
) -> tuple[float, float, float]:
    """The log-FLOPs baseline fitted on the rest, by the same predictor as the forecasts
    with the paper's method (as the accuracy suite fits its baselines): prediction and
    interval (raw scale)."""
    predictor = DownstreamPredictor(
        method=PaperMethod(pconf),
        inputs=LogFlops(),
        chance=target.chance,
        capabilities=settings,
    ).fit(rest, target.column)
    out = predictor.predict(pd.DataFrame({"flops": [float(row["flops"])]})).iloc[0]
    pred, lo, hi = (float(np.clip(out[f"{k}_raw"], 0, 1)) for k in ("predicted", "lower", "upper"))
    return pred, lo, hi


def _cases(models: pd.DataFrame, settings: CapabilityConfig, pconf: PredictConfig) -> list[dict]:
    out = []
    for _, row in held_out_models(models).iterrows():
        rest = models[models["model"] != row["model"]]
        for target in TARGETS:
            actual = row.get(target.column)
            if pd.isna(actual) or rest[target.column].notna().sum() < 10:
                continue
            case = {"target": target.column, "model": row["model"], "actual": float(actual)}
            case |= _forecasts(rest, row, target, settings, pconf)
            base = _baseline(rest, row, target, settings, pconf)
            case |= dict(zip(("flops_pred", "flops_lower", "flops_upper"), base, strict=True))
            out.append(case)
    return out


def _forecasts(
    rest: pd.DataFrame,
    row: pd.Series,
    target: ForecastTarget,
    settings: CapabilityConfig,
    pconf: PredictConfig,
) -> dict[str, Any]:
    planned = Scenario("compute", family=row["family"], flops=float(row["flops"]))
    scenarios = [planned]
    own = _own_scores(row, target.column)
    if own:
        scenarios.append(Scenario("scores", scores=own))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            frame = forecast(rest, scenarios, [target], settings=settings, pconf=pconf).to_frame()
    except PredictError:
        return {}
    out: dict[str, Any] = {}
    for r in frame.itertuples(index=False):
        key = "family" if r.scenario == "compute" else "scores"
        out |= {f"{key}_pred": r.predicted, f"{key}_lower": r.lower, f"{key}_upper": r.upper}
    return out


def summarize_cases(cases: pd.DataFrame) -> list[dict[str, Any]]:
    """MAE (points) and interval coverage per target and method."""
    rows = []
    for target, grp in cases.groupby("target", sort=False):
        row: dict[str, Any] = {"target": target, "n": len(grp)}
        for key in ("family", "scores", "flops"):
            if f"{key}_pred" not in grp:
                continue
            ok = grp[f"{key}_pred"].notna()
            err = (grp.loc[ok, f"{key}_pred"] - grp.loc[ok, "actual"]).abs() * 100
            inside = (grp.loc[ok, "actual"] >= grp.loc[ok, f"{key}_lower"]) & (
                grp.loc[ok, "actual"] <= grp.loc[ok, f"{key}_upper"]
            )
            row |= {f"{key}_mae_pts": float(err.mean()), f"{key}_coverage": float(inside.mean())}
        rows.append(row)
    return rows


def run_forecast_backtest(
    models: pd.DataFrame, settings: CapabilityConfig, pconf: PredictConfig
) -> dict[str, Any]:
    cases = pd.DataFrame(_cases(models, settings, pconf))
    pooled = summarize_cases(cases.assign(target="all"))[0]  # every held-out case at once
    return {"cases": cases, "per_target": summarize_cases(cases), "pooled": pooled}


def run_completion_backtest(
    models: pd.DataFrame, settings: CapabilityConfig, level: float, repeats: int = 10
) -> dict[str, Any]:
    """Hide 20% of the observed basis cells (seeded), refill, score against the truth."""
    X = models[list(settings.benchmarks)]
    X = X[X.notna().any(axis=1)].reset_index(drop=True)
    errors, covered = [], []
    for seed in range(repeats):
        hide = hide_cells(X, 0.2, np.random.default_rng(seed))
        filled = impute_hidden(X, hide, settings)
        # interval half-widths from a hold-out inside what is left (never the hidden cells)
        inner = holdout_errors(X.mask(hide), settings, frac=0.1, seed=1000 + seed)
        half = inner.groupby("column")["error"].apply(lambda e: np.quantile(e.abs(), level))
        rows, cols = np.nonzero(hide)
        err = filled[rows, cols] - X.to_numpy(float)[rows, cols]
        width = half.reindex(np.asarray(X.columns)[cols]).to_numpy()
        errors.append(np.abs(err))
        covered.append(np.abs(err) <= width)
    e, c = np.concatenate(errors), np.concatenate(covered)
    return {
        "repeats": repeats,
        "hidden_cells": len(e),
        "mae_pts": float(e.mean() * 100),
        "median_ae_pts": float(np.median(e) * 100),
        "coverage": float(c.mean()),
        "interval": level,
    }
