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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from obsscale import __version__
from obsscale.config import CapabilityConfig, Config, ReportTarget
from obsscale.data import store
from obsscale.data.table import load_models, score_columns
from obsscale.exceptions import ArtifactError
from obsscale.model.capability_fit import CapabilityFit
from obsscale.model.results import PredictionResult
from obsscale.report import figures as plots

if TYPE_CHECKING:
    from obsscale.pipeline import FitRun

log = logging.getLogger(__name__)


@dataclass
class TargetSection:
    target: ReportTarget
    result: PredictionResult | None
    error: str | None
    curve_png: str | None = None
    backtest_png: str | None = None


def _figures(
    fit: CapabilityFit,
    scree_ratios: np.ndarray,
    models: pd.DataFrame,
    sections: list[TargetSection],
    dpi: int,
) -> dict[str, str]:
    figs: dict[str, str] = {}
    fig = plots.new_figure(5.5, 3.6)
    plots.scree(scree_ratios, fig.add_subplot())
    figs["scree"] = plots.to_data_uri(fig, dpi)
    fig = plots.new_figure(5.8, 0.45 * len(fit.benchmarks) + 1.4)
    plots.loadings(fit.loadings, fig.add_subplot())
    figs["loadings"] = plots.to_data_uri(fig, dpi)
    n_fam = int((fit.families["component"] == "PC-1").sum()) if len(fit.families) else 0
    if n_fam:
        fig = plots.new_figure(12, 1.9 * int(np.ceil(n_fam / 6)) + 0.8)
        plots.family_scaling(fit, fig)
        figs["families"] = plots.to_data_uri(fig, dpi)
    for sec in sections:
        r = sec.result
        if r is None:
            continue
        label = f"{sec.target.column} (fraction)"
        if r.curve is not None:
            fig = plots.new_figure(12, 4)
            a1, a2, a3 = fig.subplots(1, 3, sharey=True)
            plots.capability_curve(r, a1, label)
            plots.baseline_curve(r, models, "log_flops", a2, label)
            plots.baseline_curve(r, models, "log_params", a3, label)
            sec.curve_png = plots.to_data_uri(fig, dpi)
        if (r.predictions["split"] == "test").any():
            fig = plots.new_figure(12, 3.8)
            plots.backtest(r, fig, label)
            sec.backtest_png = plots.to_data_uri(fig, dpi)
    return figs


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
    figs = _figures(fit, fit.pca.spectrum_ratio_, all_models, sections, config.report.dpi)
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
