"""The report's canvas: seaborn's theme and palette, fixed figure layouts, PNG rendering
with the positions of model markers (turned into hover titles by the page), and the band and
axis helpers every figure shares. ``figures`` and ``frontier`` draw on it.

seaborn is imported here, and this module only by the report's process, so that the other
commands do not pay for it. Layouts are fixed (margins in inches, ``fixed_layout``) rather than
constrained: the constrained layout engine re-ran on every draw and was half of the report's time.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image


def _import_seaborn() -> Any:
    """seaborn, without the 1.5 s (CPU) of scipy.stats and scipy.cluster it imports at load
    time for its KDE and its clustermap, neither of which the report draws: where they are not
    loaded yet they are hidden during the import (seaborn then keeps its bundled KDE) and
    importable again after it."""
    hidden = [m for m in ("scipy.stats", "scipy.cluster") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # None: "cannot be imported"
    try:
        import seaborn
    finally:
        for m in hidden:
            del sys.modules[m]
    return seaborn


sns = _import_seaborn()
PALETTE = [str(c) for c in sns.color_palette("colorblind").as_hex()]
# display smoothing of Monte-Carlo band edges: a running mean over this many grid points
SMOOTH_POINTS = 9

Hover = list[tuple[Axes, np.ndarray, np.ndarray, list[str]]]


@contextmanager
def theme() -> Iterator[None]:
    """seaborn's whitegrid style at a compact scale, as an rc context around one figure.
    Titles sit at the top of their axes (``axes.titley``): placed automatically, matplotlib
    lays out every y axis once more per title at each draw, to move titles clear of top-side
    ticks these figures do not have (6% of the report's CPU; the same pixels)."""
    with (
        sns.axes_style("whitegrid"),
        sns.plotting_context("notebook", font_scale=0.8),
        mpl.rc_context({"axes.titley": 1.0}),
    ):
        yield


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


def _png(fig: Figure, dpi: int) -> bytes:
    """The figure as a PNG of 128 colours (a third of the size of full colour, the same look
    for flat plots). Fast-octree quantisation: 5% of the report's time less than max-coverage,
    and a 7% smaller page, with no visible difference on these plots."""
    canvas = FigureCanvasAgg(fig)  # drawn to pixels directly: no full-colour PNG to decode
    fig.set_dpi(dpi)
    canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba())
    img = rgba.convert("RGB").quantize(128, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    img.save(out, format="png")
    return out.getvalue()


def to_data_uri(fig: Figure, dpi: int = 110) -> str:
    """PNG of the figure as a data: URI, so the report is one self-contained file."""
    return "data:image/png;base64," + base64.b64encode(_png(fig, dpi)).decode("ascii")


def image(fig: Figure, dpi: int, hover: Hover | None = None) -> dict[str, Any]:
    """The figure as a data URI plus its hover points: (x, y) as fractions of the image from its
    top left, and the label (a model's name) the page shows on hover."""
    src = to_data_uri(fig, dpi)  # draws the figure: the axes' limits are final after it
    width, height = fig.get_size_inches()
    points = []
    for ax, x, y, labels in hover or []:
        xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        frac = fig.transFigure.inverted().transform(ax.transData.transform(xy))
        shown = np.isfinite(frac).all(axis=1) & (frac >= 0).all(axis=1) & (frac <= 1).all(axis=1)
        for i in np.flatnonzero(shown):
            fx, fy = frac[i]
            points.append((round(float(fx) * 1000, 1), round((1 - float(fy)) * 1000, 1), labels[i]))
    return {"src": src, "aspect": round(float(height / width) * 1000, 1), "points": points}


def smooth(values: Any, points: int = SMOOTH_POINTS) -> np.ndarray:
    """A centred running mean (edges padded with the end values): Monte-Carlo noise off band
    edges drawn on a fine grid, for display only."""
    v = np.asarray(values, dtype=float)
    if len(v) < points:
        return v
    pad = points // 2
    padded = np.concatenate([np.full(pad, v[0]), v, np.full(pad, v[-1])])
    return np.convolve(padded, np.ones(points) / points, mode="valid")


def band(ax: Axes, x: Any, lower: Any, upper: Any, color: Any, label: str | None = None) -> None:
    """A prediction band with smoothed edges (see ``smooth``)."""
    x = np.asarray(x, dtype=float)
    ax.fill_between(x, smooth(lower), smooth(upper), color=color, alpha=0.2, lw=0, label=label)


def fit_limits(ax: Axes, values: Sequence[Any], axis: str = "y", pad: float = 0.08) -> None:
    """Axis limits fitted to the data (padded), within the fraction scale [0, 1]."""
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values])
    v = v[np.isfinite(v)]
    if not len(v):
        return
    lo, hi = float(v.min()), float(v.max())
    span = max(hi - lo, 0.02)
    lims = (max(lo - pad * span, -0.03), min(hi + pad * span, 1.03))
    (ax.set_ylim if axis == "y" else ax.set_xlim)(*lims)
