"""``obsscale bench``: the accuracy suite, speed and scale (``obsscale.bench``), whole or one
part at a time, written to ``--out``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from obsscale.cli.options import add_setting, config_from_args, value_type
from obsscale.config import MIRROR_ENV, PredictConfig


def add_parser(
    sub: argparse._SubParsersAction, common: Callable[[argparse.ArgumentParser], None]
) -> None:
    """The ``bench`` subcommand (``common``: every subcommand's options)."""
    p = sub.add_parser("bench", help="accuracy suite, speed and scale -> OUT/*.json, summary")
    common(p)
    p.add_argument("--out", type=Path, default=Path("reports/bench"))
    p.add_argument(
        "--mirror",
        help=f"mirror for the fetch timing (env {MIRROR_ENV}; default: "
        "serve ../shared/upstream when present)",
    )
    p.add_argument(
        "--sizes",
        nargs="+",
        type=value_type(int, ge=1),
        metavar="N",
        help="synthetic table sizes (default 1000 10000 100000)",
    )
    p.add_argument(
        "--only",
        choices=("accuracy", "completion", "forecast", "probes"),
        help="run only this part (-> OUT/<part>[-HALF].json, .md): accuracy = the task pool, "
        "completion = the completers on the hub matrix, forecast = the held-out-model "
        "forecasts and completion, probes = which benchmarks to run next",
    )
    add_setting(p, "--flat-side", PredictConfig, "flat_side")
    p.add_argument(
        "--half",
        choices=("design", "confirmation"),
        help="only this half of the task pool (default both, and the whole pool)",
    )
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from obsscale.bench import (
        SIZES,
        accuracy_stem,
        run_accuracy_bench,
        run_bench,
        run_completion_bench,
        run_forecast_bench,
        run_probes_bench,
    )

    cfg = config_from_args(args)
    if args.only == "completion":
        print(run_completion_bench(cfg, args.out))
        print(f"wrote {args.out}/completion.json, completion.md")
        return 0
    acc = accuracy_stem(args.half, cfg.predict)
    if args.only == "probes":
        from obsscale.data.table import load_models

        print(run_probes_bench(load_models(cfg), args.out))
        print(f"wrote {args.out}/probes.json, probes.md")
        return 0
    if args.only == "accuracy":
        print(run_accuracy_bench(cfg, args.out, args.half))
        print(f"wrote {args.out}/{acc}.json, {acc}.md")
        return 0
    if args.only == "forecast":
        print(run_forecast_bench(cfg, args.out))
        print(f"wrote {args.out}/forecast.json, forecast.md")
        return 0
    md = run_bench(
        cfg,
        args.out,
        mirror=args.mirror,
        upstream=cfg.upstream_dir,
        sizes=tuple(args.sizes or SIZES),
        half=args.half,
    )
    print(md)
    print(f"wrote {args.out}/summary.md, {acc}.json, scale.json, edges.json")
    return 0
