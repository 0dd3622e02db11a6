"""Forecast the scores of a model that is only planned, or only partly evaluated.

Every forecast goes through the same fitted ``DownstreamPredictor`` as the back-tests (the
configured method: the default's ensemble and calibrated intervals, or the paper's link and
bootstrap), fitted on every model with the target:

- a **planned model**: family and compute. The family's capability lines (``lines``) give
  the factors' predictive distribution at that compute; the predictor predicts at the line's
  mean, and its interval carries the spread of the factor draws as well as its own error.
- an **evaluated model**: some benchmark scores. Its factors are imputed from them by the
  fitted capability model; their uncertainty is the imputation's own out-of-sample error,
  measured on the fit's models with every basis score (their factors from all of them,
  against their factors from these benchmarks only, filled by an imputer fitted without
  them: ``capabilities.holdout``, the fills completion's intervals come from), drawn and
  pushed through the predictor as for a planned model.

Filling a whole score matrix (``obsscale complete``, ``forecast --complete``) is
``model.completion``'s job.

Each target gets its own factor basis without the target (and its twins from other
sources, ``[audit] score_pairs``), exactly as in back-tests, so an observed score never
predicts itself. Each (scenario, target) draws from its own seeded stream, so a forecast does
not depend on which other targets or scenarios are asked in the same call, nor on their order.
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from obsscale.config import (
    DEFAULT_SCORE_PAIRS,
    CapabilityConfig,
    Config,
    PredictConfig,
    default_target,
)
from obsscale.exceptions import ExtrapolationWarning, PredictError
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.capabilities.holdout import CrossFitImputer
from obsscale.model.forecast.family_lines import FamilyLines, LinePrediction
from obsscale.model.forecast.results import COLUMNS, ForecastResult
from obsscale.model.prediction.methods import method_for
from obsscale.model.prediction.predictor import DownstreamPredictor, fit_factors
from obsscale.model.prediction.targets import candidate_bases, prepare


@dataclass(frozen=True)
class Scenario:
    """One model to forecast: planned (``family``/``like`` + ``flops``) or evaluated
    (``scores``: observed column -> fraction)."""

    name: str
    family: str | None = None
    flops: float | None = None
    like: str | None = None
    scores: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if self.flops is not None and not (np.isfinite(self.flops) and self.flops > 0):
            raise PredictError(f"{self.name}: FLOPs must be a positive number, got {self.flops}")
        if self.flops is None and not self.scores:
            raise PredictError(f"{self.name}: give a compute (FLOPs) or observed scores")


@dataclass(frozen=True)
class ForecastTarget:
    """A column to forecast and its chance level; left out (NaN), the chance is the configured
    one of that column (``config.default_target``), the same default the CLI uses."""

    column: str
    chance: float = math.nan

    def __post_init__(self) -> None:
        if math.isnan(self.chance):
            object.__setattr__(self, "chance", default_target(self.column).chance)


@dataclass
class TargetModel:
    """Everything needed to forecast one target: the fitted predictor, the family lines of
    its factors, and the cross-fitted imputer of the fit's fully evaluated models (for the
    uncertainty of factors imputed from a few scores)."""

    target: ForecastTarget
    predictor: DownstreamPredictor
    lines: FamilyLines | PredictError  # why there are none (only planned models need them)
    crossfit: CrossFitImputer  # out-of-sample fills of the fully evaluated models

    @property
    def basis(self) -> list[str]:
        return self.predictor.basis_

    @classmethod
    def fit(
        cls,
        models: pd.DataFrame,
        target: ForecastTarget,
        settings: CapabilityConfig,
        pconf: PredictConfig,
        score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
        fixed: CapabilityFit | None = None,
    ) -> TargetModel:
        """The factors fitted on every model with a basis score (or ``fixed``'s, as they
        are), the predictor on those with the target (seeded by the target's name: the same
        whatever else is forecast)."""
        basis = prepare(
            models,
            target.column,
            target.chance,
            candidate_bases(settings),
            score_pairs,
            pconf.scale,
            settings.basis_margin,
            basis=None if fixed is None else list(fixed.benchmarks),
        ).basis
        has_basis = models[basis].notna().any(axis=1)
        rows = models[has_basis].sort_values("model", kind="stable").reset_index(drop=True)
        pca = fixed.pca if fixed else fit_factors(rows[basis], settings)
        factors = pd.DataFrame(pca.transform(rows[basis]), columns=_names(pca))
        with np.errstate(divide="ignore"):
            log_flops = np.log10(rows["flops"].where(rows["flops"] > 0))
        try:
            lines: FamilyLines | PredictError = FamilyLines.fit(factors, log_flops, rows["family"])
        except PredictError as e:  # e.g. frontier models of unknown compute
            lines = e
        predictor = DownstreamPredictor(
            method=method_for(pconf, shift=True),  # forecasts ask the FLOPs cutoffs' question
            chance=target.chance,
            capabilities=settings,
            score_pairs=score_pairs,
            random_state=_seed(pconf.random_state, target.column),
        ).fit(models, target.column, factors=pca)
        crossfit = CrossFitImputer.fit(rows[basis], settings, pconf.random_state)
        return cls(target, predictor, lines, crossfit)

    def imputation_draws(
        self, observed: np.ndarray, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``n`` draws of the error of factors imputed from the ``observed`` basis scores
        only: the fully evaluated models' factors from all of them minus from those alone
        (filled out of sample)."""
        k, full = self.predictor.factors_.n_components, self.crossfit.complete
        if observed.all() or not len(full):
            return np.zeros((n, k))
        pca = self.predictor.factors_
        filled = pd.DataFrame(self.crossfit.refilled(observed), columns=self.basis)
        errors = pca.transform(pd.DataFrame(full, columns=self.basis)) - pca.transform(filled)
        return errors[rng.integers(0, len(errors), size=n)]


def _seed(random_state: int, *keys: str) -> np.random.SeedSequence:
    """A stream of its own for each key (a target, a scenario), stable across calls."""
    return np.random.SeedSequence([random_state, *(zlib.crc32(k.encode()) for k in keys)])


def _names(pca: CapabilityPCA) -> list[str]:
    return [str(n) for n in pca.get_feature_names_out()]


def _prediction(frame: pd.DataFrame) -> dict[str, object]:
    """The raw-scale prediction and interval of a one-row ``predict`` frame."""
    r = frame.iloc[0]
    return {k: float(np.clip(r[f"{k}_raw"], 0.0, 1.0)) for k in ("predicted", "lower", "upper")}


def forecast_planned(
    tm: TargetModel, scenario: Scenario, pconf: PredictConfig, rng: np.random.Generator
) -> dict[str, object]:
    """One target of a planned model: factors from the line, score from the predictor."""
    assert scenario.flops is not None
    if isinstance(tm.lines, PredictError):
        raise tm.lines
    line = tm.lines.predict(np.log10(scenario.flops), scenario.family, scenario.like)
    draws = line.mean + np.sqrt(line.var) * rng.standard_normal((pconf.n_bootstrap, len(line.mean)))
    row = pd.DataFrame({"flops": [scenario.flops]})
    frame = tm.predictor.predict(
        row, factors=line.mean[None, :], draws=draws[None], random_state=rng
    )
    return _prediction(frame) | {
        "derived_from": _describe(line),
        "source_family": line.source_family,
        "decades_past": line.decades_past,
    }


def _describe(line: LinePrediction) -> str:
    return {
        "family": f"{line.source_family} line",
        "anchored": f"pooled slope through {line.source_family}'s model(s)",
        "like": f"{line.source_family} line (--like) + spread of family offsets",
        "pooled": "pooled line across families + spread of family offsets",
    }[line.method]


def forecast_observed(
    tm: TargetModel, scenario: Scenario, pconf: PredictConfig, rng: np.random.Generator
) -> dict[str, object]:
    """One target of an evaluated model: factors imputed from its observed basis scores."""
    scores = dict(scenario.scores)
    row = pd.DataFrame([[scores.get(b, np.nan) for b in tm.basis]], columns=tm.basis)
    n_obs = int(row.notna().sum(axis=1).iloc[0])
    if n_obs == 0:
        raise PredictError(
            f"{scenario.name}: none of its scores is a basis benchmark of {tm.target.column} "
            f"({', '.join(tm.basis)})"
        )
    if scenario.flops is not None:
        row["flops"] = scenario.flops
    frame = tm.predictor.predict(row, draws=_own_draws(tm, row, pconf, rng), random_state=rng)
    return _prediction(frame) | {
        "derived_from": f"observed scores ({n_obs} of {len(tm.basis)} basis benchmarks)",
        "source_family": None,
        "decades_past": np.nan,
    }


def _own_draws(
    tm: TargetModel, rows: pd.DataFrame, pconf: PredictConfig, rng: np.random.Generator
) -> np.ndarray:
    """Draws (n x S x k) of the factors of rows known by some basis scores."""
    factors = tm.predictor.factors_.transform(rows[tm.basis])
    observed = rows[tm.basis].notna().to_numpy()
    return np.stack(
        [
            f + tm.imputation_draws(obs, pconf.n_bootstrap, rng)
            for f, obs in zip(factors, observed, strict=True)
        ]
    )


def forecast(
    models: pd.DataFrame,
    scenarios: list[Scenario],
    targets: list[ForecastTarget],
    *,
    settings: CapabilityConfig | None = None,
    pconf: PredictConfig | None = None,
    max_decades: float = 1.5,
    score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
    factors: CapabilityFit | None = None,
) -> ForecastResult:
    """Forecast every target for every scenario; ``models`` are the fit's rows (e.g. base
    models with basis scores). ``factors``: a ``fit_capabilities`` result whose factors are
    used as they are (its benchmarks are the basis), instead of fitting them on ``models``.
    Deterministic for ``pconf.random_state``; each (scenario, target) is seeded on its own."""
    settings = settings or CapabilityConfig()
    pconf = pconf or PredictConfig()
    _check_asked(scenarios, targets)
    parts = [
        forecast_target(models, scenarios, t, settings, pconf, score_pairs, factors)
        for t in targets
    ]
    return joined(parts, pconf, max_decades)


@dataclass(frozen=True)
class TargetForecasts:
    """One target's forecasts of every scenario (rows of ``ForecastResult``'s frame), and
    its notes."""

    rows: list[dict[str, object]]
    notes: list[str]


def forecast_target(
    models: pd.DataFrame,
    scenarios: list[Scenario],
    target: ForecastTarget,
    settings: CapabilityConfig,
    pconf: PredictConfig,
    score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
    factors: CapabilityFit | None = None,
) -> TargetForecasts:
    """``forecast``'s work for one target: it depends on no other target, so that the
    targets can be forecast apart (``obsscale fit`` shares them out between its workers)
    and ``joined`` in the order asked."""
    _check_asked(scenarios, [target])
    tm = TargetModel.fit(models, target, settings, pconf, score_pairs, factors)
    rows = []
    for sc in scenarios:
        rng = np.random.default_rng(_seed(pconf.random_state, target.column, repr(sc)))
        rows.append(_one(tm, sc, pconf, rng) | {"scenario": sc.name, "target": target.column})
    return TargetForecasts(rows, [f"{target.column}: {n}" for n in tm.predictor.notes_])


def _check_asked(scenarios: list[Scenario], targets: list[ForecastTarget]) -> None:
    if not scenarios or not targets:
        raise PredictError("nothing to forecast: give at least one scenario and one target")


def joined(
    parts: list[TargetForecasts], pconf: PredictConfig, max_decades: float = 1.5
) -> ForecastResult:
    """The forecasts of several targets as one result, in the order given; scenarios past
    ``max_decades`` of compute beyond their line's largest model are noted (and warned of)."""
    frame = pd.DataFrame([r for p in parts for r in p.rows]).reindex(columns=COLUMNS)
    notes = [n for p in parts for n in p.notes]
    notes += _extrapolation_notes(frame, max_decades)
    record = {"max_decades": max_decades, "method": pconf.method}  # whose intervals these are
    return ForecastResult(frame, pconf.interval, notes, settings=record)


def _one(
    tm: TargetModel, sc: Scenario, pconf: PredictConfig, rng: np.random.Generator
) -> dict[str, object]:
    observed = dict(sc.scores).get(tm.target.column)
    if observed is not None and np.isfinite(observed):
        return {"predicted": np.nan, "lower": np.nan, "upper": np.nan, "observed": observed}
    if sc.flops is not None and not sc.scores:
        out = forecast_planned(tm, sc, pconf, rng)
    else:
        out = forecast_observed(tm, sc, pconf, rng)
    return out | {"observed": np.nan}


def _extrapolation_notes(frame: pd.DataFrame, max_decades: float) -> list[str]:
    far = frame[frame["decades_past"].astype(float) > max_decades] if len(frame) else frame
    notes = []
    for sc, grp in far.groupby("scenario", sort=False):
        d = float(grp["decades_past"].max())
        msg = (
            f"{sc}: {d:.1f} decades of compute past the largest model of its line "
            f"(limit {max_decades:g}); the law is extrapolated far outside its data"
        )
        warnings.warn(msg, ExtrapolationWarning, stacklevel=4)  # forecast's caller
        notes.append(msg)
    return notes


def report_scenarios(config: Config, models: pd.DataFrame) -> list[Scenario]:
    """What the report forecasts: the reference line at a grid of compute, and the next
    model (3x and 10x the compute of the largest) of the most recent families."""
    fc, ref = config.forecast, config.capabilities.reference_family
    grid = [Scenario(f"{ref} line at {f:.0e} FLOPs", family=ref, flops=f) for f in fc.grid_flops]
    known = models[models["flops"].notna() & models["family"].notna()]
    known = known[known.groupby("family")["flops"].transform("size") >= 2]
    dates = pd.to_datetime(known["release_date"], errors="coerce")
    latest = dates.groupby(known["family"]).max().dropna().sort_values(ascending=False)
    nxt = []
    for family in latest.index[: fc.recent_families]:
        top = float(known.loc[known["family"] == family, "flops"].max())
        nxt += [
            Scenario(f"{family} next ({m:g}x its largest)", family=family, flops=m * top)
            for m in fc.next_multipliers
        ]
    return grid + nxt
