"""The argument parser: one small function per subcommand, options shared by several of them
in helpers. Parsing only: every subcommand's ``func`` is a function of ``commands`` or of the
subcommand's own module (``bench``, ``complete``, ``efficiency``, ...)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any

from obsscale.cli import bench, commands, complete, efficiency, frontier, probe
from obsscale.cli.options import add_setting, expected, value_type
from obsscale.config import (
    DATA_DIR_ENV,
    MIRROR_ENV,
    CapabilityConfig,
    Config,
    PredictConfig,
    ReportTarget,
)


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capability model")
    add_setting(
        g,
        "--benchmarks",
        CapabilityConfig,
        "benchmarks",
        type=_score_column,
        metavar="COL",
        default_text="the 8 obsscaling: ones",
    )
    add_setting(g, "--components", CapabilityConfig, "n_components", metavar="K")
    add_setting(g, "--reference-family", CapabilityConfig, "reference_family", metavar="NAME")
    add_setting(g, "--standardize", CapabilityConfig, "standardize")
    add_setting(
        g,
        "--all-models",
        CapabilityConfig,
        "base_only",
        help="include fine-tuned/instruct models",
        default_text="base models only",
    )
    g.add_argument(
        "--subset",
        metavar="NAME",
        help="named model subset, e.g. 'paper' (the 77 models the paper evaluated)",
    )
    g.add_argument(
        "--exclude-subset",
        metavar="NAME",
        help="leave a named subset out, e.g. 'postpaper' (fit on the rest, predict those)",
    )
    g.add_argument("--families", nargs="+", metavar="FAMILY", help="only these families")
    g.add_argument("--models", nargs="+", metavar="ID", help="only these model ids")
    g.add_argument("--exclude", nargs="+", metavar="ID", help="leave these model ids out")


def _score_column(text: str) -> str:
    if ":" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a score column: benchmarks are <source>:<benchmark> columns of "
            "models.csv, e.g. obsscaling:MMLU (sizes and compute are model metadata)"
        )
    return text


def _add_common(p: argparse.ArgumentParser, default: Any = None) -> None:
    """--data-dir and --config, given before the subcommand or after it (``default``
    SUPPRESS in the subcommand's parser, so it keeps a value given before it)."""
    add_setting(
        p,
        "--data-dir",
        Config,
        "data_dir",
        dest="data_dir",
        metavar="DIR",
        default_text=f"${DATA_DIR_ENV}, else data/",
    ).default = default
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=default,
        help="TOML settings (default: ./obsscale.toml if present)",
    )


def _add_subcommand_common(p: argparse.ArgumentParser) -> None:
    _add_common(p, argparse.SUPPRESS)
    add_setting(
        p,
        "--trust-edited",
        Config,
        "trust_edited",
        help="use tables and raw files edited since obsscale wrote or fetched them",
        default_text="a file whose sha256 differs from the recorded one is refused",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")


def _add_harmonize_options(p: argparse.ArgumentParser) -> None:
    add_setting(p, "--include-flagged", Config, "include_flagged")
    add_setting(p, "--include-merged", Config, "include_merged")
    add_setting(
        p,
        "--no-corrections",
        Config,
        "apply_corrections",
        help="use upstream metadata as published (skip the curated corrections)",
        default_text="apply them",
    )
    add_setting(p, "--exclude-source", Config, "exclude_sources", metavar="NAME")


def _fetch_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download the sources, then harmonize them")
    _add_subcommand_common(p)
    add_setting(p, "--mirror", Config, "mirror", default_text=f"${MIRROR_ENV}")
    p.add_argument("--refresh", action="store_true", help="download even if a good copy exists")
    p.add_argument("--only", nargs="+", metavar="NAME", help="fetch only these sources")
    p.add_argument("--no-harmonize", action="store_true", help="download only")
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="accept a live source's new copy even with far fewer records than the current one",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_harmonize_options(p)
    p.set_defaults(func=commands.cmd_fetch)


def _harmonize_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("harmonize", help="rebuild processed/models.csv from the raw files")
    _add_subcommand_common(p)
    _add_harmonize_options(p)
    p.set_defaults(func=commands.cmd_harmonize)


def _fit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit", help="fit capability factors and family lines, back-test the targets -> OUT/*.json"
    )
    _add_subcommand_common(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder for fit.json, predict-<target>.json and run.json (default: reports/)",
    )
    p.add_argument(
        "--target",
        nargs="+",
        metavar="COL",
        help="targets to back-test (default: the config's report targets)",
    )
    p.add_argument("--no-targets", action="store_true", help="fit the capability model only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--report",
        action="store_true",
        help="then render OUT/index.html from the run's artifacts in this process, as "
        "`obsscale report` would, and print its path instead of the fit's summary (make fit)",
    )
    _add_selection(p)
    p.set_defaults(func=commands.cmd_fit)


def _predict_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="back-test a downstream prediction from capabilities")
    _add_subcommand_common(p)
    p.add_argument(
        "--target",
        required=True,
        metavar="COL",
        help="score column to predict (or a metric column of --downstream)",
    )
    p.add_argument(
        "--downstream",
        type=Path,
        metavar="FILE",
        help="your own CSV: a 'Model' column of Hugging Face ids + metric columns",
    )
    _add_chance(p)
    _add_predictor_options(p)
    _add_split_options(p)
    add_setting(p, "--bootstrap", PredictConfig, "n_bootstrap", metavar="B")
    add_setting(p, "--seed", PredictConfig, "random_state", metavar="SEED")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON to FILE")
    _add_selection(p)
    p.set_defaults(func=commands.cmd_predict)


def _add_chance(p: argparse.ArgumentParser, of: str = "the target") -> None:
    add_setting(
        p,
        "--chance",
        ReportTarget,
        "chance",
        dest="chance",
        metavar="C",
        default_text=f"the configured chance level of {of} ([[report.targets]]), else 0",
    )


def _add_predictor_options(p: argparse.ArgumentParser) -> None:
    for flag in ("method", "form", "loss", "scale"):
        add_setting(p, f"--{flag}", PredictConfig, flag)
    add_setting(p, "--flat-side", PredictConfig, "flat_side")


def _add_split_options(p: argparse.ArgumentParser) -> None:
    """One split of the models into training and test rows (``commands._split``)."""
    s = p.add_argument_group("split (one of; default --cutoff-flops from [predict])")
    add_setting(
        s, "--cutoff-flops", PredictConfig, "cutoff_flops", dest="cutoff_flops", metavar="F"
    )
    s.add_argument(
        "--cutoff-date",
        type=value_type(datetime.date),
        metavar="YYYY-MM-DD",
        help="train on models released before the date, test on later ones",
    )
    s.add_argument("--leave-family-out", action="store_true", help="each family in turn")
    add_setting(s, "--kfold", PredictConfig, "kfold", dest="kfold", metavar="K")
    s.add_argument(
        "--cutoff-top-fraction",
        type=value_type(float, gt=0, lt=1),
        metavar="Q",
        help="test on the strongest Q of the models by the first factor (e.g. 0.1), train on "
        f"the rest; needs no FLOPs (instruct and agent targets); {expected(float, gt=0, lt=1)}",
    )


def _select_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help="which models to evaluate, or benchmarks to run next")
    _add_subcommand_common(p)
    p.add_argument(
        "--budget",
        type=value_type(int, ge=1),
        metavar="K",
        help=f"how many models you can evaluate, or benchmarks you can run (default "
        f"{probe.DEFAULT_BUDGET} with --benchmarks-for; {expected(int, ge=1)})",
    )
    probe.add_options(p)
    p.add_argument(
        "--criterion",
        choices=("v", "d"),
        default="v",
        help="v: mean prediction variance over the target set; d: det XᵀX",
    )
    p.add_argument(
        "--max-params-b",
        type=value_type(float, gt=0),
        metavar="B",
        help="only models with at most B billion parameters",
    )
    p.add_argument(
        "--max-flops",
        type=value_type(float, gt=0),
        metavar="F",
        help="only models trained with at most F FLOPs",
    )
    p.add_argument("--include", nargs="+", metavar="MODEL", help="models that must be chosen")
    p.add_argument(
        "--target-set",
        choices=("all", "largest"),
        default="all",
        help="where predictions should be precise (V-optimality): all models, or "
        "the most capable quarter",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_selection(p)
    p.set_defaults(func=commands.cmd_select)


def _report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render OUT/index.html from the artifacts of `obsscale fit`")
    _add_subcommand_common(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder holding run.json (from `obsscale fit`); index.html goes there too",
    )
    p.set_defaults(func=commands.cmd_report)


def _forecast_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast", help="scores of a model not yet trained or not yet evaluated, with intervals"
    )
    _add_subcommand_common(p)
    g = p.add_argument_group("a planned model (family + compute)")
    g.add_argument("--family", metavar="F", help="its family (its capability lines are used)")
    g.add_argument("--like", metavar="F", help="a new family: use family F's line, widened")
    positive = value_type(float, gt=0)
    g.add_argument("--params-b", type=positive, metavar="N", help="parameters, billions")
    g.add_argument("--tokens-t", type=positive, metavar="D", help="tokens, trillions")
    g.add_argument("--flops", type=positive, metavar="C", help="training FLOPs (or 6ND)")
    g.add_argument(
        "--times",
        type=positive,
        metavar="N",
        help="training FLOPs N times those of the family's largest model (e.g. 10)",
    )
    g.add_argument("--name", help="a label for the planned model (default: derived)")
    p.add_argument(
        "--scores",
        type=Path,
        metavar="FILE",
        help="an evaluated model: CSV with a 'Model' column and any score columns (fractions)",
    )
    p.add_argument(
        "--at-flops",
        nargs="+",
        type=positive,
        metavar="C",
        help="forecast along the reference family's line at these (equivalent) FLOPs",
    )
    p.add_argument("--complete", action="store_true", help="fill missing scores (see complete)")
    p.add_argument(
        "--released",
        type=value_type(datetime.date),
        metavar="DATE",
        help="a frontier model released on DATE: the capability index's frontier trend there, "
        "and each --target's (default: every hub benchmark's) score at it",
    )
    p.add_argument(
        "--target", nargs="+", metavar="COL", help="targets (default: the report's targets)"
    )
    _add_chance(p, of="each target")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the JSON (--complete: or CSV)")
    _add_selection(p)
    p.set_defaults(func=commands.cmd_forecast)


def _index_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index", help="fit the stitched capability index (C per model) on the Epoch hub scores"
    )
    _add_subcommand_common(p)
    p.add_argument(
        "--anchor",
        help="benchmark column with difficulty 0 and slope 1 (default: epoch_hub:GPQA Diamond)",
    )
    p.add_argument(
        "--interval", type=value_type(float, gt=0, lt=1), default=0.9, help="interval level"
    )
    p.add_argument("--out", type=Path, metavar="FILE", help="write the per-model table (CSV)")
    p.add_argument(
        "--benchmarks-out", type=Path, metavar="FILE", help="write the per-benchmark table (CSV)"
    )
    p.add_argument("--top", type=value_type(int, ge=0), default=20, help="models printed (0: none)")
    p.set_defaults(func=frontier.cmd_index)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsscale", description="Observational scaling laws for language-model benchmarks."
    )
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    _fetch_parser(sub)
    _harmonize_parser(sub)
    _fit_parser(sub)
    _predict_parser(sub)
    _select_parser(sub)
    _forecast_parser(sub)
    _report_parser(sub)
    bench.add_parser(sub, _add_subcommand_common)
    _index_parser(sub)
    complete.add_parser(sub, _add_subcommand_common)
    efficiency.add_parser(sub, _add_subcommand_common, _add_selection)
    return parser
