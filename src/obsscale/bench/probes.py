"""The probe-set back-test on the hub matrix (``obsscale bench --only probes``): the benchmarks
the design chooses for a held-out model against K random ones and the K most common, K = 1,
3, 5, 10 (``model.design.probe_backtest``); design choices on one half of the models, the
table on both."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.model.capabilities.imputation import PCAImputer
from obsscale.model.completion.hub_matrix import PREFIX, fit_imputer, hub_matrix
from obsscale.model.completion.loadings import LinearGaussianCompletion, from_imputer, to_logit
from obsscale.model.design.benchmarks import ProbeCriterion
from obsscale.model.design.probe_backtest import probe_backtest
from obsscale.model.design.selection import Criterion

RANKS = (1, 2, 3)
PRIOR_SCALES = (0.5, 1.0)
NOISE_PSEUDO = (0, 10)
CRITERIA = (
    ProbeCriterion(Criterion.V, points=True, rest=True),
    ProbeCriterion(Criterion.V, points=True, rest=False),
    ProbeCriterion(Criterion.V, points=False, rest=True),
    ProbeCriterion(Criterion.D),
)


class _Imputers:
    """Each training matrix's logit PCA fitted once per rank, shared by the prior and noise
    choices (which only read it): the fits are most of the back-test's time."""

    def __init__(self) -> None:
        self.fits: dict[tuple[int, tuple[str, ...]], tuple[PCAImputer, np.ndarray]] = {}

    def completion(
        self, matrix: pd.DataFrame, rank: int, prior_scale: float, noise_pseudo: float
    ) -> LinearGaussianCompletion:
        key = (rank, tuple(str(m) for m in matrix.index))
        if key not in self.fits:
            Z = to_logit(matrix.to_numpy(dtype=float))
            self.fits[key] = (fit_imputer(Z, rank, clip=None), Z)
        imp, Z = self.fits[key]
        names = [str(c) for c in matrix.columns]
        return from_imputer(imp, Z, names, prior_scale, noise_pseudo)


def fitters() -> dict[str, Any]:
    """The completions the design half chooses among: rank x prior scale x noise shrinkage."""
    cache = _Imputers()
    return {
        f"rank-{r} logit PCA, prior x{s:g}, noise +{n}": partial(
            cache.completion, rank=r, prior_scale=s, noise_pseudo=n
        )
        for r in RANKS
        for s in PRIOR_SCALES
        for n in NOISE_PSEUDO
    }


def run_probes(models: pd.DataFrame) -> dict[str, Any]:
    """The back-test (empty when the hub was not fetched), with its time."""
    if not any(c.startswith(PREFIX) for c in models.columns):
        return {"skipped": "no epoch_hub: columns (fetch the Epoch hub sources)"}
    start = time.perf_counter()
    result = probe_backtest(hub_matrix(models), fitters(), CRITERIA)
    return result | {"seconds": time.perf_counter() - start}


def probes_markdown(result: dict[str, Any]) -> str:
    """The back-test table (both halves) and the design half's choice, as Markdown."""
    if "skipped" in result:
        return f"\n## Which benchmarks to run next\n\nskipped: {result['skipped']}\n"
    lines = [
        "\n## Which benchmarks to run next (probe back-test)\n",
        f"Hub matrix {result['models']} models x {result['benchmarks']} benchmarks; each model "
        f"held out ({result['folds']} seeded folds), K of its cells revealed; MAE in points "
        f"on its other cells, mean over models (random: median of {result['n_random']} "
        f"draws per model). Chosen on the design half: {result['choice']}.\n",
        "| half | K | models | designed | random | most common | none | designed < random |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["table"]:
        lines.append(
            f"| {r['half']} | {r['budget']} | {r['models']} | {r['chosen']:.2f} | "
            f"{r['random']:.2f} | {r['common']:.2f} | {r['none']:.2f} | "
            f"{r['beats_random_share']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def run_probes_bench(models: pd.DataFrame, out: Path) -> str:
    """``obsscale bench --only probes``: ``OUT/probes.json`` and its Markdown."""
    result = run_probes(models)
    store.write_json(out / "probes.json", result)
    md = "# obsscale probe bench\n" + probes_markdown(result)
    store.write_text(out / "probes.md", md)
    return md
