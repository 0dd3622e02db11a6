"""The weights of the default method's members, from the candidates' nested back-tests.

- The best ``n_members`` candidates by inner MSE, weighted 1/inner MSE, blended with the
  paper's predictor (the anchor: the predictor's own inputs, sigmoid, the first ridge
  penalty) only as far as a paired bootstrap of the inner test models supports
  (``evidence.departure``): the inner back-tests are noisy (12-40 inner test models) and the
  paper's predictor is the prior they update. At least ``anchor_weight`` stays on it.
- A flat training side (``evidence.is_flat``: the nested back-tests see no signal) is
  decided by ``flat_side`` (``flat_rule``).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.candidates import Inner
from obsscale.model.prediction.evidence import departure

#: the flat-side rule applied to a choice's weights ("" where none was)
FlatRule = Literal["", "hedge", "paper"]
#: on a flat training side, the share of the weight the log-FLOPs candidate gets (at least)
FLAT_COMPUTE_SHARE = 0.5

Members = list[tuple[Inner, float]]


def anchor_of(ok: list[Inner], name: str, pconf: PredictConfig) -> Inner | None:
    """The paper's predictor among the candidates: its inputs, sigmoid, the first ridge."""
    key = (name, "sigmoid", pconf.ridges[0])
    return next((r for r in ok if (r.inputs, r.form, r.ridge) == key), None)


def blend_weights(
    ok: list[Inner], anchor: Inner | None, pconf: PredictConfig, y_test: np.ndarray
) -> tuple[Members, float]:
    """(candidate, weight) of the members and the departure λ: the best ``n_members``
    (``ok`` is sorted by inner MSE) weighted 1/inner MSE, times λ, plus 1 - λ on the anchor;
    λ is what the paired bootstrap supports, at most 1 - ``anchor_weight``. With one
    candidate, or no anchor, there is nothing to blend: λ is 0 where the one is the anchor,
    1 where there is none. Zero weights are dropped."""
    top = ok[: pconf.n_members]
    w = np.array([1 / max(r.mse, 1e-12) if math.isfinite(r.mse) else 1.0 for r in top])
    w /= w.sum()
    if anchor is None or len(ok) == 1:
        return list(zip(top, w.tolist(), strict=True)), 0.0 if anchor is not None else 1.0
    lam = 0.0
    if anchor.pred.size:
        blend = np.sum([wi * r.pred for wi, r in zip(w, top, strict=True)], axis=0)
        lam = departure(y_test, anchor.pred, blend, pconf.random_state, 1 - pconf.anchor_weight)
    weights = (lam * w).tolist()
    if anchor not in top:
        top, weights = [*top, anchor], [*weights, 0.0]
    weights[top.index(anchor)] += 1 - lam
    return [(m, wt) for m, wt in zip(top, weights, strict=True) if wt > 0], lam


def flat_rule(
    members: Members, ok: list[Inner], anchor: Inner | None, pconf: PredictConfig
) -> tuple[Members, FlatRule]:
    """A flat training side: the nested back-tests cannot tell the factors from compute
    apart, and ``pconf.flat_side`` decides. ``hedge``: the chosen members and the log-FLOPs
    candidate share the weight (``FLAT_COMPUTE_SHARE`` to it, plus its own share of the
    rest), whatever their inner MSEs say; on the design half's flat tasks (BBH subtasks at
    chance below the cutoff) this halved the worst loss to the compute baselines; rows
    without FLOPs keep the members alone (``Ensemble.predict`` renormalises). ``paper``: the
    paper's inputs and form alone (all the weight on the anchor), as the factors would
    extrapolate the jump. The members unchanged, and no rule, where the rule has nothing to
    act on (no log-FLOPs candidate, e.g. hub models without compute; no anchor)."""
    if pconf.flat_side == "paper":
        return ([(anchor, 1.0)], "paper") if anchor is not None else (members, "")
    compute = next((r for r in ok if (r.inputs, r.form) == ("log_flops", "sigmoid")), None)
    if compute is None:
        return members, ""
    rest = 1 - FLAT_COMPUTE_SHARE
    kept = [(m, w * rest) for m, w in members if m is not compute]
    own = sum(w for m, w in members if m is compute)
    return [*kept, (compute, FLAT_COMPUTE_SHARE + own * rest)], "hedge"
