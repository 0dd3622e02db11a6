"""Sigmoid regression from predictors to a downstream metric, fitted robustly.

``y = sigmoid(w·x + c)`` (default) or ``y = (1 - b)·sigmoid(w·x + c) + b`` with a floor
``b`` in [0, floor_max] ("parametric", as in the reference). The reference fits these with a
single start at w = 0.03 and lands in poor optima; here every fit starts from a linear fit on
the logit scale, from the reference's near-zero start, and from seeded random perturbations,
and keeps the best. Least squares by default; Huber loss (scipy's ``least_squares``
``loss="huber"``, whose ``f_scale`` is the Huber delta) as an option. Predictors are
standardized internally for conditioning; coefficients are reported in the original units.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data


class SigmoidRegressor(RegressorMixin, BaseEstimator):
    """Sigmoid (optionally with a floor) of a linear function of the predictors."""

    _parameter_constraints: dict = {  # noqa: RUF012 - scikit-learn's declaration table
        "form": [StrOptions({"sigmoid", "parametric"})],
        "loss": [StrOptions({"squared", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "floor_max": [Interval(Real, 0, 1, closed="left")],
        "n_starts": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        form: str = "sigmoid",
        loss: str = "squared",
        huber_delta: float = 0.1,
        floor_max: float = 0.2,
        n_starts: int = 8,
        random_state: int | None = 0,
    ) -> None:
        self.form = form
        self.loss = loss
        self.huber_delta = huber_delta
        self.floor_max = floor_max
        self.n_starts = n_starts
        self.random_state = random_state

    @property
    def n_params(self) -> int:
        """Free parameters for ``n_features_in_`` predictors (intercept and floor included)."""
        return self.n_features_in_ + 1 + (self.form == "parametric")

    def fit(self, X: np.ndarray, y: np.ndarray, init: np.ndarray | None = None) -> SigmoidRegressor:
        """Fit; ``init`` (internal, standardized parameters) adds one start, e.g. a previous fit."""
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True)
        n, p = X.shape
        need = p + 1 + (self.form == "parametric")
        if n < need:
            raise ValueError(
                f"{n} training models for {need} parameters ({p} predictors + intercept"
                f"{' + floor' if self.form == 'parametric' else ''}): need at least {need}"
            )
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = (X - self.x_mean_) / self.x_scale_
        best = None
        for theta0 in self._starts(Z, y, init):
            res = self._solve(Z, y, theta0)
            if best is None or res.cost < best.cost - 1e-15:
                best = res
        self.theta_ = best.x
        self.cost_ = float(best.cost)
        self._unpack()
        return self

    def _starts(self, Z: np.ndarray, y: np.ndarray, init: np.ndarray | None) -> list[np.ndarray]:
        rng = np.random.default_rng(self.random_state)
        p = Z.shape[1]
        floors = [0.0, self.floor_max / 2] if self.form == "parametric" else [0.0]
        starts = []
        for b in floors:
            target = np.clip((y - b) / (1 - b), 0.01, 0.99)
            A = np.column_stack([np.ones(len(Z)), Z])
            coef = np.linalg.lstsq(A, logit(target), rcond=None)[0]
            extra = [b] if self.form == "parametric" else []
            starts.append(np.concatenate([coef, extra]))
        starts.append(
            np.concatenate([[0.0], np.full(p, 0.03), [0.0] * (self.form == "parametric")])
        )
        base = starts[0]
        for _ in range(self.n_starts):
            jitter = rng.normal(scale=1.0, size=base.shape)
            if self.form == "parametric":
                jitter[-1] = 0.0
            starts.append(base + jitter * np.maximum(np.abs(base), 0.5))
        if init is not None:
            starts.insert(0, np.asarray(init, dtype=float))
        if self.form == "parametric":
            for s in starts:
                s[-1] = np.clip(s[-1], 0.0, self.floor_max)
        return starts

    def _curve(self, theta: np.ndarray, Z: np.ndarray) -> np.ndarray:
        p = Z.shape[1]
        s = expit(theta[0] + Z @ theta[1 : p + 1])
        if self.form == "parametric":
            b = theta[-1]
            return (1 - b) * s + b
        return s

    def _solve(self, Z: np.ndarray, y: np.ndarray, theta0: np.ndarray):
        lower = np.full(theta0.shape, -np.inf)
        upper = np.full(theta0.shape, np.inf)
        if self.form == "parametric":
            lower[-1], upper[-1] = 0.0, self.floor_max
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return least_squares(
                lambda t: self._curve(t, Z) - y,
                theta0,
                bounds=(lower, upper),
                loss="linear" if self.loss == "squared" else "huber",
                f_scale=self.huber_delta if self.loss == "huber" else 1.0,
                method="trf",
                x_scale="jac",
                max_nfev=2000,
            )

    def _unpack(self) -> None:
        p = self.n_features_in_
        w = self.theta_[1 : p + 1] / self.x_scale_
        self.coef_ = w
        self.intercept_ = float(self.theta_[0] - self.x_mean_ @ w)
        self.floor_ = float(self.theta_[-1]) if self.form == "parametric" else 0.0

    def refit_theta(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Internal parameters refitted on (X, y), started from this fit's solution.

        The bootstrap's fast path: a resample's optimum lies near the full-data one, so one
        warm start replaces the multi-start search.
        """
        check_is_fitted(self, "theta_")
        Z = (np.asarray(X, dtype=float) - self.x_mean_) / self.x_scale_
        return self._solve(Z, np.asarray(y, dtype=float), self.theta_.copy()).x

    def predict_theta(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predictions of internal parameters ``theta`` (from ``refit_theta``)."""
        Z = (np.asarray(X, dtype=float) - self.x_mean_) / self.x_scale_
        return self._curve(theta, Z)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The linear predictor z = w·x + c (the logit before the floor)."""
        check_is_fitted(self, "theta_")
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.link(self.decision_function(X))

    def link(self, z: np.ndarray) -> np.ndarray:
        """Map the linear predictor to the metric (sigmoid, with the floor if any)."""
        return (1 - self.floor_) * expit(z) + self.floor_
