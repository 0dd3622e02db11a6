"""Which benchmarks form the factor basis of one prediction.

Two rules, both about the rows that carry the target:

- a benchmark that *is* the target, or measures the same thing from another source (a twin,
  e.g. obsscaling:HellaSwag for openllm_v1:HellaSwag), would leak it and is left out;
- the default basis is the paper's base-model one. Instruction-tuned models report Winogrande
  rather than Winograd (and no XWinograd), and leaderboard-v1 models only its six tasks, so for
  such targets the imputation would fill whole columns. Where a declared fallback basis is
  observed in a clearly larger share of the target rows' cells, it replaces the default; a
  basis the user chose is never replaced.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class Basis(NamedTuple):
    """The chosen basis, what was left out as leaky, and a note when a fallback was taken."""

    columns: list[str]
    left_out: list[str]
    note: str | None


def factor_basis(
    benchmarks: tuple[str, ...], target: str, twins: tuple[tuple[str, str], ...]
) -> tuple[list[str], list[str]]:
    """The basis without the target and without its twins (the same benchmark measured by
    another source, e.g. obsscaling:HellaSwag for openllm_v1:HellaSwag), which would leak it."""
    leaky = {target} | {a for a, b in twins if b == target} | {b for a, b in twins if a == target}
    return [b for b in benchmarks if b not in leaky], [b for b in benchmarks if b in leaky]


def observed_share(models: pd.DataFrame, rows: pd.Series, columns: list[str]) -> float:
    """The share of the (rows x columns) cells that hold a score; absent columns count empty."""
    if not columns or not rows.any():
        return 0.0
    present = [c for c in columns if c in models.columns]
    observed = models.loc[rows, present].notna().to_numpy().sum() if present else 0
    return float(observed) / (int(rows.sum()) * len(columns))


def resolve_basis(
    models: pd.DataFrame,
    target: str,
    candidates: tuple[tuple[str, ...], ...],
    twins: tuple[tuple[str, str], ...],
    margin: float,
) -> Basis:
    """The first candidate (the default) unless a later one is observed in a share of the
    target rows' cells larger by more than ``margin``; then the best-observed candidate."""
    rows = models[target].notna() if target in models.columns else pd.Series(False, models.index)
    options = [factor_basis(c, target, twins) for c in candidates]
    shares = [observed_share(models, rows, cols) for cols, _ in options]
    best = max(range(len(options)), key=lambda i: (shares[i], -i))
    if best == 0 or shares[best] <= shares[0] + margin:
        return Basis(*options[0], None)
    note = (
        f"factor basis: {', '.join(options[best][0])}, observed in {shares[best]:.0%} of the "
        f"cells of the {int(rows.sum())} models with {target}, instead of the default "
        f"({shares[0]:.0%} observed)"
    )
    return Basis(*options[best], note)
