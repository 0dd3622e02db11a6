"""The predictions of a back-test as JSON records, written column-wise.

``store.dumps`` of one record per model (sorted keys, indent 2) is what the output must be,
byte for byte; json's indenting encoder is pure Python (~1 ms per model), and even its C float
encoder spends ~0.4 µs per float in ``float.__repr__``. Here every column is encoded at once
(floats by orjson, strings through their distinct values) and the records are interleaved from
those columns and the constant text between them, then joined once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from obsscale.data import store

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


def records_json(pred: pd.DataFrame, level: int, before: str = "", after: str = "") -> str:
    """``store.dumps`` of the records of ``pred`` (see ``results``) nested at ``level``, between
    ``before`` and ``after`` (the document around it: one join for all).

    Each record is a fixed sequence of slots, one list per slot: the text before each key
    (empty where a predictor is missing, the separating comma only after the record's first
    key), each value, the text closing a predictor's object. The slots are interleaved into one
    list by strided assignment and joined: no per-model Python."""
    c = prediction_columns(pred)
    if c.n == 0:
        return before + "[]" + after
    i1, i2, i3 = (" " * (2 * (level + k)) for k in range(1, 4))
    keys = sorted([*HEAD_KEYS, *c.by_predictor])
    present = np.ones((len(keys), c.n), dtype=bool)
    for j, key in enumerate(keys):
        if key not in HEAD_KEYS:
            present[j] = False
            present[j, c.by_predictor[key][0]] = True
    after_first = np.cumsum(present, axis=0) > 1  # a key follows another key of its record
    texts = _value_texts(c)
    slots: list[str | list[str]] = ["\n" + i1 + "{\n" + i2]
    inner = ['"lower": ', ",\n" + i3 + '"predicted": ', ",\n" + i3 + '"upper": ']
    for j, key in enumerate(keys):
        opening = json_str(key) + ": " + ("" if key in HEAD_KEYS else "{\n" + i3 + inner[0])
        slots.append(_choose([",\n" + i2 + opening, opening, ""], after_first[j], present[j]))
        for k, values in enumerate(texts[key]):
            if k:
                slots.append(_choose([inner[k]] * 2 + [""], after_first[j], present[j]))
            slots.append(values)
        if key not in HEAD_KEYS:
            slots.append(_choose(["\n" + i2 + "}"] * 2 + [""], after_first[j], present[j]))
    slots.append("\n" + i1 + "}")
    return _interleave(slots, c.n, before + "[", "\n" + " " * (2 * level) + "]" + after)


def _interleave(slots: list[str | list[str]], n: int, start: str, end: str) -> str:
    """The records, separated by commas, between ``start`` and ``end``. A slot is a list (one
    text per record) or a text (the same for every record); the first and last slots are
    texts (a record's opening and closing). Adjacent texts are merged, and each record's
    closing joins the next one's opening: fewer items to join."""
    merged: list[str | list[str]] = []
    for slot in slots:
        if merged and isinstance(slot, str) and isinstance(merged[-1], str):
            merged[-1] += slot
        else:
            merged.append(slot)
    opening, closing, middle = str(merged[0]), str(merged[-1]), merged[1:-1]
    step = len(middle) + 1
    parts: list[str] = [""] * (step * n + 1)
    for k, slot in enumerate(middle):
        parts[1 + k :: step] = [slot] * n if isinstance(slot, str) else slot
    parts[step::step] = [closing + "," + opening] * n
    parts[0], parts[-1] = start + opening, closing + end
    return "".join(parts)


def _value_texts(c: Columns) -> dict[str, list[list[str]]]:
    """Each key's value texts, one list per record: ``[values]`` for a head key, ``[lower,
    predicted, upper]`` for a predictor (empty text where it is missing). Every float column
    goes through one ``float_texts`` call."""
    floats = {k: v for k, v in c.heads.items() if v.dtype.kind == "f"}
    for name, (_, predicted, lower, upper) in c.by_predictor.items():
        floats |= {f"{name}\0{i}": v for i, v in enumerate((lower, predicted, upper))}
    flat = float_texts(np.concatenate(list(floats.values()))) if floats else []
    at = np.cumsum([0, *(len(v) for v in floats.values())]).tolist()
    text = {k: flat[at[i] : at[i + 1]] for i, k in enumerate(floats)}
    out = {k: [text[k] if k in text else encoded(v)] for k, v in c.heads.items()}
    for name, (have, *_) in c.by_predictor.items():
        out[name] = [_scatter(text[f"{name}\0{i}"], have, c.n) for i in range(3)]
    return out


def _choose(texts: list[str], after_first: np.ndarray, present: np.ndarray) -> str | list[str]:
    """Per record: ``texts[0]`` after the record's first key, ``texts[1]`` as its first key,
    ``texts[2]`` where the key is missing (``present`` False); one text if all records agree."""
    if present.all() and (after_first.all() or not after_first.any()):
        return texts[0] if after_first[0] else texts[1]
    code = np.where(after_first, 0, 1)
    code[~present] = 2
    return np.asarray(texts, dtype=object)[code].tolist()


def _scatter(values: list[str], have: np.ndarray, n: int) -> list[str]:
    """``values`` at the records ``have``, empty text elsewhere."""
    if len(have) == n:
        return values
    out = np.full(n, "", dtype=object)
    out[have] = values
    return out.tolist()


def json_str(s: str) -> str:
    return json.encoder.encode_basestring_ascii(s)


def encoded(values: np.ndarray) -> list[str]:
    """JSON text of each value, as ``store.dumps`` writes it (NaN / NA as null). Floats by
    ``float_texts``; a column of plain strings at once; other values through their distinct
    values."""
    if values.dtype.kind == "f":
        return float_texts(values)
    strings = pd.api.types.infer_dtype(values, skipna=False) == "string"
    quoted = _plain_quoted(values.tolist()) if strings else None
    if quoted is not None:
        return quoted
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # NA is not among uniques
    distinct = uniques.tolist()
    text = _plain_quoted(distinct) if all(type(u) is str for u in distinct) else None
    if text is None:
        text = [json_str(u) if type(u) is str else store.dumps(u) for u in column(uniques)]
    return np.asarray([*text, "null"], dtype=object)[codes].tolist()  # code -1: NA


def _plain_quoted(strings: list[str]) -> list[str] | None:
    """``json_str`` of each string where all are printable ASCII without a quote or a
    backslash (as model ids are): the string in quotes, added by one join and one split over a
    separator none of them holds. None otherwise."""
    joined = "\x00".join(strings)
    plain = (
        joined.isascii()
        and '"' not in joined
        and "\\" not in joined
        and joined.count("\x00") == len(strings) - 1
        and joined.replace("\x00", "").isprintable()
    )
    return ('"' + '"\x00"'.join(strings) + '"').split("\x00") if plain and strings else None


def float_texts(values: np.ndarray) -> list[str]:
    """``float.__repr__`` of each value (what json writes), non-finite as null. orjson writes
    the same shortest round-trip digits in one C loop, ~15x faster; its notation differs only
    below 1e-4 (``0.00001`` for ``1e-05``) and, in some versions, from 1e16 up, so those few
    values are written by ``repr``."""
    import orjson  # imported here: only JSON output needs it

    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return []
    finite = np.isfinite(values)
    safe = np.where(finite, values, 0.0)
    text = orjson.dumps(safe, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode().split(",")
    size = np.abs(safe)
    for i in np.flatnonzero(~finite | ((size < 1e-4) & (size > 0)) | (size >= 1e16)).tolist():
        text[i] = repr(float(values[i])) if finite[i] else "null"
    return text


def column(values: np.ndarray) -> list[Any]:
    """Python scalars of a column, with NaN / NA as None (what ``store.jsonable`` gives)."""
    out = values.tolist()
    if values.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = None
    elif values.dtype == object:
        out = [None if (v is None or v is pd.NA or v != v) else v for v in out]
    return out
