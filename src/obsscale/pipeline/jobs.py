"""The fit's independent jobs: the frontier analysis, one back-test per report target and
one forecast per target. None reads another's result, so ``fit_stages`` shares them out
between the workers (``workers.run_all``), longest first; each job writes its own artifact
(or returns what ``run.json`` lists), and the results are the same however they are shared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from obsscale.config import Config, ReportTarget
from obsscale.data import store
from obsscale.exceptions import PredictError
from obsscale.model.prediction.planning import plan_split
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.targets import plan_for
from obsscale.workers import run_all

if TYPE_CHECKING:
    from obsscale.model.forecast.forecast import ForecastTarget, TargetForecasts
    from obsscale.pipeline import FitRequest

log = logging.getLogger(__name__)


def slug(column: str) -> str:
    """File-name-safe form of a (configured) column name."""
    return re.sub(r"[^a-z0-9]+", "-", column.lower()).strip("-")


def _backtest_target(
    tables: tuple[pd.DataFrame, pd.DataFrame],
    target: ReportTarget,
    request: FitRequest,
    config: Config,
) -> tuple[PredictionResult | None, str | None]:
    """The back-test of one report target on the fit's models, or on its own models where
    they lack the fit's basis (``plan_target``); the reason when it cannot run."""
    from obsscale.model.prediction.backtest import backtest_target

    table, models = tables
    try:
        asked = (request.capabilities, request.selection)
        planned = plan_split(table, target.column, asked, config, None, target.cutoff_flops)
        if planned.plan.note is not None:  # frontier models: their own selection
            models = planned.models
        result = backtest_target(
            models,
            target.column,
            split=planned.split,
            chance=target.chance,
            settings=planned.plan.settings,
            pconf=config.predict,
            twins=config.audit.score_pairs,
        )
    except PredictError as e:
        log.warning("%s skipped: %s", target.column, e)
        return None, str(e)
    result.notes[:0] = planned.notes
    return result, None


def _backtest_entry(
    tables: tuple[pd.DataFrame, pd.DataFrame],
    target: ReportTarget,
    request: FitRequest,
    config: Config,
    out_dir: Path,
) -> dict[str, Any]:
    """Back-test one report target; write its result and return its entry of the run."""
    result, error = _backtest_target(tables, target, request, config)
    entry: dict[str, Any] = {"target": asdict(target), "error": error, "file": None}
    if result is not None:
        name = f"predict-{slug(target.column)}.json"
        result.save(out_dir / name)
        entry |= {
            "file": name,
            "sha256": store.sha256_file(out_dir / name),
            "extras": result.figure_extras(),
        }
    return entry


def fit_stages(
    tables: tuple[pd.DataFrame, pd.DataFrame],
    request: FitRequest,
    config: Config,
    out_dir: Path,
    progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, Any]]:
    """The frontier analysis (of the whole table: hub models), every back-test and every
    forecast target, as independent jobs shared out between the workers (``run_all``), the
    frontier first: it is the longest. Returns the run's entries of the three."""
    from tqdm.auto import tqdm  # here: with asyncio, 0.06 s that ``obsscale report`` skips

    table, _ = tables
    backtests = [
        partial(_backtest_entry, tables, t, request, config, out_dir) for t in request.targets
    ]
    jobs: list[Callable[[], Any]] = [
        partial(_frontier, table, config),
        *backtests,
        *_forecast_jobs(tables, request, config),
    ]
    done = list(tqdm(run_all(jobs), total=len(jobs), desc="fit", unit="job", disable=not progress))
    forecasts = done[1 + len(backtests) :]
    return (
        done[1 : 1 + len(backtests)],
        _write_forecasts(forecasts, config, out_dir),
        _write_frontier(done[0], out_dir),
    )


def _forecast_jobs(
    tables: tuple[pd.DataFrame, pd.DataFrame], request: FitRequest, config: Config
) -> list[partial[TargetForecasts | str]]:
    """The report's forecasts (``forecast.json``), one job per target. Targets whose models
    lack the fit's basis (frontier models: ``plan_target``) are left out: the report
    forecasts models planned by family and compute, which those models do not have."""
    from obsscale.model.forecast.forecast import ForecastTarget

    table, models = tables
    served = [t for t in request.targets if _served(table, t.column, request, config)]
    return [
        partial(_forecast, models, ForecastTarget(t.column, t.chance), request, config)
        for t in served
    ]


def _forecast(
    models: pd.DataFrame, target: ForecastTarget, request: FitRequest, config: Config
) -> TargetForecasts | str:
    """One target's forecasts of the report's scenarios, or why there are none."""
    from obsscale.model.forecast.forecast import forecast_target, report_scenarios

    try:
        return forecast_target(
            models,
            report_scenarios(config, models),
            target,
            request.capabilities,
            config.predict,
            score_pairs=config.audit.score_pairs,
        )
    except PredictError as e:
        return str(e)


def _write_forecasts(
    parts: list[TargetForecasts | str], config: Config, out_dir: Path
) -> dict[str, Any] | None:
    """``forecast.json`` of the targets' forecasts, in their order; the first target's
    reason, if one has none, is the reason there are none (None: no target to forecast)."""
    if not parts:
        return None
    errors = [p for p in parts if isinstance(p, str)]
    if errors:
        log.warning("forecasts skipped: %s", errors[0])
        return {"file": None, "error": errors[0]}
    import warnings

    from obsscale.exceptions import ExtrapolationWarning
    from obsscale.model.forecast.forecast import joined

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # noted in the result
        result = joined(
            [p for p in parts if not isinstance(p, str)],
            config.predict,
            config.forecast.max_extrapolation_decades,
        )
    result.save(out_dir / "forecast.json")
    return {"file": "forecast.json", "sha256": store.sha256_file(out_dir / "forecast.json")}


def _served(table: pd.DataFrame, column: str, request: FitRequest, config: Config) -> bool:
    try:
        return plan_for(table, column, request.capabilities, request.selection, config).note is None
    except PredictError:  # its back-test says why
        return False


def _frontier(models: pd.DataFrame, config: Config) -> dict[str, Any]:
    from obsscale.model.index.frontier import frontier_report

    return frontier_report(models, config.frontier, config.predict)


def _write_frontier(report: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    store.write_json(out_dir / "frontier.json", report)
    return {"file": "frontier.json", "sha256": store.sha256_file(out_dir / "frontier.json")}
