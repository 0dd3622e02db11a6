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
from obsscale.pipeline.jobs import fit_stages

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
        entries, forecast_entry, frontier_entry = fit_stages(
            (table, models), request, config, stage, progress
        )
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
    _check_reference_family(models, request.capabilities.reference_family)
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
