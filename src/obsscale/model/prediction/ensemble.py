"""The chosen candidates of a ``tuning.Choice`` refitted on a training side (or reused from
the nested back-tests' fits), and their weighted prediction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.candidates import regressor_params, spec_inputs
from obsscale.model.prediction.intervals import make_regressor
from obsscale.model.prediction.sigmoid import SigmoidRegressor

if TYPE_CHECKING:
    from obsscale.model.prediction.tuning import Choice


@dataclass
class Ensemble:
    """The chosen candidates refitted on a training side, and their weighted prediction."""

    members: list[tuple[SigmoidRegressor, float, np.ndarray]]  # regressor, weight, inputs X

    @classmethod
    def fit(
        cls,
        choice: Choice,
        features: dict[str, np.ndarray],
        y: np.ndarray,
        train: np.ndarray,
        pconf: PredictConfig,
    ) -> Ensemble:
        members = []
        for m, w in choice.members:
            X = spec_inputs(features, m.inputs)
            tr = train & np.isfinite(X).all(axis=1)
            params = regressor_params(m.form, m.ridge, pconf)
            # the two deterministic starts only: over the accuracy suite the random restarts
            # never moved a member's fit (test MSE equal to 1e-6), at a third of the fit time
            reg = make_regressor(pconf, n_starts=0, **params).fit(X[tr], y[tr])
            members.append((reg, w, X))
        return cls(members)

    @classmethod
    def of_fold(cls, choice: Choice, features: dict[str, np.ndarray], fold: int) -> Ensemble | None:
        """The chosen members as the nested back-tests already fitted them on cutoff
        ``fold`` (the same fits ``fit`` would make there), or None if one has no such fit."""
        if any(len(m.fits) <= fold for m, _ in choice.members):
            return None
        return cls([(m.fits[fold], w, spec_inputs(features, m.inputs)) for m, w in choice.members])

    def scorable(self) -> np.ndarray:
        """Rows that at least one member can predict (e.g. factors without FLOPs)."""
        return np.logical_or.reduce([np.isfinite(X).all(axis=1) for _, _, X in self.members])

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """The weighted prediction of the rows (members that cannot score a row leave it to
        the others, whose weights are renormalised)."""
        n = int(rows.sum())
        total, weight = np.zeros(n), np.zeros(n)
        for reg, w, X_all in self.members:
            X = X_all[rows]
            ok = np.isfinite(X).all(axis=1)
            if ok.any():
                total[ok] += w * reg.predict(X[ok])
                weight[ok] += w
        return total / weight
