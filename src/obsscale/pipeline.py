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
from tqdm.auto import tqdm

from obsscale.config import CapabilityConfig, Config, PredictConfig, ReportTarget
from obsscale.data import store
from obsscale.data.table import load_models, processed_models_path
from obsscale.exceptions import ArtifactError, CapabilityDataError, PredictError
from obsscale.model.capability_fit import CapabilityFit, fit_capabilities
from obsscale.model.results import PredictionResult
from obsscale.model.splits import CutoffFlops, Split
from obsscale.model.subsets import Selection, select_models
from obsscale.workers import in_background

log = logging.getLogger(__name__)

RUN_FORMAT = "obsscale.run/1"


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
    models: pd.DataFrame, target: ReportTarget, capabilities: CapabilityConfig, pconf: PredictConfig
) -> tuple[PredictionResult | None, str | None]:
    from obsscale.model.backtest import backtest

    try:
        result = backtest(
            models,
            target.column,
            split=CutoffFlops(target.cutoff_flops),
            chance=target.chance,
            settings=capabilities,
            pconf=pconf,
        )
    except PredictError as e:
        log.warning("%s skipped: %s", target.column, e)
        return None, str(e)
    return result, None


def _backtests(
    models: pd.DataFrame, request: FitRequest, config: Config, out_dir: Path, progress: bool
) -> list[dict[str, Any]]:
    """Back-test every report target; write each result and return the run's entries."""
    entries = []
    for target in tqdm(request.targets, desc="back-tests", unit="target", disable=not progress):
        result, error = _backtest_target(models, target, request.capabilities, config.predict)
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

    Files of an earlier run that this one does not produce are removed, so that ``out_dir``
    never mixes runs; ``run.json`` is written last and lists every file with its sha256.
    """
    out_dir = Path(out_dir)
    store.remove_stale_parts(out_dir)  # temporaries of a killed run, older than an hour
    table, models = selected_models(config, request.capabilities, request.selection)  # names a
    models_sha = store.sha256_file(processed_models_path(config))  # missing models.csv first
    fit = fit_capabilities(models, request.capabilities, input_sha256=models_sha)
    fit.save(out_dir / "fit.json")
    with in_background(_frontier, table, config) as frontier:  # the whole table: hub models
        entries = _backtests(models, request, config, out_dir, progress)
        _remove_stale(out_dir, {e["file"] for e in entries if e["file"]})  # forecast.json too
        forecast_entry = _report_forecasts(config, models, request, out_dir)
        frontier_entry = _write_frontier(frontier(), out_dir)
    run = {
        "format": RUN_FORMAT,
        "models_sha256": models_sha,
        "fit": {"file": "fit.json", "sha256": store.sha256_file(out_dir / "fit.json")},
        "predict": asdict(config.predict),
        "targets": entries,
        "forecast": forecast_entry,
        "frontier": frontier_entry,
    }
    store.write_json(out_dir / "run.json", run)
    return out_dir / "run.json"


def _report_forecasts(
    config: Config, models: pd.DataFrame, request: FitRequest, out_dir: Path
) -> dict[str, Any] | None:
    """Forecasts for the report (``forecast.json``), or the reason there are none."""
    from obsscale.model.forecast import ForecastTarget, forecast, report_scenarios

    targets = [ForecastTarget(t.column, t.chance) for t in request.targets]
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
            )
    except PredictError as e:
        log.warning("forecasts skipped: %s", e)
        return {"file": None, "error": str(e)}
    result.save(out_dir / "forecast.json")
    return {"file": "forecast.json", "sha256": store.sha256_file(out_dir / "forecast.json")}


def _frontier(models: pd.DataFrame, config: Config) -> dict[str, Any]:
    from obsscale.model.index.frontier import frontier_report

    return frontier_report(models, config.frontier, config.predict)


def _write_frontier(report: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    store.write_json(out_dir / "frontier.json", report)
    return {"file": "frontier.json", "sha256": store.sha256_file(out_dir / "frontier.json")}


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    stale = [*out_dir.glob("predict-*.json"), out_dir / "forecast.json"]
    for path in (p for p in stale if p.exists()):
        if path.name not in keep:
            log.info("removing %s: not produced by this run", path)
            path.unlink()


@dataclass(frozen=True)
class PredictRequest:
    """One back-test: the target (a column, or a metric of a ``downstream`` CSV) and how."""

    target: str
    capabilities: CapabilityConfig
    predict: PredictConfig
    selection: Selection = field(default_factory=Selection)
    split: Split | None = None
    chance: float = 0.0
    downstream: Path | None = None


def run_predict(config: Config, request: PredictRequest) -> PredictionResult:
    """Back-test one target; ids of a ``downstream`` file outside the table are listed."""
    from obsscale.data.rules import Rules
    from obsscale.model.backtest import backtest
    from obsscale.model.targets import load_downstream

    models, target = load_models(config), request.target
    unmatched: list[str] = []
    if request.downstream:
        # merged into the whole table first, so that ids outside the selection are told apart
        # from ids that are nowhere
        models, unmatched = load_downstream(request.downstream, models, Rules.load().id_aliases)
        target = f"downstream:{request.target}"
        if target not in models.columns:
            raise PredictError(f"{request.downstream} has no column {request.target!r}")
    selected = select_models(
        models, (), selection=request.selection, base_only=request.capabilities.base_only
    )
    _check_selected(models, selected, target)
    result = backtest(
        selected,
        target,
        split=request.split or CutoffFlops(request.predict.cutoff_flops),
        chance=request.chance,
        settings=request.capabilities,
        pconf=request.predict,
    )
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


@dataclass
class FitRun:
    """A fit run read back from its artifacts (what the report renders)."""

    fit: CapabilityFit
    targets: list[tuple[ReportTarget, PredictionResult | None, str | None]]
    predict: PredictConfig
    models_sha256: str
    forecast: Any = None  # ForecastResult, or None
    frontier: dict[str, Any] | None = None  # frontier.json (None: a run from before it)


def load_run(out_dir: Path) -> FitRun:
    """Read ``run.json`` and every file it names, checking each file's hash."""
    out_dir = Path(out_dir)
    run = store.read_json(out_dir / "run.json", what="fit run (run `obsscale fit` first)")
    if run.get("format") != RUN_FORMAT:
        raise ArtifactError(
            f"{out_dir / 'run.json'}: not an obsscale run (format {run.get('format')!r})"
        )
    _check_hash(out_dir, run["fit"])
    fit = CapabilityFit.load(out_dir / run["fit"]["file"])
    targets = []
    for entry in run["targets"]:
        target = ReportTarget(**entry["target"])
        result = None
        if entry["file"]:
            _check_hash(out_dir, entry)
            data = store.read_json(out_dir / entry["file"], what="back-test")
            result = PredictionResult.from_dict(data, entry.get("extras"))
        targets.append((target, result, entry["error"]))
    forecast = None
    entry = run.get("forecast")
    if entry and entry.get("file"):
        from obsscale.model.forecast_result import ForecastResult

        _check_hash(out_dir, entry)
        forecast = ForecastResult.from_dict(store.read_json(out_dir / entry["file"], "forecast"))
    frontier = None
    if run.get("frontier"):
        _check_hash(out_dir, run["frontier"])
        frontier = store.read_json(out_dir / run["frontier"]["file"], "frontier analysis")
    predict = PredictConfig(**_tuples(run["predict"]))
    return FitRun(fit, targets, predict, run["models_sha256"], forecast, frontier)


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _check_hash(out_dir: Path, entry: dict[str, Any]) -> None:
    path = out_dir / entry["file"]
    if not path.exists():
        raise ArtifactError(f"{path} is missing; rerun `obsscale fit`")
    if store.sha256_file(path) != entry["sha256"]:
        raise ArtifactError(
            f"{path} was changed after `obsscale fit` wrote it (sha256 differs from run.json); "
            "rerun `obsscale fit`"
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
    """What ``obsscale forecast`` answers: scenarios (planned or evaluated models), a compute
    grid on the reference family's line, and/or the completion of the whole table."""

    capabilities: CapabilityConfig
    targets: tuple[ReportTarget, ...]
    scenarios: tuple[Any, ...] = ()
    at_flops: tuple[float, ...] = ()
    complete: bool = False
    selection: Selection = field(default_factory=Selection)


def run_forecast(config: Config, request: ForecastRequest) -> Any:
    """Forecast the request's scenarios; with ``complete``, fill the model table too."""
    from obsscale.model.completion.basis import complete_basis
    from obsscale.model.forecast import ForecastTarget, Scenario, complete_targets, forecast
    from obsscale.model.forecast_result import ForecastResult

    _, models = selected_models(config, request.capabilities, request.selection)
    ref = request.capabilities.reference_family
    grid = [Scenario(f"{ref} line at {f:.3g} FLOPs", family=ref, flops=f) for f in request.at_flops]
    scenarios = [*request.scenarios, *grid]
    targets = [ForecastTarget(t.column, t.chance) for t in request.targets]
    pconf = config.predict
    if scenarios:
        result = forecast(
            models,
            scenarios,
            targets,
            settings=request.capabilities,
            pconf=pconf,
            max_decades=config.forecast.max_extrapolation_decades,
        )
    else:
        result = ForecastResult(pd.DataFrame(columns=["scenario", "target"]), pconf.interval)
    if request.complete:
        basis = complete_basis(models, request.capabilities, pconf.interval, pconf.random_state)
        result.completion = pd.concat(
            [basis, complete_targets(models, targets, request.capabilities, pconf)],
            ignore_index=True,
        )
    return result
