"""Missing benchmark scores, filled by iterated low-rank PCA reconstruction.

The reference fills a model's missing benchmarks from the others (``pca_impute``): standardize,
mean-fill, then alternate {rank-r PCA, replace the missing entries by the reconstruction}.
``PCAImputer`` does that as a scikit-learn transformer fitted on training rows only, so that a
held-out model never shapes the basis it is imputed with.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from obsscale.exceptions import CapabilityDataError, ConvergenceWarning
from obsscale.model.estimator import BaseEstimator, TransformerMixin, check_is_fitted
from obsscale.model.params import Interval, ValidatedParams

# ----------------------------------------------------------------------------- input checks


def as_matrix(
    X: Any, names: list[str] | None = None
) -> tuple[np.ndarray, list[str], Sequence[Any]]:
    """Float matrix plus column and row labels (from a DataFrame when given one; the row
    labels as they are, turned into text only for a message)."""
    rows: Sequence[Any]
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        rows = X.index
        try:
            arr = X.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise CapabilityDataError(f"scores must be numeric: {e}") from e
    else:
        # scikit-learn's checks: dense, real, 2-D, non-empty (with its own clear messages);
        # imported here: the CLI passes DataFrames and need not import scikit-learn
        from sklearn.utils.validation import check_array

        arr = check_array(X, dtype=float, ensure_all_finite="allow-nan", copy=True)
        cols = names or [f"x{j}" for j in range(arr.shape[1])]
        rows = range(arr.shape[0])
    if arr.ndim != 2:
        raise CapabilityDataError(f"scores must be a 2-D table, got shape {arr.shape}")
    if np.isinf(arr).any():
        raise CapabilityDataError("scores contain infinite values")
    return arr, cols, rows


def check_score_matrix(
    X: np.ndarray, cols: list[str], rows: Sequence[Any], n_components: int
) -> None:
    """Refuse, with a message naming the culprits, what would make the fit meaningless."""
    n, p = X.shape
    if n < max(3, n_components + 1):
        raise CapabilityDataError(
            f"too few models: {n} (need at least {max(3, n_components + 1)} for "
            f"{n_components} components; n_samples = {n})"
        )
    if p < n_components:
        raise CapabilityDataError(
            f"{n_components} components requested but only {p} benchmarks: {cols}"
        )
    empty_cols = [c for c, e in zip(cols, np.isnan(X).all(axis=0), strict=True) if e]
    if empty_cols:
        raise CapabilityDataError(f"benchmarks with no scores at all: {empty_cols}")
    empty_rows = [str(rows[i]) for i in np.flatnonzero(np.isnan(X).all(axis=1)).tolist()]
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


def _row_coefficients(Zc: np.ndarray, observed: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (n x r) of each row's observed entries on the axes W (r x p);
    ``Zc`` is centred and zero where unobserved. Solved for all rows at once through the
    r x r normal equations (closed form for r = 1), minimum-norm where a row has fewer
    observed entries than axes, as ``lstsq`` would give."""
    r = len(W)
    b = Zc @ W.T  # n x r
    if r == 1:
        g = observed @ (W[0] ** 2)
        return np.divide(b, g[:, None], out=np.zeros_like(b), where=g[:, None] > 0)
    outer = (W.T[:, :, None] * W.T[:, None, :]).reshape(W.shape[1], r * r)
    G = (observed @ outer).reshape(-1, r, r)
    short = observed.sum(axis=1) < r
    coef = np.empty_like(b)
    try:
        if short.any():
            coef[~short] = np.linalg.solve(G[~short], b[~short, :, None])[:, :, 0]
        else:  # the same solves, without copying the stacks out and the result back in
            coef = np.linalg.solve(G, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # an observed block of the axes is singular
        short[:] = True
    if short.any():  # pinv of no matrices costs as much as the solve above
        coef[short] = (np.linalg.pinv(G[short]) @ b[short, :, None])[:, :, 0]
    return coef


def _fill_missing(
    Z: np.ndarray,
    observed: np.ndarray,
    missing: tuple[np.ndarray, ...],
    mu: np.ndarray,
    W: np.ndarray,
) -> np.ndarray:
    """Values at the entries ``missing`` (rows, columns) of Z: the rank-r reconstruction that
    best fits each row's observed entries (least squares). This is the fixed point of the
    reference's step "replace missing by reconstruction" when the PCA basis is held fixed."""
    coef = _row_coefficients(np.where(observed, Z - mu, 0.0), observed, W)
    rows, cols = missing
    if len(W) > 2:
        return mu[cols] + np.einsum("kr,rk->k", coef[rows], W[:, cols])
    # one or two axes: the same products and sum as einsum's, in a fifth of its time (it pays
    # per element; ``take`` gathers in half the time of indexing), for an imputer that runs
    # this hundreds of times per fit
    filled = coef[:, 0].take(rows) * W[0].take(cols)
    if len(W) == 2:
        filled += coef[:, 1].take(rows) * W[1].take(cols)
    return mu[cols] + filled


class AllowsMissingScores:
    """Estimators of the score matrix: missing scores are what they are for, so scikit-learn's
    checks must send them NaNs rather than refuse them."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags


class PCAImputer(AllowsMissingScores, ValidatedParams, TransformerMixin, BaseEstimator):
    """Impute missing scores by iterated low-rank PCA reconstruction.

    Standardize each benchmark (observed entries, population std), fill missing entries with
    the mean, then repeat {fit a rank-``n_components`` PCA, replace the missing entries by
    the reconstruction that best fits each model's observed scores} until the imputed entries
    move by at most ``tol`` in root mean square (standardized units) or ``max_iter`` is
    reached; un-standardize and clip to ``clip``. New rows are imputed with the fitted basis.
    Observed entries are never changed (except by clipping).

    The fixed point is the reference's (replace the missing entries by their reconstruction),
    reached in ~10 iterations whatever the number of models: the reference's step moved
    only part of the way to it (the iteration count grew with the table, 29 at 1,000 models
    and 183 at 1,000,000, as did the largest single change it was tested on).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 1)],
        "max_iter": [Interval(Integral, 1)],
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
        arr, cols, rows = as_matrix(X)
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
        observed = ~mask
        missing = np.nonzero(mask)
        Z = np.where(mask, 0.0, (arr - self.mean_) / self.scale_)
        # the missing entries of Z through a flat view in its memory order (np.where keeps
        # the input's, often Fortran from pandas), listed as ``missing`` lists them: a fifth
        # of the time of indexing Z with (rows, columns), at every iteration
        order: Literal["C", "F"] = "F" if Z.flags.f_contiguous else "C"
        Z_flat = Z.reshape(-1, order=order)
        flat = np.ravel_multi_index(missing, Z.shape, order=order)
        mu, W = _top_components(Z, self.n_components)
        for it in range(1, self.max_iter + 1):
            filled = _fill_missing(Z, observed, missing, mu, W)
            change = filled - Z_flat.take(flat)
            delta = float(np.sqrt(np.mean(change**2))) if change.size else 0.0
            Z_flat[flat] = filled
            mu, W = _top_components(Z, self.n_components)
            if delta <= self.tol:
                return mu, W, it
        warnings.warn(
            f"PCA imputation did not converge in {self.max_iter} iterations (last RMS change "
            f"{delta:.2g} > tol {self.tol:g}); raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
        return mu, W, self.max_iter

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "components_")
        arr, cols, _ = as_matrix(X)
        if arr.shape[1] != self.n_features_in_:
            raise CapabilityDataError(
                f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (benchmarks of the fit)"
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
        missing = np.nonzero(mask)
        Z[missing] = _fill_missing(Z, ~mask, missing, self.center_, self.components_)
        out = Z * self.scale_ + self.mean_
        out[~mask] = arr[~mask]
        return np.clip(out, *self.clip) if self.clip is not None else out
