"""The default method departs from the paper's predictor only as far as its nested back-tests
support (``model/evidence.py``): the emergent failure (a task flat at chance below the cutoff,
rising above it; ``bench/emergent.py``) reproduced with those rules switched off; with them
on, the task is seen flat and not shifted, but where the target follows the factors the
default's flat-side hedge toward compute still loses to the paper's predictor on some worlds
(the bench's emergent section reports by how much)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_predict import FAST

from obsscale.bench.emergent import emergent_markdown, emergent_world, run_emergent, world_backtest
from obsscale.model.prediction import calibration, evidence, weights


def _mse(data: pd.DataFrame, method: str, **settings: str) -> tuple[float, dict]:
    mse, _, choice = world_backtest(data, replace(FAST, method=method, **settings))
    return mse, choice


SEEDS = (2, 3)


def test_emergent_failure_without_the_evidence_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rules switched off (the full 1/inner-MSE departure, the plain median shift): on a
    flat-then-rising task the nested back-tests' favourites lose to the paper's predictor by
    more than 1.5x on some seeded world."""
    monkeypatch.setattr(weights, "departure", lambda y, a, o, seed, cap: cap)
    monkeypatch.setattr(
        calibration, "supported_shift", lambda e, g, seed, cuts=None: float(np.median(e))
    )
    ratios = [
        _mse(emergent_world(s), "obsscale")[0] / _mse(emergent_world(s), "paper")[0] for s in SEEDS
    ]
    assert max(ratios) > 1.5


def test_emergent_task_is_seen_flat_and_not_shifted() -> None:
    """With the rules on, the nested back-tests are seen to carry no signal (flat): no shift,
    the flat rule of the interval model, and the log-FLOPs candidate given its share of the
    weight (``weights.FLAT_COMPUTE_SHARE``). That hedge was chosen on the bench pool's design
    half, whose flat tasks (BBH subtasks at chance below the cutoff) the compute baseline
    predicted better than the factors; in this synthetic world, whose families differ in
    efficiency, the factors are right, and on some seeds the default still loses to the
    paper's predictor."""
    for seed in SEEDS:
        _, choice = _mse(emergent_world(seed), "obsscale")
        assert choice["flat_training_side"] is True
        assert choice["interval"]["shift"] == 0.0
        compute = [m["weight"] for m in choice["members"] if m["inputs"] == "log_flops"]
        assert sum(compute) >= weights.FLAT_COMPUTE_SHARE - 1e-12
        assert choice["flat_side"] == "hedge"
        # what is reported as kept on the paper's predictor is what its member now weighs
        paper = [m for m in choice["members"] if (m["inputs"], m["form"]) == ("pc", "sigmoid")]
        assert choice["anchor_weight"] == pytest.approx(sum(m["weight"] for m in paper))


def test_flat_side_paper_keeps_the_factors() -> None:
    """``flat_side = "paper"``: on a flat training side all of the weight goes to the paper's
    predictor, so where the jump follows the factors the default matches it (the hedge
    loses by more than 1.25x on one of these worlds); the intervals keep the flat rule."""
    hedge, anchored = [], []
    for seed in SEEDS:
        data = emergent_world(seed)
        paper = _mse(data, "paper")[0]
        hedge.append(_mse(data, "obsscale")[0] / paper)
        mse, choice = _mse(data, "obsscale", flat_side="paper")
        anchored.append(mse / paper)
        assert choice["flat_training_side"] is True and choice["flat_side"] == "paper"
        assert [(m["inputs"], m["form"], m["weight"]) for m in choice["members"]] == [
            ("pc", "sigmoid", 1.0)
        ]
        assert choice["interval"]["rule"] == calibration.CROSS_TASK_FLAT
    assert max(hedge) > 1.25 >= max(anchored)


def test_emergent_section_reports_each_world() -> None:
    """One row per world, each variant's test MSE over the paper predictor's, and a summary
    line that counts the worlds each loses by more than 1.25x."""
    rows = run_emergent(FAST, seeds=SEEDS)
    assert [r["seed"] for r in rows] == list(SEEDS)
    for r in rows:
        assert r["ratio_default_paper"] == pytest.approx(r["default_mse"] / r["paper_mse"])
        assert r["ratio_flat_paper"] == pytest.approx(r["flat_paper_mse"] / r["paper_mse"])
        assert r["default_mse"] == pytest.approx(_mse(emergent_world(r["seed"]), "obsscale")[0])
        assert r["flat_training_side"] is True and r["log_flops_weight"] > 0
    losing = sum(r["ratio_default_paper"] > 1.25 for r in rows)
    anchored = sum(r["ratio_flat_paper"] > 1.25 for r in rows)
    text = emergent_markdown(rows)
    assert f"> 1.25x on {losing} of {len(SEEDS)} worlds" in text
    assert f"with `--flat-side paper` on {anchored} " in text
    assert ("costs accuracy" in text) == (losing > 0)


def test_is_flat_reads_the_inner_signal() -> None:
    rng = np.random.default_rng(0)
    y_ref, y_test = rng.normal(0, 0.02, 30), rng.normal(0, 0.02, 15)
    assert evidence.is_flat(evidence.inner_r2(y_ref, y_test, [y_test * 0 + 0.01]))
    trend = np.linspace(0.2, 0.6, 15)
    assert not evidence.is_flat(evidence.inner_r2(y_ref, trend, [trend + 0.01]))
    assert np.isnan(evidence.inner_r2(y_ref, y_test[:1], [y_test[:1]]))  # nothing to compare


def test_departure_follows_the_evidence() -> None:
    """λ is ~1 where the other prediction is clearly better on every resample, 0 where it is
    clearly worse, and small where the two are equally good (noise only)."""
    rng = np.random.default_rng(1)
    y = rng.normal(0, 1, 30)
    assert evidence.departure(y[:5], y[:5] + 1, y[:5], seed=0) == 0.0  # too few to say
    good, bad = y + rng.normal(0, 0.05, 30), y + rng.normal(0, 1, 30)
    assert evidence.departure(y, bad, good, seed=0) > 0.9
    assert evidence.departure(y, good, bad, seed=0) < 0.05
    twin = y + rng.normal(0, 0.5, 30)
    other = y + rng.normal(0, 0.5, 30)
    assert evidence.departure(y, twin, other, seed=0) < 0.5
    assert evidence.departure(y, bad, good, seed=0, cap=0.9) == pytest.approx(0.9)
    assert evidence.departure(y, bad, good, seed=0) == evidence.departure(y, bad, good, seed=0)


def test_supported_shift_needs_a_consistent_sign() -> None:
    """A bias every model shows is kept (the interval bound nearest 0, so at most the median);
    noise around 0 gives none; a model counted at several cutoffs is resampled as a whole."""
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(15), 2)
    biased = 0.05 + rng.normal(0, 0.01, 30)
    shift = evidence.supported_shift(biased, groups, seed=0)
    assert 0.0 < shift <= np.median(biased)
    assert evidence.supported_shift(-biased, groups, seed=0) == pytest.approx(
        -evidence.supported_shift(biased, groups, seed=0), abs=0.01
    )
    noise = rng.normal(0, 0.05, 15)
    assert evidence.supported_shift(np.concatenate([noise, -noise]), groups, seed=0) == 0.0
    assert evidence.supported_shift(biased[:2], np.zeros(2), seed=0) == 0.0


def test_shift_must_show_at_every_cutoff() -> None:
    """An error that shrinks as the nested training side grows is shifted by at most what
    the highest cutoff still shows; one that changes sign between cutoffs is not shifted."""
    rng = np.random.default_rng(4)
    cutoffs = np.repeat([0, 1, 2], 20)
    groups = np.arange(60)
    shrinking = np.repeat([0.08, 0.04, 0.01], 20) + rng.normal(0, 0.002, 60)
    shift = evidence.supported_shift(shrinking, groups, seed=0, cutoffs=cutoffs)
    assert 0.0 < shift <= np.median(shrinking[cutoffs == 2]) + 1e-12
    assert evidence.supported_shift(shrinking, groups, seed=0) > 0.03  # without the rule
    flipping = np.repeat([0.08, 0.06, -0.01], 20) + rng.normal(0, 0.002, 60)
    assert evidence.supported_shift(flipping, groups, seed=0, cutoffs=cutoffs) == 0.0


def test_resampled_medians_are_the_medians_of_the_concatenated_groups() -> None:
    """The vectorized resampled medians equal ``np.median`` of each resample's errors built
    group by group, ties and repeated groups included."""
    rng = np.random.default_rng(5)
    for trial in range(20):
        groups = rng.integers(0, 12, size=30)
        ids, inverse = np.unique(groups, return_inverse=True)
        signed = np.round(rng.normal(size=30), 1 if trial % 2 else 6)
        draws = rng.integers(0, len(ids), size=(15, len(ids)))
        slow = [np.median(np.concatenate([signed[inverse == i] for i in row])) for row in draws]
        assert np.array_equal(evidence._resampled_medians(signed, inverse, draws), slow)
