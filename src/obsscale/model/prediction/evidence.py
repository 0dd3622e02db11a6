"""How far the default method may depart from the paper's predictor, given how little its
nested back-tests see.

With 30-40 training models the nested FLOPs back-tests have 12-18 inner test predictions.
Ranking candidates by their inner MSE and weighting them by 1/MSE (``tuning``) takes that
ranking at face value; on a task that is flat near chance below the cutoff it gave the
weight to compute-only or flat members and added a negative shift, and lost to the paper's
predictor by 2-13x above the cutoff. Three rules keep every departure within the evidence:

- **Weights**: the blend ``(1 - λ)·paper + λ·ensemble``, where λ is a lower quantile
  (``DEPARTURE_QUANTILE``) of the best λ over a paired bootstrap of the inner test models.
  Only where the ensemble beats the paper's predictor on most resamples does λ leave 0.
- **Shift**: the median signed inner error only as far as its bootstrap interval
  (``SHIFT_EVIDENCE``, two-sided) stays away from 0, and only as far as every nested
  cutoff shows it (each cutoff's median error of the same sign): the smallest of those
  bounds, or no shift. (An error that fades as the inner training side grows, as on
  leaderboard v1's Winogrande, is not carried to the outer cutoff.)
- **Minimum evidence**: fewer than ``MIN_EVIDENCE`` inner test models: neither.
- **Flat training side**: where no candidate explains ``FLAT_R2`` of the inner test models'
  spread around the training mean (a task flat near chance, or a fitted floor, below the
  cutoff), the inner errors say nothing of the jump that may come above it: no shift, and
  the interval model's own rule for it (``interval_prior``), and the log-FLOPs candidate
  takes a fixed share of the weight (``weights.FLAT_COMPUTE_SHARE``): the back-tests cannot
  tell factors from compute apart there, and on the design half's flat tasks (BBH subtasks
  at chance below the cutoff) compute predicted the jump better than the factors did.

Every bootstrap is seeded by the caller's ``random_state``: the same inputs, the same choice.
"""

from __future__ import annotations

import math

import numpy as np

#: fewer distinct inner test models than this are no evidence: no departure, no shift
MIN_EVIDENCE = 10
#: resamples of the inner test models for every evidence rule
N_BOOTSTRAP = 200
#: the departure λ is this quantile of its bootstrap distribution: 3 resamples in 4 support
#: at least that much departure from the paper's predictor
DEPARTURE_QUANTILE = 0.25
#: the shift's two-sided bootstrap interval of the median inner error
SHIFT_EVIDENCE = 0.8
#: nested back-tests whose best candidate explains less of the inner test spread see no signal
FLAT_R2 = 0.3


def inner_r2(y_ref: np.ndarray, y_test: np.ndarray, preds: list[np.ndarray]) -> float:
    """How much of the inner test models' spread the best candidate explains: 1 - its MSE
    over that of the constant ``mean(y_ref)`` (the training side without them). NaN when
    there is nothing to compare."""
    y_ref = y_ref[np.isfinite(y_ref)]
    if len(y_test) < 2 or len(y_ref) == 0 or not preds:
        return math.nan
    const = float(np.mean((y_test - y_ref.mean()) ** 2))
    best = min(float(np.mean((y_test - p) ** 2)) for p in preds)
    return 1 - best / max(const, 1e-12)


def is_flat(r2: float) -> bool:
    """Whether the nested back-tests see too little signal to rank inputs (e.g. an emergent
    task still at chance below the cutoff): no candidate explains ``FLAT_R2`` of the inner
    test models' spread around the training mean."""
    return bool(r2 < FLAT_R2)


def departure(
    y: np.ndarray, anchor: np.ndarray, other: np.ndarray, seed: int, cap: float = 1.0
) -> float:
    """λ in [0, cap] of ``(1 - λ)·anchor + λ·other``, supported by the inner test models:
    the ``DEPARTURE_QUANTILE`` of the least-squares λ over a paired bootstrap of them."""
    if len(y) < MIN_EVIDENCE:
        return 0.0
    rng = np.random.default_rng([seed, len(y)])
    idx = rng.integers(0, len(y), size=(N_BOOTSTRAP, len(y)))
    r, d = (y - anchor)[idx], (other - anchor)[idx]
    den = np.einsum("ij,ij->i", d, d)
    num = np.einsum("ij,ij->i", r, d)
    lam = np.where(den > 1e-15, num / np.maximum(den, 1e-15), 0.0)
    return float(min(cap, np.quantile(np.clip(lam, 0.0, 1.0), DEPARTURE_QUANTILE)))


def supported_shift(
    signed: np.ndarray, groups: np.ndarray, seed: int, cutoffs: np.ndarray | None = None
) -> float:
    """The median signed error as far as the evidence supports it: resampling the inner
    test models (``groups``: one id per error; a model above several cutoffs errs once per
    cutoff and is drawn as a whole), the bound of the ``SHIFT_EVIDENCE`` interval of the
    median nearest 0, or 0 when the interval contains 0. With ``cutoffs`` (the nested
    cutoff of each error), a systematic error must also be one that every cutoff shows:
    0 unless each cutoff's median error has the bound's sign, and at most the smallest of
    them (an error that shrinks as the inner training side grows toward the outer one, as
    on a task whose small models lag, is mostly gone at the outer cutoff)."""
    ids, inverse = np.unique(groups, return_inverse=True)
    if len(ids) < MIN_EVIDENCE:
        return 0.0
    rng = np.random.default_rng([seed, len(signed)])
    draws = rng.integers(0, len(ids), size=(N_BOOTSTRAP, len(ids)))
    lo, hi = np.quantile(_resampled_medians(signed, inverse, draws), _SHIFT_QUANTILES)
    bound = float(lo) if lo > 0 else float(hi) if hi < 0 else 0.0
    if bound == 0.0 or cutoffs is None:
        return bound
    per_cutoff = np.array([np.median(signed[cutoffs == k]) for k in np.unique(cutoffs)])
    if np.any(np.sign(per_cutoff) != np.sign(bound)):
        return 0.0
    return float(np.sign(bound) * min(abs(bound), float(np.abs(per_cutoff).min())))


_SHIFT_QUANTILES = ((1 - SHIFT_EVIDENCE) / 2, (1 + SHIFT_EVIDENCE) / 2)


def _resampled_medians(signed: np.ndarray, inverse: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The median of every resample's errors (row i of ``draws``: the groups drawn, each
    bringing all of its errors), as ``np.median`` of their concatenation, without building
    it: each error weighs the number of times its group was drawn, and the two middle
    order statistics are read off the cumulative weights of the sorted errors."""
    n_res, n_ids = draws.shape
    flat = (np.arange(n_res)[:, None] * n_ids + draws).ravel()
    counts = np.bincount(flat, minlength=n_res * n_ids).reshape(n_res, n_ids)
    order = np.argsort(signed, kind="stable")
    cum = np.cumsum(counts[:, inverse[order]], axis=1)
    total = cum[:, -1]
    lo = np.argmax(cum > ((total - 1) // 2)[:, None], axis=1)
    hi = np.argmax(cum > (total // 2)[:, None], axis=1)
    sorted_errors = signed[order]
    return (sorted_errors[lo] + sorted_errors[hi]) / 2
