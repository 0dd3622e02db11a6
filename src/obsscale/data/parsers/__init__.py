"""One parser per upstream format: raw file -> long table of (model, field, value, row).

A parser reads one downloaded file and returns every value it contributes, each tagged with the
1-based data record it came from, plus quality events (rows dropped or excluded, and why). It
decides nothing across sources: precedence, families and corrections are ``harmonize``'s job.
Scores leave here as fractions in [0, 1] under ``<prefix>:<upstream display name>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source

VALUE_COLUMNS = ["model", "field", "value", "row"]
EVENT_COLUMNS = ["model", "field", "value", "rule", "source", "severity", "detail"]
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

OBSSCALING_META = {
    "Model Family": "family",
    "Model Size (B)": "params_b",
    "Pretraining Data Size (T)": "tokens_t",
    "FLOPs (1E21)": "flops",
}
V1_BENCHMARKS = {
    "arc": "ARC",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "truthfulqa": "TruthfulQA",
    "winogrande": "Winogrande",
    "gsm8k": "GSM8K",
}
V2_BENCHMARKS = {
    "ifeval": "IFEval",
    "bbh": "BBH",
    "math": "MATH Lvl 5",
    "gpqa": "GPQA",
    "musr": "MUSR",
    "mmlu_pro": "MMLU-PRO",
}
EVALPLUS_BENCHMARKS = ("humaneval", "humaneval+", "mbpp", "mbpp+")
# Precision variants: full-precision evaluations first, quantised ones only as a last resort.
PRECISION_RANK = {"bfloat16": 0, "float16": 0, "float32": 0, "8bit": 1, "4bit": 2, "GPTQ": 3}


class ParseError(ValueError):
    """A raw file lacks what its parser needs; names the file and what is missing."""


@dataclass
class Parsed:
    values: pd.DataFrame
    events: list[dict] = field(default_factory=list)


def _event(
    source: str, model: object, fld: str, value: object, rule: str, severity: str, detail: str
) -> dict:
    return {
        "model": model,
        "field": fld,
        "value": value,
        "rule": rule,
        "source": source,
        "severity": severity,
        "detail": detail,
    }


def _require(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    """The columns a parser reads are its source's ``required`` ones (config), so that fetch
    rejects a changed format before it replaces a good copy."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParseError(f"{path}: missing columns {missing} (found {list(frame.columns)[:12]}...)")


def _read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based data record numbers
    return frame


def _numeric(
    frame: pd.DataFrame, column: str, source: str, model_col: str, events: list[dict]
) -> pd.Series:
    """Parse a column as numbers; anything present but not a number becomes NaN and an event."""
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce")
    for idx in raw.index[raw.notna() & num.isna()]:
        events.append(
            _event(
                source,
                frame.at[idx, model_col],
                column,
                raw[idx],
                "not_numeric",
                "dropped",
                f"record {idx}: not a number",
            )
        )
    return num


def to_fraction(
    values: pd.Series, declared: str, source: str, fld: str, models: pd.Series, events: list[dict]
) -> pd.Series:
    """Bring a score column to [0, 1]: divide percentages, detect a mismatched scale, drop
    values outside the scale (each change is an event, so nothing is altered silently)."""
    observed = values.dropna()
    looks_percent = len(observed) > 0 and observed.max() > 1.0 and observed.max() <= 100.0
    if declared == "fraction" and looks_percent:
        events.append(
            _event(
                source,
                "*",
                fld,
                float(observed.max()),
                "scale_mismatch",
                "warning",
                "declared fractions but values exceed 1: read as percent",
            )
        )
        declared = "percent"
    elif declared == "percent" and len(observed) > 0 and observed.max() <= 1.0:
        events.append(
            _event(
                source,
                "*",
                fld,
                float(observed.max()),
                "scale_mismatch",
                "warning",
                "declared percent but every value is <= 1: read as fractions",
            )
        )
        declared = "fraction"
    out = values / 100.0 if declared == "percent" else values.astype(float)
    bad = out.notna() & ((out < 0) | (out > 1))
    for idx in out.index[bad]:
        events.append(
            _event(
                source,
                models[idx],
                fld,
                values[idx],
                "score_out_of_range",
                "dropped",
                f"record {idx}: outside [0, 1] after scaling",
            )
        )
    return out.mask(bad)


def _long(frame: pd.DataFrame, model_col: str, fields: dict[str, str]) -> pd.DataFrame:
    """Melt the given columns (column -> field name) into the long value table."""
    parts = []
    for column, name in fields.items():
        part = pd.DataFrame(
            {
                "model": frame[model_col],
                "field": name,
                "value": frame[column].astype(object),
                "row": frame.index,
            }
        )
        parts.append(part[part["value"].notna()])
    if not parts:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[VALUE_COLUMNS]


def _check_duplicate_ids(
    frame: pd.DataFrame, model_col: str, source: str, events: list[dict]
) -> pd.DataFrame:
    dup = frame[model_col].str.lower().duplicated(keep="first")
    for idx in frame.index[dup]:
        events.append(
            _event(
                source,
                frame.at[idx, model_col],
                "model",
                frame.at[idx, model_col],
                "duplicate_model",
                "dropped",
                f"record {idx}: repeats an earlier record; the first is kept",
            )
        )
    return frame[~dup]


def parse_obsscaling(path: Path, source: Source, config: Config, is_base: bool = True) -> Parsed:
    """The ObsScaling tables: curated metadata plus benchmark scores (fractions)."""
    frame = _read_csv(path)
    _require(frame, [*OBSSCALING_META, *source.required], path)
    events: list[dict] = []
    frame = _check_duplicate_ids(frame.dropna(subset=["Model"]), "Model", source.name, events)
    out = pd.DataFrame(index=frame.index)
    out["model"] = frame["Model"].str.strip()
    out["family"] = frame["Model Family"]
    for column in ("Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"):
        out[OBSSCALING_META[column]] = _numeric(frame, column, source.name, "Model", events)
    # the table counts in units of 1e21; round away the binary noise of the multiplication
    out["flops"] = (out["flops"] * 1e21).map(lambda x: float(f"{x:.12g}"))
    out["is_base"] = is_base
    benchmarks = [c for c in frame.columns if c not in OBSSCALING_META and c != "Model"]
    for b in benchmarks:
        num = _numeric(frame, b, source.name, "Model", events)
        out[f"obsscaling:{b}"] = to_fraction(
            num, "fraction", source.name, f"obsscaling:{b}", out["model"], events
        )
    fields = {c: c for c in out.columns if c != "model"}
    return Parsed(_long(out, "model", fields), events)


def parse_obsscaling_instruct(path: Path, source: Source, config: Config) -> Parsed:
    return parse_obsscaling(path, source, config, is_base=False)


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
            _event(
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
    for idx in frame.index[mask]:
        events.append(
            _event(
                source,
                frame.at[idx, model_col],
                "model",
                frame.at[idx, model_col],
                rule,
                "excluded",
                f"record {idx}: {detail}",
            )
        )
    return frame[~mask]


def _bool(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip().str.upper().map({"TRUE": True, "FALSE": False})


def parse_openllm_v1(path: Path, source: Source, config: Config) -> Parsed:
    """Final Open LLM Leaderboard v1 table (percent scores).

    Quirks: its ``flagged``, ``moe`` and ``merged`` columns are inverted (TRUE means *not*
    flagged/merged: 109 rows read FALSE for flagged, and merge-type rows mostly read FALSE for
    merged), and ``params_b`` is truncated to an integer, so it is not used.
    """
    frame = _read_csv(path)
    _require(frame, source.required, path)
    events: list[dict] = []
    frame = frame.dropna(subset=["fullname"])
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
        num = _numeric(frame, column, source.name, "fullname", events)
        out[f"openllm_v1:{name}"] = to_fraction(
            num, "percent", source.name, f"openllm_v1:{name}", out["model"], events
        )
    return Parsed(_long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def parse_openllm_v2(path: Path, source: Source, config: Config) -> Parsed:
    """Final Open LLM Leaderboard v2 table: the raw ``*_value`` fractions, not the 0-100
    chance-normalised scores. ``features_is_not_available_on_hub`` reads inverted (unused)."""
    frame = _read_csv(path)
    _require(frame, source.required, path)
    events: list[dict] = []
    frame = frame.dropna(subset=["model_name"])
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
    pretrained = frame["model_type"].fillna("").str.contains("pretrained")
    chat = _bool(frame["model_has_chat_template"]).fillna(False).astype(bool)
    frame = frame.assign(
        _prec=frame["model_precision"].map(PRECISION_RANK).fillna(9),
        _orig=(frame["model_weight_type"].fillna("") != "Original").astype(int),
        # a base model is scored as it is used: without a chat template; a chat model with one
        _template=(chat == pretrained).astype(int),
        _date=pd.to_datetime(frame["metadata_submission_date"], errors="coerce"),
    )
    frame = _dedupe(
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
    out = pd.DataFrame({"model": frame["model_name"].str.strip()}, index=frame.index)
    out["is_base"] = frame["model_type"].fillna("").str.contains("pretrained")
    params = _numeric(frame, "metadata_params_billions", source.name, "model_name", events)
    out["params_b"] = _drop_nonpositive(params, source.name, "params_b", out["model"], events)
    dates = pd.to_datetime(frame["metadata_upload_date"], errors="coerce")
    out["release_date"] = dates.dt.strftime("%Y-%m-%d")
    base = frame["metadata_base_model"].str.strip()
    out["base_model"] = base.where(base.str.lower() != out["model"].str.lower())
    for key, name in V2_BENCHMARKS.items():
        num = _numeric(frame, f"evaluations_{key}_value", source.name, "model_name", events)
        out[f"openllm_v2:{name}"] = to_fraction(
            num, "fraction", source.name, f"openllm_v2:{name}", out["model"], events
        )
    return Parsed(_long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def _drop_nonpositive(
    values: pd.Series, source: str, fld: str, models: pd.Series, events: list[dict]
) -> pd.Series:
    bad = values.notna() & (values <= 0)
    for idx in values.index[bad]:
        events.append(
            _event(
                source,
                models[idx],
                fld,
                values[idx],
                "absurd_metadata",
                "dropped",
                f"record {idx}: {fld} must be positive",
            )
        )
    return values.mask(bad)


def parse_epoch(path: Path, source: Source, config: Config) -> Parsed:
    """Epoch AI notable models: columns found by name (the live file adds and reorders them).

    Rows keep Epoch's own model names; ``harmonize`` matches them to Hugging Face ids. The dataset
    size column mixes words and tokens, so it is not read.
    """
    frame = _read_csv(path)
    _require(frame, source.required, path)
    events: list[dict] = []
    frame = frame.dropna(subset=["Model"])
    if "Domain" in frame.columns:
        frame = frame[frame["Domain"].fillna("").str.contains("Language")]
    out = pd.DataFrame({"model": frame["Model"].str.strip()}, index=frame.index)
    params = _numeric(frame, "Parameters", source.name, "Model", events) / 1e9
    out["params_b"] = _drop_nonpositive(params, source.name, "params_b", out["model"], events)
    flops = _numeric(frame, "Training compute (FLOP)", source.name, "Model", events)
    out["flops"] = _drop_nonpositive(flops, source.name, "flops", out["model"], events)
    out["release_date"] = pd.to_datetime(frame["Publication date"], errors="coerce").dt.strftime(
        "%Y-%m-%d"
    )
    return Parsed(_long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def parse_evalplus(path: Path, source: Source, config: Config) -> Parsed:
    """EvalPlus leaderboard JSON: pass@1 in percent, size in billions, HF link when public."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ParseError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ParseError(f"{path}: expected a JSON object of models, got {type(data).__name__}")
    events: list[dict] = []
    rows = []
    for i, (name, entry) in enumerate(data.items(), start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("pass@1"), dict):
            events.append(
                _event(
                    source.name,
                    name,
                    "pass@1",
                    None,
                    "malformed_entry",
                    "dropped",
                    f"entry {i}: no pass@1 object",
                )
            )
            continue
        link = str(entry.get("link") or "")
        m = re.match(r"^https?://huggingface\.co/([^/?#]+/[^/?#]+)/?$", link)
        model = m.group(1) if m and HF_ID.match(m.group(1)) else name
        row = {"model": model, "_row": i, "params_b": entry.get("size")}
        for b in EVALPLUS_BENCHMARKS:
            row[f"evalplus:{b}"] = entry["pass@1"].get(b)
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("_row")
    frame.index.name = None
    frame = _check_duplicate_ids(frame, "model", source.name, events)
    out = pd.DataFrame({"model": frame["model"]}, index=frame.index)
    params = pd.to_numeric(frame["params_b"], errors="coerce")
    out["params_b"] = _drop_nonpositive(params, source.name, "params_b", out["model"], events)
    for b in EVALPLUS_BENCHMARKS:
        num = pd.to_numeric(frame[f"evalplus:{b}"], errors="coerce")
        out[f"evalplus:{b}"] = to_fraction(
            num, "percent", source.name, f"evalplus:{b}", out["model"], events
        )
    return Parsed(_long(out, "model", {c: c for c in out.columns if c != "model"}), events)


PARSERS: dict[str, Callable[[Path, Source, Config], Parsed]] = {
    "obsscaling": parse_obsscaling,
    "obsscaling_instruct": parse_obsscaling_instruct,
    "openllm_v1": parse_openllm_v1,
    "openllm_v2": parse_openllm_v2,
    "epoch": parse_epoch,
    "evalplus": parse_evalplus,
}
