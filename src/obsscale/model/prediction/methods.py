"""How a downstream predictor learns: its inputs and its method, as objects rather than strings.

- **Inputs** (``Factors``, ``LogFlops``, ``LogParams``): what a predictor is fed. The factor
  predictor is the observational scaling law; the two compute-only ones are its baselines.
- **Methods**: ``PaperMethod`` fits one link of its inputs with a pairs-bootstrap interval
  (the reference's predictor); ``DefaultMethod`` lets nested back-tests on the training
  side choose and weight candidates (``tuning.choose``) and calibrates split-conformal
  intervals on the same back-tests (``calibration.calibrate``).

A method's ``fit`` returns a fitted method with one contract, so that back-tests, forecasts
of planned models (factor draws from a family line) and forecasts from a model's own scores
(imputed factors with their uncertainty) all get the same predictions and the same intervals.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol

import numpy as np

from obsscale.config import PredictConfig
from obsscale.exceptions import PredictError
from obsscale.model.prediction.calibration import BootScale, Calibrated, calibrate
from obsscale.model.prediction.candidates import regressor_params, spec_inputs
from obsscale.model.prediction.ensemble import Ensemble
from obsscale.model.prediction.intervals import (
    BootstrapFit,
    fit_with_bootstrap,
    prediction_interval,
)
from obsscale.model.prediction.tuning import Choice, choose, inner_folds

#: every input a method may combine, by name, over the same rows (NaN: unknown for that row)
Features = dict[str, np.ndarray]


class Inputs:
    """What a predictor is fed; ``name`` keys its candidates in ``candidates.SPECS``."""

    name: ClassVar[str]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(self.name)


class Factors(Inputs):
    """The capability factors: PCA of the basis benchmarks (the observational scaling law)."""

    name = "pc"


class LogFlops(Inputs):
    """log10 training FLOPs alone (a compute-only baseline)."""

    name = "log_flops"


class LogParams(Inputs):
    """log10 parameters alone (a compute-only baseline)."""

    name = "log_params"


#: the back-test's predictors: the factor predictor and its two baselines
PREDICTOR_INPUTS: tuple[Inputs, ...] = (Factors(), LogFlops(), LogParams())


def features(
    pcs: np.ndarray,
    log_flops: np.ndarray,
    log_params: np.ndarray,
    date: np.ndarray | None = None,
) -> Features:
    """Each input for every row, from the factors (n x k) and the two compute columns;
    ``date`` (release date in years, NaN: unknown) is no predictor's input, only what the
    default method's nested cutoffs of a date split cut."""
    return {
        "pc": pcs,
        "log_flops": log_flops[:, None],
        "log_params": log_params[:, None],
        "pc+log_flops": np.column_stack([pcs, log_flops]),
        "date": (np.full(len(pcs), np.nan) if date is None else date)[:, None],
    }


class FittedMethod(Protocol):
    """A method fitted on training rows: what it predicts for any rows, with intervals."""

    @property
    def reference(self) -> BootstrapFit:
        """The link the curves and coefficients describe."""

    @property
    def reference_inputs(self) -> str:
        """That link's inputs (a key of ``Features``, or ``pcK``: the first K factors)."""

    @property
    def choice(self) -> Choice | None:
        """What the nested back-tests chose (None: the paper method)."""

    def predict(
        self, feats: Features, low: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction, lower and upper bound of every row (NaN where it cannot be scored)."""
        ...

    def predict_draws(
        self, point: Features, draws: Features, low: float, rng: np.random.Generator
    ) -> tuple[float, float, float]:
        """One row known only through draws of its inputs: the prediction at ``point`` and an
        interval that carries the draws' spread as well as the method's own error."""
        ...


@dataclass(frozen=True)
class PaperMethod:
    """The paper's predictor: one link (``settings.form``) of the inputs, least squares, and
    a pairs-bootstrap interval (refits plus resampled residuals)."""

    name: ClassVar[str] = "paper"
    settings: PredictConfig = field(default_factory=lambda: PredictConfig(method="paper"))

    def __post_init__(self) -> None:
        if self.settings.method != "paper":  # the paper's solver (finite differences)
            object.__setattr__(self, "settings", replace(self.settings, method="paper"))

    def fit(
        self, feats: Features, y: np.ndarray, inputs: Inputs, rng: np.random.Generator
    ) -> PaperFit:
        X = feats[inputs.name]
        ok = np.isfinite(X).all(axis=1)
        fit = _bootstrap(X[ok], y[ok], inputs, self.settings, rng, {})
        return PaperFit(fit, inputs.name, self.settings.interval)


@dataclass(frozen=True)
class DefaultMethod:
    """The default: candidates (inputs, link form, ridge) chosen and weighted by nested
    back-tests on the training side, split-conformal intervals calibrated on the same ones.
    ``shift``: correct the predictions by the back-tests' median error (only where the
    question asked is theirs: predicting past a cutoff of ``nested_by``). ``nested_by``: what
    the nested cutoffs cut, as the outer split does (``log_flops``, ``date`` or ``rank``: the
    first factor), so that the inner back-tests ask the outer question."""

    name: ClassVar[str] = "obsscale"
    settings: PredictConfig = field(default_factory=PredictConfig)
    shift: bool = False
    nested_by: str = "log_flops"

    def fit(
        self, feats: Features, y: np.ndarray, inputs: Inputs, rng: np.random.Generator
    ) -> DefaultFit:
        pconf, logf = self.settings, feats["log_flops"][:, 0]
        if not np.isfinite(feats[inputs.name]).all(axis=1).any():  # as the paper method says
            raise PredictError(f"{inputs.name}: none of the training models has this predictor")
        train = np.ones(len(y), bool)
        order = feats["pc"][:, 0] if self.nested_by == "rank" else feats[self.nested_by][:, 0]
        folds = inner_folds(order, train, pconf.inner_quantiles, pconf.random_state)
        choice = choose(feats, y, folds, inputs.name, pconf)
        calibration = calibrate(choice, feats, y, folds, pconf, self.shift)
        choice = replace(choice, calibration=calibration)  # reported with the choice
        try:
            ens = Ensemble.fit(choice, feats, y, train, pconf)
        except ValueError as e:  # too few training models with these inputs, as _bootstrap says
            raise PredictError(f"{inputs.name}: {e}") from e
        # the best member with its bootstrap: what the curves and coefficients describe, and
        # the bootstrap's error scale that the interval model may combine with the nested one
        X = spec_inputs(feats, choice.inputs)
        ok = np.isfinite(X).all(axis=1)
        params = regressor_params(choice.form, choice.ridge, pconf)
        best = ReferenceLink(X[ok], y[ok], inputs, pconf, _copy(rng), params)
        calibrated = Calibrated.fit(ens, calibration, logf, train)
        return DefaultFit(best, choice.inputs, choice, calibrated)


def method_for(pconf: PredictConfig, *, shift: bool = False) -> PaperMethod | DefaultMethod:
    """The method a ``PredictConfig`` names (``shift``: see ``DefaultMethod``)."""
    if pconf.method == "paper":
        return PaperMethod(pconf)
    return DefaultMethod(pconf, shift)


def _bootstrap(
    X: np.ndarray,
    y: np.ndarray,
    inputs: Inputs,
    pconf: PredictConfig,
    rng: np.random.Generator,
    params: dict[str, object],
) -> BootstrapFit:
    if len(y) == 0:
        raise PredictError(f"{inputs.name}: none of the training models has this predictor")
    try:
        return fit_with_bootstrap(X, y, pconf, rng, **params)
    except ValueError as e:
        raise PredictError(f"{inputs.name}: {e}") from e


@dataclass(frozen=True)
class PaperFit:
    """The paper's link, fitted, with its bootstrap."""

    reference: BootstrapFit
    reference_inputs: str
    level: float  # of the intervals
    choice: Choice | None = None

    def predict(
        self, feats: Features, low: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        X = feats[self.reference_inputs]
        ok = np.isfinite(X).all(axis=1)
        out = np.full((3, len(X)), np.nan)
        out[0, ok] = self.reference.reg.predict(X[ok])
        out[1, ok], out[2, ok] = prediction_interval(self.reference, X[ok], self.level, rng)
        return out[0], out[1], out[2]

    def predict_draws(
        self, point: Features, draws: Features, low: float, rng: np.random.Generator
    ) -> tuple[float, float, float]:
        """Every bootstrap link at every draw, plus a resampled residual; clipped to the
        metric's range."""
        fit = self.reference
        y = fit.reg.predict_thetas(fit.thetas, draws[self.reference_inputs])
        y = np.clip(y + rng.choice(fit.residuals, size=y.shape, replace=True), low, 1.0)
        lo, hi = np.quantile(y, [(1 - self.level) / 2, (1 + self.level) / 2])
        pred = float(np.clip(fit.reg.predict(point[self.reference_inputs])[0], low, 1.0))
        return pred, float(lo), float(hi)


@dataclass(frozen=True)
class ReferenceLink:
    """The default method's best member, refitted with its own bootstrap when first asked
    for (``fit``): back-tests draw their curves and coefficients from it, and the intervals
    its error scale where the interval model combines it (``interval_prior``); with the
    nested scale alone nothing reads it, and it is a fifth of a default-method fit. ``rng``
    is a copy of the fit's stream where the fit left it, so that the bootstrap draws what it
    would have drawn then."""

    X: np.ndarray
    y: np.ndarray
    inputs: Inputs
    pconf: PredictConfig
    rng: np.random.Generator
    params: dict[str, object]

    def fit(self) -> BootstrapFit:
        return _bootstrap(self.X, self.y, self.inputs, self.pconf, _copy(self.rng), self.params)


def _copy(rng: np.random.Generator) -> np.random.Generator:
    """A generator at the same point of the same stream (drawing from it leaves ``rng``)."""
    return copy.deepcopy(rng)


@dataclass(frozen=True)
class DefaultFit:
    """The chosen ensemble with its calibrated intervals, and its best member's bootstrap
    (fitted on first use: ``ReferenceLink``). Its predictions draw no random numbers."""

    link: ReferenceLink
    reference_inputs: str
    choice: Choice
    calibrated: Calibrated

    @functools.cached_property
    def reference(self) -> BootstrapFit:
        """The link the curves and coefficients describe (its fit's errors are
        ``PredictError``s, as the method's own)."""
        return self.link.fit()

    def _on(self, feats: Features) -> Calibrated:
        """The fitted ensemble and calibration, applied to other rows' inputs."""
        ens = self.calibrated.ens
        members = [
            (reg, w, spec_inputs(feats, m.inputs))
            for (reg, w, _), (m, _) in zip(ens.members, self.choice.members, strict=True)
        ]
        boot = None  # the bootstrap is fitted only where the interval model uses its scale
        if self.calibrated.calibration.exponents[1] != 0:
            boot = BootScale(self.reference, spec_inputs(feats, self.choice.inputs))
        return replace(
            self.calibrated, ens=Ensemble(members), logf=feats["log_flops"][:, 0], boot=boot
        )

    def predict(
        self, feats: Features, low: float, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        on = self._on(feats)
        rows = on.ens.scorable()
        out = np.full((3, len(rows)), np.nan)
        out[:, rows] = on.predict(rows, low)
        return out[0], out[1], out[2]

    def predict_draws(
        self, point: Features, draws: Features, low: float, rng: np.random.Generator
    ) -> tuple[float, float, float]:
        """The calibrated half-widths at the point, and the spread of the ensemble over the
        draws, added in quadrature (independent errors: the method's own, and where the
        inputs lie)."""
        pred, lo, hi = (float(v[0]) for v in self.predict(point, low, rng))
        if not math.isfinite(pred):
            return pred, lo, hi
        spread = self.predict(draws, low, rng)[0]
        level = self.calibrated.calibration.level
        q_lo, q_hi = np.nanquantile(spread, [(1 - level) / 2, (1 + level) / 2])
        lower = pred - math.hypot(pred - lo, max(pred - float(q_lo), 0.0))
        upper = pred + math.hypot(hi - pred, max(float(q_hi) - pred, 0.0))
        return pred, max(lower, low), min(upper, 1.0)
