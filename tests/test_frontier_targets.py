"""Frontier targets that need no flags: a hub target whose models are not base models and lack
the default basis gets its own models, a basis chosen from what they have, a component count
the basis supports, and one line saying so (``targets.plan_target``), in ``predict``,
``forecast --scores`` and ``fit``. Generated hub-like data: base models with the paper's basis,
frontier models (no compute, no family) with hub scores of one rising capability."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from obsscale.cli import main
from obsscale.config import DEFAULT_SCORE_PAIRS, OBSSCALING_BENCHMARKS, CapabilityConfig
from obsscale.exceptions import PredictError
from obsscale.model.prediction.targets import (
    FRONTIER_SHARE,
    TargetPlan,
    date_cutoff,
    frontier_basis,
    plan_target,
)

TARGET = "epoch_hub:GPQA Diamond"
HUB = ["GPQA Diamond", "GPQA Diamond (public)", "MATH Level 5", "OTIS Mock AIME", "WeirdML"]
NO_WARNING = "error::obsscale.exceptions.ConvergenceWarning"


def hub_table(n_base: int = 30, n_hub: int = 60, seed: int = 0) -> pd.DataFrame:
    """Base models (Llama-2 and two other families, known compute) with the paper's basis and
    an old hub benchmark (``MMLU``); frontier models released 2023-2025 with hub scores of a
    capability rising with the date, 25% of them unseen, ``MMLU`` seen for 3 of them only."""
    rng = np.random.default_rng(seed)
    log_flops = rng.uniform(21, 24, n_base)
    skill = (log_flops - 22.5) + rng.normal(0, 0.2, n_base)
    base = pd.DataFrame(
        expit(skill[:, None] * rng.uniform(0.6, 1.4, 8) + rng.normal(0, 0.1, (n_base, 8))),
        columns=list(OBSSCALING_BENCHMARKS),
    )
    base["epoch_hub:MMLU"] = expit(skill + 0.3)
    base["model"] = [f"org/base-{i}" for i in range(n_base)]
    base["family"] = np.array(["Llama-2", "Pythia", "OPT"])[np.arange(n_base) % 3]
    base["flops"], base["is_base"] = 10**log_flops, True
    base["release_date"] = "2022-06-01"
    base["params_b"] = 10 ** (log_flops - 21.5)
    t = np.sort(rng.uniform(0, 2.5, n_hub))
    ability = t - 1.2 + rng.normal(0, 0.15, n_hub)
    hub = pd.DataFrame(
        expit(ability[:, None] * rng.uniform(0.8, 1.6, len(HUB)) + rng.normal(0, 0.3, len(HUB))),
        columns=[f"epoch_hub:{b}" for b in HUB],
    )
    hub[rng.random(hub.shape) < 0.25] = np.nan
    hub[TARGET] = expit(1.3 * ability)  # every frontier model has the target
    hub["epoch_hub:MMLU"] = np.nan
    hub.loc[:2, "epoch_hub:MMLU"] = expit(ability[:3] + 2)
    hub["model"] = [f"epoch:frontier-{i}" for i in range(n_hub)]
    # compute known for a third, size for another third (never both, as for many hub models)
    hub["flops"] = np.where(np.arange(n_hub) % 3 == 0, 10 ** (22.5 + t), np.nan)
    hub["params_b"] = np.where(np.arange(n_hub) % 3 == 1, 10 ** (1 + t / 2), np.nan)
    days = (t * 365.25).round().astype(int)
    hub["release_date"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D")).astype(str)
    frame = pd.concat([base, hub], ignore_index=True)
    for col in ("tokens_t", "base_model"):
        frame[col] = np.nan
    return frame


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hubdata")
    (folder / "processed").mkdir()
    hub_table().to_csv(folder / "processed" / "models.csv", index=False)
    return folder


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "did not converge" not in out + err
    return out, err


@pytest.mark.filterwarnings(NO_WARNING)
def test_forecast_scores_on_a_hub_target_needs_no_flags(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine.csv"
    mine.write_text("Model,MMLU,MATH Level 5,OTIS Mock AIME\nweak,.5,.2,.1\nstrong,.9,.9,.8\n")
    args = ["forecast", "--data-dir", str(data_dir), "--scores", str(mine), "--target", TARGET]
    out, err = run(args, capsys)
    assert "'MMLU' read as 'epoch_hub:MMLU'" in err  # the target's source, not obsscaling's
    (note,) = [line for line in out.splitlines() if "fitted on all of them" in line]
    assert "60 models with it (0 base models)" in note
    basis = note.split("factor basis ")[1].split(" (")[0].split(", ")
    assert set(basis) == {"epoch_hub:MATH Level 5", "epoch_hub:OTIS Mock AIME"}  # given scores
    assert "left out of it, observed for fewer of them: epoch_hub:MMLU" in note
    assert note.endswith("; 1 capability component(s)")  # two benchmarks: one factor
    rows = json.loads(run([*args, "--json"], capsys)[0])["forecasts"]
    weak, strong = (r for r in sorted(rows, key=lambda r: r["scenario"], reverse=True))
    assert 0 <= weak["lower"] <= weak["predicted"] <= weak["upper"] <= 1
    assert weak["predicted"] < strong["predicted"]  # a stronger model is forecast higher


@pytest.mark.filterwarnings(NO_WARNING)
def test_predict_with_a_date_split_on_a_hub_target_needs_no_flags(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "p.json"
    args = ["predict", "--data-dir", str(data_dir), "--target", TARGET]
    out, _ = run([*args, "--cutoff-date", "2024-09-01", "--out", str(out_file)], capsys)
    result = json.loads(out_file.read_text())
    assert "(public)" not in " ".join(result["basis"])  # a subset of the target would leak it
    assert set(result["basis"]) == {f"epoch_hub:{b}" for b in HUB[2:]}
    assert result["notes"][0].startswith(f"{TARGET}: 60 models with it (0 base models)")
    assert "3 benchmarks" in out and "2 capability component(s)" in out
    assert result["n_test"] > 0 and 0 < result["pc"]["coverage_90"] <= 1
    # the nested cutoffs of a date split cut release dates, and the candidates that need
    # compute (which these models lack) are left out: the factor candidates are ranked
    assert "cutoffs of the split's variable" in out
    assert _ranked(result)
    assert all("flops" not in k and "params" not in k for k in _ranked(result))
    assert "no test model has the inputs of every predictor" in out  # nor in the outer test


def test_plan_keeps_what_the_configured_settings_serve() -> None:
    table = hub_table()
    settings = CapabilityConfig()
    assert plan_target(table, "obsscaling:GSM8K", settings, DEFAULT_SCORE_PAIRS).note is None
    named = plan_target(table, TARGET, settings, DEFAULT_SCORE_PAIRS, widen=False)
    assert named == TargetPlan(settings)  # a named selection stays (its check says why)
    twin = table.assign(**{"other:GPQA": table[TARGET]})  # another source's version of it
    plan = plan_target(twin, TARGET, settings, DEFAULT_SCORE_PAIRS)
    assert "other:GPQA" not in plan.settings.benchmarks
    early = table["release_date"] < "2024-01-01"  # on the training side only: what it has
    dated = plan_target(table, TARGET, settings, DEFAULT_SCORE_PAIRS, train=early)
    n_early = int((early & table[TARGET].notna()).sum())
    assert f"of the {n_early} of them the split trains on" in (dated.note or "")
    chosen = ("epoch_hub:WeirdML", "epoch_hub:MATH Level 5")
    mine = plan_target(table, TARGET, CapabilityConfig(benchmarks=chosen), DEFAULT_SCORE_PAIRS)
    assert mine.settings.benchmarks == chosen and not mine.settings.base_only
    assert mine.settings.n_components == 3 and "factor basis" not in (mine.note or "")
    planned = plan_target(table, TARGET, CapabilityConfig(n_components=1), DEFAULT_SCORE_PAIRS)
    assert planned.settings.n_components == 1  # a configured count is kept


def test_frontier_basis_needs_observed_benchmarks() -> None:
    table = hub_table()
    rows = table[TARGET].notna()
    basis = frontier_basis(table, rows, TARGET, DEFAULT_SCORE_PAIRS)
    counts = table.loc[rows, basis].notna().sum()
    assert (counts >= FRONTIER_SHARE * rows.sum()).all()
    assert list(counts) == sorted(counts, reverse=True)
    sparse = table.assign(**{f"epoch_hub:{b}": np.nan for b in HUB[1:]})
    with pytest.raises(PredictError, match=r"GPQA Diamond: no other benchmark is observed"):
        frontier_basis(sparse, rows, TARGET, DEFAULT_SCORE_PAIRS)


@pytest.mark.filterwarnings(NO_WARNING)
def test_fit_back_tests_a_hub_target_on_its_own_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = hub_table()
    sized = table["flops"].notna() & table["params_b"].isna()  # the FLOPs cutoff's training
    table.loc[sized, "params_b"] = table.loc[sized, "flops"] / 1e21  # side needs sizes too
    (tmp_path / "processed").mkdir()
    table.to_csv(tmp_path / "processed" / "models.csv", index=False)
    out = tmp_path / "run"
    args = ["fit", "--data-dir", str(tmp_path), "--out", str(out), "--quiet"]
    run([*args, "--target", TARGET, "obsscaling:GSM8K"], capsys)
    entries = json.loads((out / "run.json").read_text())["targets"]
    assert [e["error"] for e in entries] == [None, None]
    hub, gsm = (json.loads((out / e["file"]).read_text()) for e in entries)
    assert hub["notes"][0].startswith(f"{TARGET}: 60 models with it")
    # frontier compute is rarely known: by date, the oldest ~70% of its models training
    cut = date_cutoff(table, TARGET)
    assert hub["split"] == cut.describe()
    dates = pd.to_datetime(table.loc[table[TARGET].notna(), "release_date"])
    assert 0.6 <= (dates < pd.Timestamp(cut.date)).mean() <= 0.75
    assert hub["n_test"] == (dates >= pd.Timestamp(cut.date)).sum()
    assert not any("models with it" in n for n in gsm["notes"])  # the default, unplanned
    assert gsm["basis"] == [b for b in OBSSCALING_BENCHMARKS if b != "obsscaling:GSM8K"]
    forecasts = json.loads((out / "forecast.json").read_text())["forecasts"]  # by compute:
    assert {r["target"] for r in forecasts} == {"obsscaling:GSM8K"}  # not for frontier models
    # by date, most test models lack compute: the few that every predictor can score are
    # said to be few, and pc's metrics on all its test models are given beside them
    args = ["predict", "--data-dir", str(tmp_path), "--target", TARGET, "--json"]
    result = json.loads(run([*args, "--cutoff-date", "2024-09-01"], capsys)[0])
    n_test, n_common = result["n_test"], result["pc"]["n_test_scored"]
    assert 0 < n_common < n_test
    (note,) = [n for n in result["notes"] if n.startswith("the metrics rest on")]
    assert f"the {n_common} of {n_test} test models" in note and f"all {n_test} it" in note


def _ranked(result: dict) -> list[str]:
    """The candidates the default method's nested back-tests scored (finite inner MSE)."""
    inner = result["choices"]["pc"]["inner_mse"]
    return [k for k, v in inner.items() if v is not None and v != float("inf")]
