"""The accuracy bench's task pool: its size and halves, chance levels, bases without the
target's own task, the statistics per half, and degenerate targets skipped, not fatal."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from obsscale.bench import accuracy, accuracy_stem
from obsscale.bench.pool import (
    CONFIRMATION_SEEN,
    POOL_SEED,
    PoolEntry,
    bbh_chance,
    bbh_options,
    half_of,
    hub_basis,
    task_pool,
    twins,
)
from obsscale.bench.summary import accuracy_markdown, pool_stats, pool_summary
from obsscale.config import OBSSCALING_BENCHMARKS, PredictConfig
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops


def test_pool_is_large_and_its_entries_distinct() -> None:
    pool = task_pool()
    assert len(pool) >= 50
    keys = [(e.target, e.split.describe()) for e in pool]
    assert len(set(keys)) == len(keys)
    assert {e.basis for e in pool} == {"curated", "all", "hub"}


def test_halves_split_by_task_parity_of_sha256() -> None:
    pool = task_pool()
    for e in pool:
        digest = hashlib.sha256(f"{POOL_SEED}:{e.task}".encode()).digest()
        assert e.half == ("design", "confirmation")[digest[-1] % 2]
    by_task: dict[str, set[str]] = {}
    for e in pool:
        by_task.setdefault(e.task, set()).add(e.half)
    assert all(len(h) == 1 for h in by_task.values())  # a task never straddles the halves
    design, confirmation = task_pool("design"), task_pool("confirmation")
    assert design and confirmation and len(design) + len(confirmation) == len(pool)
    assert half_of("gsm8k") == half_of("gsm8k")


def test_bbh_chance_levels_from_the_curated_table() -> None:
    options = bbh_options()
    assert len(options) == 27
    assert options["logical_deduction_seven_objects"] == 7 and options["word_sorting"] is None
    assert bbh_chance("navigate") == 0.5 and bbh_chance("object_counting") == 0.0
    subtasks = [e for e in task_pool() if e.task.startswith("bbh:")]
    assert len(subtasks) == 27
    for e in subtasks:
        n = options[e.task.removeprefix("bbh:")]
        assert e.chance == pytest.approx(1 / n if n else 0.0)
        assert e.target.startswith("obsscaling_post:bbh_cot_fewshot_")


def test_same_task_basis_columns_are_twins() -> None:
    [cot] = [e for e in task_pool() if e.target.endswith("gsm8k_cot_8shot_flexible-extract")]
    pairs = twins(cot, [*OBSSCALING_BENCHMARKS, "openllm_v1:GSM8K", cot.target])
    assert ("obsscaling:GSM8K", cot.target) in pairs
    assert ("openllm_v1:GSM8K", cot.target) in pairs
    assert ("obsscaling:MMLU", cot.target) not in pairs


def test_hub_basis_leaves_out_the_targets_task() -> None:
    rng = np.random.default_rng(0)
    cols = ["FrontierMath Tier 1-3", "FrontierMath Tier 4", "MMLU", "GSM8K", "BBH"]
    frame = pd.DataFrame(rng.random((12, len(cols))), columns=[f"epoch_hub:{c}" for c in cols])
    frame.loc[:3, "epoch_hub:BBH"] = np.nan  # the least observed one ranks last
    entry = PoolEntry(
        "frontiermath",
        "hub",
        "epoch_hub:FrontierMath Tier 1-3",
        CutoffDate("2025-03-01"),
        basis="hub",
    )
    assert hub_basis(frame, entry) == ("epoch_hub:MMLU", "epoch_hub:GSM8K", "epoch_hub:BBH")


def _row(
    half: str, ratio: float | None, cover: float, base: float | None = 0.5, compute: float = 1.0
) -> dict:
    return {
        "half": half,
        "target": "t",
        "split": "s",
        "ratio_default_paper": ratio,
        "ratio_default_baseline": base,
        "ratio_paper_baseline": base,
        "ratio_log_flops_baseline": compute,
        "default_pc_coverage": cover,
        "paper_pc_coverage": cover,
        "default_width": 10.0,
        "paper_width": 8.0,
    }


def test_pool_statistics() -> None:
    rows = [_row("design", r, c) for r, c in ((0.5, 0.9), (2.0, 0.5), (1.0, 0.8), (None, 1.0))]
    rows[1] |= {"ratio_default_baseline": 1.5, "ratio_log_flops_baseline": 4.0}
    rows.append(_row("design", 9.0, 0.0) | {"skipped": "degenerate target"})
    stats = pool_stats(rows)
    assert stats["entries"] == 5 and stats["ran"] == 4
    assert stats["ratio_median"] == pytest.approx(1.0)
    assert stats["ratio_geomean"] == pytest.approx(1.0)
    assert stats["share_ratio_above_1.25"] == pytest.approx(1 / 3)
    assert stats["ratio_max"] == 2.0
    assert stats["default_coverage_min"] == 0.5
    assert stats["default_coverage_p10"] == pytest.approx(np.percentile([0.9, 0.5, 0.8, 1.0], 10))
    assert stats["paper_width_median"] == 8.0
    assert stats["default_baseline_max"] == 1.5
    assert stats["default_baseline_share_above_1.25"] == pytest.approx(1 / 4)
    assert stats["paper_baseline_share_above_1.25"] == 0.0
    assert stats["log_flops_baseline_max"] == 4.0
    assert stats["log_flops_baseline_share_above_1.25"] == pytest.approx(1 / 4)
    both = pool_summary([*rows, _row("confirmation", 1.5, 0.9)])
    assert list(both) == ["design", "confirmation", "whole pool"]
    assert both["whole pool"]["ran"] == 5
    text = accuracy_markdown(rows)
    assert "| ratio_median | 1 |" in text and "degenerate target" in text
    assert all(f"Tuning disclosure: {seen}" in text for seen in CONFIRMATION_SEEN)


def test_degenerate_and_missing_targets_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    n = 30
    models = pd.DataFrame({"model": [f"org/m{i}" for i in range(n)], "family": "F"})
    models["flops"] = 10 ** rng.uniform(20, 24, n)
    models["params_b"] = models["flops"] / 1e21
    models["release_date"] = "2024-01-01"
    models["is_base"] = pd.array([True] * n, dtype="boolean")
    for b in OBSSCALING_BENCHMARKS:
        models[b] = rng.uniform(0.2, 0.8, n)
    models["obsscaling_post:zero"] = 0.0
    entries = [
        PoolEntry("zero", "s", "obsscaling_post:zero", CutoffFlops(1e22)),
        PoolEntry("gone", "s", "obsscaling_post:absent", CutoffFlops(1e22)),
    ]
    monkeypatch.setattr(accuracy, "task_pool", lambda half=None: entries)
    rows = accuracy.run_accuracy(models, PredictConfig())
    assert [r["target"] for r in rows] == ["obsscaling_post:zero", "obsscaling_post:absent"]
    assert "degenerate target" in rows[0]["skipped"] and "30 of 30" in rows[0]["skipped"]
    assert rows[1]["skipped"] == "no such column"


def test_a_flat_side_variant_never_overwrites_the_default_run() -> None:
    default, variant = PredictConfig(), PredictConfig(flat_side="paper")
    assert accuracy_stem(None, default) == "accuracy"
    assert accuracy_stem("design", default) == "accuracy-design"
    assert accuracy_stem("design", variant) == "accuracy-design-flat-paper"
