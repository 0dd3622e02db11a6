"""The accuracy bench: every entry of the task pool (``bench.pool``) back-tested by the default
method and by the paper's, side by side, each with the factor predictor and both compute
baselines. Seeded: the same numbers every run, whatever the number of worker processes."""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import replace
from typing import Any

import pandas as pd

from obsscale.bench.pool import PoolEntry, settings_for, task_pool, twins
from obsscale.config import OBSSCALING_BENCHMARKS, PredictConfig
from obsscale.data.parsers.common import degenerate
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.rows import select_models
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.results import PredictionResult
from obsscale.workers import available_workers

CURATED = OBSSCALING_BENCHMARKS
BASELINES = ("log_flops", "log_params")
FORM_LABELS = {"floor_ceiling": "/fc", "parametric": "/floor"}

# what a forked worker reads (set before forking: the children inherit it, nothing is pickled)
_SHARED: dict[str, Any] = {}


def run_accuracy(
    models: pd.DataFrame, pconf: PredictConfig, half: str | None = None
) -> list[dict[str, Any]]:
    """Every pool entry (or one half's), by the default method and by the paper's. Entries
    whose target is missing or degenerate among their models are skipped, with the reason."""
    entries = task_pool(half)
    _SHARED.update(
        models=models,
        curated=select_models(models, CURATED),
        everyone=select_models(models, (), base_only=False),
        pconf=pconf,
    )
    try:
        workers = min(available_workers(), len(entries))
        if workers < 2:
            return [_run_entry(e) for e in entries]
        # the slowest entries first, so that the workers finish together; rows in pool order
        order = sorted(
            range(len(entries)), key=lambda i: entries[i].split.kind != "leave_family_out"
        )
        with mp.get_context("fork").Pool(workers) as pool:
            done = pool.map(_run_entry, [entries[i] for i in order], chunksize=1)
        rows = dict(zip(order, done, strict=True))
        return [rows[i] for i in range(len(entries))]
    finally:
        _SHARED.clear()


def _run_entry(entry: PoolEntry) -> dict[str, Any]:
    """One entry's row: both methods' scores and their comparison, or why it was skipped."""
    pconf: PredictConfig = _SHARED["pconf"]
    models = _SHARED["curated"] if entry.basis == "curated" else _SHARED["everyone"]
    head: dict[str, Any] = {
        "task": entry.task,
        "half": entry.half,
        "suite": entry.suite,
        "target": entry.target,
        "basis": entry.basis,
        "chance": entry.chance,
    }
    if entry.target not in models.columns:
        return head | {"split": entry.split.describe(), "skipped": "no such column"}
    why = degenerate(models[entry.target])
    if why:
        return head | {"split": entry.split.describe(), "skipped": f"degenerate target: {why}"}
    paper = replace(pconf, method="paper")
    default = pconf if pconf.method != "paper" else replace(pconf, method="obsscale")
    settings = settings_for(entry, models)
    pairs = twins(entry, list(models.columns))
    try:
        res = {
            m: backtest_target(
                models,
                entry.target,
                split=entry.split,
                chance=entry.chance,
                settings=settings,
                pconf=c,
                twins=pairs,
            )
            for m, c in (("paper", paper), ("default", default))
        }
    except PredictError as e:
        return head | {"split": entry.split.describe(), "error": str(e)}
    r = res["default"]
    row = head | {"split": r.split, "n_train": r.n_train, "n_test": r.n_test}
    row["n_unknown"] = r.n_unknown
    for method, result in res.items():
        row |= _scores(method, result)
    return row | _comparison(row, r)


def _scores(method: str, r: PredictionResult) -> dict[str, Any]:
    """Each predictor's test MSE, MAE and coverage, and the factor predictor's median
    interval width in points of the raw metric."""
    row: dict[str, Any] = {}
    for name, s in r.scores.items():
        row |= {
            f"{method}_{name}_mse": _finite(s.mse_test),
            f"{method}_{name}_mae": _finite(s.mae_test),
            f"{method}_{name}_coverage": _finite(s.coverage),
        }
    pred = r.predictions
    pc = pred[(pred["predictor"] == "pc") & (pred["split"] == "test")]
    row[f"{method}_width"] = _finite((pc["upper_raw"] - pc["lower_raw"]).median() * 100)
    return row


def _finite(value: Any) -> float | None:
    """A number, or None where it is undefined (NaN: a predictor that scored no test model)."""
    return None if value is None or pd.isna(value) else float(value)


def _comparison(row: dict[str, Any], r: PredictionResult) -> dict[str, Any]:
    """Default over paper, default over the better compute baseline (of either method; None
    where neither baseline can score the test models), and what the default's nested
    back-tests chose for the factor predictor."""
    bases = [row.get(f"{m}_{b}_mse") for m in ("paper", "default") for b in BASELINES]
    best_base = min((b for b in bases if b is not None), default=None)
    choice = (r.choices or {}).get("pc", {})
    members = choice.get("members")
    chosen = (
        " + ".join(f"{m['inputs']}{FORM_LABELS.get(m['form'], '')}" for m in members)
        if members
        else ", ".join(f"{k} x{v}" for k, v in choice.get("inputs", {}).items())
    )
    default, paper = row["default_pc_mse"], row["paper_pc_mse"]
    return {
        "ratio_default_paper": _ratio(default, paper),
        "best_baseline_mse": best_base,
        "ratio_default_baseline": _ratio(default, best_base),
        "ratio_paper_baseline": _ratio(paper, best_base),
        "selected": chosen,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b
