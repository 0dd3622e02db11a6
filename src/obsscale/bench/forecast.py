"""Back-tests of forecasting, the product's main question: each family's largest model held out.

For every family with at least 3 models of known compute, its largest model is held out
entirely (all its scores), everything is refitted on the rest, and the held-out model is
forecast four ways (the *kinds*), each with a 90% interval:

- ``family``: from its family and FLOPs only (the family line's factor draws);
- ``scores``: from 3 of its own other benchmark scores (imputed factors);
- ``completion``: its other basis benchmarks filled from 3 of them (``complete_basis``, the
  intervals of ``--complete``);
- ``flops``: the pooled log-FLOPs sigmoid (the baseline, the paper's method).

The forecasts go through the same predictor (``DownstreamPredictor``) as the back-tests.
Coverage is reported pooled per kind (the acceptance number) and per target (evidence only:
with 9-23 held-out models per target its sampling sd is 0.06-0.1), and separately for the
targets whose task is in the pool's design half (where the interval choices were made) and
the confirmation half. Beside it, the random-cell completion back-test: 20% of the observed
basis cells hidden (seeded, 10 repeats), refilled by the imputer fitted without them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from obsscale.bench.pool import BASIS_TASKS, half_of
from obsscale.bench.summary import markdown_table
from obsscale.config import (
    LEADERBOARD_V2_TARGETS,
    OBSSCALING_BENCHMARKS,
    CapabilityConfig,
    PredictConfig,
)
from obsscale.exceptions import ExtrapolationWarning, PredictError
from obsscale.model.completion.basis import (
    PatternIntervals,
    complete_basis,
    hide_cells,
    impute_hidden,
)
from obsscale.model.forecast.forecast import ForecastTarget, Scenario, forecast
from obsscale.model.prediction.methods import LogFlops, PaperMethod
from obsscale.model.prediction.predictor import DownstreamPredictor

TARGETS = [ForecastTarget(b) for b in OBSSCALING_BENCHMARKS] + [
    ForecastTarget(t.column, t.chance) for t in LEADERBOARD_V2_TARGETS
]
OWN_SCORES = ("obsscaling:MMLU", "obsscaling:ARC-C", "obsscaling:HellaSwag", "obsscaling:Winograd")
#: the kind of each scenario's forecast (the scenario names seed their draws: kept as before)
KIND_OF = {"compute": "family", "scores": "scores"}
#: the pool's task of each leaderboard-v2 target (its half is the task's)
V2_TASKS = {
    "openllm_v2:GPQA": "gpqa",
    "openllm_v2:MATH Lvl 5": "math",
    "openllm_v2:BBH": "bbh",
    "openllm_v2:MMLU-PRO": "mmlu_pro",
}


def half_of_target(column: str) -> str:
    """The pool half (design or confirmation) of the task a target column measures."""
    task = BASIS_TASKS.get(column) or V2_TASKS.get(column)
    return half_of(task) if task else "confirmation"


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


def _case(kind: str, target: str, model: str, actual: float, out: tuple) -> dict[str, Any]:
    pred, lo, hi = (float(v) for v in out)
    return {"kind": kind, "target": target, "model": model, "actual": actual} | dict(
        pred=pred, lower=lo, upper=hi
    )


def _baseline(
    rest: pd.DataFrame,
    row: pd.Series,
    target: ForecastTarget,
    settings: CapabilityConfig,
    pconf: PredictConfig,
) -> tuple[float, float, float]:
    """The log-FLOPs baseline fitted on the rest, by the same predictor as the forecasts
    with the paper's method (as the accuracy suite fits its baselines)."""
    predictor = DownstreamPredictor(
        method=PaperMethod(pconf), inputs=LogFlops(), chance=target.chance, capabilities=settings
    ).fit(rest, target.column)
    out = predictor.predict(pd.DataFrame({"flops": [float(row["flops"])]})).iloc[0]
    pred, lo, hi = (float(np.clip(out[f"{k}_raw"], 0, 1)) for k in ("predicted", "lower", "upper"))
    return pred, lo, hi


def _forecasts(
    rest: pd.DataFrame,
    row: pd.Series,
    target: ForecastTarget,
    settings: CapabilityConfig,
    pconf: PredictConfig,
) -> list[tuple[str, tuple[float, float, float]]]:
    """(kind, (prediction, lower, upper)) of the family and own-scores forecasts."""
    scenarios = [Scenario("compute", family=row["family"], flops=float(row["flops"]))]
    own = _own_scores(row, target.column)
    if own:
        scenarios.append(Scenario("scores", scores=own))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)
            frame = forecast(rest, scenarios, [target], settings=settings, pconf=pconf).to_frame()
    except PredictError:
        return []
    return [
        (KIND_OF[r.scenario], (r.predicted, r.lower, r.upper))
        for r in frame.itertuples(index=False)
    ]


def _completion_cases(
    models: pd.DataFrame, row: pd.Series, settings: CapabilityConfig, level: float
) -> list[dict[str, Any]]:
    """The held-out model's basis cells filled from 3 of its own basis scores (as
    ``--complete`` fills them, with the rest of the table beside it)."""
    basis = list(settings.benchmarks)
    shown = [c for c in OWN_SCORES if c in basis and pd.notna(row.get(c))][:3]
    hidden = [c for c in basis if c not in shown and pd.notna(row.get(c))]
    if not shown or not hidden:
        return []
    table = models.copy()
    table.loc[table["model"] == row["model"], hidden] = np.nan
    done = complete_basis(table, settings, level)
    done = done[(done["model"] == row["model"]) & done["column"].isin(hidden)]
    return [
        _case(
            "completion", r.column, row["model"], float(row[r.column]), (r.value, r.lower, r.upper)
        )
        for r in done.itertuples(index=False)
    ]


def forecast_cases(
    models: pd.DataFrame, settings: CapabilityConfig, pconf: PredictConfig
) -> pd.DataFrame:
    """One row per (kind, target, held-out model): actual, prediction and interval."""
    out: list[dict[str, Any]] = []
    for _, row in held_out_models(models).iterrows():
        rest = models[models["model"] != row["model"]]
        out += _completion_cases(models, row, settings, pconf.interval)
        for target in TARGETS:
            actual = row.get(target.column)
            if pd.isna(actual) or rest[target.column].notna().sum() < 10:
                continue
            args = (target.column, row["model"], float(actual))
            out += [_case(k, *args, v) for k, v in _forecasts(rest, row, target, settings, pconf)]
            out.append(_case("flops", *args, _baseline(rest, row, target, settings, pconf)))
    cases = pd.DataFrame(out)
    return cases.assign(half=cases["target"].map(half_of_target))


def coverage_stats(grp: pd.DataFrame) -> dict[str, Any]:
    """n, MAE (points), coverage and median interval width (points) of some cases."""
    ok = grp["pred"].notna()
    g = grp[ok]
    inside = (g["actual"] >= g["lower"]) & (g["actual"] <= g["upper"])
    return {
        "n": int(ok.sum()),
        "mae_pts": float((g["pred"] - g["actual"]).abs().mean() * 100),
        "coverage": float(inside.mean()),
        "median_width_pts": float((g["upper"] - g["lower"]).median() * 100),
    }


def summarize_cases(cases: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Per kind, pooled (all targets, and each half), and per target."""
    pooled, per_target = [], []
    for kind, grp in cases.groupby("kind", sort=False):
        pooled.append({"kind": kind, "targets": "all"} | coverage_stats(grp))
        for half, part in grp.groupby("half"):
            pooled.append({"kind": kind, "targets": f"{half} half"} | coverage_stats(part))
        for target, part in grp.groupby("target", sort=False):
            half = part["half"].iloc[0]
            per_target.append({"kind": kind, "target": target, "half": half} | coverage_stats(part))
    return {"pooled": pooled, "per_target": per_target}


def run_forecast_backtest(
    models: pd.DataFrame, settings: CapabilityConfig, pconf: PredictConfig
) -> dict[str, Any]:
    cases = forecast_cases(models, settings, pconf)
    return {"cases": cases, **summarize_cases(cases)}


def run_completion_backtest(
    models: pd.DataFrame, settings: CapabilityConfig, level: float, repeats: int = 10
) -> dict[str, Any]:
    """Hide 20% of the observed basis cells (seeded), refill, score against the truth, with
    the intervals ``complete_basis`` gives each row's pattern of remaining cells."""
    X = models[list(settings.benchmarks)]
    X = X[X.notna().any(axis=1)].reset_index(drop=True)
    errors, covered, widths = [], [], []
    for seed in range(repeats):
        hide = hide_cells(X, 0.2, np.random.default_rng(seed))
        filled = impute_hidden(X, hide, settings)
        masked = X.mask(hide)
        half = PatternIntervals.fit(masked, settings, level, seed).of_rows(
            masked.notna().to_numpy()
        )
        err = np.abs(filled[hide] - X.to_numpy(float)[hide])
        errors.append(err)
        covered.append(err <= half[hide])
        widths.append(np.minimum(2 * half[hide], 1.0))
    e, c = np.concatenate(errors), np.concatenate(covered)
    return {
        "repeats": repeats,
        "hidden_cells": len(e),
        "mae_pts": float(e.mean() * 100),
        "median_ae_pts": float(np.median(e) * 100),
        "coverage": float(c.mean()),
        "median_width_pts": float(np.median(np.concatenate(widths)) * 100),
        "interval": level,
    }


POOLED_COLS = ["kind", "targets", "n", "mae_pts", "coverage", "median_width_pts"]
TARGET_COLS = ["kind", "target", "half", "n", "mae_pts", "coverage", "median_width_pts"]


def forecast_markdown(fc: dict[str, Any], completion: dict[str, Any]) -> str:
    """The forecasting back-tests: each family's largest model held out, and completion."""
    return "\n".join(
        [
            "",
            "## Forecasting a held-out model (each family's largest; 90% intervals)",
            "",
            "family = from its family and FLOPs only; scores = from 3 of its own other "
            "benchmarks; completion = its other basis benchmarks filled from 3 of them; "
            "flops = pooled log-FLOPs sigmoid (baseline). MAE and width in points.",
            "",
            "Pooled per kind (the acceptance number; design half = targets whose task is in "
            "the pool's design half, where the interval choices were made):",
            "",
            markdown_table(fc["pooled"], POOLED_COLS),
            "",
            "Per target (evidence only: with n = 9-23 a coverage's sampling sd is 0.06-0.1):",
            "",
            markdown_table(fc["per_target"], TARGET_COLS),
            "",
            "## Matrix completion (20% of observed basis cells hidden, 10 seeded repeats)",
            "",
            "\n".join(f"- {k}: {v:.4g}" for k, v in completion.items()),
            "",
        ]
    )
