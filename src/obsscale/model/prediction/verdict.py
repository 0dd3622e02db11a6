"""Whether a target is predictable from the capability basis: one verdict from a back-test.

A back-test prints test MSE, R², coverage and the ratio of each compute-only baseline's error to
the factors'. Read one at a time they mislead: a ratio of 1.3 reads like a win even where the
factors' test R² is -1.19 (MUSR on the curated base models: every predictor is worse than the
held-out models' own mean, the factors only less so). The verdict weighs them in a fixed order:

- ``no``: fewer than ``MIN_TEST_MODELS`` held-out models were scored, or test R² <= 0 (or
  undefined): the back-test shows no skill, whatever the ratios say;
- ``yes``: test R² >= ``MIN_R2``, the factors' test MSE at least ``MIN_BASELINE_RATIO`` times
  lower than each compute-only baseline's, and interval coverage within ``COVERAGE_SE``
  binomial standard errors of the nominal level;
- ``weakly``: some skill, but one of those conditions fails (each failure is named).

The thresholds are judgement calls, stated once here; the verdict names the numbers it read, so
a reader can apply another rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MIN_TEST_MODELS = 5
"""Below 5 held-out models, R² and coverage are noise: coverage moves in steps of 20 points and
its binomial standard error at 90% is already 13 points (n = 5)."""

MIN_R2 = 0.5
"""At least half of the held-out models' variance explained: below that the predictions rank the
models only loosely, however they compare with the baselines."""

MIN_BASELINE_RATIO = 1.1
"""A baseline's test MSE at least 1.1 times the factors': smaller gaps are within the noise of a
back-test on tens of models (MUSR's log_flops ratio is 1.05), so they show no advantage."""

COVERAGE_SE = 2.0
"""Calibrated intervals cover Binomial(n, level) / n of the held-out models; more than two
standard errors away (about a 5% two-sided test) the intervals are too narrow or too wide."""

Level = Literal["yes", "weakly", "no"]


@dataclass(frozen=True)
class Verdict:
    """``level`` (yes / weakly / no) and the reason, in words, with the numbers it read."""

    level: Level
    reason: str

    def __str__(self) -> str:
        return f"predictable: {self.level}, because {self.reason}"

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "reason": self.reason}


def predictability(
    *,
    n_test: int,
    r2: float,
    mse: float,
    baseline_mse: Mapping[str, float],
    coverage: float,
    level: float,
) -> Verdict:
    """The verdict on a back-test of the factor predictor (module docstring: the rule).

    ``n_test``: held-out models it was scored on; ``r2``, ``mse``, ``coverage``: its test R²,
    MSE and interval coverage there; ``baseline_mse``: each compute-only baseline's test MSE (a
    NaN one, a baseline left out of the back-test, is named but not compared);
    ``level``: the intervals' nominal coverage (e.g. 0.9).
    """
    held_out = f"{n_test} held-out model{'s' if n_test != 1 else ''}"
    if n_test < MIN_TEST_MODELS:
        return Verdict("no", f"only {held_out} scored (at least {MIN_TEST_MODELS} are needed)")
    ratios = {k: _ratio(v, mse) for k, v in baseline_mse.items()}
    if not r2 > 0:
        return Verdict("no", _no_skill(r2, ratios, held_out))
    failures = _failures(ratios, coverage, level, n_test)
    if r2 < MIN_R2 or failures:  # the R² first when it is what fails
        low = r2 < MIN_R2
        fit = f"test R² {r2:.2f}{f' < {MIN_R2:g}' if low else ''} on {held_out}"
        reason = "; ".join([fit, *failures] if low else [*failures, fit])
        return Verdict("weakly", reason + _without_error(ratios))
    return Verdict("yes", _strengths(r2, ratios, coverage, level, held_out))


def coverage_tolerance(level: float, n_test: int) -> float:
    """How far coverage may stray from ``level`` on ``n_test`` models: ``COVERAGE_SE`` binomial
    standard errors."""
    return COVERAGE_SE * math.sqrt(level * (1 - level) / n_test)


def _ratio(baseline: float, mse: float) -> float:
    """Baseline MSE over the factors' (> 1: the factors are better); NaN without a baseline."""
    if math.isnan(baseline) or math.isnan(mse):
        return math.nan
    return math.inf if mse == 0 else baseline / mse


def _no_skill(r2: float, ratios: Mapping[str, float], held_out: str) -> str:
    """Why R² <= 0 decides, whatever the ratios: baselines with larger errors are worse still."""
    if math.isnan(r2):
        reason = f"test R² undefined on {held_out} (their scores do not vary)"
    else:
        reason = f"test R² {r2:.2f} on {held_out} (no better than their mean)"
    worse = [f"{k} x{v:.3g}" for k, v in ratios.items() if v > 1]
    if worse:
        reason += f"; the baselines' larger test MSE ({', '.join(worse)}) only means they are worse"
    return reason


def _failures(ratios: Mapping[str, float], coverage: float, level: float, n_test: int) -> list[str]:
    out = []
    for name, ratio in ratios.items():
        if math.isnan(ratio):
            continue
        if ratio < 1:
            out.append(f"{name} predicts better (its test MSE is {ratio:.3g}x the factors')")
        elif ratio < MIN_BASELINE_RATIO:
            out.append(
                f"test MSE only {ratio:.3g}x lower than {name}'s (< {MIN_BASELINE_RATIO:g}x)"
            )
    tol = coverage_tolerance(level, n_test)
    if math.isnan(coverage):
        out.append("no interval coverage")
    elif abs(coverage - level) > tol:
        side = "narrow" if coverage < level else "wide"
        out.append(
            f"coverage {coverage:.0%} vs {level:.0%}: intervals too {side} (off by more than "
            f"{COVERAGE_SE:g} SE, {tol * 100:.0f} points)"
        )
    return out


def _strengths(
    r2: float, ratios: Mapping[str, float], coverage: float, level: float, held_out: str
) -> str:
    compared = [f"{v:.3g}x lower than {k}'s" for k, v in ratios.items() if not math.isnan(v)]
    vs = f"test MSE {' and '.join(compared)}" if compared else "no baseline to compare"
    return (
        f"test R² {r2:.2f} on {held_out}, {vs}, coverage {coverage:.0%} (nominal {level:.0%})"
        + _without_error(ratios)
    )


def _without_error(ratios: Mapping[str, float]) -> str:
    """The baselines with no test error to compare (left out of the back-test), named."""
    missing = [k for k, v in ratios.items() if math.isnan(v)]
    return f"; {', '.join(missing)} left out (no test error to compare)" if missing else ""
