"""Harmonization on small hand-written upstream files that carry the real files' quirks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from upstream_fakes import write_fakes

from obsscale.config import Config
from obsscale.data.harmonize import harmonize
from obsscale.data.parsers import parse_epoch
from obsscale.data.rules import Rules, epoch_key
from obsscale.data.table import load_models
from obsscale.exceptions import HarmonizeError, ParseError


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg = Config(data_dir=tmp_path / "data")
    write_fakes(cfg)
    return cfg


@pytest.fixture
def result(config: Config):
    return harmonize(config)


def row(models: pd.DataFrame, model: str) -> pd.Series:
    hit = models[models["model"] == model]
    assert len(hit) == 1, f"{model}: {len(hit)} rows"
    return hit.iloc[0]


def findings(result, rule: str) -> pd.DataFrame:
    return result.quality[result.quality["rule"] == rule]


def test_one_row_per_model(result) -> None:
    assert not result.models["model"].str.lower().duplicated().any()


def test_curated_metadata_and_flops(result) -> None:
    llama = row(result.models, "meta-llama/Llama-2-7b-hf")
    assert llama["family"] == "Llama-2"
    assert llama["flops"] == pytest.approx(8.4e22, rel=1e-12)
    assert llama["flops_source"] == "obsscaling_base"
    assert bool(llama["is_base"]) is True


def test_six_nd_where_flops_missing(result) -> None:
    tiny = row(result.models, "org/tiny")
    assert tiny["flops"] == pytest.approx(6 * 0.1e9 * 0.002e12)
    assert tiny["flops_source"] == "6ND"


def test_curated_precedes_leaderboard_params(result) -> None:
    # v2 says 6.738B for Llama-2-7b; the curated table says 7.0 and wins
    assert row(result.models, "meta-llama/Llama-2-7b-hf")["params_b"] == 7.0
    assert row(result.models, "Qwen/Qwen2-7B")["params_b_source"] == "openllm_v2"


def test_scores_are_fractions_with_upstream_names(result) -> None:
    llama = row(result.models, "meta-llama/Llama-2-7b-hf")
    assert llama["openllm_v1:MMLU"] == pytest.approx(0.4687)
    assert llama["obsscaling:MMLU"] == pytest.approx(0.44)  # base file wins over sub-10B file
    assert llama["openllm_v2:GPQA"] == pytest.approx(0.2668)
    scores = result.models[[c for c in result.models.columns if ":" in c]].stack().dropna()
    assert len(scores) > 50
    assert ((scores >= 0) & (scores <= 1)).all()
    assert {"openllm_v2:MATH Lvl 5", "evalplus:humaneval+", "obsscaling:Arena-Elo"} <= set(
        result.models.columns
    )


def test_v1_inverted_flags_exclude(result) -> None:
    names = set(result.models["model"])
    assert "someone/cheater-7b" not in names  # flagged reads FALSE upstream = flagged
    assert "someone/Llama-2-7b-hf-merged" not in names  # merged reads FALSE = merged
    assert "someone/Llama-2-7b-hf-sft" in names
    q = result.quality
    excluded = q[(q["severity"] == "excluded") & q["source"].str.startswith("openllm")]
    assert set(excluded["model"]) == {
        "someone/cheater-7b",
        "someone/Llama-2-7b-hf-merged",
        "someone/merge-7b",
    }


def test_include_flagged_and_merged(config: Config) -> None:
    cfg = config.with_overrides(include_flagged=True, include_merged=True)
    names = set(harmonize(cfg).models["model"])
    assert {"someone/cheater-7b", "someone/Llama-2-7b-hf-merged", "someone/merge-7b"} <= names


def test_duplicate_variants_keep_full_precision_and_latest(result) -> None:
    # the 4bit Llama-2 row (MMLU 43.8) loses to float16; the older Pythia re-run loses
    assert row(result.models, "meta-llama/Llama-2-7b-hf")["openllm_v1:MMLU"] == pytest.approx(
        0.4687
    )
    assert row(result.models, "EleutherAI/pythia-1b-deduped")["openllm_v1:MMLU"] == pytest.approx(
        0.2427
    )
    dropped = findings(result, "duplicate_variant")
    assert len(dropped) == 3  # two v1 + one v2 (chat-template variant)
    assert dropped["detail"].str.contains("4bit").any()


def test_v2_base_model_scored_without_chat_template(result) -> None:
    assert row(result.models, "meta-llama/Llama-2-7b-hf")["openllm_v2:GPQA"] == pytest.approx(
        0.2668
    )


def test_out_of_range_score_is_dropped_and_reported(result) -> None:
    assert pd.isna(row(result.models, "someone/broken")["openllm_v1:MMLU"])
    bad = findings(result, "score_out_of_range")
    assert list(bad["model"]) == ["someone/broken"]
    assert bad["value"].iloc[0] == 146.0


def test_families_official_rules_and_base_models(result) -> None:
    assert row(result.models, "Qwen/Qwen2-7B")["family"] == "Qwen2"
    assert row(result.models, "Qwen/Qwen2-7B")["family_source"] == "rules"
    sft = row(result.models, "someone/Llama-2-7b-hf-sft")
    assert sft["family"] == "Llama-2"
    assert sft["family_source"] == "base_model"
    assert pd.isna(row(result.models, "someone/broken")["family"])  # unknown stays unknown


def test_epoch_release_dates_and_compute(result) -> None:
    llama = row(result.models, "meta-llama/Llama-2-7b-hf")
    assert llama["release_date"] == "2023-07-18"
    assert llama["release_date_source"] == "epoch"
    qwen = row(result.models, "Qwen/Qwen2-7B")
    assert qwen["flops"] == pytest.approx(3.2e23)
    assert qwen["flops_source"] == "epoch"
    sft = row(result.models, "someone/Llama-2-7b-hf-sft")  # fine-tunes are never Epoch-matched
    assert sft["release_date"] == "2024-01-01"
    assert sft["release_date_source"] == "openllm_v2"


def test_epoch_param_disagreement_is_flagged_not_used(result) -> None:
    bad = findings(result, "params_b_disagree")
    hit = bad[(bad["model"] == "meta-llama/Llama-2-7b-hf") & (bad["source"] == "epoch")]
    assert len(hit) == 1
    assert hit["value"].iloc[0] == 70.0


def test_sub10b_score_disagreement_is_flagged(result) -> None:
    bad = findings(result, "score_disagree")
    hit = bad[bad["source"] == "obsscaling_sub10b"]
    assert list(hit["field"]) == ["obsscaling:MMLU"]


def test_corrections_are_applied_and_logged(result) -> None:
    btlm = row(result.models, "cerebras/btlm-3b-8k-base")
    assert btlm["tokens_t"] == pytest.approx(0.627)
    assert btlm["flops"] == pytest.approx(1.1286e22)
    assert btlm["flops_source"] == "correction"
    fixed = findings(result, "corrected")
    assert set(fixed["field"]) >= {"tokens_t", "flops"}
    assert fixed["detail"].str.contains("arXiv").any()


def test_without_corrections_the_audit_flags_btlm(config: Config) -> None:
    res = harmonize(config.with_overrides(apply_corrections=False))
    assert row(res.models, "cerebras/btlm-3b-8k-base")["tokens_t"] == 627.0
    tpp = res.quality[res.quality["rule"] == "tokens_per_param"]
    assert "cerebras/btlm-3b-8k-base" in set(tpp["model"])


def test_is_base_any_leaderboard_calling_it_fine_tuned_wins(result) -> None:
    assert not row(result.models, "meta-llama/Llama-2-7b-chat-hf")["is_base"]
    bad = findings(result, "is_base_disagree")
    assert "meta-llama/Llama-2-7b-chat-hf" in set(bad["model"])
    assert row(result.models, "meta-llama/Llama-2-7b-hf")["is_base"]  # curated decides


def test_corrected_tokens_feed_six_nd(config: Config) -> None:
    (config.data_dir / "corrections.csv").write_text(
        "model,field,value,reason\nmistralai/Mistral-7B-v0.1,tokens_t,8,test: a cited source\n"
    )
    mistral = row(harmonize(config).models, "mistralai/Mistral-7B-v0.1")
    assert mistral["tokens_t"] == 8.0 and mistral["tokens_t_source"] == "correction"
    assert mistral["flops"] == pytest.approx(6 * 7.3e9 * 8e12)
    assert mistral["flops_source"] == "6ND"


def test_correction_without_reason_is_refused(config: Config) -> None:
    path = config.data_dir / "corrections.csv"
    path.write_text("model,field,value,reason\norg/tiny,params_b,1.0,\n")
    with pytest.raises(HarmonizeError, match="row 1: every correction needs a cited reason"):
        harmonize(config)


def test_correction_of_unknown_field_is_refused(config: Config) -> None:
    (config.data_dir / "corrections.csv").write_text(
        "model,field,value,reason\norg/tiny,obsscaling:MMLU,1.0,because\n"
    )
    with pytest.raises(HarmonizeError, match="cannot be corrected"):
        harmonize(config)


def test_provenance_names_source_and_record(result) -> None:
    prov = result.provenance
    hit = prov[(prov["model"] == "meta-llama/Llama-2-13b-hf") & (prov["field"] == "params_b")]
    assert hit[["source", "row"]].values.tolist() == [["obsscaling_base", 2]]


def test_written_tables_round_trip(config: Config, result) -> None:
    result.write(config)
    back = load_models(config)
    assert list(back.columns) == list(result.models.columns)
    pd.testing.assert_series_equal(back["flops"], result.models["flops"], rtol=1e-11)
    assert (config.processed_dir / "quality.csv").exists()
    assert (config.processed_dir / "provenance.csv").exists()
    assert not list(config.processed_dir.glob("*.part"))


def test_deterministic(config: Config) -> None:
    a, b = harmonize(config), harmonize(config)
    pd.testing.assert_frame_equal(a.models, b.models)
    pd.testing.assert_frame_equal(a.quality, b.quality)


def test_missing_curated_table_is_a_clear_error(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "d")
    write_fakes(cfg, skip=("obsscaling_base", "obsscaling_sub10b", "obsscaling_instruct"))
    with pytest.raises(HarmonizeError, match="run `obsscale fetch` first"):
        curated = ("obsscaling_base", "obsscaling_sub10b", "obsscaling_instruct")
        harmonize(cfg.with_overrides(exclude_sources=curated))
    with pytest.raises(HarmonizeError, match="obsscale fetch --only obsscaling_base"):
        harmonize(cfg)


def test_excluded_source_is_not_needed(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "d", exclude_sources=("epoch",))
    write_fakes(cfg, skip=("epoch",))
    llama = row(harmonize(cfg).models, "meta-llama/Llama-2-7b-hf")
    assert llama["release_date_source"] == "openllm_v2"


def test_epoch_needed_column_gone_is_named(tmp_path: Path, config: Config) -> None:
    path = tmp_path / "e.csv"
    path.write_text("Model,Parameters,Training compute (FLOP)\nA,1,2\n")
    with pytest.raises(ParseError, match=r"missing columns \['Publication date'\]"):
        parse_epoch(path, config.source("epoch"), config)


def test_percent_where_fractions_expected_is_detected(config: Config) -> None:
    path = config.raw_path(config.source("obsscaling_base"))
    frame = pd.read_csv(path)
    frame["MMLU"] = frame["MMLU"] * 100
    frame.to_csv(path, index=False)
    res = harmonize(config)
    assert row(res.models, "meta-llama/Llama-2-7b-hf")["obsscaling:MMLU"] == pytest.approx(0.44)
    assert "obsscaling:MMLU" in set(res.quality[res.quality["rule"] == "scale_mismatch"]["field"])


def test_non_numeric_metadata_is_reported(config: Config) -> None:
    path = config.raw_path(config.source("obsscaling_base"))
    path.write_text(path.read_text().replace("org/tiny,Tiny,0.1", "org/tiny,Tiny,abc"))
    res = harmonize(config)
    bad = res.quality[res.quality["rule"] == "not_numeric"]
    assert bad[["model", "value"]].values.tolist() == [["org/tiny", "abc"]]


@pytest.mark.parametrize(
    ("name", "is_hf", "key"),
    [
        ("meta-llama/Llama-2-7b-hf", True, "llama27b"),
        ("Llama 2-7B", False, "llama27b"),
        ("meta-llama/Meta-Llama-3.1-405B-FP8", True, "llama31405b"),
        ("Llama 3.1-405B", False, "llama31405b"),
        ("huggyllama/llama-65b", True, "llama65b"),
        ("LLaMA-65B", False, "llama65b"),
    ],
)
def test_epoch_key(name: str, is_hf: bool, key: str) -> None:
    assert epoch_key(name, is_hf) == key


def test_family_rules_need_the_official_org() -> None:
    rules = Rules.load()
    assert rules.family_of("meta-llama/Llama-2-7b-hf")[0] == "Llama-2"
    assert rules.family_of("EleutherAI/pythia-410m-deduped")[0] == "Pythia"
    assert rules.family_of("someone/Llama-2-7b-hf") is None
    assert rules.family_of("meta-llama/Llama-2-7b-chat-hf") is None
