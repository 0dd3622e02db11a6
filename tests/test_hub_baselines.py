"""Hub targets whose models have no known compute: the compute-only baselines that cannot be
fitted (or scored) are left out of the back-test with a note, the factor predictor's back-test
runs, the report draws what is left; and a back-test that names no split is cut by release
date where the target's models lack FLOPs, saying so. Generated hub-like data
(``test_frontier_targets.hub_table``) with the frontier models' compute removed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_frontier_targets import NO_WARNING, TARGET, hub_table

from obsscale.cli import main
from obsscale.config import CapabilityConfig, Config, PredictConfig, ReportConfig, ReportTarget
from obsscale.model.prediction.backtest import MIN_BASELINE_MODELS, backtest_target
from obsscale.model.prediction.planning import default_split
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops
from obsscale.model.prediction.targets import date_cutoff
from obsscale.pipeline import fit_and_report

BASIS = ("epoch_hub:MATH Level 5", "epoch_hub:OTIS Mock AIME", "epoch_hub:WeirdML")
SETTINGS = CapabilityConfig(benchmarks=BASIS, n_components=2, base_only=False)
FAST = PredictConfig(n_bootstrap=40, n_starts=2)
SPLIT = CutoffDate("2024-09-01")


def no_compute(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The hub table with no FLOPs or size for any frontier model (as for most API models)."""
    table = hub_table() if table is None else table
    frontier = table["model"].str.startswith("epoch:")
    return table.assign(
        flops=table["flops"].where(~frontier), params_b=table["params_b"].where(~frontier)
    )


def frontier_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table[TARGET].notna()].reset_index(drop=True)


def test_baselines_without_compute_are_left_out_and_the_factors_back_test_runs() -> None:
    rows = frontier_rows(no_compute())
    r = backtest_target(rows, TARGET, split=SPLIT, settings=SETTINGS, pconf=FAST)
    n_train = int((pd.to_datetime(rows["release_date"]) < pd.Timestamp(SPLIT.date)).sum())
    assert r.left_out == {
        "log_flops": f"none of the {n_train} training models has known FLOPs",
        "log_params": f"none of the {n_train} training models has known parameters",
    }
    assert list(r.scores) == ["pc"] and r.mse_ratios() == {}
    pc = r.scores["pc"]
    assert pc.n_test_scored == r.n_test > 0  # alone, it is scored on every test model
    assert np.isfinite(pc.mse_test) and 0 < pc.coverage <= 1
    assert set(r.predictions["predictor"]) == {"pc"}
    assert f"log_params left out of the back-test: {r.left_out['log_params']}" in r.notes
    assert "log_flops left out" in r.summary().as_text()
    d = json.loads(r.to_json())
    assert d["left_out"] == r.left_out and "log_flops" not in d and "log_params" not in d
    again = PredictionResult.from_dict(d)
    assert again.left_out == r.left_out and again.to_json() == r.to_json()  # byte-identical


def test_a_baseline_with_too_few_training_or_test_models_is_left_out() -> None:
    """FLOPs known for two training models (a sigmoid of two parameters would pass through
    both), sizes for the training models and two test models (the factors, compared with it
    on those two alone, would be judged on noise)."""
    rows = frontier_rows(no_compute())
    train = (pd.to_datetime(rows["release_date"]) < pd.Timestamp(SPLIT.date)).to_numpy()
    first = np.flatnonzero(train)[: MIN_BASELINE_MODELS - 1]
    rows.loc[first, "flops"] = [3e23, 6e23]
    sized = train | np.isin(np.arange(len(rows)), np.flatnonzero(~train)[:2])
    rows.loc[sized, "params_b"] = np.linspace(7, 70, int(sized.sum()))
    r = backtest_target(rows, TARGET, split=SPLIT, settings=SETTINGS, pconf=FAST)
    assert r.left_out["log_flops"].startswith(
        f"only 2 of the {int(train.sum())} training models have known FLOPs; its sigmoid needs 3"
    )
    assert r.left_out["log_params"] == (
        f"only 2 of the {r.n_test} test models have known parameters: fewer than 5, too few to "
        "compare it on"
    )
    assert list(r.scores) == ["pc"] and r.scores["pc"].n_test_scored == r.n_test


def test_a_baseline_that_can_be_fitted_stays() -> None:
    rows = frontier_rows(hub_table())  # a third of the frontier models have FLOPs
    r = backtest_target(rows, TARGET, split=SPLIT, settings=SETTINGS, pconf=FAST)
    assert r.left_out == {} and set(r.scores) == {"pc", "log_flops", "log_params"}
    assert json.loads(r.to_json())["left_out"] == {}


def test_default_split_is_by_date_where_the_target_models_lack_flops() -> None:
    table = hub_table()
    gsm = "obsscaling:GSM8K"  # base models with compute on both sides of the cutoff
    assert default_split(table, gsm, 10**22.5, frontier=False) == (CutoffFlops(10**22.5), None)
    split, note = default_split(table, TARGET, 8.4e22, frontier=True)
    assert split == date_cutoff(table, TARGET)
    assert note is not None and note.startswith(f"{TARGET}: split by release date (no split")
    assert "frontier models" in note and "give --cutoff-flops" in note
    small = table.assign(flops=table["flops"].where(table["flops"] > 1e23))  # none below
    split, note = default_split(small, gsm, 8.4e22, frontier=False)
    assert isinstance(split, CutoffDate) and "0 at or below the FLOPs cutoff" in (note or "")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nocompute")
    (folder / "processed").mkdir()
    no_compute().to_csv(folder / "processed" / "models.csv", index=False)
    return folder


@pytest.mark.filterwarnings(NO_WARNING)
def test_predict_without_a_split_cuts_a_hub_target_by_date(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["predict", "--data-dir", str(data_dir), "--target", TARGET]
    assert main(args) == 0
    out = capsys.readouterr().out
    cut = date_cutoff(no_compute(), TARGET)
    assert cut.describe() in out and f"{TARGET}: split by release date (no split given)" in out
    assert "log_flops left out of the back-test: none of the" in out
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"]["split"] == {"kind": "cutoff_date", "value": cut.date}
    (note,) = [n for n in result["notes"] if "split by release date" in n]
    assert "frontier models (compute rarely public): 0 of its 60 models have known FLOPs" in note
    assert set(result["left_out"]) == {"log_flops", "log_params"}
    assert 0 < result["pc"]["coverage_90"] <= 1
    # a cutoff the user gives is kept, whatever it leaves
    assert main([*args, "--cutoff-flops", "8.4e22"]) == 1
    assert "no other benchmark is observed for 25% of its 0 models" in capsys.readouterr().err


@pytest.mark.filterwarnings(NO_WARNING)
def test_report_draws_a_back_test_without_baselines(tmp_path: Path) -> None:
    cfg = Config(
        data_dir=tmp_path / "data",
        predict=PredictConfig(n_bootstrap=40, n_starts=2),
        report=ReportConfig(targets=(ReportTarget(TARGET),), dpi=40),
    )
    (cfg.processed_dir).mkdir(parents=True)
    no_compute().to_csv(cfg.processed_dir / "models.csv", index=False)
    index = fit_and_report(cfg, tmp_path / "reports", progress=False)
    run = json.loads((index.parent / "run.json").read_text())
    assert [e["error"] for e in run["targets"]] == [None]
    page = index.read_text()
    assert "left out: none of the" in page  # the back-test table's row and the trust table
    assert "no compute baseline could be fitted" in page
