"""A capability model read back from ``fit.json``: its learned arrays, and the estimator
built of them only when something transforms with it.

Summaries and the report read the arrays alone. Building the ``CapabilityPCA`` needs
scikit-learn, whose import (~0.6 s, most of it scipy.stats) costs a report more than its
work on the tables; so ``CapabilityFit.pca`` builds it on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from obsscale.model.capabilities.factors import CapabilityPCA


@dataclass(frozen=True)
class SavedFactors:
    """A capability model's learned arrays as ``fit.json`` holds them, with the attribute
    names of the fitted ``CapabilityPCA`` (so a fit reads either the same way)."""

    record: dict[str, Any]  # fit.json's entries

    @property
    def n_components(self) -> int:
        return len(self.record["components"])

    @property
    def explained_variance_ratio_(self) -> np.ndarray:
        return np.array(self.record["explained_variance_ratio"])

    @property
    def spectrum_ratio_(self) -> np.ndarray:
        return np.array(self.record["spectrum_ratio"])

    @property
    def components_(self) -> np.ndarray:
        return np.array(self.record["pca"]["components"])

    def build(self, benchmarks: list[str]) -> CapabilityPCA:
        """The fitted ``CapabilityPCA`` (and its ``PCAImputer``) these arrays describe."""
        from obsscale.model.capabilities.factors import CapabilityPCA
        from obsscale.model.capabilities.imputation import PCAImputer

        d, names = self.record, np.asarray(benchmarks, dtype=object)
        imp_d, pca_d = d["imputer"], d["pca"]
        imp = PCAImputer(
            n_components=imp_d["n_components"],
            clip=tuple(imp_d["clip"]) if imp_d["clip"] else None,
        )
        imp.mean_, imp.scale_ = np.array(imp_d["mean"]), np.array(imp_d["scale"])
        imp.center_, imp.components_ = np.array(imp_d["center"]), np.array(imp_d["components"])
        imp.n_iter_, imp.n_features_in_, imp.feature_names_in_ = imp_d["n_iter"], len(names), names
        pca = CapabilityPCA(
            n_components=self.n_components,
            impute_components=imp.n_components,
            standardize=pca_d["standardize"],
            clip=imp.clip,
        )
        pca.imputer_ = imp
        pca.mean_, pca.scale_ = np.array(pca_d["mean"]), np.array(pca_d["scale"])
        pca.components_ = self.components_
        pca.explained_variance_ratio_ = self.explained_variance_ratio_
        pca.explained_variance_ = np.array(d["explained_variance"])
        pca.spectrum_ratio_ = self.spectrum_ratio_
        pca.n_features_in_, pca.feature_names_in_ = len(names), names
        return pca
