"""A low-rank logit completer with per-model and per-benchmark biases (``LogitALS``).

Scores (fractions, NaN = unseen) are clipped to [eps, 1 - eps] and taken to the logit scale,
where a benchmark's ceiling and floor stop mattering and a model's advantage is additive:

    logit(score[m, b]) ~ mu + a[m] + c[b] + U[m] . V[b]

a model bias ``a``, a benchmark bias ``c`` and ``rank`` shared factors. Alternating least
squares fits it: with the benchmarks' (c, V) held fixed, every model's (a, U) is a small
ridge regression on its own observed cells (solved for all models at once), then the same
for the benchmarks. The ridge (``ridge`` on the factors, ``bias_ridge`` on the biases) is what
keeps a model seen on four benchmarks from fitting them exactly: on a matrix this sparse an
unregularised factorisation (or PCA imputation iterated to convergence) over-fits. Each cell's
squared logit error is weighted by (p (1 - p))^weight_power (p its observed score): a point
near 0 or 1 is a long way on the logit scale and little on the fraction scale the error is
measured on (with power 1, the hub matrix's back-test error is ~5% lower than unweighted).

The fitted parts stay available (``model_bias_``, ``benchmark_bias_``, ``model_factors_``,
``benchmark_factors_``): the benchmark loadings serve the choice of which benchmarks to run next.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from obsscale.exceptions import CapabilityDataError, ConvergenceWarning
from obsscale.model.capabilities.imputation import AllowsMissingScores
from obsscale.model.estimator import BaseEstimator, check_is_fitted
from obsscale.model.params import RANDOM_STATE, Interval, ValidatedParams

EPS = 0.01  # as the hub matrix's logit completion: scores clipped to [EPS, 1 - EPS]


def to_logit(X: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Fractions to the logit scale, clipped to [eps, 1 - eps] first (NaN stays NaN)."""
    p = np.clip(X, eps, 1 - eps)
    return np.asarray(np.log(p / (1 - p)))


def cell_weights(arr: np.ndarray, eps: float, power: float) -> np.ndarray:
    """Each observed cell's weight (0 where unseen): (p (1 - p))^power, p clipped to
    [eps, 1 - eps], normalised to mean 1."""
    observed = ~np.isnan(arr)
    p = np.clip(np.where(observed, arr, 0.5), eps, 1 - eps)
    w = np.where(observed, (p * (1 - p)) ** power, 0.0)
    return w / w[observed].mean()


class LogitALS(AllowsMissingScores, ValidatedParams, BaseEstimator):
    """Complete a models x benchmarks matrix of fractions by a biased low-rank logit model.

    ``rank``: shared factors (0: biases only, an additive model on the logit scale).
    ``ridge``: penalty on the factors; ``bias_ridge``: on the biases (shrinks a model seen on
    few benchmarks toward the average model); ``weight_power``: cell weights (p (1 - p))^power.
    Seeded start (``random_state``); the fit stops when the penalised loss improves by less
    than ``tol`` (relative) or after ``max_iter``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "rank": [Interval(Integral, 0)],
        "ridge": [Interval(Real, 0, None, closed="neither")],
        "bias_ridge": [Interval(Real, 0, None, closed="left")],
        "eps": [Interval(Real, 0, 0.5, closed="neither")],
        "max_iter": [Interval(Integral, 1)],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "weight_power": [Interval(Real, 0, None, closed="left")],
        "random_state": [RANDOM_STATE],
    }

    def __init__(
        self,
        *,
        rank: int = 2,
        ridge: float = 1.0,
        bias_ridge: float = 0.1,
        eps: float = EPS,
        max_iter: int = 500,
        tol: float = 1e-6,
        weight_power: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.rank = rank
        self.ridge = ridge
        self.bias_ridge = bias_ridge
        self.eps = eps
        self.max_iter = max_iter
        self.tol = tol
        self.weight_power = weight_power
        self.random_state = random_state

    def fit(self, X: Any, y: None = None) -> LogitALS:
        """``X``: fractions in [0, 1] (NaN = unseen), a DataFrame (models x benchmarks) or array."""
        self._validate_params()
        arr = _check_fractions(X)
        self.index_ = X.index if isinstance(X, pd.DataFrame) else None
        self.columns_ = X.columns if isinstance(X, pd.DataFrame) else None
        Z = to_logit(arr, self.eps)
        observed = ~np.isnan(Z)
        self.mean_ = float(Z[observed].mean())
        a, c = np.zeros(len(Z)), np.zeros(Z.shape[1])
        rng = np.random.default_rng(self.random_state)
        U = rng.normal(0.0, 0.1, (len(Z), self.rank))
        V = rng.normal(0.0, 0.1, (Z.shape[1], self.rank))
        Zc = np.where(observed, Z - self.mean_, 0.0)
        w = cell_weights(arr, self.eps, self.weight_power)
        self.n_iter_, loss = self._alternate(Zc, w, a, c, U, V)
        self.loss_ = loss
        self.model_bias_, self.benchmark_bias_ = a, c
        self.model_factors_, self.benchmark_factors_ = U, V
        return self

    def _alternate(
        self,
        Zc: np.ndarray,
        w: np.ndarray,
        a: np.ndarray,
        c: np.ndarray,
        U: np.ndarray,
        V: np.ndarray,
    ) -> tuple[int, float]:
        """Alternate the two ridge steps in place until the loss settles."""
        last = np.inf
        for it in range(1, self.max_iter + 1):
            a[:], U[:] = _ridge_step(Zc - c[None, :], w, V, self.ridge, self.bias_ridge)
            c[:], V[:] = _ridge_step((Zc - a[:, None]).T, w.T, U, self.ridge, self.bias_ridge)
            loss = self._loss(Zc, w, a, c, U, V)
            if last - loss <= self.tol * max(loss, 1e-12):
                return it, loss
            last = loss
        import warnings

        msg = f"LogitALS stopped at max_iter={self.max_iter}; raise max_iter or tol"
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        return self.max_iter, last

    def _loss(
        self,
        Zc: np.ndarray,
        w: np.ndarray,
        a: np.ndarray,
        c: np.ndarray,
        U: np.ndarray,
        V: np.ndarray,
    ) -> float:
        e = w * (Zc - a[:, None] - c[None, :] - U @ V.T)
        penalty = self.ridge * (np.sum(U**2) + np.sum(V**2))
        return float(np.sum(e**2) + penalty + self.bias_ridge * (a @ a + c @ c))

    def decision_function(self) -> np.ndarray:
        """Every cell of the training matrix on the logit scale."""
        check_is_fitted(self, "benchmark_factors_")
        bias = self.mean_ + self.model_bias_[:, None] + self.benchmark_bias_[None, :]
        return np.asarray(bias + self.model_factors_ @ self.benchmark_factors_.T)

    def predict(self) -> np.ndarray:
        """Every cell of the training matrix (fractions), observed or not."""
        return np.asarray(expit(self.decision_function()))

    def predict_frame(self) -> pd.DataFrame:
        """``predict`` labelled as the training DataFrame was."""
        return pd.DataFrame(self.predict(), index=self.index_, columns=self.columns_)

    def fold_in(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Every benchmark's score (fractions) for new models, from their observed scores on
        the fitted benchmarks (same columns, same order), benchmark parameters held fixed."""
        check_is_fitted(self, "benchmark_factors_")
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != len(self.benchmark_bias_):
            raise CapabilityDataError(
                f"fold_in: expected {len(self.benchmark_bias_)} benchmarks, got shape {arr.shape}"
            )
        Z = to_logit(arr, self.eps)
        w = cell_weights(arr, self.eps, self.weight_power) if (~np.isnan(arr)).any() else 0 * Z
        Zc = np.where(w > 0, Z - self.mean_ - self.benchmark_bias_[None, :], 0.0)
        a, U = _ridge_step(Zc, w, self.benchmark_factors_, self.ridge, self.bias_ridge)
        out = (
            self.mean_ + a[:, None] + self.benchmark_bias_[None, :] + U @ self.benchmark_factors_.T
        )
        return np.asarray(expit(out))

    def __repr__(self) -> str:
        if not hasattr(self, "benchmark_factors_"):
            return f"LogitALS(rank={self.rank}, ridge={self.ridge:g}, unfitted)"
        n, p = len(self.model_bias_), len(self.benchmark_bias_)
        return (
            f"LogitALS(rank={self.rank}, ridge={self.ridge:g}: fitted on {n} models x {p} "
            f"benchmarks, {self.n_iter_} iterations)"
        )


def _ridge_step(
    R: np.ndarray, w: np.ndarray, F: np.ndarray, ridge: float, bias_ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """For every row i of the residual matrix ``R`` (zero where ``w`` is 0): the bias and
    factors (b_i, u_i) minimising sum_j w_ij (R_ij - b_i - u_i . F_j)^2 + bias_ridge b_i^2 +
    ridge |u_i|^2, all rows solved at once through their (rank + 1)^2 normal equations."""
    X = np.hstack([np.ones((len(F), 1)), F])  # columns x (rank + 1)
    k = X.shape[1]
    outer = (X[:, :, None] * X[:, None, :]).reshape(len(X), k * k)
    G = (w @ outer).reshape(-1, k, k)
    G += np.diag(np.r_[bias_ridge, np.full(k - 1, ridge)]) + 1e-9 * np.eye(k)
    rhs = (w * R) @ X
    sol = np.linalg.solve(G, rhs[:, :, None])[:, :, 0]
    return sol[:, 0], sol[:, 1:]


def _check_fractions(X: Any) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as e:
        raise CapabilityDataError(f"scores must be numeric: {e}") from e
    if arr.ndim != 2 or arr.size == 0:
        raise CapabilityDataError(f"scores must be a non-empty 2-D table, got shape {arr.shape}")
    observed = ~np.isnan(arr)
    if not observed.any():
        raise CapabilityDataError("the score matrix has no observed cell")
    if np.isinf(arr).any() or (arr[observed] < 0).any() or (arr[observed] > 1).any():
        raise CapabilityDataError("scores must be fractions in [0, 1]")
    return arr
