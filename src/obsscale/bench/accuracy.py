"""The accuracy suite: a fixed, documented set of back-tests on the fetched data, each with the
factor predictor and both compute baselines. Seeded: the same numbers every run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from obsscale.config import (
    LEADERBOARD_V2_TARGETS,
    LLAMA2_7B_FLOPS,
    OBSSCALING_BENCHMARKS,
    PredictConfig,
)
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.rows import select_models
from obsscale.model.prediction.backtest import backtest
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops, LeaveFamilyOut

CURATED = OBSSCALING_BENCHMARKS
DATE_CUTOFF = "2024-06-01"
BASELINES = ("log_flops", "log_params")
FORM_LABELS = {"floor_ceiling": "/fc", "parametric": "/floor"}


def accuracy_tasks() -> list[dict[str, Any]]:
    """The fixed task list: held-out curated benchmarks, v2 tasks, leave-family-out, date."""
    tasks = [
        {
            "suite": "held-out curated",
            "target": b,
            "chance": 0.0,
            "split": CutoffFlops(LLAMA2_7B_FLOPS),
        }
        for b in CURATED
    ]
    tasks += [
        {
            "suite": "leaderboard v2",
            "target": t.column,
            "chance": t.chance,
            "split": CutoffFlops(t.cutoff_flops),
        }
        for t in LEADERBOARD_V2_TARGETS
    ]
    tasks += [
        {
            "suite": "leave one family out",
            "target": t,
            "chance": c,
            "split": LeaveFamilyOut(),
        }
        for t, c in (("obsscaling:GSM8K", 0.0), ("openllm_v2:BBH", 0.2624))
    ]
    tasks += [
        {
            "suite": f"release date {DATE_CUTOFF}",
            "target": t,
            "chance": c,
            "split": CutoffDate(DATE_CUTOFF),
        }
        for t, c in (
            ("obsscaling:GSM8K", 0.0),
            ("openllm_v2:GPQA", 0.25),
            ("openllm_v2:BBH", 0.2624),
        )
    ]
    return tasks


def run_accuracy(models: pd.DataFrame, pconf: PredictConfig) -> list[dict[str, Any]]:
    """Every accuracy task on the base models of the curated table (factor basis: the 8
    curated benchmarks, the target left out when it is one of them), by the default method
    and by the paper's, side by side."""
    base = select_models(models, CURATED)
    paper = replace(pconf, method="paper")
    default = pconf if pconf.method != "paper" else replace(pconf, method="obsscale")
    rows = []
    for task in accuracy_tasks():
        split = task["split"]
        head = {"suite": task["suite"], "target": task["target"]}
        try:
            res = {
                m: backtest(base, task["target"], split=split, chance=task["chance"], pconf=c)
                for m, c in (("paper", paper), ("default", default))
            }
        except PredictError as e:
            rows.append(head | {"split": split.describe(), "error": str(e)})
            continue
        r = res["default"]
        row = head | {
            "split": r.split,
            "chance": task["chance"],
            "n_train": r.n_train,
            "n_test": r.n_test,
            "n_unknown": r.n_unknown,
        }
        for method, result in res.items():
            row |= _scores(method, result)
        rows.append(row | _comparison(row, r))
    return rows


def _scores(method: str, r: PredictionResult) -> dict[str, Any]:
    """Each predictor's test MSE, MAE and coverage, and the factor predictor's median
    interval width in points of the raw metric."""
    row: dict[str, Any] = {}
    for name, s in r.scores.items():
        row |= {
            f"{method}_{name}_mse": s.mse_test,
            f"{method}_{name}_mae": s.mae_test,
            f"{method}_{name}_coverage": s.coverage,
        }
    pred = r.predictions
    pc = pred[(pred["predictor"] == "pc") & (pred["split"] == "test")]
    row[f"{method}_width"] = float((pc["upper_raw"] - pc["lower_raw"]).median() * 100)
    return row


def _comparison(row: dict[str, Any], r: PredictionResult) -> dict[str, Any]:
    """Default over paper, default over the better compute baseline (of either method), and
    what the default's nested back-tests chose for the factor predictor."""
    best_base = min(row[f"{m}_{b}_mse"] for m in ("paper", "default") for b in BASELINES)
    choice = (r.choices or {}).get("pc", {})
    members = choice.get("members")
    chosen = (
        " + ".join(f"{m['inputs']}{FORM_LABELS.get(m['form'], '')}" for m in members)
        if members
        else ", ".join(f"{k} x{v}" for k, v in choice.get("inputs", {}).items())
    )
    return {
        "ratio_default_paper": row["default_pc_mse"] / row["paper_pc_mse"],
        "best_baseline_mse": best_base,
        "ratio_default_baseline": row["default_pc_mse"] / best_base,
        "selected": chosen,
    }
