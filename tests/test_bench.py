"""The benchmark's own pieces: the synthetic generator and the growth-rate arithmetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from obsscale.bench.pool import task_pool
from obsscale.bench.scale import loglog_slopes, synthetic_table
from obsscale.bench.summary import markdown_table


def test_synthetic_table_is_seeded_and_twenty_percent_missing() -> None:
    a, b = synthetic_table(2000, seed=3), synthetic_table(2000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    scores = a[[c for c in a.columns if c.startswith("syn:")]]
    assert scores.shape == (2000, 8)
    assert scores.isna().to_numpy().mean() == pytest.approx(0.2, abs=0.01)
    assert scores.notna().any(axis=1).all()  # every model keeps at least one score
    assert ((scores.stack().dropna() >= 0) & (scores.stack().dropna() <= 1)).all()


def test_loglog_slope_reads_growth_rate() -> None:
    rows = [
        {"n": n, "fit_s": 1e-5 * n, "predict_s": 1e-9 * n**2, "total_s": 2.0}
        for n in (1_000, 10_000, 100_000)
    ]
    paper = [r | {"method": "paper", "total_s": 1e-4 * r["n"]} for r in rows]
    slopes = loglog_slopes(rows + paper)
    assert slopes["fit_s"] == pytest.approx(1.0)
    assert slopes["predict_s"] == pytest.approx(2.0)
    assert slopes["total_s"] == pytest.approx(0.0, abs=1e-12)
    assert slopes["total_s (paper)"] == pytest.approx(1.0)  # each method's rows on their own


def test_pool_keeps_the_original_suite() -> None:
    pool = task_pool()
    suites = pd.Series([e.suite for e in pool]).value_counts()
    assert suites["held-out curated"] == 8
    assert suites["leave one family out"] == 2 and suites["release date 2024-06-01"] == 3
    assert {e.split.kind for e in pool} == {
        "cutoff_flops",
        "leave_family_out",
        "cutoff_date",
        "cutoff_top_fraction",
    }


def test_markdown_table_formats_numbers() -> None:
    text = markdown_table([{"a": 0.000123456, "b": "x", "c": np.int64(3)}], ["a", "b", "c"])
    assert text.splitlines()[2] == "| 0.000123 | x | 3 |"
    assert markdown_table([{"a": None}], ["a", "b"]).splitlines()[2] == "| — |  |"


def test_forecast_backtest_holds_out_each_familys_largest_model() -> None:
    import pandas as pd

    from obsscale.bench.forecast import held_out_models, summarize_cases

    models = pd.DataFrame(
        {
            "model": ["a1", "a2", "a3", "b1", "b2", "c1", "c2", "c3"],
            "family": ["A", "A", "A", "B", "B", "C", "C", "C"],
            "flops": [1e21, 1e22, 1e23, 1e21, 1e22, 5e21, None, 2e21],
        }
    )
    held = held_out_models(models)
    assert list(held["model"]) == ["a3"]  # B has 2 models, C only 2 of known compute
    cases = pd.DataFrame(
        {
            "kind": ["family", "family", "flops", "flops"],
            "target": ["t", "t", "t", "t"],
            "half": "design",
            "actual": [0.5, 0.6, 0.5, 0.6],
            "pred": [0.52, 0.7, 0.4, 0.6],
            "lower": [0.4, 0.65, 0.3, 0.5],
            "upper": [0.6, 0.8, 0.45, 0.7],
        }
    )
    summary = summarize_cases(cases)
    family, flops = (r for r in summary["per_target"])
    assert family["mae_pts"] == pytest.approx(6.0)
    assert family["coverage"] == 0.5 and flops["coverage"] == 0.5
    assert family["median_width_pts"] == pytest.approx(17.5)
    pooled = {(r["kind"], r["targets"]): r for r in summary["pooled"]}
    assert pooled[("flops", "all")]["n"] == 2 and pooled[("flops", "design half")]["n"] == 2


def test_frontier_completion_and_hiding_on_a_low_rank_matrix() -> None:
    from obsscale.bench.frontier import completion, factor_stability
    from obsscale.model.completion.hub_matrix import hide_cells

    rng = np.random.default_rng(0)
    ability = rng.normal(size=(60, 1))
    X = 1 / (1 + np.exp(-(ability @ rng.normal(1, 0.2, size=(1, 8)) + rng.normal(size=8))))
    X[rng.random(X.shape) < 0.4] = np.nan
    X[:, 0] = np.where(np.isnan(X[:, 0]), 0.5, X[:, 0])  # every row keeps a score
    hidden = hide_cells(X, np.random.default_rng(1))
    assert hidden.sum() == pytest.approx(0.2 * (~np.isnan(X)).sum(), rel=0.1)
    assert (~np.isnan(np.where(hidden, np.nan, X))).any(axis=1).all()
    frame = pd.DataFrame(X, columns=[f"epoch_hub:b{j}" for j in range(8)])
    result = completion(frame, rank=1, logit=True)
    assert result["median_abs_err_points"] < 5  # noise-free rank-1 logit data
    assert 0.7 <= result["coverage_90"] <= 1.0
    assert factor_stability(frame, n_boot=5)["pc1_cosine_median"] > 0.9


def test_scale_targets_read_the_default_methods_rows() -> None:
    """The 1M targets come from the default method's rows (the paper's are reported beside
    them), and the slope from its 100k and 1M rows; without a 1M row there is no target."""
    from obsscale.bench.speed import _scale_targets

    rows = [
        {"n": 100_000, "method": "obsscale", "total_s": 10.0},
        {"n": 1_000_000, "method": "obsscale", "total_s": 50.0, "peak_rss_mb": 1500.0},
        {"n": 1_000_000, "method": "paper", "total_s": 40.0, "peak_rss_mb": 1400.0},
    ]
    got = _scale_targets(rows)
    assert got["scale_1m_s"] == 50.0 and got["scale_1m_peak_mb"] == 1500.0
    assert got["slope_100k_1m"] == pytest.approx(np.log10(5.0))
    assert _scale_targets(rows[2:]) == {}


def test_speed_section_shows_the_reworks_before_and_after() -> None:
    """The report's target is 10% over its time before the rework; the section's table gives
    make fit, the report and --help before and after, and names no commit or issue."""
    import re

    from obsscale.bench.speed import LIMITS, REWORK, _target
    from obsscale.bench.summary import speed_markdown

    before = REWORK["report_s"]["before"]
    assert LIMITS["report_s"] == pytest.approx(1.1 * before, abs=0.01)
    row = _target("report_s", LIMITS["report_s"], {"report_s": before * 1.2})
    assert row["before"] == before and row["met"] is False
    speed = {
        "targets": [row],
        "measured": {},
        "rework": [{"timing": k, **v} for k, v in REWORK.items()],
    }
    text = speed_markdown(speed)
    assert {"make_fit_s", "report_s", "help_s"} <= set(re.findall(r"\| (\w+_s) ", text))
    assert not re.search(r"issue \d|commit [0-9a-f]{7}", text)


def test_predict_split_parts_the_command_into_work_and_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The work is the median of the children's; the start-up is the rest of the command's
    wall time, and the section says both."""
    from obsscale.bench import speed
    from obsscale.bench.summary import speed_markdown

    works = iter([0.5, 0.3, 0.4])
    monkeypatch.setattr(speed, "_child", lambda *args: {"work_s": next(works)})
    got = speed._predict_parts("data", 1.5)
    assert got == pytest.approx({"predict_work_s": 0.4, "predict_startup_s": 1.1})
    text = speed_markdown({"targets": [], "measured": got})
    assert "0.40 s of work" in text and "1.10 s of start-up" in text
