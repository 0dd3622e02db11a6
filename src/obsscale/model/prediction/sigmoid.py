"""Sigmoid regression from predictors to a downstream metric, fitted robustly.

``y = sigmoid(w·x + c)`` (default), ``y = (1 - b)·sigmoid(w·x + c) + b`` with a floor
``b`` in [0, floor_max] ("parametric", as in the reference) or ``y = b + (u - b)·sigmoid(..)``
with a ceiling u in [ceiling_min, 1] ("floor_ceiling"); the forms are classes of ``links``.
``ridge`` > 0 adds a ridge penalty ``ridge·n·|w|²`` on the standardized weights, which keeps
small training sets from fitting near-step sigmoids. The reference fits these with a
single start at w = 0.03 and lands in poor optima; here every fit starts from a linear fit on
the logit scale, from the reference's near-zero start, and from seeded random perturbations,
and keeps the best (above ``SEARCH_ROWS`` training rows, compared on a seeded sample of rows,
the best then refined on all). Least squares by default; Huber loss (scipy's ``least_squares``
``loss="huber"``, whose ``f_scale`` is the Huber delta) as an option. Predictors are
standardized internally for conditioning; coefficients are reported in the original units.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit

from obsscale.exceptions import PredictError
from obsscale.model.estimator import (
    BaseEstimator,
    RegressorMixin,
    check_is_fitted,
    validate_data,
)
from obsscale.model.params import RANDOM_STATE, Interval, Options, ValidatedParams
from obsscale.model.prediction.link_forms import LINKS, Link

# training rows above which the multi-start search runs on a seeded sample of this many rows
# and only its best solution is refined on all of them (an optimizer setting, like the bootstrap's
# Gauss-Newton tolerance: it changes no output below it, and above it only within the fit's
# tolerance)
SEARCH_ROWS = 100_000


def search_sample(n: int, seed: int | None) -> np.ndarray | None:
    """Sorted indices of a seeded sample of ``SEARCH_ROWS`` of ``n`` rows, or None (all rows)
    up to that many. Past ~10^5 rows what a search compares (which start leads to the best
    optimum, which candidate predicts best) no longer changes with n, while its cost grows."""
    if n <= SEARCH_ROWS:
        return None
    rng = np.random.default_rng(None if seed is None else [seed, n])
    return np.sort(rng.choice(n, SEARCH_ROWS, replace=False))


class SigmoidRegressor(ValidatedParams, RegressorMixin, BaseEstimator):
    """Sigmoid (optionally with a floor) of a linear function of the predictors."""

    # how the solver gets the Jacobian: in closed form, or by scipy's finite differences
    # (``FiniteDifferenceSigmoidRegressor``, the paper method's historical solver)
    jacobian_method: ClassVar[str] = "analytic"

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "form": [Options(frozenset(LINKS))],
        "loss": [Options(frozenset({"squared", "huber"}))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "floor_max": [Interval(Real, 0, 1, closed="left")],
        "ceiling_min": [Interval(Real, 0, 1, closed="neither")],
        "ridge": [Interval(Real, 0, None, closed="left")],
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
        ceiling_min: float = 0.5,
        ridge: float = 0.0,
        n_starts: int = 8,
        random_state: int | None = 0,
    ) -> None:
        self.form = form
        self.loss = loss
        self.huber_delta = huber_delta
        self.floor_max = floor_max
        self.ceiling_min = ceiling_min
        self.ridge = ridge
        self.n_starts = n_starts
        self.random_state = random_state

    @property
    def link_(self) -> Link:
        """The link form (a ``links.Link``) named by ``form``."""
        return LINKS[self.form](self)

    @property
    def n_params(self) -> int:
        """Free parameters for ``n_features_in_`` predictors (intercept, floor, ceiling)."""
        return self.n_features_in_ + 1 + self.link_.k

    def fit(self, X: np.ndarray, y: np.ndarray, init: np.ndarray | None = None) -> SigmoidRegressor:
        """Fit; ``init`` (internal, standardized parameters) adds one start, e.g. a previous fit."""
        self._validate_params()
        X, y = validate_data(self, X, y, y_numeric=True)
        n, p = X.shape
        extras = self.link_.extras
        need = p + 1 + len(extras)
        if n < need:  # a user's data, too thin for the link: one line, not a traceback
            raise PredictError(
                f"{n} training models for {need} parameters ({p} predictors + intercept"
                f"{''.join(' + ' + e for e in extras)}): need at least {need} (n_samples = {n})"
            )
        self.x_mean_ = X.mean(axis=0)
        self.x_scale_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        Z = (X - self.x_mean_) / self.x_scale_
        starts = self._starts(Z, y, init)
        rows = search_sample(n, self.random_state)
        Zs, ys = (Z, y) if rows is None else (Z[rows], y[rows])
        best = self._solve(Zs, ys, starts[0])
        for theta0 in starts[1:]:
            res = self._solve(Zs, ys, theta0)
            if res.cost < best.cost - 1e-15:
                best = res
        if rows is not None:  # the search's best, refined on every row
            best = self._solve(Z, y, best.x)
        self.theta_ = best.x
        self.cost_ = float(best.cost)
        self._unpack()
        return self

    def _starts(self, Z: np.ndarray, y: np.ndarray, init: np.ndarray | None) -> list[np.ndarray]:
        rng = np.random.default_rng(self.random_state)
        p, link = Z.shape[1], self.link_
        starts = []
        for e in link.start_extras(y):
            target = np.clip(link.unit(y, e), 0.01, 0.99)
            A = np.column_stack([np.ones(len(Z)), Z])
            coef = np.linalg.lstsq(A, logit(target), rcond=None)[0]
            starts.append(np.concatenate([coef, e]))
        starts.append(np.concatenate([[0.0], np.full(p, 0.03), link.neutral()]))
        base = starts[0]
        for _ in range(self.n_starts):
            jitter = rng.normal(scale=1.0, size=base.shape)
            if link.k:
                jitter[-link.k :] = 0.0
            starts.append(base + jitter * np.maximum(np.abs(base), 0.5))
        if init is not None:
            starts.insert(0, np.asarray(init, dtype=float))
        if link.k:
            lo, hi = link.bounds()
            for s in starts:
                s[-link.k :] = np.clip(s[-link.k :], lo, hi)
        return starts

    def _extras(self, theta: np.ndarray) -> list:
        """The extra parameters of one (1-D) or many (B x q) parameter vectors."""
        k = self.link_.k
        if theta.ndim == 1:
            return [theta[len(theta) - k + i] for i in range(k)]
        q = theta.shape[1]
        return [theta[:, q - k + i : q - k + i + 1] for i in range(k)]

    def _curve(self, theta: np.ndarray, Z: np.ndarray) -> np.ndarray:
        p = Z.shape[1]
        s = expit(theta[0] + Z @ theta[1 : p + 1])
        return self.link_.value(s, self._extras(theta))

    def _residuals(self, theta: np.ndarray, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        r = self._curve(theta, Z) - y
        if self.ridge > 0:  # ridge rows: sum r² + ridge·n·|w|²
            r = np.concatenate([r, np.sqrt(self.ridge * len(y)) * theta[1 : Z.shape[1] + 1]])
        return r

    def _jacobian(self, theta: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """d residuals / d theta in closed form: the curve's derivatives at the design [1, Z],
        then the ridge rows (constant). A fourth of the finite differences' cost."""
        J = self._curve_jacobian(theta, np.column_stack([np.ones(len(Z)), Z]))
        if self.ridge > 0:
            p = Z.shape[1]
            ridge = np.zeros((p, len(theta)))
            ridge[:, 1 : p + 1] = np.sqrt(self.ridge * len(Z)) * np.eye(p)
            J = np.vstack([J, ridge])
        return J

    def _curve_jacobian(self, theta: np.ndarray, A: np.ndarray) -> np.ndarray:
        """d curve / d theta at each row of the design A = [1, Z]: n x q."""
        s = expit(A @ theta[: A.shape[1]])
        e = self._extras(theta)
        parts = [
            self.link_.d_eta(s, e)[:, None] * A,
            *(d[:, None] for d in self.link_.d_extras(s, e)),
        ]
        return np.hstack(parts)

    def _solve(self, Z: np.ndarray, y: np.ndarray, theta0: np.ndarray):
        lower = np.full(theta0.shape, -np.inf)
        upper = np.full(theta0.shape, np.inf)
        link = self.link_
        if link.k:
            lower[-link.k :], upper[-link.k :] = link.bounds()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return least_squares(
                lambda t: self._residuals(t, Z, y),
                theta0,
                jac=(
                    (lambda t: self._jacobian(t, Z))
                    if self.jacobian_method == "analytic"
                    else self.jacobian_method
                ),
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
        extras = dict(zip(self.link_.extras, self._extras(self.theta_), strict=True))
        self.floor_ = float(extras.get("floor", 0.0))
        self.ceiling_ = float(extras.get("ceiling", 1.0))

    def bootstrap_thetas(
        self,
        X: np.ndarray,
        y: np.ndarray,
        counts: np.ndarray | Iterable[np.ndarray],
        max_iter: int = 50,
    ) -> np.ndarray:
        """Internal parameters refitted on B resamples at once (``counts``: B x n multiplicity
        of each training row, or an iterable of such blocks, refitted one after another), by
        batched Gauss-Newton from this fit's solution.

        Each resample's optimum lies near the full-data one, so a few damped Gauss-Newton steps
        (with step halving whenever a resample's loss would grow, and the floor projected onto
        its bounds) replace B separate multi-start fits. Huber loss enters as IRLS weights.
        """
        check_is_fitted(self, "theta_")
        A = np.column_stack(
            [np.ones(len(X)), (np.asarray(X, float) - self.x_mean_) / self.x_scale_]
        )
        K = (A[:, :, None] * A[:, None, :]).reshape(len(A), -1)  # n x k^2 outer products
        y = np.asarray(y, dtype=float)
        blocks = [counts] if isinstance(counts, np.ndarray) else counts
        return np.vstack([self._refit_block(A, K, y, c, max_iter) for c in blocks])

    def _refit_block(self, A, K, y, counts, max_iter) -> np.ndarray:
        """``bootstrap_thetas`` of one block of resamples (design A, its outer products K)."""
        counts = np.asarray(counts, dtype=float)  # once, not at every product with it
        theta = np.tile(self.theta_, (len(counts), 1))
        # the B x n terms in reused buffers: a new array that large is zeroed by the kernel on
        # first touch, which cost a quarter of the time. s, r: the sigmoid and residuals at
        # theta; s_new, r_new: at the trial; work: scratch
        s, r, s_new, r_new, *work = np.empty((6, *counts.shape))
        self._batch_parts(theta, A, y, s, r)
        loss = self._batch_loss(theta, r, counts, work[0])
        for _ in range(max_iter):
            step = self._gn_step(theta, (s, r), A, K, counts, work)
            scale = np.ones(len(theta))
            for _ in range(8):  # halve the step of resamples whose loss would increase
                trial = self._project(theta - scale[:, None] * step)
                self._batch_parts(trial, A, y, s_new, r_new)
                new = self._batch_loss(trial, r_new, counts, work[0])
                worse = new > loss * (1 + 1e-12) + 1e-18
                if not worse.any():
                    break
                scale[worse] /= 2
            accept = ~worse
            moved = np.abs(trial - theta)[accept].max(initial=0.0)
            theta = trial if accept.all() else np.where(accept[:, None], trial, theta)
            if moved < 1e-7:  # standardized units: far below the bootstrap spread
                break
            # the accepted trials' terms are the next step's: no second B x n sigmoid
            if accept.all():
                s, r, s_new, r_new = s_new, r_new, s, r
            else:
                np.copyto(s, s_new, where=accept[:, None])
                np.copyto(r, r_new, where=accept[:, None])
            loss = np.where(accept, new, loss)
        return theta

    def _project(self, theta: np.ndarray) -> np.ndarray:
        link = self.link_
        if link.k:
            theta = theta.copy()
            lo, hi = link.bounds()
            theta[:, -link.k :] = np.clip(theta[:, -link.k :], lo, hi)
        return theta

    def _batch_parts(self, theta, A, y, s, r) -> None:
        """The sigmoid and the residuals of B parameter vectors on n rows, into ``s`` and
        ``r`` (B x n each). Where all B linear predictors are equal (the common start), the
        sigmoid is evaluated on one row: it is most of the cost."""
        np.matmul(theta[:, : A.shape[1]], A.T, out=s)
        if len(s) > 1 and (theta == theta[0]).all() and (s == s[0]).all():
            np.copyto(s, expit(s[0]))
        else:
            expit(s, out=s)
        np.subtract(self.link_.value(s, self._extras(theta)), y, out=r)

    def _weights(self, r: np.ndarray, counts: np.ndarray) -> np.ndarray:
        if self.loss == "huber":
            with np.errstate(divide="ignore"):
                return counts * np.minimum(1.0, self.huber_delta / np.abs(r))
        return counts

    def _batch_loss(self, theta, r, counts, work) -> np.ndarray:
        if self.loss == "huber":
            d = self.huber_delta
            rho = np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d))
            loss = (counts * rho).sum(axis=1)
        else:  # 0.5 * (counts * r**2).sum(axis=1), in the scratch buffer
            loss = 0.5 * np.multiply(counts, np.multiply(r, r, out=work), out=work).sum(axis=1)
        if self.ridge > 0:
            w = theta[:, 1 : theta.shape[1] - self.link_.k]
            loss = loss + 0.5 * self.ridge * counts.sum(axis=1) * (w**2).sum(axis=1)
        return loss

    def _gn_step(self, theta, terms, A, K, counts, work) -> np.ndarray:
        """Batched (J^T W J + ridge) \\ J^T W r, assembled by matrix products over rows (the
        B x n products in the two ``work`` buffers)."""
        (s, r), k = terms, A.shape[1]
        e = self._extras(theta)
        w = self._weights(r, counts)
        j_eta = self.link_.d_eta(s, e, out=work[0])
        B, q = len(theta), theta.shape[1]
        H = np.zeros((B, q, q))
        g = np.zeros((B, q))
        wj2 = np.multiply(w, np.multiply(j_eta, j_eta, out=work[1]), out=work[1])
        H[:, :k, :k] = (wj2 @ K).reshape(B, k, k)
        wj = np.multiply(w, j_eta, out=work[1])
        j_e = self.link_.d_extras(s, e)
        for i, ji in enumerate(j_e):
            c = k + i
            H[:, :k, c] = H[:, c, :k] = (wj * ji) @ A
            H[:, c, c] = (w * ji**2).sum(axis=1)
            g[:, c] = (w * ji * r).sum(axis=1)
            for j, jj in enumerate(j_e[:i]):
                H[:, c, k + j] = H[:, k + j, c] = (w * ji * jj).sum(axis=1)
        g[:, :k] = np.multiply(wj, r, out=wj) @ A
        if self.ridge > 0:
            n_w = counts.sum(axis=1)[:, None]
            g[:, 1:k] += self.ridge * n_w * theta[:, 1:k]
            H[:, 1:k, 1:k] += self.ridge * n_w[:, :, None] * np.eye(k - 1)
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
        eta = self.linear_predictor_thetas(thetas, X)
        return self.link_.value(expit(eta, out=eta), self._extras(thetas))

    def link_thetas(self, thetas: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """The link of many parameter vectors (B x q) at their linear predictors (B x m)."""
        return self.link_.value(expit(eta), self._extras(thetas))

    def jacobian(self, X: np.ndarray) -> np.ndarray:
        """d prediction / d internal parameters at each row of X: m x q."""
        check_is_fitted(self, "theta_")
        A = np.column_stack(
            [np.ones(len(X)), (np.asarray(X, float) - self.x_mean_) / self.x_scale_]
        )
        return self._curve_jacobian(self.theta_, A)

    def linear_predictor(self, X: np.ndarray) -> np.ndarray:
        """The linear predictor z = w·x + c (the logit before the floor)."""
        check_is_fitted(self, "theta_")
        X = np.asarray(validate_data(self, X, reset=False))
        return X @ self.coef_ + self.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.link(self.linear_predictor(X))

    def link(self, z: np.ndarray) -> np.ndarray:
        """Map the linear predictor to the metric (sigmoid, with the floor/ceiling if any)."""
        check_is_fitted(self, "theta_")
        return self.link_.value(expit(z), self._extras(self.theta_))


class FiniteDifferenceSigmoidRegressor(SigmoidRegressor):
    """The same regression, solved with scipy's 2-point finite-difference Jacobian: the paper
    method's solver, kept so that its outputs stay byte for byte those it always gave."""

    jacobian_method: ClassVar[str] = "2-point"
