"""The EvalPlus leaderboard (JSON): pass@1 on HumanEval(+) and MBPP(+), in percent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from obsscale.config import Config, Source
from obsscale.data.json_keys import missing_json_keys
from obsscale.data.parsers.common import (
    HF_ID,
    Parsed,
    check_duplicate_ids,
    drop_absurd,
    event,
    long,
    to_fraction,
)
from obsscale.exceptions import ParseError

EVALPLUS_BENCHMARKS = ("humaneval", "humaneval+", "mbpp", "mbpp+")


def parse_evalplus(path: Path, source: Source, config: Config) -> Parsed:
    """EvalPlus leaderboard JSON: pass@1 in percent, size in billions, HF link when public."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ParseError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(data, dict):
        raise ParseError(f"{path}: expected a JSON object of models, got {type(data).__name__}")
    missing = missing_json_keys(data, source.required)
    if missing:
        raise ParseError(f"{path}: no entry has the keys {missing}; the upstream format changed")
    events: list[dict] = []
    rows = []
    for i, (name, entry) in enumerate(data.items(), start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("pass@1"), dict):
            events.append(
                event(
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
    frame = check_duplicate_ids(frame, "model", source.name, events)
    out = pd.DataFrame({"model": frame["model"]}, index=frame.index)
    params = pd.to_numeric(frame["params_b"], errors="coerce")
    out["params_b"] = drop_absurd(params, source.name, "params_b", out["model"], events)
    for b in EVALPLUS_BENCHMARKS:
        num = pd.to_numeric(frame[f"evalplus:{b}"], errors="coerce")
        out[f"evalplus:{b}"] = to_fraction(
            num, "percent", source.name, f"evalplus:{b}", out["model"], events
        )
    return Parsed(long(out, "model", {c: c for c in out.columns if c != "model"}), events)
