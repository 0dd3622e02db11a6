"""The probe back-test: do the designed benchmarks predict a model's other scores better than
random ones, or the most common ones?

Each model of the matrix (with enough scores) is held out in turn (by seeded folds: the
completion is fitted on the other folds' models), starts with no score, and reveals K of its
observed cells: the K the design chooses among them, K random ones (the median over
``N_RANDOM`` seeded draws) or the K benchmarks most often scored in the training models. Its
remaining observed cells are predicted from the revealed ones (the factors' posterior mean,
the same predictor for every strategy) and scored by the mean absolute error in points.

Design choices (completion rank, prior, criterion) are made on a seeded half of the held-out
models (``design``) and reported on both halves; the other half (``confirmation``) never
shapes them. The completion is passed in (``fitters``: name -> function of the training
matrix), so another completer is back-tested by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from obsscale.model.design.benchmarks import (
    BenchmarkLoadings,
    ProbeCriterion,
    greedy_probes,
    posterior,
    predict,
)

BUDGETS = (1, 3, 5, 10)
N_RANDOM = 20
N_FOLDS = 10
MIN_REST = 2  # cells left to score once K are revealed
STRATEGIES = ("chosen", "random", "common")

Fitter = Callable[[pd.DataFrame], BenchmarkLoadings]


@dataclass(frozen=True)
class HeldOut:
    """One held-out model: its observed cells, their scores, the completion fitted without it
    and the benchmarks' observation counts among the training models."""

    name: str
    observed: np.ndarray
    x: np.ndarray
    model: BenchmarkLoadings
    counts: np.ndarray


def mae_points(model: BenchmarkLoadings, h: HeldOut, revealed: np.ndarray) -> float:
    """MAE (points) on the held-out model's observed cells other than ``revealed``."""
    mean, _ = posterior(model, revealed, model.to_link(h.x[revealed]))
    rest = np.setdiff1d(h.observed, revealed)
    return float(np.mean(np.abs(predict(model, mean)[rest] - h.x[rest])) * 100)


def _budgets(h: HeldOut, budgets: Sequence[int]) -> list[int]:
    """The budgets the model has cells for (``MIN_REST`` left to score)."""
    return [k for k in budgets if len(h.observed) >= k + MIN_REST]


def _baselines(h: HeldOut, budgets: Sequence[int], seed: int) -> dict[int, dict[str, float]]:
    """Per K: the MAE of K random cells (median of ``N_RANDOM`` draws), of the K most common
    benchmarks, and of none revealed."""
    common = h.observed[np.argsort(-h.counts[h.observed], kind="stable")]
    rng = np.random.default_rng(seed)
    none = mae_points(h.model, h, np.array([], int))
    out = {}
    for k in _budgets(h, budgets):
        draws = [
            mae_points(h.model, h, rng.choice(h.observed, k, replace=False))
            for _ in range(N_RANDOM)
        ]
        out[k] = {
            "random": float(np.median(draws)),
            "common": mae_points(h.model, h, common[:k]),
            "none": none,
        }
    return out


def _chosen(h: HeldOut, how: ProbeCriterion, budgets: Sequence[int]) -> dict[int, float]:
    """Per K: the MAE of the designed K (greedy: each K's set is the largest one's prefix)."""
    ks = _budgets(h, budgets)
    if not ks:
        return {}
    none = np.array([], int)
    order = np.array(greedy_probes(h.model, h.observed, max(ks), none, h.x[none], how))
    return {k: mae_points(h.model, h, order[:k]) for k in ks}


def held_out(matrix: pd.DataFrame, fit: Fitter, seed: int = 0) -> list[HeldOut]:
    """Every model of ``matrix``, each with the completion fitted on the other folds."""
    X = matrix.to_numpy(dtype=float)
    folds = np.random.default_rng(seed).permutation(len(X)) % N_FOLDS
    out = []
    for f in range(N_FOLDS):
        train = matrix.iloc[folds != f]
        model = fit(train)
        counts = train.notna().sum().to_numpy()
        for i in np.flatnonzero(folds == f):
            obs = np.flatnonzero(~np.isnan(X[i]))
            out.append(HeldOut(str(matrix.index[i]), obs, X[i], model, counts))
    return sorted(out, key=lambda h: h.name)


def halves(names: Sequence[str], seed: int = 0) -> dict[str, str]:
    """Model name -> ``design`` or ``confirmation``: a seeded half each."""
    order = np.random.default_rng(seed + 1).permutation(len(names))
    return {
        str(names[i]): "design" if r < len(names) // 2 else "confirmation"
        for r, i in enumerate(order)
    }


def _rows(
    models: Sequence[HeldOut],
    how: ProbeCriterion,
    budgets: Sequence[int],
    base: Mapping[str, dict[int, dict[str, float]]],
) -> list[dict[str, Any]]:
    """One row per model and K: the designed set's MAE beside the baselines'."""
    return [
        {"model": h.name, "budget": k, "chosen": mae, **base[h.name][k]}
        for h in models
        for k, mae in _chosen(h, how, budgets).items()
    ]


def _pool_baselines(
    pool: Sequence[HeldOut], budgets: Sequence[int], seed: int
) -> dict[str, dict[int, dict[str, float]]]:
    return {h.name: _baselines(h, budgets, seed + i) for i, h in enumerate(pool)}


def aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    """Per half and K: models, mean MAE per strategy, and how often the chosen set beats the
    random median on a model."""
    g = rows.assign(win=rows["chosen"] < rows["random"]).groupby(["half", "budget"], sort=False)
    table = g[["chosen", "random", "common", "none"]].mean()
    table.insert(0, "models", g.size())
    table["beats_random_share"] = g["win"].mean()
    return table.reset_index()


@dataclass(frozen=True)
class Candidate:
    """One design choice: a completion (by name) and a criterion."""

    fitter: str
    how: ProbeCriterion

    @property
    def label(self) -> str:
        crit = self.how.criterion.value.upper()
        if crit == "V":
            crit += "-points" if self.how.points else "-logit"
            crit += "-rest" if self.how.rest else "-all"
        return f"{self.fitter}, {crit}"


def probe_backtest(
    matrix: pd.DataFrame,
    fitters: Mapping[str, Fitter],
    criteria: Sequence[ProbeCriterion],
    budgets: Sequence[int] = BUDGETS,
    seed: int = 0,
) -> dict[str, Any]:
    """Every (fitter, criterion) on the design half, scored by the chosen sets' mean MAE over
    the budgets; the best one on both halves (the table), with the whole grid."""
    split = halves(list(matrix.index), seed)
    design_rows: dict[Candidate, pd.DataFrame] = {}
    pools = {name: held_out(matrix, fit, seed) for name, fit in fitters.items()}
    bases = {name: _pool_baselines(pool, budgets, seed) for name, pool in pools.items()}
    grid = []
    for name, pool in pools.items():
        design = [h for h in pool if split[h.name] == "design"]
        for how in criteria:
            cand = Candidate(name, how)
            rows = pd.DataFrame(_rows(design, how, budgets, bases[name])).assign(half="design")
            design_rows[cand] = rows
            agg = aggregate(rows)
            grid.append(
                {"choice": cand.label, "design_mae": float(agg["chosen"].mean())}
                | {f"k{int(r.budget)}": float(r.chosen) for r in agg.itertuples()}
            )
    best = min(design_rows, key=lambda c: float(aggregate(design_rows[c])["chosen"].mean()))
    confirm = [h for h in pools[best.fitter] if split[h.name] == "confirmation"]
    rows = pd.concat(
        [
            design_rows[best],
            pd.DataFrame(_rows(confirm, best.how, budgets, bases[best.fitter])).assign(
                half="confirmation"
            ),
        ]
    )
    return {
        "models": len(matrix),
        "benchmarks": int(matrix.shape[1]),
        "n_random": N_RANDOM,
        "folds": N_FOLDS,
        "choice": best.label,
        "grid": grid,
        "table": aggregate(rows).to_dict(orient="records"),
    }


def backtest_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """The back-test table (half, budget, models, mean MAE per strategy, beats-random share)
    of a ``probe_backtest`` result or its JSON: what the report's frontier section shows."""
    return pd.DataFrame(result["table"])
