"""One small function per subcommand: settings from the arguments, one stage call, output."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsscale.cli.options import config_from_args, overrides
from obsscale.config import (
    DATA_DIR_ENV,
    CapabilityConfig,
    Config,
)
from obsscale.exceptions import CLIError, ExtrapolationWarning, ObsscaleError

if TYPE_CHECKING:
    from obsscale.model.capabilities.fit import CapabilityFit
    from obsscale.model.capabilities.rows import Selection  # pandas: not for fetch
    from obsscale.model.prediction.splits import Split


def _data_config(args: argparse.Namespace) -> Config:
    """``_config`` for a command that reads models.csv: without it, say where it was looked
    for and how to point at another data folder (a run outside the repository finds none)."""
    cfg = config_from_args(args)
    _require_data(cfg)
    return cfg


def _require_data(cfg: Config) -> None:
    path = cfg.processed_dir / "models.csv"
    if not path.exists():
        raise CLIError(
            f"no model table in the data folder {cfg.data_dir.resolve()} ({path} not found): "
            f"run `obsscale fetch` to build it there, or point at a data folder with "
            f"--data-dir DIR or ${DATA_DIR_ENV}=DIR"
        )


def _columns(cfg: Config, names: list[str] | None, what: str, prefer: Any = ()) -> Any:
    """Names of score columns given on the command line, bare benchmark names resolved."""
    if not names:
        return names
    from obsscale.cli.columns import resolve, table_columns

    columns = table_columns(cfg.processed_dir / "models.csv")
    return [resolve(n, columns, what, prefer) for n in names]


def _largest(cfg: Config) -> Any:
    from obsscale.cli.scenarios import largest_flops
    from obsscale.data.table import load_models

    return largest_flops(load_models(cfg))


def _report_columns(cfg: Config) -> list[str]:
    return [t.column for t in cfg.report.targets]


def _capability_settings(args: argparse.Namespace, cfg: Config) -> CapabilityConfig:
    return replace(cfg.capabilities, **overrides(args, CapabilityConfig))


def _selection(args: argparse.Namespace) -> Selection:
    from obsscale.model.capabilities.rows import Selection

    return Selection(
        subset=args.subset,
        families=tuple(args.families or ()),
        include=tuple(args.models or ()),
        exclude=tuple(args.exclude or ()),
        exclude_subset=getattr(args, "exclude_subset", None),
    )


def cmd_fetch(args: argparse.Namespace) -> int:
    from obsscale.data.fetch import fetch_all

    cfg = config_from_args(args)
    only = args.only or [s.name for s in cfg.sources if s.name not in cfg.exclude_sources]
    results = fetch_all(
        cfg,
        only=only,
        refresh=args.refresh,
        progress=not args.quiet,
        allow_shrink=args.allow_shrink,
    )
    for r in results:
        size = f"{r.entry.bytes:>10,d} B  sha256 {r.entry.sha256[:12]}" if r.entry else ""
        print(f"{r.status:>10}  {r.source:<20} {size}{r.error or ''}")
    failed = [r for r in results if r.status == "failed"]
    if not args.no_harmonize:
        try:
            _harmonize(cfg, skip_unchanged=True)
        except ObsscaleError as e:  # e.g. a raw file the failed fetch left out; a bug raises
            if not failed:
                raise
            print(f"harmonize skipped: {e}", file=sys.stderr)
    if failed:
        raise CLIError(_failures(failed))
    return 0


def _failures(failed: list) -> str:
    """One line per distinct cause, naming its sources (a dead mirror fails them all alike,
    with one cause per host), and what to do when a host is down."""
    by_cause: dict[str, list[str]] = {}
    for r in failed:
        by_cause.setdefault(r.cause or r.error or "unknown error", []).append(r.source)
    lines = [f"{len(failed)} source(s) failed:"]
    for cause, names in by_cause.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        lines.append(f"  {cause} ({shown})")
    if any(r.host_down for r in failed):
        lines.append(
            "  hint: an upstream host is down or refuses: retry later, or fetch from a "
            "mirror with `obsscale fetch --mirror http://HOST:PORT`"
        )
    return "\n".join(lines)


def _harmonize(cfg: Config, skip_unchanged: bool = False) -> None:
    from obsscale.data import cache

    key = cache.harmonize_key(cfg)
    record = cache.up_to_date(cfg, key) if skip_unchanged else None
    if record is None:
        from obsscale.data.harmonize import harmonize_and_write

        summary: dict[str, Any] = harmonize_and_write(cfg, key).summary()
        verb = "harmonized"
    else:
        summary = record["summary"]
        verb = "unchanged (same raw files, settings and code):"
    print(
        f"{verb} {summary['models']} models ({summary['with_flops']} with FLOPs, "
        f"{summary['families']} families) -> {cfg.processed_dir / 'models.csv'}"
    )
    findings = dict(summary["quality"])
    print(f"quality findings: {findings} -> {cfg.processed_dir / 'quality.csv'}")


def cmd_harmonize(args: argparse.Namespace) -> int:
    _harmonize(config_from_args(args))
    return 0


def _folder(path: Path, cfg: Config | None = None) -> None:
    """Refuse an output path that is an existing file, or a folder obsscale manages (the raw
    files, the processed tables), before any work is done."""
    if path.exists() and not path.is_dir():
        raise CLIError(f"--out {path} is a file; give a folder for the reports", status=2)
    out = path.resolve()
    for managed in (cfg.raw_dir, cfg.processed_dir) if cfg is not None else ():
        if out == managed.resolve() or managed.resolve() in out.parents:
            raise CLIError(
                f"--out {path} is inside {managed}, which obsscale manages; give another folder",
                status=2,
            )


def _output_file(path: Path | None, cfg: Config, *inputs: Path | None) -> None:
    """Refuse an ``--out`` file that is an input of this command or lies in the data folder
    (raw files, the manifest, the processed tables): a result never overwrites them."""
    if path is None:
        return
    out = path.resolve()
    data = cfg.data_dir.resolve()
    if out == data or data in out.parents:
        raise CLIError(
            f"--out {path} is inside the data folder {cfg.data_dir} (downloads and derived "
            "tables obsscale manages); write the result elsewhere",
            status=2,
        )
    for given in (p for p in inputs if p is not None):
        if given.exists() and out.exists() and out.samefile(given):
            raise CLIError(f"--out {path} is an input of this command; write elsewhere", status=2)
    if out.is_dir():
        raise CLIError(f"--out {path} is a folder; give a file name", status=2)


def cmd_fit(args: argparse.Namespace) -> int:
    from obsscale.io.run import load_run
    from obsscale.pipeline import FitRequest, default_targets, run_fit

    cfg = _data_config(args)
    _folder(args.out, cfg)
    request = FitRequest(
        capabilities=_capability_settings(args, cfg),
        selection=_selection(args),
        targets=()
        if args.no_targets
        else default_targets(cfg, _columns(cfg, args.target, "--target", [_report_columns(cfg)])),
    )
    run_fit(cfg, args.out, request, progress=not args.quiet)
    if args.report:  # one process start-up instead of two: 0.35 s of make fit
        return _report(cfg, args.out)
    run = load_run(args.out)
    print(run.fit.summary().as_text())
    for target, result, error in run.targets:  # one verdict per back-test
        print(f"{target.column}: {result.verdict() if result else f'not back-tested: {error}'}")
    print(f"\n{run.fit!r}\nwrote {args.out / 'fit.json'} and {args.out / 'run.json'}")
    return 0


def _split(args: argparse.Namespace) -> Split | None:
    from obsscale.model.prediction.splits import Split

    kinds = ("cutoff_flops", "cutoff_date", "leave_family_out", "kfold", "cutoff_top_fraction")
    chosen = [k for k in kinds if getattr(args, k) not in (None, False)]
    if len(chosen) > 1:
        raise CLIError(f"choose one split, got {chosen}", status=2)
    if not chosen:  # the configured FLOPs cutoff, or by date for frontier models
        return None
    kind = chosen[0]
    value = getattr(args, kind)
    if kind == "cutoff_date":
        value = value.isoformat()
    return Split.of(kind, None if kind == "leave_family_out" else value)


def cmd_predict(args: argparse.Namespace) -> int:
    from obsscale.pipeline import PredictRequest, run_predict

    cfg = config_from_args(args)
    split = _split(args)  # a usage error before a data error
    _require_data(cfg)
    target = args.target
    if not args.downstream:
        (target,) = _columns(cfg, [target], "--target", [_report_columns(cfg)])
    request = PredictRequest(
        target=target,
        capabilities=_capability_settings(args, cfg),
        predict=cfg.predict,
        selection=_selection(args),
        split=split,
        chance=cfg.report.target(target).chance if args.chance is None else args.chance,
        downstream=args.downstream,
    )
    _output_file(args.out, cfg, args.downstream, args.config)
    result = run_predict(cfg, request)
    if args.out:
        result.save(args.out)
    if args.json:
        print(result.to_json())
    else:
        print(result.summary().as_text())
        if args.out:
            print(f"wrote {args.out}")
    return 0


def capability_fit(args: argparse.Namespace) -> CapabilityFit:
    """The capability fit of the models and settings the arguments select (nothing written)."""
    from obsscale.model.capabilities.fit import fit_capabilities
    from obsscale.pipeline import selected_models

    cfg = _data_config(args)
    settings = _capability_settings(args, cfg)
    return fit_capabilities(selected_models(cfg, settings, _selection(args))[1], settings)


def cmd_select(args: argparse.Namespace) -> int:
    from obsscale.model.capabilities.fit import fit_capabilities
    from obsscale.model.design.selection import select_from_fit
    from obsscale.pipeline import selected_models

    if args.benchmarks_for is not None:
        from obsscale.cli.probe import cmd_benchmarks_for

        return cmd_benchmarks_for(args)
    if args.budget is None or args.out is not None:
        raise CLIError("give --budget K (--out goes with --benchmarks-for)", status=2)
    cfg = _data_config(args)
    settings = _capability_settings(args, cfg)
    models, chosen = selected_models(cfg, settings, _selection(args))
    result = select_from_fit(
        fit_capabilities(chosen, settings),
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
    _folder(args.out)
    return _report(_data_config(args), args.out)


def _report(cfg: Config, out: Path) -> int:
    """Render ``out/index.html`` from the artifacts there and say where it is."""
    from obsscale.pipeline import run_report

    start = time.monotonic()
    index = run_report(cfg, out)
    print(f"report written in {time.monotonic() - start:.0f} s: {index.resolve()}")
    return 0


def _forecast_targets(args: argparse.Namespace, cfg: Config) -> tuple[Any, ...]:
    """--target (bare names resolved) or the report's targets, with --chance if given."""
    from obsscale.pipeline import default_targets

    names = _columns(cfg, args.target, "--target", [_report_columns(cfg)])
    targets = default_targets(cfg, names)
    if args.chance is not None:
        targets = tuple(replace(t, chance=args.chance) for t in targets)
    return targets


def _score_groups(cfg: Config, targets: tuple[Any, ...]) -> list[Any]:
    """Where bare names of --scores columns are looked up first: the targets' own source (a
    hub target: the hub's MMLU), then the basis and its fallbacks."""
    from obsscale.cli.columns import table_columns

    sources = {t.column.split(":", 1)[0] for t in targets}
    columns = table_columns(cfg.processed_dir / "models.csv")
    own = [c for c in columns if c.split(":", 1)[0] in sources]
    return [own, cfg.capabilities.benchmarks, *cfg.capabilities.basis_fallbacks]


def _check_something_to_forecast(args: argparse.Namespace) -> None:
    planned_flags = (args.family, args.like, args.flops, args.times, args.params_b, args.tokens_t)
    if not (
        any(f is not None for f in planned_flags) or args.scores or args.at_flops or args.complete
    ):
        raise CLIError(
            "nothing to forecast: give --family/--like with --flops or --times (or --params-b "
            "and --tokens-t), --scores FILE, --at-flops C..., or --complete",
            status=2,
        )


def cmd_forecast(args: argparse.Namespace) -> int:
    from obsscale.cli.scenarios import planned_scenario, score_scenarios
    from obsscale.pipeline import ForecastRequest, run_forecast

    if args.released:
        from obsscale.cli.frontier import forecast_released

        return forecast_released(args)
    cfg = config_from_args(args)
    _check_something_to_forecast(args)
    _require_data(cfg)
    planned = planned_scenario(args, _largest(cfg) if args.times is not None else None)
    targets = _forecast_targets(args, cfg)
    basis = _score_groups(cfg, targets)

    def column(name: str) -> str:
        return _columns(cfg, [name], f"{args.scores} column", basis)[0]

    scenarios = [*([planned] if planned else []), *score_scenarios(args.scores, column)]
    request = ForecastRequest(
        capabilities=_capability_settings(args, cfg),
        targets=targets,
        scenarios=tuple(scenarios),
        at_flops=tuple(args.at_flops or ()),
        selection=_selection(args),
    )
    _output_file(args.out, cfg, args.scores, args.config)
    if args.complete:
        from obsscale.cli.complete import forecast_complete

        forecast_complete(args, cfg, request)
        if not (scenarios or args.at_flops):
            return 0
    with warnings.catch_warnings():  # the result's notes say it, on stdout: once
        warnings.simplefilter("ignore", ExtrapolationWarning)
        result = run_forecast(cfg, request)
    if args.out:
        result.save(args.out)
    if args.json:
        print(result.to_json())
    elif len(result.rows):
        print(result.summary_text())
    return 0
