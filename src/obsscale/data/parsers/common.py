"""What every parser shares: the long value table, quality events, and careful number and
scale parsing (nothing is altered or dropped without an event that says so)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from obsscale.exceptions import ParseError

VALUE_COLUMNS = ["model", "field", "value", "row"]
EVENT_COLUMNS = ["model", "field", "value", "rule", "source", "severity", "detail"]
HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass
class Parsed:
    values: pd.DataFrame
    events: list[dict] = field(default_factory=list)


def event(
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


def require(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    """The columns a parser reads are its source's ``required`` ones (config), so that fetch
    rejects a changed format before it replaces a good copy."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ParseError(f"{path}: missing columns {missing} (found {list(frame.columns)[:12]}...)")


def read_csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # 1-based data record numbers
    return frame


def numeric(
    frame: pd.DataFrame, column: str, source: str, model_col: str, events: list[dict]
) -> pd.Series:
    """Parse a column as numbers; anything present but not a number becomes NaN and an event."""
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce")
    for idx in raw.index[raw.notna() & num.isna()]:
        events.append(
            event(
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
            _scale_event(source, fld, observed, "fractions but values exceed 1", "percent")
        )
        declared = "percent"
    elif declared == "percent" and len(observed) > 0 and observed.max() <= 1.0:
        events.append(
            _scale_event(source, fld, observed, "percent but every value is <= 1", "fractions")
        )
        declared = "fraction"
    out = values / 100.0 if declared == "percent" else values.astype(float)
    bad = out.notna() & ((out < 0) | (out > 1))
    for idx in out.index[bad]:
        events.append(
            event(
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


def long(frame: pd.DataFrame, model_col: str, fields: dict[str, str]) -> pd.DataFrame:
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


def _scale_event(source: str, fld: str, observed: pd.Series, found: str, read_as: str) -> dict:
    """A column whose values contradict its declared scale, and how it is read instead."""
    detail = f"declared {found}: read as {read_as}"
    return event(source, "*", fld, float(observed.max()), "scale_mismatch", "warning", detail)


def check_duplicate_ids(
    frame: pd.DataFrame, model_col: str, source: str, events: list[dict]
) -> pd.DataFrame:
    dup = frame[model_col].str.lower().duplicated(keep="first")
    detail = "repeats an earlier record; the first is kept"
    events += row_events(frame, dup, model_col, source, "duplicate_model", "dropped", detail)
    return frame[~dup]


def row_events(
    frame: pd.DataFrame,
    mask: pd.Series,
    model_col: str,
    source: str,
    rule: str,
    severity: str,
    detail: str,
) -> list[dict]:
    """One event per row under ``mask``, naming its record and model id: how every parser
    reports the rows it leaves out."""
    return [
        event(
            source,
            frame.at[i, model_col],
            "model",
            frame.at[i, model_col],
            rule,
            severity,
            f"record {i}: {detail}",
        )
        for i in frame.index[mask]
    ]


# Beyond these no model has ever been trained (the largest are ~2e3 B parameters, ~4e26 FLOPs,
# ~40 T tokens): a larger value is a unit or typing error, not a model.
METADATA_LIMITS = {"params_b": 1e5, "tokens_t": 1e4, "flops": 1e30}


def drop_absurd(
    values: pd.Series, source: str, fld: str, models: pd.Series, events: list[dict]
) -> pd.Series:
    """Sizes and compute must be positive, finite and below ``METADATA_LIMITS``; others are
    dropped, each with an ``absurd_metadata`` event (listed in quality.csv)."""
    limit = METADATA_LIMITS[fld]
    finite = values.abs() < float("inf")
    bad = values.notna() & ~((values > 0) & finite & (values <= limit))
    for idx in values.index[bad]:
        value = values[idx]
        why = "positive" if value <= 0 else "finite" if not finite[idx] else f"at most {limit:g}"
        events.append(
            event(
                source,
                models[idx],
                fld,
                value,
                "absurd_metadata",
                "dropped",
                f"record {idx}: {fld} must be {why}",
            )
        )
    return values.mask(bad)


# a score column is degenerate when at least this share of its models have its most common value
DEGENERATE_SHARE = 0.9


def degenerate(values: pd.Series) -> str | None:
    """Why a score column gives nothing to predict (no values, or nearly all the same), or
    None when it is usable."""
    observed = values.dropna()
    if observed.empty:
        return "no numeric values"
    counts = observed.value_counts()
    share = counts.iloc[0] / len(observed)
    if share < DEGENERATE_SHARE:
        return None
    return (
        f"{counts.iloc[0]} of {len(observed)} models score {counts.index[0]:g} "
        f"(at least {DEGENERATE_SHARE:.0%} the same value): nothing to predict"
    )
