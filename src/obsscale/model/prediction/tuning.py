"""The default method's nested back-tests: on each fold's training side alone, cut again by
what the outer split cuts (FLOPs, release date, or rank by the first factor: train below a
quantile of it, test above) and let these inner extrapolations choose what the outer fit
uses, and how wide its intervals are.

- Candidates (inputs, link form, ridge penalty; ``candidates``), each ranked by the
  geometric mean of its inner MSEs over the cutoffs, so that every cutoff has an equal say
  (the arithmetic mean is dominated by the cutoff with the largest errors).
- Weights (``weights``): the best ``n_members``, weighted 1/inner MSE, blended with the
  paper's predictor as far as the evidence supports; all of it on the paper's predictor
  where fewer than ``evidence.MIN_EVIDENCE`` inner test models speak; a flat training side
  (``evidence.is_flat``) decided by ``flat_side``.
- Intervals: calibrated on the same nested cutoffs (``calibration``); the chosen members
  refitted by ``ensemble.Ensemble``.

Models without the cut variable are never on an inner test side; they train wherever their
inputs allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.candidates import (
    SPECS,
    Inner,
    has_inputs,
    label,
    scorable,
    score_candidate,
    spec_inputs,
)
from obsscale.model.prediction.evidence import inner_r2, is_flat
from obsscale.model.prediction.sigmoid import search_sample
from obsscale.model.prediction.weights import (
    FLAT_COMPUTE_SHARE,
    FlatRule,
    anchor_of,
    blend_weights,
    flat_rule,
)

if TYPE_CHECKING:
    from obsscale.model.prediction.conformal import Calibration


@dataclass
class Choice:
    """What the nested back-tests chose for one predictor, and why: the best candidates,
    weighted by inverse inner MSE, blended with the paper's predictor as far as the
    evidence supports (``departure``), which keeps ``anchor`` of the weight."""

    members: list[tuple[Inner, float]]  # (candidate, weight), best first
    inner_mse: dict[str, float]  # every candidate's inner MSE
    y_inner: np.ndarray = field(repr=False)
    calibration: Calibration | None = None  # of the intervals, on the same nested cutoffs
    anchor: float = 0.0  # weight kept on the paper's predictor
    departure: float = 1.0  # how far from the paper's predictor (0: it alone)
    flat: bool = False  # the nested back-tests see no signal: no shift, the flat interval rule
    flat_side: FlatRule = ""  # the flat rule applied to the weights (PredictConfig), if any
    inner_r2: float = math.nan  # share of the inner test spread the best candidate explains
    predictor: str = ""  # which predictor chose (pc, log_flops, log_params)

    @property
    def inputs(self) -> str:
        return self.members[0][0].inputs

    @property
    def form(self) -> str:
        return self.members[0][0].form

    @property
    def ridge(self) -> float:
        return self.members[0][0].ridge

    def reason(self, name: str) -> str:
        used = ", ".join(f"{label(m)} x{w:.2f}" for m, w in self.members)
        ranked = ", ".join(f"{k} {v:.3g}" for k, v in sorted(self.inner_mse.items(), key=_key))
        if not any(math.isfinite(v) for v in self.inner_mse.values()):
            return (
                f"{name}: {used}, the paper's predictor alone: no nested back-test "
                "could score a candidate (too few inner test models above a cutoff with "
                "the candidates' inputs; models without the cut variable never test)"
                + (f"; intervals: {self.calibration.describe()}" if self.calibration else "")
            )
        why = (
            f"weights 1/inner MSE, {self.departure:.2f} of the way from the paper's "
            f"predictor, as far as a paired bootstrap supports; {self.anchor:.2f} kept on it"
            + ("; the inner back-tests see no signal (flat)" if self.flat else "")
            + (
                f": log-FLOPs takes at least {FLAT_COMPUTE_SHARE:.0%} of the weight "
                "(flat_side = hedge)"
                if self.flat_side == "hedge"
                else ""
            )
        )
        if self.flat_side == "paper":
            why = (
                "the inner back-tests see no signal (flat): the paper's inputs and form "
                "alone (flat_side = paper)"
            )
        return (
            f"{name}: {used} ({why}), chosen by "
            f"nested back-tests on the training side (cutoffs of the split's variable; "
            f"{len(self.y_inner)} inner test "
            f"predictions; inner MSE {ranked})"
            + (f"; intervals: {self.calibration.describe()}" if self.calibration else "")
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "form": self.form,
            "ridge": self.ridge,
            "members": [
                {"inputs": m.inputs, "form": m.form, "ridge": m.ridge, "weight": w}
                for m, w in self.members
            ],
            "inner_mse": self.inner_mse,
            "anchor_weight": self.anchor,
            "departure": self.departure,
            "flat_training_side": self.flat,
            "flat_side": self.flat_side or None,
            "inner_r2": self.inner_r2 if math.isfinite(self.inner_r2) else None,
            "n_inner_test": len(self.y_inner),
            "interval": self.calibration.to_dict() if self.calibration else None,
        }


def _key(item: tuple[str, float]) -> float:
    return item[1] if math.isfinite(item[1]) else math.inf


def inner_folds(
    order: np.ndarray, train: np.ndarray, quantiles: tuple[float, ...], seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(inner train, inner test) masks: nested cutoffs at quantiles of the training models'
    ``order`` (log-FLOPs, release date or the first factor: what the outer split cuts);
    models without it are always on the inner training side. Above
    ``SEARCH_ROWS`` training models the nested back-tests run on a seeded sample of that
    many, as the sigmoid fit's start search does: their ranking of the candidates and their
    error quantile are as well estimated from 10^5 models, and their cost would grow with n."""
    rows = np.flatnonzero(train)
    keep = search_sample(len(rows), seed)
    if keep is not None:
        train = np.zeros_like(train)
        train[rows[keep]] = True
    known = train & np.isfinite(order)
    if known.sum() < 4:
        return []
    folds = []
    for q in quantiles:
        cut = np.quantile(order[known], q)
        test = known & (order > cut)
        if test.any():
            folds.append((train & ~test, test))
    return folds


def choose(
    features: dict[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    name: str,
    pconf: PredictConfig,
) -> Choice:
    """Every candidate of predictor ``name`` through the nested back-tests; the best
    ``pconf.n_members`` weighted by inverse inner MSE, blended with the anchor (the paper's
    predictor: these inputs, sigmoid, the first ridge penalty) as far as the evidence
    supports, and a flat training side decided by ``pconf.flat_side``."""
    results, ok, test = _ranked(features, y, folds, name, pconf)
    scored = bool(ok[0].pred.size)
    r2 = inner_r2(
        y[_training_side(folds, len(y)) & ~test], y[test], [r.pred for r in ok if r.pred.size]
    )
    flat = is_flat(r2)
    paper = anchor_of(ok, name, pconf)
    members, lam = blend_weights(ok, paper, pconf, y[test])
    rule: FlatRule = ""
    if flat and len(SPECS[name]) > 1:  # the flat rules choose among candidates
        members, rule = flat_rule(members, ok, paper, pconf)
    return Choice(
        members,
        {f"{label(r)}@{r.ridge:g}": r.mse for r in results},
        y[test] if scored else np.empty(0),
        anchor=sum(w for m, w in members if m is paper),
        # no departure where nothing was scored (the paper's predictor alone) or it was ruled
        departure=lam if scored and rule != "paper" else 0.0,
        flat=flat,
        flat_side=rule,
        inner_r2=r2,
        predictor=name,
    )


def _ranked(
    features: dict[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    name: str,
    pconf: PredictConfig,
) -> tuple[list[Inner], list[Inner], np.ndarray]:
    """Every candidate's nested back-tests, those that scored sorted by inner MSE (or, where
    none did, the paper's predictor, else the first, unscored), and the inner test models
    they were all scored on."""
    specs = [(i, f) for i, f in SPECS[name] if has_inputs(features, i)]
    test = np.zeros(len(y), bool)
    for _, te in folds:
        test |= te
    specs, test = scorable(features, specs, test)
    results = [
        score_candidate(spec_inputs(features, i), y, folds, test, pconf, i, f, ridge)
        for i, f in specs
        for ridge in pconf.ridges
    ]
    ok = sorted((r for r in results if math.isfinite(r.mse)), key=lambda r: r.mse)
    if not ok:
        inputs, form = (name, "sigmoid") if (name, "sigmoid") in specs else specs[0]
        ok = [Inner(inputs, form, pconf.ridges[0], math.inf, np.empty(0))]
    return results, ok, test


def _training_side(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The rows the nested cutoffs divide (every fold covers the same training side)."""
    return folds[0][0] | folds[0][1] if folds else np.zeros(n, bool)
