"""The fast paths give the same results as the straightforward ones they replace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from obsscale.bench.scale import synthetic_table
from obsscale.config import CapabilityConfig, Config, PredictConfig, default_config
from obsscale.data import store
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.predictions_json import HEAD_KEYS, VALUE_KEYS, prediction_records
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.splits import CutoffFlops, KFold


@pytest.fixture(scope="module")
def table():
    t = synthetic_table(240, seed=3)
    t.loc[5:9, "flops"] = np.nan  # unknown split: no log_flops prediction
    t.loc[10:12, "params_b"] = np.nan  # no log_params prediction
    t.loc[13, "family"] = np.nan
    t.loc[14, "model"] = 'ünïcode "quoted" \\ model'
    return t


def _settings(t):
    bench = tuple(c for c in t.columns if c.startswith("syn:"))
    return CapabilityConfig(benchmarks=bench, reference_family="F0")


@pytest.mark.parametrize("split", [CutoffFlops(10**23.5), KFold(3)])
def test_json_holds_the_values_of_to_dict_and_its_bytes_are_stable(table, split, tmp_path) -> None:
    """orjson writes the JSON (its float notation differs from json's, e.g. 0.00001 for 1e-05,
    and it leaves non-ASCII text unescaped), so only the values equal json's, exactly; the
    same result, rebuilt from its record or not, gives the same bytes."""
    r = backtest_target(
        table, "target", split=split, settings=_settings(table), pconf=PredictConfig(n_bootstrap=8)
    )
    text = r.to_json()
    assert json.loads(text) == json.loads(store.dumps(r.to_dict()))
    assert r.to_json() == text
    back = PredictionResult.from_dict(json.loads(text))
    assert back.to_json() == text
    r.save(tmp_path / "r.json")
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == text + "\n"


# ---------------------------------------------------------------- harmonize skipped if unchanged


@pytest.fixture
def fake_data(tmp_path: Path) -> Config:
    from upstream_fakes import write_fakes

    cfg = default_config(tmp_path / "data")
    write_fakes(cfg)
    return cfg


def _harmonize_output(cfg: Config, capsys: pytest.CaptureFixture[str]) -> str:
    from obsscale.cli.commands import _harmonize

    _harmonize(cfg, skip_unchanged=True)
    return capsys.readouterr().out


def test_harmonize_skipped_only_when_nothing_changed(fake_data, capsys) -> None:
    cfg = fake_data
    first = _harmonize_output(cfg, capsys)
    assert first.startswith("harmonized ")
    models = (cfg.processed_dir / "models.csv").read_bytes()
    again = _harmonize_output(cfg, capsys)
    assert again.startswith("unchanged ")
    # the same counts are reported either way
    assert again.split(":", 1)[1].strip() == first.removeprefix("harmonized ").strip()
    assert (cfg.processed_dir / "models.csv").read_bytes() == models

    # an output edited by hand is rebuilt
    (cfg.processed_dir / "quality.csv").write_text("edited\n")
    assert _harmonize_output(cfg, capsys).startswith("harmonized ")
    assert _harmonize_output(cfg, capsys).startswith("unchanged ")

    # a changed setting, then a changed raw file, rebuild
    assert _harmonize_output(cfg.with_overrides(include_flagged=True), capsys).startswith(
        "harmonized "
    )
    assert _harmonize_output(cfg, capsys).startswith("harmonized ")
    raw = cfg.raw_path(cfg.sources[0])
    raw.write_bytes(raw.read_bytes() + b"\n")
    assert _harmonize_output(cfg, capsys).startswith("harmonized ")


def test_harmonize_key_follows_corrections_file(fake_data) -> None:
    from obsscale.data.cache import harmonize_key

    cfg = fake_data
    before = harmonize_key(cfg)
    (cfg.data_dir / "corrections.csv").write_text("model,field,value,reason\n")
    assert harmonize_key(cfg) != before


# ---------------------------------------------------------------- imputation at scale


def _scores(n: int) -> np.ndarray:
    t = synthetic_table(n)
    return t[[c for c in t.columns if c.startswith("syn:")]].to_numpy()


def test_imputation_iterations_do_not_grow_with_the_table() -> None:
    from obsscale.model.capabilities.imputation import PCAImputer

    iters = [PCAImputer().fit(_scores(n)).n_iter_ for n in (1_000, 30_000)]
    assert max(iters) <= 15, iters  # the reference's step took 29 and 90+


@pytest.mark.parametrize("rank", [1, 2])
def test_imputed_entries_are_the_reference_fixed_point(rank: int) -> None:
    """At convergence, one step of the reference's iteration (replace the missing entries by
    their rank-r reconstruction) no longer moves them."""
    from obsscale.model.capabilities.imputation import PCAImputer, _top_components

    X = _scores(2_000)
    imp = PCAImputer(n_components=rank, tol=1e-10, clip=None).fit(X)
    mask = np.isnan(X)
    Z = (imp.transform(X) - imp.mean_) / imp.scale_
    mu, W = _top_components(Z, rank)
    R = mu + (Z - mu) @ W.T @ W
    np.testing.assert_allclose(R[mask], Z[mask], atol=1e-8)


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_missing_entries_reconstructed_as_einsum_sums_them(rank: int) -> None:
    """The gathered products of one or two axes are einsum's own sums, bit for bit."""
    from obsscale.model.capabilities.imputation import (
        _fill_missing,
        _row_coefficients,
        _top_components,
    )

    X = _scores(500)
    mask = np.isnan(X)
    assert mask.any()
    Z = np.where(mask, 0.0, (X - np.nanmean(X, axis=0)) / np.nanstd(X, axis=0))
    mu, W = _top_components(Z, rank)
    rows, cols = np.nonzero(mask)
    coef = _row_coefficients(np.where(mask, 0.0, Z - mu), ~mask, W)
    want = mu[cols] + np.einsum("kr,rk->k", coef[rows], W[:, cols])
    assert np.array_equal(_fill_missing(Z, ~mask, (rows, cols), mu, W), want)


@pytest.mark.parametrize("rank", [1, 2])
def test_imputation_writes_back_whatever_the_memory_order(rank: int) -> None:
    """The iteration updates the scores through a flat view: C and Fortran order (pandas'
    usual) must give the same fit."""
    from obsscale.model.capabilities.imputation import PCAImputer

    X = _scores(500)
    c, f = (PCAImputer(n_components=rank).fit(a) for a in (X.copy(order="C"), X.copy(order="F")))
    assert c.n_iter_ == f.n_iter_ > 1
    np.testing.assert_allclose(c.components_, f.components_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.transform(X), f.transform(X), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- predictions JSON, quantiles


def _pred_frame() -> pd.DataFrame:
    """Predictions as a back-test lists them, with what the column-wise writer must handle:
    a predictor missing for some models, NaN family, tiny and non-finite values, escaped ids,
    a model listed twice with different actuals, and blocks in different model orders."""
    models = ["org/a", 'q"uote', "del\x7f", "ünï", "org/b", "org/a"]
    rows = []
    for p, name in enumerate(["pc", "log_flops", "a_first"]):
        order = range(len(models)) if p != 1 else reversed(range(len(models)))
        for i in order:
            if name == "a_first" and i == 2:
                continue
            rows.append(
                {
                    "model": models[i],
                    "family": None if i == 3 else f"F{i % 2}",
                    "split": "test" if i % 2 else "train",
                    "predictor": name,
                    "actual": 0.5 + 0.1 * i if i != 5 else 0.25,
                    "predicted": [3e-5, 0.5, -1e-7, 1e16, np.nan, 0.0][i] + p,
                    "lower": -0.2 - i,
                    "upper": 2.0 / (i + 1),
                }
            )
    return pd.DataFrame(rows)


def _records_by_hand(pred: pd.DataFrame) -> list[dict]:
    """The records as a loop over the rows builds them: one per (model, family, split,
    actual) in order of first appearance, each predictor's last row winning, NaN as None."""

    def plain(v):
        return None if v is None or v != v else v

    records: dict[tuple, dict] = {}
    for r in pred.itertuples(index=False):
        key = (r.model, plain(r.family), r.split, plain(r.actual))
        record = records.setdefault(key, dict(zip(HEAD_KEYS, key, strict=True)))
        record[r.predictor] = {k: plain(getattr(r, k)) for k in VALUE_KEYS}
    return list(records.values())


@pytest.mark.parametrize("same_order", [False, True])
def test_column_wise_records_equal_a_loop_over_the_rows(same_order: bool) -> None:
    pred = _pred_frame()
    if same_order:  # every predictor on the same models in the same order: the fast grouping
        pred = pred[pred["predictor"] != "a_first"]
        pred = pred.sort_values(["predictor", "model", "actual"], kind="stable")
    assert prediction_records(pred) == _records_by_hand(pred)
    assert prediction_records(pred.iloc[:0]) == []


def test_sorted_quantiles_equal_numpy_quantile() -> None:
    from obsscale.model.prediction.intervals import sorted_quantiles

    rng = np.random.default_rng(1)
    for B, m in ((200, 7), (1, 3), (57, 5)):
        x = np.round(rng.normal(size=(B, m)), 1) + 0.0  # ties; no -0.0 (its order is free)
        x[rng.random(x.shape) < 0.05] = np.nan
        for qs in (((1 - 0.9) / 2, (1 + 0.9) / 2), (0.0, 0.5, 1.0), (0.123,)):
            expected = np.quantile(x, list(qs), axis=0)
            np.testing.assert_array_equal(sorted_quantiles(np.sort(x, axis=0), qs), expected)


def test_large_fits_search_starts_on_a_sample(monkeypatch) -> None:
    """Above SEARCH_ROWS training rows the starts are compared on a sample, and the best is
    refined on every row: the same optimum as the full search."""
    from obsscale.model.prediction import sigmoid as link

    rng = np.random.default_rng(4)
    X = rng.normal(size=(3000, 2))
    y = np.clip(0.9 / (1 + np.exp(-(X @ [1.2, -0.4] + 0.2))) + rng.normal(0, 0.05, 3000), 0, 1)
    full = link.SigmoidRegressor(n_starts=3).fit(X, y)
    monkeypatch.setattr(link, "SEARCH_ROWS", 300)
    sampled = link.SigmoidRegressor(n_starts=3).fit(X, y)
    np.testing.assert_allclose(sampled.theta_, full.theta_, atol=1e-6)
    assert sampled.cost_ <= full.cost_ * (1 + 1e-9)


def test_nested_back_tests_run_on_a_sample_of_a_large_training_side(monkeypatch) -> None:
    """Above SEARCH_ROWS training models the nested cutoffs are cut from a seeded sample of
    that many training models (the same for the same seed); below it, from all of them."""
    from obsscale.model.prediction import sigmoid as link
    from obsscale.model.prediction import tuning

    rng = np.random.default_rng(5)
    logf = rng.uniform(20, 24, 5000)
    train = logf < 23.0
    quantiles = (0.6, 0.8)
    full = tuning.inner_folds(logf, train, quantiles)
    assert all(((tr | te) == train).all() for tr, te in full)
    monkeypatch.setattr(link, "SEARCH_ROWS", 1000)
    sampled = tuning.inner_folds(logf, train, quantiles, seed=3)
    for tr, te in sampled:
        used = tr | te
        assert used.sum() == 1000 and not (used & ~train).any() and not (tr & te).any()
    again = tuning.inner_folds(logf, train, quantiles, seed=3)
    assert all((a[0] == b[0]).all() for a, b in zip(sampled, again, strict=True))
    other = tuning.inner_folds(logf, train, quantiles, seed=4)
    assert not (sampled[0][0] == other[0][0]).all()
