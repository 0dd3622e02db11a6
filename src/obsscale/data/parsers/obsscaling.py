"""The ObsScaling tables: curated metadata (family, size, tokens, FLOPs) and 8 benchmark
scores per model, as fractions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source
from obsscale.data.parsers.common import (
    Parsed,
    check_duplicate_ids,
    drop_absurd,
    long,
    numeric,
    read_csv,
    require,
    to_fraction,
)

OBSSCALING_META = {
    "Model Family": "family",
    "Model Size (B)": "params_b",
    "Pretraining Data Size (T)": "tokens_t",
    "FLOPs (1E21)": "flops",
}


def parse_obsscaling(path: Path, source: Source, config: Config, is_base: bool = True) -> Parsed:
    """The ObsScaling tables: curated metadata plus benchmark scores (fractions)."""
    frame = read_csv(path)
    require(frame, [*OBSSCALING_META, *source.required], path)
    events: list[dict] = []
    frame = check_duplicate_ids(frame.dropna(subset=["Model"]), "Model", source.name, events)
    out = pd.DataFrame(index=frame.index)
    out["model"] = frame["Model"].str.strip()
    out["family"] = frame["Model Family"]
    for column in ("Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"):
        out[OBSSCALING_META[column]] = numeric(frame, column, source.name, "Model", events)
    # the table counts in units of 1e21; round away the binary noise of the multiplication
    out["flops"] = (out["flops"] * 1e21).map(lambda x: float(f"{x:.12g}"))
    for fld in ("params_b", "tokens_t", "flops"):
        out[fld] = drop_absurd(out[fld], source.name, fld, out["model"], events)
    out["is_base"] = is_base
    benchmarks = [c for c in frame.columns if c not in OBSSCALING_META and c != "Model"]
    for b in benchmarks:
        num = numeric(frame, b, source.name, "Model", events)
        out[f"obsscaling:{b}"] = to_fraction(
            num, "fraction", source.name, f"obsscaling:{b}", out["model"], events
        )
    fields = {c: c for c in out.columns if c != "model"}
    return Parsed(long(out, "model", fields), events)


def parse_obsscaling_instruct(path: Path, source: Source, config: Config) -> Parsed:
    return parse_obsscaling(path, source, config, is_base=False)
