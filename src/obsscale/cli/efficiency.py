"""``obsscale efficiency``: which family is most compute-efficient, with the significance of
its lead (``model.capabilities.ranking``), from a capability fit of the selected models."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_parser(
    sub: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
    selection: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The ``efficiency`` subcommand (``common``: every subcommand's options; ``selection``:
    the capability model's and the models' options, as ``fit`` takes them)."""
    p = sub.add_parser(
        "efficiency",
        help="which family is most compute-efficient (PC-1 at fixed compute vs the reference)",
    )
    common(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    selection(p)
    p.set_defaults(func=cmd_efficiency)


def cmd_efficiency(args: argparse.Namespace) -> int:
    from obsscale.cli.commands import capability_fit
    from obsscale.model.capabilities.ranking import rank_efficiency

    ranking = rank_efficiency(capability_fit(args))
    print(ranking.to_json() if args.json else ranking.summary_text())
    return 0
