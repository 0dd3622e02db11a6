"""Capability curves: the fitted link drawn against the reference family's equivalent FLOPs
(the reference's construction) and the baselines over their own compute axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from obsscale.config import PredictConfig
from obsscale.model.prediction.chance import add_raw_columns
from obsscale.model.prediction.intervals import band

if TYPE_CHECKING:
    from obsscale.model.prediction.records import FoldFit


def capability_curve(
    data: pd.DataFrame,
    fold: FoldFit,
    reference: str,
    pconf: PredictConfig,
    chance: float,
    rng: np.random.Generator,
    notes: list[str],
) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """The factor predictor's curve against the reference family's equivalent FLOPs, and every
    model's position on that axis (log10 equivalent FLOPs, by model id).

    As in the reference: regress the linear predictor z = w·PCs + c of the reference family's
    models on their log10 FLOPs, invert the line to put every model on that compute axis, and
    draw sigmoid(w_e·log10 F + b_e) past the largest model, with a bootstrap band (each
    bootstrap fit with its own reference line).
    """
    fit, X = fold.fits["pc"], fold.inputs["pc"]
    ref = (data["family"] == reference).to_numpy() & data["flops"].notna().to_numpy()
    ref &= np.isfinite(X).all(axis=1)
    if ref.sum() < 2:
        notes.append(
            f"no capability curve: fewer than 2 {reference} models with known FLOPs "
            "have this target"
        )
        return None, None
    logf = np.log10(data.loc[ref, "flops"].to_numpy(dtype=float))
    [w_e], [b_e] = _lines(logf, fit.reg.linear_predictor(X[ref])[None, :])
    if not w_e > 0:
        notes.append(
            f"no capability curve: the factor predictor does not increase with {reference} compute"
        )
        return None, None
    ok = np.isfinite(X).all(axis=1)
    eq = (fit.reg.linear_predictor(X[ok]) - b_e) / w_e
    grid = np.linspace(eq.min() - 0.25, max(eq.max(), logf.max()) + pconf.extrapolate_decades, 120)
    center = fit.reg.link(w_e * grid + b_e)
    wt, bt = _lines(logf, fit.reg.linear_predictor_thetas(fit.thetas, X[ref]))  # B x n_ref
    curves = fit.reg.link_thetas(fit.thetas, wt[:, None] * grid + bt[:, None])
    lo, hi = band(curves, fit, pconf.interval, rng)
    curve = _curve_frame(grid, center, lo, hi, chance, "log10_equivalent_flops").assign(
        reference_family=reference, slope=w_e, intercept=b_e
    )
    return curve, pd.Series(eq, index=data.loc[ok, "model"].to_numpy())


def _lines(x: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of OLS of each row of ``Z`` on ``x`` (closed form, batched)."""
    xc = x - x.mean()
    slope = (Z - Z.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return slope, Z.mean(axis=1) - slope * x.mean()


def _curve_frame(
    x: np.ndarray,
    center: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    chance: float,
    x_name: str,
) -> pd.DataFrame:
    """A curve with its band on the normalised and the raw metric scale."""
    frame = pd.DataFrame({x_name: x, "predicted": center, "lower": lo, "upper": hi})
    return add_raw_columns(frame, ("predicted", "lower", "upper"), chance)


def baseline_curves(
    fold: FoldFit, pconf: PredictConfig, chance: float, rng: np.random.Generator
) -> pd.DataFrame | None:
    """The compute-only predictors' sigmoids over their own axis (log10 FLOPs or params),
    extended as far past the largest model as the capability curve; those left out of the
    back-test have none (None: neither was fitted)."""
    parts = []
    for name in (n for n in ("log_flops", "log_params") if n in fold.fits):
        fit = fold.fits[name]
        x = fold.inputs[name][:, 0]
        x = x[np.isfinite(x)]
        grid = np.linspace(x.min() - 0.25, x.max() + pconf.extrapolate_decades, 120)[:, None]
        center = fit.reg.predict(grid)
        lo, hi = band(fit.reg.predict_thetas(fit.thetas, grid), fit, pconf.interval, rng)
        curve = _curve_frame(grid[:, 0], center, lo, hi, chance, "x")
        parts.append(curve.assign(predictor=name))
    return pd.concat(parts, ignore_index=True) if parts else None
