"""Figures of the report, drawn with matplotlib on given axes.

Each function takes what it draws plus ``ax`` (or a ``Figure`` for multi-panel plots), sets
labels with units, and returns what it drew on; styles can be overridden through ``**kwargs``.
Nothing here touches pyplot's global state: figures are plain ``matplotlib.figure.Figure``
objects, rendered to PNG by ``to_data_uri``. Colours are seaborn's colour-blind palette (its
values: seaborn itself cost 0.7 s of import for a palette and a heatmap), and markers differ
by role (train/test/unknown) so no information rests on colour alone.

Layouts are fixed (margins in inches, ``fixed_layout``) rather than constrained: the
constrained layout engine re-ran on every draw and was half of the report's time.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.results import PredictionResult

# seaborn's "colorblind" palette and its "vlag" diverging map (sampled at 9 points)
PALETTE = [
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
    "#ece133",
    "#56b4e9",
]
VLAG = LinearSegmentedColormap.from_list(
    "vlag",
    [
        "#2369bd",
        "#678bbe",
        "#9baecb",
        "#cfd4e0",
        "#faf5f4",
        "#e7c8c6",
        "#d39794",
        "#bf6765",
        "#a9373b",
    ],
)
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


def new_figure(width: float, height: float) -> Figure:
    """A figure with no layout engine: place its axes with ``fixed_layout``."""
    return Figure(figsize=(width, height))


def fixed_layout(
    fig: Figure,
    grid: tuple[int, int] = (1, 1),
    *,
    left: float = 0.75,
    right: float = 0.15,
    bottom: float = 0.6,
    top: float = 0.35,
    wspace: float = 0.3,
    hspace: float = 0.3,
) -> Figure:
    """Margins and gaps between the ``grid`` (rows, columns) of subplots, in inches (so
    that they do not depend on the figure's size)."""
    width, height = fig.get_size_inches()
    nrows, ncols = grid
    cell_w = (width - left - right - wspace * (ncols - 1)) / ncols
    cell_h = (height - bottom - top - hspace * (nrows - 1)) / nrows
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace / cell_w,
        hspace=hspace / cell_h,
    )
    return fig


def to_data_uri(fig: Figure, dpi: int = 110) -> str:
    """PNG of the figure as a data: URI, so the report is one self-contained file."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


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
    """Benchmark x component weights as an annotated diverging heatmap."""
    values = table.to_numpy(dtype=float)
    lim = float(np.abs(values).max())
    cmap = kwargs.pop("cmap", VLAG)
    image = ax.imshow(values, cmap=cmap, vmin=-lim, vmax=lim, aspect="auto", **kwargs)
    for (i, j), v in np.ndenumerate(values):
        # dark text on light cells, as seaborn's annotated heatmap
        r, g, b, _ = image.cmap(image.norm(v))
        light = 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.408
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="#000" if light else "#fff")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in table.columns])
    ax.set_yticks(range(values.shape[0]), [str(r) for r in table.index])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.figure.colorbar(image, ax=ax, label="loading (weight on the score)")
    ax.set(xlabel="principal component", ylabel="benchmark")
    return ax


def family_scaling(fit: CapabilityFit, fig: Figure, ncols: int = 6) -> Figure:
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
        xs = np.linspace(row["log10_flops_min"], row["log10_flops_max"], 10)
        ax.plot(xs, row["intercept"] + row["slope"] * xs, color=PALETTE[3], lw=1.5, zorder=2)
        ax.set_title(f"{row['family']}\nn={row['n']}, R²={row['r2']:.2f}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.supxlabel("training compute (log10 FLOPs)")
    fig.supylabel("PC-1 (capability factor, a.u.)")
    return fig


def _sigmoid_with_band(
    ax: Axes, x: pd.Series, curve: pd.DataFrame, color: Any, level: float
) -> None:
    # as floats: a curve read back from JSON can hold object columns (pandas < 2.1)
    x, lower, upper = (
        np.asarray(v, dtype=float) for v in (x, curve["lower_raw"], curve["upper_raw"])
    )
    ax.fill_between(
        x,
        lower,
        upper,
        color=color,
        alpha=0.18,
        lw=0,
        label=f"{level:.0%} prediction band",
    )
    ax.plot(x, curve["predicted_raw"], color=color, lw=2, label="fitted sigmoid")


def _models_by_role(ax: Axes, pts: pd.DataFrame, x: np.ndarray) -> None:
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


def capability_curve(result: PredictionResult, ax: Axes, ylabel: str) -> Axes:
    """The factor predictor's sigmoid against reference-equivalent FLOPs with its prediction
    band, models marked by role, extrapolated past the largest model."""
    curve = result.curve
    assert curve is not None, "draw the capability curve only for results that have one"
    ref = curve["reference_family"].iloc[0]
    _sigmoid_with_band(ax, curve["log10_equivalent_flops"], curve, PALETTE[0], result.interval)
    pts = result.predictions[result.predictions["predictor"] == "pc"]
    _models_by_role(ax, pts, pts["equivalent_log10_flops"].to_numpy())
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
    ax.set(
        xlabel=f"{ref}-equivalent training compute (log10 FLOPs)",
        ylabel=ylabel,
        title="capability factors",
    )
    ax.legend(fontsize=7, loc="upper left")
    return ax


def baseline_curve(
    result: PredictionResult, models: pd.DataFrame, predictor: str, ax: Axes, ylabel: str
) -> Axes:
    """A compute-only baseline's sigmoid over its own axis, with the same markers."""
    curves = result.baseline_curves
    assert curves is not None, "draw baselines only for single-fold results"
    curve = curves[curves["predictor"] == predictor]
    _sigmoid_with_band(ax, curve["x"], curve, PALETTE[2], result.interval)
    column = "flops" if predictor == "log_flops" else "params_b"
    scale = 1.0 if predictor == "log_flops" else 1e9
    x_of = pd.Series(np.log10(models[column].to_numpy() * scale), index=models["model"])
    pts = result.predictions[result.predictions["predictor"] == predictor]
    _models_by_role(ax, pts, x_of.reindex(pts["model"]).to_numpy())
    if result.chance > 0:
        ax.axhline(result.chance, color="0.5", ls="--", lw=0.8, label="chance")
    what = (
        "training compute (log10 FLOPs)" if predictor == "log_flops" else "parameters (log10 count)"
    )
    ax.set(xlabel=what, ylabel=ylabel, title=f"baseline: {PREDICTOR_LABEL[predictor]}")
    ax.legend(fontsize=7, loc="upper left")
    return ax


def backtest(result: PredictionResult, fig: Figure, label: str) -> Figure:
    """Predicted against actual for the held-out models, one panel per predictor."""
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    test = result.predictions[result.predictions["split"] == "test"]
    lo = float(min(test["actual_raw"].min(), test["lower_raw"].min()))
    hi = float(max(test["actual_raw"].max(), test["upper_raw"].max()))
    for ax, name in zip(axes, ("pc", "log_flops", "log_params"), strict=True):
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
            label=f"test model, {result.interval:.0%} PI",
        )
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="perfect prediction")
        s = result.scores[name]
        ax.set_title(
            f"{PREDICTOR_LABEL[name]}\nMSE {s.mse_test:.2g}, coverage {s.coverage:.0%}",
            fontsize=9,
        )
        ax.set_xlabel(f"actual {label}")
    axes[0].set_ylabel(f"predicted {label}")
    axes[0].legend(fontsize=7, loc="upper left")
    return fig
