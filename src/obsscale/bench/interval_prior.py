"""Regenerate the cross-task interval model (``data/curated/interval_prior.toml``) from the
bench pool's design half: ``python -m obsscale.bench.interval_prior --data-dir DIR``.

Two passes of the default method over the design tasks (seeded, so the file is the same for
the same data):

1. with a neutral prior, the factor predictor's nested back-test errors of every task
   (point predictions and shifts do not depend on the prior): the growth of errors with
   distance, ``kappa`` and ``n0`` (``interval_prior.fit_growth``);
2. with that growth and unit multipliers, every task's outer test errors over its unit
   half-widths: ``q`` (non-flat tasks) and ``q_flat`` (flat training sides), the smallest
   multipliers under which the median task covers 90% and the 10th percentile task 60%
   (``P10_FLOOR``: 70% made the median design task's interval 1.45x the paper's width)
   (``interval_prior.fit_multiplier``).

The confirmation half is never run here.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.bench.accuracy import CURATED
from obsscale.bench.pool import PoolEntry, settings_for, task_pool, twins
from obsscale.config import PredictConfig, default_config
from obsscale.data import store
from obsscale.data.table import load_models
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.rows import select_models
from obsscale.model.prediction import interval_prior as ip
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.results import PredictionResult

P10_FLOOR = 0.60  # the 10th percentile task's coverage the multiplier must reach
NEUTRAL = ip.IntervalPrior(0.0, 0.0, 1.0, 1.0, 1.0, 1.0)


def _run(models: dict[str, pd.DataFrame], tasks: list[PoolEntry], pconf: PredictConfig) -> list:
    """The default method's back-test of every entry that runs, as the accuracy bench runs
    it (the others are skipped)."""
    out = []
    for e in tasks:
        m = models["curated" if e.basis == "curated" else "everyone"]
        if e.target not in m.columns:
            continue
        try:
            settings = settings_for(e, m)
            pairs = twins(e, list(m.columns))
            out.append(
                backtest_target(
                    m,
                    e.target,
                    split=e.split,
                    chance=e.chance,
                    settings=settings,
                    pconf=pconf,
                    twins=pairs,
                )
            )
        except PredictError:
            continue
    return out


def outer_scores(res: PredictionResult) -> tuple[np.ndarray, bool]:
    """|error| / half-width of the factor predictor's test rows (the wider side: the other
    may be clipped to the metric's range), and whether its training side was flat."""
    p = res.predictions
    te = p[(p["predictor"] == "pc") & (p["split"] == "test")]
    half = np.maximum(te["predicted"] - te["lower"], te["upper"] - te["predicted"]).to_numpy()
    err = (te["actual"] - te["predicted"]).abs().to_numpy()
    flat = bool(((res.choices or {}).get("pc") or {}).get("flat_training_side", False))
    return err / np.maximum(half, 1e-12), flat


def fit_prior(
    models: dict[str, pd.DataFrame], tasks: list[PoolEntry], pconf: PredictConfig
) -> ip.IntervalPrior:
    """The two passes of the module docstring over ``tasks``."""
    pconf = pconf if pconf.method != "paper" else replace(pconf, method="obsscale")
    with ip.using(NEUTRAL), ip.recording() as records:
        _run(models, tasks, pconf)
    g_flops, g_level, kappa, n0 = ip.fit_growth([r for r in records if r.predictor == "pc"])
    unit = ip.IntervalPrior(g_flops, g_level, kappa, n0, 1.0, 1.0)
    with ip.using(unit):
        results = _run(models, tasks, pconf)
    scored = [outer_scores(r) for r in results]
    q = ip.fit_multiplier([s for s, flat in scored if not flat], pconf.interval, P10_FLOOR)
    flats = [s for s, flat in scored if flat]
    q_flat = ip.fit_multiplier(flats, pconf.interval, P10_FLOOR) if flats else q
    how = (
        f"python -m obsscale.bench.interval_prior on the bench pool's design half: "
        f"{len(results)} tasks ({len(flats)} with a flat training side), "
        f"{len(records)} nested calibrations; level {pconf.interval:g}, "
        f"10th-percentile task coverage >= {P10_FLOOR:g}"
    )
    return ip.IntervalPrior(
        g_flops, g_level, kappa, n0, q, q_flat, len(results), how, pconf.interval
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m obsscale.bench.interval_prior")
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--out", type=Path, help="where to write (default: the package's file)")
    args = p.parse_args(argv)
    table = load_models(default_config(args.data_dir))
    models = {
        "curated": select_models(table, CURATED),
        "everyone": select_models(table, (), base_only=False),
    }
    prior = fit_prior(models, task_pool("design"), default_config(args.data_dir).predict)
    out = args.out or Path(str(resources.files(ip.PACKAGE).joinpath(ip.FILE)))
    store.write_text(out, prior.to_toml())
    print(prior.to_toml())
    return 0


if __name__ == "__main__":
    sys.exit(main())
