"""The default method's intervals: split-conformal on the nested back-tests, with a scale that
grows past the training frontier (``model/prediction/calibration.py``)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy.special import expit
from test_predict import FAST, SETTINGS, world

from obsscale.config import PredictConfig
from obsscale.model.prediction import interval_prior
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.calibration import Frontier, calibrate, conformal_quantile
from obsscale.model.prediction.conformal import Calibration
from obsscale.model.prediction.ensemble import Ensemble
from obsscale.model.prediction.methods import DefaultMethod, Factors
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops, CutoffRank, LeaveFamilyOut
from obsscale.model.prediction.tuning import choose, inner_folds

SINGLE_START = PredictConfig(n_starts=0)


def _coverage(seed: int, n_train: int = 150, n_test: int = 2000) -> float:
    """One synthetic world: y = sigmoid(1.2·(log-FLOPs - 22.5)) + N(0, 0.03²), a FLOPs cutoff
    at 10^23.5 with 1.5 decades of test models above it; the share of test models inside
    the 90% interval calibrated on the nested cutoffs of the training side."""
    rng = np.random.default_rng(seed)
    logf = np.concatenate([rng.uniform(20, 23.5, n_train), rng.uniform(23.5, 25, n_test)])
    y = np.clip(expit(1.2 * (logf - 22.5)) + rng.normal(0, 0.03, len(logf)), 0, 1)
    features = {"pc": logf[:, None] - 22.5, "log_flops": logf[:, None]}
    train = np.arange(len(y)) < n_train
    folds = inner_folds(logf, train, SINGLE_START.inner_quantiles)
    choice = choose(features, y, folds, "log_flops", SINGLE_START)
    with interval_prior.using(None):  # this test is of the own-errors rule
        calibration = calibrate(choice, features, y, folds, SINGLE_START)
    ens = Ensemble.fit(choice, features, y, train, SINGLE_START)
    pred = ens.predict(~train)
    terms = Frontier.of(ens, logf, train).terms(pred, logf[~train])
    lo, hi = calibration.interval(pred, terms, 0.0)
    return float(np.mean((y[~train] >= lo) & (y[~train] <= hi)))


def test_conformal_coverage_on_synthetic_data_within_tolerance() -> None:
    """Mean coverage of 20 seeded worlds lies in [0.876, 0.95].

    Tolerance: split-conformal covers a new exchangeable point with probability >= 0.90
    (and at most 0.90 + 1/(m+1)). Given its calibration set, one world's coverage varies like
    Beta(k, m+1-k), sd ~ sqrt(0.09/m), with m ~ 75 distinct inner test models (the ~160
    pooled scores repeat models across the three cutoffs), plus binomial noise over 2000
    test models, sd ~ sqrt(0.09/2000): ~0.035 per world, ~0.008 for the mean of 20. The lower
    bound is 0.90 - 3 sd; the upper one allows the method's known conservatism (the fitted
    growth with distance is never negative, so noise only widens) up to the acceptance
    band's 0.95, beyond which the interval is wider than it needs to be."""
    mean = np.mean([_coverage(seed) for seed in range(20)])
    assert 0.876 <= mean <= 0.95


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    scores = np.arange(1.0, 20.0)  # m = 19: rank ceil(20 · 0.9) = 18
    assert conformal_quantile(scores[::-1], 0.9) == 18.0
    assert conformal_quantile(scores[:8], 0.9) == math.inf  # rank 9 of 8: no finite bound
    assert conformal_quantile(np.array([np.nan, *scores]), 0.9) == 18.0


def test_intervals_stay_in_the_metric_range() -> None:
    pred = np.array([-0.05, 0.5, 0.98])
    terms = Frontier(22.0, 0.9).terms(pred, np.array([21.0, np.nan, 23.0]))
    assert terms[:, 1].tolist() == [0.0, 0.0, 1.0]  # unknown FLOPs: no distance
    wide = Calibration(np.array([0.2, 0.1, 0.0]), 2.0, 50, 0.9)
    lo, hi = wide.interval(pred, terms, low=-0.1)
    assert lo.min() == -0.1 and hi.max() == 1.0
    assert np.all(lo <= pred) and np.all(pred <= hi)
    none = Calibration(np.array([1.0, 0, 0]), math.inf, 3, 0.9)
    assert [a.tolist() for a in none.interval(pred, terms, low=-0.1)] == [[-0.1] * 3, [1.0] * 3]


def test_backtest_reports_its_calibration() -> None:
    """The default method's intervals contain its predictions, stay in the chance-normalised
    range and say how they were calibrated; the same seed gives the same JSON."""
    pconf = replace(FAST, method="obsscale", n_bootstrap=20)
    run = lambda: backtest_target(  # noqa: E731
        world(n_fam=5, per=8),
        "target",
        split=CutoffFlops(10**22.6),
        chance=0.2,
        settings=SETTINGS,
        pconf=pconf,
    )
    res = run()
    pred = res.predictions
    assert (pred["lower"] <= pred["predicted"]).all() and (pred["predicted"] <= pred["upper"]).all()
    assert pred["lower_raw"].min() >= 0 and pred["upper_raw"].max() <= 1
    interval = res.choices["pc"]["interval"]
    assert interval["n_scores"] > 0 and interval["quantile"] > 0
    assert set(interval["scale"]) == {"const", "d_flops", "d_level"}
    assert any("cross-task interval model" in n for n in res.notes)
    assert res.to_json() == run().to_json()


def test_shift_corrects_an_error_every_nested_cutoff_sees() -> None:
    """A trend that departs from the sigmoid the same way past every cutoff (a saturating
    curve plus a linear gain): the nested back-tests' median error, added to the outer
    predictions, lowers their test MSE in each seeded world; without ``shift`` none is made."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        logf = np.concatenate([rng.uniform(20, 23.5, 150), rng.uniform(23.5, 25, 500)])
        curve = 0.5 * expit(1.5 * (logf - 21.5)) + 0.09 * (logf - 20)
        y = np.clip(curve + rng.normal(0, 0.02, len(logf)), 0, 1)
        features = {"pc": logf[:, None] - 22.5, "log_flops": logf[:, None]}
        train = np.arange(len(y)) < 150
        folds = inner_folds(logf, train, SINGLE_START.inner_quantiles)
        choice = choose(features, y, folds, "log_flops", SINGLE_START)
        pred = Ensemble.fit(choice, features, y, train, SINGLE_START).predict(~train)
        assert calibrate(choice, features, y, folds, SINGLE_START).shift == 0.0
        shift = calibrate(choice, features, y, folds, SINGLE_START, shift=True).shift
        assert abs(shift) > 0.02
        err = y[~train] - pred
        assert np.mean((err - shift) ** 2) < 0.8 * np.mean(err**2)


def test_only_a_split_its_nested_cutoffs_ask_is_shifted() -> None:
    """The nested cutoffs cut what the outer split cuts (FLOPs, release date, rank), so
    those splits' predictions are shifted (and say by how much); a family split asks
    another question (interpolation to a new family) and gets no shift."""
    assert (CutoffFlops.nested_by, CutoffDate.nested_by, CutoffRank.nested_by) == (
        "log_flops",
        "date",
        "rank",
    )
    assert CutoffFlops.nested_like and CutoffDate.nested_like and CutoffRank.nested_like
    assert not LeaveFamilyOut.nested_like and LeaveFamilyOut.nested_by == "log_flops"
    pconf = replace(FAST, method="obsscale", n_bootstrap=20)
    data = world(n_fam=5, per=12)  # >= 10 inner test models: enough evidence for a shift
    # linear in log-FLOPs: the factors' sigmoid errs the same way past every nested cutoff
    data["target"] = np.clip(0.3 + 0.12 * (np.log10(data["flops"]) - 20), 0, 1)
    flops = backtest_target(
        data, "target", split=CutoffFlops(10**22.6), settings=SETTINGS, pconf=pconf
    )
    assert flops.choices["pc"]["interval"]["shift"] != 0.0


def test_nested_cutoffs_of_a_date_split_cut_dates() -> None:
    """With ``nested_by="date"`` the inner test models are the latest ones, whatever their
    compute (here the newest models are the smallest)."""
    rng = np.random.default_rng(0)
    n = 60
    logf = np.linspace(24, 21, n)  # newest last, and smallest
    date = np.linspace(2020, 2024, n)
    y = np.clip(expit(1.2 * (logf - 22.5)) + rng.normal(0, 0.02, n), 0, 1)
    feats = {
        "pc": np.column_stack([logf - 22.5, rng.normal(size=n)]),
        "log_flops": logf[:, None],
        "log_params": logf[:, None] - 11,
        "pc+log_flops": np.column_stack([logf - 22.5, rng.normal(size=n), logf]),
        "date": date[:, None],
    }
    fit = DefaultMethod(SINGLE_START, nested_by="date").fit(
        feats, y, Factors(), np.random.default_rng(0)
    )
    newest = date > np.quantile(date, min(SINGLE_START.inner_quantiles))
    assert np.array_equal(np.sort(fit.choice.y_inner), np.sort(y[newest]))
