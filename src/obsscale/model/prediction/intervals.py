"""Prediction intervals of the sigmoid link: a pairs bootstrap over training models (all
resamples refitted at once) plus resampled, inflated training residuals."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.sigmoid import FiniteDifferenceSigmoidRegressor, SigmoidRegressor

F = TypeVar("F", bound=Callable[..., Any])


def one_blas_thread(fn: F) -> F:
    """Run ``fn`` with BLAS on one thread. OpenBLAS splits the long inner dimension of the
    bootstrap's (B x n) @ (n x q) products across its threads: the sums then depend on the
    number of cores, and on a busy machine one such product took 30-100x longer than on one
    thread (most of the time at 10^6 models). Small products run on one thread anyway."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from threadpoolctl import threadpool_limits  # a scikit-learn dependency; 15 ms

        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass
class BootstrapFit:
    """A fitted link with its bootstrap parameters and inflated training residuals."""

    reg: SigmoidRegressor
    thetas: np.ndarray  # bootstrap parameters, B x n_theta
    residuals: np.ndarray  # inflated training residuals


def make_regressor(pconf: PredictConfig, **overrides: Any) -> SigmoidRegressor:
    """The sigmoid regressor a ``PredictConfig`` describes."""
    params: dict[str, Any] = {
        "form": pconf.form,
        "loss": pconf.loss,
        "huber_delta": pconf.huber_delta,
        "floor_max": pconf.floor_max,
        "ceiling_min": pconf.ceiling_min,
        "n_starts": pconf.n_starts,
        "random_state": pconf.random_state,
    }
    # the paper method keeps scipy's finite differences, so its outputs stay as before
    cls = FiniteDifferenceSigmoidRegressor if pconf.method == "paper" else SigmoidRegressor
    return cls(**(params | overrides))


@one_blas_thread
def fit_with_bootstrap(
    X: np.ndarray,
    y: np.ndarray,
    pconf: PredictConfig,
    rng: np.random.Generator,
    **overrides: Any,
) -> BootstrapFit:
    """The regressor ``pconf`` describes (with ``overrides``) and its bootstrap."""
    reg = make_regressor(pconf, **overrides).fit(X, y)
    n = len(y)
    resid = y - reg.predict(X)
    resid = resid * math.sqrt(n / max(n - reg.n_params, 1))  # undo the fit's shrinkage
    thetas = reg.bootstrap_thetas(X, y, _resample_counts(n, pconf.n_bootstrap, rng))
    return BootstrapFit(reg, thetas, resid)


def _resample_counts(
    n: int, n_boot: int, rng: np.random.Generator, budget: int = 4_000_000
) -> Iterator[np.ndarray]:
    """Pairs-bootstrap multiplicities (B x n: how often each training model is drawn), in
    blocks of at most ``budget`` cells so that memory stays flat in N."""
    block = max(1, budget // max(n, 1))
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        draws = rng.integers(0, n, size=(b, n))
        counts = np.empty((b, n))  # floats: what the refits multiply with
        for i, row in enumerate(draws):
            counts[i] = np.bincount(row, minlength=n)
        yield counts


@one_blas_thread
def prediction_interval(
    fit: BootstrapFit, X: np.ndarray, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of (bootstrap prediction + resampled residual) for each row of X."""
    if len(X) == 0:
        return np.empty(0), np.empty(0)
    rows = max(1, 4_000_000 // len(fit.thetas))  # B x rows cells per block
    parts = [
        band(fit.reg.predict_thetas(fit.thetas, X[i : i + rows]), fit, level, rng)
        for i in range(0, len(X), rows)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


@one_blas_thread
def bootstrap_scale(fit: BootstrapFit, X: np.ndarray) -> np.ndarray:
    """The bootstrap's error scale at each row of X: sqrt(variance of the bootstrap curves
    there + mean squared inflated residual), what ``prediction_interval``'s band spans in
    standard deviations, but without its random residual draws, so that a row's scale never
    depends on the other rows asked or on a random stream (the default method's intervals
    combine it with the nested back-tests' scale: ``calibration``)."""
    if len(X) == 0:
        return np.empty(0)
    noise = float(np.mean(fit.residuals**2))
    rows = max(1, 4_000_000 // len(fit.thetas))
    parts = [
        np.var(fit.reg.predict_thetas(fit.thetas, X[i : i + rows]), axis=0)
        for i in range(0, len(X), rows)
    ]
    return np.sqrt(np.concatenate(parts) + noise)


def band(
    curves: np.ndarray, fit: BootstrapFit, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of (bootstrap curve + resampled residual) over the B rows of ``curves``."""
    total = rng.choice(fit.residuals, size=curves.shape, replace=True)
    total += curves  # in place: the same sums as curves + noise, one B x m array fewer
    total.sort(axis=0)
    lo, hi = sorted_quantiles(total, ((1 - level) / 2, (1 + level) / 2))
    return lo, hi


def sorted_quantiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """``np.quantile(x, qs, axis=0)`` (its default linear method, value for value) of an ``x``
    already sorted along axis 0. A full sort is faster than the partition ``np.quantile`` runs
    (numpy's vectorized sort of a few hundred values: ~8x), and the order statistics either
    side of each quantile are then rows of ``x``. (Only the sign of a zero may differ, where
    -0.0 and 0.0 tie: a link value, never -0.0, plus a residual is never -0.0.)"""
    n = len(x)
    out = np.empty((len(qs), *x.shape[1:]))
    for i, q in enumerate(qs):
        virtual = (n - 1) * float(q)  # np.quantile's virtual index and its end rule
        if virtual >= n - 1:
            prev = nxt = n - 1
        elif virtual < 0:
            prev = nxt = 0
        else:
            prev = int(np.floor(virtual))
            nxt = prev + 1
        gamma = virtual - prev
        a, b = x[prev], x[nxt]
        diff = b - a
        # numpy's _lerp: from the nearer end, so the result stays within [a, b]
        out[i] = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
    out[:, np.isnan(x[-1])] = np.nan  # NaN sorts last
    return out
