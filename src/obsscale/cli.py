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

from obsscale.config import MIRROR_ENV, CapabilityConfig, Config, default_config

log = logging.getLogger("obsscale")


class CLIError(Exception):
    """An error to print as one line (no traceback) with exit status 1 or 2."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _config(args: argparse.Namespace) -> Config:
    cfg = default_config(args.data_dir, getattr(args, "mirror", None))
    overrides = {}
    if getattr(args, "include_flagged", False):
        overrides["include_flagged"] = True
    if getattr(args, "include_merged", False):
        overrides["include_merged"] = True
    if getattr(args, "no_corrections", False):
        overrides["apply_corrections"] = False
    return cfg.with_overrides(**overrides) if overrides else cfg


def cmd_fetch(args: argparse.Namespace) -> int:
    from obsscale.fetch import fetch_all

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
    from obsscale.harmonize import harmonize

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


def _selected_models(args: argparse.Namespace, cfg: Config, settings: CapabilityConfig):
    from obsscale.capabilities import select_models
    from obsscale.harmonize import load_models

    return select_models(
        load_models(cfg),
        settings.benchmarks,
        subset=args.subset,
        families=args.families,
        include=args.models,
        exclude=args.exclude,
        base_only=settings.base_only,
    )


def cmd_fit(args: argparse.Namespace) -> int:
    from obsscale.capabilities import fit_capabilities, sha256_of
    from obsscale.harmonize import processed_models_path

    cfg = _config(args)
    settings = _capability_settings(args, cfg)
    models = _selected_models(args, cfg, settings)
    fit = fit_capabilities(models, settings, input_sha256=sha256_of(processed_models_path(cfg)))
    out = args.out / "fit.json"
    fit.save(out)
    print(fit.summary().as_text())
    print(f"\n{fit!r}\nwrote {out}")
    return 0


def _add_selection(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("capability model")
    g.add_argument(
        "--benchmarks",
        nargs="+",
        metavar="COL",
        help="score columns forming the factor basis (default: the 8 obsscaling: ones)",
    )
    g.add_argument("--components", type=int, metavar="K", help="number of PCs (default 3)")
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


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        default=Path("data"),
        help="folder for downloads and derived tables (default: data/)",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as e:
        print(f"obsscale {args.command}: error: {e}", file=sys.stderr)
        return e.status
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as e:
        print(f"obsscale {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
