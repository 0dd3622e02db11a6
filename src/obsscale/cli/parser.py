"""The argument parser: one small function per subcommand, options shared by several of them
in helpers. Parsing only: every subcommand's ``func`` is a function of ``commands``."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from obsscale.cli import commands
from obsscale.config import MIRROR_ENV


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capability model")
    g.add_argument(
        "--benchmarks",
        nargs="+",
        type=_score_column,
        metavar="COL",
        help="score columns forming the factor basis (default: the 8 obsscaling: ones)",
    )
    g.add_argument(
        "--components", type=_positive_int, metavar="K", help="number of PCs (default 3)"
    )
    g.add_argument(
        "--reference-family",
        metavar="NAME",
        help="family whose compute scale defines equivalent FLOPs (default Llama-2)",
    )
    g.add_argument(
        "--standardize",
        action="store_true",
        help="PCA on standardized scores (default: raw fractions, as the paper)",
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
    g.add_argument(
        "--all-models",
        action="store_true",
        help="include fine-tuned/instruct models (default: base models only)",
    )


def _score_column(text: str) -> str:
    if ":" not in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a score column: benchmarks are <source>:<benchmark> columns of "
            "models.csv, e.g. obsscaling:MMLU (sizes and compute are model metadata)"
        )
    return text


def _date(text: str) -> str:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date of the form YYYY-MM-DD") from None
    return text


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _open_fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {text}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("data"),
        help="folder for downloads and derived tables (default: data/)",
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="TOML settings (default: ./obsscale.toml if present)",
    )
    p.add_argument(
        "--trust-edited",
        action="store_true",
        help="use tables and raw files edited since obsscale wrote or fetched them (by default "
        "a file whose sha256 differs from the recorded one is refused)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")


def _add_harmonize_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--include-flagged",
        action="store_true",
        help="keep leaderboard models flagged by the leaderboard",
    )
    p.add_argument("--include-merged", action="store_true", help="keep merged models")
    p.add_argument(
        "--no-corrections",
        action="store_true",
        help="use upstream metadata as published (skip curated corrections)",
    )
    p.add_argument(
        "--exclude-source",
        nargs="+",
        metavar="NAME",
        help="build the table without these sources (by default a missing raw file is an error)",
    )


def _fetch_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download the sources, then harmonize them")
    _add_common(p)
    p.add_argument("--mirror", help=f"rewrite https://H/P to MIRROR/H/P (env {MIRROR_ENV})")
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
    _add_common(p)
    _add_harmonize_options(p)
    p.set_defaults(func=commands.cmd_harmonize)


def _fit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit", help="fit capability factors and family lines, back-test the targets -> OUT/*.json"
    )
    _add_common(p)
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
    _add_selection(p)
    p.set_defaults(func=commands.cmd_fit)


def _predict_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="back-test a downstream prediction from capabilities")
    _add_common(p)
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
    p.add_argument(
        "--chance", type=float, default=0.0, help="chance level: fit (y - c) / (1 - c) (default 0)"
    )
    _add_predictor_options(p)
    _add_split_options(p)
    p.add_argument("--bootstrap", type=_positive_int, metavar="B", help="bootstrap resamples (200)")
    p.add_argument("--seed", type=_nonnegative_int, help="random seed (0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON to FILE")
    _add_selection(p)
    p.set_defaults(func=commands.cmd_predict)


def _add_predictor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--form",
        choices=("sigmoid", "parametric"),
        help="sigmoid, or with a floor b in [0, 0.2] (default sigmoid)",
    )
    p.add_argument("--loss", choices=("squared", "huber"), help="default squared")
    p.add_argument(
        "--method",
        choices=("obsscale", "paper"),
        help="obsscale (default): inputs and link chosen and weighted by nested back-tests, "
        "intervals calibrated on them; paper: the paper's factor predictor with bootstrap "
        "intervals, exactly as the reference",
    )
    p.add_argument(
        "--scale",
        choices=("auto", "fraction", "percent", "ten"),
        help="scale of the target: fraction (0-1), percent (0-100), ten (0-10), or auto "
        "(default: fraction if at most 1, percent if in (10, 100]; (1, 10] is refused)",
    )


def _add_split_options(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("split (one of; default --cutoff-flops 8.4e22)")
    s.add_argument(
        "--cutoff-flops",
        type=_positive_float,
        metavar="F",
        help="train on models with FLOPs <= F, test above",
    )
    s.add_argument(
        "--cutoff-date",
        type=_date,
        metavar="YYYY-MM-DD",
        help="train on models released before the date, test on later ones",
    )
    s.add_argument("--leave-family-out", action="store_true", help="each family in turn")
    s.add_argument("--kfold", type=_positive_int, metavar="K", help="random K-fold")
    s.add_argument(
        "--cutoff-top-fraction",
        type=_open_fraction,
        metavar="Q",
        help="test on the strongest Q of the models by the first factor (e.g. 0.1), train on "
        "the rest; needs no FLOPs (instruct and agent targets)",
    )


def _select_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("select", help="choose which models to evaluate (optimal design)")
    _add_common(p)
    p.add_argument(
        "--budget",
        type=_positive_int,
        required=True,
        metavar="K",
        help="how many models you can evaluate",
    )
    p.add_argument(
        "--criterion",
        choices=("v", "d"),
        default="v",
        help="v: mean prediction variance over the target set; d: det XᵀX",
    )
    p.add_argument(
        "--max-params-b",
        type=_positive_float,
        metavar="B",
        help="only models with at most B billion parameters",
    )
    p.add_argument(
        "--max-flops",
        type=_positive_float,
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
    _add_common(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder holding run.json (from `obsscale fit`); index.html goes there too",
    )
    p.set_defaults(func=commands.cmd_report)


def _bench_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="accuracy suite, speed and scale -> OUT/*.json, summary")
    _add_common(p)
    p.add_argument("--out", type=Path, default=Path("reports/bench"))
    p.add_argument(
        "--mirror",
        help=f"mirror for the fetch timing (env {MIRROR_ENV}; default: "
        "serve ../shared/upstream when present)",
    )
    p.add_argument(
        "--sizes",
        nargs="+",
        type=_positive_int,
        metavar="N",
        help="synthetic table sizes (default 1000 10000 100000)",
    )
    p.add_argument(
        "--only",
        choices=("accuracy",),
        help="run only this part: accuracy = the task pool (-> OUT/accuracy[-HALF].json, .md)",
    )
    p.add_argument(
        "--half",
        choices=("design", "confirmation"),
        help="only this half of the task pool (default both, and the whole pool)",
    )
    p.set_defaults(func=commands.cmd_bench)


def _forecast_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "forecast", help="scores of a model not yet trained or not yet evaluated, with intervals"
    )
    _add_common(p)
    g = p.add_argument_group("a planned model (family + compute)")
    g.add_argument("--family", metavar="F", help="its family (its capability lines are used)")
    g.add_argument("--like", metavar="F", help="a new family: use family F's line, widened")
    g.add_argument("--params-b", type=_positive_float, metavar="N", help="parameters, billions")
    g.add_argument("--tokens-t", type=_positive_float, metavar="D", help="tokens, trillions")
    g.add_argument("--flops", type=_positive_float, metavar="C", help="training FLOPs (or 6ND)")
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
        type=_positive_float,
        metavar="C",
        help="forecast along the reference family's line at these (equivalent) FLOPs",
    )
    p.add_argument("--complete", action="store_true", help="fill every missing score of models.csv")
    p.add_argument(
        "--target", nargs="+", metavar="COL", help="targets (default: the report's targets)"
    )
    p.add_argument("--chance", type=float, help="chance level of the --target columns")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON to FILE")
    _add_selection(p)
    p.set_defaults(func=commands.cmd_forecast)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsscale", description="Observational scaling laws for language-model benchmarks."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _fetch_parser(sub)
    _harmonize_parser(sub)
    _fit_parser(sub)
    _predict_parser(sub)
    _select_parser(sub)
    _forecast_parser(sub)
    _report_parser(sub)
    _bench_parser(sub)
    return parser
