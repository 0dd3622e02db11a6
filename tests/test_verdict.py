"""The predictability verdict: each branch of the rule on numbers at and around its thresholds,
on back-tests of generated worlds where the answer is known, and where users read it (predict
and fit output, the JSON, the report's trust table)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from test_predict import BENCH, FAST, SETTINGS, world

from obsscale.cli import main
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.splits import CutoffFlops
from obsscale.model.prediction.verdict import (
    MIN_BASELINE_RATIO,
    MIN_R2,
    MIN_TEST_MODELS,
    coverage_tolerance,
    predictability,
)

GOOD = dict(n_test=30, r2=0.8, mse=0.001, coverage=0.9, level=0.9)
BASELINES = {"log_flops": 0.004, "log_params": 0.005}


def verdict(baseline_mse: dict[str, float] = BASELINES, **changes: float):
    return predictability(baseline_mse=baseline_mse, **{**GOOD, **changes})


def test_a_clear_case_is_yes_and_names_its_numbers() -> None:
    v = verdict()
    assert v.level == "yes"
    assert str(v).startswith("predictable: yes, because test R² 0.80 on 30 held-out models")
    assert "4x lower than log_flops's" in v.reason and "5x lower than log_params's" in v.reason


@pytest.mark.parametrize(
    ("changes", "level", "words"),
    [
        ({"n_test": MIN_TEST_MODELS - 1}, "no", f"only {MIN_TEST_MODELS - 1} held-out models"),
        ({"n_test": MIN_TEST_MODELS}, "yes", "on 5 held-out models"),
        ({"r2": 0.0}, "no", "test R² 0.00"),
        ({"r2": -1.19}, "no", "test R² -1.19 on 30 held-out models (no better than their mean)"),
        ({"r2": math.nan}, "no", "test R² undefined"),
        ({"r2": MIN_R2 - 0.01}, "weakly", "test R² 0.49 < 0.5 on 30 held-out models"),
        ({"r2": MIN_R2}, "yes", "test R² 0.50"),
        ({"coverage": math.nan}, "weakly", "no interval coverage"),
    ],
)
def test_each_branch_of_the_rule(changes: dict[str, float], level: str, words: str) -> None:
    v = verdict(**changes)
    assert (v.level, words in v.reason) == (level, True), v.reason


def test_no_skill_is_no_whatever_the_baselines_ratios() -> None:
    """MUSR's case: R² -1.19 with baselines 1.05x and 1.3x worse reads like a win; it is not."""
    v = verdict({"log_flops": 0.00105, "log_params": 0.0013}, r2=-1.19)
    assert v.level == "no"
    assert "(log_flops x1.05, log_params x1.3) only means they are worse" in v.reason


@pytest.mark.parametrize(
    ("ratio", "level", "words"),
    [
        (MIN_BASELINE_RATIO, "yes", "1.1x lower than log_flops's"),
        (1.09, "weakly", "test MSE only 1.09x lower than log_flops's (< 1.1x)"),
        (0.5, "weakly", "log_flops predicts better (its test MSE is 0.5x the factors')"),
        (math.nan, "yes", "; log_flops left out (no test error to compare)"),
    ],
)
def test_each_baseline_must_be_beaten_by_a_margin(ratio: float, level: str, words: str) -> None:
    v = verdict({"log_flops": 0.001 * ratio, "log_params": 0.005})
    assert (v.level, words in v.reason) == (level, True), v.reason


def test_a_baseline_left_out_is_named_in_every_verdict_with_skill() -> None:
    v = verdict({"log_flops": math.nan, "log_params": 0.005}, coverage=0.5)
    assert v.level == "weakly" and v.reason.endswith(
        "; log_flops left out (no test error to compare)"
    )


def test_coverage_within_two_binomial_standard_errors() -> None:
    tol = coverage_tolerance(0.9, 30)
    assert tol == pytest.approx(2 * math.sqrt(0.9 * 0.1 / 30))
    assert verdict(coverage=0.9 - tol + 1e-9).level == "yes"
    assert verdict(coverage=min(1.0, 0.9 + tol - 1e-9)).level == "yes"
    low = verdict(coverage=0.9 - tol - 0.01)
    assert low.level == "weakly" and "intervals too narrow" in low.reason
    wide = verdict(coverage=0.99, level=0.5)
    assert wide.level == "weakly" and "intervals too wide" in wide.reason
    # the tolerance shrinks with the number of held-out models
    assert verdict(n_test=400, coverage=0.85).level == "weakly"


def test_every_failure_is_named() -> None:
    v = verdict({"log_flops": 0.00105}, r2=0.3, coverage=0.5)
    assert v.level == "weakly"
    parts = v.reason.split("; ")
    assert parts[0].startswith("test R² 0.30 < 0.5") and len(parts) == 3


# ------------------------------------------------------------ back-tests of generated worlds


def _backtest(models: pd.DataFrame) -> PredictionResult:
    split = CutoffFlops(10**22.6)
    return backtest_target(models, "target", split=split, settings=SETTINGS, pconf=FAST)


def _target_of_compute(models: pd.DataFrame) -> pd.DataFrame:
    """A target that follows training compute alone: the compute baseline is the right model."""
    noise = np.random.default_rng(1).normal(scale=0.02, size=len(models))
    return models.assign(target=expit(0.9 * (np.log10(models["flops"]) - 22)) + noise)


def _target_of_nothing(models: pd.DataFrame) -> pd.DataFrame:
    return models.assign(target=np.random.default_rng(5).uniform(0.3, 0.7, len(models)))


@pytest.mark.parametrize(
    ("make", "level"),
    [(lambda m: m, "yes"), (_target_of_compute, "weakly"), (_target_of_nothing, "no")],
    ids=["factors", "compute-only", "noise"],
)
def test_verdict_of_worlds_with_a_known_answer(make, level: str) -> None:
    result = _backtest(make(world()))
    assert result.verdict().level == level, str(result.verdict())


def test_json_carries_the_verdict_and_round_trips() -> None:
    result = _backtest(world())
    d = json.loads(result.to_json())
    assert d["verdict"] == {"level": "yes", "reason": result.verdict().reason}
    assert PredictionResult.from_dict(d).to_json() == result.to_json()


def test_report_trust_table_has_the_verdict() -> None:
    from obsscale.report.tables import trust_table

    result = _backtest(_target_of_nothing(world()))
    (row,) = trust_table([SimpleNamespace(result=result)])
    assert row["predictable"] == result.verdict().to_dict()
    assert row["predictable"]["level"] == "no"


# ------------------------------------------------------------------------- the CLI


@pytest.fixture
def data(tmp_path: Path) -> Path:
    table = tmp_path / "data" / "processed" / "models.csv"
    table.parent.mkdir(parents=True)
    models = world().rename(columns={"target": "s:target", **{b: f"s:{b}" for b in BENCH}})
    models.assign(is_base=True, tokens_t=np.nan).to_csv(table, index=False)
    return tmp_path / "data"


def _args(data: Path) -> list[str]:
    scores = [f"s:{b}" for b in BENCH]
    return ["--data-dir", str(data), "--reference-family", "F0", "--benchmarks", *scores]


def test_predict_prints_the_verdict_and_its_json_has_it(
    data: Path, capsys: pytest.CaptureFixture
) -> None:
    common = [*_args(data), "--target", "s:target", "--cutoff-flops", "4e22"]
    assert main(["predict", *common, "--bootstrap", "60"]) == 0
    text = capsys.readouterr().out
    assert "\npredictable: yes, because test R² " in text
    assert main(["predict", *common, "--bootstrap", "60", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"]["level"] == "yes"


def test_fit_prints_one_verdict_per_target(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "r"
    assert main(["fit", *_args(data), "--out", str(out), "--target", "s:target", "-q"]) == 0
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("s:target: ")]
    assert len(lines) == 1 and lines[0].startswith("s:target: predictable: ")
