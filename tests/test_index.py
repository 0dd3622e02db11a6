"""The stitched capability index: recovery of known C/D/alpha on generated data, the anchor's
scale, intervals, fold-in, validation protocols, determinism and the `obsscale index` tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from obsscale.cli import main
from obsscale.exceptions import CapabilityDataError
from obsscale.model.index.irt import CapabilityIndex
from obsscale.model.index.validation import heldout_cells, heldout_models


def world(n: int = 120, p: int = 8, missing: float = 0.4, seed: int = 0, noise: float = 0.02):
    """Scores from known (C, D, alpha), a share of them unseen; benchmark 0 is the anchor's
    scale (D 0, alpha 1), so the truth is on the scale the fit reports."""
    rng = np.random.default_rng(seed)
    C = rng.normal(0, 1.5, n)
    D = np.r_[0.0, rng.normal(0, 1.5, p - 1)]
    a = np.r_[1.0, rng.uniform(0.5, 2.0, p - 1)]
    Y = expit(a * (C[:, None] - D)) + rng.normal(0, noise, (n, p))
    Y = np.clip(Y, 0, 1)
    hide = rng.random((n, p)) < missing
    hide[:, 0] &= rng.random(n) < 0.5  # the anchor is often seen
    Y[hide] = np.nan
    Y[np.isnan(Y).all(axis=1), 1] = 0.5
    cols = [f"b{j}" for j in range(p)]
    return pd.DataFrame(Y, index=[f"m{i}" for i in range(n)], columns=cols), C, D, a


def test_recovers_known_parameters_on_the_anchor_scale() -> None:
    X, C, D, a = world()
    idx = CapabilityIndex(anchor="b0").fit(X)
    assert idx.difficulty_["b0"] == pytest.approx(0, abs=1e-12)
    assert idx.slope_["b0"] == pytest.approx(1, abs=1e-12)
    assert np.corrcoef(idx.capability_, C)[0, 1] > 0.97
    np.testing.assert_allclose(idx.difficulty_.to_numpy()[1:], D[1:], atol=0.35)
    np.testing.assert_allclose(idx.slope_.to_numpy()[1:], a[1:], rtol=0.3)


def test_intervals_cover_the_truth_about_as_stated() -> None:
    X, C, _, _ = world(n=200, seed=1)
    idx = CapabilityIndex(anchor="b0").fit(X)
    z = 1.6449
    inside = np.abs(idx.capability_.to_numpy() - C) <= z * idx.capability_se_.to_numpy()
    assert 0.75 <= inside.mean() <= 1.0
    assert (idx.capability_se_ > 0).all()


def test_anchor_changes_scale_not_fit() -> None:
    X, *_ = world(seed=2)
    one = CapabilityIndex(anchor="b0").fit(X)
    two = CapabilityIndex(anchor="b3").fit(X)
    np.testing.assert_allclose(one.fitted(), two.fitted(), atol=1e-6)
    assert two.difficulty_["b3"] == pytest.approx(0, abs=1e-12)


def test_fold_in_matches_the_fit_for_a_fitted_row() -> None:
    X, *_ = world(seed=3)
    idx = CapabilityIndex(anchor="b0").fit(X)
    again = idx.fold_in(X.iloc[:10])
    # the fit moves D and alpha with each row; on 120 rows one row barely moves them
    np.testing.assert_allclose(again["capability"], idx.capability_.iloc[:10], atol=0.05)
    assert (again["n_benchmarks"] == X.iloc[:10].notna().sum(axis=1)).all()


def test_deterministic() -> None:
    X, *_ = world(seed=4)
    a, b = CapabilityIndex().fit(X), CapabilityIndex().fit(X)
    pd.testing.assert_series_equal(a.capability_, b.capability_)
    assert heldout_cells(X, folds=5, seed=1) == heldout_cells(X, folds=5, seed=1)


def test_validation_protocols_score_well_on_the_model_world() -> None:
    X, *_ = world(seed=5)
    cells = heldout_cells(X, folds=5)
    assert cells["n_cells"] == X.notna().to_numpy().sum() and cells["r2"] > 0.9
    rows = heldout_models(X, revealed=(1, 5), folds=5)
    assert [r["revealed"] for r in rows] == [1, 5]
    assert rows[1]["mae_points"] < rows[0]["mae_points"]


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"a": [0.5, 1.5]}), "fractions"),
        (pd.DataFrame({"a": [0.5, 0.2], "b": [np.nan, np.nan]}), "'b' has no score"),
    ],
)
def test_refuses_bad_matrices(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(CapabilityDataError, match=match):
        CapabilityIndex().fit(frame)


def test_anchor_must_exist() -> None:
    X, *_ = world(n=20)
    with pytest.raises(CapabilityDataError, match="anchor benchmark 'nope'"):
        CapabilityIndex(anchor="nope").fit(X)


def test_cli_writes_model_and_benchmark_tables(tmp_path) -> None:
    X, *_ = world(n=60, p=12, missing=0.3, seed=6)
    X.columns = [f"epoch_hub:{c}" for c in X.columns]
    models = X.reset_index(names="model")
    models["model"] = [f"epoch:v{i}" for i in range(59)] + ["epoch:v1_high"]
    for col in ("family", "params_b", "tokens_t", "flops", "is_base"):
        models[col] = np.nan
    models["release_date"] = "2024-01-01"
    (tmp_path / "processed").mkdir()
    models.to_csv(tmp_path / "processed" / "models.csv", index=False)
    out, bench = tmp_path / "m.csv", tmp_path / "b.csv"
    args = ["index", "--data-dir", str(tmp_path), "--out", str(out), "--anchor", "epoch_hub:b0"]
    assert main([*args, "--benchmarks-out", str(bench), "--top", "0"]) == 0
    table, bt = pd.read_csv(out), pd.read_csv(bench)
    assert len(table) == 60 and set(table["hub_version"]) == {m[6:] for m in models["model"]}
    assert (table["lower"] < table["capability"]).all()
    assert (table["capability"] < table["upper"]).all()
    high = table.set_index("model").loc["epoch:v1_high"]
    assert (high["effort"], high["base_model"]) == ("high", "epoch:v1")
    assert len(bt) == 12 and bt.loc[bt["anchor"], "difficulty"].item() == pytest.approx(0)


def test_frontier_points_are_records_and_the_trend_recovers_a_line() -> None:
    from obsscale.model.index.trend import FrontierTrend, frontier_points

    cap = pd.Series([0.0, -1.0, 1.0, 0.5, 2.0], index=list("abcde"))
    dates = pd.Series(["2023-01-01", "2023-06-01", "2024-01-01", "2024-06-01", "2025-01-01"])
    points = frontier_points(cap, dates.set_axis(cap.index))
    assert list(points.index) == ["a", "c", "e"]
    rng = np.random.default_rng(0)
    t = np.linspace(0, 5, 40)
    trend = FrontierTrend(level=0.9).fit(t, 1 + 0.8 * t + rng.normal(0, 0.1, 40))
    assert trend.per_year() == pytest.approx(0.8, abs=0.05)
    band = trend.predict(np.array([2.0, 8.0]))
    assert (band["lower"] < band["capability"]).all() and (band["capability"] < band["upper"]).all()
    assert (band["upper"] - band["lower"]).iloc[1] > (band["upper"] - band["lower"]).iloc[0]


def test_forecast_released_turns_a_date_into_scores(tmp_path) -> None:
    from obsscale.model.index.trend import forecast_released

    X, *_ = world(n=60, p=12, missing=0.3, seed=7)
    X.columns = [f"epoch_hub:{c}" for c in X.columns]
    models = X.reset_index(names="model")
    order = np.argsort(X["epoch_hub:b1"].fillna(0.5).to_numpy())  # later models score higher
    days = np.empty(60, dtype=int)
    days[order] = np.arange(60) * 20
    models["release_date"] = (pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D")).astype(str)
    out = forecast_released(models, "2026-06-01", ["epoch_hub:b0"])
    c = out["capability"]
    assert c["lower"] < c["predicted"] < c["upper"] and out["per_year"] > 0
    (row,) = out["scores"]
    assert row["benchmark"] == "epoch_hub:b0"
    assert row["lower"] <= row["predicted"] <= row["upper"]
    assert row["predicted"] == pytest.approx(expit(c["predicted"]))  # the anchor: D 0, slope 1
    with pytest.raises(CapabilityDataError, match="'nope' is not a benchmark"):
        forecast_released(models, "2026-06-01", ["nope"])
