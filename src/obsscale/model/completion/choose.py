"""Which completer, and how wide its intervals: an inner held-out-cell back-test.

The protocol is the published completers': per model, its observed cells are split in
``n_folds`` folds (a model with a single score is never hidden), each fold is hidden in turn
and predicted by a fit on the rest; the metric is the median over folds of each fold's median
absolute error (points). ``MatrixCompleter`` runs it on the matrix it is given, for every
candidate method and for the blend of each family's best (PCA, ALS, index: their average on
the logit scale), keeps the best, refits it on the whole matrix, and sets each cell's interval
from the chosen method's held-out errors on the logit scale (per benchmark, shrunk toward the
pooled error where a benchmark has few), mapped back to fractions. Nothing of a matrix the
caller holds out ever reaches ``fit``: the bench calls it inside each of its training folds.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import expit

from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.als import EPS, to_logit
from obsscale.model.completion.completers import (
    Factory,
    default_candidates,
    family,
    fit_predict,
)
from obsscale.model.params import RANDOM_STATE, Interval, ValidatedParams

BLEND = "blend"
SHRINK = 10  # held-out cells of pooled weight in each benchmark's interval half-width


def cell_folds(observed: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Each observed cell's fold (0 .. n_folds - 1), split per model; -1 where unobserved or
    where the model has a single score (hiding it would leave nothing to predict from)."""
    folds = np.full(observed.shape, -1)
    for i in range(len(observed)):
        cells = np.flatnonzero(observed[i])
        if len(cells) >= 2:
            start = rng.integers(n_folds)
            folds[i, rng.permutation(cells)] = (start + np.arange(len(cells))) % n_folds
    return folds


def heldout(X: np.ndarray, factory: Factory, folds: np.ndarray, n_folds: int) -> np.ndarray:
    """Each hidden cell's prediction from a fit without its fold (NaN elsewhere)."""
    out = np.full(X.shape, np.nan)
    for k in range(n_folds):
        hide = folds == k
        if hide.any():
            out[hide] = fit_predict(factory, np.where(hide, np.nan, X))[hide]
    return out


def fold_errors(X: np.ndarray, pred: np.ndarray, folds: np.ndarray, n_folds: int) -> dict:
    """The protocol's metrics: median over folds of the per-fold median absolute error
    (points) and of the per-fold median absolute percentage error (cells scored above 0)."""
    mae, mape = [], []
    for k in range(n_folds):
        hide = folds == k
        if not hide.any():
            continue
        err = np.abs(pred[hide] - X[hide])
        mae.append(float(np.median(err)) * 100)
        pos = X[hide] > 0
        if pos.any():
            mape.append(float(np.median(err[pos] / X[hide][pos])) * 100)
    return {
        "medae_points": float(np.median(mae)) if mae else np.inf,
        "medape": float(np.median(mape)) if mape else np.inf,
        "cells": int((folds >= 0).sum()),
    }


def half_widths(
    X: np.ndarray, pred: np.ndarray, level: float, shrink: float = SHRINK
) -> np.ndarray:
    """Per benchmark: the ``level`` quantile of |held-out error| on the logit scale, shrunk
    toward the pooled quantile with weight ``shrink`` cells (inf where nothing was held out)."""
    hidden = ~np.isnan(pred) & ~np.isnan(X)
    resid = np.abs(to_logit(pred) - to_logit(X))
    if not hidden.any():
        return np.full(X.shape[1], np.inf)
    pooled = float(np.quantile(resid[hidden], level))
    out = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        r = resid[hidden[:, j], j]
        own = float(np.quantile(r, level)) if len(r) else pooled
        out[j] = (len(r) * own + shrink * pooled) / (len(r) + shrink)
    return out


def blend(parts: list[np.ndarray]) -> np.ndarray:
    """The average of completions on the logit scale (errors of different methods partly
    cancel: on the hub matrix the blend of the best PCA, ALS and index beats each)."""
    return np.asarray(expit(np.mean([to_logit(p) for p in parts], axis=0)))


def interval(values: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (fractions) +- ``half`` (per benchmark) on the logit scale, back in [0, 1]."""
    z = to_logit(values, EPS)
    return np.asarray(expit(z - half[None, :])), np.asarray(expit(z + half[None, :]))


class MatrixCompleter(ValidatedParams):
    """Complete a models x benchmarks matrix of fractions with the method (of ``candidates``,
    name -> factory; default ``default_candidates()``) whose inner held-out-cell back-test
    error is lowest; intervals at ``level`` from that back-test's errors.

    Fitted: ``scores_`` (every candidate's back-test metrics), ``chosen_``, ``values_`` (every
    cell, the chosen method refitted on the whole matrix), ``half_width_`` (per benchmark,
    logit scale), ``estimator_`` (the refitted completer: ``LogitALS`` exposes its factors).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_folds": [Interval(Integral, 2)],
        "level": [Interval(Real, 0, 1, closed="neither")],
        "random_state": [RANDOM_STATE],
        "candidates": [Mapping, None],
    }

    def __init__(
        self,
        *,
        candidates: Mapping[str, Factory] | None = None,
        n_folds: int = 3,
        level: float = 0.9,
        random_state: int = 0,
    ) -> None:
        self.candidates = candidates
        self.n_folds = n_folds
        self.level = level
        self.random_state = random_state

    def fit(self, X: pd.DataFrame | np.ndarray) -> MatrixCompleter:
        self._validate_params()
        self.X_ = np.asarray(X, dtype=float)
        self.factories_ = dict(self.candidates or default_candidates())
        rng = np.random.default_rng(self.random_state)
        self.folds_ = cell_folds(~np.isnan(self.X_), self.n_folds, rng)
        self.heldout_: dict[str, np.ndarray] = {}
        rows = [self._backtest(name, factory) for name, factory in self.factories_.items()]
        self.scores_ = pd.DataFrame(rows)
        self.blend_members_ = self._blend_members()
        if len(self.blend_members_) > 1:
            self.heldout_[BLEND] = blend([self.heldout_[m] for m in self.blend_members_])
            metrics = fold_errors(self.X_, self.heldout_[BLEND], self.folds_, self.n_folds)
            blend_row = {"method": BLEND, "family": BLEND} | metrics
            self.scores_ = pd.concat([self.scores_, pd.DataFrame([blend_row])], ignore_index=True)
        self.chosen_ = self.best()
        self.values_, self.estimator_ = self._refit(self.chosen_)
        self.half_width_ = half_widths(self.X_, self.heldout_[self.chosen_], self.level)
        return self

    def _backtest(self, name: str, factory: Factory) -> dict[str, Any]:
        row: dict[str, Any] = {"method": name, "family": family(name)}
        try:
            self.heldout_[name] = heldout(self.X_, factory, self.folds_, self.n_folds)
        except CapabilityDataError as e:
            return row | {"error": str(e)}
        return row | fold_errors(self.X_, self.heldout_[name], self.folds_, self.n_folds)

    def _blend_members(self) -> list[str]:
        """The best candidate of each method family (PCA, ALS, index) that could be fitted."""
        out = []
        for fams in (("pca1", "pca"), ("als",), ("index",)):
            try:
                out.append(self.best(fams))
            except CapabilityDataError:
                continue
        return out

    def best(self, families: tuple[str, ...] | None = None) -> str:
        """The candidate (among ``families``, default all) with the lowest back-test MedAE."""
        s = self.scores_.dropna(subset=["medae_points"]) if "medae_points" in self.scores_ else None
        if s is not None and families is not None:
            s = s[s["family"].isin(families)]
        if s is None or s.empty or not np.isfinite(s["medae_points"]).any():
            raise CapabilityDataError(
                "no completer could be back-tested on this matrix (too few scores per model "
                "or per benchmark)"
            )
        return str(s.sort_values(["medae_points", "method"], kind="stable").iloc[0]["method"])

    def _refit(self, name: str) -> tuple[np.ndarray, Any]:
        """Every cell by candidate ``name`` fitted on the whole matrix, and the fitted
        ``LogitALS`` when it is one (for its factors)."""
        if name == BLEND:
            return blend([self._refit(m)[0] for m in self.blend_members_]), None
        factory = self.factories_[name]
        values = fit_predict(factory, self.X_)
        return values, factory().fit(self.X_) if family(name) == "als" else None

    def complete_with(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every cell's value, lower and upper bound by candidate ``name`` (refitted on the
        whole matrix, its interval from its own back-test errors)."""
        values = self.values_ if name == self.chosen_ else self._refit(name)[0]
        return (values, *interval(values, half_widths(self.X_, self.heldout_[name], self.level)))

    def intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound of every cell by the chosen method."""
        return interval(self.values_, self.half_width_)
