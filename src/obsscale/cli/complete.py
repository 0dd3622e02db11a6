"""``obsscale complete FILE.csv``: fill a user's score matrix; and ``forecast --complete``,
the same engine on the model table.

Output by ``--out``'s extension: ``.csv`` the filled matrix in the input's shape (row and
column order, units; observed cells as written), ``.json`` every cell with its interval;
``--cells FILE.csv`` one row per cell. A readable table on stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obsscale.exceptions import CLIError

if TYPE_CHECKING:
    import pandas as pd

    from obsscale.config import Config
    from obsscale.model.completion.complete import CompletionResult
    from obsscale.model.completion.wide import WideTable

EXTENSIONS = (".csv", ".json")


def add_parser(sub: argparse._SubParsersAction, common: Any) -> None:
    """The ``complete`` subcommand (``common``: the options every subcommand takes)."""
    from obsscale.cli.options import value_type

    p = sub.add_parser(
        "complete", help="fill the missing cells of a models x benchmarks CSV, with intervals"
    )
    common(p)
    p.add_argument("file", type=Path, help="wide CSV: first column the model id, then scores")
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="the filled matrix (.csv) or cells (.json)"
    )
    p.add_argument("--cells", type=Path, metavar="FILE", help="one row per cell (CSV)")
    p.add_argument(
        "--scale",
        nargs="+",
        default=[],
        metavar="COL=UNIT",
        help="a column's unit: fraction, percent or elo (default: detected from its values)",
    )
    p.add_argument(
        "--interval", type=value_type(float, gt=0, lt=1), default=0.9, help="interval level"
    )
    p.add_argument("--seed", type=value_type(int, ge=0), default=0, help="random seed")
    p.set_defaults(func=cmd_complete)


def declared_scales(items: list[str]) -> dict[str, str]:
    from obsscale.model.completion.scales import SCALES

    out = {}
    for item in items:
        col, sep, unit = item.rpartition("=")
        if not sep or not col or unit not in SCALES:
            raise CLIError(
                f"--scale {item!r}: expected COL=UNIT with UNIT one of {', '.join(SCALES)}",
                status=2,
            )
        out[col] = unit
    return out


def _check_outputs(args: argparse.Namespace, inputs: tuple[Path, ...]) -> None:
    """Each output a .csv or .json file (cells: .csv) that is none of the inputs."""
    for flag, path, allowed in (
        ("--out", args.out, EXTENSIONS),
        ("--cells", args.cells, (".csv",)),
    ):
        if path is None:
            continue
        if path.suffix.lower() not in allowed:
            raise CLIError(f"{flag} {path}: expected a {' or '.join(allowed)} file", status=2)
        if any(path.resolve() == i.resolve() for i in inputs):
            raise CLIError(f"{flag} {path} is an input of this command; write elsewhere", status=2)


def cmd_complete(args: argparse.Namespace) -> int:
    from obsscale.model.completion.complete import complete
    from obsscale.model.completion.wide import read_wide

    _check_outputs(args, (args.file,))
    if not args.file.exists():
        raise CLIError(f"{args.file}: no such file")
    table = read_wide(args.file)
    scales = table.scales(declared_scales(args.scale))
    result = complete(table.values, scales, level=args.interval, random_state=args.seed)
    print(result.summary())
    write_outputs(result, args.out, args.cells, table)
    return 0


def write_outputs(
    result: CompletionResult, out: Path | None, cells: Path | None, table: WideTable | None = None
) -> None:
    """``out`` by its extension and ``cells``, each built first, then written whole."""
    from obsscale.data import store
    from obsscale.model.completion.wide import cells_frame, filled_rows, write_rows

    cell_rows = cells_frame(result) if cells is not None else None
    if out is not None and out.suffix.lower() == ".json":
        store.write_text(out, result.to_json())
    elif out is not None and table is not None:
        write_rows(out, filled_rows(table, result))
    elif out is not None:
        store.write_csv(out, result.values.reset_index())
    if cells is not None and cell_rows is not None:
        store.write_csv(cells, cell_rows)
    written = [str(p) for p in (out, cells) if p is not None]
    if written:
        print("wrote " + ", ".join(written))


def table_columns(models: pd.DataFrame, asked: list[str] | None) -> list[str]:
    """The score columns ``forecast --complete`` fills: those asked for (basis and targets),
    else every score column with two distinct scores among the selected models."""
    if asked:
        return list(dict.fromkeys(asked))
    cols = [c for c in models.columns if ":" in c]
    return [c for c in cols if models[c].nunique() >= 2]


def forecast_complete(args: argparse.Namespace, cfg: Config, request: Any) -> None:
    """``forecast --complete``: the selected models' score columns asked for (basis and
    --target), else every one, completed; --out then holds the completion (CSV or JSON)."""
    from obsscale.model.completion.complete import complete
    from obsscale.pipeline import selected_models

    if args.out and (request.scenarios or request.at_flops):
        raise CLIError(
            "--out with --complete holds the completion: forecast the scenarios separately",
            status=2,
        )
    _check_outputs(argparse.Namespace(out=args.out, cells=None), ())
    caps = request.capabilities
    asked = [*caps.benchmarks, *(t.column for t in request.targets)] if args.target else None
    _, chosen = selected_models(cfg, caps, request.selection)
    frame = chosen.set_index("model")[table_columns(chosen, asked)]
    frame = frame[frame.notna().any(axis=1)]
    result = complete(frame, level=cfg.predict.interval, random_state=cfg.predict.random_state)
    print(result.summary())
    write_outputs(result, args.out, None)
