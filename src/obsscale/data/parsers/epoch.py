"""Epoch AI's notable models table: publication dates, parameters, training compute."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source
from obsscale.data.parsers.common import (
    Parsed,
    drop_absurd,
    long,
    numeric,
    read_csv,
    require,
)


def parse_epoch(path: Path, source: Source, config: Config) -> Parsed:
    """Epoch AI notable models: columns found by name (the live file adds and reorders them).

    Rows keep Epoch's own model names; ``harmonize`` matches them to Hugging Face ids. The dataset
    size column mixes words and tokens, so it is not read.
    """
    frame = read_csv(path)
    require(frame, source.required, path)
    events: list[dict] = []
    frame = frame.dropna(subset=["Model"])
    if "Domain" in frame.columns:
        frame = frame[frame["Domain"].fillna("").str.contains("Language")]
    out = pd.DataFrame({"model": frame["Model"].str.strip()}, index=frame.index)
    params = numeric(frame, "Parameters", source.name, "Model", events) / 1e9
    out["params_b"] = drop_absurd(params, source.name, "params_b", out["model"], events)
    flops = numeric(frame, "Training compute (FLOP)", source.name, "Model", events)
    out["flops"] = drop_absurd(flops, source.name, "flops", out["model"], events)
    out["release_date"] = pd.to_datetime(frame["Publication date"], errors="coerce").dt.strftime(
        "%Y-%m-%d"
    )
    return Parsed(long(out, "model", {c: c for c in out.columns if c != "model"}), events)
