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
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from obsscale.model.params import RANDOM_STATE, Interval, Options, ValidatedParams


class SigmoidRegressor(ValidatedParams, RegressorMixin, BaseEstimator):
    """Sigmoid (optionally with a floor) of a linear function of the predictors."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "form": [Options(frozenset({"sigmoid", "parametric"}))],
        "loss": [Options(frozenset({"squared", "huber"}))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "floor_max": [Interval(Real, 0, 1, closed="left")],
        "n_starts": [Interval(Integral, 0)],
        "random_state": [RANDOM_STATE, None],
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
                f"{' + floor' if self.form == 'parametric' else ''}): need at least {need} "
                f"(n_samples = {n})"
            )
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = (X - self.x_mean_) / self.x_scale_
        starts = self._starts(Z, y, init)
        best = self._solve(Z, y, starts[0])
        for theta0 in starts[1:]:
            res = self._solve(Z, y, theta0)
            if res.cost < best.cost - 1e-15:
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

    def bootstrap_thetas(
        self, X: np.ndarray, y: np.ndarray, counts: np.ndarray, max_iter: int = 50
    ) -> np.ndarray:
        """Internal parameters refitted on B resamples at once (``counts``: B x n multiplicity
        of each training row), by batched Gauss-Newton from this fit's solution.

        Each resample's optimum lies near the full-data one, so a few damped Gauss-Newton steps
        (with step halving whenever a resample's loss would grow, and the floor projected onto
        its bounds) replace B separate multi-start fits. Huber loss enters as IRLS weights.
        """
        check_is_fitted(self, "theta_")
        A = np.column_stack(
            [np.ones(len(X)), (np.asarray(X, float) - self.x_mean_) / self.x_scale_]
        )
        y = np.asarray(y, dtype=float)
        K = (A[:, :, None] * A[:, None, :]).reshape(len(A), -1)  # n x k^2 outer products
        theta = np.tile(self.theta_, (len(counts), 1))
        loss = self._batch_loss(theta, A, y, counts)
        for _ in range(max_iter):
            step = self._gn_step(theta, A, K, y, counts)
            scale = np.ones(len(theta))
            for _ in range(8):  # halve the step of resamples whose loss would increase
                trial = self._project(theta - scale[:, None] * step)
                new = self._batch_loss(trial, A, y, counts)
                worse = new > loss * (1 + 1e-12) + 1e-18
                if not worse.any():
                    break
                scale[worse] /= 2
            accept = ~worse
            moved = np.abs(trial - theta)[accept].max(initial=0.0)
            theta = np.where(accept[:, None], trial, theta)
            loss = np.where(accept, new, loss)
            if moved < 1e-7:  # standardized units: far below the bootstrap spread
                break
        return theta

    def _project(self, theta: np.ndarray) -> np.ndarray:
        if self.form == "parametric":
            theta = theta.copy()
            theta[:, -1] = np.clip(theta[:, -1], 0.0, self.floor_max)
        return theta

    def _batch_parts(self, theta: np.ndarray, A: np.ndarray, y: np.ndarray):
        k = A.shape[1]
        s = expit(theta[:, :k] @ A.T)  # B x n
        b = theta[:, -1:] if self.form == "parametric" else np.zeros((len(theta), 1))
        return s, b, (1 - b) * s + b - y

    def _weights(self, r: np.ndarray, counts: np.ndarray) -> np.ndarray:
        if self.loss == "huber":
            with np.errstate(divide="ignore"):
                return counts * np.minimum(1.0, self.huber_delta / np.abs(r))
        return counts.astype(float)

    def _batch_loss(self, theta, A, y, counts) -> np.ndarray:
        _, _, r = self._batch_parts(theta, A, y)
        if self.loss == "huber":
            d = self.huber_delta
            rho = np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d))
            return (counts * rho).sum(axis=1)
        return 0.5 * (counts * r**2).sum(axis=1)

    def _gn_step(self, theta, A, K, y, counts) -> np.ndarray:
        """Batched (J^T W J + ridge) \\ J^T W r, assembled by matrix products over rows."""
        k = A.shape[1]
        s, b, r = self._batch_parts(theta, A, y)
        w = self._weights(r, counts)
        j_eta = (1 - b) * s * (1 - s)
        B, q = len(theta), theta.shape[1]
        H = np.zeros((B, q, q))
        g = np.zeros((B, q))
        H[:, :k, :k] = ((w * j_eta**2) @ K).reshape(B, k, k)
        g[:, :k] = (w * j_eta * r) @ A
        if self.form == "parametric":
            j_b = 1 - s
            H[:, :k, -1] = H[:, -1, :k] = (w * j_eta * j_b) @ A
            H[:, -1, -1] = (w * j_b**2).sum(axis=1)
            g[:, -1] = (w * j_b * r).sum(axis=1)
        ridge = 1e-10 * np.trace(H, axis1=1, axis2=2)[:, None, None] * np.eye(q) + 1e-12 * np.eye(q)
        return np.linalg.solve(H + ridge, g[:, :, None])[:, :, 0]

    def linear_predictor_thetas(self, thetas: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Linear predictors of many internal parameter vectors at once: B x m."""
        A = np.column_stack(
            [np.ones(len(X)), (np.asarray(X, float) - self.x_mean_) / self.x_scale_]
        )
        return thetas[:, : A.shape[1]] @ A.T

    def predict_thetas(self, thetas: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predictions of many internal parameter vectors at once: B x m."""
        b = thetas[:, -1:] if self.form == "parametric" else 0.0
        return (1 - b) * expit(self.linear_predictor_thetas(thetas, X)) + b

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """The linear predictor z = w·x + c (the logit before the floor)."""
        check_is_fitted(self, "theta_")
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.link(self.linear_predictor(X))

    def link(self, z: np.ndarray) -> np.ndarray:
        """Map the linear predictor to the metric (sigmoid, with the floor if any)."""
        return (1 - self.floor_) * expit(z) + self.floor_
