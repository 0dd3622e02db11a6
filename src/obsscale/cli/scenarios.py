"""Forecast scenarios from the command line: a planned model from its flags, evaluated models
from a scores file (read with the same checks as a downstream file)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.data.table import first_bad_id
from obsscale.exceptions import PredictError
from obsscale.model.forecast.forecast import Scenario


def planned_scenario(
    args: argparse.Namespace, largest: Callable[[str], float] | None = None
) -> Scenario | None:
    """The planned model the flags describe (FLOPs = 6·N·D from --params-b and --tokens-t, or
    --times N times the largest FLOPs of the family, ``largest(family)``)."""
    sizes = args.params_b is not None or args.tokens_t is not None
    given = [f for f, v in (("--flops", args.flops), ("--times", args.times)) if v is not None]
    if not given and not sizes:
        if args.family or args.like:
            raise PredictError(
                "a planned model needs --flops C, --times N, or --params-b N --tokens-t D"
            )
        return None
    if len(given) + sizes > 1:
        raise PredictError("give one of --flops, --times, or --params-b with --tokens-t")
    if sizes and (args.params_b is None or args.tokens_t is None):
        raise PredictError("--params-b and --tokens-t go together (FLOPs = 6 x N x D)")
    flops = args.flops or (6 * args.params_b * 1e9 * args.tokens_t * 1e12 if sizes else None)
    who = args.family or (f"like {args.like}" if args.like else "a new family")
    if args.times is not None:
        if not (args.family or args.like) or largest is None:
            raise PredictError("--times N needs --family F (or --like F): N x its largest model")
        flops = args.times * largest(args.family or args.like)
        who = f"{args.family or args.like} x{args.times:g}"
    name = args.name or f"{who} at {flops:.3g} FLOPs"
    return Scenario(name, family=args.family, flops=flops, like=args.like)


def largest_flops(models: pd.DataFrame) -> Callable[[str], float]:
    """The training FLOPs of a family's largest model in the table (for --times)."""

    def largest(family: str) -> float:
        flops = models.loc[models["family"] == family, "flops"].max()
        if not np.isfinite(flops):
            raise PredictError(f"family {family!r} has no model of known FLOPs in models.csv")
        return float(flops)

    return largest


def score_scenarios(path: Path | None, column: Callable[[str], str] = str) -> list[Scenario]:
    """One scenario per row of a scores CSV (``Model`` + score columns as fractions; each
    header read as the column ``column`` names, e.g. ``MMLU`` as ``obsscaling:MMLU``)."""
    if path is None:
        return []
    try:
        frame = pd.read_csv(path, dtype={"Model": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise PredictError(f"{path}: cannot read CSV ({e})") from e
    if "Model" not in frame.columns:
        raise PredictError(f"{path}: needs a 'Model' column; columns are {list(frame.columns)}")
    bad = first_bad_id(frame["Model"])
    if bad and bad[0] == "missing":
        raise PredictError(f"{path}: row {bad[1] + 2}: no Model")
    if bad:
        i = bad[1]
        raise PredictError(
            f"{path}: row {i + 2}: model {frame['Model'].iloc[i]!r} appears twice (two "
            "forecasts under one name); give each model one row"
        )
    cols = [c for c in frame.columns if c != "Model"]
    if not cols:
        raise PredictError(f"{path}: no score columns besides 'Model'")
    names = {c: column(c) for c in cols}
    frame, cols = frame.rename(columns=names), list(names.values())
    values = frame[cols].apply(pd.to_numeric, errors="coerce")
    bad = frame[cols].notna() & values.isna()
    if bad.any().any():
        i, j = np.argwhere(bad.to_numpy())[0]
        raise PredictError(f"{path}: row {i + 2}, column {cols[j]!r} is not a number")
    out_of_range = values.notna() & ((values < 0) | (values > 1))
    if out_of_range.any().any():
        i, j = np.argwhere(out_of_range.to_numpy())[0]
        raise PredictError(
            f"{path}: row {i + 2}, column {cols[j]!r} = {values.iat[i, j]:g}: scores must be "
            "fractions in [0, 1] (divide percentages by 100)"
        )
    return [
        Scenario(str(name), scores=tuple((c, float(v)) for c, v in row.dropna().items()))
        for name, (_, row) in zip(frame["Model"], values.iterrows(), strict=True)
    ]
