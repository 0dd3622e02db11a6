"""The allowed values of every setting, declared once in one table (as scikit-learn's
``_parameter_constraints``): the TOML loader and the CLI check against it, and a test makes
sure no numeric or choice setting of the dataclasses is left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from obsscale.config.settings import (
    AuditConfig,
    CapabilityConfig,
    ForecastConfig,
    FrontierConfig,
    NetworkConfig,
    PredictConfig,
    ReportConfig,
    ReportTarget,
)
from obsscale.exceptions import ConfigError


@dataclass(frozen=True)
class Range:
    """A finite number within bounds; ``open`` bounds exclude their endpoint."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def allows(self, value: Any) -> bool:
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )

    def __str__(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return "a finite number " + " and ".join(parts) if parts else "a finite number"


@dataclass(frozen=True)
class OneOf:
    choices: tuple[str, ...]

    def allows(self, value: Any) -> bool:
        return value in self.choices

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)


POSITIVE = Range(0, low_open=True)
NONNEGATIVE = Range(0)
FRACTION_OPEN = Range(0, 1, low_open=True, high_open=True)

CONSTRAINTS: dict[type, dict[str, Range | OneOf]] = {
    NetworkConfig: {
        "timeout": POSITIVE,
        "retries": Range(0, 100),
        "backoff_factor": NONNEGATIVE,
        "backoff_max": NONNEGATIVE,
        "chunk_size": Range(1024, 1 << 26),
        "deadline": POSITIVE,
        "retry_window": NONNEGATIVE,
        "max_retry_after": NONNEGATIVE,
        "per_host": Range(1, 32),
        "shrink_guard": Range(0, 1),
        "lock_timeout": NONNEGATIVE,
    },
    AuditConfig: {
        "flops_rel_tol": NONNEGATIVE,
        "min_tokens_per_param": POSITIVE,
        "max_tokens_per_param": POSITIVE,
        "params_rel_tol": NONNEGATIVE,
        "score_abs_tol": Range(0, 1),
        "flops_ratio_tol": Range(1),
    },
    CapabilityConfig: {
        "n_components": Range(1, 100),
        "impute_components": Range(1, 100),
        "max_iter": Range(1),
        "tol": POSITIVE,
        "reference_family": OneOf(()),  # any non-empty name: checked against the data by fit
        "min_family_models": Range(2),
        "alpha": FRACTION_OPEN,
        "basis_margin": Range(0, 1),
    },
    PredictConfig: {
        "form": OneOf(("sigmoid", "parametric")),
        "loss": OneOf(("squared", "huber")),
        "huber_delta": POSITIVE,
        "floor_max": Range(0, 1, high_open=True),
        "n_starts": Range(0, 1000),
        "n_bootstrap": Range(1, 100_000),
        "interval": FRACTION_OPEN,
        "random_state": Range(0, 2**32 - 1),
        "cutoff_flops": POSITIVE,
        "kfold": Range(2, 1000),
        "extrapolate_decades": NONNEGATIVE,
        "method": OneOf(("paper", "obsscale")),
        "n_members": Range(1, 20),
        "ceiling_min": Range(0, 1),
        "anchor_weight": Range(0, 1),
        "candidate_floor_max": Range(0, 1, high_open=True),
        "scale": OneOf(("auto", "fraction", "percent", "ten")),
    },
    ForecastConfig: {
        "max_extrapolation_decades": NONNEGATIVE,
        "recent_families": Range(0, 100),
    },
    FrontierConfig: {
        "min_points": Range(3, 100_000),
        "min_compute_points": Range(3, 100_000),
        "rank": Range(1, 10),
        "n_boot": Range(2, 1000),
        "recent_models": Range(0, 1000),
        "random_state": Range(0, 2**32 - 1),
    },
    ReportTarget: {
        "chance": Range(0, 1, high_open=True),
        "cutoff_flops": POSITIVE,
    },
    ReportConfig: {"dpi": Range(20, 1200)},
}


def violations(obj: Any) -> list[str]:
    """``key = value: expected ...`` for every field of ``obj`` outside its declared range."""
    table = CONSTRAINTS.get(type(obj), {})
    out = []
    for f in fields(obj):
        rule, value = table.get(f.name), getattr(obj, f.name)
        if isinstance(rule, OneOf) and not rule.choices:
            ok = isinstance(value, str) and value.strip() != ""
            expected = "a non-empty name"
        elif rule is not None:
            ok, expected = rule.allows(value), str(rule)
        else:
            continue
        if not ok:
            out.append(f"{f.name} = {value!r}: expected {expected}")
    return out


def check(obj: Any, where: str) -> None:
    """Raise ``ConfigError`` naming ``where`` (file and section) and every bad key."""
    bad = violations(obj)
    if bad:
        raise ConfigError(f"{where}: " + "; ".join(bad))
