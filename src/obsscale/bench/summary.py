"""The bench's human-readable summary (Markdown, and the same as a minimal HTML page)."""

from __future__ import annotations

from typing import Any

import numpy as np

from obsscale.bench.pool import CONFIRMATION_SEEN
from obsscale.bench.selection import BUDGETS


def _fmt(v: Any) -> str:
    if v is None:  # not measured, or nothing to compare with
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


ACC_COLS = [
    "half",
    "task",
    "suite",
    "target",
    "n_train",
    "n_test",
    "paper_pc_mse",
    "default_pc_mse",
    "ratio_default_paper",
    "best_baseline_mse",
    "ratio_default_baseline",
    "paper_pc_coverage",
    "default_pc_coverage",
    "paper_width",
    "default_width",
    "selected",
]
SCALE_COLS = ["method", "n", "fit_s", "predict_s", "total_s", "peak_rss_mb"]


SEL_COLS = [
    "target",
    "budget",
    "n_candidates",
    "n_test",
    "selected_mse",
    "random_median_mse",
    "beats_median",
    "random_rank",
]


def speed_markdown(speed: dict[str, Any]) -> str:
    """Each speed target with its measured value, limit and the value before; the profiles."""
    lines = [
        "## Speed targets (fresh processes, median of 3; before = the code before the speed "
        "work, for the report alone the code before the one-predictor rework; reference = the "
        "reference implementation's same work, measured on this machine class)",
        "",
        markdown_table(
            speed["targets"],
            [
                "target",
                "measured",
                "limit",
                "before",
                "reference",
                "x_faster_than_reference",
                "met",
            ],
        ),
    ]
    startup = speed["measured"].get("predict_startup_s")
    if startup is not None:
        lines += [
            "",
            f"`obsscale predict`: {speed['measured']['predict_work_s']:.2f} s of work (fit + "
            f"predict with intervals), {startup:.2f} s of start-up (Python and the imports).",
        ]
    if speed.get("rework"):
        lines += [
            "",
            "Before and after the one-predictor rework and the report's redesign (wall "
            "seconds, medians of 5 alternating runs on the shared 2-core machine; CPU seconds "
            "beside):",
            "",
            markdown_table(
                speed["rework"], ["timing", "before", "after", "before_cpu", "after_cpu"]
            ),
        ]
    for key, title in (
        ("make_fit_profile_top", "`make fit` (fit + report, figures in-process)"),
        ("predict_100k_profile_top", "fit + predict + JSON on 100,000 synthetic models"),
    ):
        rows = speed["measured"].get(key)
        if rows:
            lines += ["", f"Profile of {title}, top 5 by own time:", ""]
            lines.append(markdown_table(rows, ["function", "own_s", "cumulative_s", "share"]))
    return "\n".join(lines)


def _values(rows: list[dict], key: str) -> np.ndarray:
    """A column of the entries that ran, without the undefined (None) values."""
    return np.array([r[key] for r in rows if r.get(key) is not None], dtype=float)


def pool_stats(rows: list[dict]) -> dict[str, Any]:
    """The acceptance numbers over a set of pool entries: the default/paper test-MSE ratio
    (median, geometric mean, share above 1.25, max), each method's ratio to the better
    compute-only baseline (median, max, share above 1.25), 90% coverage (median, 10th
    percentile, min) and median interval width in points; and, as the yardstick of the
    baseline criterion, the same ratio of the log-FLOPs baseline itself (max, share above
    1.25): the better baseline is chosen on the test models, so a predictor that always
    used compute would not meet it either wherever log-parameters happened to win."""
    ok = [r for r in rows if "error" not in r and "skipped" not in r]
    out: dict[str, Any] = {"entries": len(rows), "ran": len(ok)}
    ratio = _values(ok, "ratio_default_paper")
    if len(ratio):
        out |= {
            "ratio_median": float(np.median(ratio)),
            "ratio_geomean": float(np.exp(np.mean(np.log(ratio)))),
            "share_ratio_above_1.25": float(np.mean(ratio > 1.25)),
            "ratio_max": float(ratio.max()),
        }
    for method in ("default", "paper"):
        base, cover = _values(ok, f"ratio_{method}_baseline"), _values(ok, f"{method}_pc_coverage")
        width = _values(ok, f"{method}_width")
        if len(base):
            out |= {f"{method}_baseline_median": float(np.median(base))}
            out |= {f"{method}_baseline_max": float(base.max())}
            out |= {f"{method}_baseline_share_above_1.25": float(np.mean(base > 1.25))}
        if len(cover):
            out |= {
                f"{method}_coverage_median": float(np.median(cover)),
                f"{method}_coverage_p10": float(np.percentile(cover, 10)),
                f"{method}_coverage_min": float(cover.min()),
            }
        if len(width):
            out[f"{method}_width_median"] = float(np.median(width))
    compute = _values(ok, "ratio_log_flops_baseline")
    if len(compute):
        out |= {
            "log_flops_baseline_max": float(compute.max()),
            "log_flops_baseline_share_above_1.25": float(np.mean(compute > 1.25)),
        }
    return out


def pool_summary(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """``pool_stats`` for each half present, and for all of them together."""
    halves = {h: [r for r in rows if r["half"] == h] for h in ("design", "confirmation")}
    out = {h: pool_stats(rs) for h, rs in halves.items() if rs}
    if len(out) > 1:
        out["whole pool"] = pool_stats(rows)
    return out


def accuracy_headline(acc: list[dict]) -> str:
    """The acceptance numbers of each half and of the whole pool, one table."""
    summary = pool_summary(acc)
    if not summary:
        return "no accuracy entry ran"
    keys = sorted({k for s in summary.values() for k in s}, key=_STAT_ORDER.index)
    table = [{"statistic": k, **{h: s.get(k) for h, s in summary.items()}} for k in keys]
    return markdown_table(table, ["statistic", *summary])


_STAT_ORDER = [
    "entries",
    "ran",
    "ratio_median",
    "ratio_geomean",
    "share_ratio_above_1.25",
    "ratio_max",
    *(
        f"{m}_{k}"
        for m in ("default", "paper")
        for k in (
            "baseline_median",
            "baseline_max",
            "baseline_share_above_1.25",
            "coverage_median",
            "coverage_p10",
            "coverage_min",
            "width_median",
        )
    ),
    "log_flops_baseline_max",
    "log_flops_baseline_share_above_1.25",
]


def accuracy_markdown(acc: list[dict]) -> str:
    """The accuracy section: the per-half statistics, then every entry."""
    skipped = [r for r in acc if "error" in r or "skipped" in r]
    lines = [
        "## Accuracy: the default method vs the paper's on the task pool (test MSE on the "
        "chance-normalised scale; ratio = default / paper; baseline = the better compute-only "
        "predictor of either method; width in points of the raw metric). Method choices are "
        "made on the design half only; the confirmation half is run only to report.",
        "",
        *(f"Tuning disclosure: {seen}" for seen in CONFIRMATION_SEEN),
        "",
        accuracy_headline(acc),
        "",
        markdown_table([r for r in acc if r not in skipped], ACC_COLS),
    ]
    if skipped:
        lines += ["", "Not run:", ""]
        lines += [
            f"- {r['target']} ({r['split']}): {r.get('error', r.get('skipped'))}" for r in skipped
        ]
    return "\n".join(lines) + "\n"


def summary_markdown(
    acc: list[dict],
    sel: list[dict],
    real: dict,
    scale: list[dict],
    slopes: dict,
    edges: dict,
    speed: dict | None = None,
) -> str:
    wins = {k: sum(r["beats_median"] for r in sel if r["budget"] == k) for k in BUDGETS}
    n_targets = len({r["target"] for r in sel})
    parts = [
        "# obsscale benchmarks",
        "",
        accuracy_markdown(acc),
        "## Subset selection (V-optimal subset vs the median of 200 random subsets of the "
        "same size; random_rank = share of random subsets doing better)",
        "",
        markdown_table(sel, SEL_COLS),
        "",
        "selection beats the random median on: "
        + ", ".join(f"K={k}: {w}/{n_targets} targets" for k, w in wins.items()),
        "",
        "## Fit + predict on the real table (one target, 200 bootstrap resamples)",
        "",
        markdown_table([real], ["n", "fit_s", "predict_s", "total_s"]),
        "",
        "## Scale (synthetic, 8 benchmarks, 20% missing; fresh process per size)",
        "",
        markdown_table(scale, SCALE_COLS),
        "",
        "log-log slope of time against N: " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()),
        "",
        "## Edges",
        "",
        "\n".join(f"- {k}: {_fmt(v)}" for k, v in edges.items()),
        "",
    ]
    if speed:
        parts += [speed_markdown(speed), ""]
    return "\n".join(parts)


FRONTIER_DATE_COLS = [
    "target",
    "cutoff",
    "n_train",
    "n_test",
    "pc_mae",
    "date_mae",
    "flops_n",
    "log_flops_mae",
    "pc_mae_on_flops_models",
]
FRONTIER_COMPLETION_COLS = [
    "rank",
    "scale",
    "hidden_cells",
    "median_abs_err_points",
    "mean_abs_err_points",
    "coverage_90",
]


def frontier_markdown(frontier: dict[str, Any]) -> str:
    """The frontier section: date back-tests (test MAE, fraction scale) and completion."""
    if "skipped" in frontier:
        return f"## Frontier (Epoch hub)\n\nskipped: {frontier['skipped']}\n"
    m, st = frontier["matrix"], frontier["stability"]
    return "\n".join(
        [
            "## Frontier (Epoch hub)",
            "",
            f"hub matrix: {m['all_models']} models x {m['all_benchmarks']} benchmarks, "
            f"{m['all_observed']:.1%} observed; >= 4 scores per model: {m['models']} x "
            f"{m['benchmarks']}, {m['observed']:.1%} observed",
            "",
            "### Release-date back-tests (train before the cutoff; test MAE, fraction scale)",
            "",
            markdown_table(frontier["date_backtests"], FRONTIER_DATE_COLS),
            "",
            "### Completion (20% of observed cells hidden, 10 seeded repeats)",
            "",
            markdown_table(frontier["completion"], FRONTIER_COMPLETION_COLS),
            "",
            f"factor stability (bootstrap over models, {st['n_boot']} resamples): |cos| of PC1 "
            f"loadings median {st['pc1_cosine_median']:.3f}, 5th pct {st['pc1_cosine_p05']:.3f}; "
            f"PC2 median {st['pc2_cosine_median']:.3f}",
            "",
            *_index_markdown(frontier.get("index")),
        ]
    )


def _index_markdown(index: dict[str, Any] | None) -> list[str]:
    """The capability index's validation (bench.frontier.index_suite)."""
    if not index:
        return []
    cells = index["heldout_cells"]
    return [
        "### Capability index (sigmoid(alpha_b (C_m - D_b)), anchored on GPQA Diamond)",
        "",
        f"fit {index['fit_seconds']:.2f} s; 10-fold held-out cells: R^2 {cells['r2']:.4f}, "
        f"MSE {cells['mse']:.5f} (fraction scale; {cells['n_cells']} cells; published index "
        "R^2 0.864, MSE 0.0098)",
        "",
        markdown_table(
            index["heldout_models"], ["revealed", "models", "cells", "mae_points", "medae_points"]
        ),
        "",
        "frontier trend back-test (C, logits of GPQA Diamond; 90% interval):",
        "",
        markdown_table(index["trend_backtest"], ["months", "n", "mae", "coverage"]),
        "",
    ]


def markdown_html(md: str) -> str:
    from html import escape

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>obsscale benchmarks"
        "</title></head><body><pre>" + escape(md) + "</pre></body></html>\n"
    )
