"""A completion model as the benchmark design sees it (``model.design.benchmarks``): per
benchmark a bias, loadings and a residual variance on the logit scale, and a prior over the
models' factors. ``pca_completion`` reads them off the hub matrix's rank-k logit PCA
imputation; another completer (the biased logit ALS) serves by returning the same arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from obsscale.model.capabilities.imputation import PCAImputer
from obsscale.model.completion.hub_matrix import EPS, fit_imputer

NOISE_FLOOR = 1e-2  # logit units²: in-sample residuals of a sparse matrix understate the noise


@dataclass(frozen=True)
class LinearGaussianCompletion:
    """``logit y_mj = bias_j + loadings_j · f_m + e_mj``, ``f_m ~ N(prior_mean, prior_cov)``,
    ``e_mj ~ N(0, noise_j)``: the ``BenchmarkLoadings`` protocol, given by its arrays."""

    benchmarks: list[str]
    bias: np.ndarray
    loadings: np.ndarray
    noise: np.ndarray
    prior_mean: np.ndarray
    prior_cov: np.ndarray

    def to_link(self, fractions: np.ndarray) -> np.ndarray:
        return to_logit(fractions)

    def __repr__(self) -> str:
        p, k = self.loadings.shape
        return f"<LinearGaussianCompletion: {p} benchmarks, {k} factors>"


def to_logit(X: np.ndarray) -> np.ndarray:
    """Fractions to the logit scale, clipped to [EPS, 1 - EPS] as the hub completion is."""
    p = np.clip(np.asarray(X, dtype=float), EPS, 1 - EPS)
    return np.asarray(np.log(p / (1 - p)))


def pca_completion(
    matrix: pd.DataFrame, rank: int, prior_scale: float = 1.0, noise_pseudo: float = 0.0
) -> LinearGaussianCompletion:
    """The rank-``rank`` logit PCA imputation of ``matrix`` (models x benchmarks, fractions,
    NaN = unseen) as a linear-Gaussian model (``from_imputer``)."""
    Z = to_logit(matrix.to_numpy(dtype=float))
    imp = fit_imputer(Z, rank, clip=None)
    return from_imputer(imp, Z, [str(c) for c in matrix.columns], prior_scale, noise_pseudo)


def from_imputer(
    imp: PCAImputer,
    Z: np.ndarray,
    benchmarks: list[str],
    prior_scale: float = 1.0,
    noise_pseudo: float = 0.0,
) -> LinearGaussianCompletion:
    """A logit PCA imputer fitted on ``Z`` (``from_factors`` with its un-standardized
    loadings and centre, and the training models' factor scores)."""
    loadings = imp.scale_[:, None] * imp.components_.T
    bias = imp.mean_ + imp.scale_ * imp.center_
    filled = imp.transform(pd.DataFrame(Z))
    factors = ((filled - imp.mean_) / imp.scale_ - imp.center_) @ imp.components_.T
    return from_factors(benchmarks, Z, (bias, loadings, factors), prior_scale, noise_pseudo)


def from_factors(
    benchmarks: list[str],
    Z: np.ndarray,
    fit: tuple[np.ndarray, np.ndarray, np.ndarray],
    prior_scale: float = 1.0,
    noise_pseudo: float = 0.0,
) -> LinearGaussianCompletion:
    """Any low-rank logit fit of ``Z`` (models x benchmarks, logits, NaN = unseen) given as
    ``fit = (bias (p), loadings (p x k), factors (n x k))``: the residual variance of each
    benchmark's observed cells (floored; shrunk towards the pooled one by ``noise_pseudo``
    pseudo-cells: a benchmark scored by few models fits them too well) as its noise, and the
    mean and covariance (times ``prior_scale``) of the models' factors as the prior. A biased
    ALS fit enters with ``bias = global + benchmark biases``, ``loadings = [1, benchmark
    factors]`` and ``factors = [model biases, model factors]``."""
    bias, loadings, factors = fit
    resid = Z - (bias + factors @ loadings.T)
    noise = np.maximum(_noise(resid, noise_pseudo), NOISE_FLOOR)
    cov = np.atleast_2d(np.cov(factors, rowvar=False)) * prior_scale
    return LinearGaussianCompletion(benchmarks, bias, loadings, noise, factors.mean(axis=0), cov)


def _noise(resid: np.ndarray, pseudo: float) -> np.ndarray:
    """Each column's mean squared residual (observed cells), shrunk towards the pooled one."""
    seen = ~np.isnan(resid)
    ss, n = np.where(seen, resid**2, 0.0).sum(axis=0), seen.sum(axis=0)
    pooled = ss.sum() / n.sum()
    return np.asarray((ss + pseudo * pooled) / (n + pseudo))
