"""The accuracy bench: every entry of the task pool (``bench.pool``) back-tested by the default
method and by the paper's, side by side, each with the factor predictor and both compute
baselines. Seeded: the same numbers every run, whatever the number of worker processes."""

from __future__ import annotations

import multiprocessing as mp
import os
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
from obsscale.model.prediction.scoring import scored_test_models
from obsscale.workers import available_workers, end_with_parent

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
        # workers end at once on the pool's SIGTERM (not the CLI's handler: a traceback each)
        with mp.get_context("fork").Pool(
            workers, initializer=end_with_parent, initargs=(os.getpid(),)
        ) as pool:
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
    return row | _comparison(row, res)


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


def _comparison(row: dict[str, Any], res: dict[str, PredictionResult]) -> dict[str, Any]:
    """Default over paper, default over the better compute baseline (of either method; None
    where neither baseline can score the test models), the default's log-FLOPs baseline over
    that same better baseline (what always predicting from compute alone would score on the
    criterion: the better baseline is picked on the test models, so the log-FLOPs baseline
    itself exceeds 1 wherever log-parameters wins), and what the default's nested
    back-tests chose for the factor predictor. Where no test model has every predictor's
    inputs (hubs of frontier models without known compute), each predictor was scored on its
    own test models: the factor predictor is then compared with each baseline on the models
    both score, and the ratio to the better baseline is the largest of those."""
    bases = [row.get(f"{m}_{b}_mse") for m in ("paper", "default") for b in BASELINES]
    best_base = min((b for b in bases if b is not None), default=None)
    choice = (res["default"].choices or {}).get("pc", {})
    members = choice.get("members")
    chosen = (
        " + ".join(f"{m['inputs']}{FORM_LABELS.get(m['form'], '')}" for m in members)
        if members
        else ", ".join(f"{k} x{v}" for k, v in choice.get("inputs", {}).items())
    )
    default, paper = row["default_pc_mse"], row["paper_pc_mse"]
    out = {
        "ratio_default_paper": _ratio(default, paper),
        "best_baseline_mse": best_base,
        "ratio_default_baseline": _ratio(default, best_base),
        "ratio_paper_baseline": _ratio(paper, best_base),
        "ratio_log_flops_baseline": _ratio(row.get("default_log_flops_mse"), best_base),
        "selected": chosen,
    }
    tests = {m: _test_frame(r) for m, r in res.items()}
    if not scored_test_models(res["default"].predictions.query("split == 'test'"))[1]:
        for m in ("default", "paper"):
            out[f"ratio_{m}_baseline"] = _pairwise_ratio(tests[m], tests)
        out["ratio_log_flops_baseline"] = None  # each predictor scored its own test models
    return out


def _test_frame(r: PredictionResult) -> pd.DataFrame:
    """Test models x predictors: the predictions, and the actual score."""
    te = r.predictions[r.predictions["split"] == "test"]
    frame = te.pivot_table(index="model", columns="predictor", values="predicted")
    return frame.assign(actual=te.drop_duplicates("model").set_index("model")["actual"])


def _pairwise_ratio(pc: pd.DataFrame, tests: dict[str, pd.DataFrame]) -> float | None:
    """The factor predictor's MSE over each baseline's on the test models both score; the
    largest such ratio (None where no baseline scores a model the factor predictor does)."""
    ratios = []
    for frame in tests.values():
        for b in BASELINES:
            if b not in frame or "pc" not in pc:
                continue
            both = pc["pc"].dropna().index.intersection(frame[b].dropna().index)
            if len(both):
                y = pc.loc[both, "actual"]
                num = float(((pc.loc[both, "pc"] - y) ** 2).mean())
                ratios.append(_ratio(num, float(((frame.loc[both, b] - y) ** 2).mean())))
    return max((x for x in ratios if x is not None), default=None)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b
