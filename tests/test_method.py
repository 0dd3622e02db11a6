"""The two predictors: ``method="paper"`` reproduces the historical output to the byte, the
default ("obsscale") fixes its failure modes (step sigmoids, factors losing to compute,
intervals that ignore extrapolation)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit
from test_predict import FAST, SETTINGS, world

from obsscale.data import store
from obsscale.model.backtest import backtest
from obsscale.model.link import SigmoidRegressor
from obsscale.model.splits import CutoffFlops, KFold

NEW_SETTINGS = {
    "predict": {"method", "alphas", "inner_quantiles", "n_members", "ceiling_min", "scale"},
    "capabilities": {"basis_fallbacks", "basis_margin"},
}
DATA = Path(__file__).parent / "data"
PAPER = replace(FAST, method="paper")


def _golden_cutoff():
    return backtest(
        world(n_fam=5, per=6),
        "target",
        split=CutoffFlops(10**22.4),
        settings=SETTINGS,
        pconf=PAPER,
    )


def _golden_kfold_floor():
    return backtest(
        world(n_fam=4, per=8, noise=0.05, seed=3),
        "target",
        split=KFold(4),
        chance=0.1,
        settings=SETTINGS,
        pconf=replace(PAPER, form="parametric", loss="huber"),
    )


@pytest.mark.parametrize(
    ("make", "name"),
    [(_golden_cutoff, "paper_cutoff"), (_golden_kfold_floor, "paper_kfold_floor")],
)
def test_paper_method_is_byte_identical_to_before(make, name) -> None:
    """The JSON files were written by the predictor before this method existed: the paper
    method's output equals them byte for byte, except that its recorded settings name the
    settings added since (``method`` among them)."""
    expected = (DATA / f"{name}.json").read_text()
    out = json.loads(make().to_json())
    before = json.loads(expected)["settings"]
    for section, names in NEW_SETTINGS.items():
        added = set(out["settings"][section]) - set(before[section])
        assert added == names
        for key in added:
            del out["settings"][section][key]
    assert store.dumps(out) + "\n" == expected


# ---------------------------------------------------------------- link forms and the ridge


def test_floor_ceiling_is_recovered_and_bounded() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 1)) * 2
    y = 0.1 + 0.7 * expit(2.0 * X[:, 0])
    reg = SigmoidRegressor(form="floor_ceiling").fit(X, y)
    assert reg.floor_ == pytest.approx(0.1, abs=1e-4)
    assert reg.ceiling_ == pytest.approx(0.8, abs=1e-4)
    assert_allclose(reg.predict(X), y, atol=1e-6)
    capped = SigmoidRegressor(form="floor_ceiling", ceiling_min=0.9).fit(X, y)
    assert 0.9 <= capped.ceiling_ <= 1.0


@pytest.mark.parametrize(("form", "alpha"), [("sigmoid", 0.1), ("floor_ceiling", 0.01)])
def test_batched_refit_lands_on_the_same_optimum(form: str, alpha: float) -> None:
    """Gauss-Newton from the solution on the unweighted data (all counts 1) stays there: the
    two solvers minimise the same penalised loss."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 2))
    y = 0.05 + 0.8 * expit(X @ [1.5, -0.5]) + rng.normal(scale=0.02, size=60)
    reg = SigmoidRegressor(form=form, alpha=alpha).fit(X, y)
    thetas = reg.bootstrap_thetas(X, y, np.ones((2, 60), dtype=int))
    assert_allclose(thetas, np.tile(reg.theta_, (2, 1)), atol=1e-4)


def test_ridge_shrinks_the_standardized_weights() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    y = expit(X @ [2.0, -1.0, 0.5]) + rng.normal(scale=0.02, size=40)
    norms = [
        np.linalg.norm(SigmoidRegressor(alpha=a).fit(X, y).theta_[1:]) for a in (0, 0.01, 0.1, 1)
    ]
    assert norms == sorted(norms, reverse=True)
