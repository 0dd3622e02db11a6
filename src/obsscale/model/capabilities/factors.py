"""Capability factors: PCA of the imputed benchmark scores, signed so that higher is better.

The observational scaling law says that a few principal components of benchmark scores
("capabilities") are each linear in log-compute within a model family. ``CapabilityPCA``
estimates those components in scikit-learn style; ``capability_fit`` puts them to work on a
model table.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from obsscale.config import CapabilityConfig
from obsscale.model.capabilities.imputation import (
    AllowsMissingScores,
    PCAImputer,
    as_matrix,
    check_score_matrix,
)
from obsscale.model.estimator import BaseEstimator, TransformerMixin, check_is_fitted
from obsscale.model.params import Interval, ValidatedParams

# ----------------------------------------------------------------------------- PCA


class CapabilityPCA(AllowsMissingScores, ValidatedParams, TransformerMixin, BaseEstimator):
    """Imputation followed by PCA: the capability factors of the observational scaling law.

    Components are signed so that each correlates positively with the models' mean score
    across benchmarks ("higher PC = more capable"), which makes fits comparable across runs
    and scikit-learn versions (whose sign convention changed in 1.5).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [Interval(Integral, 1)],
        "impute_components": [Interval(Integral, 1)],
        "standardize": [bool],
        "max_iter": [Interval(Integral, 1)],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "clip": [tuple, None],
    }

    def __init__(
        self,
        *,
        n_components: int = 3,
        impute_components: int = 1,
        standardize: bool = False,
        max_iter: int = 1000,
        tol: float = 1e-6,
        clip: tuple[float, float] | None = (0.0, 1.0),
    ) -> None:
        self.n_components = n_components
        self.impute_components = impute_components
        self.standardize = standardize
        self.max_iter = max_iter
        self.tol = tol
        self.clip = clip

    def fit(self, X: Any, y: None = None) -> CapabilityPCA:
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(X).transform(X)`` with the training rows imputed once, not twice."""
        filled = self._fit(X)
        return ((filled - self.mean_) / self.scale_) @ self.components_.T

    def _fit(self, X: Any) -> np.ndarray:
        """Fit; returns the imputed training scores."""
        self._validate_params()
        arr, cols, rows = as_matrix(X)
        check_score_matrix(arr, cols, rows, max(self.n_components, self.impute_components))
        self.imputer_ = PCAImputer(
            n_components=self.impute_components,
            max_iter=self.max_iter,
            tol=self.tol,
            clip=self.clip,
        ).fit(X)
        self.n_features_in_ = arr.shape[1]
        self.n_iter_ = self.imputer_.n_iter_
        self.feature_names_in_ = np.asarray(cols, dtype=object)
        filled = self.imputer_.transform(X)
        self._fit_pca(filled)
        return filled

    def _fit_pca(self, filled: np.ndarray) -> None:
        self.mean_ = filled.mean(axis=0)
        self.scale_ = filled.std(axis=0) if self.standardize else np.ones(filled.shape[1])
        Xc = (filled - self.mean_) / self.scale_
        _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
        comps = Vt[: self.n_components]
        scores = Xc @ comps.T
        avg = filled.mean(axis=1)
        signs = np.sign([np.corrcoef(scores[:, j], avg)[0, 1] for j in range(len(comps))])
        signs[signs == 0] = 1.0
        self.components_ = comps * signs[:, None]
        var = S**2 / (len(filled) - 1)
        self.explained_variance_ = var[: self.n_components]
        self.explained_variance_ratio_ = (var / var.sum())[: self.n_components]
        # the whole spectrum, for scree plots (the fitted components are the first entries)
        self.spectrum_ratio_ = var / var.sum()

    @classmethod
    def from_config(cls, cfg: CapabilityConfig, n_components: int | None = None) -> CapabilityPCA:
        """The estimator a ``CapabilityConfig`` describes (optionally with more components)."""
        return cls(
            n_components=n_components or cfg.n_components,
            impute_components=cfg.impute_components,
            standardize=cfg.standardize,
            max_iter=cfg.max_iter,
            tol=cfg.tol,
            clip=cfg.clip,
        )

    def impute(self, X: Any) -> np.ndarray:
        """The scores with missing entries filled by the fitted imputer."""
        check_is_fitted(self, "components_")
        return self.imputer_.transform(X)

    def transform(self, X: Any) -> np.ndarray:
        filled = self.impute(X)
        return ((filled - self.mean_) / self.scale_) @ self.components_.T

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"PC-{j + 1}" for j in range(self.n_components)], dtype=object)
