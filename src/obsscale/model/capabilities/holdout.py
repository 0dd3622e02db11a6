"""Out-of-sample fills of the fully evaluated rows for one pattern of observed scores: what
completion's intervals (``completion.basis``) and forecasts from a model's own scores
(``forecast``) both need to know about a row known by only some of the basis.

How well a missing score is filled depends on what else the row has: a model known by 3 of 8
benchmarks is filled far less well than one missing a single cell, so errors of cells hidden
at random (mostly from rows missing one or two) understate the uncertainty of sparse rows.
Here the fully evaluated rows are split into seeded folds, the imputer is refitted without
each fold, and the fold's rows, masked to the pattern, are filled by it: one out-of-sample
fill per row, whose errors against the row's own scores are the imputation's errors for
that pattern (in-sample fills, by an imputer that saw the row, understate them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig
from obsscale.model.capabilities.factors import CapabilityPCA

N_FOLDS = 5


@dataclass(frozen=True)
class CrossFitImputer:
    """The fully evaluated rows, their seeded folds, and the imputer fitted without each."""

    complete: np.ndarray  # the fully evaluated rows' scores (m x p)
    folds: np.ndarray  # fold of each of them
    imputers: tuple[CapabilityPCA, ...]  # fitted on every row but each fold's

    @classmethod
    def fit(cls, X: pd.DataFrame, settings: CapabilityConfig, seed: int = 0) -> CrossFitImputer:
        full = X.notna().all(axis=1).to_numpy()
        complete = X.to_numpy(dtype=float)[full]
        folds = np.random.default_rng(seed).permutation(len(complete)) % N_FOLDS
        imputers = []
        for k in range(N_FOLDS):
            keep = ~full
            keep[np.flatnonzero(full)[folds != k]] = True  # every row but fold k's
            imputers.append(CapabilityPCA.from_config(settings).fit(X[keep]))
        return cls(complete, folds, tuple(imputers))

    def refilled(self, observed: np.ndarray) -> np.ndarray:
        """The fully evaluated rows masked to the ``observed`` cells and filled by the imputer
        fitted without their fold (observed cells kept)."""
        out = np.empty_like(self.complete)
        for k, pca in enumerate(self.imputers):
            rows = self.complete[self.folds == k]
            if len(rows):
                out[self.folds == k] = pca.impute(np.where(observed, rows, np.nan))
        return out
