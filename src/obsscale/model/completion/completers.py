"""The matrix completers side by side, behind one interface: ``fit(X)`` on a models x
benchmarks matrix of fractions (NaN = unseen), then ``predict()`` every cell of it.

- ``PCACompleter``: today's rank-k PCA imputation (``PCAImputer``, as the hub matrix's
  completion uses it), on the fraction or the logit scale;
- ``LogitALS`` (``als``): the biased low-rank logit model;
- ``IndexCompleter``: the stitched capability index, sigmoid(alpha_b (C_m - D_b)).

Each is fitted on the block it can support: the benchmarks with two distinct observed scores
and the models with a score among them. A cell outside that block (a benchmark whose scores
were all hidden, a model with none left) gets its benchmark's observed mean, or the matrix's:
the back-test then scores every method on the same cells.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd

from obsscale.exceptions import CapabilityDataError, ConvergenceWarning
from obsscale.model.completion.als import EPS, LogitALS

INDEX_MAX_PARAMETERS = 4000  # the index's dense normal matrix: (models + 2 benchmarks)^2


class Completer(Protocol):
    def fit(self, X: Any) -> Any: ...

    def predict(self) -> np.ndarray: ...


class PCACompleter:
    """Rank-``rank`` PCA imputation (standardized benchmarks, iterated reconstruction; 300
    iterations at most, as the hub matrix's completion), on the logit scale if ``logit``."""

    def __init__(self, *, rank: int = 1, logit: bool = False) -> None:
        self.rank = rank
        self.logit = logit

    def fit(self, X: Any) -> PCACompleter:
        from obsscale.model.completion.hub_matrix import complete_matrix

        self.values_ = complete_matrix(np.asarray(X, dtype=float), self.rank, self.logit)
        return self

    def predict(self) -> np.ndarray:
        return np.asarray(self.values_)


class IndexCompleter:
    """The capability index's fitted score at every cell (refused on matrices whose dense
    normal matrix would not fit: more than ``INDEX_MAX_PARAMETERS`` parameters)."""

    def fit(self, X: Any) -> IndexCompleter:
        from obsscale.model.index.irt import CapabilityIndex

        arr = np.asarray(X, dtype=float)
        if arr.shape[0] + 2 * arr.shape[1] > INDEX_MAX_PARAMETERS:
            raise CapabilityDataError(
                f"capability index: {arr.shape[0]} models x {arr.shape[1]} benchmarks is too "
                f"large for its dense fit (more than {INDEX_MAX_PARAMETERS} parameters)"
            )
        frame = pd.DataFrame(arr, columns=[f"b{j}" for j in range(arr.shape[1])])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.values_ = CapabilityIndex().fit(frame).fitted().to_numpy()
        return self

    def predict(self) -> np.ndarray:
        return np.asarray(self.values_)


Factory = Callable[[], Completer]


def default_candidates() -> dict[str, Factory]:
    """The methods the chooser compares: PCA imputation (rank 1 on the fraction scale, rank
    1-2 on the logit scale: rank 2 on fractions is slow and, on the hub matrix, 2 points worse),
    the biased logit ALS (rank 1-3 x ridge 0.3, 1, 3) and the capability index."""
    out: dict[str, Factory] = {"pca1": _pca(1, False)}
    for rank in (1, 2):
        out[f"pca{rank}_logit"] = _pca(rank, True)
    for rank in (1, 2, 3):
        for ridge in (0.3, 1.0, 3.0):
            out[f"als{rank}_ridge{ridge:g}"] = _als(rank, ridge)
    out["index"] = IndexCompleter
    return out


def _pca(rank: int, logit: bool) -> Factory:
    return lambda: PCACompleter(rank=rank, logit=logit)


def _als(rank: int, ridge: float) -> Factory:
    return lambda: LogitALS(rank=rank, ridge=ridge)


def family(name: str) -> str:
    """The method a candidate name belongs to: ``pca1`` (rank-1 PCA, fraction scale),
    ``pca`` (any other PCA imputation), ``als``, ``index`` or ``blend``."""
    if name == "pca1":
        return "pca1"
    return "pca" if name.startswith("pca") else "als" if name.startswith("als") else name


def fit_predict(factory: Factory, X: np.ndarray) -> np.ndarray:
    """Every cell of X from the completer, fitted on the block it supports; the benchmark's
    observed mean (or the matrix's) outside that block."""
    rows, cols = _block(X)
    out = np.tile(_column_means(X), (len(X), 1))
    if rows.sum() >= 2 and cols.sum() >= 1:
        block = X[np.ix_(rows, cols)]
        out[np.ix_(rows, cols)] = factory().fit(block).predict()
    return out


def _block(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observed = ~np.isnan(X)
    clipped = np.clip(X, EPS, 1 - EPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cols = (observed.sum(axis=0) >= 2) & (np.nanstd(clipped, axis=0) > 0)
    rows = observed[:, cols].any(axis=1)
    return rows, cols


def _column_means(X: np.ndarray) -> np.ndarray:
    observed = ~np.isnan(X)
    overall = float(X[observed].mean()) if observed.any() else 0.5
    sums = np.where(observed, X, 0.0).sum(axis=0)
    counts = observed.sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), overall)
