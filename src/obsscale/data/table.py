"""The harmonized model table (``processed/models.csv``): reading it back with its types, and
which of its columns are scores and which are metadata."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.exceptions import CapabilityDataError, HarmonizeError

META_FIELDS = ("family", "params_b", "tokens_t", "flops", "release_date", "is_base", "base_model")
NUMERIC_FIELDS = ("params_b", "tokens_t", "flops")


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


def load_models(config: Config) -> pd.DataFrame:
    """Read ``models.csv`` back with its column types (the input of every later stage)."""
    path = processed_models_path(config)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run `obsscale fetch` (or `obsscale harmonize`) first"
        )
    try:
        frame = pd.read_csv(
            path, dtype={"model": str, "family": str, "release_date": str, "base_model": str}
        )
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
    return frame
