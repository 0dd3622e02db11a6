"""The capability index against release date: the frontier's trend and its back-test.

- ``frontier_points``: the models that set a new best C when released (best so far);
- ``FrontierTrend``: a straight line of C in the release date (years) fitted by least squares
  to the frontier points (``frontier=True``) or to all dated models, with the ordinary
  least-squares prediction interval (Student t) for a new point at any date;
- ``trend_backtest``: for each cutoff, the index fitted on the models released before it
  (later models' C folded in with the benchmarks fixed), the frontier line fitted before it,
  and the best C actually reached by ``cutoff + h`` compared with the line's forecast there:
  absolute error and whether the interval held it;
- ``scores_at``: a capability (and its interval) turned into every benchmark's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student

from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.hub_matrix import hub_matrix, years
from obsscale.model.index.irt import CapabilityIndex

MIN_POINTS = 4


def frontier_points(capability: pd.Series, dates: pd.Series) -> pd.DataFrame:
    """Dated models that beat every earlier model's C (ties by date, then by name)."""
    frame = pd.DataFrame({"capability": capability, "t": years(dates.reindex(capability.index))})
    frame = frame.dropna().sort_values(["t", "capability"], ascending=[True, False])
    best = frame["capability"].cummax()
    record = frame["capability"] >= best  # equal to the running best: it set it
    return frame[record & ~frame["capability"].duplicated()]


class FrontierTrend:
    """C = intercept + slope * years, with a ``level`` prediction interval."""

    def __init__(self, *, level: float = 0.9) -> None:
        self.level = level

    def fit(self, t: np.ndarray, c: np.ndarray) -> FrontierTrend:
        if len(t) < MIN_POINTS:
            raise CapabilityDataError(f"frontier trend: {len(t)} dated points (need {MIN_POINTS})")
        A = np.column_stack([np.ones_like(t), t])
        coef, *_ = np.linalg.lstsq(A, c, rcond=None)
        resid = c - A @ coef
        self.coef_ = coef
        self.dof_ = len(t) - 2
        self.sigma_ = float(np.sqrt(resid @ resid / self.dof_))
        self.xtx_inv_ = np.linalg.inv(A.T @ A)
        self.n_ = len(t)
        return self

    def predict(self, t: np.ndarray) -> pd.DataFrame:
        A = np.column_stack([np.ones_like(t), t])
        mean = A @ self.coef_
        lev = np.einsum("ij,jk,ik->i", A, self.xtx_inv_, A)
        half = student.ppf((1 + self.level) / 2, self.dof_) * self.sigma_ * np.sqrt(1 + lev)
        return pd.DataFrame({"capability": mean, "lower": mean - half, "upper": mean + half})

    def per_year(self) -> float:
        return float(self.coef_[1])


def scores_at(index: CapabilityIndex, forecast: pd.DataFrame) -> pd.DataFrame:
    """Each benchmark's score at the forecast C and its interval's ends (monotone in C)."""
    rows = []
    for _, f in forecast.iterrows():
        mid, lo, hi = (
            index.predict_scores(np.array([f[k]])).iloc[0] for k in ("capability", "lower", "upper")
        )
        for b in index.benchmarks_:
            rows.append({"benchmark": b, "predicted": mid[b], "lower": lo[b], "upper": hi[b]})
    return pd.DataFrame(rows)


def _realised(index: CapabilityIndex, X: pd.DataFrame, dates: pd.Series, end: pd.Timestamp):
    """Best C among models released by ``end`` (later models folded in)."""
    when = pd.to_datetime(dates.reindex(X.index), errors="coerce")
    upto = X[(when <= end).to_numpy()]
    upto = upto[upto[index.benchmarks_].notna().any(axis=1)]
    if upto.empty:
        return None
    return float(index.fold_in(upto[index.benchmarks_])["capability"].max())


def trend_backtest(
    X: pd.DataFrame,
    dates: pd.Series,
    cutoffs: Sequence[str],
    horizons_months: Sequence[int] = (6, 12, 24),
    level: float = 0.9,
) -> list[dict[str, Any]]:
    """One row per (cutoff, horizon) whose horizon ends before the newest release."""
    when = pd.to_datetime(dates.reindex(X.index), errors="coerce")
    newest = when.max()
    rows = []
    for cutoff in cutoffs:
        cut = pd.Timestamp(cutoff)
        train = X[(when < cut).to_numpy()]
        train = train.loc[:, train.notna().sum() >= 3]
        train = train[train.notna().any(axis=1)]
        if len(train) < 10:
            continue
        index = CapabilityIndex(anchor=None).fit(train)
        points = frontier_points(index.capability_, dates)
        trend = FrontierTrend(level=level).fit(
            points["t"].to_numpy(), points["capability"].to_numpy()
        )
        for h in horizons_months:
            end = cut + pd.DateOffset(months=h)
            if end > newest:
                continue
            actual = _realised(index, X, dates, end)
            pred = trend.predict(years(pd.Series([end])))
            if actual is None:
                continue
            p = pred.iloc[0]
            rows.append(
                {
                    "cutoff": cutoff,
                    "months": h,
                    "predicted": float(p["capability"]),
                    "actual": actual,
                    "abs_error": abs(float(p["capability"]) - actual),
                    "covered": bool(p["lower"] <= actual <= p["upper"]),
                }
            )
    return rows


def summarise_backtest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean absolute error and interval coverage per horizon."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return []
    out = frame.groupby("months").agg(
        n=("abs_error", "size"), mae=("abs_error", "mean"), coverage=("covered", "mean")
    )
    return [{"months": int(k)} | {c: float(v) for c, v in r.items()} for k, r in out.iterrows()]


def forecast_released(
    models: pd.DataFrame, date: str, targets: Sequence[str] | None = None, level: float = 0.9
) -> dict[str, Any]:
    """C of a frontier model released on ``date`` (the frontier line) and each target's score
    there (every benchmark of the index when ``targets`` is None)."""
    index = CapabilityIndex().fit(hub_matrix(models))
    chosen = list(targets) if targets else index.benchmarks_
    unknown = [t for t in chosen if t not in index.benchmarks_]
    if unknown:
        raise CapabilityDataError(
            f"target {unknown[0]!r} is not a benchmark of the capability index "
            f"(hub columns with >= 10 scores): {', '.join(index.benchmarks_)}"
        )
    points = frontier_points(index.capability_, models.set_index("model")["release_date"])
    trend = FrontierTrend(level=level).fit(points["t"].to_numpy(), points["capability"].to_numpy())
    pred = trend.predict(years(pd.Series([date])))
    scores = scores_at(index, pred)
    scores = scores[scores["benchmark"].isin(chosen)]
    p = pred.iloc[0]
    return {
        "released": date,
        "scale": f"logits of {index.anchor_} (difficulty 0, slope 1)",
        "interval": level,
        "per_year": trend.per_year(),
        "n_points": trend.n_,
        "capability": {"predicted": p["capability"], "lower": p["lower"], "upper": p["upper"]},
        "scores": scores.to_dict("records"),
    }
