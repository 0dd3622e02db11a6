"""Forecast the scores of a model that is only planned, or only partly evaluated.

Three inputs, one chain (factors -> link -> score):

- a **planned model**: family and compute. The family's capability lines (``lines``) give
  the factors' predictive distribution at that compute; the target's fitted link turns them
  into a score. The interval carries both uncertainties: draws of the factors from the line's
  predictive distribution are pushed through every bootstrap fit of the link, plus resampled
  residuals.
- an **evaluated model**: some benchmark scores. Its factors come from the fitted imputer
  (missing basis scores filled the same way as in training); every target is then predicted
  with the link's bootstrap interval.
- the **whole table** (``complete``): every missing score of every model filled, marked as
  predicted and never mixed with observed values.

Each target gets its own factor basis without the target (and its twins from other
sources), exactly as in back-tests, so an observed score never predicts itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from obsscale.config import DEFAULT_SCORE_PAIRS, CapabilityConfig, Config, PredictConfig
from obsscale.exceptions import ExtrapolationWarning, PredictError
from obsscale.model.capabilities.basis import factor_basis
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.forecast.family_lines import FamilyLines, LinePrediction
from obsscale.model.forecast.results import COLUMNS, ForecastResult
from obsscale.model.prediction.intervals import BootstrapFit, fit_with_bootstrap
from obsscale.model.prediction.targets import chance_normalize, check_target, normalize_scale


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
    column: str
    chance: float = 0.0


@dataclass
class TargetModel:
    """Everything needed to forecast one target: its basis, factors, lines and link."""

    target: ForecastTarget
    basis: list[str]
    pca: CapabilityPCA
    lines: FamilyLines
    link: BootstrapFit
    n_train: int
    notes: list[str] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        models: pd.DataFrame,
        target: ForecastTarget,
        settings: CapabilityConfig,
        pconf: PredictConfig,
        rng: np.random.Generator,
    ) -> TargetModel:
        check_target(models, target.column)
        basis, _ = factor_basis(settings.benchmarks, target.column, DEFAULT_SCORE_PAIRS)
        has_basis = models[basis].notna().any(axis=1)
        rows = models[has_basis].sort_values("model", kind="stable").reset_index(drop=True)
        pca = CapabilityPCA.from_config(settings).fit(rows[basis])
        factors = pd.DataFrame(pca.transform(rows[basis]), columns=_names(pca))
        with np.errstate(divide="ignore"):
            log_flops = np.log10(rows["flops"].where(rows["flops"] > 0))
        lines = FamilyLines.fit(factors, log_flops, rows["family"])
        y_raw, note = normalize_scale(rows[target.column], target.column)
        y = chance_normalize(y_raw, target.chance)
        has_y = y.notna().to_numpy()
        link = fit_with_bootstrap(factors.to_numpy()[has_y], y.to_numpy()[has_y], pconf, rng)
        return cls(target, basis, pca, lines, link, int(has_y.sum()), [note] if note else [])

    def draws(self, factor_draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Raw-scale samples of the target for factor draws (S x k): every bootstrap fit of
        the link at every draw, plus a resampled residual; clipped to the metric's range."""
        y = self.link.reg.predict_thetas(self.link.thetas, factor_draws)
        y = y + rng.choice(self.link.residuals, size=y.shape, replace=True)
        c = self.target.chance
        return np.clip(y * (1 - c) + c, 0.0, 1.0)

    def point(self, factors: np.ndarray) -> np.ndarray:
        c = self.target.chance
        return np.clip(self.link.reg.predict(factors) * (1 - c) + c, 0.0, 1.0)


def _names(pca: CapabilityPCA) -> list[str]:
    return [str(n) for n in pca.get_feature_names_out()]


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def forecast_planned(
    tm: TargetModel, scenario: Scenario, pconf: PredictConfig, rng: np.random.Generator
) -> dict[str, object]:
    """One target of a planned model: factors from the line, score from the link."""
    assert scenario.flops is not None
    line = tm.lines.predict(np.log10(scenario.flops), scenario.family, scenario.like)
    draws = line.mean + np.sqrt(line.var) * rng.standard_normal((pconf.n_bootstrap, len(line.mean)))
    samples = tm.draws(draws, rng)
    lo, hi = _interval(samples, pconf.interval)
    return {
        "predicted": float(tm.point(line.mean[None, :])[0]),
        "lower": lo,
        "upper": hi,
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
    """One target of an evaluated model: factors from its observed basis scores."""
    scores = dict(scenario.scores)
    row = pd.DataFrame([[scores.get(b, np.nan) for b in tm.basis]], columns=tm.basis)
    n_obs = int(row.notna().sum(axis=1).iloc[0])
    if n_obs == 0:
        raise PredictError(
            f"{scenario.name}: none of its scores is a basis benchmark of {tm.target.column} "
            f"({', '.join(tm.basis)})"
        )
    factors = tm.pca.transform(row)
    lo, hi = _interval(tm.draws(factors, rng), pconf.interval)
    return {
        "predicted": float(tm.point(factors)[0]),
        "lower": lo,
        "upper": hi,
        "derived_from": f"observed scores ({n_obs} of {len(tm.basis)} basis benchmarks)",
        "source_family": None,
        "decades_past": np.nan,
    }


# how forecast_planned/forecast_observed make their intervals, recorded in forecast.json so that
# the report names the method from the file (keep it true when the method changes)
INTERVALS = (
    "Monte Carlo: draws of the factors (the family line's predictive distribution, or a model's "
    "own imputed factors) through the link's bootstrap refits plus resampled residuals"
)


def forecast(
    models: pd.DataFrame,
    scenarios: list[Scenario],
    targets: list[ForecastTarget],
    *,
    settings: CapabilityConfig | None = None,
    pconf: PredictConfig | None = None,
    max_decades: float = 1.5,
) -> ForecastResult:
    """Forecast every target for every scenario; ``models`` are the fit's rows (e.g. base
    models with basis scores). Deterministic for ``pconf.random_state``."""
    settings = settings or CapabilityConfig()
    pconf = pconf or PredictConfig()
    if not scenarios or not targets:
        raise PredictError("nothing to forecast: give at least one scenario and one target")
    seeds = np.random.SeedSequence(pconf.random_state).spawn(len(targets))
    rows, notes = [], []
    for target, seed in zip(targets, seeds, strict=True):
        rng = np.random.default_rng(seed)
        tm = TargetModel.fit(models, target, settings, pconf, rng)
        notes += [f"{target.column}: {n}" for n in tm.notes]
        for sc in scenarios:
            rows.append(_one(tm, sc, pconf, rng) | {"scenario": sc.name, "target": target.column})
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    notes += _extrapolation_notes(frame, max_decades)
    return ForecastResult(
        frame, pconf.interval, notes, settings={"max_decades": max_decades, "intervals": INTERVALS}
    )


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
        warnings.warn(msg, ExtrapolationWarning, stacklevel=3)
        notes.append(msg)
    return notes


def complete_targets(
    models: pd.DataFrame,
    targets: list[ForecastTarget],
    settings: CapabilityConfig,
    pconf: PredictConfig,
) -> pd.DataFrame:
    """Every model's missing target scores, predicted from its observed basis scores."""
    parts = []
    seeds = np.random.SeedSequence(pconf.random_state).spawn(len(targets))
    for target, seed in zip(targets, seeds, strict=True):
        rng = np.random.default_rng(seed)
        tm = TargetModel.fit(models, target, settings, pconf, rng)
        rows = models[models[tm.basis].notna().any(axis=1) & models[target.column].isna()]
        if rows.empty:
            continue
        factors = tm.pca.transform(rows[tm.basis])
        samples = tm.draws(factors, rng)  # B x m
        lo, hi = np.quantile(samples, [(1 - pconf.interval) / 2, (1 + pconf.interval) / 2], axis=0)
        parts.append(
            pd.DataFrame(
                {
                    "model": rows["model"].to_numpy(),
                    "column": target.column,
                    "status": "predicted",
                    "value": tm.point(factors),
                    "lower": lo,
                    "upper": hi,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


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
