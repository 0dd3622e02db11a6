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
import multiprocessing as mp
import os
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
from obsscale.config import CapabilityConfig, Config, ReportTarget
from obsscale.data import store
from obsscale.data.cache import verify_output
from obsscale.data.table import load_models, score_columns
from obsscale.exceptions import ArtifactError
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.results import PredictionResult
from obsscale.report import figures as plots
from obsscale.report import frontier
from obsscale.workers import available_workers, end_with_parent

if TYPE_CHECKING:
    from obsscale.io.run import FitRun

log = logging.getLogger(__name__)


@dataclass
class TargetSection:
    target: ReportTarget
    result: PredictionResult | None
    error: str | None
    curve_png: str | None = None
    backtest_png: str | None = None


def _scree_png(scree_ratios: np.ndarray, dpi: int) -> str:
    fig = plots.fixed_layout(plots.new_figure(5.5, 3.6), left=0.6, bottom=0.5, top=0.1)
    plots.scree(scree_ratios, fig.add_subplot())
    return plots.to_data_uri(fig, dpi)


def _loadings_png(fit: CapabilityFit, dpi: int) -> str:
    fig = plots.new_figure(5.8, 0.45 * len(fit.benchmarks) + 1.4)
    plots.fixed_layout(fig, left=2.1, right=0.95, bottom=0.55, top=0.15)
    plots.loadings(fit.loadings, fig.add_subplot())
    return plots.to_data_uri(fig, dpi)


def _families_png(fit: CapabilityFit, n_fam: int, dpi: int) -> str:
    rows = int(np.ceil(n_fam / 6))
    fig = plots.new_figure(12, 1.9 * rows + 0.8)
    plots.fixed_layout(fig, (rows, 6), left=0.7, bottom=0.6, top=0.4, wspace=0.12, hspace=0.42)
    plots.family_scaling(fit, fig)
    return plots.to_data_uri(fig, dpi)


def _curve_png(r: PredictionResult, models: pd.DataFrame, label: str, dpi: int) -> str:
    fig = plots.new_figure(12, 4)
    plots.fixed_layout(fig, (1, 3), bottom=0.55, top=0.3, wspace=0.35)
    a1, a2, a3 = fig.subplots(1, 3, sharey=True)
    plots.capability_curve(r, a1, label)
    plots.baseline_curve(r, models, "log_flops", a2, label)
    plots.baseline_curve(r, models, "log_params", a3, label)
    return plots.to_data_uri(fig, dpi)


def _backtest_png(r: PredictionResult, label: str, dpi: int) -> str:
    fig = plots.new_figure(12, 3.8)
    plots.fixed_layout(fig, (1, 3), bottom=0.55, top=0.45, wspace=0.15)
    plots.backtest(r, fig, label)
    return plots.to_data_uri(fig, dpi)


def _figure_jobs(
    fit: CapabilityFit,
    scree_ratios: np.ndarray,
    models: pd.DataFrame,
    sections: list[TargetSection],
    dpi: int,
    extra: list[tuple[str, Callable[[], str]]],
) -> list[tuple[str, Callable[[], str]]]:
    """Every figure of the report as (key, function returning its PNG data URI), the most
    expensive first; ``curve:i`` and ``backtest:i`` belong to ``sections[i]``; ``extra``
    (the frontier section's) go before the two small ones."""
    jobs: list[tuple[str, Callable[[], str]]] = []
    n_fam = int((fit.families["component"] == "PC-1").sum()) if len(fit.families) else 0
    if n_fam:
        jobs.append(("families", partial(_families_png, fit, n_fam, dpi)))
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
        *extra,
        ("loadings", partial(_loadings_png, fit, dpi)),
        ("scree", partial(_scree_png, scree_ratios, dpi)),
    ]


# the jobs of the render in progress, read by forked workers (they inherit it; nothing is
# pickled but the job's index and its PNG)
_JOBS: list[tuple[str, Callable[[], str]]] = []


def _run_job(i: int) -> str:
    return _JOBS[i][1]()


def _figures(
    fit: CapabilityFit,
    scree_ratios: np.ndarray,
    models: pd.DataFrame,
    sections: list[TargetSection],
    dpi: int,
    workers: int | None = None,
    extra: list[tuple[str, Callable[[], str]]] | None = None,
) -> dict[str, str]:
    """Draw every figure; the independent figures are drawn by ``workers`` forked processes
    (default: ``available_workers()``), which halves the report's time on two CPUs. Forked workers
    inherit the imported matplotlib and the data, so they start in milliseconds."""
    global _JOBS
    _JOBS = _figure_jobs(fit, scree_ratios, models, sections, dpi, extra or [])
    workers = available_workers() if workers is None else workers
    try:
        # the last (smallest) figure first, here: it loads the fonts the workers then inherit
        done = {_JOBS[-1][0]: _JOBS[-1][1]()}
        rest = range(len(_JOBS) - 1)
        if workers > 1 and len(rest) > 1:
            with mp.get_context("fork").Pool(
                workers, initializer=end_with_parent, initargs=(os.getpid(),)
            ) as pool:
                uris = pool.map(_run_job, rest, chunksize=1)
        else:
            uris = [_run_job(i) for i in rest]
        done |= {_JOBS[i][0]: uri for i, uri in zip(rest, uris, strict=True)}
    finally:
        _JOBS = []
    for i, sec in enumerate(sections):
        sec.curve_png = done.pop(f"curve:{i}", None)
        sec.backtest_png = done.pop(f"backtest:{i}", None)
    return done


def headlines(fit: CapabilityFit, sections: list[TargetSection]) -> list[str]:
    """Three findings in words, generated from the numbers."""
    evr = fit.pca.explained_variance_ratio_
    out = [
        f"One capability factor (PC-1) explains {evr[0]:.1%} of the variance of "
        f"{len(fit.benchmarks)} benchmarks across {len(fit.models)} models; "
        f"{len(evr)} factors explain {evr.sum():.1%}."
    ]
    eff = fit.efficiency
    conf = 1 - float(fit.settings["alpha"])
    if len(eff) and fit.reference is not None:
        ref = fit.reference.family
        solid = eff[~eff["extrapolated"] & eff["significant"]]
        if len(solid):
            parts = [f"{r['family']} ({r['compute_multiplier']:.2g}x)" for _, r in solid.iterrows()]
            out.append(
                f"Families whose compute efficiency differs from {ref} at {conf:.0%} confidence "
                f"(both lines' uncertainty counted; multiplier = {ref} compute needed for the "
                f"same PC-1): {', '.join(parts)}."
            )
        else:
            out.append(
                f"No family's compute efficiency differs from {ref}'s at {conf:.0%} confidence "
                f"within {ref}'s compute range (its line rests on {fit.reference.n_models} "
                "models); see the efficiency table for point estimates."
            )
    done = [s.result for s in sections if s.result is not None]
    if done:
        wins = sum(all(v > 1 for v in r.mse_ratios().values()) for r in done)
        ratios = [v for r in done for v in r.mse_ratios().values()]
        out.append(
            f"Back-tested above a FLOPs cutoff, the capability factors beat both compute-only "
            f"baselines on {wins} of {len(done)} targets (median baseline/factor test-MSE "
            f"ratio {np.median(ratios):.2g}x)."
        )
    return out


def _snapshot(config: Config, models: pd.DataFrame) -> dict[str, Any]:
    manifest_path = config.manifest_path
    manifest = store.read_json(manifest_path, "fetch manifest") if manifest_path.exists() else {}
    if not isinstance(manifest, dict) or not all(isinstance(v, dict) for v in manifest.values()):
        raise ArtifactError(f"{manifest_path}: not a fetch manifest; rerun `obsscale fetch`")
    scores = score_columns(models)
    return {
        "sources": [manifest[k] for k in sorted(manifest)],
        "n_models": len(models),
        "n_families": int(models["family"].nunique()),
        "n_benchmarks": len(scores),
        "n_flops": int(models["flops"].notna().sum()),
        "n_base": int(models["is_base"].fillna(False).sum()),
    }


def _quality(config: Config) -> dict[str, Any]:
    path = config.processed_dir / "quality.csv"
    if not path.exists():
        return {"counts": [], "warnings": [], "excluded": [], "n": 0}
    verify_output(config, "quality.csv")  # the report's counts come from harmonize's table
    q = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = (
        q.groupby(["severity", "rule", "source"])
        .size()
        .rename("findings")
        .reset_index()
        .sort_values(["severity", "findings"], ascending=[True, False])
    )
    return {
        "n": len(q),
        "counts": counts.to_dict(orient="records"),
        "warnings": q[q["severity"].isin(["warning", "info"])].to_dict(orient="records"),
        "excluded": q[q["severity"].isin(["excluded", "dropped"])].to_dict(orient="records"),
    }


def _models_table(fit: CapabilityFit, models: pd.DataFrame) -> list[dict[str, Any]]:
    meta = models.set_index("model")[["params_b", "tokens_t"]]
    table = fit.models.join(meta, on="model")
    cols = ["model", "family", "params_b", "tokens_t", "flops", "equivalent_flops", *fit.components]
    table = table[[c for c in cols if c in table.columns]]
    return store.jsonable(table)


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
    extra = frontier.figure_jobs(run.frontier, dpi)
    figs = _figures(fit, fit.pca.spectrum_ratio_, all_models, sections, dpi, extra=extra)
    settings = SimpleNamespace(
        capabilities=CapabilityConfig(**_tuples(fit.settings)), predict=run.predict
    )
    html = (
        _environment()
        .get_template("report.html")
        .render(
            version=__version__,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            snapshot=_snapshot(config, all_models),
            settings=settings,
            pct=round(run.predict.interval * 100),
            conf=round((1 - settings.capabilities.alpha) * 100),
            fit=fit,
            figs=figs,
            headlines=headlines(fit, sections),
            sections=sections,
            quality=_quality(config),
            models_table=_models_table(fit, all_models),
            efficiency=fit.efficiency.to_dict(orient="records"),
            input_sha=run.models_sha256,
            bench_summary=_bench_link(out_dir),
            forecasts=_forecast_table(run.forecast),
            forecast_multipliers=" and ".join(f"{m:g}x" for m in config.forecast.next_multipliers),
            frontier=frontier.context(run.frontier),
        )
    )
    index = out_dir / "index.html"
    store.write_text(index, html)
    return index


def _tuples(d: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _bench_link(out_dir: Path) -> str | None:
    summary = out_dir / "bench" / "summary.html"
    return "bench/summary.html" if summary.exists() else None


def _forecast_table(result: Any) -> dict[str, Any] | None:
    """Scenarios as rows, targets as columns, for the report's Forecasts table."""
    if result is None or result.rows.empty:
        return None
    frame = result.to_frame()
    targets = list(dict.fromkeys(frame["target"]))
    scenarios = []
    for name, grp in frame.groupby("scenario", sort=False):
        cells = grp.set_index("target").reindex(targets)
        scenarios.append(
            {
                "name": name,
                "cells": cells[["predicted", "lower", "upper"]].to_dict(orient="records"),
                "decades_past": float(grp["decades_past"].max()),
            }
        )
    return {"targets": targets, "scenarios": scenarios, "notes": result.notes}
