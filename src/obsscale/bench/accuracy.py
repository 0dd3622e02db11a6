"""The accuracy suite: a fixed, documented set of back-tests on the fetched data, each with the
factor predictor and both compute baselines. Seeded: the same numbers every run."""

from __future__ import annotations

from typing import Any

import pandas as pd

from obsscale.config import (
    LEADERBOARD_V2_TARGETS,
    LLAMA2_7B_FLOPS,
    OBSSCALING_BENCHMARKS,
    PredictConfig,
)
from obsscale.exceptions import PredictError
from obsscale.model.backtest import backtest
from obsscale.model.splits import CutoffDate, CutoffFlops, LeaveFamilyOut
from obsscale.model.subsets import select_models

CURATED = OBSSCALING_BENCHMARKS
DATE_CUTOFF = "2024-06-01"


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
    curated benchmarks, the target left out when it is one of them)."""
    base = select_models(models, CURATED)
    rows = []
    for task in accuracy_tasks():
        split = task["split"]
        try:
            r = backtest(base, task["target"], split=split, chance=task["chance"], pconf=pconf)
        except PredictError as e:
            rows.append(
                {
                    "suite": task["suite"],
                    "target": task["target"],
                    "split": split.describe(),
                    "error": str(e),
                }
            )
            continue
        row = {
            "suite": task["suite"],
            "target": task["target"],
            "split": r.split,
            "chance": task["chance"],
            "n_train": r.n_train,
            "n_test": r.n_test,
            "n_unknown": r.n_unknown,
        }
        for name, s in r.scores.items():
            row |= {
                f"{name}_mse": s.mse_test,
                f"{name}_mae": s.mae_test,
                f"{name}_coverage": s.coverage,
            }
        row |= {f"ratio_{k}": v for k, v in r.mse_ratios().items()}
        pc = r.predictions[
            (r.predictions["predictor"] == "pc") & (r.predictions["split"] == "test")
        ]
        row["pc_width"] = float((pc["upper_raw"] - pc["lower_raw"]).median() * 100)
        c = (r.choices or {}).get("pc", {})
        row |= {f"pc_{k}": str(c.get(k)) for k in ("inputs", "form", "alpha")}
        rows.append(row)
    return rows
