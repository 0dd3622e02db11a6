"""Capability factors: PCA with PCA-based imputation, per-family compute scaling, equivalent FLOPs.

The observational scaling law says that a few principal components of benchmark scores
("capabilities") are each linear in log-compute within a model family, with family-specific
offsets (compute efficiency). This module estimates exactly that, in scikit-learn style:

- ``PCAImputer``: fills missing scores by iterated rank-r PCA reconstruction on standardized
  scores (the reference's ``pca_impute``), then un-standardizes and clips to [0, 1].
- ``CapabilityPCA``: imputes, then PCA on the (unstandardized by default) scores, with each
  component's sign fixed so that higher means more capable.
- ``fit_capabilities``: the above on a model table, plus OLS of each PC on log10 FLOPs within
  every family, and equivalent FLOPs on a reference family's scale; returns ``CapabilityFit``.
"""

from __future__ import annotations

import json
import logging
import tomllib
import warnings
from dataclasses import asdict, dataclass, field
from importlib import resources
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from statsmodels.iolib.summary2 import Summary

from obsscale.data import store
from obsscale.config import CapabilityConfig

log = logging.getLogger(__name__)

FIT_FORMAT = "obsscale.model.factors/1"


class CapabilityDataError(ValueError):
    """The score matrix cannot support the requested fit (too few models, no variance, ...)."""


# ----------------------------------------------------------------------------- input checks


def _as_matrix(X: Any, names: list[str] | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """Float matrix plus column and row labels (from a DataFrame when given one)."""
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        rows = [str(r) for r in X.index]
        try:
            arr = X.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise CapabilityDataError(f"scores must be numeric: {e}") from e
    else:
        arr = np.asarray(X, dtype=float)
        cols = names or [f"x{j}" for j in range(arr.shape[1] if arr.ndim == 2 else 0)]
        rows = [str(i) for i in range(arr.shape[0])]
    if arr.ndim != 2:
        raise CapabilityDataError(f"scores must be a 2-D table, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise CapabilityDataError("scores contain infinite values")
    return arr, cols, rows


def check_score_matrix(X: np.ndarray, cols: list[str], rows: list[str], n_components: int) -> None:
    """Refuse, with a message naming the culprits, what would make the fit meaningless."""
    n, p = X.shape
    if n < max(3, n_components + 1):
        raise CapabilityDataError(
            f"too few models: {n} (need at least {max(3, n_components + 1)} for "
            f"{n_components} components)"
        )
    if p < n_components:
        raise CapabilityDataError(
            f"{n_components} components requested but only {p} benchmarks: {cols}"
        )
    empty_cols = [c for c, e in zip(cols, np.isnan(X).all(axis=0), strict=True) if e]
    if empty_cols:
        raise CapabilityDataError(f"benchmarks with no scores at all: {empty_cols}")
    empty_rows = [r for r, e in zip(rows, np.isnan(X).all(axis=1), strict=True) if e]
    if empty_rows:
        shown = ", ".join(empty_rows[:5]) + (" ..." if len(empty_rows) > 5 else "")
        raise CapabilityDataError(
            f"{len(empty_rows)} models have no score on any benchmark ({shown}); drop them "
            "or choose other benchmarks"
        )
    counts = (~np.isnan(X)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        std = np.nanstd(X, axis=0)
    flat = [c for c, s, k in zip(cols, std, counts, strict=True) if k < 2 or not s > 0]
    if flat:
        raise CapabilityDataError(
            f"benchmarks with no variance (fewer than 2 distinct observed scores): {flat}"
        )


# ----------------------------------------------------------------------------- imputation


def _top_components(Z: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top-``rank`` principal axes (rows) of Z, via the p x p covariance."""
    mu = Z.mean(axis=0)
    Zc = Z - mu
    _, vecs = np.linalg.eigh(Zc.T @ Zc)
    W = vecs[:, ::-1][:, :rank].T
    return mu, W


def _project_missing(Z: np.ndarray, mask: np.ndarray, mu: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Fill the masked entries of Z with the rank-r reconstruction that best fits each row's
    observed entries (least squares). This is the fixed point of the reference's iteration
    "replace missing by reconstruction" when the PCA basis is held fixed; rows sharing a
    missingness pattern are solved together."""
    Z = Z.copy()
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Z
    patterns, inverse = np.unique(mask[rows], axis=0, return_inverse=True)
    for k, pattern in enumerate(patterns):
        idx = rows[inverse.ravel() == k]
        obs = ~pattern
        A = W[:, obs].T  # observed coordinates of the axes, p_obs x r
        coef, *_ = np.linalg.lstsq(A, (Z[np.ix_(idx, obs)] - mu[obs]).T, rcond=None)
        Z[np.ix_(idx, pattern)] = (mu[pattern][:, None] + W[:, pattern].T @ coef).T
    return Z


class PCAImputer(TransformerMixin, BaseEstimator):
    """Impute missing scores by iterated low-rank PCA reconstruction.

    Standardize each benchmark (observed entries, population std), fill missing entries with
    the mean, then repeat {fit a rank-``n_components`` PCA, replace the missing entries by
    their reconstruction} until no imputed entry moves by more than ``tol`` (standardized
    units) or ``max_iter`` is reached; un-standardize and clip to ``clip``. New rows are
    imputed with the fitted basis. Observed entries are never changed (except by clipping).
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declaration table
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "clip": [tuple, None],
    }

    def __init__(
        self,
        *,
        n_components: int = 1,
        max_iter: int = 1000,
        tol: float = 1e-6,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.clip = clip

    def fit(self, X: Any, y: None = None) -> PCAImputer:
        self._validate_params()
        arr, cols, rows = _as_matrix(X)
        check_score_matrix(arr, cols, rows, self.n_components)
        self.n_features_in_ = arr.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(cols, dtype=object)
        self.mean_ = np.nanmean(arr, axis=0)
        self.scale_ = np.nanstd(arr, axis=0)
        self.center_, self.components_, self.n_iter_ = self._iterate(arr)
        return self

    def _iterate(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        mask = np.isnan(arr)
        Z = np.where(mask, 0.0, (arr - self.mean_) / self.scale_)
        mu, W = _top_components(Z, self.n_components)
        for it in range(1, self.max_iter + 1):
            R = mu + (Z - mu) @ W.T @ W
            delta = np.abs(R[mask] - Z[mask]).max(initial=0.0)
            Z[mask] = R[mask]
            mu, W = _top_components(Z, self.n_components)
            if delta <= self.tol:
                return mu, W, it
        warnings.warn(
            f"PCA imputation did not converge in {self.max_iter} iterations (last change "
            f"{delta:.2g} > tol {self.tol:g}); raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
        return mu, W, self.max_iter

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "components_")
        arr, cols, _ = _as_matrix(X)
        if arr.shape[1] != self.n_features_in_:
            raise CapabilityDataError(
                f"expected {self.n_features_in_} benchmarks, got {arr.shape[1]}"
            )
        named = hasattr(self, "feature_names_in_") and isinstance(X, pd.DataFrame)
        if named and list(cols) != list(self.feature_names_in_):
            raise CapabilityDataError(
                f"benchmarks {cols} differ from those seen in fit {list(self.feature_names_in_)}"
            )
        mask = np.isnan(arr)
        if mask.all(axis=1).any():
            raise CapabilityDataError("rows with no observed score cannot be imputed")
        Z = np.where(mask, 0.0, (arr - self.mean_) / self.scale_)
        Z = _project_missing(Z, mask, self.center_, self.components_)
        out = Z * self.scale_ + self.mean_
        out[~mask] = arr[~mask]
        return np.clip(out, *self.clip) if self.clip is not None else out


# ----------------------------------------------------------------------------- PCA


class CapabilityPCA(TransformerMixin, BaseEstimator):
    """Imputation followed by PCA: the capability factors of the observational scaling law.

    Components are signed so that each correlates positively with the models' mean score
    across benchmarks ("higher PC = more capable"), which makes fits comparable across runs
    and scikit-learn versions (whose sign convention changed in 1.5).
    """

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declaration table
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "impute_components": [Interval(Integral, 1, None, closed="left")],
        "standardize": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "clip": [tuple, None],
    }

    def __init__(
        self,
        *,
        n_components: int = 3,
        impute_components: int = 1,
        standardize: bool = False,
        max_iter: int = 1000,
        tol: float = 1e-6,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        self.n_components = n_components
        self.impute_components = impute_components
        self.standardize = standardize
        self.max_iter = max_iter
        self.tol = tol
        self.clip = clip

    def fit(self, X: Any, y: None = None) -> CapabilityPCA:
        self._validate_params()
        arr, cols, rows = _as_matrix(X)
        check_score_matrix(arr, cols, rows, max(self.n_components, self.impute_components))
        self.imputer_ = PCAImputer(
            n_components=self.impute_components,
            max_iter=self.max_iter,
            tol=self.tol,
            clip=self.clip,
        ).fit(X)
        self.n_features_in_ = arr.shape[1]
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        self._fit_pca(self.imputer_.transform(X))
        return self

    def _fit_pca(self, filled: np.ndarray) -> None:
        self.mean_ = filled.mean(axis=0)
        self.scale_ = filled.std(axis=0) if self.standardize else np.ones(filled.shape[1])
        Xc = (filled - self.mean_) / self.scale_
        _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
        comps = Vt[: self.n_components]
        scores = Xc @ comps.T
        avg = filled.mean(axis=1)
        signs = np.sign([np.corrcoef(scores[:, j], avg)[0, 1] for j in range(len(comps))])
        signs[signs == 0] = 1.0
        self.components_ = comps * signs[:, None]
        var = S**2 / (len(filled) - 1)
        self.explained_variance_ = var[: self.n_components]
        self.explained_variance_ratio_ = (var / var.sum())[: self.n_components]
        # the whole spectrum, for scree plots (the fitted components are the first entries)
        self.spectrum_ratio_ = var / var.sum()

    @classmethod
    def from_config(cls, cfg: CapabilityConfig, n_components: int | None = None) -> CapabilityPCA:
        """The estimator a ``CapabilityConfig`` describes (optionally with more components)."""
        return cls(
            n_components=n_components or cfg.n_components,
            impute_components=cfg.impute_components,
            standardize=cfg.standardize,
            max_iter=cfg.max_iter,
            tol=cfg.tol,
            clip=cfg.clip,
        )

    def impute(self, X: Any) -> np.ndarray:
        """The scores with missing entries filled by the fitted imputer."""
        check_is_fitted(self, "components_")
        return self.imputer_.transform(X)

    def transform(self, X: Any) -> np.ndarray:
        filled = self.impute(X)
        return ((filled - self.mean_) / self.scale_) @ self.components_.T

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"PC-{j + 1}" for j in range(self.n_components)], dtype=object)


# ----------------------------------------------------------------------------- model selection


def load_subsets() -> dict[str, dict[str, list[str]]]:
    text = resources.files("obsscale.data.curated").joinpath("subsets.toml").read_text("utf-8")
    return tomllib.loads(text)


def select_models(
    models: pd.DataFrame,
    benchmarks: tuple[str, ...] | list[str],
    *,
    subset: str | None = None,
    families: list[str] | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    base_only: bool = True,
) -> pd.DataFrame:
    """Rows of the model table used for a fit: with at least one score on the basis (any row
    when ``benchmarks`` is empty), base models only by default, optionally a named subset, a
    family list or an explicit model list.
    """
    missing = [b for b in benchmarks if b not in models.columns]
    if missing:
        known = [c for c in models.columns if ":" in c]
        raise CapabilityDataError(f"unknown benchmark columns {missing}; available: {known}")
    keep = (
        models[list(benchmarks)].notna().any(axis=1)
        if benchmarks
        else pd.Series(True, index=models.index)
    )
    if base_only:
        keep &= models["is_base"].fillna(False).astype(bool)
    excluded = {m.lower() for m in exclude or []}
    if subset is not None:
        subsets = load_subsets()
        if subset not in subsets:
            raise CapabilityDataError(f"unknown subset {subset!r}; known: {sorted(subsets)}")
        families = [*(families or []), *subsets[subset].get("families", [])]
        excluded |= {m.lower() for m in subsets[subset].get("exclude", [])}
    if families:
        unknown = sorted(set(families) - set(models["family"].dropna()))
        if unknown:
            log.warning("families not in the table: %s", unknown)
        keep &= models["family"].isin(families)
    if include:
        wanted = {m.lower() for m in include}
        absent = sorted(wanted - set(models["model"].str.lower()))
        if absent:
            raise CapabilityDataError(f"models not in the table: {absent}")
        keep &= models["model"].str.lower().isin(wanted)
    keep &= ~models["model"].str.lower().isin(excluded)
    return models[keep].reset_index(drop=True)


# ----------------------------------------------------------------------------- family scaling


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
        df = (self.n - 2).astype(float)
        with np.errstate(invalid="ignore"):
            return np.where(df > 0, stats.t.ppf(1 - alpha / 2, np.maximum(df, 1)), np.nan)

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
    ref = reference.intercept + reference.slope * x0
    offset = ols.intercept[:, 0] + ols.slope[:, 0] * x0 - ref
    # both lines are estimates: their variances add; t with the smaller residual df
    se = np.sqrt(ols.se_mean_at(x0)[:, 0] ** 2 + reference.var_mean_at(x0))
    df = np.minimum(ols.n - 2, reference.n_models - 2).astype(float)
    with np.errstate(invalid="ignore"):
        t = np.where(df > 0, stats.t.ppf(1 - alpha / 2, np.maximum(df, 1)), np.nan)
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


# ----------------------------------------------------------------------------- the fit


@dataclass
class CapabilityFit:
    """What ``fit_capabilities`` learned; serialisable to JSON and back.

    ``models``: one row per model used (id, family, FLOPs, PC scores, equivalent FLOPs);
    ``families``: per-family OLS of every PC on log10 FLOPs; ``efficiency``: per-family
    compute efficiency relative to the reference; ``pca``: the fitted ``CapabilityPCA``.
    """

    benchmarks: list[str]
    pca: CapabilityPCA
    models: pd.DataFrame
    families: pd.DataFrame
    efficiency: pd.DataFrame
    reference: ReferenceLine | None
    settings: dict[str, Any]
    input_sha256: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def components(self) -> list[str]:
        return [f"PC-{j + 1}" for j in range(self.pca.n_components)]

    @property
    def explained_variance_ratio(self) -> pd.Series:
        return pd.Series(self.pca.explained_variance_ratio_, index=self.components)

    @property
    def loadings(self) -> pd.DataFrame:
        """Benchmark x component weights (rows of ``components_``, as in the paper)."""
        return pd.DataFrame(self.pca.components_.T, index=self.benchmarks, columns=self.components)

    def transform(self, models: pd.DataFrame) -> pd.DataFrame:
        """Capability factors of new models (imputed with this fit's training basis)."""
        pcs = self.pca.transform(models[self.benchmarks])
        return pd.DataFrame(pcs, index=models.index, columns=self.components)

    def equivalent_flops(self, pc1: np.ndarray | pd.Series) -> np.ndarray:
        """FLOPs at which the reference family's line reaches this PC-1."""
        if self.reference is None:
            raise CapabilityDataError("no reference family line in this fit")
        return 10 ** self.reference.log10_flops(pc1)

    def __repr__(self) -> str:
        fams = self.models["family"].nunique()
        return (
            f"<CapabilityFit: {len(self.models)} models, {fams} families, "
            f"{len(self.benchmarks)} benchmarks, {self.pca.n_components} components, PC-1 "
            f"explains {self.pca.explained_variance_ratio_[0]:.3f}>"
        )

    def summary(self) -> Summary:
        """Text / HTML / LaTeX summary (statsmodels ``Summary``)."""
        s = Summary()
        s.add_title("Capability factors (observational scaling laws)")
        info = {
            "Models": str(len(self.models)),
            "Families": str(self.models["family"].nunique()),
            "Benchmarks": str(len(self.benchmarks)),
            "Components": str(self.pca.n_components),
            "Reference family": self.reference.family if self.reference else "-",
            "Explained var. (cum.)": f"{self.pca.explained_variance_ratio_.sum():.3f}",
        }
        s.add_dict(info, ncols=2)
        ev = self.explained_variance_ratio.to_frame("explained variance ratio").T
        s.add_df(ev.round(4))
        s.add_df(self.loadings.round(3))
        pc1 = self.families[self.families["component"] == "PC-1"] if len(self.families) else None
        if pc1 is not None and len(pc1):
            s.add_df(
                pc1.set_index("family")[["n", "slope", "slope_low", "slope_high", "r2"]].round(3)
            )
        if len(self.efficiency):
            s.add_df(self.efficiency.set_index("family").round(3))
        for note in self.notes:
            s.add_text(note)
        return s

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        imp, pca = self.pca.imputer_, self.pca
        return store.jsonable(
            {
                "format": FIT_FORMAT,
                "settings": self.settings,
                "input_sha256": self.input_sha256,
                "benchmarks": self.benchmarks,
                "components": self.components,
                "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
                "explained_variance": pca.explained_variance_.tolist(),
                "spectrum_ratio": pca.spectrum_ratio_.tolist(),
                "loadings": {
                    b: dict(zip(self.components, row.tolist(), strict=True))
                    for b, row in zip(self.benchmarks, pca.components_.T, strict=True)
                },
                "imputer": {
                    "n_components": imp.n_components,
                    "n_iter": imp.n_iter_,
                    "mean": imp.mean_.tolist(),
                    "scale": imp.scale_.tolist(),
                    "center": imp.center_.tolist(),
                    "components": imp.components_.tolist(),
                    "clip": list(imp.clip) if imp.clip is not None else None,
                },
                "pca": {
                    "mean": pca.mean_.tolist(),
                    "scale": pca.scale_.tolist(),
                    "components": pca.components_.tolist(),
                    "standardize": pca.standardize,
                },
                "reference": asdict(self.reference) if self.reference else None,
                "models": self.models,
                "families": self.families,
                "efficiency": self.efficiency,
                "notes": self.notes,
            }
        )

    def save(self, path: str | Path) -> None:
        store.write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CapabilityFit:
        if d.get("format") != FIT_FORMAT:
            raise CapabilityDataError(f"not a capability fit (format {d.get('format')!r})")
        imp_d, pca_d = d["imputer"], d["pca"]
        imp = PCAImputer(
            n_components=imp_d["n_components"],
            clip=tuple(imp_d["clip"]) if imp_d["clip"] else None,
        )
        imp.mean_, imp.scale_ = np.array(imp_d["mean"]), np.array(imp_d["scale"])
        imp.center_, imp.components_ = np.array(imp_d["center"]), np.array(imp_d["components"])
        imp.n_iter_, imp.n_features_in_ = imp_d["n_iter"], len(d["benchmarks"])
        imp.feature_names_in_ = np.asarray(d["benchmarks"], dtype=object)
        pca = CapabilityPCA(
            n_components=len(d["components"]),
            impute_components=imp.n_components,
            standardize=pca_d["standardize"],
            clip=imp.clip,
        )
        pca.imputer_ = imp
        pca.mean_, pca.scale_ = np.array(pca_d["mean"]), np.array(pca_d["scale"])
        pca.components_ = np.array(pca_d["components"])
        pca.explained_variance_ratio_ = np.array(d["explained_variance_ratio"])
        pca.explained_variance_ = np.array(d["explained_variance"])
        pca.spectrum_ratio_ = np.array(d["spectrum_ratio"])
        pca.n_features_in_ = len(d["benchmarks"])
        pca.feature_names_in_ = np.asarray(d["benchmarks"], dtype=object)
        return cls(
            benchmarks=list(d["benchmarks"]),
            pca=pca,
            models=pd.DataFrame(d["models"]),
            families=pd.DataFrame(d["families"]),
            efficiency=pd.DataFrame(d["efficiency"]),
            reference=(
                ReferenceLine(**{k: np.nan if v is None else v for k, v in d["reference"].items()})
                if d["reference"]
                else None
            ),
            settings=d["settings"],
            input_sha256=d["input_sha256"],
            notes=d.get("notes", []),
        )

    @classmethod
    def load(cls, path: str | Path) -> CapabilityFit:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise CapabilityDataError(f"cannot read fit {path}: {e}") from e
        return cls.from_dict(data)


def fit_capabilities(
    models: pd.DataFrame,
    settings: CapabilityConfig | None = None,
    *,
    input_sha256: str | None = None,
) -> CapabilityFit:
    """Fit capability factors and per-family compute scaling on the given model rows.

    ``models`` must hold ``model``, ``family``, ``flops`` and the benchmark columns named in
    ``settings.benchmarks``; select rows first with ``select_models``.
    """
    cfg = settings or CapabilityConfig()
    benchmarks = list(cfg.benchmarks)
    missing = [b for b in benchmarks if b not in models.columns]
    if missing:
        raise CapabilityDataError(f"unknown benchmark columns {missing}")
    X = models[benchmarks].set_axis(models["model"].astype(str), axis=0)
    pca = CapabilityPCA.from_config(cfg).fit(X)
    comps = [f"PC-{j + 1}" for j in range(cfg.n_components)]
    scores = pd.DataFrame(pca.transform(X), columns=comps, index=models.index)
    log_flops = np.log10(models["flops"].where(models["flops"] > 0))
    families = family_regressions(
        scores, log_flops, models["family"], min_models=cfg.min_family_models, alpha=cfg.alpha
    )
    notes: list[str] = []
    fitted = set(families["family"]) if len(families) else set()
    skipped = sorted(set(models["family"].dropna()) - fitted)
    if skipped:
        notes.append(
            f"families with fewer than {cfg.min_family_models} models of known, distinct FLOPs "
            f"have no compute regression: {', '.join(skipped)}"
        )
    reference = _reference_line(
        scores["PC-1"], log_flops, models["family"], cfg.reference_family, notes
    )
    table = pd.DataFrame(
        {
            "model": models["model"].to_numpy(),
            "family": models["family"].to_numpy(),
            "flops": models["flops"].to_numpy(),
            "n_scores": models[benchmarks].notna().sum(axis=1),
        },
        index=models.index,
    )
    table = pd.concat([table, scores], axis=1)
    efficiency = pd.DataFrame()
    if reference is not None:
        eq = reference.log10_flops(scores["PC-1"])
        table["equivalent_flops"] = 10**eq
        # beyond a decade outside the reference models, the line (and PC-1's linearity) is a guess
        table["equivalent_flops_extrapolated"] = ~reference.within(eq, margin=1.0)
        efficiency = family_efficiency(
            scores["PC-1"],
            log_flops,
            models["family"],
            reference,
            min_models=cfg.min_family_models,
            alpha=cfg.alpha,
        )
    return CapabilityFit(
        benchmarks=benchmarks,
        pca=pca,
        models=table.reset_index(drop=True),
        families=families,
        efficiency=efficiency,
        reference=reference,
        settings=store.jsonable(asdict(cfg)),
        input_sha256=input_sha256,
        notes=notes,
    )


def _reference_line(
    pc1: pd.Series, log10_flops: pd.Series, family: pd.Series, name: str, notes: list[str]
) -> ReferenceLine | None:
    mine = (family == name).fillna(False)
    ols = GroupedOLS.fit(log10_flops[mine], pc1[mine].to_frame("PC-1"), family[mine], 2)
    if ols.groups.empty:
        msg = (
            f"reference family {name!r} has fewer than 2 models with known, distinct FLOPs in "
            "this fit; equivalent FLOPs are not available"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        notes.append(msg)
        return None
    if not ols.slope[0, 0] > 0:
        notes.append(f"reference family {name}: PC-1 does not increase with compute")
    return ReferenceLine(
        family=name,
        slope=float(ols.slope[0, 0]),
        intercept=float(ols.intercept[0, 0]),
        n_models=int(ols.n[0]),
        log10_flops_min=float(ols.x_min[0]),
        log10_flops_max=float(ols.x_max[0]),
        log10_flops_mean=float(ols.x_mean[0]),
        sxx=float(ols.sxx[0]),
        s2=float(ols.s2[0, 0]),
    )
