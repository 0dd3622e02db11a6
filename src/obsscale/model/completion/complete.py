"""Complete any score matrix: ``complete(frame)`` fills every missing cell of a models x
benchmarks table (each column in its own unit, see ``scales``) with the method its inner
back-test chooses (``choose.MatrixCompleter``), and an interval per predicted cell.

The result keeps observed and predicted cells apart: observed values are returned as given,
predicted ones in the column's unit with their ``level`` interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.choose import MatrixCompleter
from obsscale.model.completion.scales import Scale

MATRIX_PRINT_LIMIT = (40, 10)  # the filled matrix is printed up to this many models x benchmarks


@dataclass
class CompletionResult:
    """What ``complete`` found. ``values``: every cell in its column's unit (observed ones as
    given); ``lower`` / ``upper``: the interval of predicted cells (NaN where observed);
    ``backtest``: every candidate's inner held-out-cell metrics (points, fraction scale);
    ``heldout_error``: per benchmark, the chosen method's median absolute held-out error in
    the column's unit; ``estimator``: the refitted ``LogitALS`` when an ALS was chosen."""

    values: pd.DataFrame
    lower: pd.DataFrame
    upper: pd.DataFrame
    observed: pd.DataFrame
    scales: dict[str, Scale]
    method: str
    level: float
    backtest: pd.DataFrame
    heldout_error: pd.Series
    estimator: Any = field(default=None, repr=False)

    def cells(self) -> pd.DataFrame:
        """One row per cell: model, benchmark, value, lower, upper, observed."""
        # Row-major ravel keeps NaN cells, as ``stack(future_stack=True)`` would, on any pandas.
        index = pd.MultiIndex.from_product(
            [self.values.index, self.values.columns], names=["model", "benchmark"]
        )
        frames = {"value": self.values, "lower": self.lower, "upper": self.upper}
        frames["observed"] = self.observed
        long = pd.DataFrame(
            {
                k: f.loc[self.values.index, self.values.columns].to_numpy().ravel()
                for k, f in frames.items()
            },
            index=index,
        )
        return long.reset_index()

    def benchmark_table(self) -> pd.DataFrame:
        """Per benchmark: unit, observed and predicted cells, held-out error, interval width."""
        width = (self.upper - self.lower).median()
        return pd.DataFrame(
            {
                "unit": [self.scales[c].unit for c in self.values.columns],
                "observed": self.observed.sum().to_numpy(),
                "predicted": (~self.observed).sum().to_numpy(),
                "heldout_medae": self.heldout_error.to_numpy(),
                "median_width": width.to_numpy(),
            },
            index=self.values.columns.rename("benchmark"),
        )

    def summary(self) -> str:
        """The readable table: per benchmark, then the filled matrix when it is small."""
        n, p = self.values.shape
        best = self.backtest.set_index("method").loc[self.method]
        lines = [
            f"completed {n} models x {p} benchmarks: {int((~self.observed).to_numpy().sum())} "
            f"of {n * p} cells predicted, method {self.method} (inner 3-fold held-out-cell "
            f"back-test: median abs error {best['medae_points']:.2f} points, fraction scale)",
            "",
            _fmt_benchmarks(self.benchmark_table(), self.scales, self.level),
        ]
        if n <= MATRIX_PRINT_LIMIT[0] and p <= MATRIX_PRINT_LIMIT[1]:
            lines += ["", self.matrix_text(), "", "* predicted (intervals: --cells FILE)"]
        return "\n".join(lines)

    def matrix_text(self) -> str:
        """The filled matrix, predicted cells marked with *."""
        shown = pd.DataFrame(index=self.values.index)
        for c in self.values.columns:
            fmt = self.scales[c].format
            shown[c] = [
                fmt(v) + ("" if o else "*")
                for v, o in zip(self.values[c], self.observed[c], strict=True)
            ]
        return shown.to_string()

    def to_dict(self) -> dict[str, Any]:
        cells = self.cells()
        cells = cells.astype(object).where(cells.notna(), None)
        return {
            "method": self.method,
            "level": self.level,
            "scales": {c: s.describe() for c, s in self.scales.items()},
            "backtest": self.backtest.astype(object)
            .where(self.backtest.notna(), None)
            .to_dict(orient="records"),
            "cells": cells.to_dict(orient="records"),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False, default=float) + "\n"


def _fmt_benchmarks(table: pd.DataFrame, scales: dict[str, Scale], level: float) -> str:
    out = pd.DataFrame(index=table.index)
    out["unit"] = table["unit"]
    out["observed"] = table["observed"]
    out["predicted"] = table["predicted"]
    fmt = {c: scales[c].format for c in table.index}
    out["held-out MedAE"] = [fmt[c](v) for c, v in table["heldout_medae"].items()]
    out[f"median {level:.0%} width"] = [
        fmt[c](v) if np.isfinite(v) else "-" for c, v in table["median_width"].items()
    ]
    return out.to_string()


def complete(
    frame: pd.DataFrame,
    scales: dict[str, Scale] | None = None,
    *,
    level: float = 0.9,
    random_state: int = 0,
    candidates: Any = None,
) -> CompletionResult:
    """Fill every missing cell of ``frame`` (models as index, benchmarks as columns, NaN =
    missing; each column in the unit of ``scales``, default fractions)."""
    scales = scales or {c: Scale("fraction", 3) for c in frame.columns}
    X = frame.to_numpy(dtype=float)
    _check(frame, X)
    F = np.column_stack([scales[c].to_fraction(X[:, j]) for j, c in enumerate(frame.columns)])
    mc = MatrixCompleter(candidates=candidates, level=level, random_state=random_state).fit(F)
    lo, hi = mc.intervals()
    observed = ~np.isnan(X)

    def back(A: np.ndarray) -> np.ndarray:
        return np.column_stack([scales[c].from_fraction(A[:, j]) for j, c in enumerate(frame)])

    def units(A: np.ndarray, keep: bool) -> pd.DataFrame:
        U = np.where(observed, X if keep else np.nan, back(A))
        return pd.DataFrame(U, index=frame.index, columns=frame.columns)

    held = back(mc.heldout_[mc.chosen_])
    heldout_error = pd.Series(_nanmedian(np.abs(held - X)), index=frame.columns)
    return CompletionResult(
        values=units(mc.values_, keep=True),
        lower=units(lo, keep=False),
        upper=units(hi, keep=False),
        observed=pd.DataFrame(observed, index=frame.index, columns=frame.columns),
        scales=scales,
        method=mc.chosen_,
        level=level,
        backtest=mc.scores_,
        heldout_error=heldout_error,
        estimator=mc.estimator_,
    )


def _nanmedian(A: np.ndarray) -> np.ndarray:
    """Column medians over the non-NaN entries (NaN for a column with none)."""
    return np.array([np.median(c[~np.isnan(c)]) if (~np.isnan(c)).any() else np.nan for c in A.T])


def _check(frame: pd.DataFrame, X: np.ndarray) -> None:
    observed = ~np.isnan(X)
    empty = [str(c) for c, n in zip(frame.columns, observed.sum(axis=0), strict=True) if n == 0]
    if empty:
        raise CapabilityDataError(f"column {empty[0]!r} has no scores")
    rows = np.flatnonzero(~observed.any(axis=1))
    if len(rows):
        raise CapabilityDataError(f"model {frame.index[rows[0]]!r} has no score to complete from")
