"""Where a planned model's capabilities will sit: each factor's line in log-compute, per family.

The observational scaling law says each capability factor is linear in log10 FLOPs within a
family. For a model that does not exist yet, that line (or, for a family without one, a
stated fallback) gives the factors' predictive distribution at the planned compute:

- ``family``: the family's own OLS line; variance s²·(1 + 1/n + (x0 − x̄)²/Sxx), i.e. the
  residual scatter plus the line's estimation error, which grows past the largest member.
  Families of two models have no residual variance of their own: the pooled one is used.
- ``anchored``: a family with one model of known compute: the pooled within-family slope
  through its own model(s).
- ``like``: another family's line, for a new family said to resemble it; the spread of
  family offsets is added, since the new family's efficiency is unknown.
- ``pooled``: the common within-family slope with the mean family offset, plus the spread of
  family offsets (the compute-efficiency uncertainty of a family never seen).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from obsscale.exceptions import PredictError
from obsscale.model.capabilities.families import GroupedOLS


@dataclass(frozen=True)
class LinePrediction:
    """Factor means and variances at one compute value, with how they were derived."""

    mean: np.ndarray  # per component
    var: np.ndarray
    method: str  # family | anchored | like | pooled
    source_family: str | None
    decades_past: float  # log10 FLOPs past the largest model of the line's family (or all)


@dataclass(frozen=True)
class FamilyLines:
    """Per-family lines of every factor on log10 FLOPs, plus the pooled within-family line."""

    ols: GroupedOLS
    slope: np.ndarray  # pooled within-family slope per component
    offset_mean: np.ndarray  # mean family intercept
    offset_var: np.ndarray  # variance of family intercepts around the pooled slope
    s2: np.ndarray  # pooled residual variance per component
    anchors: pd.DataFrame  # per family: mean log10 FLOPs, mean factors, n, max log10 FLOPs
    components: list[str]

    @classmethod
    def fit(cls, factors: pd.DataFrame, log10_flops: pd.Series, family: pd.Series) -> FamilyLines:
        ok = log10_flops.notna() & family.notna()
        f, x, g = factors[ok], log10_flops[ok], family[ok].astype(str)
        ols = GroupedOLS.fit(x, f, g, 2)
        if ols.groups.empty:
            raise PredictError("no family has two models of distinct known compute: no lines")
        w = ols.sxx[:, None]
        slope = (ols.slope * w).sum(axis=0) / w.sum()
        intercepts = ols.intercept + (ols.slope - slope) * ols.x_mean[:, None]
        dof = (ols.n - 2).sum()
        resid = np.nansum(np.where(np.isfinite(ols.s2), ols.s2 * (ols.n - 2)[:, None], 0), 0)
        anchors = f.assign(_x=x).groupby(g).agg(["mean", "size", "max"])
        return cls(
            ols=ols,
            slope=slope,
            offset_mean=intercepts.mean(axis=0),
            offset_var=intercepts.var(axis=0, ddof=1) if len(intercepts) > 1 else slope * 0,
            s2=resid / max(dof, 1),
            anchors=anchors,
            components=list(factors.columns),
        )

    def families(self) -> list[str]:
        return sorted(self.anchors.index)

    def predict(self, x0: float, family: str | None, like: str | None = None) -> LinePrediction:
        """The factors' predictive distribution at log10 FLOPs ``x0``."""
        if family is not None and family in self.ols.groups:
            return self._own(x0, family, "family", extra=0.0)
        if family is not None and family in self.anchors.index:
            return self._anchored(x0, family)
        if like is not None:
            if like not in self.ols.groups:
                raise PredictError(
                    f"like={like!r}: no line for that family; families with a line: "
                    f"{', '.join(map(str, self.ols.groups))}",
                    setting="like",
                )
            return self._own(x0, like, "like", extra=1.0)
        if family is not None:
            raise PredictError(
                f"family {family!r} has no model of known compute in this fit; give the "
                "scenario a family it is like (its like=), or no family for the pooled line. "
                f"Known: {', '.join(self.families())}",
                setting="like",
            )
        return self._pooled(x0)

    def _own(self, x0: float, family: str, method: str, extra: float) -> LinePrediction:
        i = self.ols.groups.get_loc(family)
        n, xbar, sxx = self.ols.n[i], self.ols.x_mean[i], self.ols.sxx[i]
        s2 = np.where(np.isfinite(self.ols.s2[i]), self.ols.s2[i], self.s2)
        mean = self.ols.intercept[i] + self.ols.slope[i] * x0
        var = s2 * (1 + 1 / n + (x0 - xbar) ** 2 / sxx) + extra * self.offset_var
        return LinePrediction(mean, var, method, family, x0 - float(self.ols.x_max[i]))

    def _anchored(self, x0: float, family: str) -> LinePrediction:
        row = self.anchors.loc[family]
        xa = float(row[("_x", "mean")])
        ya = np.array([row[(c, "mean")] for c in self.components])
        n = float(row[("_x", "size")])
        mean = ya + self.slope * (x0 - xa)
        var = self.s2 * (1 + 1 / n) + self._slope_var() * (x0 - xa) ** 2
        return LinePrediction(mean, var, "anchored", family, x0 - float(row[("_x", "max")]))

    def _pooled(self, x0: float) -> LinePrediction:
        mean = self.offset_mean + self.slope * x0
        var = self.s2 * (1 + 1 / len(self.ols.groups)) + self.offset_var
        var = var + self._slope_var() * (x0 - float(np.mean(self.ols.x_mean))) ** 2
        return LinePrediction(mean, var, "pooled", None, x0 - float(self.ols.x_max.max()))

    def _slope_var(self) -> np.ndarray:
        return self.s2 / self.ols.sxx.sum()
