"""The fitted interval calibration: an error scale and the conformal quantile of the scores it
normalises (a record, below both the tuning that reports it and the calibration that fits it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: the error scale's terms, in the order of ``Calibration.coef``
TERMS = ("const", "d_flops", "d_level")
#: the calibration rules: each task's own nested errors (split-conformal), the cross-task
#: interval model shrunk toward them, and its rule for a flat training side
OWN_ERRORS = "split-conformal on nested FLOPs back-tests"
CROSS_TASK = "cross-task interval model, scale shrunk toward the nested back-tests' errors"
CROSS_TASK_FLAT = "cross-task interval model for a flat training side"


@dataclass(frozen=True)
class Calibration:
    """The fitted error scale and the conformal quantile of the scores it normalises."""

    coef: np.ndarray  # a, b, c of the scale (``TERMS``)
    quantile: float  # inf: too few inner scores to calibrate (the interval is the range)
    n_scores: int
    level: float
    shift: float = 0.0  # added to every prediction: the supported median inner error, or 0
    rule: str = OWN_ERRORS  # how the scale was calibrated
    # the scale is (nested scale)^a · (bootstrap scale)^b: (a, b); (1, 0) the nested alone
    exponents: tuple[float, float] = (1.0, 0.0)

    def interval(
        self,
        pred: np.ndarray,
        terms: np.ndarray,
        low: float,
        boot: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """prediction ± quantile·scale, clipped to [low, 1] (``pred``: shifted; ``boot``: the
        bootstrap's scale at each row, NaN or None where unknown)."""
        if not math.isfinite(self.quantile):
            return np.full(len(pred), low), np.full(len(pred), 1.0)
        half = self.quantile * self.scale(terms, boot)
        return np.clip(pred - half, low, 1.0), np.clip(pred + half, low, 1.0)

    def scale(self, terms: np.ndarray, boot: np.ndarray | None = None) -> np.ndarray:
        """The error scale at each row: the nested back-tests' (``terms @ coef``) raised to
        ``a``, times the bootstrap's raised to ``b``; where the bootstrap's is unknown (a row
        without the best member's inputs) the nested scale stands in for it."""
        nested = terms @ self.coef
        a, b = self.exponents
        if b == 0:
            return nested**a
        other = nested if boot is None else np.where(np.isfinite(boot) & (boot > 0), boot, nested)
        return nested**a * other**b

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "scale": dict(zip(TERMS, self.coef.tolist(), strict=True)),
            "quantile": self.quantile if math.isfinite(self.quantile) else None,
            "n_scores": self.n_scores,
            "shift": self.shift,
            "exponents": {"nested": self.exponents[0], "bootstrap": self.exponents[1]},
        }

    def describe(self) -> str:
        if not math.isfinite(self.quantile):
            return (
                f"{self.n_scores} nested back-test errors are too few for a {self.level:.0%} "
                "conformal interval: the interval is the metric's range"
            )
        a, b, c = self.coef
        shifted = (
            f"shifted by {self.shift:+.3g} (their supported median error), " if self.shift else ""
        )
        head = (
            f"split-conformal on {self.n_scores} nested back-test errors"
            if self.rule == OWN_ERRORS
            else f"{self.rule} ({self.n_scores} nested back-test errors)"
        )
        nested = (
            f"({a:.3g} + {b:.3g}·log10 FLOPs past the training frontier"
            f" + {c:.3g}·level past the highest fitted value)"
        )
        ea, eb = self.exponents
        if eb:
            nested = f"{nested}^{ea:.3g} x (bootstrap scale)^{eb:.3g}"
        return f"{head}, {shifted}±{self.quantile:.3g} x {nested}"
