"""The default method's candidates: what each predictor may use (inputs and link form), and
one candidate's nested back-tests (``score_candidate``), which rank them in ``tuning``.

- Inputs: the factor predictor may use the capability factors (``pc``, or the first K as
  ``pcK``), log-FLOPs, log-parameters, or factors and log-FLOPs together; the baselines keep
  their one input.
- Link form: sigmoid; with a floor and a ceiling for metrics that saturate below 1; with a
  floor up to ``candidate_floor_max`` for metrics whose chance level was not given. Each
  with every ridge penalty of ``ridges`` (on standardized weights).
- A candidate whose inputs most inner test models lack (compute, on a hub of frontier
  models) is left out (``scorable``); the others are all scored on the same inner test
  models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from obsscale.config import PredictConfig
from obsscale.model.prediction.intervals import make_regressor
from obsscale.model.prediction.sigmoid import SigmoidRegressor

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


def label(m: Inner) -> str:
    """A candidate as the notes name it: its inputs, and its link form unless sigmoid."""
    return m.inputs if m.form == "sigmoid" else f"{m.inputs}/{m.form}"


def scorable(
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


def score_candidate(
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
