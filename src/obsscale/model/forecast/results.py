"""What a forecast returns: one row per scenario and target, with its interval and how it was
derived; ``summary()``, ``to_frame()`` and a deterministic JSON form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from obsscale.data import store

COLUMNS = [
    "scenario",
    "target",
    "observed",
    "predicted",
    "lower",
    "upper",
    "derived_from",
    "source_family",
    "decades_past",
]


@dataclass
class ForecastResult:
    """Forecasts (raw metric scale, fractions) with ``level`` prediction intervals."""

    rows: pd.DataFrame
    level: float
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario and target; ``observed`` set where the score was given."""
        return self.rows.reindex(columns=COLUMNS)

    def __repr__(self) -> str:
        n_sc = self.rows["scenario"].nunique()
        n_t = self.rows["target"].nunique()
        return f"<ForecastResult: {n_sc} scenarios x {n_t} targets, {self.level:.0%} intervals>"

    def summary_text(self) -> str:
        """A readable table: scenario, target, prediction with interval, derivation."""
        pct = f"{self.level:.0%}"
        lines = [f"{'scenario':<34} {'target':<24} {'forecast':>9} {pct + ' interval':>17}  how"]
        for r in self.to_frame().itertuples(index=False):
            if np.isfinite(r.observed):
                value, band, how = f"{r.observed:.3f}", "observed", "given"
            else:
                value, band = f"{r.predicted:.3f}", f"{r.lower:.3f} .. {r.upper:.3f}"
                how = str(r.derived_from)
                if np.isfinite(r.decades_past) and r.decades_past > 0:
                    how += f"; {r.decades_past:.1f} decades past its largest model"
                elif np.isfinite(r.decades_past):
                    how += "; within its compute range"
            lines.append(f"{r.scenario[:34]:<34} {r.target[:24]:<24} {value:>9} {band:>17}  {how}")
        return "\n".join([*lines, *(f"note: {n}" for n in self.notes)])

    def summary(self) -> Any:
        from statsmodels.iolib.summary2 import Summary

        s = Summary()
        s.add_title(f"Forecasts ({self.level:.0%} prediction intervals, fractions)")
        s.add_df(self.to_frame().set_index(["scenario", "target"]).round(4))
        for note in self.notes:
            s.add_text(note)
        return s

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "interval": self.level,
            "scale": "fractions of the metric (raw scale, clipped to [0, 1])",
            "settings": self.settings,
            "notes": self.notes,
            "forecasts": self.to_frame(),
        }
        return store.jsonable(out)

    def to_json(self) -> str:
        return store.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        store.write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ForecastResult:
        """The result ``save`` wrote."""
        return cls.from_dict(store.read_json(path))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ForecastResult:
        rows = pd.DataFrame(d["forecasts"], columns=COLUMNS)
        for col in ("observed", "predicted", "lower", "upper", "decades_past"):
            rows[col] = rows[col].astype(float)
        return cls(rows, float(d["interval"]), list(d["notes"]), d["settings"])
