"""Epoch AI's Benchmarking Hub: its own runs, the external score tables and the version table.

The hub keys every score by an Epoch *model-version id* (``gpt-5.1_medium``, ``Qwen-7B``), not a
Hugging Face id, so the parsers leave the values keyed by version id; ``data.hub`` decides which
models.csv id each version stands for and re-keys them. Which column of which file is a score,
and on what scale, is declared in ``curated/hub.toml``, not guessed here; one parser serves every
``external_benchmark_*.csv``. The files start with a byte-order mark. Every value that cannot be
used becomes an event; nothing is dropped silently.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache, partial
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from obsscale.config import Config, Source
from obsscale.data.parsers.common import VALUE_COLUMNS, Parsed, event

PREFIX = "epoch_hub:"
SCALES = ("fraction", "percent", "percent_string", "other")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
EXTERNAL_PREFIX = "external_benchmark_"


def load_hub_config(path: Path | None = None) -> dict[str, Any]:
    """Read ``hub.toml`` (the packaged one by default) and reject incomplete entries up front:
    a typo in a column name should fail when the configuration is loaded, not surface later as
    a silently empty column."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("obsscale.data.curated").joinpath("hub.toml").read_text("utf-8")
    )
    config = tomllib.loads(text)
    problems = [
        p for key, spec in config.get("external", {}).items() if (p := _spec_problem(key, spec))
    ]
    if problems:
        raise ValueError(f"{path or 'hub.toml'}: " + "; ".join(problems))
    return config


def _spec_problem(key: str, spec: dict[str, Any]) -> str:
    if "skip" in spec:
        return ""
    missing = {"model", "score", "scale", "name"} - spec.keys()
    if missing:
        return f"external.{key}: missing {sorted(missing)}"
    if spec["scale"] not in SCALES:
        return f"external.{key}: scale {spec['scale']!r} not in {SCALES}"
    if spec["scale"] == "other" and not {"divide_by", "reason"} <= spec.keys():
        return f"external.{key}: scale 'other' needs divide_by and reason"
    return ""


@cache
def packaged_config() -> dict[str, Any]:
    return load_hub_config()


def _read(path: Path) -> pd.DataFrame:
    """Read a hub CSV as text. The files start with a byte-order mark (``utf-8-sig`` drops it,
    else the first column is named '\\ufeffid'); records are numbered from 1 like every parser."""
    frame = pd.read_csv(
        path, dtype=str, encoding="utf-8-sig", keep_default_na=False, na_values=[""]
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame.apply(lambda col: col.str.strip())  # ids carry stray spaces ('Llama-2-70b-hf ')


def hub_fraction(raw: str, scale: str, divide_by: float = 1.0) -> float:
    """One score as a fraction, or ValueError saying why not. A percent string must carry its
    '%' and a fraction must not: a bare '0.5' in a percent-string column is ambiguous (0.5 or
    0.005), so it is reported rather than read either way."""
    text = raw.strip()
    has_pct = text.endswith("%")
    number = text[:-1].strip() if has_pct else text
    if not NUMBER.match(number):
        raise ValueError("not a number")
    if scale == "percent_string" and not has_pct:
        raise ValueError("no '%' sign in a percent-string column")
    if scale == "fraction" and has_pct:
        raise ValueError("'%' sign in a fraction column")
    divisor = {"fraction": 1.0, "percent": 100.0, "percent_string": 100.0}.get(scale, divide_by)
    return float(number) / divisor


# ---------------------------------------------------------------------------- score parsing


def _label(frame: pd.DataFrame, idx: int) -> str:
    """What a row without a model version is about (its Name/Agent/Model), for its event."""
    for col in ("Name", "Agent", "Model"):
        if col in frame.columns and isinstance(frame.at[idx, col], str):
            return frame.at[idx, col]
    return ""


def _checked(raw: str, scale: str, divide_by: float) -> tuple[float | None, str, str]:
    """(fraction, '', '') for a usable score, else (None, rule, why)."""
    try:
        value = hub_fraction(raw, scale, divide_by)
    except ValueError as e:
        return None, "not_numeric", str(e)
    if not 0.0 <= value <= 1.0:
        return None, "score_out_of_range", f"{value:.4g} outside [0, 1] after scaling"
    return value, "", ""


def _score_values(
    frame: pd.DataFrame,
    model_col: str,
    score_col: str,
    scale: str,
    divide_by: float,
    fld: str,
    source: str,
) -> tuple[pd.DataFrame, list[dict]]:
    """Long values for one score column; each unusable record becomes one event (an empty
    score is only 'info': the source reported nothing, so nothing was lost here)."""
    events, rows = [], []
    for idx, model, raw in zip(frame.index, frame[model_col], frame[score_col], strict=True):
        if pd.isna(raw):
            rule, why, severity = "no_score", "score empty", "info"
        elif pd.isna(model):
            rule, why, severity = "no_model_version", "no model version id", "dropped"
            model = _label(frame, idx) or None  # the row's Name/Agent, to say what was lost
        else:
            value, rule, why = _checked(raw, scale, divide_by)
            severity = "dropped"
        if rule == "no_score" and pd.isna(model):
            continue  # an empty row
        if rule:
            events.append(event(source, model, fld, raw, rule, severity, f"record {idx}: {why}"))
        else:
            rows.append({"model": model, "field": fld, "value": value, "row": idx})
    return pd.DataFrame(rows, columns=VALUE_COLUMNS), events


def collapse(
    values: pd.DataFrame, by: list[str], ascending: list[bool], rule: str, source: str
) -> tuple[pd.DataFrame, list[dict]]:
    """Keep the first record per (model, field) after sorting by ``by``; one info event per
    group that had several records, naming every record and the one kept."""
    ordered = values.sort_values(
        ["model", "field", *by], ascending=[True, True, *ascending], kind="stable"
    )
    events = []
    for (model, fld), group in ordered.groupby(["model", "field"], sort=False):
        if len(group) > 1:
            pairs = zip(group["row"], group["value"], strict=True)
            seen = ", ".join(f"record {r}: {v:.4g}" for r, v in pairs)
            detail = f"{len(group)} records ({seen}); kept record {group['row'].iloc[0]} ({rule})"
            value = group["value"].iloc[0]
            events.append(event(source, model, fld, value, "duplicate_collapsed", "info", detail))
    kept = ordered.drop_duplicates(["model", "field"], keep="first")
    return kept.sort_values("row", kind="stable")[VALUE_COLUMNS].reset_index(drop=True), events


def parse_runs(path: Path, spec: dict, source: str) -> Parsed:
    """Epoch's own runs (one row per run). Several runs of one version on one task are
    collapsed to the *latest* run (by ``started_at``, then task version): Epoch re-runs a model
    when a task's harness or problem set is revised (the repeats here are FrontierMath 1.0.0 ->
    1.1.0), so the latest run is the one measured on the current task; taking the best would mix
    task versions. Tasks missing from ``[runs.benchmarks]`` are reported, not guessed."""
    frame = _read(path)
    missing = [spec[k] for k in ("model", "task", "score") if spec[k] not in frame.columns]
    if missing:
        return _unparsed(path, source, f"columns {missing} not found")
    names: dict[str, str] = spec["benchmarks"]
    tasks = frame[spec["task"]]
    events = [
        event(
            source,
            "*",
            task,
            int(n),
            "unknown_benchmark",
            "dropped",
            f"task {task!r} ({n} runs) has no entry in [runs.benchmarks]",
        )
        for task, n in tasks.value_counts().items()
        if task not in names
    ]
    parts = []
    for task, name in names.items():
        part, evs = _score_values(
            frame[tasks == task],
            spec["model"],
            spec["score"],
            spec["scale"],
            1.0,
            PREFIX + name,
            source,
        )
        parts.append(part)
        events += evs
    values = _run_order(pd.concat(parts, ignore_index=True), frame, spec)
    kept, dup = collapse(
        values, ["_t", "_v", "row"], [False, False, False], "latest run by started_at", source
    )
    return Parsed(kept, events + dup)


def _run_order(values: pd.DataFrame, frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Attach each run's start time (``17 November 2025 4:28pm``) and task version, the keys
    that order repeated runs; an unreadable time sorts last rather than failing the file."""
    blank = pd.Series(pd.NA, index=frame.index)
    started = frame.get(spec.get("started", ""), blank).loc[values["row"]]
    version = frame.get(spec.get("task_version", ""), blank).loc[values["row"]]
    return values.assign(
        _t=pd.to_datetime(started, format="%d %B %Y %I:%M%p", errors="coerce").to_numpy(),
        _v=version.fillna("").to_numpy(),
    )


def _unparsed(path: Path, source: str, reason: str, severity: str = "dropped") -> Parsed:
    return Parsed(
        pd.DataFrame(columns=VALUE_COLUMNS),
        [event(source, "*", Path(path).name, None, "unparsed_file", severity, reason)],
    )


def parse_external(path: Path, spec: dict, source: str) -> Parsed:
    """One ``external_benchmark_*.csv`` as declared in ``hub.toml``. Several rows for one
    version (different papers, shot counts or agent scaffolds) are collapsed to the *best*
    score: these rows are different reported protocols with no date to order them, the maximum
    is the model's capability under its most favourable reported setting, does not depend on
    row order, and is how Epoch's own stitching aggregates them."""
    if "skip" in spec:
        return _unparsed(path, source, f"skipped: {spec['skip']}", "excluded")
    frame = _read(path)
    missing = [spec[k] for k in ("model", "score") if spec[k] not in frame.columns]
    if missing:
        return _unparsed(
            path, source, f"columns {missing} not found (have {list(frame.columns)[:10]})"
        )
    fld = PREFIX + spec["name"]
    frame, events = _drop_records(frame, spec, fld, source)
    divide_by = float(spec.get("divide_by", 1.0))
    values, evs = _score_values(
        frame, spec["model"], spec["score"], spec["scale"], divide_by, fld, source
    )
    checks = _scale_check(values, spec, fld, source) + _size_check(frame, spec, fld, source)
    kept, dup = collapse(values, ["value", "row"], [False, True], "best score", source)
    return Parsed(kept, events + evs + checks + dup)


def _drop_records(
    frame: pd.DataFrame, spec: dict, fld: str, source: str
) -> tuple[pd.DataFrame, list[dict]]:
    """Remove the records ``hub.toml`` lists under ``drop`` (record id -> reason): rows checked
    by hand to carry the wrong model version. Keyed by Epoch's record id, not the row number,
    so the list survives reordering upstream; a listed id that is gone is reported."""
    drop: dict[str, str] = spec.get("drop", {})
    id_col = spec.get("record_id", "id")
    if not drop:
        return frame, []
    ids = frame[id_col] if id_col in frame.columns else pd.Series(dtype=str)
    ev = partial(event, source)
    events = [
        ev(
            frame.at[i, spec["model"]],
            fld,
            frame.at[i, spec["score"]],
            "curated_drop",
            "dropped",
            f"record {i} ({rec}): {drop[rec]}",
        )
        for i, rec in ids.items()
        if rec in drop
    ]
    events += [
        ev("*", fld, rec, "drop_unused", "warning", f"record id {rec} is not in the file")
        for rec in drop
        if rec not in set(ids)
    ]
    return frame[~ids.reindex(frame.index).isin(list(drop))], events


def _size_check(frame: pd.DataFrame, spec: dict, fld: str, source: str) -> list[dict]:
    """Warn where a row's display ``Name`` and its version id state different parameter counts
    ('Llama 2 (7B)' filed under 'Llama-2-70b-hf'): the cheapest check for a mislabelled row.
    A warning, not a drop: some differences are naming (LLaMA '30B' is the paper's 33B)."""
    if "Name" not in frame.columns:
        return []
    size = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?[bB](?![a-zA-Z])")
    events = []
    for idx, name, version in zip(frame.index, frame["Name"], frame[spec["model"]], strict=True):
        if isinstance(name, str) and isinstance(version, str):
            said, filed = set(size.findall(name)), set(size.findall(version))
            if said and filed and not said & filed:
                detail = f"record {idx}: name {name!r} states another size"
                value = frame.at[idx, spec["score"]]
                events.append(
                    event(source, version, fld, value, "name_version_mismatch", "warning", detail)
                )
    return events


def _scale_check(values: pd.DataFrame, spec: dict, fld: str, source: str) -> list[dict]:
    """A percent column whose every value is <= 1 % was almost surely declared wrongly."""
    top = float(values["value"].max()) if len(values) else None
    if spec["scale"] not in ("percent", "percent_string") or top is None or top > 0.01:
        return []
    detail = "declared percent but every value is <= 1%: check hub.toml"
    return [event(source, "*", fld, top, "scale_mismatch", "warning", detail)]


def parse_versions(path: Path, source: str) -> tuple[pd.DataFrame, list[dict]]:
    """``model_versions.csv`` as (row, version, model, release_date, org), and an event for
    each release date present but unreadable. The hub gives the Hugging Face *organisation*
    only; ``data.hub`` forms the HF id from it."""
    frame = _read(path)
    raw = frame["Version release date"]
    dates = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    events = [
        event(
            source,
            frame.at[i, "id"],
            "release_date",
            raw[i],
            "not_a_date",
            "dropped",
            f"record {i}",
        )
        for i in frame.index[raw.notna() & dates.isna()]
    ]
    out = pd.DataFrame(
        {
            "row": frame.index,
            "version": frame["id"],
            "model": frame.get("Model"),
            "release_date": dates.dt.strftime("%Y-%m-%d"),
            "org": frame["Hugging Face developer id"],
        }
    )
    return out.dropna(subset=["version"]).reset_index(drop=True), events


# ------------------------------------------------------ the parser contract: (path, source, config)


def parse_epoch_hub_runs(path: Path, source: Source, config: Config) -> Parsed:
    """``benchmarks_runs.csv``: Epoch's own runs, read as ``hub.toml`` [runs] declares."""
    return parse_runs(path, packaged_config()["runs"], source.name)


def parse_epoch_hub_external(path: Path, source: Source, config: Config) -> Parsed:
    """One ``external_benchmark_<table>.csv``, read as ``hub.toml`` [external.<table>] declares;
    a table without an entry is reported (an ``unparsed_file`` event), not guessed."""
    table = Path(source.filename).stem.removeprefix(EXTERNAL_PREFIX)
    spec = packaged_config().get("external", {}).get(table)
    if spec is None:
        return _unparsed(path, source.name, f"no entry [external.{table}] in hub.toml")
    return parse_external(path, spec, source.name)


def parse_epoch_hub_versions(path: Path, source: Source, config: Config) -> Parsed:
    """``model_versions.csv`` as long values keyed by version id: ``release_date``, the Hugging
    Face organisation (``hub_org``), Epoch's model name (``hub_model``) and the id itself
    (``hub_id``). ``data.hub`` turns them back into the version table it joins with."""
    versions, events = parse_versions(path, source.name)
    frame = versions.rename(columns={"org": "hub_org", "model": "hub_model"})
    frame["hub_id"] = frame["version"]  # so that a version with no other field is still listed
    parts = [
        frame[["version", "row"]].assign(field=f, value=frame[f]).dropna(subset=["value"])
        for f in ("hub_id", "release_date", "hub_org", "hub_model")
    ]
    out = pd.concat(parts, ignore_index=True).rename(columns={"version": "model"})
    return Parsed(out[VALUE_COLUMNS].sort_values(["row", "field"], ignore_index=True), events)
