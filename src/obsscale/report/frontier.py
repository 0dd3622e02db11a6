"""The report's frontier section, drawn from ``frontier.json`` alone (``model.frontier``).

Three figures (which cells of the hub matrix are observed; the loadings of its first factors
with their bootstrap intervals; each frontier benchmark against release date and against
training compute, with the fitted trends and the date forecasts) and the template's tables.
Model names appear only in tables, where the template escapes them; figures carry benchmark
names and numbers only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from obsscale.report import canvas

EPOCH = 2020.0  # frontier.json counts dates in years since 2020-01-01


def figure_jobs(frontier: dict[str, Any] | None, dpi: int) -> list[tuple[str, Callable[[], str]]]:
    """The section's figures as (key, function returning a PNG data URI); none when the run
    has no hub data."""
    if not frontier or "skipped" in frontier:
        return []
    jobs: list[tuple[str, Callable[[], str]]] = []
    if frontier["curves"]:
        jobs.append(("frontier_curves", partial(curves_png, frontier, dpi)))
    if "loadings" in frontier["factors"]:
        jobs.append(("frontier_loadings", partial(loadings_png, frontier, dpi)))
    if frontier["matrix"]["mask_rows"]:
        jobs.append(("frontier_matrix", partial(matrix_png, frontier, dpi)))
    return jobs


def matrix_png(frontier: dict[str, Any], dpi: int) -> str:
    m = frontier["matrix"]
    fig = canvas.new_figure(9, 5.6)
    canvas.fixed_layout(fig, left=0.8, right=0.2, bottom=2.0, top=0.45)
    ax = fig.add_subplot()
    mask = np.array([[c == "1" for c in row] for row in m["mask_rows"]], dtype=float)
    cmap = ListedColormap(["#f4f4f6", canvas.PALETTE[0]])
    ax.imshow(mask, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_xticks(range(len(m["mask_benchmarks"])), m["mask_benchmarks"], rotation=90, fontsize=7)
    ax.set(
        ylabel="models, by release date (oldest at top)",
        title=f"Observed scores (blue): {m['models']} models x {m['benchmarks']} benchmarks, "
        f"{m['observed']:.1%} observed. Data: {frontier['source']}",
    )
    ax.title.set_fontsize(8)
    return canvas.to_data_uri(fig, dpi)


def loadings_png(frontier: dict[str, Any], dpi: int) -> str:
    f = frontier["factors"]
    names, comps = f["benchmarks"], f["components"]
    fig = canvas.new_figure(9, 0.2 * len(names) + 1.5)
    canvas.fixed_layout(fig, (1, len(comps)), left=2.3, right=0.2, bottom=0.55, top=0.5)
    axes = np.atleast_1d(fig.subplots(1, len(comps), sharey=True))
    load, lo, hi = (np.array(f[k], dtype=float) for k in ("loadings", "lower", "upper"))
    y = np.arange(len(names))
    for k, ax in enumerate(axes):
        err = [load[:, k] - lo[:, k], hi[:, k] - load[:, k]]
        # a bootstrap interval need not contain the whole-matrix loading: bars from it to the
        # interval's far end only
        bars = np.clip(np.nan_to_num(err), 0, None)
        ax.errorbar(load[:, k], y, xerr=bars, fmt="o", ms=4, color=canvas.PALETTE[0])
        ax.axvline(0, color="0.5", lw=0.8)
        share = f["variance_share"][k]
        ax.set(xlabel="loading (weight on the standardized score)")
        ax.set_title(f"{comps[k]} ({share:.0%} of variance)", fontsize=9)
    axes[0].set_yticks(y, names, fontsize=7)
    axes[0].invert_yaxis()
    pct = round(frontier["interval"] * 100)
    fig.suptitle(
        f"Hub factor loadings with {pct}% intervals over {f['n_boot']} bootstrap resamples of "
        f"the {frontier['matrix']['models']} models. Data: {frontier['source']}",
        fontsize=8,
    )
    return canvas.to_data_uri(fig, dpi)


def curves_png(frontier: dict[str, Any], dpi: int) -> str:
    curves = frontier["curves"]
    fig = canvas.new_figure(12, 3.1 * len(curves) + 0.6)
    canvas.fixed_layout(fig, (len(curves), 2), bottom=0.6, top=0.75, wspace=1.0, hspace=0.75)
    axes = fig.subplots(len(curves), 2, squeeze=False)
    for (a_date, a_flops), curve in zip(axes, curves, strict=True):
        _date_panel(a_date, curve, frontier["interval"])
        _compute_panel(a_flops, curve, frontier["interval"])
    fig.suptitle(f"Frontier benchmarks. Data: {frontier['source']}", fontsize=9)
    return canvas.to_data_uri(fig, dpi)


def _date_panel(ax: Axes, curve: dict[str, Any], level: float) -> None:
    """Scores against release date: models, best so far, sigmoid trend with its prediction
    band, and the trend's forecasts past the newest model."""
    t = EPOCH + np.array(curve["years"], dtype=float)
    trend = curve["trend"]
    x = EPOCH + np.array(trend["years"], dtype=float)
    canvas.band(ax, x, trend["lower"], trend["upper"], canvas.PALETTE[0])
    ax.plot(x, trend["predicted"], color=canvas.PALETTE[0], lw=2, label="sigmoid trend in date")
    ax.plot(t, curve["scores"], "o", ms=3.5, color="0.35", mew=0, label="model")
    ax.step(t, curve["best_so_far"], where="post", color=canvas.PALETTE[1], lw=1.2, label="best")
    fc = curve["forecasts"]
    if fc:
        fx = EPOCH + np.array([f["years"] for f in fc])
        fy = np.array([f["predicted"] for f in fc])
        err = np.clip([fy - [f["lower"] for f in fc], [f["upper"] for f in fc] - fy], 0, None)
        ax.errorbar(fx, fy, yerr=err, fmt="D", ms=5, color=canvas.PALETTE[3], capsize=3)
        ax.plot([], [], "D", color=canvas.PALETTE[3], label=f"forecast, {level:.0%} PI")
    ax.axvline(t.max(), color="0.5", ls=":", lw=1)
    title = f"{curve['benchmark']}: {curve['n']} dated models (newest {curve['newest']})"
    _label(ax, "release date (year)", curve["benchmark"], title)


def _compute_panel(ax: Axes, curve: dict[str, Any], level: float) -> None:
    """Scores against training compute, with the sigmoid where enough models have it."""
    x = np.array(curve["log10_flops"], dtype=float)
    known = np.isfinite(x)
    comp = curve["compute"]
    if comp["trend"] is not None:
        tr = comp["trend"]
        canvas.band(ax, tr["log10_flops"], tr["lower"], tr["upper"], canvas.PALETTE[2])
        ax.plot(tr["log10_flops"], tr["predicted"], color=canvas.PALETTE[2], lw=2)
        ax.plot([], [], color=canvas.PALETTE[2], label=f"sigmoid in compute, {level:.0%} band")
    else:
        note = "too few models of known compute\nfor a trend"
        ax.text(0.5, 0.5, note, ha="center", transform=ax.transAxes, fontsize=8, color="0.4")
    scores = np.array(curve["scores"], dtype=float)
    ax.plot(x[known], scores[known], "o", ms=3.5, color="0.35", mew=0, label="model")
    title = f"{curve['benchmark']}: {comp['n']} models with known compute"
    _label(ax, "training compute (log10 FLOPs)", curve["benchmark"], title)


def _label(ax: Axes, xlabel: str, benchmark: str, title: str) -> None:
    """Axis labels with units, the fraction scale's limits, the title and the legend."""
    ax.set(xlabel=xlabel, ylabel=f"{benchmark} (fraction)", ylim=(-0.03, 1.03), title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="upper left")


def context(frontier: dict[str, Any] | None) -> dict[str, Any]:
    """What the template's frontier section needs besides the figures."""
    if frontier is None:
        return {"skipped": "this fit run predates the frontier analysis; rerun `obsscale fit`"}
    if "skipped" in frontier:
        return {"skipped": frontier["skipped"]}
    return {
        "source": frontier["source"],
        "matrix": frontier["matrix"],
        "factors": frontier["factors"],
        "forecasts": [
            {"benchmark": c["benchmark"], "n": c["n"], "newest": c["newest"]}
            | {"cells": c["forecasts"]}
            for c in frontier["curves"]
        ],
        "horizons": [f["months"] for f in frontier["curves"][0]["forecasts"]]
        if frontier["curves"]
        else [],
        "skipped_curves": frontier["skipped_curves"],
        "completion": frontier["completion"],
    }
