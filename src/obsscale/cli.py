"""Command line: one subcommand per stage (``obsscale fetch | harmonize | fit | ...``).

The CLI only parses arguments, builds a ``Config`` and calls the stage's Python API; every
number it prints comes from the same functions a notebook would call.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from obsscale.config import (
    MIRROR_ENV,
    CapabilityConfig,
    Config,
    default_config,
    load_config_file,
)

log = logging.getLogger("obsscale")


class CLIError(Exception):
    """An error to print as one line (no traceback) with exit status 1 or 2."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _config(args: argparse.Namespace) -> Config:
    cfg = default_config(args.data_dir, getattr(args, "mirror", None))
    config_file = args.config or (Path("obsscale.toml") if Path("obsscale.toml").exists() else None)
    if config_file:
        cfg = load_config_file(config_file, cfg)
    overrides = {}
    if getattr(args, "include_flagged", False):
        overrides["include_flagged"] = True
    if getattr(args, "include_merged", False):
        overrides["include_merged"] = True
    if getattr(args, "no_corrections", False):
        overrides["apply_corrections"] = False
    return cfg.with_overrides(**overrides) if overrides else cfg


def cmd_fetch(args: argparse.Namespace) -> int:
    from obsscale.data.fetch import fetch_all

    cfg = _config(args)
    results = fetch_all(cfg, only=args.only, refresh=args.refresh, progress=not args.quiet)
    for r in results:
        size = f"{r.entry.bytes:>10,d} B  sha256 {r.entry.sha256[:12]}" if r.entry else ""
        print(f"{r.status:>10}  {r.source:<20} {size}{r.error or ''}")
    failed = [r for r in results if r.status == "failed"]
    if not args.no_harmonize:
        try:
            _harmonize(cfg)
        except Exception as e:
            if not failed:
                raise
            print(f"harmonize skipped: {e}", file=sys.stderr)
    if failed:
        raise CLIError(
            f"{len(failed)} source(s) failed: " + "; ".join(r.error or r.source for r in failed)
        )
    return 0


def _harmonize(cfg: Config) -> None:
    from obsscale.data.harmonize import harmonize

    result = harmonize(cfg)
    result.write(cfg)
    m = result.models
    print(
        f"harmonized {len(m)} models ({int(m['flops'].notna().sum())} with FLOPs, "
        f"{m['family'].nunique()} families) -> {cfg.processed_dir / 'models.csv'}"
    )
    sev = result.quality["severity"].value_counts().to_dict()
    print(f"quality findings: {sev} -> {cfg.processed_dir / 'quality.csv'}")


def cmd_harmonize(args: argparse.Namespace) -> int:
    _harmonize(_config(args))
    return 0


def _capability_settings(args: argparse.Namespace, cfg: Config) -> CapabilityConfig:
    base = cfg.capabilities
    changes: dict[str, object] = {}
    if args.benchmarks:
        changes["benchmarks"] = tuple(args.benchmarks)
    if args.components is not None:
        changes["n_components"] = args.components
    if args.reference_family:
        changes["reference_family"] = args.reference_family
    if args.all_models:
        changes["base_only"] = False
    if args.standardize:
        changes["standardize"] = True
    return replace(base, **changes)  # type: ignore[arg-type]


def _selected_models(args: argparse.Namespace, settings: CapabilityConfig, models):
    from obsscale.model.factors import select_models

    return select_models(
        models,
        settings.benchmarks,
        subset=args.subset,
        families=args.families,
        include=args.models,
        exclude=args.exclude,
        base_only=settings.base_only,
    )


def cmd_fit(args: argparse.Namespace) -> int:
    from obsscale.data.store import sha256_file
    from obsscale.model.factors import fit_capabilities
    from obsscale.data.harmonize import load_models, processed_models_path

    cfg = _config(args)
    settings = _capability_settings(args, cfg)
    models = _selected_models(args, settings, load_models(cfg))
    fit = fit_capabilities(models, settings, input_sha256=sha256_file(processed_models_path(cfg)))
    out = args.out / "fit.json"
    fit.save(out)
    print(fit.summary().as_text())
    print(f"\n{fit!r}\nwrote {out}")
    return 0


def _split(args: argparse.Namespace, cfg: Config):
    from obsscale.model.backtest import Split

    chosen = [
        k
        for k in ("cutoff_flops", "cutoff_date", "leave_family_out", "kfold")
        if getattr(args, k) is not None and getattr(args, k) is not False
    ]
    if len(chosen) > 1:
        raise CLIError(f"choose one split, got {chosen}", status=2)
    if not chosen:
        return Split("cutoff_flops", cfg.predict.cutoff_flops)
    kind = chosen[0]
    value = getattr(args, kind)
    return Split(kind, None if kind == "leave_family_out" else value)


def cmd_predict(args: argparse.Namespace) -> int:
    from obsscale.data.harmonize import Rules, load_models
    from obsscale.model.backtest import backtest, load_downstream

    cfg = _config(args)
    settings = _capability_settings(args, cfg)
    given = {
        "form": args.form,
        "loss": args.loss,
        "n_bootstrap": args.bootstrap,
        "random_state": args.seed,
    }
    pconf = replace(cfg.predict, **{k: v for k, v in given.items() if v is not None})
    models = load_models(cfg)
    target, unmatched = args.target, []
    if args.downstream:
        # merged into the whole table first, so that ids outside the selection are told apart
        # from ids that are nowhere
        models, unmatched = load_downstream(args.downstream, models, Rules.load().id_aliases)
        target = f"downstream:{args.target}"
        if target not in models.columns:
            raise CLIError(f"{args.downstream} has no column {args.target!r}")
    selected = _selected_models(args, replace(settings, benchmarks=()), models)
    if target in models.columns and models[target].notna().any():
        n_all, n_sel = int(models[target].notna().sum()), int(selected[target].notna().sum())
        if n_sel == 0:
            raise CLIError(
                f"none of the {n_all} models with {target} is in the selection (pretrained "
                "models only by default: add --all-models; or check --subset/--families)"
            )
    result = backtest(
        selected,
        target,
        split=_split(args, cfg),
        chance=args.chance,
        settings=settings,
        pconf=pconf,
    )
    if unmatched:
        result.notes.append(
            f"{len(unmatched)} ids of {args.downstream} are not in the model table: "
            f"{', '.join(unmatched[:10])}"
        )
    if args.out:
        result.save(args.out)
    if args.json:
        print(result.to_json())
    else:
        print(result.summary().as_text())
        if args.out:
            print(f"wrote {args.out}")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    from obsscale.model.factors import fit_capabilities
    from obsscale.data.harmonize import load_models
    from obsscale.model.selection import select_from_fit

    cfg = _config(args)
    settings = _capability_settings(args, cfg)
    models = load_models(cfg)
    fit = fit_capabilities(_selected_models(args, settings, models), settings)
    result = select_from_fit(
        fit,
        models,
        budget=args.budget,
        criterion=args.criterion,
        max_params_b=args.max_params_b,
        max_flops=args.max_flops,
        include=args.include,
        target_set=args.target_set,
    )
    print(result.to_json() if args.json else result.summary().as_text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from obsscale.report.html import build_report

    cfg = _config(args)
    start = time.monotonic()
    index = build_report(cfg, args.out, targets=args.target, progress=not args.quiet)
    print(f"report written in {time.monotonic() - start:.0f} s: {index.resolve()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from obsscale.bench import SIZES, run_bench

    cfg = _config(args)
    upstream = Path.cwd().parent / "shared" / "upstream"  # the mirror beside the checkout
    md = run_bench(
        cfg, args.out, mirror=args.mirror, upstream=upstream, sizes=tuple(args.sizes or SIZES)
    )
    print(md)
    print(f"wrote {args.out}/summary.md, accuracy.json, scale.json, edges.json")
    return 0


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capability model")
    g.add_argument(
        "--benchmarks",
        nargs="+",
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
    g.add_argument("--families", nargs="+", metavar="FAMILY", help="only these families")
    g.add_argument("--models", nargs="+", metavar="ID", help="only these model ids")
    g.add_argument("--exclude", nargs="+", metavar="ID", help="leave these model ids out")
    g.add_argument(
        "--all-models",
        action="store_true",
        help="include fine-tuned/instruct models (default: base models only)",
    )


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="obsscale", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download the sources, then harmonize them")
    _add_common(p)
    p.add_argument("--mirror", help=f"rewrite https://H/P to MIRROR/H/P (env {MIRROR_ENV})")
    p.add_argument("--refresh", action="store_true", help="download even if a good copy exists")
    p.add_argument("--only", nargs="+", metavar="NAME", help="fetch only these sources")
    p.add_argument("--no-harmonize", action="store_true", help="download only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_harmonize_options(p)
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("harmonize", help="rebuild processed/models.csv from the raw files")
    _add_common(p)
    _add_harmonize_options(p)
    p.set_defaults(func=cmd_harmonize)

    p = sub.add_parser("fit", help="fit capability factors and per-family compute scaling")
    _add_common(p)
    p.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder for fit.json (default: reports/)"
    )
    _add_selection(p)
    p.set_defaults(func=cmd_fit)

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
    p.add_argument(
        "--form",
        choices=("sigmoid", "parametric"),
        help="sigmoid, or with a floor b in [0, 0.2] (default sigmoid)",
    )
    p.add_argument("--loss", choices=("squared", "huber"), help="default squared")
    s = p.add_argument_group("split (one of; default --cutoff-flops 8.4e22)")
    s.add_argument(
        "--cutoff-flops",
        type=_positive_float,
        metavar="F",
        help="train on models with FLOPs <= F, test above",
    )
    s.add_argument(
        "--cutoff-date",
        metavar="YYYY-MM-DD",
        help="train on models released before the date, test on later ones",
    )
    s.add_argument("--leave-family-out", action="store_true", help="each family in turn")
    s.add_argument("--kfold", type=_positive_int, metavar="K", help="random K-fold")
    p.add_argument("--bootstrap", type=_positive_int, metavar="B", help="bootstrap resamples (200)")
    p.add_argument("--seed", type=_nonnegative_int, help="random seed (0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the JSON to FILE")
    _add_selection(p)
    p.set_defaults(func=cmd_predict)

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
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("report", help="fit, back-test the targets and write OUT/index.html")
    _add_common(p)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        help="folder for index.html, fit.json and predictions (default: reports/)",
    )
    p.add_argument(
        "--target",
        nargs="+",
        metavar="COL",
        help="downstream targets to draw (default: the config's report targets)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_report)

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
        type=int,
        metavar="N",
        help="synthetic table sizes (default 1000 10000 100000)",
    )
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:  # e.g. `obsscale predict --json | head`
        sys.stderr.close()
        return 0
    except CLIError as e:
        print(f"obsscale {args.command}: error: {e}", file=sys.stderr)
        return e.status
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print(f"obsscale {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
