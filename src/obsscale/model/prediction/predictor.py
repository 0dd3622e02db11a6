"""The one downstream predictor: fit on training rows, predict any rows with intervals.

``DownstreamPredictor`` is what back-tests (``model.backtest``, a clone per fold), forecasts
(``model.forecast``: factor draws of a planned model, or a model's own imputed factors) and
the report use, so that all of them get the same method and the same calibrated intervals.

The target is fitted on ``(y - chance) / (1 - chance)`` (the reference's normalisation);
``predict`` reports both that scale and the raw one. Rows are used in model-id order, so the
fit does not depend on the order of the input table.
"""

from __future__ import annotations

from dataclasses import replace
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from obsscale.config import DEFAULT_SCORE_PAIRS, CapabilityConfig, PredictConfig
from obsscale.exceptions import CapabilityDataError, PredictError
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.estimator import BaseEstimator, check_is_fitted
from obsscale.model.params import RANDOM_STATE, Interval, ValidatedParams
from obsscale.model.prediction.candidates import spec_inputs
from obsscale.model.prediction.chance import add_raw_columns, to_normalised
from obsscale.model.prediction.link_forms import Link
from obsscale.model.prediction.methods import (
    DefaultMethod,
    Factors,
    Features,
    FittedMethod,
    Inputs,
    PaperMethod,
    features,
    method_for,
)
from obsscale.model.prediction.targets import candidate_bases, prepare

Method = PaperMethod | DefaultMethod
COLUMNS = ("predicted", "lower", "upper")


class DownstreamPredictor(ValidatedParams, BaseEstimator):
    """A downstream metric predicted from capability factors (or a compute baseline).

    Parameters
    ----------
    method : PaperMethod or DefaultMethod (default ``DefaultMethod()``)
    inputs : Factors (default), LogFlops or LogParams
    link : a ``links.Link`` subclass (e.g. ``Floor``) for the paper method's link form;
        None keeps its settings' form (the default method chooses its own forms)
    interval : nominal coverage of the prediction intervals (None: the method's setting)
    chance : the metric's chance level
    capabilities : the factor model's settings (basis, components, imputation)
    score_pairs : columns that are the same benchmark from two sources (``[audit]``),
        left out of a target's basis together with it
    random_state : seed (int or ``numpy.random.SeedSequence``) of the bootstrap; None: the
        method's ``random_state``
    """

    # checked when fitting, so that a string where a strategy object belongs (method="paper")
    # or a level outside (0, 1) is one clear error naming the parameter, not an AttributeError
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "method": [PaperMethod, DefaultMethod, None],
        "inputs": [Inputs, None],
        "link": [type, None],
        "interval": [Interval(Real, 0, 1, closed="neither"), None],
        "chance": [Interval(Real, 0, 1, closed="left")],
        "capabilities": [CapabilityConfig, None],
        "score_pairs": [tuple],
        "random_state": [RANDOM_STATE, np.random.SeedSequence, None],
    }

    def __init__(
        self,
        *,
        method: Method | None = None,
        inputs: Inputs | None = None,
        link: type[Link] | None = None,
        interval: float | None = None,
        chance: float = 0.0,
        capabilities: CapabilityConfig | None = None,
        score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
        random_state: int | np.random.SeedSequence | None = None,
    ) -> None:
        self.method = method
        self.inputs = inputs
        self.link = link
        self.interval = interval
        self.chance = chance
        self.capabilities = capabilities
        self.score_pairs = score_pairs
        self.random_state = random_state

    @classmethod
    def from_config(
        cls,
        pconf: PredictConfig,
        capabilities: CapabilityConfig | None = None,
        *,
        chance: float = 0.0,
        score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
    ) -> DownstreamPredictor:
        """The factor predictor the settings describe (``pconf.method`` names the method)."""
        return cls(
            method=method_for(pconf),
            chance=chance,
            capabilities=capabilities,
            score_pairs=score_pairs,
        )

    def resolved_method(self) -> Method:
        """The method with this predictor's interval level and link applied."""
        method = self.method or DefaultMethod()
        settings = method.settings
        if self.interval is not None:
            settings = _replace(settings, interval=self.interval)
        if self.link is not None:
            if not isinstance(method, PaperMethod):
                raise PredictError(
                    "link: the default method chooses its link forms by nested back-tests; "
                    "give a link with method=PaperMethod()"
                )
            settings = _replace(settings, form=self.link.name)
        return _replace(method, settings=settings)

    def fit(
        self,
        models: pd.DataFrame,
        target: str,
        *,
        factors: CapabilityPCA | CapabilityFit | None = None,
    ) -> DownstreamPredictor:
        """Fit on the rows of ``models`` that have the target and a basis score.

        ``factors``: a capability model already fitted, or the ``CapabilityFit`` that holds
        one (its benchmarks are the basis); by default one is fitted on these rows, on a basis
        chosen without the target."""
        self._validate_params()
        if isinstance(factors, CapabilityFit):
            factors = factors.pca
        method, cfg = self.resolved_method(), self.capabilities or CapabilityConfig()
        basis = None if factors is None else [str(b) for b in factors.feature_names_in_]
        task = prepare(
            models,
            target,
            self.chance,
            candidate_bases(cfg),
            self.score_pairs,
            method.settings.scale,
            cfg.basis_margin,
            basis=basis,
        )
        self.factors_ = factors or fit_factors(task.data[task.basis], cfg)
        self.basis_, self.target_, self.notes_ = task.basis, target, task.notes
        feats = self._features(task.data)
        rng = np.random.default_rng(
            method.settings.random_state if self.random_state is None else self.random_state
        )
        self.fitted_: FittedMethod = method.fit(feats, task.y.to_numpy(), self._inputs(), rng)
        self.rng_state_ = rng.bit_generator.state  # predict continues this stream, each time
        self.n_train_ = len(task.y)
        return self

    def predict(
        self,
        models: pd.DataFrame,
        *,
        factors: np.ndarray | None = None,
        draws: np.ndarray | None = None,
        random_state: int | np.random.SeedSequence | np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Point predictions and interval bounds of every row (NaN where it cannot be scored),
        on the normalised scale and (``*_raw``) the metric's own.

        ``factors`` (n x k) replace the factors of the rows' basis scores (e.g. a planned
        model's position on its family line); ``draws`` (n x S x k) are draws of each row's
        factors, whose spread the intervals then carry too. ``random_state`` seeds the
        bootstrap's residual draws (None: the stream the fit left, the same at every call)."""
        check_is_fitted(self, "fitted_")
        feats = self._features(models, factors)
        rng = self._rng(random_state)
        low = to_normalised(0.0, self.chance)  # the metric's 0 on the fitted scale
        if draws is None:
            out = np.column_stack(self.fitted_.predict(feats, low, rng))
        else:
            out = np.array(
                [
                    self.fitted_.predict_draws(
                        _row(feats, i), self._draw_features(feats, i, draws[i]), low, rng
                    )
                    for i in range(len(models))
                ]
            ).reshape(len(models), 3)
        frame = pd.DataFrame(out, index=models.index, columns=list(COLUMNS))
        return add_raw_columns(frame, COLUMNS, self.chance)

    def reference_inputs(self, models: pd.DataFrame) -> np.ndarray:
        """The inputs of the reference link (the curves' and coefficients') for the rows."""
        check_is_fitted(self, "fitted_")
        return spec_inputs(self._features(models), self.fitted_.reference_inputs)

    def _inputs(self) -> Inputs:
        return self.inputs or Factors()

    def _rng(self, random_state: Any) -> np.random.Generator:
        if random_state is not None:
            return np.random.default_rng(random_state)
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state_
        return rng

    def _features(self, models: pd.DataFrame, factors: np.ndarray | None = None) -> Features:
        """Every input of every row: factors of its basis scores (or those given), log-FLOPs
        and log-parameters (NaN where unknown)."""
        if factors is None:
            scores = models.reindex(columns=self.basis_)
            has = scores.notna().any(axis=1).to_numpy()
            factors = np.full((len(models), self.factors_.n_components), np.nan)
            if has.any():
                factors[has] = self.factors_.transform(scores[has])
        return features(
            factors,
            _log10(models, "flops", 1.0),
            _log10(models, "params_b", 1e9),
            _years(models),
        )

    def _draw_features(self, feats: Features, i: int, draws: np.ndarray) -> Features:
        def rep(key: str) -> np.ndarray:
            return np.repeat(feats[key][i, 0], len(draws))

        return features(draws, rep("log_flops"), rep("log_params"), rep("date"))


def fit_factors(scores: pd.DataFrame, cfg: CapabilityConfig) -> CapabilityPCA:
    """The capability model of ``cfg`` fitted on these rows' basis scores."""
    try:
        return CapabilityPCA.from_config(cfg).fit(scores)
    except CapabilityDataError as e:
        raise PredictError(f"capability model on the {len(scores)} training models: {e}") from e


def _log10(models: pd.DataFrame, column: str, unit: float) -> np.ndarray:
    if column not in models.columns:
        return np.full(len(models), np.nan)
    values = pd.to_numeric(models[column], errors="coerce")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(values.where(values > 0).to_numpy(dtype=float) * unit)


def _years(models: pd.DataFrame) -> np.ndarray:
    """Release dates in (fractional) years since 1970; NaN where unknown."""
    if "release_date" not in models.columns:
        return np.full(len(models), np.nan)
    dates = pd.to_datetime(models["release_date"], errors="coerce")
    days = (dates - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
    return days / 365.25


def _row(feats: Features, i: int) -> Features:
    return {k: v[i : i + 1] for k, v in feats.items()}


def _replace(obj: Any, **changes: Any) -> Any:
    return replace(obj, **changes)
