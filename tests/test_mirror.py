"""Fetch + harmonize the real upstream files from the loopback mirror (skipped without it)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from obsscale.config import OBSSCALING_BENCHMARKS, default_config
from obsscale.data.table import load_models

pytestmark = pytest.mark.mirror

OBS_BENCHMARKS = [b.split(":", 1)[1] for b in OBSSCALING_BENCHMARKS]


@pytest.fixture(scope="module")
def models(mirror_data: Path) -> pd.DataFrame:
    return load_models(default_config(mirror_data))


def test_every_file_matches_the_mirror(mirror_data: Path, upstream: Path) -> None:
    manifest = json.loads((mirror_data / "raw" / "manifest.json").read_text())
    assert len(manifest) == 8 + 39  # + the Epoch hub: runs, 37 external tables, versions
    for entry in manifest.values():
        host_path = entry["url"].split("/", 3)[3]
        original = upstream / host_path
        assert hashlib.sha256(original.read_bytes()).hexdigest() == entry["sha256"]
        assert (mirror_data / entry["path"]).stat().st_size == entry["bytes"]


def test_curated_base_models_complete(models: pd.DataFrame, upstream: Path) -> None:
    base = models[models["family_source"] == "obsscaling_base"]
    assert len(base) == 148
    assert base["is_base"].all()
    assert base[[f"obsscaling:{b}" for b in OBS_BENCHMARKS]].notna().any(axis=1).all()
    curated_flops = base["flops_source"].isin(["obsscaling_base", "correction"])
    assert curated_flops.sum() == 123
    # the extras, whose compute only Epoch gives: Qwen2-72B, and GPT-2 1.5B (matched through
    # the hub's model name "GPT-2 (1.5B)")
    extra = set(base.loc[base["flops"].notna() & ~curated_flops, "model"])
    assert extra == {"Qwen/Qwen2-72B", "openai-community/gpt2-xl"}
    llama = base.set_index("model").loc["meta-llama/Llama-2-7b-hf"]
    assert llama["flops"] == pytest.approx(8.4e22, rel=1e-12)


def test_leaderboards_joined_by_id(models: pd.DataFrame) -> None:
    m = models.set_index("model")
    assert m.loc["meta-llama/Llama-2-7b-hf", "openllm_v1:MMLU"] == pytest.approx(0.4687)
    assert m.loc["meta-llama/Llama-2-7b-hf", "openllm_v2:GPQA"] == pytest.approx(0.266779, 1e-5)
    # moved ids (rules.toml [id_aliases]) join too: v2 lists Llama-3.1 without "Meta-"
    assert m.loc["meta-llama/Meta-Llama-3.1-8B", "openllm_v2:GPQA"] > 0
    assert "meta-llama/Llama-3.1-8B" not in m.index
    base = models[models["family_source"] == "obsscaling_base"]
    assert base["openllm_v1:MMLU"].notna().sum() >= 100
    assert base["openllm_v2:GPQA"].notna().sum() >= 60
    assert len(models) > 5000  # the leaderboards bring thousands of models


def test_epoch_dates_where_matched(models: pd.DataFrame) -> None:
    m = models.set_index("model")
    assert m.loc["meta-llama/Llama-2-7b-hf", "release_date"] == "2023-07-18"
    assert m.loc["meta-llama/Llama-2-7b-hf", "release_date_source"] == "epoch"
    assert (models["release_date_source"] == "epoch").sum() >= 15


def test_leaderboard_quirks_handled(models: pd.DataFrame, mirror_data: Path) -> None:
    q = pd.read_csv(mirror_data / "processed" / "quality.csv")
    flagged_v1 = q[(q["rule"] == "flagged") & (q["source"] == "openllm_v1")]
    assert len(flagged_v1) == 109  # the rows whose inverted `flagged` reads FALSE
    dup = q[q["rule"] == "duplicate_variant"]
    assert set(dup["source"]) == {"openllm_v1", "openllm_v2"}
    assert not models["model"].str.lower().duplicated().any()


def test_every_model_with_compute_has_a_family(models: pd.DataFrame) -> None:
    # hub models (Epoch's notable-models compute, matched by Epoch's own model name) have no
    # family rule: they enter the frontier analyses, not the family fits
    hub = models[[c for c in models.columns if c.startswith("epoch_hub:")]].notna().any(axis=1)
    assert models.loc[models["flops"].notna() & ~hub, "family"].notna().all()


def test_second_fetch_uses_cache(
    mirror_data: Path, mirror_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from obsscale.cli import main

    before = (mirror_data / "processed" / "models.csv").read_bytes()
    assert main(["fetch", "--data-dir", str(mirror_data), "--mirror", mirror_url, "-q"]) == 0
    out = capsys.readouterr().out
    assert out.count("cached") == 47
    assert (mirror_data / "processed" / "models.csv").read_bytes() == before  # deterministic


def test_fetch_fit_report_on_the_mirror_is_deterministic(
    mirror_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The integration test: the mirror's fetch (fixture), then fit twice (the artifacts both
    runs write byte-identical; the second skips the back-tests, whose determinism
    test_predict checks) and the report from the artifacts, with its sections."""
    from obsscale.cli import main

    for out, extra in (("a", []), ("b", ["--no-targets"])):
        args = ["fit", "--data-dir", str(mirror_data), "--out", str(tmp_path / out), *extra]
        assert main(args) == 0
    files = sorted(p.name for p in (tmp_path / "a").glob("*.json"))
    assert {"fit.json", "run.json", "forecast.json", "frontier.json"} <= set(files)
    for name in ("fit.json", "frontier.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a = (tmp_path / "a" / "fit.json").read_bytes()
    fit = json.loads(a)
    models_csv = mirror_data / "processed" / "models.csv"
    assert fit["input_sha256"] == hashlib.sha256(models_csv.read_bytes()).hexdigest()
    assert len(fit["models"]) == 148
    assert fit["explained_variance_ratio"][0] == pytest.approx(0.853, abs=0.005)
    assert "Capability factors" in capsys.readouterr().out
    assert main(["report", "--data-dir", str(mirror_data), "--out", str(tmp_path / "a")]) == 0
    html = (tmp_path / "a" / "index.html").read_text()
    for section in ("Forecasts", "Frontier", "GPQA Diamond", "openllm_v2:BBH"):
        assert section in html, section


def test_fit_cli_errors_are_one_line(
    mirror_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from obsscale.cli import main

    rc = main(
        ["fit", "--data-dir", str(mirror_data), "--out", str(tmp_path), "--families", "Llama-2"]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith("obsscale fit: error: too few models: 3")
    assert not (tmp_path / "fit.json").exists()


def test_epoch_hub_joined(models: pd.DataFrame, mirror_data: Path) -> None:
    hub_cols = [c for c in models.columns if c.startswith("epoch_hub:")]
    assert len(hub_cols) == 44  # 36 external tables + 8 run tasks
    has = models[hub_cols].notna().any(axis=1)
    epoch_ids = models["model"].str.startswith("epoch:")
    assert has.sum() == 470 and (has & ~epoch_ids).sum() == 116 and epoch_ids.sum() == 354
    values = models[hub_cols].to_numpy().ravel()
    values = values[~pd.isna(values)]
    assert len(values) == 2013 and values.min() >= 0 and values.max() <= 1
    assert models.loc[has, "release_date"].notna().sum() >= 440
    m = models.set_index("model")
    assert m.loc["Qwen/Qwen-7B", "epoch_hub:MMLU"] == pytest.approx(0.45)  # joined by HF id
    assert m.loc["epoch:gpt-4o-2024-05-13", "flops_source"] == "epoch"  # notable compute
    q = pd.read_csv(mirror_data / "processed" / "quality.csv")
    unparsed = q[q["rule"] == "unparsed_file"]
    assert list(unparsed["source"]) == ["epoch_hub_mcbench"]  # every other table parsed


def test_curated_models_dated(models: pd.DataFrame) -> None:
    base = models[models["family_source"] == "obsscaling_base"]
    dated = base[base["release_date"].notna()]
    assert len(dated) >= 144  # undated: gpt-neo-125m, starcoderbase-1b/3b/7b
    assert dated["release_date_source"].notna().all()
    assert not (base["release_date"] == "2022-03-02").any()  # the HF migration date
    m = base.set_index("model")
    assert m.loc["openai-community/gpt2-xl", "release_date"] == "2019-11-05"
    assert m.loc["openai-community/gpt2-xl", "release_date_source"] == "epoch_hub_versions"
