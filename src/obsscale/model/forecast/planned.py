"""Forecasts of targets whose models lack the configured basis (frontier models on hub
benchmarks): each such target gets its own models, basis and component count
(``targets.plan_target``, the scenarios' score columns preferred for the basis) and is
forecast on its own; the targets the configured settings serve are forecast together, as
before. Every (scenario, target) is seeded on its own, so the split changes no number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from obsscale.config import CapabilityConfig, Config
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.rows import Selection, select_models
from obsscale.model.forecast.forecast import ForecastTarget, Scenario, forecast
from obsscale.model.forecast.results import ForecastResult
from obsscale.model.prediction.targets import plan_for


@dataclass(frozen=True)
class Group:
    """Targets forecast together: their settings, the rows fitted, the plan's note."""

    targets: list[ForecastTarget]
    settings: CapabilityConfig
    rows: pd.DataFrame
    note: str | None = None


def groups(
    table: pd.DataFrame,
    models: pd.DataFrame,
    targets: list[ForecastTarget],
    settings: CapabilityConfig,
    selection: Selection,
    config: Config,
    given: tuple[str, ...] = (),
) -> list[Group]:
    """The targets the settings serve on ``models`` (the selection's rows of ``table``), then
    each planned target on its own models, with its note."""
    plans = [plan_for(table, t.column, settings, selection, config, given) for t in targets]
    plain = [t for t, p in zip(targets, plans, strict=True) if p.note is None]
    out = [Group(plain, settings, models)] if plain else []
    for target, plan in zip(targets, plans, strict=True):
        if plan.note is not None:
            rows = select_models(table, (), selection=selection, base_only=plan.settings.base_only)
            out.append(Group([target], plan.settings, rows[rows[target.column].notna()], plan.note))
    return out


def forecast_targets(
    table: pd.DataFrame,
    models: pd.DataFrame,
    scenarios: list[Scenario],
    targets: list[ForecastTarget],
    settings: CapabilityConfig,
    selection: Selection,
    config: Config,
) -> ForecastResult:
    """``forecast`` of every group, rows in the targets' order, the plans' notes first."""
    if not targets:  # as ``forecast`` says it
        raise PredictError("nothing to forecast: give at least one scenario and one target")
    given = tuple(dict.fromkeys(c for sc in scenarios for c, _ in sc.scores))
    parts: list[tuple[Group, Any]] = []
    for g in groups(table, models, targets, settings, selection, config, given):
        result = forecast(
            g.rows,
            scenarios,
            g.targets,
            settings=g.settings,
            pconf=config.predict,
            max_decades=config.forecast.max_extrapolation_decades,
            score_pairs=config.audit.score_pairs,
        )
        parts.append((g, result))
    rank = {t.column: i for i, t in enumerate(targets)}
    rows = pd.concat([r.rows for _, r in parts], ignore_index=True)
    rows = rows.sort_values("target", key=lambda c: c.map(rank), kind="stable")
    notes = [g.note for g, _ in parts if g.note] + [n for _, r in parts for n in r.notes]
    return ForecastResult(
        rows.reset_index(drop=True), config.predict.interval, notes, settings=parts[0][1].settings
    )
