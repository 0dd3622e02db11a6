"""The cross-task interval model (``model/interval_prior.py``): learned on one set of
synthetic worlds (tasks), it covers fresh worlds as it claims; the curated file parses."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from obsscale.config import PredictConfig
from obsscale.model.prediction import interval_prior as ip
from obsscale.model.prediction.calibration import Frontier, calibrate
from obsscale.model.prediction.ensemble import Ensemble
from obsscale.model.prediction.tuning import choose, inner_folds

PCONF = PredictConfig(n_starts=0)
NEUTRAL = ip.IntervalPrior(0.0, 0.0, 1.0, 1.0, 1.0, 1.0)


def _world(seed: int, n_train: int = 40, n_test: int = 150):
    """One task: a sigmoid in log-FLOPs of its own slope and midpoint, noise of its own size
    (sd 0.01-0.06) that grows past 10^23.5 FLOPs; train below 10^23.5, test up to 10^25."""
    rng = np.random.default_rng([7, seed])
    logf = np.concatenate([rng.uniform(20, 23.5, n_train), rng.uniform(23.5, 25, n_test)])
    sd = rng.uniform(0.01, 0.06) * (1 + 0.5 * np.maximum(logf - 23.5, 0))
    mid, slope = rng.uniform(21.5, 23.5), rng.uniform(0.6, 1.5)
    y = np.clip(expit(slope * (logf - mid)) + rng.normal(0, 1, len(logf)) * sd, 0, 1)
    return {"pc": logf[:, None] - 22.5, "log_flops": logf[:, None]}, y, np.arange(len(y)) < n_train


def _scores(seed: int, prior: ip.IntervalPrior) -> np.ndarray:
    """|error| / half-width of one world's test models under ``prior``."""
    features, y, train = _world(seed)
    logf = features["log_flops"][:, 0]
    folds = inner_folds(logf, train, PCONF.inner_quantiles)
    choice = choose(features, y, folds, "log_flops", PCONF)
    with ip.using(prior):
        cal = calibrate(choice, features, y, folds, PCONF, shift=True)
    ens = Ensemble.fit(choice, features, y, train, PCONF)
    pred = ens.predict(~train)
    half = cal.quantile * (Frontier.of(ens, logf, train).terms(pred, logf[~train]) @ cal.coef)
    return np.abs(y[~train] - pred - cal.shift) / half


def _learn(seeds: range) -> ip.IntervalPrior:
    """The regeneration's two passes (bench/interval_prior.py) on synthetic worlds."""
    with ip.recording() as records:
        for s in seeds:
            _scores(s, NEUTRAL)
    g_flops, g_level, kappa, n0 = ip.fit_growth(records)
    unit = ip.IntervalPrior(g_flops, g_level, kappa, n0, 1.0, 1.0)
    q = ip.fit_multiplier([_scores(s, unit) for s in seeds], 0.9, 0.75)
    return ip.IntervalPrior(g_flops, g_level, kappa, n0, q, q)


def test_cross_task_coverage_on_fresh_worlds_within_tolerance() -> None:
    """Learned on 30 worlds, applied to 30 others: the median world's coverage of its 150 test
    models lies in [0.85, 0.98] and the 10th percentile world's is at least 0.65.

    Tolerance: the multiplier is the smallest under which the median design world covers
    0.90 and the 10th percentile one 0.75; with error scales estimated from ~16 inner test
    models each, the second binds here and the design median comes out ~0.95. A fresh world's
    coverage varies with its own noise draw (binomial, sd ~ sqrt(0.09/150) = 0.025) and with
    its scale estimate (the spread seen over the design worlds, 0.71-1.0); the median of 30
    fresh worlds moves by ~0.03 from both, the 3rd of 30 by ~0.1: the bounds are the design
    targets less 0.05 and 0.10, and the upper one is the design median plus 0.03."""
    prior = _learn(range(30))
    assert prior.g_flops > 0  # the noise grows past the frontier, and the fit sees it
    cov = np.array([np.mean(_scores(s, prior) <= 1) for s in range(100, 130)])
    assert 0.85 <= np.median(cov) <= 0.98
    assert np.quantile(cov, 0.1) >= 0.65


def test_own_errors_alone_without_a_prior() -> None:
    """``using(None)``: the split-conformal calibration on the task's own errors."""
    features, y, train = _world(0)
    folds = inner_folds(features["log_flops"][:, 0], train, PCONF.inner_quantiles)
    choice = choose(features, y, folds, "log_flops", PCONF)
    with ip.using(None):
        own = calibrate(choice, features, y, folds, PCONF)
    with ip.using(NEUTRAL):
        pooled = calibrate(choice, features, y, folds, PCONF)
    assert own.rule != pooled.rule
    assert pooled.quantile == 1.0 and pooled.coef[1] == 0.0


def test_sigma_is_shrunk_toward_the_prior() -> None:
    prior = ip.IntervalPrior(0.0, 0.0, 0.5, 10.0, 1.6, 2.0)
    Z = np.column_stack([np.ones(10), np.zeros(10), np.zeros(10)])
    err = np.full(10, 0.04)
    assert prior.sigma(err, Z, m=0, spread=0.2) == pytest.approx(0.1)  # the prior alone
    mid = prior.sigma(err, Z, m=10, spread=0.2)
    assert mid == pytest.approx(math.sqrt(0.04 * 0.1))  # equal weights: the geometric mean
    assert prior.sigma(err, Z, m=1000, spread=0.2) == pytest.approx(0.04, rel=0.02)


def test_fit_multiplier_meets_both_coverage_targets() -> None:
    rng = np.random.default_rng(3)
    scores = [np.abs(rng.normal(0, s, 50)) for s in rng.uniform(0.5, 2, 20)]
    q = ip.fit_multiplier(scores, 0.9, 0.75)
    cov = np.array([np.mean(s <= q) for s in scores])
    assert np.median(cov) >= 0.9 and np.quantile(cov, 0.1) >= 0.75
    smaller = np.array([np.mean(s < q) for s in scores])
    assert np.median(smaller) < 0.9 or np.quantile(smaller, 0.1) < 0.75  # the smallest such q
    assert ip.fit_multiplier([], 0.9, 0.75) == math.inf


def test_toml_round_trip_and_the_curated_file() -> None:
    prior = ip.IntervalPrior(0.2, 0.5, 0.3, 12.0, 1.7, math.inf, 25, "made by a test\nline 2")
    assert ip.parse(prior.to_toml()) == prior
    curated = ip.load()
    assert curated is not None and curated.n_tasks > 0 and curated.q > 0
    assert "design half" in curated.produced_by


def test_multipliers_follow_the_interval_level() -> None:
    """Learned at 90%: unchanged there, wider at 95%, narrower at 50% (normal-quantile ratio),
    so a predictor's interval level is never silently ignored."""
    prior = ip.IntervalPrior(0.0, 0.5, 0.3, 10.0, 2.0, 1.0, level=0.9)
    assert prior.multipliers(0.9) == (2.0, 1.0)
    q95, flat95 = prior.multipliers(0.95)
    q50, _ = prior.multipliers(0.5)
    assert q50 < 2.0 < q95
    assert q95 == pytest.approx(2.0 * 1.959964 / 1.644854, rel=1e-6)
    assert flat95 / 1.0 == pytest.approx(q95 / 2.0)


def test_fit_exponents_finds_the_scale_that_tracks_the_errors() -> None:
    """Tasks whose errors follow a second scale (the bootstrap's) rather than the nested one:
    the chosen exponents lean on it, meet both coverage targets, and give narrower intervals
    than the nested scale alone; with the bootstrap's scale uninformative, they lean on the
    nested one."""
    rng = np.random.default_rng(5)
    tasks = []
    for _ in range(30):
        boot = rng.uniform(0.01, 0.1) * np.ones(40)
        nested = rng.uniform(0.01, 0.1) * np.ones(40)
        tasks.append(ip.OuterRows(np.abs(rng.normal(0, 1, 40)) * boot, nested, boot))
    a, b, q = ip.fit_exponents(tasks, 0.9, 0.7)
    assert b > a
    cov = [np.mean(t.err <= q * t.nested**a * t.boot**b) for t in tasks]
    assert np.median(cov) >= 0.9 and np.quantile(cov, 0.1) >= 0.7
    q_nested = ip.fit_multiplier([t.err / t.nested for t in tasks], 0.9, 0.7)
    width = np.median([np.median(q * t.nested**a * t.boot**b) for t in tasks])
    assert width < np.median([np.median(q_nested * t.nested) for t in tasks])
    swapped = [ip.OuterRows(t.err, t.boot, t.nested) for t in tasks]
    a2, b2, _ = ip.fit_exponents(swapped, 0.9, 0.7)
    assert a2 > b2


def test_nested_scale_alone_is_the_former_interval() -> None:
    """Exponents (1, 0) give exactly the nested scale, whatever bootstrap scale is passed;
    a row without the bootstrap's scale takes the nested one in its place."""
    from obsscale.model.prediction.conformal import Calibration

    terms = np.column_stack([np.ones(4), [0, 0.5, 1, 2], [0, 0, 0.1, 0.3]])
    cal = Calibration(np.array([0.02, 0.01, 0.3]), 2.0, 30, 0.9)
    boot = np.array([0.05, np.nan, 0.01, 0.2])
    assert np.array_equal(cal.scale(terms, boot), terms @ cal.coef)
    mixed = Calibration(cal.coef, 2.0, 30, 0.9, exponents=(0.5, 0.5))
    nested = terms @ cal.coef
    expected = np.sqrt(nested) * np.sqrt(np.where(np.isnan(boot), nested, boot))
    assert np.allclose(mixed.scale(terms, boot), expected)
    assert np.allclose(mixed.scale(terms, None), nested)


def test_bootstrap_scale_of_a_row_does_not_depend_on_the_others() -> None:
    """The bootstrap's scale is deterministic (no random residual draws), the same for a row
    asked alone or among others, and grows past the training data (a gentle sigmoid, far
    from saturating there)."""
    from obsscale.model.prediction.intervals import bootstrap_scale, fit_with_bootstrap

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 1, (40, 1))
    y = np.clip(expit(0.5 * X[:, 0]) + rng.normal(0, 0.03, 40), 0, 1)
    fit = fit_with_bootstrap(X, y, PCONF, np.random.default_rng(1))
    grid = np.array([[-0.5], [1.0], [2.5]])
    together = bootstrap_scale(fit, grid)
    alone = np.array([bootstrap_scale(fit, grid[i : i + 1])[0] for i in range(3)])
    assert np.array_equal(together, alone)
    assert together[2] > together[0] > 0
