"""The Epoch Benchmarking Hub: its parsers (``data/parsers/epoch_hub.py``) and the id join
(``data/hub.py``).

Synthetic CSVs are written to tmp_path (with the byte-order mark the real files have); the last
tests read the real mirror under ../shared/upstream when it is present and skip otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from obsscale.config.sources import EPOCH_HUB_TABLES
from obsscale.data import hub
from obsscale.data.parsers import epoch_hub as parsers
from obsscale.data.parsers.common import Parsed

SPEC = {"model": "Model version", "score": "Score", "scale": "percent_string", "name": "Bench"}
RUNS = {
    "file": "benchmarks_runs.csv",
    "model": "model",
    "task": "task",
    "score": "Best score (across scorers)",
    "scale": "fraction",
    "started": "started_at",
    "task_version": "task version",
    "benchmarks": {"GPQA diamond": "GPQA Diamond"},
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text("\ufeff" + text, encoding="utf-8")  # the hub files start with a BOM
    return path


def rules(parsed: Parsed) -> list[str]:
    return [e["rule"] for e in parsed.events]


def value(parsed: Parsed, model: str) -> float:
    return parsed.values.set_index("model").loc[model, "value"]


# ------------------------------------------------------------------------------- parsing


def test_bom_percent_strings_and_stray_spaces(tmp_path):
    path = write(tmp_path, "x.csv", "id,Name,Score,Model version\nr1,A,77.0%,model-a \nr2,B,5%,b\n")
    parsed = parsers.parse_external(path, SPEC, "epoch_hub_x")
    assert value(parsed, "model-a") == pytest.approx(0.77)  # 'model-a ' stripped, % divided
    assert value(parsed, "b") == pytest.approx(0.05)
    assert set(parsed.values["field"]) == {"epoch_hub:Bench"}
    assert list(parsed.values["row"]) == [1, 2]  # 1-based data records
    assert parsed.events == []


def test_fraction_percent_and_other_scales(tmp_path):
    path = write(tmp_path, "x.csv", "Model version,Score\na,0.476\nb,8.39\n")
    frac = parsers.parse_external(path, {**SPEC, "scale": "fraction"}, "epoch_hub_x")
    assert value(frac, "a") == pytest.approx(0.476)
    assert rules(frac) == ["score_out_of_range"]  # 8.39 is not a fraction: reported, not kept
    other = parsers.parse_external(path, {**SPEC, "scale": "other", "divide_by": 10}, "epoch_hub_x")
    assert value(other, "b") == pytest.approx(0.839)
    pct = parsers.parse_external(path, {**SPEC, "scale": "percent"}, "epoch_hub_x")
    assert value(pct, "b") == pytest.approx(0.0839)


def test_unparseable_and_ambiguous_values_become_events(tmp_path):
    text = "Model version,Score\na,n/a\nb,0.5\nc,150%\nd,\n"
    parsed = parsers.parse_external(write(tmp_path, "x.csv", text), SPEC, "epoch_hub_x")
    assert parsed.values.empty
    by_model = {e["model"]: e for e in parsed.events}
    assert by_model["a"]["rule"] == "not_numeric" and "record 1" in by_model["a"]["detail"]
    assert by_model["b"]["rule"] == "not_numeric"  # bare 0.5 in a percent-string column
    assert by_model["c"]["rule"] == "score_out_of_range"
    assert by_model["d"]["rule"] == "no_score" and by_model["d"]["severity"] == "info"


def test_rows_without_model_version_are_reported_with_their_name(tmp_path):
    text = "Name,Score,Model version\nPalmyra X,63.3%,\nGPT-4,90%,gpt-4-0314\n"
    parsed = parsers.parse_external(write(tmp_path, "x.csv", text), SPEC, "epoch_hub_x")
    assert list(parsed.values["model"]) == ["gpt-4-0314"]
    (event,) = parsed.events
    assert (event["rule"], event["model"], event["severity"]) == (
        "no_model_version",
        "Palmyra X",
        "dropped",
    )


def test_duplicate_rows_keep_the_best_score_and_say_so(tmp_path):
    text = "Model version,Score\nm,40%\nm,55%\nm,50%\nz,10%\n"
    parsed = parsers.parse_external(write(tmp_path, "x.csv", text), SPEC, "epoch_hub_x")
    assert value(parsed, "m") == pytest.approx(0.55)
    assert parsed.values.set_index("model").loc["m", "row"] == 2
    (event,) = [e for e in parsed.events if e["rule"] == "duplicate_collapsed"]
    assert event["severity"] == "info" and "3 records" in event["detail"]
    assert "kept record 2" in event["detail"]


def test_runs_keep_the_latest_run_not_the_best(tmp_path):
    text = (
        "id,task,model,Best score (across scorers),started_at,task version\n"
        "a,GPQA diamond,o3_high,0.90,3 July 2025 11:43am,1.0.0\n"
        "b,GPQA diamond,o3_high,0.80,13 November 2025 8:02pm,1.1.0\n"
        "c,GPQA diamond,gpt-4o,0.5,1 May 2025 9:00am,1.0.0\n"
        "d,Secret task,gpt-4o,0.7,1 May 2025 9:00am,1.0.0\n"
    )
    parsed = parsers.parse_runs(write(tmp_path, "runs.csv", text), RUNS, "epoch_hub_runs")
    assert value(parsed, "o3_high") == pytest.approx(0.80)  # the November re-run
    assert set(parsed.values["field"]) == {"epoch_hub:GPQA Diamond"}
    assert sorted(rules(parsed)) == ["duplicate_collapsed", "unknown_benchmark"]


def test_skipped_file_and_missing_score_column(tmp_path):
    path = write(tmp_path, "x.csv", "Model version,ELO\na,1312\n")
    skipped = parsers.parse_external(path, {"skip": "arena Elo, not a fraction"}, "epoch_hub_x")
    assert skipped.values.empty
    assert skipped.events[0]["rule"] == "unparsed_file"
    assert skipped.events[0]["severity"] == "excluded"
    assert "arena Elo" in skipped.events[0]["detail"]
    broken = parsers.parse_external(path, SPEC, "epoch_hub_x")  # no 'Score' column in this file
    assert broken.values.empty and broken.events[0]["rule"] == "unparsed_file"
    assert "Score" in broken.events[0]["detail"]


def test_curated_drop_and_size_check(tmp_path):
    text = (
        "id,Name,Score,Model version\n"
        "r1,Llama 2 (7B),13.3%,Llama-2-70b\n"
        "r2,LLaMA 2 70B,60%,Llama-2-70b\n"
    )
    path = write(tmp_path, "x.csv", text)
    warned = parsers.parse_external(path, SPEC, "epoch_hub_x")
    assert "name_version_mismatch" in rules(warned)  # 7B row filed under the 70B id
    dropped = parsers.parse_external(
        path, {**SPEC, "drop": {"r1": "wrong size", "gone": "x"}}, "epoch_hub_x"
    )
    assert value(dropped, "Llama-2-70b") == pytest.approx(0.60)
    assert "curated_drop" in rules(dropped) and "drop_unused" in rules(dropped)
    assert "duplicate_collapsed" not in rules(dropped)


def test_load_config_rejects_incomplete_entries(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[external.a]\nmodel = "m"\nscore = "s"\nscale = "other"\nname = "A"\n')
    with pytest.raises(ValueError, match="divide_by"):
        parsers.load_hub_config(path)
    path.write_text('[external.a]\nmodel = "m"\nscore = "s"\nscale = "permille"\nname = "A"\n')
    with pytest.raises(ValueError, match="permille"):
        parsers.load_hub_config(path)


# ---------------------------------------------------------------- versions, efforts, ids


def versions_frame(rows: list[tuple[str, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["version", "org", "release_date"])
    return frame.assign(model=None)


def test_parse_versions(tmp_path):
    text = (
        "id,Model,Version release date,Hugging Face developer id\n"
        "Qwen-7B,Qwen-7B,2023-09-28,Qwen\n"
        "chutes/Qwen3-8B,Qwen3,2025-04-29,\n"
        "o3_high,o3,not a date,\n"
    )
    out, events = parsers.parse_versions(write(tmp_path, "mv.csv", text), "epoch_hub_versions")
    out = out.set_index("version")
    assert out.loc["Qwen-7B", "org"] == "Qwen"
    assert out.loc["Qwen-7B", "release_date"] == "2023-09-28"
    assert pd.isna(out.loc["o3_high", "release_date"])
    assert [(e["model"], e["rule"]) for e in events] == [("o3_high", "not_a_date")]


def test_packaged_hub_config_declares_every_table():
    config = parsers.load_hub_config()
    assert set(config["external"]) == set(EPOCH_HUB_TABLES)
    skipped = [k for k, spec in config["external"].items() if "skip" in spec]
    assert skipped == ["mcbench"]


def test_effort_suffixes():
    assert hub.effort_of("o3-2025-04-16_high") == ("o3-2025-04-16", "high", 4.0)
    assert hub.effort_of("claude-3-7-sonnet_16K") == ("claude-3-7-sonnet", "16K", 26.0)
    assert hub.effort_of("gemini-flash (24K thinking)") == ("gemini-flash", "24K", 34.0)
    assert hub.effort_of("DeepSeek-V3.1_thinking")[1] == "thinking"
    assert hub.effort_of("Qwen-1_8B") == ("Qwen-1_8B", None, 0.0)  # '_8B' is a size


def test_representative_policy():
    # default (unsuffixed) > medium > highest effort; each family is judged on its own
    versions = ["o3_low", "o3_medium", "o3_high", "claude_16K", "claude", "grok_low", "grok_high"]
    versions += ["oss_high", "oss_medium", "oss", "gpt-4o"]
    table = hub.representatives(versions).set_index("version")
    chosen = set(table.index[table["representative"]])
    assert chosen == {"o3_medium", "claude", "grok_high", "oss", "gpt-4o"}


def test_resolve_ids_methods():
    known = {"Qwen/Qwen-7B", "meta-llama/Llama-2-7b-hf", "huggyllama/llama-7b", "someone/falcon-7b"}
    versions = versions_frame(
        [
            ("Qwen-7B", "Qwen", None),  # org/version is a known id
            ("Llama-2-7b", "meta-llama", None),  # name match: '-hf' conversion
            ("LLaMA-7B", None, None),  # curated alias
            ("falcon-7b", None, None),  # only a non-official org has it: no match
            ("o3_high", None, None),
            ("o3_medium", None, None),
        ]
    )
    ids = hub.resolve_ids(versions, known, {"LLaMA-7B": "huggyllama/llama-7b"})
    got = ids.set_index("version")[["model_id", "method"]].apply(tuple, axis=1).to_dict()
    assert got == {
        "Qwen-7B": ("Qwen/Qwen-7B", "hf_id"),
        "Llama-2-7b": ("meta-llama/Llama-2-7b-hf", "name"),
        "LLaMA-7B": ("huggyllama/llama-7b", "hf_id_alias"),
        "falcon-7b": ("epoch:falcon-7b", "epoch"),
        "o3_high": ("epoch:o3_high", "effort_variant"),
        "o3_medium": ("epoch:o3_medium", "epoch"),
    }


def test_resolve_ids_is_one_to_one():
    known = {"meta-llama/Llama-2-70b-chat-hf", "tiiuae/falcon-40b", "tiiuae/falcon-40b-hf"}
    versions = versions_frame(
        [
            ("Llama-2-70b-chat", "meta-llama", None),  # name match...
            ("Llama-2-70b-chat-hf", "meta-llama", None),  # ...loses to the exact id
            ("falcon-40b", "tiiuae", None),
            ("Qwen3-235B", "Qwen", None),
            ("qwen3-235b", None, None),  # the same model spelled in lower case
        ]
    )
    ids = hub.resolve_ids(versions, known, {}).set_index("version")
    assert ids.loc["Llama-2-70b-chat-hf", "model_id"] == "meta-llama/Llama-2-70b-chat-hf"
    assert ids.loc["Llama-2-70b-chat", "model_id"] == "epoch:Llama-2-70b-chat"
    assert "taken by Llama-2-70b-chat-hf" in ids.loc["Llama-2-70b-chat", "detail"]
    assert ids.loc["falcon-40b", "model_id"] == "tiiuae/falcon-40b"  # exact beats the -hf name
    assert ids.loc["qwen3-235b", "model_id"] == ids.loc["Qwen3-235B", "model_id"]
    assert ids["model_id"].str.lower().nunique() == len(ids) - 1


def test_apply_ids_rekeys_and_collapses_merged_spellings():
    values = pd.DataFrame(
        {
            "model": ["Qwen3-235B", "qwen3-235b", "ghost"],
            "field": ["epoch_hub:X"] * 3,
            "value": [0.4, 0.6, 0.1],
            "row": [1, 2, 3],
        }
    )
    ids = pd.DataFrame(
        {
            "version": ["Qwen3-235B", "qwen3-235b"],
            "model_id": ["epoch:Qwen3-235B", "epoch:Qwen3-235B"],
            "method": ["epoch", "epoch"],
            "detail": ["", ""],
        }
    )
    out = hub.apply_ids(Parsed(values, []), ids, "epoch_hub_x")
    assert value(out, "epoch:Qwen3-235B") == pytest.approx(0.6)
    assert value(out, "epoch:ghost") == pytest.approx(0.1)
    assert {"unknown_version", "duplicate_collapsed"} <= set(rules(out))


def test_release_dates_earliest_per_model():
    versions = versions_frame(
        [("a", None, "2024-05-02"), ("b", None, "2024-04-01"), ("c", None, None)]
    )
    ids = pd.DataFrame({"version": ["a", "b", "c"], "model_id": ["org/m", "org/M", "epoch:c"]})
    out = hub.release_dates(versions, ids)
    assert out.to_dict("records") == [
        {"model": "org/M", "release_date": "2024-04-01", "source": "epoch_hub:model_versions (b)"}
    ]


# ------------------------------------------------------------------- harmonize, on fakes


@pytest.fixture
def harmonized(tmp_path: Path):
    from upstream_fakes import HUB_MCBENCH, write_fakes

    from obsscale.config import Config
    from obsscale.data.harmonize import harmonize

    cfg = Config(data_dir=tmp_path / "data")
    write_fakes(cfg)
    mcbench = cfg.raw_path(cfg.source("epoch_hub_mcbench"))
    mcbench.parent.mkdir(parents=True, exist_ok=True)
    mcbench.write_text(HUB_MCBENCH, encoding="utf-8")
    return harmonize(cfg)


def test_hub_scores_join_hf_ids_else_epoch_ids(harmonized):
    m = harmonized.models.set_index("model")
    # Llama-2-13b (org meta-llama) is the known -hf conversion; gpt-4o has no HF id
    assert m.loc["meta-llama/Llama-2-13b-hf", "epoch_hub:GSM8K"] == pytest.approx(0.287)
    assert m.loc["meta-llama/Llama-2-13b-hf", "epoch_hub:GPQA Diamond"] == pytest.approx(0.27)
    assert m.loc["epoch:gpt-4o-2024-05-13", "epoch_hub:GSM8K"] == pytest.approx(0.90)
    assert m.loc["epoch:gpt-4o-2024-05-13", "release_date"] == "2024-05-13"
    assert m.loc["epoch:gpt-4o-2024-05-13", "release_date_source"] == "epoch_hub_versions"
    hub_cols = [c for c in m.columns if c.startswith("epoch_hub:")]
    values = m[hub_cols].to_numpy().ravel()
    assert ((values[~pd.isna(values)] >= 0) & (values[~pd.isna(values)] <= 1)).all()
    prov = harmonized.provenance
    row = prov[(prov["model"] == "epoch:gpt-4o-2024-05-13") & (prov["field"] == "epoch_hub:GSM8K")]
    assert row["source"].item() == "epoch_hub_gsm8k"
    assert "Epoch version gpt-4o-2024-05-13" in row["detail"].item()


def test_every_hub_file_parsed_or_listed(harmonized):
    q = harmonized.quality
    unparsed = q[q["rule"] == "unparsed_file"]
    assert list(unparsed["source"]) == ["epoch_hub_mcbench"]
    assert unparsed["detail"].str.startswith("skipped: ").all()
    assert not (q["rule"] == "not_fetched").any()  # the tables without a fake have no rows
    lost = q[(q["rule"] == "no_model_version") & (q["source"] == "epoch_hub_gsm8k")]
    assert list(lost["model"]) == ["Palmyra X"]


def test_release_date_precedence(harmonized):
    m = harmonized.models.set_index("model")
    # Epoch's notable table first, then release_dates.csv, then the hub, then v2 uploads
    assert m.loc["meta-llama/Llama-2-7b-hf", "release_date_source"] == "epoch"
    pythia = m.loc["EleutherAI/pythia-1b-deduped"]
    assert (pythia["release_date"], pythia["release_date_source"]) == (
        "2023-04-03",
        "release_dates",
    )
    prov = harmonized.provenance.set_index(["model", "field"])
    assert "arXiv" in prov.loc[("EleutherAI/pythia-1b-deduped", "release_date"), "detail"]


def test_placeholder_upload_dates_are_dropped():
    from obsscale.config import Config
    from obsscale.data.dates import drop_placeholder_dates

    values = pd.DataFrame(
        {
            "model": ["openai-community/gpt2", "a/b", "c/d"],
            "field": ["release_date", "release_date", "release_date"],
            "value": ["2022-03-02", "2023-01-01", "2022-03-02"],
            "row": [1, 2, 3],
            "source": ["openllm_v2", "openllm_v2", "epoch"],
        }
    )
    kept, events = drop_placeholder_dates(values, Config())
    assert list(kept["model"]) == ["a/b", "c/d"]  # only v2's placeholder goes
    assert [(e["model"], e["rule"]) for e in events] == [
        ("openai-community/gpt2", "placeholder_date")
    ]


def test_curated_release_dates_are_readable():
    from obsscale.data.dates import load_release_dates

    frame = load_release_dates()
    assert frame["model"].str.lower().is_unique
    assert frame["source"].notna().all()


def test_postpaper_subset_and_its_complement():
    from obsscale.model.capabilities.rows import Selection, load_subsets, select_models

    post = load_subsets()["postpaper"]["models"]
    assert len(post) == 20 and {m.lower() for m in post} == {
        m.lower() for m in load_subsets()["paper"]["exclude"]
    }
    models = pd.DataFrame(
        {
            "model": ["Qwen/Qwen2-7B", "meta-llama/Llama-2-7b-hf", "google/gemma-2-9b"],
            "family": ["Qwen2", "Llama-2", "Gemma-2"],
            "is_base": pd.array([True, True, True], dtype="boolean"),
            "x:a": [0.5, 0.4, 0.6],
        }
    )
    chosen = select_models(models, ("x:a",), selection=Selection(subset="postpaper"))
    assert list(chosen["model"]) == ["Qwen/Qwen2-7B", "google/gemma-2-9b"]
    rest = select_models(models, ("x:a",), selection=Selection(exclude_subset="postpaper"))
    assert list(rest["model"]) == ["meta-llama/Llama-2-7b-hf"]
