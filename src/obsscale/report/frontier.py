"""The report's frontier section, drawn from ``frontier.json`` alone (``model.frontier``).

Four figures (the stitched capability index against release date, with the frontier line and
its forecast; which cells of the hub matrix are observed; the loadings of its first factors
with their bootstrap intervals; each frontier benchmark against release date and against
training compute, with the fitted trends and the date forecasts) and the template's tables
(the index's benchmark difficulties, the forecasts, the completion, and any further tables
the caller hands ``context``, e.g. the bench's completion accuracy or probe-set back-test).
Model names appear only in tables, where the template escapes them, and in the index figure's
hover titles (the page's SVG titles, escaped as well); figures carry benchmark names and
numbers only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from obsscale.report import canvas

EPOCH = 2020.0  # frontier.json counts dates in years since 2020-01-01


def figure_jobs(frontier: dict[str, Any] | None, dpi: int) -> list[tuple[str, Callable[[], Any]]]:
    """The section's figures as (key, function returning a PNG data URI, or the index's image
    with its hover points); none when the run has no hub data."""
    if not frontier or "skipped" in frontier:
        return []
    jobs: list[tuple[str, Callable[[], Any]]] = []
    if "points" in frontier.get("index", {}):
        jobs.append(("frontier_index", partial(index_png, frontier, dpi)))
    if frontier["curves"]:
        jobs.append(("frontier_curves", partial(curves_png, frontier, dpi)))
    if "loadings" in frontier["factors"]:
        jobs.append(("frontier_loadings", partial(loadings_png, frontier, dpi)))
    if frontier["matrix"]["mask_rows"]:
        jobs.append(("frontier_matrix", partial(matrix_png, frontier, dpi)))
    return jobs


def index_png(frontier: dict[str, Any], dpi: int) -> dict[str, Any]:
    """C of every dated model against its release date (interval bars; hollow: folded in
    after the fit), the best so far, and the frontier line with its band and forecasts."""
    idx = frontier["index"]
    pts = pd.DataFrame(idx["points"])
    t = EPOCH + pts["t"].to_numpy(dtype=float)
    c = pts["capability"].to_numpy(dtype=float)
    fig = canvas.new_figure(9, 4.4)
    canvas.fixed_layout(fig, left=0.8, right=0.2, bottom=0.6, top=0.45)
    ax = fig.add_subplot()
    err = np.clip([c - pts["lower"], pts["upper"] - c], 0, None)
    ax.errorbar(t, c, yerr=err, fmt="none", ecolor="0.75", elinewidth=0.6, zorder=1)
    fitted = pts["in_fit"].to_numpy(dtype=bool)
    ax.plot(t[fitted], c[fitted], "o", ms=3.5, color="0.35", mew=0, label="model (in the fit)")
    hollow: dict[str, Any] = {"mfc": "none", "mec": "0.45", "mew": 0.7}
    ax.plot(t[~fitted], c[~fitted], "o", ms=3.5, label="model (folded in)", **hollow)
    best = pts[pts["frontier"]]
    steps: dict[str, Any] = {"where": "post", "color": canvas.PALETTE[1], "lw": 1.2}
    ax.step(EPOCH + best["t"], best["capability"], label="best so far (frontier)", **steps)
    trend = idx["trend"]
    if "years" in trend:
        _trend_line(ax, trend, frontier["interval"])
    ax.axvline(t.max(), color="0.5", ls=":", lw=1)
    # the axis spans the fitted models and the line; folded-in models of one or two scores
    # can lie far off it (their C rests on little), and are counted in the title
    lo, hi = _span([c[fitted], trend.get("lower", []), trend.get("upper", [])])
    ax.set_ylim(lo, hi)
    off = int(((c < lo) | (c > hi)).sum())
    anchor = idx["anchor"].split(":", 1)[-1]
    ax.set(xlabel="release date (year)", ylabel=f"capability C (logits of {anchor})")
    ax.set_title(
        f"Capability index: {len(pts)} dated models, {idx['n_benchmarks']} hub benchmarks"
        + (f" ({off} folded-in models off the axis)" if off else "")
        + f". Data: {frontier['source'].split(' (')[0]}",
        fontsize=8,
    )
    ax.legend(fontsize=7, loc="upper left")
    return canvas.image(fig, dpi, [(ax, t, c, pts["model"].astype(str).tolist())])


def _trend_line(ax: Axes, trend: dict[str, Any], level: float) -> None:
    """The frontier line with its prediction band, and its forecasts past the newest model."""
    x = EPOCH + np.array(trend["years"], dtype=float)
    canvas.band(ax, x, trend["lower"], trend["upper"], canvas.PALETTE[0])
    label = f"frontier line ({trend['per_year']:.2f}/year)"
    ax.plot(x, trend["predicted"], color=canvas.PALETTE[0], lw=2, label=label)
    fc = trend["forecasts"]
    fx, fy = EPOCH + np.array([f["years"] for f in fc]), np.array([f["capability"] for f in fc])
    err = np.clip([fy - [f["lower"] for f in fc], [f["upper"] for f in fc] - fy], 0, None)
    style: dict[str, Any] = {"fmt": "D", "ms": 5, "color": canvas.PALETTE[3], "capsize": 3}
    ax.errorbar(fx, fy, yerr=err, label=f"forecast, {level:.0%} PI", **style)


def _span(values: list[Any], pad: float = 0.08) -> tuple[float, float]:
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values])
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    margin = pad * max(hi - lo, 1.0)
    return lo - margin, hi + margin


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


@dataclass(frozen=True)
class FrontierTable:
    """A table the section shows after its own (e.g. the bench's completion accuracy by
    method, or its probe-set back-test): a title, a caption that names the method and the
    protocol, and the frame as it should read (numbers formatted by the template)."""

    title: str
    caption: str
    frame: pd.DataFrame

    def as_context(self) -> dict[str, Any]:
        rows = [[_cell(v) for v in r] for r in self.frame.itertuples(index=False)]
        return {
            "title": self.title,
            "caption": self.caption,
            "columns": [str(c) for c in self.frame.columns],
            "rows": rows,
        }


def _cell(value: Any) -> Any:
    """Numbers as numbers (the template's ``num`` formats them), anything else as text."""
    if isinstance(value, bool | np.bool_) or value is None:
        return "yes" if value is True else "no" if value is False else "–"
    return value if isinstance(value, int | float | np.integer | np.floating) else str(value)


def context(
    frontier: dict[str, Any] | None, tables: Sequence[FrontierTable] = ()
) -> dict[str, Any]:
    """What the template's frontier section needs besides the figures; ``tables`` are shown
    after the section's own, in order."""
    if frontier is None:
        return {"skipped": "this fit run predates the frontier analysis; rerun `obsscale fit`"}
    if "skipped" in frontier:
        return {"skipped": frontier["skipped"]}
    return {
        "index": _index_context(frontier.get("index")),
        "tables": [t.as_context() for t in tables],
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


def _index_context(idx: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index's numbers the template states, and its benchmarks hardest first."""
    if idx is None:
        return None
    if "error" in idx:
        return {"error": idx["error"]}
    trend = idx["trend"]
    return {key: idx[key] for key in ("anchor", "scale", "method", "n_models", "n_benchmarks")} | {
        "n_dated": len(idx["points"]),
        "trend": trend,
        "benchmarks": sorted(idx["benchmarks"], key=lambda b: -b["difficulty"]),
    }
