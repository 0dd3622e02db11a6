"""The final Open LLM Leaderboard tables (v1: percent scores; v2: raw fractions), with their
quirks: inverted flags, precision and chat-template variants of one id."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source
from obsscale.config.sources import V2_TASKS
from obsscale.data.parsers.common import (
    Parsed,
    drop_absurd,
    event,
    long,
    numeric,
    read_csv,
    require,
    row_events,
    to_fraction,
)

V1_BENCHMARKS = {
    "arc": "ARC",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "truthfulqa": "TruthfulQA",
    "winogrande": "Winogrande",
    "gsm8k": "GSM8K",
}
V2_BENCHMARKS = V2_TASKS
# Precision variants: full-precision evaluations first, quantised ones only as a last resort.
PRECISION_RANK = {"bfloat16": 0, "float16": 0, "float32": 0, "8bit": 1, "4bit": 2, "GPTQ": 3}


def _dedupe(
    frame: pd.DataFrame,
    model_col: str,
    rank_cols: list[str],
    source: str,
    events: list[dict],
    describe: Callable[[pd.Series], str],
) -> pd.DataFrame:
    """Keep one record per model id: the best by ``rank_cols`` (ascending) and then the most
    recent ``_date`` (a re-evaluation supersedes an older one); ties go to file order."""
    frame = frame.assign(_key=frame[model_col].str.lower(), _record=frame.index)
    ordered = frame.sort_values(
        [*rank_cols, "_date", "_record"],
        ascending=[True] * len(rank_cols) + [False, True],
        na_position="last",
        kind="stable",
    )
    dup = ordered["_key"].duplicated(keep="first")
    kept = ordered[~dup].set_index("_key")
    for idx, row in ordered[dup].iterrows():
        winner = kept.loc[row["_key"]]
        events.append(
            event(
                source,
                row[model_col],
                "model",
                row[model_col],
                "duplicate_variant",
                "dropped",
                f"record {idx} ({describe(row)}) dropped; record "
                f"{winner['_record']} ({describe(winner)}) kept",
            )
        )
    return frame.loc[sorted(kept["_record"])].drop(columns=["_key", "_record"])


def _exclude(
    frame: pd.DataFrame,
    mask: pd.Series,
    model_col: str,
    rule: str,
    source: str,
    events: list[dict],
    detail: str,
) -> pd.DataFrame:
    events += row_events(frame, mask, model_col, source, rule, "excluded", detail)
    return frame[~mask]


def _bool(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.upper().map({"TRUE": True, "FALSE": False})


def parse_openllm_v1(path: Path, source: Source, config: Config) -> Parsed:
    """Final Open LLM Leaderboard v1 table (percent scores).

    Quirks: its ``flagged``, ``moe`` and ``merged`` columns are inverted (TRUE means *not*
    flagged/merged: 109 rows read FALSE for flagged, and merge-type rows mostly read FALSE for
    merged), and ``params_b`` is truncated to an integer, so it is not used.
    """
    frame = read_csv(path)
    require(frame, source.required, path)
    events: list[dict] = []
    frame = _v1_policy(frame.dropna(subset=["fullname"]), source, config, events)
    frame = frame.assign(
        _prec=frame["precision"].map(PRECISION_RANK).fillna(9),
        _orig=(frame["weight_type"].fillna("") != "Original").astype(int),
        _missing=frame[list(V1_BENCHMARKS)].isna().sum(axis=1),
        _date=pd.to_datetime(frame["date"], errors="coerce", utc=True),
    )
    frame = _dedupe(
        frame,
        "fullname",
        ["_orig", "_prec", "_missing"],
        source.name,
        events,
        lambda r: f"{r['precision']}, {r['weight_type']}, {r['date']}",
    )
    out = pd.DataFrame({"model": frame["fullname"].str.strip()}, index=frame.index)
    kind = frame["type"].fillna("")
    out["is_base"] = kind.map(lambda k: ("pretrained" in k) if k else None).astype(object)
    for column, name in V1_BENCHMARKS.items():
        num = numeric(frame, column, source.name, "fullname", events)
        out[f"openllm_v1:{name}"] = to_fraction(
            num, "percent", source.name, f"openllm_v1:{name}", out["model"], events
        )
    return Parsed(long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def _v1_policy(
    frame: pd.DataFrame, source: Source, config: Config, events: list[dict]
) -> pd.DataFrame:
    """Flagged and merged rows left out (v1's ``flagged``/``merged`` columns read inverted)."""
    frame = frame.assign(
        _flagged=~_bool(frame["flagged"]).fillna(True).astype(bool),
        _merged=~_bool(frame["merged"]).fillna(True).astype(bool),
    )
    is_merge_type = frame["type"].fillna("").str.contains("merge", case=False)
    if not config.include_flagged:
        frame = _exclude(
            frame,
            frame["_flagged"],
            "fullname",
            "flagged",
            source.name,
            events,
            "flagged on the leaderboard (column `flagged` reads inverted)",
        )
    if not config.include_merged:
        merged = frame["_merged"] | is_merge_type.loc[frame.index]
        frame = _exclude(
            frame,
            merged,
            "fullname",
            "merged",
            source.name,
            events,
            "a merge (inverted `merged` column or type 'base merges and moerges')",
        )
    return frame


def parse_openllm_v2(path: Path, source: Source, config: Config) -> Parsed:
    """Final Open LLM Leaderboard v2 table: the raw ``*_value`` fractions, not the 0-100
    chance-normalised scores. ``features_is_not_available_on_hub`` reads inverted (unused)."""
    frame = read_csv(path)
    require(frame, source.required, path)
    events: list[dict] = []
    frame = _v2_policy(frame.dropna(subset=["model_name"]), source, config, events)
    frame = _v2_dedupe(frame, source, events)
    out = pd.DataFrame({"model": frame["model_name"].str.strip()}, index=frame.index)
    out["is_base"] = frame["model_type"].fillna("").str.contains("pretrained")
    params = numeric(frame, "metadata_params_billions", source.name, "model_name", events)
    out["params_b"] = drop_absurd(params, source.name, "params_b", out["model"], events)
    dates = pd.to_datetime(frame["metadata_upload_date"], errors="coerce")
    out["release_date"] = dates.dt.strftime("%Y-%m-%d")
    base = frame["metadata_base_model"].str.strip()
    out["base_model"] = base.where(base.str.lower() != out["model"].str.lower())
    for key, name in V2_BENCHMARKS.items():
        num = numeric(frame, f"evaluations_{key}_value", source.name, "model_name", events)
        out[f"openllm_v2:{name}"] = to_fraction(
            num, "fraction", source.name, f"openllm_v2:{name}", out["model"], events
        )
    return Parsed(long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def _v2_policy(
    frame: pd.DataFrame, source: Source, config: Config, events: list[dict]
) -> pd.DataFrame:
    """Flagged and merged rows left out (merges also by their declared type)."""
    if not config.include_flagged:
        frame = _exclude(
            frame,
            _bool(frame["features_is_flagged"]).fillna(False).astype(bool),
            "model_name",
            "flagged",
            source.name,
            events,
            "flagged on the leaderboard",
        )
    if not config.include_merged:
        merged = _bool(frame["features_is_merged"]).fillna(False).astype(bool) | frame[
            "model_type"
        ].fillna("").str.contains("merge", case=False)
        frame = _exclude(
            frame,
            merged,
            "model_name",
            "merged",
            source.name,
            events,
            "a merge (features_is_merged or type 'base merges and moerges')",
        )
    return frame


def _v2_dedupe(frame: pd.DataFrame, source: Source, events: list[dict]) -> pd.DataFrame:
    """One record per id: original weights, full precision, the scoring a model is used with
    (a base model without a chat template, a chat model with one), then the latest."""
    pretrained = frame["model_type"].fillna("").str.contains("pretrained")
    chat = _bool(frame["model_has_chat_template"]).fillna(False).astype(bool)
    frame = frame.assign(
        _prec=frame["model_precision"].map(PRECISION_RANK).fillna(9),
        _orig=(frame["model_weight_type"].fillna("") != "Original").astype(int),
        # a base model is scored as it is used: without a chat template; a chat model with one
        _template=(chat == pretrained).astype(int),
        _date=pd.to_datetime(frame["metadata_submission_date"], errors="coerce"),
    )
    return _dedupe(
        frame,
        "model_name",
        ["_orig", "_prec", "_template"],
        source.name,
        events,
        lambda r: (
            f"{r['model_precision']}, chat template "
            f"{r['model_has_chat_template']}, submitted {r['metadata_submission_date']}"
        ),
    )
