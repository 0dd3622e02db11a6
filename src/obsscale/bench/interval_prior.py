"""Regenerate the cross-task interval model (``data/curated/interval_prior.toml``) from the
bench pool's design half: ``python -m obsscale.bench.interval_prior --data-dir DIR``.

Three passes of the default method over the design tasks (seeded, so the file is the same
for the same data; point predictions and shifts do not depend on the prior, only intervals):

1. with a neutral prior, the factor predictor's nested back-test errors of every task: the
   growth of errors with distance, ``kappa`` and ``n0`` (``interval_prior.fit_growth``);
2. with that growth and unit multipliers, every task's nested scale at its outer test rows;
3. the same with the bootstrap's scale alone (exponents (0, 1)): its scale at those rows.

Then the exponents (a, b) of ``q·nested^a·bootstrap^b`` and ``q`` (non-flat tasks) under
which the median task covers 90% and the 10th percentile task 70% (``P10_FLOOR``), with the
narrowest median half-width (``interval_prior.fit_exponents``), and ``q_flat`` (flat training
sides, the nested flat rule alone) from the flat tasks.

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

P10_FLOOR = 0.70  # the 10th percentile task's coverage the multiplier must reach
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


def outer_rows(res: PredictionResult) -> tuple[np.ndarray, np.ndarray, bool]:
    """|error| and half-width of the factor predictor's test rows (the wider side: the other
    may be clipped to the metric's range), and whether its training side was flat."""
    p = res.predictions
    te = p[(p["predictor"] == "pc") & (p["split"] == "test")]
    half = np.maximum(te["predicted"] - te["lower"], te["upper"] - te["predicted"]).to_numpy()
    err = (te["actual"] - te["predicted"]).abs().to_numpy()
    flat = bool(((res.choices or {}).get("pc") or {}).get("flat_training_side", False))
    return err, np.maximum(half, 1e-12), flat


def fit_prior(
    models: dict[str, pd.DataFrame], tasks: list[PoolEntry], pconf: PredictConfig
) -> ip.IntervalPrior:
    """The three passes of the module docstring over ``tasks``."""
    pconf = pconf if pconf.method != "paper" else replace(pconf, method="obsscale")
    with ip.using(NEUTRAL), ip.recording() as records:
        _run(models, tasks, pconf)
    g_flops, g_level, kappa, n0 = ip.fit_growth([r for r in records if r.predictor == "pc"])
    unit = ip.IntervalPrior(g_flops, g_level, kappa, n0, 1.0, 1.0)
    with ip.using(unit):
        nested = [outer_rows(r) for r in _run(models, tasks, pconf)]
    with ip.using(replace(unit, nested_exponent=0.0, bootstrap_exponent=1.0)):
        boot = [outer_rows(r) for r in _run(models, tasks, pconf)]
    rows = [
        ip.OuterRows(err, half, b_half)
        for (err, half, flat), (_, b_half, _) in zip(nested, boot, strict=True)
        if not flat
    ]
    a, b, q = ip.fit_exponents(rows, pconf.interval, P10_FLOOR)
    flats = [err / half for err, half, flat in nested if flat]
    q_flat = ip.fit_multiplier(flats, pconf.interval, P10_FLOOR) if flats else q
    how = (
        f"python -m obsscale.bench.interval_prior on the bench pool's design half: "
        f"{len(nested)} tasks ({len(flats)} with a flat training side), "
        f"{len(records)} nested calibrations; level {pconf.interval:g}, "
        f"10th-percentile task coverage >= {P10_FLOOR:g}; exponents of the nested and the "
        f"bootstrap scale {a:g}, {b:g}"
    )
    return ip.IntervalPrior(
        g_flops, g_level, kappa, n0, q, q_flat, len(nested), how, pconf.interval, a, b
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
