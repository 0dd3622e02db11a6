"""The ObsScaling post-training evaluations: downstream scores of the curated base models
(lm-eval-harness: GSM8K variants, the BIG-Bench Hard subtasks and their overall score, few-shot
and chain-of-thought, strict and flexible answer extraction), as fractions.

Upstream names its columns ``<task>_<shots>_<metric>,<filter>[,norm]``, with commas inside the
(quoted) names. They leave here as ``obsscaling_post:<task>_<shots>shot_<filter>`` (the metric
is named too when it is not ``exact_match``), which has no commas, so that they survive every
comma-separated list and read as one token on a command line. Columns are skipped, each with
an event in quality.csv, when they are upstream's own chance-normalised copies (``,norm``: they
are not fractions, and obsscale normalises with its own chance levels), when their name does
not have that shape, and when they are degenerate: nearly every model has the same value (the
non-CoT strict-match BBH columns are almost all 0: the answers were not in the expected format),
so that there is nothing to predict.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source
from obsscale.data.parsers.common import (
    Parsed,
    check_duplicate_ids,
    degenerate,
    event,
    long,
    numeric,
    read_csv,
    require,
    to_fraction,
)

PREFIX = "obsscaling_post"
COLUMN_RE = re.compile(
    r"^(?P<task>[a-z0-9_]+)_(?P<shots>\d+)_(?P<metric>[a-z][a-z_]*),(?P<filter>[^,\s]+)"
    r"(?P<norm>,norm)?$"
)


def column_name(upstream: str) -> str | None:
    """``obsscaling_post:<task>_<shots>shot_<filter>`` for an upstream column name, or None
    when the name does not have the ``<task>_<shots>_<metric>,<filter>`` shape."""
    m = COLUMN_RE.match(upstream.strip())
    if not m or m["norm"]:
        return None
    metric = "" if m["metric"] == "exact_match" else f"_{m['metric']}"
    return f"{PREFIX}:{m['task']}_{m['shots']}shot{metric}_{m['filter']}"


def parse_obsscaling_post(path: Path, source: Source, config: Config) -> Parsed:
    """Every usable score column of the post-training table, under its safe name."""
    frame = read_csv(path)
    require(frame, ["Model", *source.required], path)
    events: list[dict] = []
    frame = check_duplicate_ids(frame.dropna(subset=["Model"]), "Model", source.name, events)
    models = frame["Model"].str.strip()
    columns: dict[str, pd.Series] = {"model": models}
    names = _usable_names(list(frame.columns.drop("Model")), source.name, events)
    for column, name in names.items():
        num = numeric(frame, column, source.name, "Model", events)
        values = to_fraction(num, "fraction", source.name, name, models, events)
        why = degenerate(values)
        if why:
            events.append(event(source.name, "*", name, None, "degenerate_column", "dropped", why))
            continue
        columns[name] = values
    out = pd.DataFrame(columns, index=frame.index)
    return Parsed(long(out, "model", {c: c for c in out.columns if c != "model"}), events)


def _usable_names(columns: list[str], source: str, events: list[dict]) -> dict[str, str]:
    """Upstream column -> safe name for the columns to read; an event for each one skipped
    (one for all the ``,norm`` copies)."""
    norm = [c for c in columns if (m := COLUMN_RE.match(c.strip())) and m["norm"]]
    if norm:
        why = (
            f"{len(norm)} columns ending ',norm' skipped: upstream's chance-normalised copies "
            "of other columns (not fractions; obsscale normalises with its own chance levels)"
        )
        events.append(event(source, "*", "*,norm", None, "column_skipped", "info", why))
    names: dict[str, str] = {}
    for column in columns:
        name = column_name(column)
        if column in norm:
            continue
        if name is None or name in names.values():
            why = "a second column of that name" if name else "not <task>_<shots>_<metric>,<filter>"
            events.append(_skipped(source, column, why))
            continue
        names[column] = name
    return names


def _skipped(source: str, column: str, why: str) -> dict:
    return event(source, "*", column, None, "column_skipped", "info", f"column skipped: {why}")
