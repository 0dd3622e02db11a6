"""A user's wide score file (first column the model id, one column per benchmark): read with
every cell's text kept, so that the completed file repeats observed cells byte for byte.

Refused with one line naming the file and the line: a repeated column name or model id, a
model without id, a row of the wrong length, a cell that is not a number, a column without
any score. Missing cells are empty (or NA, NaN, N/A, -).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.complete import CompletionResult
from obsscale.model.completion.scales import Scale, detect_scales

MISSING = frozenset({"", "na", "nan", "n/a", "-"})


@dataclass(frozen=True)
class WideTable:
    """The file as read: its header, model ids (stripped), every row's text as written and
    the values (NaN = missing)."""

    path: Path
    header: list[str]
    ids: list[str]
    texts: list[list[str]]
    values: pd.DataFrame

    def scales(self, declared: dict[str, str] | None = None) -> dict[str, Scale]:
        cols = {}
        for j, c in enumerate(self.values.columns):
            have = [i for i, row in enumerate(self.texts) if not _missing(row[j + 1])]
            if not have:
                raise CapabilityDataError(f"{self.path}: column {c!r} has no scores")
            cols[c] = (self.values[c].to_numpy()[have], [self.texts[i][j + 1] for i in have])
        try:
            return detect_scales(cols, declared)
        except CapabilityDataError as e:
            raise CapabilityDataError(f"{self.path}: {e}", setting=e.setting) from e


def _missing(text: str) -> bool:
    return text.strip().lower() in MISSING


def read_wide(path: Path) -> WideTable:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CapabilityDataError(f"{path}: cannot read it as CSV: {e}") from e
    if len(rows) < 2 or len(rows[0]) < 2:
        raise CapabilityDataError(f"{path}: need a header and a row, a model column and a score")
    header = rows[0]
    _check_header(path, header)
    ids, texts, values = [], [], []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        model = _model_id(path, line, row, len(header), seen)
        ids.append(model)
        texts.append(row)
        values.append([_number(path, line, model, header[j + 1], t) for j, t in enumerate(row[1:])])
    frame = pd.DataFrame(values, index=pd.Index(ids, name=header[0]), columns=header[1:])
    return WideTable(path, header, ids, texts, frame)


def _check_header(path: Path, header: list[str]) -> None:
    names = [h.strip() for h in header]
    for j, name in enumerate(names):
        if not name and j > 0:
            raise CapabilityDataError(f"{path}: column {j + 1} has no name")
        if name in names[:j]:
            raise CapabilityDataError(f"{path}: column {name!r} appears twice")


def _model_id(path: Path, line: int, row: list[str], width: int, seen: dict[str, int]) -> str:
    if len(row) != width:
        raise CapabilityDataError(f"{path}: line {line}: {len(row)} fields, the header has {width}")
    model = row[0].strip()
    if not model:
        raise CapabilityDataError(f"{path}: line {line}: no model id")
    key = model.lower()
    if key in seen:
        raise CapabilityDataError(
            f"{path}: line {line}: model {model!r} appears twice (first at line {seen[key]})"
        )
    seen[key] = line
    return model


def _number(path: Path, line: int, model: str, column: str, text: str) -> float:
    if _missing(text):
        return math.nan
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CapabilityDataError(
            f"{path}: line {line} (model {model!r}), column {column!r}: {text.strip()!r} is not "
            "a number"
        )
    return value


def filled_rows(table: WideTable, result: CompletionResult) -> list[list[str]]:
    """The file's rows with every missing cell filled (in the column's unit and precision);
    observed cells as they were written."""
    out = [list(table.header)]
    values = result.values.to_numpy()
    cols = list(result.values.columns)
    for i in range(len(table.ids)):
        row = [table.texts[i][0]]
        for j, text in enumerate(table.texts[i][1:]):
            row.append(text if not _missing(text) else result.scales[cols[j]].format(values[i, j]))
        out.append(row)
    return out


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """CSV rows, written whole or not at all."""
    from obsscale.data import store

    with store.atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def cells_frame(result: CompletionResult) -> pd.DataFrame:
    """One row per cell (model, benchmark, value, lower, upper, observed), values rounded to
    the column's precision (plus one digit for the interval)."""
    cells = result.cells()
    digits = cells["benchmark"].map({c: s.decimals for c, s in result.scales.items()})
    for col, extra in (("value", 0), ("lower", 1), ("upper", 1)):
        cells[col] = [
            round(v, int(d) + extra) if np.isfinite(v) else v
            for v, d in zip(cells[col], digits, strict=True)
        ]
    return cells
