"""Speed and scale: fit + predict on synthetic tables of growing size, each size in a fresh
process so that its peak memory is its own, with log-log slopes of time against N."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig, PredictConfig, build_settings
from obsscale.model.capabilities.fit import fit_capabilities
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.splits import CutoffFlops, Split

SIZES = (1_000, 10_000, 100_000)

#: The scale section times both methods: the default (nested back-tests, calibrated
#: intervals), whose 1,000,000-model row the speed targets read, and the paper's predictor
#: (one factor fit, bootstrap intervals), the work the reference does.
METHODS = ("obsscale", "paper")


def synthetic_table(n: int, seed: int = 0, missing: float = 0.2) -> pd.DataFrame:
    """``n`` models in ~n/20 families, 8 benchmarks driven by two latent capabilities that are
    linear in log-compute with family offsets, 20% of scores missing, and a target."""
    rng = np.random.default_rng(seed)
    n_fam = max(n // 20, 3)
    fam = rng.integers(0, n_fam, size=n)
    logf = rng.uniform(20, 25, size=n)
    eff = rng.normal(scale=0.3, size=n_fam)[fam]
    c1 = eff + 0.4 * (logf - 22.5)
    c2 = rng.normal(scale=0.5, size=n)
    load = np.abs(rng.normal(size=(2, 8))) * [[1.0], [0.4]]
    scores = 1 / (1 + np.exp(-(np.column_stack([c1, c2]) @ load - 0.5)))
    scores = np.clip(scores + rng.normal(scale=0.02, size=scores.shape), 0, 1)
    scores[rng.random(scores.shape) < missing] = np.nan
    empty = np.isnan(scores).all(axis=1)
    scores[empty, 0] = 0.5
    table = pd.DataFrame(scores, columns=[f"syn:b{j}" for j in range(8)])
    table.insert(0, "model", [f"org{f}/model-{i}" for i, f in enumerate(fam)])
    table.insert(1, "family", [f"F{f}" for f in fam])
    table["flops"] = 10**logf
    table["params_b"] = 10 ** (logf - 22.5) * rng.uniform(2, 20, size=n)
    table["release_date"] = "2024-01-01"
    table["is_base"] = True
    table["target"] = np.clip(
        1 / (1 + np.exp(-(1.5 * c1 - 0.5))) + rng.normal(scale=0.03, size=n), 0, 1
    )
    return table


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def fit_predict_timing(
    models: pd.DataFrame,
    settings: CapabilityConfig,
    target: str,
    pconf: PredictConfig,
    split: Split,
) -> dict[str, float]:
    """Seconds of the capability fit and of one back-test with bootstrap intervals."""
    _, t_fit = timed(lambda: fit_capabilities(models, settings))
    _, t_pred = timed(
        lambda: backtest_target(models, target, split=split, settings=settings, pconf=pconf)
    )
    return {"fit_s": t_fit, "predict_s": t_pred, "total_s": t_fit + t_pred}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def scale_child(n: int, method: str = "obsscale") -> dict[str, Any]:
    """One synthetic size and method, measured in this (fresh) process."""
    base_rss = _rss_mb()
    table = synthetic_table(n)
    settings = CapabilityConfig(
        benchmarks=tuple(c for c in table.columns if c.startswith("syn:")), reference_family="F0"
    )
    pconf = build_settings(PredictConfig, {"method": method}, "scale child")  # from argv
    out = fit_predict_timing(table, settings, "target", pconf, CutoffFlops(10**23.5))
    return {"n": n, "method": method, **out, "peak_rss_mb": _rss_mb(), "baseline_rss_mb": base_rss}


def run_scale(sizes: tuple[int, ...], methods: tuple[str, ...] = METHODS) -> list[dict[str, Any]]:
    rows = []
    for method in methods:
        for n in sizes:
            proc = subprocess.run(
                [sys.executable, "-m", "obsscale.bench", "--scale-child", str(n), method],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                err = proc.stderr.strip().splitlines()[-1:]
                rows.append({"n": n, "method": method, "error": err})
                continue
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return rows


def loglog_slopes(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Slope of log(time) against log(N) per stage and method (``total_s``, or
    ``total_s (paper)`` for a method other than the default): 1 is linear growth."""
    out: dict[str, float] = {}
    for method in dict.fromkeys(r.get("method", "obsscale") for r in rows):
        ok = [r for r in rows if "error" not in r and r.get("method", "obsscale") == method]
        if len(ok) < 2:
            continue
        n = np.log10([r["n"] for r in ok])
        tag = "" if method == "obsscale" else f" ({method})"
        out |= {
            k + tag: float(np.polyfit(n, np.log10([max(r[k], 1e-6) for r in ok]), 1)[0])
            for k in ("fit_s", "predict_s", "total_s")
        }
    return out
