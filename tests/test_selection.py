"""Subset selection: greedy + exchange against the known (enumerated) optimum."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from obsscale.model.design.selection import (
    SelectionError,
    TargetSet,
    criterion_value,
    design_matrix,
    select_subset,
)


def table(x: np.ndarray) -> pd.DataFrame:
    x = np.atleast_2d(x.T).T
    t = pd.DataFrame(x, columns=[f"PC-{j + 1}" for j in range(x.shape[1])])
    t.insert(0, "model", [f"m{i}" for i in range(len(t))])
    return t


def brute_force(t: pd.DataFrame, k: int, criterion: str, targets=None) -> float:
    factors = [c for c in t.columns if c.startswith("PC")]
    X = design_matrix(t[factors].to_numpy())
    T = X if targets is None else X[targets]
    M = T.T @ T / len(T)
    ridge = 1e-8 * np.trace(X.T @ X) / X.shape[1]
    vals = [
        criterion_value(X[list(c)], criterion, M, ridge)
        for c in itertools.combinations(range(len(X)), k)
    ]
    return max(vals) if criterion == "d" else min(vals)


def test_d_optimal_line_picks_the_endpoints() -> None:
    res = select_subset(table(np.linspace(-1, 1, 11)), ["PC-1"], budget=2, criterion="d")
    assert set(res.chosen["model"]) == {"m0", "m10"}


def test_v_optimal_for_extrapolation_spreads_the_design() -> None:
    x = np.linspace(-1, 1, 11)
    t = table(np.concatenate([x, [3.0]]))
    cand = pd.Series([True] * 11 + [False])
    res = select_subset(
        t,
        ["PC-1"],
        budget=2,
        criterion="v",
        candidates=cand,
        targets=TargetSet(pd.Series([False] * 11 + [True])),
    )
    assert set(res.chosen["model"]) == {"m0", "m10"}
    assert "m11" not in set(res.chosen["model"])


@pytest.mark.parametrize("criterion", ["v", "d"])
@pytest.mark.parametrize("seed", range(4))
def test_matches_enumerated_optimum(criterion: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = table(rng.normal(size=(12, 2)) * [1.0, 0.3])
    targets = pd.Series(rng.random(12) < 0.4) if criterion == "v" else None
    if targets is not None and not targets.any():
        targets.iloc[0] = True
    res = select_subset(
        t, ["PC-1", "PC-2"], budget=5, criterion=criterion, targets=TargetSet(targets)
    )
    best = brute_force(t, 5, criterion, None if targets is None else targets.to_numpy())
    assert res.chosen["criterion"].iloc[-1] == pytest.approx(best, rel=1e-9)


def test_order_shows_diminishing_returns_and_required_models_stay() -> None:
    rng = np.random.default_rng(7)
    t = table(rng.normal(size=(30, 3)))
    res = select_subset(t, ["PC-1", "PC-2", "PC-3"], budget=10, criterion="v", include=["m5", "M7"])
    assert {"m5", "m7"} <= set(res.chosen["model"])
    values = res.chosen["criterion"].dropna().to_numpy()
    assert len(values) == 10 - 3  # defined once the design has 4 models (4 parameters)
    assert (np.diff(values) <= 1e-12).all()  # each addition lowers the mean variance
    again = select_subset(
        t, ["PC-1", "PC-2", "PC-3"], budget=10, criterion="v", include=["m5", "M7"]
    )
    pd.testing.assert_frame_equal(res.chosen, again.chosen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": 40}, "budget 40 exceeds the 30 candidate models"),
        ({"budget": 3}, "budget 3 is smaller than the 4 parameters"),
        ({"budget": 6, "include": ["nobody"]}, "required model 'nobody' has no capability factors"),
        ({"budget": 6, "criterion": "a"}, "criterion must be 'v' or 'd'"),
    ],
)
def test_bad_requests(kwargs: dict, message: str) -> None:
    t = table(np.random.default_rng(8).normal(size=(30, 3)))
    with pytest.raises(SelectionError, match=message):
        select_subset(t, ["PC-1", "PC-2", "PC-3"], **kwargs)


def test_required_model_outside_constraints() -> None:
    t = table(np.random.default_rng(9).normal(size=(30, 3)))
    cand = pd.Series(np.arange(30) < 20)
    with pytest.raises(SelectionError, match="'m25' is excluded by the constraints"):
        select_subset(t, ["PC-1", "PC-2", "PC-3"], budget=6, candidates=cand, include=["m25"])
