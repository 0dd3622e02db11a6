"""The Epoch Benchmarking Hub matrix (``epoch_hub:*`` columns): models x benchmarks, mostly
unobserved, and the few operations the frontier analyses share.

- ``hub_matrix``: the block dense enough to factor (models with >= 4 hub scores, benchmarks
  with >= 10 of them and some variance), as Epoch's own stitching does;
- ``hide_cells`` / ``complete_matrix``: hide observed cells and predict them back from each
  model's other scores (``PCAImputer``, raw or logit scale), for the completion back-test and
  for the report's interval on completed cells;
- ``loading_bootstrap``: the first factors' loadings and how they move when the models are
  resampled (a block-sparse matrix can have a stable first factor and a fickle second).

Used by the fit (``model.frontier`` -> ``frontier.json``) and by ``obsscale bench``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from obsscale.exceptions import ConvergenceWarning
from obsscale.model.capabilities.imputation import PCAImputer

PREFIX = "epoch_hub:"
MIN_MODEL_SCORES = 4  # Epoch's own cut-off for the stitched matrix
MIN_BENCH_SCORES = 10
HIDE = 0.2
EPS = 0.01  # logit scale: scores clipped to [EPS, 1 - EPS]


def hub_columns(models: pd.DataFrame) -> list[str]:
    return [c for c in models.columns if c.startswith(PREFIX)]


def hub_matrix(models: pd.DataFrame) -> pd.DataFrame:
    """Models with >= 4 hub scores x benchmarks with >= 10 of them and some variance
    (fractions, NaN = unseen)."""
    frame = models.set_index("model")[hub_columns(models)]
    for _ in range(3):  # the two filters interact; a few passes settle them
        frame = frame.loc[frame.notna().sum(axis=1) >= MIN_MODEL_SCORES]
        frame = frame.loc[:, frame.notna().sum() >= MIN_BENCH_SCORES]
        # no variance, even on the logit scale (FrontierMath Tier 4 public: all 0)
        frame = frame.loc[:, frame.clip(EPS, 1 - EPS).std() > 0]
    return frame


def matrix_summary(full: pd.DataFrame, models: pd.DataFrame) -> dict[str, Any]:
    """How much of the whole hub table, and of the factored block, is observed."""
    has = models[hub_columns(models)].notna()
    n_any = int(has.any(axis=1).sum())
    cells = n_any * has.shape[1]
    return {
        "all_models": n_any,
        "all_benchmarks": int(has.shape[1]),
        "all_observed": float(has.to_numpy().sum() / cells) if cells else 0.0,
        "models": int(full.shape[0]),
        "benchmarks": int(full.shape[1]),
        "observed": float(full.notna().to_numpy().mean()) if full.size else 0.0,
    }


def years(dates: pd.Series) -> np.ndarray:
    """Release dates as years since 2020-01-01 (NaN where unknown): the date predictor."""
    d = pd.to_datetime(dates, errors="coerce")
    return ((d - pd.Timestamp("2020-01-01")).dt.days / 365.25).to_numpy(dtype=float)


def hide_cells(X: np.ndarray, rng: np.random.Generator, share: float = HIDE) -> np.ndarray:
    """A mask of ~``share`` of the observed cells that leaves every row a score and every
    column at least two distinct ones (what the imputer needs to be fitted)."""
    observed = ~np.isnan(X)
    cells = np.argwhere(observed)
    order = rng.permutation(len(cells))[: round(share * len(cells))]
    hidden = np.zeros_like(observed)
    left_r, left_c = observed.sum(axis=1), observed.sum(axis=0)
    for i, j in cells[order]:
        if left_r[i] > 1 and left_c[j] > 2:
            hidden[i, j] = True
            left_r[i] -= 1
            left_c[j] -= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        flat = ~(np.nanstd(np.where(hidden, np.nan, X), axis=0) > 0)
    hidden[:, flat] = False
    return hidden


def complete_matrix(X: np.ndarray, rank: int, logit: bool) -> np.ndarray:
    """Every cell of X (fractions, NaN = unseen) from a rank-``rank`` PCA imputation, on the
    logit scale if ``logit`` (scores near 0 and 1 then stay inside [0, 1])."""
    Z = _frame(np.log(np.clip(X, EPS, 1 - EPS) / (1 - np.clip(X, EPS, 1 - EPS))) if logit else X)
    out = fit_imputer(Z, rank, clip=None).transform(Z)
    return np.asarray(expit(out)) if logit else np.clip(out, 0, 1)


def _frame(X: np.ndarray) -> pd.DataFrame:
    """The imputer takes arrays through scikit-learn's checks (and its 1 s import) and
    DataFrames through its own."""
    return pd.DataFrame(X)


def fit_imputer(
    X: np.ndarray | pd.DataFrame, rank: int, clip: tuple[float, float] | None = (0.0, 1.0)
) -> PCAImputer:
    """The hub matrix's imputation: rank ``rank``, stopped at 300 iterations (on a matrix this
    sparse it does not converge; the completion back-test validates the cap)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return PCAImputer(n_components=rank, clip=clip, max_iter=300, tol=1e-4).fit(_frame(X))


def signed_components(imp: PCAImputer) -> np.ndarray:
    """The loadings, signed so that a higher factor means higher scores (as the capability
    factors are)."""
    comp = imp.components_
    return np.asarray(comp * np.where(comp.sum(axis=1) < 0, -1.0, 1.0)[:, None])


def loading_bootstrap(
    X: np.ndarray, rank: int = 2, n_boot: int = 20, seed: int = 0, full: PCAImputer | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings (rank x benchmarks, standardized scores) of the whole matrix, those refitted
    on ``n_boot`` seeded resamples of its models (B x rank x benchmarks, each sign-aligned
    with the whole-matrix loading) and their |cosine| with it (B x rank). Resamples that
    leave a benchmark unobserved or constant are skipped. ``full``: the whole matrix's fit, if
    the caller has it."""
    ref = signed_components(full if full is not None else fit_imputer(X, rank))
    rng = np.random.default_rng(seed)
    boots, cos = [], []
    for _ in range(n_boot):
        sample = X[rng.integers(0, len(X), len(X))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if np.isnan(sample).all(axis=0).any() or (np.nanstd(sample, axis=0) == 0).any():
                continue
        comp = signed_components(fit_imputer(sample, rank))
        dots = np.einsum("kp,kp->k", ref, comp)
        boots.append(comp * np.where(dots < 0, -1.0, 1.0)[:, None])
        cos.append(np.abs(dots))
    return ref, np.array(boots).reshape(-1, rank, X.shape[1]), np.array(cos).reshape(-1, rank)


def variance_shares(imp: PCAImputer, X: np.ndarray) -> np.ndarray:
    """Share of the variance of the standardized, imputed matrix carried by each of the
    imputer's principal components."""
    Z = (imp.transform(_frame(X)) - imp.mean_) / imp.scale_
    eig = np.linalg.eigvalsh(np.cov(Z, rowvar=False))[::-1]
    rank = imp.components_.shape[0]
    return np.asarray(eig[:rank] / eig.sum())
