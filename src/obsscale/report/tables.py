"""The report's tables, as plain records for the template: forecasts, how far to trust them,
the data snapshot and the audit. Numbers are formatted here, once, so that the page uses one
format for each kind of number (scores: three decimals; compute: two significant digits)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.data import store
from obsscale.data.cache import verify_output
from obsscale.data.table import score_columns
from obsscale.exceptions import ArtifactError
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.chance import to_raw_span
from obsscale.model.prediction.results import PredictionResult

NEXT = re.compile(r"^(?P<family>.+) next \((?P<times>[0-9.e+]+)x its largest\)$")


def score(v: Any) -> str:
    """A score (fraction) in the report's one format."""
    return "–" if v is None or not np.isfinite(float(v)) else f"{float(v):.3f}"


def flops(v: float) -> str:
    return f"{v:.1e}".replace("e+", "e")


def _scenario(name: str, cells: pd.DataFrame, fit: CapabilityFit) -> dict[str, Any]:
    """A scenario's label with its compute, what kind it is, and how far past its line's
    largest model it goes (``within range`` when not past it)."""
    past = float(cells["decades_past"].max())
    family = cells["source_family"].dropna()
    m = NEXT.match(name)
    label = name
    if m and len(family):
        top = fit.models.loc[fit.models["family"] == family.iloc[0], "flops"].max()
        if np.isfinite(top):
            at = flops(top * float(m["times"]))
            label = f"{m['family']} next: {m['times']}x its largest ({at} FLOPs)"
    past_text = "within range" if not past > 0 else f"{past:.1f}"
    return {
        "name": name,
        "label": label,
        "kind": "next" if m else "grid",
        "family": m["family"] if m else None,
        "times": float(m["times"]) if m else None,
        "past": past_text,
    }


def forecast_table(result: Any, fit: CapabilityFit) -> dict[str, Any] | None:
    """Scenarios as rows, targets as columns, every cell as predicted [lower, upper]."""
    if result is None or result.rows.empty:
        return None
    frame = result.to_frame()
    targets = list(dict.fromkeys(frame["target"]))
    rows = []
    for name, grp in frame.groupby("scenario", sort=False):
        cells = grp.set_index("target").reindex(targets)
        row = _scenario(str(name), grp, fit)
        row["cells"] = [
            {
                "predicted": float(c.predicted),
                "lower": float(c.lower),
                "upper": float(c.upper),
                "text": f"{score(c.predicted)} [{score(c.lower)}, {score(c.upper)}]",
            }
            for c in cells.itertuples()
        ]
        rows.append(row)
    return {
        "targets": targets,
        "scenarios": rows,
        "notes": result.notes,
        "explanations": _non_monotone(rows, targets, fit),
    }


def _non_monotone(rows: list[dict[str, Any]], targets: list[str], fit: CapabilityFit) -> list[str]:
    """A sentence for every family whose larger next model is forecast below its smaller one."""
    slopes = fit.families[fit.families["component"] == "PC-1"].set_index("family")["slope"]
    out = []
    by_family: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "next":
            by_family.setdefault(r["family"], []).append(r)
    for family, group in by_family.items():
        group = sorted(group, key=lambda r: r["times"])
        small, large = group[0], group[-1]
        worse = [
            (t, s["predicted"], g["predicted"], g["upper"] - g["lower"])
            for t, s, g in zip(targets, small["cells"], large["cells"], strict=True)
            if score(g["predicted"]) < score(s["predicted"])  # as the table shows them
        ]
        if not worse:
            continue
        drop = max((s - g) * 100 for _, s, g, _ in worse)
        width = min(w * 100 for *_, w in worse)
        slope = slopes.get(family, np.nan)
        why = (
            f"its PC-1 line is shallow (PC-1 rises {slope:.2f} per decade of compute; median "
            f"family {slopes.median():.2f})"
            if np.isfinite(slope)
            else "its capability lines rise little with compute"
        )
        out.append(
            f"{family}: the {large['times']:g}x forecast of {', '.join(t for t, *_ in worse)} is "
            f"below the {small['times']:g}x one. The law expects almost no gain for {family}: "
            f"{why}. The difference (at most {drop:.2g} points) is far smaller than the "
            f"intervals (at least {width:.0f} points wide)."
        )
    return out


def trust_table(sections: list[Any]) -> list[dict[str, Any]]:
    """One row per back-tested target: the factor predictor's test error and interval coverage
    beside the compute-only baselines' (mean absolute error in points of the raw score), and
    the verdict on whether the target is predictable (lower error alone is not: R² and
    coverage count too)."""
    rows = []
    for sec in sections:
        r: PredictionResult | None = sec.result
        if r is None:
            continue
        cells = {}
        for name, s in r.scores.items():
            covered = round(s.coverage * s.n_test_scored)
            cells[name] = {
                "mae": f"{to_raw_span(s.mae_test, r.chance) * 100:.1f}",  # points of the raw score
                "coverage": f"{s.coverage:.0%}",
                "covered": f"{covered} of {s.n_test_scored}",
            }
        for name, why in r.left_out.items():  # no compute known: the cell says why
            cells[name] = {"mae": "left out", "coverage": "–", "covered": why}
        rows.append(
            {
                "target": r.target,
                "n_test": r.n_test,
                "cells": cells,
                "vs_baselines": _vs_baselines(r),
                "predictable": r.verdict().to_dict(),
            }
        )
    return rows


def _vs_baselines(r: PredictionResult) -> str:
    """The factors against the baselines the back-test fitted (frontier targets often have
    none or one: the others are left out for want of known compute)."""
    ratios = r.mse_ratios()
    better, n = sum(v > 1 for v in ratios.values()), len(ratios)
    if n == 0:
        return "no compute baseline could be fitted"
    if better == n:
        return "better than both baselines" if n == 2 else "better than the one baseline fitted"
    return "better than one baseline" if better else "no better than the baselines"


def snapshot(config: Config, models: pd.DataFrame) -> dict[str, Any]:
    manifest_path = config.manifest_path
    manifest = store.read_json(manifest_path, "fetch manifest") if manifest_path.exists() else {}
    if not isinstance(manifest, dict) or not all(isinstance(v, dict) for v in manifest.values()):
        raise ArtifactError(f"{manifest_path}: not a fetch manifest; rerun `obsscale fetch`")
    return {
        "sources": [manifest[k] for k in sorted(manifest)],
        "n_models": len(models),
        "n_families": int(models["family"].nunique()),
        "n_benchmarks": len(score_columns(models)),
        "n_flops": int(models["flops"].notna().sum()),
        "n_base": int(models["is_base"].fillna(False).sum()),
    }


def _value(text: str) -> str:
    """An audit value as the reader wants it: numbers to four significant digits."""
    try:
        v = float(text)
    except ValueError:
        return text
    return f"{v:.4g}" if np.isfinite(v) else text


def quality(config: Config) -> dict[str, Any]:
    """The audit's counts by rule and every warning and correction; the excluded rows and
    dropped values (thousands) are counted only: they are in ``quality.csv``."""
    path = config.processed_dir / "quality.csv"
    if not path.exists():
        return {"counts": [], "warnings": [], "n": 0, "n_excluded": 0}
    verify_output(config, "quality.csv")  # the report's counts come from harmonize's table
    q = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = (
        q.groupby(["severity", "rule", "source"])
        .size()
        .rename("findings")
        .reset_index()
        .sort_values(["severity", "findings"], ascending=[True, False])
    )
    warnings = q[q["severity"].isin(["warning", "info"])].copy()
    warnings["value"] = warnings["value"].map(_value)
    return {
        "n": len(q),
        "counts": counts.to_dict(orient="records"),
        "warnings": warnings.to_dict(orient="records"),
        "n_excluded": int(q["severity"].isin(["excluded", "dropped"]).sum()),
    }


def models_table(fit: CapabilityFit, models: pd.DataFrame) -> list[dict[str, Any]]:
    meta = models.set_index("model")[["params_b", "tokens_t"]]
    table = fit.models.join(meta, on="model")
    cols = ["model", "family", "params_b", "tokens_t", "flops", "equivalent_flops", *fit.components]
    table = table[[c for c in cols if c in table.columns]]
    return store.jsonable(table)
