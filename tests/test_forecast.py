"""Forecasts of models not yet built (family + compute) or not yet evaluated (some scores):
recovery of a known family line with calibrated intervals, determinism, and clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from obsscale.config import CapabilityConfig, PredictConfig
from obsscale.exceptions import ExtrapolationWarning, PredictError
from obsscale.model.completion.basis import PatternIntervals, complete_basis
from obsscale.model.forecast.forecast import ForecastTarget, Scenario, forecast
from obsscale.model.forecast.results import ForecastResult

BENCH = [f"s:b{j}" for j in range(6)]
SETTINGS = CapabilityConfig(benchmarks=tuple(BENCH), n_components=2, reference_family="F0")
PCONF = PredictConfig(n_bootstrap=100, n_starts=2)
TARGET = [ForecastTarget("s:target")]


def world(seed: int = 0, n_fam: int = 10, per: int = 6, slope: float = 0.35) -> pd.DataFrame:
    """Families whose capability is linear in log10 FLOPs with a known slope and family
    offsets; six benchmarks and a target follow the capability with noise."""
    rng = np.random.default_rng(seed)
    load = np.abs(rng.normal(size=6)) + 0.3
    load /= np.linalg.norm(load)
    rows = []
    for f in range(n_fam):
        eff = rng.normal(scale=0.2)
        for i, lf in enumerate(np.sort(rng.uniform(20.0, 24.0, per))):
            cap = eff + slope * (lf - 22) + rng.normal(scale=0.05)
            scores = np.clip(0.5 + 0.3 * cap * load + rng.normal(scale=0.01, size=6), 0, 1)
            target = float(np.clip(expit(2.5 * cap) + rng.normal(scale=0.02), 0, 1))
            rows.append(
                {"model": f"org{f}/m{i}", "family": f"F{f}", "flops": 10**lf, "is_base": True}
                | dict(zip(BENCH, scores, strict=True))
                | {"s:target": target}
            )
    return pd.DataFrame(rows)


def _holdout_largest(models: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    largest = models.loc[models.groupby("family")["flops"].idxmax()]
    return models.drop(index=largest.index), largest


def test_planned_model_is_recovered_within_its_interval_at_the_stated_rate() -> None:
    hits, errors = [], []
    for seed in range(6):
        rest, held = _holdout_largest(world(seed))
        scenarios = [Scenario(r.model, family=r.family, flops=r.flops) for r in held.itertuples()]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExtrapolationWarning)  # small worlds: far is usual
            out = forecast(rest, scenarios, TARGET, settings=SETTINGS, pconf=PCONF).to_frame()
        actual = held.set_index("model")["s:target"].reindex(out["scenario"]).to_numpy()
        hits += list((actual >= out["lower"]) & (actual <= out["upper"]))
        errors += list(np.abs(out["predicted"] - actual))
    # 60 held-out models: a 90% interval covers 54 on average; binomial 1st percentile ~47
    assert np.mean(hits) >= 0.78
    assert np.median(errors) < 0.05  # the law is recovered: points of error, not tens


def test_compute_only_forecast_tracks_the_true_line() -> None:
    models = world(1)
    low = forecast(models, [Scenario("a", family="F0", flops=1e21)], TARGET, settings=SETTINGS)
    high = forecast(models, [Scenario("b", family="F0", flops=1e24)], TARGET, settings=SETTINGS)
    assert high.to_frame()["predicted"].iloc[0] > low.to_frame()["predicted"].iloc[0] + 0.3


def test_new_family_intervals_are_wider_than_the_familys_own() -> None:
    models = world(2)
    scen = [
        Scenario("own", family="F3", flops=1e23),
        Scenario("like", like="F3", flops=1e23),
        Scenario("pooled", flops=1e23),
    ]
    out = forecast(models, scen, TARGET, settings=SETTINGS, pconf=PCONF).to_frame()
    width = (out["upper"] - out["lower"]).to_numpy()
    assert width[1] > width[0] and width[2] > width[0]
    assert list(out["derived_from"].str.split().str[0]) == ["F3", "F3", "pooled"]


def test_evaluated_model_uses_its_observed_scores() -> None:
    models = world(3)
    row = models.iloc[5]
    scores = tuple((b, float(row[b])) for b in BENCH[:3])
    out = forecast(models, [Scenario("mine", scores=scores)], TARGET, settings=SETTINGS)
    frame = out.to_frame().iloc[0]
    assert "3 of 6" in frame["derived_from"]
    assert abs(frame["predicted"] - row["s:target"]) < 0.1
    given = forecast(
        models, [Scenario("given", scores=(*scores, ("s:target", 0.5)))], TARGET, settings=SETTINGS
    ).to_frame()
    assert given["observed"].iloc[0] == 0.5 and np.isnan(given["predicted"].iloc[0])


def test_forecasts_are_deterministic_and_round_trip() -> None:
    models = world(4)
    scen = [Scenario("p", family="F1", flops=3e23)]
    a = forecast(models, scen, TARGET, settings=SETTINGS, pconf=PCONF)
    b = forecast(models, scen, TARGET, settings=SETTINGS, pconf=PCONF)
    assert a.to_json() == b.to_json()
    assert ForecastResult.from_dict(a.to_dict()).to_json() == a.to_json()


def test_far_extrapolation_warns_and_is_noted() -> None:
    with pytest.warns(ExtrapolationWarning, match="decades of compute past"):
        out = forecast(
            world(5), [Scenario("far", family="F0", flops=1e28)], TARGET, settings=SETTINGS
        )
    assert any("decades" in n for n in out.notes)


@pytest.mark.parametrize(
    ("scenario", "targets", "message"),
    [
        (Scenario("x", family="NoSuch", flops=1e23), TARGET, "family 'NoSuch' has no model"),
        (Scenario("x", like="NoSuch", flops=1e23), TARGET, "like='NoSuch': no line"),
        (Scenario("x", scores=(("other:col", 0.5),)), TARGET, "none of its scores is a basis"),
        (Scenario("x", family="F0", flops=1e23), [ForecastTarget("s:nope")], "unknown target"),
    ],
)
def test_inputs_outside_the_fit_get_one_clear_error(scenario, targets, message) -> None:
    with pytest.raises(PredictError, match=message):
        forecast(world(6), [scenario], targets, settings=SETTINGS)


@pytest.mark.parametrize("flops", [0.0, -1e22, float("inf")])
def test_nonpositive_compute_is_refused(flops: float) -> None:
    with pytest.raises(PredictError, match="FLOPs must be a positive number"):
        Scenario("x", family="F0", flops=flops)


def test_completion_fills_only_missing_cells_and_covers_hidden_ones() -> None:
    models = world(7, n_fam=12, per=8)
    rng = np.random.default_rng(0)
    holes = models[BENCH].mask(rng.random((len(models), 6)) < 0.2)
    holes.iloc[:, 0] = models[BENCH[0]]  # every row keeps one score
    table = models.assign(**{b: holes[b] for b in BENCH})
    done = complete_basis(table, SETTINGS, level=0.9)
    observed = done[done["status"] == "observed"]
    merged = observed.merge(table.melt("model", BENCH, "column", "v"), on=["model", "column"])
    assert (merged["value"] == merged["v"]).all()  # observed values untouched
    assert observed["lower"].isna().all()
    predicted = done[done["status"] == "predicted"]
    assert (predicted["lower"] <= predicted["value"]).all()
    assert (predicted["value"] <= predicted["upper"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert done["status"].isin(["observed", "predicted"]).all()


def test_completion_intervals_follow_the_rows_pattern_and_cover_held_out_rows() -> None:
    """Two latent capabilities: a cell filled from one score is less certain than one filled
    from five; on rows the imputer never saw, known by two scores, 90% intervals cover ~90%."""
    rng = np.random.default_rng(3)
    latent = rng.normal(size=(400, 2))
    loadings = np.kron(np.eye(2), np.ones(3)) * 0.08  # the first three, the last three
    scores = 0.5 + latent @ loadings + rng.normal(scale=0.01, size=(400, 6))
    X = pd.DataFrame(scores, columns=BENCH)
    settings = CapabilityConfig(benchmarks=tuple(BENCH), n_components=2, impute_components=2)
    pi = PatternIntervals.fit(X.iloc[:150], settings, level=0.9, seed=0)
    one = pi.half_widths(np.array([True] + [False] * 5))
    five = pi.half_widths(np.array([True] * 5 + [False]))
    assert one[0] == 0.0 and five[5] > 0
    assert one[5] > 1.5 * five[5]
    observed = np.array([True, True] + [False] * 4)
    new = X.iloc[150:].to_numpy()
    filled = pi.crossfit.imputers[0].impute(np.where(observed, new, np.nan))
    inside = np.abs(filled - new)[:, ~observed] <= pi.half_widths(observed)[~observed]
    assert 0.85 <= inside.mean() <= 0.95


def test_intervals_do_not_depend_on_the_other_targets_or_their_order() -> None:
    models = world(5)
    models["s:other"] = np.clip(models["s:target"] ** 2 + 0.01 * np.arange(len(models)) % 3, 0, 1)
    scen = [
        Scenario("planned", family="F1", flops=3e23),
        Scenario("own", scores=(("s:b0", 0.6), ("s:b1", 0.55))),
    ]
    other = ForecastTarget("s:other")

    def rows(targets: list[ForecastTarget], scenarios: list[Scenario]) -> pd.DataFrame:
        out = forecast(models, scenarios, targets, settings=SETTINGS, pconf=PCONF).to_frame()
        return out[out["target"] == "s:target"].set_index("scenario").sort_index()

    alone = rows(TARGET, scen)
    pd.testing.assert_frame_equal(alone, rows([*TARGET, other], scen))
    pd.testing.assert_frame_equal(alone, rows([other, *TARGET], scen[::-1]))
    assert (alone["lower"] < alone["predicted"]).all()
    assert (alone["predicted"] < alone["upper"]).all()


@pytest.mark.parametrize("method", ["obsscale", "paper"])
def test_fewer_own_scores_give_wider_intervals(method: str) -> None:
    """The uncertainty of factors imputed from a few scores is carried into the interval."""
    models = world(6)
    pconf = PredictConfig(method=method, n_bootstrap=100, n_starts=2)
    row = models.iloc[len(models) // 2]
    all_six = tuple((b, float(row[b])) for b in BENCH)
    scen = [Scenario("six", scores=all_six), Scenario("two", scores=all_six[:2])]
    rest = models.drop(index=row.name)
    out = forecast(rest, scen, TARGET, settings=SETTINGS, pconf=pconf).to_frame()
    width = (out["upper"] - out["lower"]).to_numpy()
    assert width[1] > width[0]


def test_the_configured_score_pairs_leave_a_targets_twin_out_of_its_basis() -> None:
    from obsscale.model.forecast.forecast import TargetModel

    pairs = (("s:target", "s:b0"),)
    tm = TargetModel.fit(world(), TARGET[0], SETTINGS, PCONF, pairs)
    assert "s:b0" not in tm.basis
    assert "s:b0" in TargetModel.fit(world(), TARGET[0], SETTINGS, PCONF, ()).basis
