"""Figures of the report, drawn with matplotlib and seaborn on given axes.

Each function takes what it draws plus ``ax`` (or a ``Figure`` for multi-panel plots), sets
labels with units, and returns what it drew on. Nothing here touches pyplot's global state:
figures are plain ``matplotlib.figure.Figure`` objects drawn inside ``canvas.theme()`` and
rendered by ``canvas.image``. Markers differ by role (train/test/unknown) so no information
rests on colour alone.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.results import PredictionResult
from obsscale.report.canvas import PALETTE, Hover, band, fit_limits, sns

ROLE_STYLE = {
    "train": {"marker": "o", "color": PALETTE[0], "label": "train (fitted)"},
    "test": {"marker": "^", "color": PALETTE[3], "label": "test (held out)"},
    "unknown": {"marker": "X", "color": PALETTE[7], "label": "no FLOPs (predicted only)"},
}
PREDICTOR_LABEL = {
    "pc": "capability factors",
    "log_flops": "log10 FLOPs",
    "log_params": "log10 parameters",
}


def scree(ratios: np.ndarray, ax: Axes, **kwargs: Any) -> Axes:
    """Explained variance ratio per component, with the cumulative share."""
    k = np.arange(1, len(ratios) + 1)
    ax.bar(k, ratios, color=kwargs.pop("color", PALETTE[0]), label="per component", **kwargs)
    ax.plot(k, np.cumsum(ratios), marker="o", color=PALETTE[1], label="cumulative")
    for x, r in zip(k, ratios, strict=True):
        ax.annotate(
            f"{r:.3f}", (x, r), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8
        )
    ax.set(
        xlabel="principal component",
        ylabel="share of benchmark variance (fraction)",
        ylim=(0, 1.05),
        xticks=k,
    )
    ax.legend(loc="center right")
    return ax


def loadings(table: pd.DataFrame, ax: Axes, **kwargs: Any) -> Axes:
    """Benchmark x component weights as an annotated diverging heatmap (seaborn's)."""
    lim = float(np.abs(table.to_numpy(dtype=float)).max())
    sns.heatmap(
        table.astype(float),
        ax=ax,
        cmap=kwargs.pop("cmap", "vlag"),
        vmin=-lim,
        vmax=lim,
        annot=True,
        fmt=".2f",
        linewidths=0.5,
        cbar_kws={"label": "loading (weight on the score)"},
        **kwargs,
    )
    ax.set(xlabel="principal component", ylabel="benchmark")
    ax.tick_params(axis="y", rotation=0)
    return ax


def family_scaling(
    fit: CapabilityFit, fig: Figure, ncols: int = 6, hover: Hover | None = None
) -> Figure:
    """PC-1 against log10 FLOPs: one small panel per family with its OLS line, all other models
    in grey behind it. Small multiples keep 40+ families legible without a crowded legend."""
    pc1 = fit.families[fit.families["component"] == "PC-1"].sort_values(
        ["n", "family"], ascending=[False, True]
    )
    table = fit.models.assign(log10_flops=np.log10(fit.models["flops"]))
    known = table[table["log10_flops"].notna()]
    x_all, y_all = known["log10_flops"].to_numpy(), known["PC-1"].to_numpy()
    n = len(pc1)
    nrows = max(1, int(np.ceil(n / ncols)))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, (_, row) in zip(axes, pc1.iterrows(), strict=False):
        # markers as Line2D (plot), not scatter collections: 5x faster to build and draw
        ax.plot(x_all, y_all, "o", ms=6**0.5, mew=0, color="0.8", zorder=1)
        mine = known[known["family"] == row["family"]]
        ax.plot(
            mine["log10_flops"], mine["PC-1"], "o", ms=18**0.5, mew=0, color=PALETTE[0], zorder=3
        )
        if hover is not None:
            hover.append((ax, mine["log10_flops"], mine["PC-1"], list(mine["model"])))
        xs = np.linspace(row["log10_flops_min"], row["log10_flops_max"], 10)
        ax.plot(xs, row["intercept"] + row["slope"] * xs, color=PALETTE[3], lw=1.5, zorder=2)
        ax.set_title(f"{row['family']}\nn={row['n']}, R²={row['r2']:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.supxlabel("training compute (log10 FLOPs)")
    fig.supylabel("PC-1 (capability factor, a.u.)")
    return fig


def _models_by_role(ax: Axes, pts: pd.DataFrame, x: np.ndarray, hover: Hover | None = None) -> None:
    """Actual scores of the models, one marker per role (train / test / no FLOPs)."""
    for role, style in ROLE_STYLE.items():
        mask = (pts["split"] == role).to_numpy()
        if mask.any():
            ax.scatter(
                x[mask],
                pts["actual_raw"].to_numpy()[mask],
                s=22,
                edgecolor="black",
                linewidth=0.4,
                zorder=3,
                **style,  # type: ignore[arg-type]
            )
    if hover is not None:
        hover.append((ax, x, pts["actual_raw"].to_numpy(), list(pts["model"])))


def _curve_limits(ax: Axes, pts: pd.DataFrame, curve: pd.DataFrame, chance: float) -> None:
    fit_limits(ax, [pts["actual_raw"], curve["predicted_raw"], [chance] if chance > 0 else []])


def capability_curve(
    result: PredictionResult, ax: Axes, ylabel: str, hover: Hover | None = None
) -> Axes:
    """The factor predictor's sigmoid against reference-equivalent FLOPs with its band, models
    marked by role, extrapolated past the largest model."""
    curve = result.curve
    assert curve is not None, "draw the capability curve only for results that have one"
    ref = curve["reference_family"].iloc[0]
    x = curve["log10_equivalent_flops"]
    band(ax, x, curve["lower_raw"], curve["upper_raw"], PALETTE[0], f"{result.interval:.0%} band")
    ax.plot(x, curve["predicted_raw"], color=PALETTE[0], lw=2, label="fitted sigmoid")
    pts = result.predictions[result.predictions["predictor"] == "pc"]
    _models_by_role(ax, pts, pts["equivalent_log10_flops"].to_numpy(), hover)
    largest = pts["equivalent_log10_flops"].max()
    ax.axvline(largest, color="0.4", ls=":", lw=1)
    ax.annotate(
        "extrapolation →",
        (largest, 0.02),
        xycoords=("data", "axes fraction"),
        xytext=(4, 0),
        textcoords="offset points",
        fontsize=8,
        color="0.3",
    )
    if result.chance > 0:
        ax.axhline(result.chance, color="0.5", ls="--", lw=0.8, label="chance")
    _curve_limits(ax, pts, curve, result.chance)
    ax.set(
        xlabel=f"{ref}-equivalent training compute (log10 FLOPs)",
        ylabel=ylabel,
        title="capability factors",
    )
    ax.legend(fontsize=7, loc="upper left")
    return ax


def baseline_curve(
    result: PredictionResult,
    models: pd.DataFrame,
    predictor: str,
    ax: Axes,
    ylabel: str,
    hover: Hover | None = None,
) -> Axes:
    """A compute-only baseline's sigmoid over its own axis, with the same markers; a baseline
    left out of the back-test (no compute known) is a panel that says why."""
    if predictor in result.left_out:
        return left_out_panel(ax, predictor, result.left_out[predictor])
    curves = result.baseline_curves
    assert curves is not None, "draw baselines only for single-fold results"
    curve = curves[curves["predictor"] == predictor]
    band(ax, curve["x"], curve["lower_raw"], curve["upper_raw"], PALETTE[2], "band")
    ax.plot(curve["x"], curve["predicted_raw"], color=PALETTE[2], lw=2, label="fitted sigmoid")
    column = "flops" if predictor == "log_flops" else "params_b"
    scale = 1.0 if predictor == "log_flops" else 1e9
    x_of = pd.Series(np.log10(models[column].to_numpy() * scale), index=models["model"])
    pts = result.predictions[result.predictions["predictor"] == predictor]
    _models_by_role(ax, pts, x_of.reindex(pts["model"]).to_numpy(), hover)
    if result.chance > 0:
        ax.axhline(result.chance, color="0.5", ls="--", lw=0.8, label="chance")
    what = (
        "training compute (log10 FLOPs)" if predictor == "log_flops" else "parameters (log10 count)"
    )
    ax.set(xlabel=what, ylabel=ylabel, title=f"baseline: {PREDICTOR_LABEL[predictor]}")
    ax.legend(fontsize=7, loc="upper left")
    return ax


def left_out_panel(ax: Axes, predictor: str, why: str) -> Axes:
    """An empty panel naming a predictor the back-test left out, and why."""
    text = "\n".join(textwrap.wrap(f"left out: {why}", 34))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, transform=ax.transAxes)
    ax.set_title(f"baseline: {PREDICTOR_LABEL[predictor]}", fontsize=9)
    ax.set_axis_off()  # not its ticks: the panels share their axes
    return ax


def backtest(
    result: PredictionResult, fig: Figure, label: str, hover: Hover | None = None
) -> Figure:
    """Predicted against actual for the held-out models, one panel per predictor; both axes
    fitted to the points (interval bars may run past them)."""
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    test = result.predictions[result.predictions["split"] == "test"]
    lims = [test["actual_raw"], test["predicted_raw"]]
    for ax, name in zip(axes, ("pc", "log_flops", "log_params"), strict=True):
        if name in result.left_out:
            left_out_panel(ax, name, result.left_out[name])
            continue
        sub = test[test["predictor"] == name]
        ax.errorbar(
            sub["actual_raw"],
            sub["predicted_raw"],
            yerr=[sub["predicted_raw"] - sub["lower_raw"], sub["upper_raw"] - sub["predicted_raw"]],
            fmt="^",
            ms=5,
            color=PALETTE[3],
            ecolor="0.6",
            elinewidth=0.8,
            markeredgecolor="black",
            markeredgewidth=0.4,
            label=f"test model, {result.interval:.0%} interval",
        )
        if hover is not None:
            hover.append((ax, sub["actual_raw"], sub["predicted_raw"], list(sub["model"])))
        ends = [float(pd.concat(lims).min()), float(pd.concat(lims).max())]
        ax.plot(ends, ends, color="0.3", lw=1, ls="--", label="perfect prediction")
        s = result.scores[name]
        ax.set_title(
            f"{PREDICTOR_LABEL[name]}\nMSE {s.mse_test:.2g}, coverage {s.coverage:.0%}",
            fontsize=9,
        )
        ax.set_xlabel(f"actual {label}")
    fit_limits(axes[0], lims, "x")
    fit_limits(axes[0], lims, "y")
    axes[0].set_ylabel(f"predicted {label}")
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def forecasts(table: dict[str, Any], fig: Figure, hover: Hover | None = None) -> Figure:
    """Each scenario's forecast with its interval, one panel per target (forest plot): the
    reference line's compute grid as circles, families' next models as diamonds."""
    targets, rows = table["targets"], table["scenarios"]
    axes = np.atleast_1d(fig.subplots(1, len(targets), sharey=True))
    y = np.arange(len(rows))
    for j, (ax, target) in enumerate(zip(axes, targets, strict=True)):
        cells = [r["cells"][j] for r in rows]
        mid, lo, hi = (
            np.array([c[k] for c in cells], dtype=float) for k in ("predicted", "lower", "upper")
        )
        grid = np.array([r["kind"] == "grid" for r in rows])
        for mask, marker, color in ((grid, "o", PALETTE[0]), (~grid, "D", PALETTE[1])):
            ax.errorbar(
                mid[mask],
                y[mask],
                xerr=[mid[mask] - lo[mask], hi[mask] - mid[mask]],
                fmt=marker,
                ms=5,
                color=color,
                ecolor=color,
                elinewidth=1.2,
                capsize=2,
            )
        if hover is not None:
            names = [
                f"{r['label']}: {target} {c['text']}" for r, c in zip(rows, cells, strict=True)
            ]
            hover.append((ax, mid, y, names))
        ax.set_title(target, fontsize=9)
        ax.set_xlabel("forecast score (fraction)")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        fit_limits(ax, [lo, hi], "x", pad=0.06)
    axes[0].set_yticks(y, [r["label"] for r in rows], fontsize=8)
    axes[0].invert_yaxis()
    return fig
