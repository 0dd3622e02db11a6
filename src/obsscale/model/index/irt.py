"""The stitched capability index: the item-response model of Epoch AI's Capabilities Index.

Each model m has a capability C_m, each benchmark b a difficulty D_b and a slope alpha_b, and
a score (fraction in [0, 1]) is modelled as ``sigmoid(alpha_b * (C_m - D_b))``. Benchmarks that
share no model are "stitched" through the models they do share: the matrix may be mostly
unobserved. The fit minimises the squared error on the fraction scale plus a weak ridge on
every parameter (C, D, log alpha: it keeps models with all-perfect or all-zero scores finite),
by Levenberg-Marquardt on the whole parameter vector (its normal matrix is cheap: each cell
touches one model and one benchmark). The solution is deterministic (no random start).

The model is unchanged by ``C -> s C + t, D -> s D + t, alpha -> alpha / s``: the fit states its
scale by an *anchor* benchmark whose difficulty is 0 and slope 1. C is then in logits of the
anchor: C = 0 is a model expected to score 50% on it, C = 1 one with odds e times higher.

Intervals (Laplace): the Gauss-Newton curvature of the penalised loss times the residual
variance, carried to the anchored scale by the delta method.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from obsscale.exceptions import CapabilityDataError, ConvergenceWarning
from obsscale.model.params import Interval, ValidatedParams

DEFAULT_ANCHOR = "epoch_hub:GPQA Diamond"


class CapabilityIndex(ValidatedParams):
    """Fit C per model and (D, alpha) per benchmark to a models x benchmarks score matrix.

    ``anchor``: the benchmark whose difficulty is 0 and slope 1 (default: GPQA Diamond when
    present, else the most observed benchmark). ``l2``: ridge weight on every raw parameter.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "anchor": [str, None],
        "l2": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1)],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        anchor: str | None = None,
        l2: float = 0.01,
        max_iter: int = 200,
        tol: float = 1e-10,
    ) -> None:
        self.anchor = anchor
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: pd.DataFrame, y: None = None) -> CapabilityIndex:
        """``X``: fractions (NaN = unseen), models as index, benchmarks as columns."""
        self._validate_params()
        arr = _check_matrix(X)
        self.anchor_ = _anchor(X, self.anchor)
        raw, self.n_iter_, sse, hess = _levenberg_marquardt(arr, self.l2, self.max_iter, self.tol)
        if self.n_iter_ >= self.max_iter:
            import warnings

            msg = f"CapabilityIndex stopped at max_iter={self.max_iter}; raise max_iter"
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
        n_obs = int((~np.isnan(arr)).sum())
        self.sigma_ = float(np.sqrt(sse / max(n_obs - len(raw) / 2, 1.0)))
        self.raw_params_ = raw
        self.models_ = list(X.index)
        self.benchmarks_ = list(X.columns)
        self.n_scores_ = pd.Series((~np.isnan(arr)).sum(axis=1), index=X.index)
        self.n_models_ = pd.Series((~np.isnan(arr)).sum(axis=0), index=X.columns)
        self._anchored(raw, np.linalg.inv(hess) * self.sigma_**2)
        return self

    def _anchored(self, raw: np.ndarray, cov: np.ndarray) -> None:
        """C, D, log alpha on the anchor's scale and their standard errors (delta method)."""
        M, B = len(self.models_), len(self.benchmarks_)
        a = self.benchmarks_.index(self.anchor_)
        G = _anchor_jacobian(raw, M, B, a)
        values = _to_anchor(raw, M, B, a)
        se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", G, cov, G), 0, None))
        self.capability_ = pd.Series(values[:M], index=self.models_, name="capability")
        self.capability_se_ = pd.Series(se[:M], index=self.models_, name="capability_se")
        self.difficulty_ = pd.Series(values[M : M + B], index=self.benchmarks_, name="difficulty")
        self.difficulty_se_ = pd.Series(se[M : M + B], index=self.benchmarks_)
        self.slope_ = pd.Series(np.exp(values[M + B :]), index=self.benchmarks_, name="slope")
        self.log_slope_se_ = pd.Series(se[M + B :], index=self.benchmarks_)

    def predict_scores(self, capability: np.ndarray | pd.Series) -> pd.DataFrame:
        """Every benchmark's expected score (fraction) at each capability."""
        c = np.asarray(capability, dtype=float)
        z = self.slope_.to_numpy() * (c[:, None] - self.difficulty_.to_numpy())
        index = capability.index if isinstance(capability, pd.Series) else None
        return pd.DataFrame(expit(z), index=index, columns=self.benchmarks_)

    def fitted(self) -> pd.DataFrame:
        """The fitted score of every cell of the training matrix (observed or not)."""
        return self.predict_scores(self.capability_)

    def fold_in(self, X: pd.DataFrame) -> pd.DataFrame:
        """C (and its standard error, benchmark parameters held fixed) of new rows from their
        observed scores on the fitted benchmarks, with the same ridge as the fit."""
        cols = [c for c in X.columns if c in self.benchmarks_]
        arr = X[cols].to_numpy(dtype=float)
        idx = [self.benchmarks_.index(c) for c in cols]
        M = len(self.models_)
        D = self.raw_params_[M:][idx]
        a = np.exp(self.raw_params_[M + len(self.benchmarks_) :][idx])
        c_raw, info = _fold_in_raw(arr, D, a, self.l2)
        anchor = self.benchmarks_.index(self.anchor_)
        a_anchor = np.exp(self.raw_params_[M + len(self.benchmarks_) + anchor])
        d_anchor = self.raw_params_[M + anchor]
        se = self.sigma_ / np.sqrt(info) * a_anchor
        out = {"capability": a_anchor * (c_raw - d_anchor), "capability_se": se}
        return pd.DataFrame(out | {"n_benchmarks": (~np.isnan(arr)).sum(axis=1)}, index=X.index)

    def __repr__(self) -> str:
        if not hasattr(self, "capability_"):
            return "CapabilityIndex(unfitted)"
        return (
            f"CapabilityIndex(fitted on {len(self.models_)} models x {len(self.benchmarks_)} "
            f"benchmarks, anchor {self.anchor_!r}, {self.n_iter_} iterations)"
        )


def _check_matrix(X: pd.DataFrame) -> np.ndarray:
    arr = X.to_numpy(dtype=float)
    observed = ~np.isnan(arr)
    if arr.size == 0 or not observed.any():
        raise CapabilityDataError("capability index: the score matrix has no observed cell")
    if (arr[observed] < 0).any() or (arr[observed] > 1).any():
        raise CapabilityDataError("capability index: scores must be fractions in [0, 1]")
    empty = [str(c) for c, n in zip(X.columns, observed.sum(axis=0), strict=True) if n == 0]
    if empty:
        raise CapabilityDataError(f"capability index: benchmark {empty[0]!r} has no score")
    return arr


def _anchor(X: pd.DataFrame, anchor: str | None) -> str:
    if anchor is None:
        if DEFAULT_ANCHOR in X.columns:
            return DEFAULT_ANCHOR
        return str(X.notna().sum().sort_values(ascending=False, kind="stable").index[0])
    if anchor not in X.columns:
        raise CapabilityDataError(
            f"capability index: anchor benchmark {anchor!r} not in the matrix"
        )
    return anchor


def _start(arr: np.ndarray) -> np.ndarray:
    """C from each model's mean score (logit; 0 for a row with none), D from each
    benchmark's, slopes 1."""
    observed = ~np.isnan(arr)
    filled = np.where(observed, arr, 0.0)
    rows = filled.sum(axis=1) / np.maximum(observed.sum(axis=1), 1)
    rows = np.clip(np.where(observed.any(axis=1), rows, 0.5), 0.02, 0.98)
    cols = np.clip(filled.sum(axis=0) / np.maximum(observed.sum(axis=0), 1), 0.02, 0.98)
    c = np.log(rows / (1 - rows))
    d = float(np.mean(c)) - np.log(cols / (1 - cols))
    return np.concatenate([c, d, np.zeros(arr.shape[1])])


def _parts(
    p: np.ndarray, r: np.ndarray, c: np.ndarray, y: np.ndarray, M: int, B: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Residuals and their derivatives in C_m, D_b and log alpha_b, cell by cell."""
    a = np.exp(p[M + B :])[c]
    z = a * (p[:M][r] - p[M : M + B][c])
    s = expit(z)
    ds = s * (1 - s)
    return s - y, ds * a, -ds * a, ds * z


def _loss(
    p: np.ndarray, r: np.ndarray, c: np.ndarray, y: np.ndarray, l2: float, M: int, B: int
) -> float:
    e = _parts(p, r, c, y, M, B)[0]
    return 0.5 * float(e @ e) + 0.5 * l2 * float(p @ p)


def _normal(
    r: np.ndarray, c: np.ndarray, jc: np.ndarray, jd: np.ndarray, js: np.ndarray, M: int, B: int
) -> np.ndarray:
    """J'J, built block by block: every cell is one (model, benchmark) pair."""
    n = M + 2 * B
    H = np.zeros((n, n))
    H[np.arange(M), np.arange(M)] = np.bincount(r, jc * jc, M)
    bd, bs = np.arange(M, M + B), np.arange(M + B, n)
    H[bd, bd] = np.bincount(c, jd * jd, B)
    H[bs, bs] = np.bincount(c, js * js, B)
    H[bd, bs] = H[bs, bd] = np.bincount(c, jd * js, B)
    H[r, M + c] = H[M + c, r] = jc * jd
    H[r, M + B + c] = H[M + B + c, r] = jc * js
    return H


def _levenberg_marquardt(
    arr: np.ndarray, l2: float, max_iter: int, tol: float
) -> tuple[np.ndarray, int, float, np.ndarray]:
    """(raw parameters [C, D, log alpha], iterations, SSE, penalised Gauss-Newton curvature)."""
    M, B = arr.shape
    r, c = np.nonzero(~np.isnan(arr))
    y = arr[r, c]
    p, damp = _start(arr), 1e-3
    loss = _loss(p, r, c, y, l2, M, B)
    eye = np.eye(len(p)) * l2
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        e, jc, jd, js = _parts(p, r, c, y, M, B)
        grad = l2 * p
        grad[:M] += np.bincount(r, e * jc, M)
        grad[M : M + B] += np.bincount(c, e * jd, B)
        grad[M + B :] += np.bincount(c, e * js, B)
        H = _normal(r, c, jc, jd, js, M, B) + eye
        while True:
            step = np.linalg.solve(H + damp * np.diag(np.diag(H)), -grad)
            new = _loss(p + step, r, c, y, l2, M, B)
            if new <= loss or damp > 1e8:
                break
            damp *= 4
        if new > loss:
            break
        p, done = p + step, loss - new <= tol * max(loss, 1e-12)
        loss, damp = new, max(damp / 3, 1e-9)
        if done:
            break
    e, jc, jd, js = _parts(p, r, c, y, M, B)
    return p, it, float(e @ e), _normal(r, c, jc, jd, js, M, B) + eye


def _to_anchor(raw: np.ndarray, M: int, B: int, a: int) -> np.ndarray:
    """[C', D', log alpha'] with D'_anchor = 0 and alpha'_anchor = 1."""
    scale, shift = np.exp(raw[M + B + a]), raw[M + a]
    return np.concatenate(
        [scale * (raw[:M] - shift), scale * (raw[M : M + B] - shift), raw[M + B :] - raw[M + B + a]]
    )


def _anchor_jacobian(raw: np.ndarray, M: int, B: int, a: int) -> np.ndarray:
    """d(anchored parameters) / d(raw parameters)."""
    n = M + 2 * B
    scale = np.exp(raw[M + B + a])
    values = _to_anchor(raw, M, B, a)
    G = np.zeros((n, n))
    cd = np.arange(M + B)  # C and D rows
    G[cd, cd] = scale
    G[cd, M + a] -= scale
    G[cd, M + B + a] += values[: M + B]
    ls = np.arange(M + B, n)
    G[ls, ls] = 1.0
    G[ls, M + B + a] -= 1.0
    return G


def _fold_in_raw(
    arr: np.ndarray, D: np.ndarray, a: np.ndarray, l2: float, n_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Raw C of each row by Newton's method (one parameter per row, vectorised over rows),
    and the curvature there (for its standard error)."""
    obs = ~np.isnan(arr)
    y = np.where(obs, arr, 0.0)
    rows = y.sum(axis=1) / np.maximum(obs.sum(axis=1), 1)
    rows = np.clip(np.where(obs.any(axis=1), rows, 0.5), 0.02, 0.98)
    c = np.log(rows / (1 - rows)) + np.average(D)
    info = np.full(len(arr), l2)
    for _ in range(n_iter):
        s = expit(a * (c[:, None] - D))
        j = s * (1 - s) * a * obs
        grad = ((s - y) * j).sum(axis=1) + l2 * c
        info = (j * j).sum(axis=1) + l2
        c = c - grad / info
    return c, info
