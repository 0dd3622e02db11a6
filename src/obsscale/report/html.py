"""The HTML report: everything ``make fit`` shows, in one self-contained file.

``render_report`` draws the figures of a fit run read back from its artifacts (``fit.json``,
``predict-<target>.json``, ``run.json``, plus the data folder's ``models.csv``, manifest and
audit): it computes nothing, so a report never disagrees with the files beside it. Figures are
embedded as PNG data URIs (the file works offline, from file:// and by mail) and the template
is rendered with Jinja2 autoescaping: every upstream string (model and family names) reaches
the page escaped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from obsscale import __version__
from obsscale.config import CapabilityConfig, Config, ReportTarget, build_settings
from obsscale.data import store
from obsscale.data.table import load_models
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.results import PredictionResult
from obsscale.report import canvas, frontier, tables, wording
from obsscale.report import figures as plots
from obsscale.report.bench_tables import bench_tables
from obsscale.workers import run_all

if TYPE_CHECKING:
    from obsscale.io.run import FitRun

log = logging.getLogger(__name__)


@dataclass
class TargetSection:
    target: ReportTarget
    result: PredictionResult | None
    error: str | None
    curve_png: dict[str, Any] | None = None
    backtest_png: dict[str, Any] | None = None


def _scree_png(scree_ratios: np.ndarray, dpi: int) -> dict[str, Any]:
    fig = canvas.fixed_layout(canvas.new_figure(5.5, 3.6), left=0.6, bottom=0.5, top=0.1)
    plots.scree(scree_ratios, fig.add_subplot())
    return canvas.image(fig, dpi)


def _loadings_png(fit: CapabilityFit, dpi: int) -> dict[str, Any]:
    fig = canvas.new_figure(5.8, 0.45 * len(fit.benchmarks) + 1.4)
    canvas.fixed_layout(fig, left=2.1, right=0.95, bottom=0.55, top=0.15)
    plots.loadings(fit.loadings, fig.add_subplot())
    return canvas.image(fig, dpi)


def _families_png(fit: CapabilityFit, n_fam: int, dpi: int) -> dict[str, Any]:
    rows = int(np.ceil(n_fam / 6))
    fig = canvas.new_figure(12, 1.9 * rows + 0.8)
    canvas.fixed_layout(fig, (rows, 6), left=0.7, bottom=0.6, top=0.4, wspace=0.12, hspace=0.42)
    hover: canvas.Hover = []
    plots.family_scaling(fit, fig, hover=hover)
    return canvas.image(fig, dpi, hover)


def _curve_png(r: PredictionResult, models: pd.DataFrame, label: str, dpi: int) -> dict[str, Any]:
    fig = canvas.new_figure(12, 4)
    canvas.fixed_layout(fig, (1, 3), bottom=0.55, top=0.3, wspace=0.35)
    a1, a2, a3 = fig.subplots(1, 3, sharey=True)
    hover: canvas.Hover = []
    plots.capability_curve(r, a1, label, hover)
    plots.baseline_curve(r, models, "log_flops", a2, label, hover)
    plots.baseline_curve(r, models, "log_params", a3, label, hover)
    return canvas.image(fig, dpi, hover)


def _backtest_png(r: PredictionResult, label: str, dpi: int) -> dict[str, Any]:
    fig = canvas.new_figure(12, 3.8)
    canvas.fixed_layout(fig, (1, 3), bottom=0.55, top=0.45, wspace=0.15)
    hover: canvas.Hover = []
    plots.backtest(r, fig, label, hover)
    return canvas.image(fig, dpi, hover)


def _forecast_png(table: dict[str, Any], dpi: int) -> dict[str, Any]:
    n_rows, n_targets = len(table["scenarios"]), len(table["targets"])
    fig = canvas.new_figure(12, 0.26 * n_rows + 1.1)
    canvas.fixed_layout(fig, (1, n_targets), left=3.1, right=0.2, bottom=0.55, top=0.3, wspace=0.4)
    hover: canvas.Hover = []
    plots.forecasts(table, fig, hover)
    return canvas.image(fig, dpi, hover)


Job = tuple[str, Callable[[], Any]]


def _figure_jobs(
    fit: CapabilityFit,
    scree_ratios: np.ndarray,
    models: pd.DataFrame,
    sections: list[TargetSection],
    dpi: int,
    extra: list[Job],
) -> list[Job]:
    """Every figure of the report as (key, function returning it), the most expensive first,
    so that the workers taking them in turn end together; ``curve:i`` and ``backtest:i``
    belong to ``sections[i]``; ``extra`` (the forecasts' and the frontier section's, whose
    curves are the second largest figure) go before the targets' many small ones."""
    jobs: list[Job] = []
    n_fam = int((fit.families["component"] == "PC-1").sum()) if len(fit.families) else 0
    if n_fam:
        jobs.append(("families", partial(_families_png, fit, n_fam, dpi)))
    jobs += extra
    for i, sec in enumerate(sections):
        r = sec.result
        if r is None:
            continue
        label = f"{sec.target.column} (fraction)"
        if r.curve is not None:
            jobs.append((f"curve:{i}", partial(_curve_png, r, models, label, dpi)))
        if (r.predictions["split"] == "test").any():
            jobs.append((f"backtest:{i}", partial(_backtest_png, r, label, dpi)))
    return [
        *jobs,
        ("loadings", partial(_loadings_png, fit, dpi)),
        ("scree", partial(_scree_png, scree_ratios, dpi)),
    ]


def _figures(
    fit: CapabilityFit,
    scree_ratios: np.ndarray,
    models: pd.DataFrame,
    sections: list[TargetSection],
    dpi: int,
    workers: int | None = None,
    extra: list[Job] | None = None,
) -> dict[str, Any]:
    """Draw every figure; the independent figures are drawn by ``workers`` forked processes
    (default: ``available_workers()``; ``run_all``), which halves the report's time on two
    CPUs. Forked workers inherit the imported matplotlib and the data, so they start in
    milliseconds."""
    jobs = _figure_jobs(fit, scree_ratios, models, sections, dpi, extra or [])
    # the last (smallest) figure first, here: it loads the fonts the workers then inherit
    key, draw = jobs[-1]
    done = {key: _themed(draw)}
    rest = jobs[:-1]
    drawn = run_all([partial(_themed, draw) for _, draw in rest], workers)
    done |= {key: uri for (key, _), uri in zip(rest, drawn, strict=True)}
    for i, sec in enumerate(sections):
        sec.curve_png = done.pop(f"curve:{i}", None)
        sec.backtest_png = done.pop(f"backtest:{i}", None)
    return done


def _themed(draw: Callable[[], Any]) -> Any:
    with canvas.theme():
        return draw()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("obsscale.report", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    env.filters["num"] = _num
    return env


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, (int, np.integer)):
        return f"{v:,d}"
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}g}"
    return str(v)


def render_report(config: Config, out_dir: str | Path, run: FitRun) -> Path:
    """Draw and render a fit run; returns the path of ``index.html``."""
    out_dir = Path(out_dir)
    fit = run.fit
    all_models = load_models(config)
    sections = [TargetSection(t, r, e) for t, r, e in run.targets]
    dpi = config.report.dpi
    forecasts = tables.forecast_table(run.forecast, fit)
    extra: list[Job] = [("forecasts", partial(_forecast_png, forecasts, dpi))] if forecasts else []
    extra += frontier.figure_jobs(run.frontier, dpi)
    figs = _figures(fit, fit.spectrum_ratio, all_models, sections, dpi, extra=extra)
    results = [s.result for s in sections if s.result is not None]
    html = (
        _environment()
        .get_template("report.html")
        .render(
            version=__version__,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            snapshot=tables.snapshot(config, all_models),
            settings=SimpleNamespace(
                capabilities=build_settings(CapabilityConfig, fit.settings, "fit.json settings"),
                predict=run.predict,
            ),
            pct=round(run.predict.interval * 100),
            conf=round((1 - float(fit.settings["alpha"])) * 100),
            fit=fit,
            figs=figs,
            headlines=wording.headlines(fit, results),
            sections=sections,
            words=wording,
            trust=tables.trust_table(sections),
            method=wording.method_name(results[0]) if results else None,
            quality=tables.quality(config),
            models_table=tables.models_table(fit, all_models),
            efficiency=fit.efficiency.to_dict(orient="records"),
            most_efficient=run.efficiency_answer,
            input_sha=run.models_sha256,
            bench_summary=_bench_link(out_dir),
            forecasts=forecasts,
            forecast_method=wording.forecast_interval_method(run.forecast),
            forecast_multipliers=" and ".join(f"{m:g}x" for m in config.forecast.next_multipliers),
            frontier=frontier.context(run.frontier, bench_tables(out_dir)),
        )
    )
    index = out_dir / "index.html"
    store.write_text(index, html)
    return index


def _bench_link(out_dir: Path) -> str | None:
    summary = out_dir / "bench" / "summary.html"
    return "bench/summary.html" if summary.exists() else None
