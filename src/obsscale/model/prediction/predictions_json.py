"""The predictions of a back-test as JSON records: one per model (per fold in k-fold splits),
with its keys and each predictor's values.

The long predictions table is grouped column-wise (a row-by-row groupby cost ~1 ms per
model), and the records are written by orjson (``results.PredictionResult.to_json``).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

HEAD_KEYS = ("model", "family", "split", "actual")
VALUE_KEYS = ("predicted", "lower", "upper")


@dataclass
class Columns:
    """The predictions grouped one entry per (model, family, split, actual), in order of first
    appearance: ``heads`` holds those four columns, ``by_predictor`` each predictor's (entries
    that have it, predicted, lower, upper), all numpy arrays."""

    n: int
    heads: dict[str, np.ndarray]
    by_predictor: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def prediction_columns(pred: pd.DataFrame) -> Columns:
    """Column-wise grouping (a row-by-row groupby cost ~1 ms per model); when a predictor
    repeats within an entry, its last row wins."""
    if pred.empty:
        return Columns(0, {k: pred[k].to_numpy() for k in HEAD_KEYS}, {})
    values = {k: pred[k].to_numpy() for k in VALUE_KEYS}
    blocks = _same_blocks(pred)
    if blocks is not None:  # each block: a predictor on the entries, in order
        size = len(pred) // len(blocks)
        heads = {k: pred[k].to_numpy()[:size] for k in HEAD_KEYS}
        every = np.arange(size)
        by_block = {
            name: (every, *(values[c][start : start + size] for c in VALUE_KEYS))
            for name, start in blocks
        }
        return Columns(size, heads, by_block)
    group, first = _grouped([pred[k].to_numpy() for k in HEAD_KEYS])
    n = len(first)
    heads = {k: pred[k].to_numpy()[first] for k in HEAD_KEYS}
    names = pred["predictor"].to_numpy()
    by_predictor = {}
    for name in pd.unique(names):
        rows = np.flatnonzero(names == name)
        last = np.full(n, -1)
        np.maximum.at(last, group[rows], rows)
        have = np.flatnonzero(last >= 0)
        predicted, lower, upper = (values[c][last[have]] for c in VALUE_KEYS)
        by_predictor[str(name)] = (have, predicted, lower, upper)
    return Columns(n, heads, by_predictor)


def _same_blocks(pred: pd.DataFrame) -> list[tuple[str, int]] | None:
    """(predictor, first row) of each block of rows where a back-test's usual layout holds:
    one block per predictor, each with the same models (none twice) in the same order and
    the same other keys. Then the first block's rows are the entries (a later block of the
    same predictor wins), and only they are hashed. None otherwise."""
    names = pred["predictor"].to_numpy()
    starts = [0, *(np.flatnonzero(names[1:] != names[:-1]) + 1).tolist()]
    size = len(pred) // len(starts)
    if any(b - a != size for a, b in pairwise([*starts, len(pred)])):
        return None
    for k in HEAD_KEYS:
        col = pred[k].to_numpy()
        if not (col.reshape(len(starts), size) == col[:size]).all():
            return None
    models = pd.factorize(pred["model"].to_numpy()[:size], use_na_sentinel=False)[0]
    if models.max() + 1 != size:
        return None
    return [(str(names[a]), a) for a in starts]


def _grouped(heads: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's entry (the groups of ``HEAD_KEYS``, numbered in order of first appearance)
    and each entry's first row: grouped by the model alone where a model's rows agree on the
    other keys (the usual case), else by all four."""
    group = pd.factorize(heads[0], use_na_sentinel=False)[0]
    for values in heads[1:]:
        mine = values[_first_rows(group)][group]
        same = values == mine
        if not same.all() and not (same | (pd.isna(values) & pd.isna(mine))).all():
            frame = pd.DataFrame(dict(enumerate(heads)))
            group = frame.groupby(list(frame), sort=False, dropna=False).ngroup().to_numpy()
            break
    return group, _first_rows(group)


def _first_rows(group: np.ndarray) -> np.ndarray:
    first = np.full(int(group.max()) + 1, len(group))
    np.minimum.at(first, group, np.arange(len(group)))
    return first


def column(values: np.ndarray) -> list[Any]:
    """Python scalars of a column, with NaN / NA as None (what ``store.jsonable`` gives)."""
    out = values.tolist()
    if values.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = None
    elif values.dtype == object:
        out = [None if (v is None or v is pd.NA or v != v) else v for v in out]
    return out


def prediction_records(pred: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per model (per fold in k-fold splits): its keys and each predictor's values,
    as JSON-safe Python values (NaN as None).

    At 100,000 models building these 400,000 dicts is most of the JSON's time: dict displays
    rather than ``dict(zip(...))``, and the cyclic garbage collector paused meanwhile (each
    new batch of containers set it off, to find nothing: they are all live), halve it."""
    c = prediction_columns(pred)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _records(c)
    finally:
        if was_enabled:
            gc.enable()


def _records(c: Columns) -> list[dict[str, Any]]:
    model, family, split, actual = (column(c.heads[k]) for k in HEAD_KEYS)
    records: list[dict[str, Any]] = [
        {"model": m, "family": f, "split": s, "actual": a}
        for m, f, s, a in zip(model, family, split, actual, strict=True)
    ]
    for name, (have, predicted, lower, upper) in c.by_predictor.items():
        values = zip(column(predicted), column(lower), column(upper), strict=True)
        mine = records if len(have) == len(records) else [records[i] for i in have.tolist()]
        for record, (p, lo, hi) in zip(mine, values, strict=True):
            record[name] = {"predicted": p, "lower": lo, "upper": hi}
    return records
