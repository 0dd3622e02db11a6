"""The harmonized model table (``processed/models.csv``): reading it back with its types, and
which of its columns are scores and which are metadata."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.config import Config, default_config
from obsscale.exceptions import ArtifactError, CapabilityDataError, HarmonizeError

META_FIELDS = ("family", "params_b", "tokens_t", "flops", "release_date", "is_base", "base_model")
NUMERIC_FIELDS = ("params_b", "tokens_t", "flops")
# which source gave each of these metadata values (harmonize writes them beside the values)
SOURCE_FIELDS = tuple(
    f"{f}_source" for f in ("family", "params_b", "tokens_t", "flops", "release_date")
)


def is_score_column(column: str) -> bool:
    """Scores are named ``<source>:<benchmark>``; metadata and ``*_source`` columns are not."""
    return ":" in column


def require_score_columns(benchmarks: Iterable[str]) -> None:
    """The factor basis takes scores only: sizes and compute are what it is compared with.
    (Tables built by hand may name scores without a source; metadata names are refused.)"""
    metadata = [b for b in benchmarks if b in ("model", *META_FIELDS) or b.endswith("_source")]
    if metadata:
        raise CapabilityDataError(
            f"{', '.join(metadata)}: not benchmark scores (model metadata); the factor basis "
            "takes score columns named <source>:<benchmark>, e.g. obsscaling:MMLU"
        )


def score_columns(frame: pd.DataFrame) -> list[str]:
    """The score columns of a model table, in table order."""
    return [c for c in frame.columns if is_score_column(c)]


def processed_models_path(config: Config) -> Path:
    return config.processed_dir / "models.csv"


def _table_source(source: Config | str | Path) -> tuple[Config | None, Path]:
    """The configuration whose record vouches for the table (if any), and the table's path."""
    if isinstance(source, Config):
        return source, processed_models_path(source)
    path = Path(source)
    if path.is_dir():
        config = default_config(path)
        return config, processed_models_path(config)
    config = default_config(path.parent.parent)
    return (config if processed_models_path(config) == path else None), path


def load_models(source: Config | str | Path) -> pd.DataFrame:
    """Read ``models.csv`` back with its column types (the input of every later stage),
    refused unless it is the table harmonize wrote (``cache.verify_output``) and its values
    keep the parsers' rules: complete lines, unique ids, sizes and compute positive and below
    the parsers' limits, and scores in [0, 1] (a table built by hand, without harmonize's
    record, may hold a target on another scale: ``predict --scale`` reads it).

    ``source``: a configuration, a data folder (its ``processed/models.csv``) or the path of
    a table with the same columns (checked against harmonize's record when it is a data
    folder's ``processed/models.csv``)."""
    from obsscale.data.cache import verify_output

    config, path = _table_source(source)
    if not path.is_file():
        raise ArtifactError(
            f"{path} not found; run `obsscale fetch` (or `obsscale harmonize`) first"
        )
    recorded = verify_output(config, "models.csv") if config else False
    _check_lines(path)
    try:
        # text columns declared: a wide table is read in chunks, and a column empty in the
        # first chunk would otherwise come back with mixed types (and a DtypeWarning)
        text = ("model", "family", "release_date", "base_model", *SOURCE_FIELDS)
        frame = pd.read_csv(path, dtype=dict.fromkeys(text, str))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise HarmonizeError(
            f"{path}: not a readable table ({e}); rerun `obsscale harmonize`"
        ) from e
    needed = ("model", "family", "params_b", "tokens_t", "flops", "release_date", "is_base")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise HarmonizeError(f"{path}: missing columns {missing}; rerun `obsscale harmonize`")
    flags = frame["is_base"].map({True: True, False: False, "True": True, "False": False})
    bad = frame["is_base"].notna() & flags.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HarmonizeError(
            f"{path}: row {i + 2}: is_base must be True or False, got {frame['is_base'].iloc[i]!r}"
        )
    frame["is_base"] = flags.astype("boolean")
    for col in (*NUMERIC_FIELDS, *score_columns(frame)):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise HarmonizeError(f"{path}: column {col!r} is not numeric")
    _check_values(frame, path, scores=recorded)
    return frame


def _check_lines(path: Path) -> None:
    """Every record complete: harmonize ends each with a line break and writes every field,
    so a missing final break or a short record is a table cut short."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if text and not text.endswith("\n"):
        raise HarmonizeError(
            f"{path}: the last line is incomplete (no final line break: cut short?); "
            "rebuild it with `obsscale harmonize`"
        )
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for lineno, row in enumerate(rows, start=2):
        if row and len(row) != width:
            raise HarmonizeError(
                f"{path}: record {lineno} has {len(row)} fields, the header {width} (cut short "
                "or edited?); rebuild it with `obsscale harmonize`"
            )


def first_bad_id(ids: pd.Series) -> tuple[str, int] | None:
    """``("missing", row)`` or ``("twice", row)`` for the first model id that is empty or
    repeated (ids compared stripped and case-insensitively), 0-based; None when all are
    usable. The model table and a user's scores file refuse the same ids."""
    names = ids.str.strip().str.lower()
    if names.isna().any():
        return "missing", int(np.flatnonzero(names.isna())[0])
    twice = names.duplicated()
    if twice.any():
        return "twice", int(np.flatnonzero(twice)[0])
    return None


def _check_values(frame: pd.DataFrame, path: Path, scores: bool) -> None:
    """The parsers' rules, checked again on the table as read (it may have been edited)."""
    from obsscale.data.parsers.common import METADATA_LIMITS

    bad = first_bad_id(frame["model"])
    if bad and bad[0] == "missing":
        raise HarmonizeError(f"{path}: row {bad[1] + 2}: no model id")
    if bad:
        i = bad[1]
        raise HarmonizeError(
            f"{path}: row {i + 2}: model {frame['model'].iloc[i]!r} appears twice; each model "
            "has one row (rebuild the table with `obsscale harmonize`)"
        )
    rules = [(c, 0.0, 1.0, "a score is a fraction in [0, 1]") for c in score_columns(frame)]
    rules = rules if scores else []
    rules += [
        (c, 0.0, METADATA_LIMITS[c], f"must be > 0 and <= {METADATA_LIMITS[c]:g}")
        for c in NUMERIC_FIELDS
    ]
    for col, low, high, rule in rules:
        values = frame[col]
        positive = col in NUMERIC_FIELDS
        bad = values.notna() & ~(
            ((values > low) if positive else (values >= low)) & (values <= high)
        )
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise HarmonizeError(
                f"{path}: row {i + 2} ({frame['model'].iloc[i]}), column {col}: "
                f"{values.iloc[i]:g} is out of range ({rule}); rebuild the table with "
                "`obsscale harmonize`, or correct the value"
            )
