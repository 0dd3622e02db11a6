"""The default method's nested back-tests: on each fold's training side alone, cut again by
what the outer split cuts (FLOPs, release date, or rank by the first factor: train below a
quantile of it, test above) and let these inner extrapolations choose what the outer fit
uses, and how wide its intervals are.

- Inputs: the factor predictor may use the capability factors (``pc``), log-FLOPs,
  log-parameters, or factors and log-FLOPs together; the baselines keep their one input.
- Ridge penalty ``ridge`` (on standardized weights) and link form (sigmoid; with a floor
  and a ceiling for metrics that saturate below 1; with a floor up to
  ``candidate_floor_max`` for metrics whose chance level was not given).
- Weights: the best ``n_members`` candidates by inner MSE (the geometric mean over the
  cutoffs, so that every cutoff has an equal say: the arithmetic mean is dominated by the
  cutoff with the largest errors), weighted 1/inner MSE, blended with the paper's predictor
  (the factors, sigmoid) only as far as a paired bootstrap of the inner test models supports
  (``evidence``): the inner back-tests are noisy (12-40 inner test models) and the paper's
  predictor is the prior they update. At least ``anchor_weight`` stays on it, and all of it
  where fewer than ``evidence.MIN_EVIDENCE`` inner test models speak. A flat training side
  (``evidence.is_flat``) hands a fixed share to the log-FLOPs candidate, or, with
  ``flat_side = "paper"``, all of the weight to the paper's inputs and form (``_flat_rule``).
- Candidates whose inputs most inner test models lack (compute, on a hub of frontier
  models) are left out; the others are all scored on the same inner test models.
- Intervals: calibrated on the same nested cutoffs (``calibration``).

Models without the cut variable are never on an inner test side; they train wherever their
inputs allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.evidence import departure, inner_r2, is_flat
from obsscale.model.prediction.intervals import make_regressor
from obsscale.model.prediction.sigmoid import SigmoidRegressor, search_sample

if TYPE_CHECKING:
    from obsscale.model.prediction.conformal import Calibration

#: the flat-side rule applied to a choice's weights ("" where none was)
FlatRule = Literal["", "hedge", "paper"]

#: what each predictor may use, as (inputs, link form): the factor predictor weighs several
#: (``pcK``: the first K capability factors), the baselines are what they are
SPECS: dict[str, tuple[tuple[str, str], ...]] = {
    "pc": (
        ("pc1", "sigmoid"),
        ("pc2", "sigmoid"),
        ("pc", "sigmoid"),
        ("pc", "floor_ceiling"),
        ("pc", "parametric"),
        ("log_flops", "sigmoid"),
        ("log_params", "sigmoid"),
        ("pc+log_flops", "sigmoid"),
    ),
    "log_flops": (("log_flops", "sigmoid"),),
    "log_params": (("log_params", "sigmoid"),),
}


def has_inputs(features: dict[str, np.ndarray], inputs: str) -> bool:
    """Whether ``inputs`` exist here (``pcK`` needs more than K factors)."""
    return inputs in features or int(inputs[2:]) < features["pc"].shape[1]


def regressor_params(form: str, ridge: float, pconf: PredictConfig) -> dict[str, object]:
    """A candidate's regressor settings; its floor form is bounded by ``candidate_floor_max``
    (the paper's ``floor_max`` belongs to ``--form parametric`` of the paper method)."""
    params: dict[str, object] = {"form": form, "ridge": ridge}
    if form == "parametric":
        params["floor_max"] = pconf.candidate_floor_max
    return params


def spec_inputs(features: dict[str, np.ndarray], inputs: str) -> np.ndarray:
    """The columns of ``inputs`` (``pcK`` = the first K factors)."""
    if inputs in features:
        return features[inputs]
    return features["pc"][:, : int(inputs[2:])]


@dataclass
class Inner:
    """One candidate's nested back-tests: its MSE, and its predictions on the pooled inner
    test models (the same models for every candidate)."""

    inputs: str
    form: str
    ridge: float
    mse: float
    pred: np.ndarray
    # the regressor fitted on each nested cutoff's training side, in the folds' order (empty
    # when a cutoff could not be fitted): the calibration reuses them instead of refitting
    fits: tuple[SigmoidRegressor, ...] = field(default=(), repr=False)


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
        used = ", ".join(f"{_label(m)} x{w:.2f}" for m, w in self.members)
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


def _label(m: Inner) -> str:
    return m.inputs if m.form == "sigmoid" else f"{m.inputs}/{m.form}"


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
    """Every candidate (inputs, form, ridge penalty) through the nested back-tests; the best
    ``pconf.n_members`` weighted by inverse inner MSE, blended with the anchor (the paper's
    predictor: these inputs, sigmoid, the first ridge penalty) as far as the evidence supports."""
    specs = [(i, f) for i, f in SPECS[name] if has_inputs(features, i)]
    test = np.zeros(len(y), bool)
    for _, te in folds:
        test |= te
    specs, test = _scorable(features, specs, test)
    results = []
    for inputs, form in specs:
        X = spec_inputs(features, inputs)
        for ridge in pconf.ridges:
            results.append(_inner(X, y, folds, test, pconf, inputs, form, ridge))
    ok = sorted((r for r in results if math.isfinite(r.mse)), key=lambda r: r.mse)
    if not ok:  # no usable nested back-test: the paper's predictor (else the first), alone
        inputs, form = (name, "sigmoid") if (name, "sigmoid") in specs else specs[0]
        ok = [Inner(inputs, form, pconf.ridges[0], math.inf, np.empty(0))]
    r2 = inner_r2(
        y[_training_side(folds, len(y)) & ~test], y[test], [r.pred for r in ok if r.pred.size]
    )
    flat = is_flat(r2)
    members, anchor, lam = _weights(ok, name, pconf, y[test])
    if not ok[0].pred.size:  # the fallback: all weight on the paper's predictor, none moved
        anchor, lam = 1.0, 0.0
    rule: FlatRule = ""
    # the flat rules are the factor predictor's: with the default single ridge penalty a
    # baseline has one candidate, which either rule would leave as it is
    if flat and name == "pc":
        members, rule = _flat_rule(members, ok, name, pconf)
    if rule:  # what the weights now keep on the paper's predictor, and how far they moved
        paper = _anchor_of(ok, name, pconf)
        anchor = sum(w for m, w in members if m is paper)
        lam = 0.0 if rule == "paper" else lam
    inner_mse = {f"{_label(r)}@{r.ridge:g}": r.mse for r in results}
    y_inner = y[test] if ok[0].pred.size else np.empty(0)
    return Choice(
        members,
        inner_mse,
        y_inner,
        anchor=anchor,
        departure=lam,
        flat=flat,
        flat_side=rule,
        inner_r2=r2,
        predictor=name,
    )


def _scorable(
    features: dict[str, np.ndarray], specs: list[tuple[str, str]], test: np.ndarray
) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The candidates, and the inner test models every one of them is scored on (the same
    for all). A candidate whose inputs are unknown for more than half of the inner test
    models (compute on a hub of frontier models, cut by release date) is left out, rather
    than leaving the others too few models to be ranked on."""
    known = {i: np.isfinite(spec_inputs(features, i)).all(axis=1) for i, _ in specs}
    enough = [s for s in specs if known[s[0]][test].sum() * 2 > test.sum()] or specs[:1]
    for i, _ in enough:
        test = test & known[i]
    return enough, test


def _training_side(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """The rows the nested cutoffs divide (every fold covers the same training side)."""
    return folds[0][0] | folds[0][1] if folds else np.zeros(n, bool)


def _weights(
    ok: list[Inner], name: str, pconf: PredictConfig, y_test: np.ndarray
) -> tuple[list, float, float]:
    """(candidate, weight) of the members, the weight kept on the anchor (the paper's
    predictor) and the departure λ: the best ``n_members`` weighted 1/inner MSE, times λ,
    plus 1 - λ on the anchor; λ is what the paired bootstrap supports, at most
    1 - ``anchor_weight``. Zero weights are dropped."""
    top = ok[: pconf.n_members]
    w = np.array([1 / max(r.mse, 1e-12) if math.isfinite(r.mse) else 1.0 for r in top])
    w /= w.sum()
    anchor = _anchor_of(ok, name, pconf)
    if anchor is None or len(ok) == 1:
        return list(zip(top, w.tolist(), strict=True)), 0.0, 1.0
    lam = 0.0
    if anchor.pred.size:
        blend = np.sum([wi * r.pred for wi, r in zip(w, top, strict=True)], axis=0)
        lam = departure(y_test, anchor.pred, blend, pconf.random_state, 1 - pconf.anchor_weight)
    weights = (lam * w).tolist()
    if anchor not in top:
        top, weights = [*top, anchor], [*weights, 0.0]
    weights[top.index(anchor)] += 1 - lam
    kept = [(m, wt) for m, wt in zip(top, weights, strict=True) if wt > 0]
    return kept, 1 - lam, lam


#: on a flat training side, the share of the weight the log-FLOPs candidate gets
FLAT_COMPUTE_SHARE = 0.5


def _anchor_of(ok: list[Inner], name: str, pconf: PredictConfig) -> Inner | None:
    """The paper's predictor among the candidates: its inputs, sigmoid, the first ridge."""
    key = (name, "sigmoid", pconf.ridges[0])
    return next((r for r in ok if (r.inputs, r.form, r.ridge) == key), None)


def _flat_rule(
    members: list[tuple[Inner, float]], ok: list[Inner], name: str, pconf: PredictConfig
) -> tuple[list[tuple[Inner, float]], FlatRule]:
    """A flat training side (``evidence.is_flat``): the nested back-tests cannot tell the
    factors from compute apart, and ``pconf.flat_side`` decides. ``hedge``: the chosen
    members and the log-FLOPs candidate share the weight (``FLAT_COMPUTE_SHARE`` to it, plus
    its own share of the rest), whatever their inner MSEs say; on the design half's flat tasks
    (BBH subtasks at chance below the cutoff) this halved the worst loss to the compute
    baselines; rows without FLOPs keep the members alone (``Ensemble.predict``
    renormalises). ``paper``: the paper's inputs and form alone (all the weight on the
    anchor), as the factors would extrapolate the jump. The members unchanged, and no rule,
    where the rule has nothing to act on (no log-FLOPs candidate, e.g. hub models without
    compute; no anchor)."""
    if pconf.flat_side == "paper":
        anchor = _anchor_of(ok, name, pconf)
        return ([(anchor, 1.0)], "paper") if anchor is not None else (members, "")
    compute = next((r for r in ok if (r.inputs, r.form) == ("log_flops", "sigmoid")), None)
    if compute is None:
        return members, ""
    rest = 1 - FLAT_COMPUTE_SHARE
    kept = [(m, w * rest) for m, w in members if m is not compute]
    own = sum(w for m, w in members if m is compute)
    return [*kept, (compute, FLAT_COMPUTE_SHARE + own * rest)], "hedge"


def _inner(
    X: np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    test: np.ndarray,
    pconf: PredictConfig,
    inputs: str,
    form: str,
    ridge: float,
) -> Inner:
    """One candidate's nested back-tests (geometric mean of the MSE over the cutoffs)."""
    ok = np.isfinite(X).all(axis=1)
    pred = np.full(len(y), np.nan)
    mses, fits = [], []
    for tr, te in folds:
        tr, te = tr & ok, te & test
        reg = make_regressor(pconf, n_starts=0, **regressor_params(form, ridge, pconf))
        if not te.any() or tr.sum() < X.shape[1] + 1 + reg.link_.k:
            return Inner(inputs, form, ridge, math.inf, np.empty(0))
        try:
            reg.fit(X[tr], y[tr])
        except ValueError:
            return Inner(inputs, form, ridge, math.inf, np.empty(0))
        fits.append(reg)
        p = reg.predict(X[te])
        mses.append(float(np.mean((y[te] - p) ** 2)))
        new = te & np.isnan(pred)  # nested test sides overlap: each model once, outermost cut
        pred[new] = p[new[te]]
    if not mses:
        return Inner(inputs, form, ridge, math.inf, np.empty(0))
    gmean = float(np.exp(np.mean(np.log(np.maximum(mses, 1e-12)))))
    return Inner(inputs, form, ridge, gmean, pred[test], tuple(fits))


@dataclass
class Ensemble:
    """The chosen candidates refitted on a training side, and their weighted prediction."""

    members: list[tuple[SigmoidRegressor, float, np.ndarray]]  # regressor, weight, inputs X

    @classmethod
    def fit(
        cls,
        choice: Choice,
        features: dict[str, np.ndarray],
        y: np.ndarray,
        train: np.ndarray,
        pconf: PredictConfig,
    ) -> Ensemble:
        members = []
        for m, w in choice.members:
            X = spec_inputs(features, m.inputs)
            tr = train & np.isfinite(X).all(axis=1)
            params = regressor_params(m.form, m.ridge, pconf)
            # the two deterministic starts only: over the accuracy suite the random restarts
            # never moved a member's fit (test MSE equal to 1e-6), at a third of the fit time
            reg = make_regressor(pconf, n_starts=0, **params).fit(X[tr], y[tr])
            members.append((reg, w, X))
        return cls(members)

    @classmethod
    def of_fold(cls, choice: Choice, features: dict[str, np.ndarray], fold: int) -> Ensemble | None:
        """The chosen members as the nested back-tests already fitted them on cutoff
        ``fold`` (the same fits ``fit`` would make there), or None if one has no such fit."""
        if any(len(m.fits) <= fold for m, _ in choice.members):
            return None
        return cls([(m.fits[fold], w, spec_inputs(features, m.inputs)) for m, w in choice.members])

    def scorable(self) -> np.ndarray:
        """Rows that at least one member can predict (e.g. factors without FLOPs)."""
        return np.logical_or.reduce([np.isfinite(X).all(axis=1) for _, _, X in self.members])

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """The weighted prediction of the rows (members that cannot score a row leave it to
        the others, whose weights are renormalised)."""
        n = int(rows.sum())
        total, weight = np.zeros(n), np.zeros(n)
        for reg, w, X_all in self.members:
            X = X_all[rows]
            ok = np.isfinite(X).all(axis=1)
            if ok.any():
                total[ok] += w * reg.predict(X[ok])
                weight[ok] += w
        return total / weight
