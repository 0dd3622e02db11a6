"""The stages as functions: what ``obsscale <stage>`` and ``make`` run, one function each.

Every stage reads the artifacts of the one before it and writes its own (atomically):
``fetch`` -> ``raw/`` + ``manifest.json``; ``harmonize`` -> ``processed/models.csv``,
``provenance.csv``, ``quality.csv``; ``fit`` -> ``fit.json``, ``predict-<target>.json``,
``forecast.json``, ``frontier.json`` and ``run.json`` (which names the files of this run and
their hashes); ``report`` -> ``index.html``,
rendered from those artifacts alone. The chain load -> select -> fit lives here once, for the
CLI, the report and the bench alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from obsscale.config import (
    CapabilityConfig,
    Config,
    PredictConfig,
    ReportTarget,
)
from obsscale.data import store
from obsscale.data.table import (
    is_score_column,
    load_models,
    processed_models_path,
    score_columns,
)
from obsscale.exceptions import ArtifactError, CapabilityDataError, PredictError
from obsscale.io.run import RUN_FORMAT, load_run, run_folder
from obsscale.model.capabilities.fit import fit_capabilities
from obsscale.model.capabilities.ranking import efficiency_answer
from obsscale.model.capabilities.rows import Selection, select_models
from obsscale.model.prediction.planning import plan_split
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.splits import Split
from obsscale.model.prediction.targets import plan_for
from obsscale.workers import in_background

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitRequest:
    """What ``obsscale fit`` fits: the capability settings, which models, which targets."""

    capabilities: CapabilityConfig
    selection: Selection = field(default_factory=Selection)
    targets: tuple[ReportTarget, ...] = ()


def selected_models(
    config: Config, capabilities: CapabilityConfig, selection: Selection
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole model table and the rows a fit with these settings uses."""
    models = load_models(config)
    _check_reference_family(models, capabilities.reference_family)
    check_excluded(models, selection)
    chosen = select_models(
        models, capabilities.benchmarks, selection=selection, base_only=capabilities.base_only
    )
    return models, chosen


def _check_reference_family(models: pd.DataFrame, name: str) -> None:
    """A reference family absent from the whole table is a typo, not a thin selection."""
    known = sorted(models["family"].dropna().unique())
    if name not in known:
        raise CapabilityDataError(
            f"unknown reference family {name!r}; known families: {', '.join(known)}"
        )


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


def _backtests(
    tables: tuple[pd.DataFrame, pd.DataFrame],
    request: FitRequest,
    config: Config,
    out_dir: Path,
    progress: bool,
) -> list[dict[str, Any]]:
    """Back-test every report target; write each result and return the run's entries."""
    from tqdm.auto import tqdm  # here: with asyncio, 0.06 s that ``obsscale report`` skips

    entries = []
    for target in tqdm(request.targets, desc="back-tests", unit="target", disable=not progress):
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
        entries.append(entry)
    return entries


def run_fit(config: Config, out_dir: Path, request: FitRequest, progress: bool = True) -> Path:
    """Fit capabilities and back-test every target; write the run's artifacts to ``out_dir``.

    The run is written into a fresh folder and switched in at the end (``io.run.run_folder``),
    so that an interrupted fit leaves the previous run whole; files of that run which this one
    does not produce are removed then, so that ``out_dir`` never mixes runs. ``run.json``
    lists every file with its sha256.
    """
    out_dir = Path(out_dir)
    store.remove_stale_parts(out_dir)  # temporaries of a killed run, older than an hour
    table, models = selected_models(config, request.capabilities, request.selection)  # names a
    check_targets(table, [t.column for t in request.targets])
    models_sha = store.sha256_file(processed_models_path(config))  # missing models.csv first
    fit = fit_capabilities(models, request.capabilities, input_sha256=models_sha)
    with run_folder(out_dir) as stage:  # created only once the settings proved fittable
        fit.save(stage / "fit.json")
        with in_background(_frontier, table, config) as frontier:  # the whole table: hub models
            entries = _backtests((table, models), request, config, stage, progress)
            forecast_entry = _report_forecasts(config, (table, models), request, stage)
            frontier_entry = _write_frontier(frontier(), stage)
        run = {
            "format": RUN_FORMAT,
            "models_sha256": models_sha,
            "fit": {"file": "fit.json", "sha256": store.sha256_file(stage / "fit.json")},
            "predict": asdict(config.predict),
            "targets": entries,
            "forecast": forecast_entry,
            "frontier": frontier_entry,
            "efficiency_answer": efficiency_answer(fit),
        }
        store.write_json(stage / "run.json", run)
    return out_dir / "run.json"


def check_targets(models: pd.DataFrame, columns: Iterable[str]) -> None:
    """A target must be a score column of the table: a typo or a metadata column (``flops``)
    would otherwise only be skipped with a warning."""
    for column in columns:
        if column in models.columns and is_score_column(column):
            continue
        if column in models.columns:
            raise PredictError(
                f"target {column!r} is model metadata, not a benchmark score; targets are "
                "score columns named <source>:<benchmark>, e.g. obsscaling:GSM8K"
            )
        close = [c for c in score_columns(models) if column.split(":")[-1].lower() in c.lower()]
        hint = f"; similar: {close[:8]}" if close else ""
        raise PredictError(f"unknown target {column!r}: not a column of models.csv{hint}")


def check_excluded(models: pd.DataFrame, selection: Selection) -> None:
    """``--exclude`` with an id that is not in the table excludes nothing: refused like an
    unknown ``--models`` id."""
    absent = sorted({m.lower() for m in selection.exclude} - set(models["model"].str.lower()))
    if absent:
        raise CapabilityDataError(f"--exclude: models not in the table: {absent}")


def _report_forecasts(
    config: Config,
    tables: tuple[pd.DataFrame, pd.DataFrame],
    request: FitRequest,
    out_dir: Path,
) -> dict[str, Any] | None:
    """Forecasts for the report (``forecast.json``), or the reason there are none. Targets
    whose models lack the fit's basis (frontier models: ``plan_target``) are left out: the
    report forecasts models planned by family and compute, which those models do not have."""
    from obsscale.model.forecast.forecast import ForecastTarget, forecast, report_scenarios

    table, models = tables
    served = [t for t in request.targets if _served(table, t.column, request, config)]
    targets = [ForecastTarget(t.column, t.chance) for t in served]
    if not targets:
        return None
    import warnings

    from obsscale.exceptions import ExtrapolationWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)  # noted in the result
            result = forecast(
                models,
                report_scenarios(config, models),
                targets,
                settings=request.capabilities,
                pconf=config.predict,
                max_decades=config.forecast.max_extrapolation_decades,
                score_pairs=config.audit.score_pairs,
            )
    except PredictError as e:
        log.warning("forecasts skipped: %s", e)
        return {"file": None, "error": str(e)}
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


@dataclass(frozen=True)
class PredictRequest:
    """One back-test: the target (a column, or a metric of a ``downstream`` CSV) and how."""

    target: str
    capabilities: CapabilityConfig
    predict: PredictConfig
    selection: Selection = field(default_factory=Selection)
    split: Split | None = None  # None: ``plan_split``'s (FLOPs, or by date for frontier models)
    chance: float = 0.0
    downstream: Path | None = None


def run_predict(config: Config, request: PredictRequest) -> PredictionResult:
    """Back-test one target; ids of a ``downstream`` file outside the table are listed."""
    from obsscale.data.rules import Rules
    from obsscale.model.prediction.backtest import backtest_target
    from obsscale.model.prediction.targets import load_downstream

    models, target = load_models(config), request.target
    unmatched: list[str] = []
    if request.downstream:
        # merged into the whole table first, so that ids outside the selection are told apart
        # from ids that are nowhere
        models, unmatched = load_downstream(request.downstream, models, Rules.load().id_aliases)
        target = f"downstream:{request.target}"
        if target not in models.columns:
            raise PredictError(f"{request.downstream} has no column {request.target!r}")
    check_excluded(models, request.selection)
    asked = (request.capabilities, request.selection)
    cutoff = request.predict.cutoff_flops
    planned = plan_split(models, target, asked, config, request.split, cutoff)
    _check_selected(models, planned.models, target)
    result = backtest_target(
        planned.models,
        target,
        split=planned.split,
        chance=request.chance,
        settings=planned.plan.settings,
        pconf=request.predict,
        twins=config.audit.score_pairs,
    )
    result.notes[:0] = planned.notes
    if unmatched:
        result.notes.append(
            f"{len(unmatched)} ids of {request.downstream} are not in the model table: "
            f"{', '.join(unmatched[:10])}"
        )
    return result


def _check_selected(models: pd.DataFrame, selected: pd.DataFrame, target: str) -> None:
    if target in models.columns and models[target].notna().any():
        n_all, n_sel = int(models[target].notna().sum()), int(selected[target].notna().sum())
        if n_sel == 0:
            raise PredictError(
                f"none of the {n_all} models with {target} is in the selection (pretrained "
                "models only by default: add --all-models; or check --subset/--families)"
            )


def run_report(config: Config, out_dir: Path) -> Path:
    """Render ``out_dir/index.html`` from the artifacts of the last ``obsscale fit``."""
    from obsscale.report.html import render_report

    run = load_run(out_dir)
    if store.sha256_file(processed_models_path(config)) != run.models_sha256:
        raise ArtifactError(
            f"{processed_models_path(config)} changed since `obsscale fit` ran on it; "
            "rerun `obsscale fit` (or `make fit`)"
        )
    return render_report(config, out_dir, run)


def default_targets(config: Config, columns: Iterable[str] | None) -> tuple[ReportTarget, ...]:
    """The configured report targets, or those named (with their configured chance/cutoff)."""
    if columns:
        return tuple(config.report.target(c) for c in columns)
    return tuple(config.report.targets)


def fit_and_report(
    config: Config, out_dir: Path, targets: Iterable[str] | None = None, progress: bool = True
) -> Path:
    """``make fit``: the default fit with its back-tests, then the report; returns index.html."""
    request = FitRequest(config.capabilities, targets=default_targets(config, targets))
    run_fit(config, out_dir, request, progress=progress)
    return run_report(config, out_dir)


@dataclass(frozen=True)
class ForecastRequest:
    """What ``obsscale forecast`` answers: scenarios (planned or evaluated models) and/or a
    compute grid on the reference family's line (``--complete`` is ``cli.complete``'s)."""

    capabilities: CapabilityConfig
    targets: tuple[ReportTarget, ...]
    scenarios: tuple[Any, ...] = ()
    at_flops: tuple[float, ...] = ()
    selection: Selection = field(default_factory=Selection)


def run_forecast(config: Config, request: ForecastRequest) -> Any:
    """Forecast the request's scenarios and its grid on the reference family's line."""
    from obsscale.model.forecast.forecast import ForecastTarget, Scenario
    from obsscale.model.forecast.planned import forecast_targets
    from obsscale.model.forecast.results import ForecastResult

    table, models = selected_models(config, request.capabilities, request.selection)
    ref = request.capabilities.reference_family
    grid = [Scenario(f"{ref} line at {f:.3g} FLOPs", family=ref, flops=f) for f in request.at_flops]
    scenarios = [*request.scenarios, *grid]
    targets = [ForecastTarget(t.column, t.chance) for t in request.targets]
    pconf = config.predict
    if scenarios:
        result = forecast_targets(
            table, models, scenarios, targets, request.capabilities, request.selection, config
        )
    else:
        result = ForecastResult(pd.DataFrame(columns=["scenario", "target"]), pconf.interval)
    return result
