"""Which models to evaluate: optimal-design selection of a small subset (``obsscale select``).

A user with a new benchmark can afford to evaluate a few models. The scaling law is a
regression on the capability factors, so the subset should make that regression precise where
predictions are wanted (V-optimality: the average prediction variance over a target set, as in
the paper's Sec. 5) or precise overall (D-optimality: max det XᵀX). Design rows are
``[1, PC-1, ..., PC-k]``. Selection is greedy (rank-one updates, vectorised over candidates)
followed by exchange refinement (swap a chosen model for an unchosen one while the criterion
improves); ties go to the earlier candidate, so it is deterministic. A tiny ridge keeps XᵀX
invertible while fewer models than parameters are chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.exceptions import SelectionError

if TYPE_CHECKING:
    from statsmodels.iolib.summary2 import Summary


class Criterion(StrEnum):
    """V-optimality: mean prediction variance over the target set (lower is better);
    D-optimality: log det of the information matrix (higher is better)."""

    V = "v"
    D = "d"


def design_matrix(factors: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(factors)), np.asarray(factors, dtype=float)])


def criterion_value(X_sel: np.ndarray, criterion: str, M: np.ndarray, ridge: float) -> float:
    """V: mean prediction variance trace(M A⁻¹) (lower is better); D: log det A (higher)."""
    A = X_sel.T @ X_sel + ridge * np.eye(X_sel.shape[1])
    if Criterion(criterion) is Criterion.D:
        return float(np.linalg.slogdet(A)[1])
    return float(np.trace(M @ np.linalg.inv(A)))


@dataclass(frozen=True)
class Design:
    """A selection problem: the design matrix ``[1, factors]``, the criterion, the target
    moment matrix ``M`` (V-optimality) and a tiny ridge that keeps partial designs invertible."""

    X: np.ndarray
    criterion: Criterion
    M: np.ndarray
    ridge: float

    def value(self, rows: list[int]) -> float:
        return criterion_value(self.X[rows], self.criterion, self.M, self.ridge)

    def better(self, new: float, old: float) -> bool:
        tol = 1e-12 * max(1.0, abs(old))
        return new > old + tol if self.criterion is Criterion.D else new < old - tol


@dataclass(frozen=True)
class TargetSet:
    """Rows whose prediction variance V-optimality averages (``None``: all rows)."""

    mask: pd.Series | None = None
    label: str = "all models"


@dataclass(frozen=True)
class Search:
    """Exchange restarts from seeded random designs, besides the greedy one."""

    restarts: int = 10
    random_state: int = 0


def greedy(design: Design, candidates: np.ndarray, budget: int, start: list[int]) -> list[int]:
    """Add, one at a time, the candidate that improves the criterion most (rank-one update)."""
    X, chosen = design.X, list(start)
    Ainv = np.linalg.inv(X[chosen].T @ X[chosen] + design.ridge * np.eye(X.shape[1]))
    pool = [int(c) for c in candidates if c not in set(chosen)]
    while len(chosen) < budget:
        Xc = X[pool]
        U = Xc @ Ainv  # rows: A⁻¹x
        lev = np.einsum("ij,ij->i", U, Xc)  # xᵀA⁻¹x
        # D: log det grows by log(1 + xᵀA⁻¹x); V: trace(M A⁻¹) falls by xᵀA⁻¹MA⁻¹x / (1 + lev)
        if design.criterion is Criterion.D:
            gain = np.log1p(lev)
        else:
            gain = np.einsum("ij,jk,ik->i", U, design.M, U) / (1 + lev)
        best = int(np.argmax(gain))  # first of equals: deterministic
        x = X[pool[best]]
        u = Ainv @ x
        Ainv = Ainv - np.outer(u, u) / (1 + x @ u)
        chosen.append(pool.pop(best))
    return chosen


def exchange(
    design: Design,
    candidates: np.ndarray,
    chosen: list[int],
    fixed: set[int],
    max_passes: int = 20,
) -> list[int]:
    """Swap chosen (non-required) models for unchosen candidates while the criterion improves."""
    chosen = list(chosen)
    value = design.value(chosen)
    for _ in range(max_passes):
        improved = False
        for pos in range(len(chosen)):
            if chosen[pos] in fixed:
                continue
            for c in (int(c) for c in candidates if int(c) not in chosen):
                trial = chosen.copy()
                trial[pos] = c
                v = design.value(trial)
                if design.better(v, value):
                    chosen, value, improved = trial, v, True
        if not improved:
            break
    return chosen


def _refine(
    design: Design, cand: np.ndarray, budget: int, start: list[int], search: Search
) -> list[int]:
    """Exchange from the greedy design and from ``restarts`` seeded random designs (exchange
    is a local search); the best end point wins, the greedy one on ties."""
    rng = np.random.default_rng(search.random_state)
    free = np.array([c for c in cand if c not in set(start)])
    starts = [greedy(design, cand, budget, start)]
    for _ in range(search.restarts):
        starts.append([*start, *rng.choice(free, size=budget - len(start), replace=False)])
    best, best_value = starts[0], math.inf
    for i, s in enumerate(starts):
        done = exchange(design, cand, [int(j) for j in s], set(start))
        value = design.value(done)
        if i == 0 or design.better(value, best_value):
            best, best_value = done, value
    return best


@dataclass
class SelectionResult:
    """The chosen models in order of value, with the criterion as each is added."""

    criterion: str
    budget: int
    target_set: str
    n_candidates: int
    chosen: pd.DataFrame  # order, model, family, params_b, flops, criterion
    random_median: float | None = None

    def summary(self) -> Summary:
        from statsmodels.iolib.summary2 import Summary  # only for summaries: 0.1 s

        s = Summary()
        name = (
            "V-optimal (mean prediction variance, lower is better)"
            if self.criterion == "v"
            else "D-optimal (log det XᵀX, higher is better)"
        )
        s.add_title(f"Models to evaluate: {self.budget} of {self.n_candidates} candidates")
        s.add_dict({"Criterion": name, "Target set": self.target_set}, ncols=1)
        shown = self.chosen.set_index("order").astype(object)
        for col in ("flops", "criterion"):
            if col in shown:
                shown[col] = [
                    f"{v:.3g}" if isinstance(v, float) and np.isfinite(v) else "-"
                    for v in self.chosen[col]
                ]
        s.add_df(shown)
        return s

    def to_dict(self) -> dict[str, Any]:
        return store.jsonable(
            {
                "criterion": self.criterion,
                "budget": self.budget,
                "target_set": self.target_set,
                "n_candidates": self.n_candidates,
                "chosen": self.chosen,
            }
        )

    def to_json(self) -> str:
        return store.dumps(self.to_dict())

    def __repr__(self) -> str:
        return (
            f"<SelectionResult {self.criterion.upper()}-optimal: {self.budget} of "
            f"{self.n_candidates} candidates>"
        )


def select_subset(
    table: pd.DataFrame,
    factors: list[str],
    *,
    budget: int,
    criterion: str = "v",
    candidates: pd.Series | None = None,
    include: list[str] | None = None,
    targets: TargetSet | None = None,
    search: Search | None = None,
) -> SelectionResult:
    """Choose ``budget`` rows of ``table`` (which holds ``model`` and the factor columns).

    ``candidates``: boolean mask of rows that may be chosen (default all); ``targets``: the
    rows whose prediction variance V-optimality averages (default all rows).
    """
    try:
        crit = Criterion(criterion)
    except ValueError:
        raise SelectionError(f"criterion must be 'v' or 'd', got {criterion!r}") from None
    targets = targets or TargetSet()
    X = design_matrix(table[factors].to_numpy())
    if not np.isfinite(X).all():
        raise SelectionError("factor scores contain missing values")
    cand_mask = np.ones(len(table), bool) if candidates is None else candidates.to_numpy(bool)
    cand = np.flatnonzero(cand_mask)
    _check_budget(budget, X.shape[1], len(factors), len(cand))
    start = _required(table, include or [], cand_mask, budget)
    tmask = np.ones(len(table), bool) if targets.mask is None else targets.mask.to_numpy(bool)
    if not tmask.any():
        raise SelectionError("the target set is empty")
    M = X[tmask].T @ X[tmask] / tmask.sum()
    design = Design(X, crit, M, 1e-8 * np.trace(X[cand].T @ X[cand]) / X.shape[1])
    chosen = _refine(design, cand, budget, start, search or Search())
    order = greedy(design, np.array(chosen), budget, start)  # value order
    return SelectionResult(
        crit.value, budget, targets.label, len(cand), _chosen_table(table, design, order)
    )


def _check_budget(budget: int, p: int, n_factors: int, n_candidates: int) -> None:
    if budget < p:
        raise SelectionError(
            f"budget {budget} is smaller than the {p} parameters of the "
            f"regression on {n_factors} factors (+ intercept)"
        )
    if budget > n_candidates:
        raise SelectionError(f"budget {budget} exceeds the {n_candidates} candidate models")


def _required(
    table: pd.DataFrame, include: list[str], cand_mask: np.ndarray, budget: int
) -> list[int]:
    """Row numbers of the models that must be chosen, each checked."""
    ids = table["model"].str.lower().to_numpy()
    required = []
    for m in include:
        hit = np.flatnonzero(ids == m.lower())
        if hit.size == 0:
            raise SelectionError(f"required model {m!r} has no capability factors (not in the fit)")
        if not cand_mask[hit[0]]:
            raise SelectionError(f"required model {m!r} is excluded by the constraints")
        required.append(int(hit[0]))
    if len(set(required)) > budget:
        raise SelectionError(f"{len(set(required))} required models exceed the budget {budget}")
    return list(dict.fromkeys(required))


def _chosen_table(table: pd.DataFrame, design: Design, order: list[int]) -> pd.DataFrame:
    """The chosen models in order of value, with the criterion after each addition."""
    p = design.X.shape[1]
    values = [design.value(order[: i + 1]) for i in range(len(order))]
    cols = [c for c in ("model", "family", "params_b", "flops") if c in table.columns]
    chosen = table.iloc[order][cols].reset_index(drop=True)
    chosen.insert(0, "order", np.arange(1, len(order) + 1))
    # before p models the design is singular: the (ridge-regularised) value is not meaningful
    chosen["criterion"] = [v if i + 1 >= p else math.nan for i, v in enumerate(values)]
    return chosen


def select_from_fit(
    fit: Any,
    models: pd.DataFrame,
    *,
    budget: int,
    criterion: str = "v",
    max_params_b: float | None = None,
    max_flops: float | None = None,
    include: list[str] | None = None,
    target_set: str = "all",
) -> SelectionResult:
    """Selection among the models of a ``CapabilityFit``: candidates under the size limits,
    V-optimality averaged over all models or the most capable quarter (``largest``)."""
    table = fit.models.merge(models[["model", "params_b"]], on="model", how="left")
    cand = pd.Series(True, index=table.index)
    if max_params_b is not None:
        cand &= table["params_b"] <= max_params_b
    if max_flops is not None:
        cand &= table["flops"] <= max_flops
    if target_set == "all":
        targets = TargetSet(None, "all models of the fit")
    elif target_set == "largest":
        pc1 = table["PC-1"]
        targets = TargetSet(pc1 >= pc1.quantile(0.75), "the most capable quarter of models (PC-1)")
    else:
        raise SelectionError(f"target set must be 'all' or 'largest', got {target_set!r}")
    return select_subset(
        table,
        fit.components,
        budget=budget,
        criterion=criterion,
        candidates=cand,
        include=include,
        targets=targets,
    )
