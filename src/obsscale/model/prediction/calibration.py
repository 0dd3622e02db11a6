"""Calibrated intervals of the default method: split-conformal on the nested back-tests, with
an error scale that grows with the distance past the training frontier.

Why: a bootstrap (or delta-method) interval covers the noise of refitting, not the error of
predicting past the largest training model, and the latter is most of the error of a forecast.
The nested FLOPs cutoffs of ``tuning`` ask that same question inside the training side (train
below a cutoff, predict above it), so their errors calibrate the outer interval. For every
inner test model, pooled over the cutoffs (a model above several cutoffs counts once per
cutoff, at its distance from each), the ensemble is refitted on that cutoff's training side
and we record its absolute error and two distances past that side's frontier:

- ``d_flops``: log10 FLOPs above the largest training model's (0 within it, or unknown);
- ``d_level``: the prediction above the highest fitted value on the training side (a
  prediction reaching a level the fit never saw, e.g. a task leaving its floor, errs more).

The error scale ``s(x) = a + b·d_flops + c·d_level`` is fitted to the absolute errors by
non-negative least squares (errors do not shrink with distance; ``a`` is kept at least a
tenth of the median error, so that no score divides by ~0). The scores |e| / s(x) are treated
as exchangeable between the inner and the outer test models; their finite-sample conformal
quantile ``q`` (rank ⌈(m+1)·level⌉ of m; infinite when m is too small) gives the outer
half-width ``q·s(x)``, with the distances measured from the outer training side's frontier.
With the cross-task interval model (``interval_prior``) this nested scale is combined with
the best member's bootstrap scale, ``q·s(x)^a·boot(x)^b``, (a, b) learned on the design tasks.
Intervals are clipped to the metric's range. Absolute errors, not logits: on the logit scale
the errors of models near 0 dominate and the intervals of mid-range models come out too narrow.

Where the outer split asks the nested back-tests' own question (a cutoff of what they cut:
FLOPs, release date or rank by the first factor; ``splits.Split.nested_by``), their
systematic error is corrected too: the median signed inner error (``shift``; e.g. a task on
which larger models keep beating the fitted trend), as far as the evidence supports it
(``evidence.supported_shift``), is added to every prediction, and the conformal scores are
taken around it (|e - shift|). Splits of another kind (family, K-fold) ask an interpolation
question the cutoffs do not, and get no shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from obsscale.config import PredictConfig
from obsscale.model.prediction import interval_prior
from obsscale.model.prediction.conformal import (
    CROSS_TASK,
    CROSS_TASK_FLAT,
    Calibration,
)
from obsscale.model.prediction.ensemble import Ensemble
from obsscale.model.prediction.evidence import supported_shift
from obsscale.model.prediction.intervals import BootstrapFit, bootstrap_scale
from obsscale.model.prediction.tuning import Choice

MIN_CONST = 0.1  # the scale at the frontier, as a fraction of the median inner error


@dataclass(frozen=True)
class Frontier:
    """Where a training side ends: its largest log-FLOPs and highest fitted value."""

    log_flops: float
    level: float

    @classmethod
    def of(cls, ens: Ensemble, logf: np.ndarray, train: np.ndarray) -> Frontier:
        rows = train & ens.scorable()
        known = logf[train & np.isfinite(logf)]
        top = float(known.max()) if known.size else math.inf
        return cls(top, float(ens.predict(rows).max()) if rows.any() else math.inf)

    def terms(self, pred: np.ndarray, logf: np.ndarray) -> np.ndarray:
        """The scale's regressors (1, d_flops, d_level) at each prediction."""
        with np.errstate(invalid="ignore"):
            d_flops = np.nan_to_num(np.maximum(logf - self.log_flops, 0), posinf=0.0)
        d_level = np.maximum(pred - self.level, 0)
        return np.column_stack([np.ones(len(pred)), d_flops, d_level])


@dataclass(frozen=True)
class BootScale:
    """The best member's bootstrap and its inputs for every row: the bootstrap's error scale
    (``intervals.bootstrap_scale``) that the interval model combines with the nested one."""

    fit: BootstrapFit
    X: np.ndarray  # the member's inputs, every row (NaN: unknown)

    def at(self, rows: np.ndarray) -> np.ndarray:
        X = self.X[rows]
        ok = np.isfinite(X).all(axis=1)
        out = np.full(len(X), np.nan)
        out[ok] = bootstrap_scale(self.fit, X[ok])
        return out


@dataclass(frozen=True)
class Calibrated:
    """An ensemble fitted on the training side, with its calibrated intervals."""

    ens: Ensemble
    calibration: Calibration
    logf: np.ndarray  # log10 FLOPs of every row (NaN: unknown)
    frontier: Frontier
    boot: BootScale | None = None  # where the calibration combines the bootstrap's scale

    @classmethod
    def fit(
        cls,
        ens: Ensemble,
        calibration: Calibration,
        logf: np.ndarray,
        train: np.ndarray,
        boot: BootScale | None = None,
    ) -> Calibrated:
        return cls(ens, calibration, logf, Frontier.of(ens, logf, train), boot)

    def predict(self, rows: np.ndarray, low: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction, lower and upper bound of the rows; ``low`` is the metric's minimum."""
        pred = self.ens.predict(rows)
        terms = self.frontier.terms(pred, self.logf[rows])  # unshifted, as in the calibration
        pred = np.clip(pred + self.calibration.shift, low, 1.0)
        uses_boot = self.boot is not None and self.calibration.exponents[1] != 0
        boot = self.boot.at(rows) if uses_boot and self.boot is not None else None
        lo, hi = self.calibration.interval(pred, terms, low, boot)
        return pred, lo, hi


def calibrate(
    choice: Choice,
    features: dict[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    pconf: PredictConfig,
    shift: bool = False,
) -> Calibration:
    """The chosen ensemble refitted on each nested cutoff's training side (single-start fits,
    as in the selection, which already made them); its errors on the cutoff's test side
    calibrate the interval (through the cross-task model ``interval_prior`` in force), and
    with ``shift`` their median corrects the predictions as far as the evidence supports."""
    signed, Z, rows, cuts = _inner_errors(choice, features, y, folds, pconf)
    prior = interval_prior.active()
    if not len(signed) and prior is None:
        return Calibration(np.array([1.0, 0.0, 0.0]), math.inf, 0, pconf.interval)
    use_shift = shift and not choice.flat and len(signed) > 0
    bias = supported_shift(signed, rows, pconf.random_state, cuts) if use_shift else 0.0
    err = np.abs(signed - bias)
    if prior is None:  # each task's own errors alone
        coef = fit_scale(err, Z)
        q = conformal_quantile(err / (Z @ coef), pconf.interval)
        return Calibration(coef, q, len(err), pconf.interval, bias)
    train = folds[0][0] | folds[0][1] if folds else np.isfinite(y)
    spread = float(np.std(y[train])) if train.any() else 0.0
    m = len(np.unique(rows))
    rec = interval_prior.InnerRecord(err, Z, m, spread, choice.flat, choice.predictor)
    interval_prior.record(rec)
    q, q_flat = prior.multipliers(pconf.interval)
    if choice.flat:
        return Calibration(
            prior.coefficients(1.0), q_flat, len(err), pconf.interval, rule=CROSS_TASK_FLAT
        )
    coef = prior.coefficients(prior.sigma(err, Z, m, spread))
    exponents = (prior.nested_exponent, prior.bootstrap_exponent)
    return Calibration(coef, q, len(err), pconf.interval, bias, CROSS_TASK, exponents)


def _inner_errors(
    choice: Choice,
    features: dict[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    pconf: PredictConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signed errors of the ensemble on every nested cutoff's test side, their scale terms,
    the row of each (a model above several cutoffs errs once per cutoff) and its cutoff."""
    logf = features["log_flops"][:, 0]
    errors, terms, rows_of, cuts = [], [], [], []
    for k, (tr, te) in enumerate(folds):
        try:
            ens = Ensemble.of_fold(choice, features, k) or Ensemble.fit(
                choice, features, y, tr, pconf
            )
        except ValueError:  # a candidate that cannot be fitted on this side: skip the cutoff
            continue
        rows = te & ens.scorable()
        pred = ens.predict(rows)
        errors.append(y[rows] - pred)
        terms.append(Frontier.of(ens, logf, tr).terms(pred, logf[rows]))
        rows_of.append(np.flatnonzero(rows))
        cuts.append(np.full(int(rows.sum()), k))
    if not errors:
        return np.empty(0), np.empty((0, 3)), np.empty(0, int), np.empty(0, int)
    return (
        np.concatenate(errors),
        np.vstack(terms),
        np.concatenate(rows_of),
        np.concatenate(cuts),
    )


def fit_scale(err: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Non-negative least squares of the absolute errors on the scale's terms."""
    if len(err) == 0:
        return np.array([1.0, 0.0, 0.0])
    coef = nnls(Z, err)[0]
    coef[0] = max(coef[0], MIN_CONST * float(np.median(err)), 1e-9)
    return coef


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The split-conformal quantile: the ⌈(m+1)·level⌉-th smallest of m scores, which covers
    a new exchangeable score with probability at least ``level`` (infinite when that rank
    exceeds m)."""
    scores = np.sort(scores[np.isfinite(scores)])
    rank = math.ceil((len(scores) + 1) * level)
    return float(scores[rank - 1]) if rank <= len(scores) else math.inf
