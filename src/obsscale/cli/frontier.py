"""The frontier's subcommands: the stitched capability index (``obsscale index``) and the
index's frontier trend at a release date (``obsscale forecast --released``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from obsscale.cli.options import config_from_args
from obsscale.exceptions import CLIError

if TYPE_CHECKING:
    import pandas as pd

    from obsscale.config import Config


def _hub_models(cfg: Config) -> pd.DataFrame:
    """models.csv, refused with one line when it holds no Epoch hub scores."""
    from obsscale.data.table import load_models

    models = load_models(cfg)
    if not any(c.startswith("epoch_hub:") for c in models.columns):
        raise CLIError("models.csv has no epoch_hub: scores; fetch the Epoch hub sources first")
    return models


def cmd_index(args: argparse.Namespace) -> int:
    """Fit the capability index on the hub scores; print the top models, write the tables."""
    import pandas as pd

    from obsscale.data import store
    from obsscale.model.index.tables import benchmark_table, fit_index, model_table

    cfg = config_from_args(args)
    models = _hub_models(cfg)
    prov_path = cfg.processed_dir / "provenance.csv"
    provenance = pd.read_csv(prov_path, dtype=str) if prov_path.exists() else None
    index = fit_index(models, args.anchor)
    table = model_table(models, index, provenance, args.interval)
    benchmarks = benchmark_table(index, args.interval)
    if args.out:
        store.write_csv(args.out, table)
    if args.benchmarks_out:
        store.write_csv(args.benchmarks_out, benchmarks)
    print(
        f"{index!r}; C in logits of {index.anchor_} (difficulty 0, slope 1); "
        f"{len(table) - len(index.models_)} more models folded in"
    )
    shown = ["model", "release_date", "capability", "lower", "upper", "n_benchmarks"]
    if args.top:
        print(table[shown].head(args.top).to_string(index=False, float_format="%.2f"))
    return 0


def forecast_released(args: argparse.Namespace) -> int:
    """``forecast --released DATE``: the index's frontier line at DATE, then its scores."""
    from obsscale.data import store
    from obsscale.model.index.trend import forecast_released

    models = _hub_models(config_from_args(args))
    result = forecast_released(models, args.released.isoformat(), args.target)
    if args.out:
        store.write_json(args.out, result)
    if args.json:
        print(store.dumps(result))
        return 0
    c = result["capability"]
    print(
        f"frontier model released {args.released}: C {c['predicted']:.2f} "
        f"[{c['lower']:.2f}, {c['upper']:.2f}] (90%; {result['scale']}; trend "
        f"{result['per_year']:.2f}/year over {result['n_points']} frontier models)"
    )
    for r in result["scores"]:
        print(f"  {r['benchmark']}: {r['predicted']:.3f} [{r['lower']:.3f}, {r['upper']:.3f}]")
    return 0
