"""``obsscale select --benchmarks-for MODEL|new [--budget K] [--out FILE.csv|.json]``: the
benchmarks of the hub matrix to run next for a model, so that the completion of the rest is
most precise (``model.design.benchmarks``, on the logit PCA completion's loadings)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from obsscale.cli.options import config_from_args
from obsscale.exceptions import CLIError, SelectionError

if TYPE_CHECKING:
    import pandas as pd

    from obsscale.model.design.benchmarks import ProbeResult

NEW = "new"  # --benchmarks-for new: a model with no scores yet
DEFAULT_BUDGET = 3
# chosen on the design half of the probe back-test (bench/probes.py): rank 1, prior x1,
# noise shrunk by 10 pseudo-cells, V-optimal in points over the rest
RANK, PRIOR_SCALE, NOISE_PSEUDO = 1, 1.0, 10.0


def add_options(p: argparse.ArgumentParser) -> None:
    """``select``'s options for this mode (``--budget`` is shared with the models' mode)."""
    p.add_argument(
        "--benchmarks-for",
        metavar="MODEL",
        help="instead: the K hub benchmarks to run next for MODEL (a models.csv id, or 'new' "
        "for a model with no score) so that its other scores are completed most precisely",
    )
    p.add_argument(
        "--out", type=Path, metavar="FILE", help="with --benchmarks-for: write them (.csv, .json)"
    )


def model_scores(models: pd.DataFrame, model_id: str) -> tuple[str, pd.Series]:
    """The model's id as models.csv spells it (exactly, else case-insensitively) and its hub
    scores (fractions, NaN = none); ``new``: no score. An unknown id is refused, naming it."""
    import numpy as np
    import pandas as pd

    from obsscale.model.completion.hub_matrix import hub_columns

    columns = hub_columns(models)
    if model_id.lower() == NEW:
        return "a new model", pd.Series(np.nan, index=columns, dtype=float)
    ids = models["model"].astype(str)
    hit = models[ids == model_id]
    if hit.empty:
        hit = models[ids.str.lower() == model_id.lower()]
    if hit.empty:
        raise SelectionError(f"unknown model id {model_id!r}: not in models.csv")
    row = hit.iloc[0]
    return str(row["model"]), pd.to_numeric(row[columns], errors="coerce").astype(float)


def benchmarks_for(models: pd.DataFrame, model_id: str, budget: int) -> ProbeResult:
    """The design for ``model_id`` (or ``new``), the completion fitted on every other model
    of the hub matrix."""
    from obsscale.model.completion.hub_matrix import hub_matrix
    from obsscale.model.completion.loadings import pca_completion
    from obsscale.model.design.benchmarks import select_benchmarks

    label, scores = model_scores(models, model_id)
    rest = hub_matrix(models).drop(index=label, errors="ignore")
    if rest.shape[0] < 3 or rest.shape[1] == 0:
        raise SelectionError(
            "models.csv has no Epoch hub matrix to complete (fetch the Epoch hub sources)"
        )
    return select_benchmarks(
        pca_completion(rest, RANK, PRIOR_SCALE, NOISE_PSEUDO),
        scores,
        budget=budget,
        label=label,
        counts=rest.notna().sum().to_numpy(),
        completion=f"rank-{RANK} logit PCA of the hub matrix ({len(rest)} other models)",
    )


def cmd_benchmarks_for(args: argparse.Namespace) -> int:
    """Print the chosen benchmarks (table or JSON); ``--out`` writes them as CSV or JSON."""
    from obsscale.data import store

    out = args.out
    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise CLIError(f"--out {out}: give a .csv or .json file name", status=2)
    from obsscale.data.table import load_models

    cfg = config_from_args(args)
    if out is not None and cfg.data_dir.resolve() in out.resolve().parents:
        raise CLIError(f"--out {out} is inside the data folder {cfg.data_dir}", status=2)
    models = load_models(cfg)
    result = benchmarks_for(models, args.benchmarks_for, args.budget or DEFAULT_BUDGET)
    if out is not None and out.suffix.lower() == ".csv":
        store.write_csv(out, result.chosen)
    elif out is not None:
        store.write_json(out, result.to_dict())
    print(result.to_json() if args.json else result.summary().as_text())
    if out is not None and not args.json:
        print(f"wrote {out}")
    return 0
