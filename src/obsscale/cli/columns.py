"""Score columns named on the command line: ``MMLU-PRO`` for ``openllm_v2:MMLU-PRO`` when
that reading is the only one (said on stderr), else the candidates, so that a user need not
know the source prefixes of models.csv."""

from __future__ import annotations

import csv
import difflib
import sys
from collections.abc import Iterable
from pathlib import Path

from obsscale.exceptions import ConfigError


def table_columns(models_csv: Path) -> list[str]:
    """The score columns (``<source>:<benchmark>``) of models.csv, read from its header only."""
    with models_csv.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f), [])
    return [c for c in header if ":" in c]


def resolve(name: str, columns: list[str], what: str, prefer: Iterable[Iterable[str]] = ()) -> str:
    """``name`` as a column of ``columns``: itself, or the one column whose benchmark part it
    names (within the first group of ``prefer`` that has exactly one, e.g. the capability
    basis, then its fallbacks). Ambiguous or misspelt names are refused with the candidates;
    names like nothing are returned as they are (the stage reports them)."""
    if name in columns:
        return name
    lowered = name.lower()
    matches = [c for c in columns if lowered in (c.lower(), c.split(":", 1)[1].lower())]
    groups = [[c for c in matches if c in set(group)] for group in prefer]
    chosen = next((g for g in groups if len(g) == 1), matches)
    if len(chosen) == 1:
        print(f"obsscale: {what} {name!r} read as {chosen[0]!r}", file=sys.stderr)
        return chosen[0]
    if matches:
        raise ConfigError(f"{what} {name!r} is ambiguous: {', '.join(matches)}; give one in full")
    close = _close(name, columns)
    if close:
        raise ConfigError(
            f"{what} {name!r} is not a column of models.csv; did you mean {' or '.join(close)}?"
        )
    return name


def _close(name: str, columns: list[str]) -> list[str]:
    by_part = {c.split(":", 1)[1].lower(): c for c in columns}
    by_full = {c.lower(): c for c in columns}
    hits = difflib.get_close_matches(name.lower(), [*by_full, *by_part], n=3, cutoff=0.75)
    return list(dict.fromkeys(by_full.get(h) or by_part[h] for h in hits))
