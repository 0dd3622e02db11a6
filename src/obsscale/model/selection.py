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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.exceptions import SelectionError

if TYPE_CHECKING:
    from statsmodels.iolib.summary2 import Summary

CRITERIA = ("v", "d")


def design_matrix(factors: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(factors)), np.asarray(factors, dtype=float)])


def criterion_value(X_sel: np.ndarray, criterion: str, M: np.ndarray, ridge: float) -> float:
    """V: mean prediction variance trace(M A⁻¹) (lower is better); D: log det A (higher)."""
    A = X_sel.T @ X_sel + ridge * np.eye(X_sel.shape[1])
    if criterion == "d":
        return float(np.linalg.slogdet(A)[1])
    return float(np.trace(M @ np.linalg.inv(A)))


def _better(criterion: str, new: float, old: float) -> bool:
    return (
        new > old + 1e-12 * max(1.0, abs(old))
        if criterion == "d"
        else new < old - 1e-12 * max(1.0, abs(old))
    )


def greedy(
    X: np.ndarray,
    candidates: np.ndarray,
    budget: int,
    criterion: str,
    M: np.ndarray,
    ridge: float,
    start: list[int],
) -> list[int]:
    """Add, one at a time, the candidate that improves the criterion most (rank-one update)."""
    chosen = list(start)
    A = X[chosen].T @ X[chosen] + ridge * np.eye(X.shape[1])
    Ainv = np.linalg.inv(A)
    pool = [int(c) for c in candidates if c not in set(chosen)]
    while len(chosen) < budget:
        Xc = X[pool]
        U = Xc @ Ainv  # rows: A⁻¹x
        lev = np.einsum("ij,ij->i", U, Xc)  # xᵀA⁻¹x
        # D: log det grows by log(1 + xᵀA⁻¹x); V: trace(M A⁻¹) falls by xᵀA⁻¹MA⁻¹x / (1 + lev)
        gain = np.log1p(lev) if criterion == "d" else np.einsum("ij,jk,ik->i", U, M, U) / (1 + lev)
        best = int(np.argmax(gain))  # first of equals: deterministic
        x = X[pool[best]]
        u = Ainv @ x
        Ainv = Ainv - np.outer(u, u) / (1 + x @ u)
        chosen.append(pool.pop(best))
    return chosen


def exchange(
    X: np.ndarray,
    candidates: np.ndarray,
    chosen: list[int],
    fixed: set[int],
    criterion: str,
    M: np.ndarray,
    ridge: float,
    max_passes: int = 20,
) -> list[int]:
    """Swap chosen (non-required) models for unchosen candidates while the criterion improves."""
    chosen = list(chosen)
    value = criterion_value(X[chosen], criterion, M, ridge)
    for _ in range(max_passes):
        improved = False
        for pos in range(len(chosen)):
            if chosen[pos] in fixed:
                continue
            for c in candidates:
                c = int(c)
                if c in chosen:
                    continue
                trial = chosen.copy()
                trial[pos] = c
                v = criterion_value(X[trial], criterion, M, ridge)
                if _better(criterion, v, value):
                    chosen, value, improved = trial, v, True
        if not improved:
            break
    return chosen


def _refine(X, cand, budget, criterion, M, ridge, start, restarts, random_state=0) -> list[int]:
    """Exchange from the greedy design and from ``restarts`` seeded random designs (exchange
    is a local search); the best end point wins, the greedy one on ties."""
    rng = np.random.default_rng(random_state)
    free = np.array([c for c in cand if c not in set(start)])
    starts = [greedy(X, cand, budget, criterion, M, ridge, start)]
    for _ in range(restarts):
        starts.append([*start, *rng.choice(free, size=budget - len(start), replace=False)])
    best, best_value = None, None
    for s in starts:
        done = exchange(X, cand, [int(i) for i in s], set(start), criterion, M, ridge)
        value = criterion_value(X[done], criterion, M, ridge)
        if best is None or _better(criterion, value, best_value):
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
    targets: pd.Series | None = None,
    target_set: str = "all models",
    restarts: int = 10,
    random_state: int = 0,
) -> SelectionResult:
    """Choose ``budget`` rows of ``table`` (which holds ``model`` and the factor columns).

    ``candidates``: boolean mask of rows that may be chosen (default all); ``targets``: mask
    of rows whose prediction variance V-optimality averages (default all rows).
    """
    if criterion not in CRITERIA:
        raise SelectionError(f"criterion must be 'v' or 'd', got {criterion!r}")
    X = design_matrix(table[factors].to_numpy())
    if not np.isfinite(X).all():
        raise SelectionError("factor scores contain missing values")
    cand_mask = np.ones(len(table), bool) if candidates is None else candidates.to_numpy(bool)
    cand = np.flatnonzero(cand_mask)
    p = X.shape[1]
    if budget < p:
        raise SelectionError(
            f"budget {budget} is smaller than the {p} parameters of the "
            f"regression on {len(factors)} factors (+ intercept)"
        )
    if budget > len(cand):
        raise SelectionError(f"budget {budget} exceeds the {len(cand)} candidate models")
    ids = table["model"].str.lower().to_numpy()
    required = []
    for m in include or []:
        hit = np.flatnonzero(ids == m.lower())
        if hit.size == 0:
            raise SelectionError(f"required model {m!r} has no capability factors (not in the fit)")
        if not cand_mask[hit[0]]:
            raise SelectionError(f"required model {m!r} is excluded by the constraints")
        required.append(int(hit[0]))
    if len(set(required)) > budget:
        raise SelectionError(f"{len(set(required))} required models exceed the budget {budget}")
    tmask = np.ones(len(table), bool) if targets is None else targets.to_numpy(bool)
    if not tmask.any():
        raise SelectionError("the target set is empty")
    M = X[tmask].T @ X[tmask] / tmask.sum()
    ridge = 1e-8 * np.trace(X[cand].T @ X[cand]) / p
    start = list(dict.fromkeys(required))
    chosen = _refine(X, cand, budget, criterion, M, ridge, start, restarts, random_state)
    order = greedy(X, np.array(chosen), budget, criterion, M, ridge, start)  # value order
    values = [criterion_value(X[order[: i + 1]], criterion, M, ridge) for i in range(len(order))]
    chosen_table = table.iloc[order][
        [c for c in ("model", "family", "params_b", "flops") if c in table.columns]
    ].reset_index(drop=True)
    chosen_table.insert(0, "order", np.arange(1, len(order) + 1))
    # before p models the design is singular: the (ridge-regularised) value is not meaningful
    chosen_table["criterion"] = [v if i + 1 >= p else math.nan for i, v in enumerate(values)]
    return SelectionResult(criterion, budget, target_set, len(cand), chosen_table)


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
        targets, label = None, "all models of the fit"
    elif target_set == "largest":
        targets = table["PC-1"] >= table["PC-1"].quantile(0.75)
        label = "the most capable quarter of models (PC-1)"
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
        target_set=label,
    )
