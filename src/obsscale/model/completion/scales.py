"""The unit of each column of a user's score matrix: detected from its values or declared,
never guessed silently, and the maps to fractions (what the completers fit) and back.

- ``fraction``: every value in [0, 1];
- ``percent``: every value in [0, 100], some above 1 (fraction = value / 100);
- ``elo``: Elo-like ratings, every value in [500, 4000] (fraction = the expected score against
  a player rated at the column's observed median, 1 / (1 + 10^((median - rating) / 400)):
  linear in the rating on the logit scale, where the completers fit).

A column whose values are all in [0, 1] in a file that also has percent columns could be
fractions or percent scores under 1: it is read as fractions only when it is written with more
decimals than the file's percent columns (0.453 beside 45.3), else refused as ambiguous.
Values that fit none of the ranges are refused too; ``--scale COL=UNIT`` settles either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from obsscale.exceptions import CapabilityDataError

SCALES = ("fraction", "percent", "elo")
ELO_RANGE = (500.0, 4000.0)
ELO_SPREAD = 400.0  # the Elo convention: 400 rating points = odds x 10
MIN_DECIMALS = {"fraction": 3, "percent": 1, "elo": 0}


@dataclass(frozen=True)
class Scale:
    """One column's unit; ``center`` is the Elo reference rating (the observed median)."""

    unit: str
    decimals: int
    center: float = 0.0

    def to_fraction(self, values: np.ndarray) -> np.ndarray:
        if self.unit == "percent":
            return values / 100.0
        if self.unit == "elo":
            return 1.0 / (1.0 + 10.0 ** ((self.center - values) / ELO_SPREAD))
        return values

    def from_fraction(self, p: np.ndarray) -> np.ndarray:
        if self.unit == "percent":
            return p * 100.0
        if self.unit == "elo":
            q = np.clip(p, 1e-9, 1 - 1e-9)
            return self.center + ELO_SPREAD * np.log10(q / (1 - q))
        return p

    def describe(self) -> str:
        if self.unit == "elo":
            return f"elo (fraction = 1 / (1 + 10^(({self.center:g} - rating) / {ELO_SPREAD:g})))"
        return self.unit

    def format(self, value: float) -> str:
        return f"{value:.{self.decimals}f}"


def decimals(text: str) -> int:
    """Digits after the decimal point as written ("45.30" -> 2, "1e-3" -> 3)."""
    t = text.strip().lower()
    if "e" in t:
        mantissa, exp = t.split("e", 1)
        return max(decimals(mantissa) - int(exp), 0)
    return len(t.split(".", 1)[1]) if "." in t else 0


def _range(values: np.ndarray) -> str:
    return f"values {values.min():g} to {values.max():g}"


def _detected(name: str, values: np.ndarray) -> str | None:
    """The unit the values alone show, None for [0, 1] (fraction or percent under 1)."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi <= 1:
        return None
    if lo >= 0 and hi <= 100:
        return "percent"
    if lo >= ELO_RANGE[0] and hi <= ELO_RANGE[1]:
        return "elo"
    raise CapabilityDataError(
        f"column {name!r}: {_range(values)} fit no scale (fraction [0, 1], percent [0, 100], "
        f"Elo-like [{ELO_RANGE[0]:g}, {ELO_RANGE[1]:g}]); declare its unit in the "
        "declared scales",
        setting="scales",
    )


def _check_declared(name: str, unit: str, values: np.ndarray) -> None:
    bounds = {"fraction": (0.0, 1.0), "percent": (0.0, 100.0)}.get(unit)
    if bounds and (values.min() < bounds[0] or values.max() > bounds[1]):
        raise CapabilityDataError(
            f"column {name!r}: declared {unit} but {_range(values)} are outside "
            f"[{bounds[0]:g}, {bounds[1]:g}]"
        )


def detect_scales(
    columns: dict[str, tuple[np.ndarray, list[str]]], declared: dict[str, str] | None = None
) -> dict[str, Scale]:
    """Each column's ``Scale`` from its observed values and their text (``columns``: name ->
    (values, texts)), a ``declared`` unit taking precedence (and checked against the values)."""
    declared = declared or {}
    unknown = sorted(set(declared) - set(columns))
    if unknown:
        raise CapabilityDataError(
            f"the declared scales name no column of the file: {unknown[0]!r}", setting="scales"
        )
    units: dict[str, str | None] = {}
    for name, (values, _) in columns.items():
        if name in declared:
            _check_declared(name, declared[name], values)
            units[name] = declared[name]
        else:
            units[name] = _detected(name, values)
    pct = [decimals(t) for n, u in units.items() if u == "percent" for t in columns[n][1]]
    pct_decimals = max(pct) if pct else None
    out = {}
    for name, (values, texts) in columns.items():
        d = max(decimals(t) for t in texts)
        unit = units[name] or _fraction_or_ambiguous(name, values, d, pct_decimals)
        center = float(np.median(values)) if unit == "elo" else 0.0
        out[name] = Scale(unit, max(d, MIN_DECIMALS[unit]), center)
    return out


def _fraction_or_ambiguous(
    name: str, values: np.ndarray, written: int, pct_decimals: int | None
) -> str:
    if pct_decimals is None or written > pct_decimals:
        return "fraction"
    raise CapabilityDataError(
        f"column {name!r}: {_range(values)} could be fractions or percent under 1 (written like "
        "the file's percent columns); declare its unit, fraction or percent, in the declared "
        "scales",
        setting="scales",
    )
