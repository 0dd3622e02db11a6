"""The two predictors: ``method="paper"`` reproduces the historical output (within the solvers'
tolerance; to the byte between runs), the default ("obsscale") fixes its failure modes (step
sigmoids, factors losing to compute, intervals that ignore extrapolation)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit
from test_predict import FAST, SETTINGS, world

from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.ensemble import Ensemble
from obsscale.model.prediction.intervals import make_regressor
from obsscale.model.prediction.sigmoid import SigmoidRegressor
from obsscale.model.prediction.splits import CutoffFlops, KFold
from obsscale.model.prediction.tuning import choose, inner_folds

NEW_SETTINGS = {
    "predict": {
        "method",
        "ridges",
        "inner_quantiles",
        "n_members",
        "ceiling_min",
        "scale",
        "anchor_weight",
        "candidate_floor_max",
        "flat_side",
    },
    "capabilities": {"basis_fallbacks", "basis_margin"},
}
DATA = Path(__file__).parent / "data"
PAPER = replace(FAST, method="paper")


def _golden_cutoff():
    return backtest_target(
        world(n_fam=5, per=6),
        "target",
        split=CutoffFlops(10**22.4),
        settings=SETTINGS,
        pconf=PAPER,
    )


def _golden_kfold_floor():
    return backtest_target(
        world(n_fam=4, per=8, noise=0.05, seed=3),
        "target",
        split=KFold(4),
        chance=0.1,
        settings=SETTINGS,
        pconf=replace(PAPER, form="parametric", loss="huber"),
    )


# The golden files pin every number the paper method writes to within the solvers' own
# stopping rules: scipy's least_squares stops at xtol = 1e-8 (relative, on the parameters) with
# finite-difference Jacobians, the bootstrap's Gauss-Newton at steps below 1e-7 (standardized
# units). Digits below that are the solver's path through the last bits of BLAS sums, which
# differ between CPU kernels (OpenBLAS Haswell vs SkylakeX: up to 6e-7 relative on a bound).
# 1e-6 is 10x above that and 100x below the 0.01 points a report prints.
GOLDEN_RTOL = GOLDEN_ATOL = 1e-6


def _assert_matches(out: object, expected: object, path: str = "") -> None:
    """Structure, strings, integers and booleans equal; floats within the golden tolerance."""
    if isinstance(expected, dict):
        assert isinstance(out, dict) and sorted(out) == sorted(expected), path
        for key, value in expected.items():
            _assert_matches(out[key], value, f"{path}/{key}")
    elif isinstance(expected, list):
        assert isinstance(out, list) and len(out) == len(expected), path
        for i, (a, b) in enumerate(zip(out, expected, strict=True)):
            _assert_matches(a, b, f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(out, bool):
        assert isinstance(out, int | float), path
        assert math.isclose(out, expected, rel_tol=GOLDEN_RTOL, abs_tol=GOLDEN_ATOL), (
            f"{path}: {out!r} moved from the golden {expected!r}"
        )
    else:
        assert out == expected, f"{path}: {out!r} != {expected!r}"


GOLDEN = [(_golden_cutoff, "paper_cutoff"), (_golden_kfold_floor, "paper_kfold_floor")]


@pytest.mark.parametrize(("make", "name"), GOLDEN)
def test_paper_method_matches_its_golden_output(make, name) -> None:
    """The JSON files were written by the predictor before this method existed: the paper
    method's output equals them within the golden tolerance, except that its recorded settings
    name the settings added since (``method`` among them)."""
    expected = json.loads((DATA / f"{name}.json").read_text())
    out = json.loads(make().to_json())
    del out["verdict"]  # added since: derived from the scores the files pin
    assert out.pop("left_out") == {}  # added since: every baseline is fitted here
    before = expected["settings"]
    for section, names in NEW_SETTINGS.items():
        added = set(out["settings"][section]) - set(before[section])
        assert added == names
        for key in added:
            del out["settings"][section][key]
    _assert_matches(out, expected)


def test_golden_comparison_fails_beyond_its_tolerance() -> None:
    """The comparison is not vacuous: a bound moved by 1e-5 fails, a digit at 1e-8 passes."""
    expected = json.loads((DATA / "paper_cutoff.json").read_text())
    bound = expected["curve"][0]["lower"]
    near = json.loads(json.dumps(expected))
    near["curve"][0]["lower"] = bound * (1 + 1e-8)
    _assert_matches(near, expected)
    near["curve"][0]["lower"] = bound + 1e-5
    with pytest.raises(AssertionError, match="moved from the golden"):
        _assert_matches(near, expected)


@pytest.mark.parametrize(("make", "name"), GOLDEN)
def test_paper_method_is_byte_identical_between_runs(make, name) -> None:
    """Same inputs, same libraries, same machine: the same bytes."""
    assert make().to_json() == make().to_json()


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
    reg = SigmoidRegressor(form=form, ridge=alpha).fit(X, y)
    thetas = reg.bootstrap_thetas(X, y, np.ones((2, 60), dtype=int))
    assert_allclose(thetas, np.tile(reg.theta_, (2, 1)), atol=1e-4)


def test_ridge_shrinks_the_standardized_weights() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    y = expit(X @ [2.0, -1.0, 0.5]) + rng.normal(scale=0.02, size=40)
    norms = [
        np.linalg.norm(SigmoidRegressor(ridge=a).fit(X, y).theta_[1:]) for a in (0, 0.01, 0.1, 1)
    ]
    assert norms == sorted(norms, reverse=True)


# ---------------------------------------------------------------- the default's point predictions


def _emergent(seed: int, n_train: int = 30, n_test: int = 20):
    """Predictor columns of a small training side (~30 models) whose target jumps sharply
    within the training range and then rises slowly: a sigmoid to 1 fitted to the jump goes
    steep and predicts the stronger test models at ~1.0, while they score 0.45-0.85."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    lf = np.concatenate([rng.uniform(20, 22.5, n_train), rng.uniform(22.5, 24, n_test)])
    pc1 = 0.8 * (lf - 22) + rng.normal(scale=0.2, size=n)
    pc = np.column_stack([pc1, rng.normal(scale=0.5, size=(n, 2))])
    y = 0.4 * expit(30 * pc1) + 0.55 * expit(2 * (pc1 - 1.3)) + rng.normal(scale=0.01, size=n)
    lp = lf - 11.5 + rng.normal(scale=0.3, size=n)
    features = {
        "pc": pc,
        "log_flops": lf[:, None],
        "log_params": lp[:, None],
        "pc+log_flops": np.column_stack([pc, lf]),
    }
    return features, y, np.arange(n) < n_train, lf


def test_default_fixes_the_saturated_step_of_the_paper_fit() -> None:
    """The paper's fit (3 factors, sigmoid, least squares) predicts clusters of test models at
    >= 0.99 on half of these draws; the default's ensemble, chosen by nested back-tests, has
    no saturated prediction on all but one of them (there its inner back-tests keep the steep
    members too, and it is no worse), and cuts the test MSE by more than half on the median
    draw."""
    pconf = replace(FAST, method="obsscale")
    steps, fixed, ratios = 0, 0, []
    for seed in range(6):
        features, y, train, lf = _emergent(seed)
        paper = make_regressor(pconf).fit(features["pc"][train], y[train])
        p_paper = paper.predict(features["pc"][~train])
        choice = choose(features, y, inner_folds(lf, train, pconf.inner_quantiles), "pc", pconf)
        p_default = Ensemble.fit(choice, features, y, train, pconf).predict(~train)
        y_test = y[~train]
        assert y_test.max() < 0.9
        if np.sum(p_paper >= 0.99) >= 2:
            steps += 1
            fixed += not np.any(p_default >= 0.99)
        ratios.append(np.mean((p_default - y_test) ** 2) / np.mean((p_paper - y_test) ** 2))
    assert steps >= 3
    assert fixed >= steps - 1
    assert np.median(ratios) < 0.5
    assert max(ratios) < 1.1
