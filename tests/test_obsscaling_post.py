"""The ObsScaling post-training table: column names with commas, degenerate columns, and the
way through harmonize and models.csv (small hand-written files in the upstream's shape)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from upstream_fakes import OBS_POST, write_fakes

from obsscale.config import Config
from obsscale.data.harmonize import harmonize_and_write
from obsscale.data.parsers import PARSERS
from obsscale.data.parsers.common import degenerate
from obsscale.data.parsers.obsscaling_post import column_name
from obsscale.data.table import load_models

NAVIGATE = "obsscaling_post:bbh_cot_fewshot_navigate_3shot_flexible-extract"
GSM8K_STRICT = "obsscaling_post:gsm8k_5shot_strict-match"
ALL_ZERO = "obsscaling_post:bbh_fewshot_navigate_3shot_strict-match"


@pytest.mark.parametrize(
    ("upstream", "name"),
    [
        ("gsm8k_5_exact_match,strict-match", GSM8K_STRICT),
        (
            "gsm8k_cot_self_consistency_8_exact_match,maj@5-flexible-extract",
            "obsscaling_post:gsm8k_cot_self_consistency_8shot_maj@5-flexible-extract",
        ),
        (
            "gsm8k_cot_zeroshot_0_exact_match,strict-match",
            "obsscaling_post:gsm8k_cot_zeroshot_0shot_strict-match",
        ),
        ("bbh_cot_fewshot_navigate_3_exact_match,flexible-extract", NAVIGATE),
        ("mmlu_5_acc_norm,none", "obsscaling_post:mmlu_5shot_acc_norm_none"),
        ("bbh_cot_fewshot_navigate_3_exact_match,flexible-extract,norm", None),
        ("Model Size (B)", None),
        ("gsm8k_exact_match,strict-match", None),
    ],
)
def test_column_names_have_no_commas(upstream: str, name: str | None) -> None:
    assert column_name(upstream) == name
    if name:
        assert "," not in name and " " not in name and name.count(":") == 1


def test_degenerate_columns() -> None:
    assert degenerate(pd.Series([0.0] * 10)) is not None
    assert "9 of 10" in str(degenerate(pd.Series([0.0] * 9 + [0.3])))
    assert degenerate(pd.Series([0.0] * 8 + [0.3, 0.4])) is None
    assert degenerate(pd.Series([float("nan")] * 3)) == "no numeric values"


@pytest.fixture
def parsed(tmp_path: Path):
    cfg = Config(data_dir=tmp_path / "data")
    path = tmp_path / "post.csv"
    path.write_text(OBS_POST, encoding="utf-8")
    return PARSERS["obsscaling_post"](path, cfg.source("obsscaling_post"), cfg)


def test_parser_reads_quoted_names_and_skips_what_it_cannot_use(parsed) -> None:
    values = parsed.values
    fields = set(values["field"])
    assert fields == {
        GSM8K_STRICT,
        "obsscaling_post:gsm8k_5shot_flexible-extract",
        NAVIGATE,
        "obsscaling_post:gsm8k_cot_self_consistency_8shot_maj@5",
    }
    assert set(values["model"]) == {
        "meta-llama/Llama-2-7b-hf",
        "meta-llama/Llama-2-13b-hf",
        "EleutherAI/pythia-1b-deduped",
        "mistralai/Mistral-7B-v0.1",
    }
    nav = values[values["field"] == NAVIGATE].set_index("model")
    assert nav.loc["meta-llama/Llama-2-13b-hf", "value"] == pytest.approx(0.61)
    assert nav.loc["meta-llama/Llama-2-13b-hf", "row"] == 2  # 1-based data record
    rules = {(e["rule"], e["field"]) for e in parsed.events}
    assert ("degenerate_column", ALL_ZERO) in rules
    assert ("column_skipped", "*,norm") in rules
    zero = next(e for e in parsed.events if e["rule"] == "degenerate_column")
    assert "4 of 4 models score 0" in zero["detail"] and zero["severity"] == "dropped"


def test_percent_text_and_odd_columns_are_reported(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "data")
    path = tmp_path / "post.csv"
    path.write_text(
        'Model,"gsm8k_5_exact_match,strict-match",odd column\na/x,14.0,1\na/y,37.5,2\na/z,n/a,3\n'
        "a/w,2.0,4\n",
        encoding="utf-8",
    )
    parsed = PARSERS["obsscaling_post"](path, cfg.source("obsscaling_post"), cfg)
    assert list(parsed.values["value"]) == pytest.approx([0.14, 0.375, 0.02])
    rules = {e["rule"]: e for e in parsed.events}
    assert rules["scale_mismatch"]["field"] == GSM8K_STRICT
    assert rules["not_numeric"]["model"] == "a/z" and rules["not_numeric"]["value"] == "n/a"
    assert rules["column_skipped"]["field"] == "odd column"


def test_through_harmonize_and_models_csv(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "data")
    write_fakes(cfg)
    res = harmonize_and_write(cfg)
    models = load_models(cfg)  # the CSV writer and reader keep the names intact
    assert NAVIGATE in models.columns and ALL_ZERO not in models.columns
    llama13 = models.set_index("model").loc["meta-llama/Llama-2-13b-hf"]
    assert llama13[NAVIGATE] == pytest.approx(0.61)
    assert llama13["family"] == "Llama-2"  # joined with the curated base table by id
    q = res.quality
    hit = q[(q["rule"] == "degenerate_column") & (q["source"] == "obsscaling_post")]
    assert list(hit["field"]) == [ALL_ZERO]
    prov = res.provenance
    assert set(prov[prov["field"] == NAVIGATE]["source"]) == {"obsscaling_post"}
