"""Per-family compute scaling: each capability factor linear in log10 FLOPs within a family.

Lines are fitted for all families at once in closed form (``GroupedOLS``, equal to statsmodels'
OLS per family); a family's offset from the reference family's line is its compute
efficiency, and inverting the reference line gives "equivalent FLOPs".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ReferenceLine:
    """PC-1 = intercept + slope * log10(FLOPs) for the reference family; inverted for
    equivalent FLOPs."""

    family: str
    slope: float
    intercept: float
    n_models: int
    log10_flops_min: float
    log10_flops_max: float
    log10_flops_mean: float
    sxx: float  # sum of squared deviations of log10 FLOPs
    s2: float  # residual variance (NaN for a two-model reference)

    def log10_flops(self, pc1: np.ndarray | pd.Series) -> np.ndarray:
        return (np.asarray(pc1, dtype=float) - self.intercept) / self.slope

    def var_mean_at(self, x0: np.ndarray) -> np.ndarray:
        """Variance of the reference line's mean at ``x0`` (its own estimation error)."""
        return self.s2 * (1 / self.n_models + (x0 - self.log10_flops_mean) ** 2 / self.sxx)

    def within(self, log10_flops: np.ndarray, margin: float = 0.5) -> np.ndarray:
        """Whether compute lies within the reference models' range (+- ``margin`` decades),
        where the line is interpolated rather than extrapolated."""
        x = np.asarray(log10_flops, dtype=float)
        return (self.log10_flops_min - margin <= x) & (x <= self.log10_flops_max + margin)


@dataclass(frozen=True)
class GroupedOLS:
    """Simple OLS ``y = a + b x`` fitted within every group at once (closed form, vectorized
    over groups and columns; equal to statsmodels' OLS per group, which the tests check)."""

    groups: pd.Index
    n: np.ndarray  # per group
    x_mean: np.ndarray
    sxx: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray
    x_median: np.ndarray
    slope: np.ndarray  # groups x columns
    intercept: np.ndarray
    r2: np.ndarray
    s2: np.ndarray  # residual variance (NaN with no residual degrees of freedom)

    @classmethod
    def fit(cls, x: pd.Series, Y: pd.DataFrame, group: pd.Series, min_n: int) -> GroupedOLS:
        ok = x.notna() & group.notna()
        frame = Y[ok].assign(_x=x[ok], _g=group[ok].astype(str))
        sizes = frame.groupby("_g", sort=True)["_x"].agg(["size", "min", "max", "median"])
        keep = sizes.index[(sizes["size"] >= min_n) & (sizes["max"] > sizes["min"])]
        frame = frame[frame["_g"].isin(keep)]
        g = frame.groupby("_g", sort=True)
        xc = frame["_x"] - g["_x"].transform("mean")
        yc = frame[Y.columns] - g[list(Y.columns)].transform("mean")
        sums = (
            pd.concat(
                [
                    (xc**2).rename("sxx"),
                    yc.mul(xc, axis=0).add_prefix("xy:"),
                    (yc**2).add_prefix("yy:"),
                ],
                axis=1,
            )
            .groupby(frame["_g"], sort=True)
            .sum()
        )
        sxx = sums["sxx"].to_numpy()[:, None]
        sxy = sums[[f"xy:{c}" for c in Y.columns]].to_numpy()
        syy = sums[[f"yy:{c}" for c in Y.columns]].to_numpy()
        n = sizes.loc[keep, "size"].to_numpy()
        x_mean = g["_x"].mean().to_numpy()
        slope = sxy / sxx
        sse = np.maximum(syy - slope * sxy, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2 = np.where((n > 2)[:, None], sse / (n - 2)[:, None], np.nan)
            r2 = 1 - sse / syy
        return cls(
            groups=pd.Index(keep),
            n=n,
            x_mean=x_mean,
            sxx=sxx[:, 0],
            x_min=sizes.loc[keep, "min"].to_numpy(),
            x_max=sizes.loc[keep, "max"].to_numpy(),
            x_median=sizes.loc[keep, "median"].to_numpy(),
            slope=slope,
            intercept=g[list(Y.columns)].mean().to_numpy() - slope * x_mean[:, None],
            r2=r2,
            s2=s2,
        )

    def t_quantile(self, alpha: float) -> np.ndarray:
        # scipy.stats.t.ppf is stdtrit; imported here: reading a fit back needs no scipy
        from scipy.special import stdtrit

        df = (self.n - 2).astype(float)
        with np.errstate(invalid="ignore"):
            return np.where(df > 0, stdtrit(np.maximum(df, 1), 1 - alpha / 2), np.nan)

    def se_slope(self) -> np.ndarray:
        return np.sqrt(self.s2 / self.sxx[:, None])

    def se_intercept(self) -> np.ndarray:
        return np.sqrt(self.s2 * (1 / self.n + self.x_mean**2 / self.sxx)[:, None])

    def se_mean_at(self, x0: np.ndarray) -> np.ndarray:
        """Standard error of the fitted line's mean at ``x0`` (one point per group)."""
        return np.sqrt(self.s2 * (1 / self.n + (x0 - self.x_mean) ** 2 / self.sxx)[:, None])


def family_regressions(
    scores: pd.DataFrame,
    log10_flops: pd.Series,
    family: pd.Series,
    *,
    min_models: int = 2,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """OLS of each PC on log10 FLOPs within each family with >= ``min_models`` known FLOPs.

    Intervals are t-based (1 - alpha); with exactly two models they are undefined (NaN) and R²
    is trivially 1, so such families are marked ``n = 2``. Families whose models all share
    one compute value have no slope and are left out.
    """
    ols = GroupedOLS.fit(log10_flops, scores, family, min_models)
    t = ols.t_quantile(alpha)[:, None]
    se_b, se_a = ols.se_slope(), ols.se_intercept()
    parts = []
    for j, pc in enumerate(scores.columns):
        parts.append(
            pd.DataFrame(
                {
                    "family": ols.groups,
                    "component": pc,
                    "n": ols.n,
                    "slope": ols.slope[:, j],
                    "slope_low": ols.slope[:, j] - t[:, 0] * se_b[:, j],
                    "slope_high": ols.slope[:, j] + t[:, 0] * se_b[:, j],
                    "intercept": ols.intercept[:, j],
                    "intercept_low": ols.intercept[:, j] - t[:, 0] * se_a[:, j],
                    "intercept_high": ols.intercept[:, j] + t[:, 0] * se_a[:, j],
                    "r2": ols.r2[:, j],
                    "log10_flops_min": ols.x_min,
                    "log10_flops_max": ols.x_max,
                }
            )
        )
    if not parts or ols.groups.empty:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["family", "component"], kind="stable").reset_index(drop=True)


def _offset_error(
    ols: GroupedOLS, reference: ReferenceLine, x0: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Standard error of a family's offset from the reference line at ``x0`` and its t quantile:
    both lines are estimates, so their variances add; t with the smaller residual df."""
    from scipy.special import stdtrit

    se = np.sqrt(ols.se_mean_at(x0)[:, 0] ** 2 + reference.var_mean_at(x0))
    df = np.minimum(ols.n - 2, reference.n_models - 2).astype(float)
    with np.errstate(invalid="ignore"):
        t = np.where(df > 0, stdtrit(np.maximum(df, 1), 1 - alpha / 2), np.nan)
    return se, t


def family_efficiency(
    scores: pd.Series,
    log10_flops: pd.Series,
    family: pd.Series,
    reference: ReferenceLine,
    *,
    min_models: int = 2,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Compute efficiency of each family relative to the reference family.

    ``pc1_offset``: the family's PC-1 line minus the reference's line, evaluated at the
    family's own median log10 FLOPs (where its line is best determined), with the (1 - alpha)
    interval of the difference (both lines' estimation errors; t with the smaller residual
    df). ``compute_multiplier`` = 10^(offset / reference slope): how many times the reference
    family's compute buys the same capability. ``extrapolated`` marks families whose median
    compute lies more than half a decade outside the reference family's: there the reference
    line is extrapolated (and PC-1 may sit at chance level, where it is no longer linear in
    compute), so no multiplier is given and they are listed last.
    """
    ols = GroupedOLS.fit(log10_flops, scores.to_frame("PC-1"), family, min_models)
    if ols.groups.empty:
        return pd.DataFrame()
    x0 = ols.x_median
    offset = (
        ols.intercept[:, 0] + ols.slope[:, 0] * x0 - (reference.intercept + reference.slope * x0)
    )
    se, t = _offset_error(ols, reference, x0, alpha)
    inside = reference.within(x0)
    out = pd.DataFrame(
        {
            "family": ols.groups,
            "n": ols.n,
            "at_log10_flops": x0,
            "pc1_offset": offset,
            "pc1_offset_low": offset - t * se,
            "pc1_offset_high": offset + t * se,
            # a multiplier read off an extrapolated reference line would be meaningless
            "compute_multiplier": np.where(inside, 10 ** (offset / reference.slope), np.nan),
            "extrapolated": ~inside,
        }
    )
    own = out["family"] == reference.family  # the reference against itself: zero by definition
    out.loc[own, ["pc1_offset", "pc1_offset_low", "pc1_offset_high"]] = 0.0
    out["significant"] = (out["pc1_offset_low"] > 0) | (out["pc1_offset_high"] < 0)
    return out.sort_values(
        ["extrapolated", "pc1_offset", "family"], ascending=[True, False, True]
    ).reset_index(drop=True)
