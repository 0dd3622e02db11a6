"""Benchmarks (``make bench``): how well the product does its job, and how fast.

- Accuracy: the task pool (``pool``), 70+ back-tests on the mirror data split by task into a
  design and a confirmation half, each by the default method and the paper's, with the factor
  predictor and both compute baselines; test MSE, MAE, interval coverage and width, per half.
  Seeded: the same numbers every run. ``run_accuracy_bench`` runs it alone (``obsscale bench
  --only accuracy [--half design]``: the method designer's loop).
- Scale: time and peak memory of fit + predict (one target, bootstrap intervals) on the real
  table and on synthetic tables of 1,000 / 10,000 / 100,000 models x 8 benchmarks with 20%
  missing scores, each size in a fresh process (so peak memory is its own), with the log-log
  slope of time against N per stage.
- Forecasts (``forecast``): each family's largest model held out and forecast from its
  family and FLOPs, from 3 of its own scores, and its basis completed from 3 of them
  (``obsscale bench --only forecast``).
- Emergent worlds (``emergent``): synthetic tasks flat at chance below the cutoff that rise
  along the factors above it, default vs paper per seed (the issue's failure class, where
  the default's flat-side hedge toward compute costs accuracy).
- Frontier (``frontier``): date back-tests and matrix completion on Epoch's hub scores.
- Completion (``completion``): every completer on the hub matrix by the published protocol
  (per model 3 folds of its cells, 10 seeds), choices made inside each training fold.
  ``run_completion_bench`` runs it alone (``obsscale bench --only completion``).
- Probes (``probes``): which benchmarks to run next for a held-out hub model, designed
  against random and most common ones (``obsscale bench --only probes``).
- Speed of the edges: fetch from a loopback mirror (cold and warm cache) and report generation.
- Speed targets (``speed``): every CLI call as a user runs it, in fresh processes, against
  its limit and the time before the speed work, with the profiles' top entries.

Results go to ``OUT/*.json`` plus ``OUT/summary.md`` and ``OUT/summary.html``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from obsscale.bench.accuracy import CURATED, run_accuracy
from obsscale.bench.completion import completion_markdown, completion_protocol
from obsscale.bench.edges import run_edges
from obsscale.bench.emergent import emergent_markdown, run_emergent
from obsscale.bench.forecast import (
    forecast_markdown,
    run_completion_backtest,
    run_forecast_backtest,
)
from obsscale.bench.frontier import run_frontier
from obsscale.bench.probes import probes_markdown, run_probes, run_probes_bench
from obsscale.bench.scale import SIZES, fit_predict_timing, loglog_slopes, run_scale
from obsscale.bench.selection import run_selection
from obsscale.bench.speed import run_speed
from obsscale.bench.summary import (
    accuracy_markdown,
    frontier_markdown,
    markdown_html,
    pool_summary,
    speed_markdown,
    summary_markdown,
)
from obsscale.config import LLAMA2_7B_FLOPS, Config, PredictConfig
from obsscale.data import store
from obsscale.data.table import load_models
from obsscale.model.capabilities.rows import select_models
from obsscale.model.prediction.splits import CutoffFlops

__all__ = [
    "SIZES",
    "accuracy_stem",
    "run_accuracy_bench",
    "run_bench",
    "run_completion_bench",
    "run_forecast_bench",
    "run_probes_bench",
]


def accuracy_stem(half: str | None, pconf: PredictConfig) -> str:
    """The accuracy files' name: ``accuracy``, ``-<half>`` for one half, and
    ``-flat-<rule>`` for a flat-side rule other than the default's, so that a variant's run
    never overwrites the default's."""
    flat = "" if pconf.flat_side == PredictConfig().flat_side else f"-flat-{pconf.flat_side}"
    return f"accuracy{f'-{half}' if half else ''}{flat}"


def write_accuracy(out: Path, rows: list[dict], half: str | None, pconf: PredictConfig) -> None:
    """``OUT/<accuracy_stem>.json``: the statistics of each half and every entry's row."""
    store.write_json(
        out / f"{accuracy_stem(half, pconf)}.json",
        {"half": half, "summary": pool_summary(rows), "entries": rows},
    )


def run_accuracy_bench(config: Config, out: Path, half: str | None = None) -> str:
    """The accuracy pool alone (or one half of it): its JSON and a Markdown summary
    (``OUT/<accuracy_stem>.md``); the rest of the bench is not run."""
    rows = run_accuracy(load_models(config), config.predict, half)
    write_accuracy(out, rows, half, config.predict)
    md = "# obsscale accuracy bench\n\n" + accuracy_markdown(rows)
    store.write_text(out / f"{accuracy_stem(half, config.predict)}.md", md)
    return md


def completion_section(config: Config, out: Path) -> str:
    """``OUT/completion.json`` and its Markdown section (empty without hub scores)."""
    from obsscale.model.completion.hub_matrix import hub_columns, hub_matrix

    models = load_models(config)
    if not hub_columns(models):
        return "### Completion\n\nskipped: no epoch_hub: columns\n"
    result = completion_protocol(hub_matrix(models))
    store.write_json(out / "completion.json", result)
    return completion_markdown(result)


def run_completion_bench(config: Config, out: Path) -> str:
    """The completion protocol alone: ``OUT/completion.json`` and ``OUT/completion.md``."""
    md = "# obsscale completion bench\n\n" + completion_section(config, out)
    store.write_text(out / "completion.md", md)
    return md


def run_forecast_bench(config: Config, out: Path) -> str:
    """The forecast back-tests alone (``obsscale bench --only forecast``): ``OUT/forecast.json``
    and ``OUT/forecast.md``; the rest of the bench is not run."""
    base = select_models(load_models(config), CURATED)
    md = "# obsscale forecast bench\n" + _forecasts(config, base, out)
    store.write_text(out / "forecast.md", md)
    return md


def _forecasts(config: Config, base: pd.DataFrame, out: Path) -> str:
    """Run the forecast and completion back-tests, write ``OUT/forecast.json``, return Markdown."""
    pconf = config.predict
    fc = run_forecast_backtest(base, config.capabilities, pconf)
    completion = run_completion_backtest(base, config.capabilities, pconf.interval)
    store.write_json(out / "forecast.json", fc | {"completion": completion})
    return forecast_markdown(fc, completion)


def run_bench(
    config: Config,
    out: Path,
    *,
    mirror: str | None,
    upstream: Path | None,
    sizes: tuple[int, ...] = SIZES,
    half: str | None = None,
) -> str:
    models = load_models(config)
    pconf = config.predict
    acc = run_accuracy(models, pconf, half)
    emergent = run_emergent(pconf)
    sel = run_selection(models, pconf)
    frontier = run_frontier(models, pconf)
    probes = run_probes(models)
    base = select_models(models, CURATED)
    real = {
        "n": len(base),
        **fit_predict_timing(
            base, config.capabilities, "obsscaling:GSM8K", pconf, CutoffFlops(LLAMA2_7B_FLOPS)
        ),
    }
    scale = run_scale(sizes)
    slopes = loglog_slopes(scale)
    edges = run_edges(mirror, upstream)
    speed = run_speed(config, scale, slopes)
    write_accuracy(out, acc, half, pconf)
    store.write_json(out / "emergent.json", emergent)
    store.write_json(out / "selection.json", sel)
    store.write_json(
        out / "scale.json",
        {"real_table": real, "synthetic": scale, "loglog_slopes": slopes},
    )
    store.write_json(out / "edges.json", edges)
    store.write_json(out / "frontier.json", frontier)
    store.write_json(out / "probes.json", probes)
    forecasts = _forecasts(config, base, out)
    store.write_json(out / "speed.json", speed)
    md = summary_markdown(acc, sel, real, scale, slopes, edges)
    md += emergent_markdown(emergent)
    md += forecasts + frontier_markdown(frontier)
    md += "\n" + completion_section(config, out)
    md += probes_markdown(probes)
    md += "\n" + speed_markdown(speed) + "\n"
    store.write_text(out / "summary.md", md)
    store.write_text(out / "summary.html", markdown_html(md))
    return md
