"""The method's choices over a back-test's folds, as the JSON and the notes report them: one
fit's as they are; over several folds (k-fold or leave-family-out splits), how often each
input set, form and ridge was chosen."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from obsscale.model.prediction.tuning import Choice


def summarize_choices(
    per_fold: list[dict[str, Choice]],
) -> tuple[dict[str, object], list[str]]:
    """The choices as JSON fields and notes: one fit's as they are; over several folds, how
    often each inputs/form was chosen (and each flat-side rule applied) and the median
    conformal quantile."""
    if len(per_fold) == 1:
        only = per_fold[0]
        return {k: c.to_dict() for k, c in only.items()}, [c.reason(k) for k, c in only.items()]
    out: dict[str, object] = {}
    notes = []
    for name in per_fold[0]:
        picks = [f[name] for f in per_fold if name in f]
        inputs = _counts(c.inputs for c in picks)
        summary = {
            "folds": len(picks),
            "inputs": inputs,
            "form": _counts(c.form for c in picks),
            "ridge": _counts(f"{c.ridge:g}" for c in picks),
            "interval_quantile_median": _median_quantile(picks),
            "flat_side": _counts(c.flat_side for c in picks if c.flat_side),
        }
        out[name] = summary
        shares = ", ".join(f"{k} in {v}" for k, v in inputs.items())
        notes.append(f"{name}: inputs chosen per fold by nested back-tests: {shares}")
    return out, notes


def _counts(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _median_quantile(picks: list[Choice]) -> float | None:
    q = [c.calibration.quantile for c in picks if c.calibration is not None]
    return float(np.median(q)) if q and math.isfinite(np.median(q)) else None
