"""Required key paths of a downloaded JSON table: checked by fetch on every download and by
the EvalPlus parser, in a module that imports nothing else, so that a warm ``obsscale fetch``
(nothing to parse) does not import pandas through the parsers (0.23 s)."""

from __future__ import annotations

from collections.abc import Iterable


def missing_json_keys(obj: dict | list, required: Iterable[str]) -> list[str]:
    """The required key paths (``pass@1.humaneval+``: key ``humaneval+`` of key ``pass@1``)
    that no entry of a JSON table has: a renamed key is a format change, not missing data."""
    entries = list(obj.values() if isinstance(obj, dict) else obj)
    return [k for k in required if not any(_has_path(e, k.split(".")) for e in entries)]


def _has_path(entry: object, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(entry, dict) or key not in entry:
            return False
        entry = entry[key]
    return True
