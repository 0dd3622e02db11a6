"""The bench's human-readable summary (Markdown, and the same as a minimal HTML page)."""

from __future__ import annotations

from typing import Any

from obsscale.bench.selection import BUDGETS


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


ACC_COLS = [
    "suite",
    "target",
    "n_train",
    "n_test",
    "pc_mse",
    "log_flops_mse",
    "log_params_mse",
    "ratio_log_flops",
    "ratio_log_params",
    "pc_coverage",
]
SCALE_COLS = ["n", "fit_s", "predict_s", "total_s", "peak_rss_mb"]


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
        "## Speed targets (fresh processes, median of 3; before = commit ee28f37)",
        "",
        markdown_table(speed["targets"], ["target", "measured", "limit", "before", "met"]),
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
        "## Accuracy (test MSE on the chance-normalised scale; ratio = baseline / factors)",
        "",
        markdown_table(acc, ACC_COLS),
        "",
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


def _html(md: str) -> str:
    from html import escape

    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>obsscale benchmarks"
        "</title></head><body><pre>" + escape(md) + "</pre></body></html>\n"
    )
