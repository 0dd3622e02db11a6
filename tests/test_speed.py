"""The fast paths give the same results as the straightforward ones they replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from obsscale.bench.scale import synthetic_table
from obsscale.config import CapabilityConfig, Config, PredictConfig, default_config
from obsscale.data import store
from obsscale.model.backtest import backtest
from obsscale.model.results import PredictionResult
from obsscale.model.splits import CutoffFlops, KFold


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
def test_json_written_column_wise_equals_generic_encoder(table, split) -> None:
    r = backtest(
        table, "target", split=split, settings=_settings(table), pconf=PredictConfig(n_bootstrap=8)
    )
    assert r.to_json() == store.dumps(r.to_dict())
    back = PredictionResult.from_dict(r.to_dict())
    assert back.to_json() == r.to_json()


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
    from obsscale.model.imputation import PCAImputer

    iters = [PCAImputer().fit(_scores(n)).n_iter_ for n in (1_000, 30_000)]
    assert max(iters) <= 15, iters  # the reference's step took 29 and 90+


@pytest.mark.parametrize("rank", [1, 2])
def test_imputed_entries_are_the_reference_fixed_point(rank: int) -> None:
    """At convergence, one step of the reference's iteration (replace the missing entries by
    their rank-r reconstruction) no longer moves them."""
    from obsscale.model.imputation import PCAImputer, _top_components

    X = _scores(2_000)
    imp = PCAImputer(n_components=rank, tol=1e-10, clip=None).fit(X)
    mask = np.isnan(X)
    Z = (imp.transform(X) - imp.mean_) / imp.scale_
    mu, W = _top_components(Z, rank)
    R = mu + (Z - mu) @ W.T @ W
    np.testing.assert_allclose(R[mask], Z[mask], atol=1e-8)
