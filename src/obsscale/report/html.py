"""The HTML report: everything ``make fit`` shows, in one self-contained file.

``build_report`` runs the capability fit and one back-test per configured target, draws the
figures (embedded as PNG data URIs, so the file works offline, from file:// and by mail), and
renders ``templates/report.html`` with Jinja2 autoescaping: every upstream string (model and
family names) reaches the page escaped. It also writes ``fit.json`` and one
``predict-<target>.json`` per target beside ``index.html``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from tqdm.auto import tqdm

from obsscale import __version__
from obsscale.data import store
from obsscale.report import figures as plots
from obsscale.model.factors import (
    CapabilityFit,
    fit_capabilities,
    select_models,
)
from obsscale.config import Config, ReportTarget
from obsscale.data.harmonize import load_models, processed_models_path
from obsscale.model.backtest import PredictError, PredictionResult, Split, backtest

log = logging.getLogger(__name__)


@dataclass
class TargetSection:
    target: ReportTarget
    result: PredictionResult | None
    error: str | None
    curve_png: str | None = None
    backtest_png: str | None = None


def slug(column: str) -> str:
    """File-name-safe form of a (configured) column name."""
    return re.sub(r"[^a-z0-9]+", "-", column.lower()).strip("-")


def _run_targets(
    models: pd.DataFrame, config: Config, targets: list[ReportTarget], bar: tqdm
) -> list[TargetSection]:
    sections = []
    for t in targets:
        bar.set_postfix_str(t.column)
        try:
            result = backtest(
                models,
                t.column,
                split=Split("cutoff_flops", t.cutoff_flops),
                chance=t.chance,
                settings=config.capabilities,
                pconf=config.predict,
            )
            sections.append(TargetSection(t, result, None))
        except PredictError as e:
            log.warning("report: %s skipped: %s", t.column, e)
            sections.append(TargetSection(t, None, str(e)))
        bar.update(1)
    return sections


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
    if len(eff) and fit.reference is not None:
        ref = fit.reference.family
        solid = eff[~eff["extrapolated"] & eff["significant"]]
        if len(solid):
            parts = [f"{r['family']} ({r['compute_multiplier']:.2g}x)" for _, r in solid.iterrows()]
            out.append(
                f"Families whose compute efficiency differs from {ref} at 95% confidence "
                f"(both lines' uncertainty counted; multiplier = {ref} compute needed for the "
                f"same PC-1): {', '.join(parts)}."
            )
        else:
            out.append(
                f"No family's compute efficiency differs from {ref}'s at 95% confidence "
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
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    scores = [c for c in models.columns if ":" in c]
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


def build_report(
    config: Config, out_dir: str | Path, targets: list[str] | None = None, progress: bool = True
) -> Path:
    """Fit, back-test every target, draw and render; returns the path of ``index.html``."""
    out_dir = Path(out_dir)
    chosen = [config.report.target(c) for c in targets] if targets else list(config.report.targets)
    with tqdm(total=3 + len(chosen), desc="report", unit="step", disable=not progress) as bar:
        bar.set_postfix_str("capability fit")
        all_models = load_models(config)
        cap = config.capabilities
        models = select_models(all_models, cap.benchmarks, base_only=cap.base_only)
        input_sha = store.sha256_file(processed_models_path(config))
        fit = fit_capabilities(models, cap, input_sha256=input_sha)
        bar.update(1)
        sections = _run_targets(models, config, chosen, bar)
        bar.set_postfix_str("figures")
        figs = _figures(fit, fit.pca.spectrum_ratio_, models, sections, config.report.dpi)
        bar.update(1)
        bar.set_postfix_str("render")
        html = (
            _environment()
            .get_template("report.html")
            .render(
                version=__version__,
                generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                snapshot=_snapshot(config, all_models),
                settings=config,
                fit=fit,
                figs=figs,
                headlines=headlines(fit, sections),
                sections=sections,
                quality=_quality(config),
                models_table=_models_table(fit, all_models),
                efficiency=fit.efficiency.to_dict(orient="records"),
                input_sha=input_sha,
                bench_summary=_bench_link(out_dir),
            )
        )
        fit.save(out_dir / "fit.json")
        for sec in sections:
            if sec.result is not None:
                sec.result.save(out_dir / f"predict-{slug(sec.target.column)}.json")
        index = out_dir / "index.html"
        store.write_text(index, html)
        bar.update(1)
    return index


def _bench_link(out_dir: Path) -> str | None:
    summary = out_dir / "bench" / "summary.html"
    return "bench/summary.html" if summary.exists() else None
