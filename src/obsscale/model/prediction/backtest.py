"""Back-test a downstream prediction from capability factors against compute-only baselines.

For a target metric, three predictors are fitted side by side with the same sigmoid link:
``pc`` (the capability factors: PCA of the other benchmarks, refitted on each split's
training models only), and the compute-only baselines ``log_flops`` and ``log_params``.
A split (``splits``) decides which models train and which test; models whose split variable
is unknown are never put on either side: they are only predicted ("unknown"), by the
predictors that can score them. Every prediction carries a bootstrap prediction interval
(``intervals``), whose coverage the back-test reports (``scoring``).

Scales: targets are fractions in [0, 1] (percent is detected and divided by 100). With a
chance floor c, the model is fitted to y' = (y - c) / (1 - c) and all metrics (MSE, MAE, R²)
are on that normalised scale, as in the reference; predictions are reported on both scales.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import DEFAULT_SCORE_PAIRS, CapabilityConfig, PredictConfig
from obsscale.data.table import require_score_columns
from obsscale.exceptions import CapabilityDataError, PredictError
from obsscale.model.capabilities.basis import resolve_basis
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.prediction.calibration import Calibrated, calibrate
from obsscale.model.prediction.capability_curves import baseline_curves, capability_curve
from obsscale.model.prediction.conformal import Calibration
from obsscale.model.prediction.intervals import (
    fit_with_bootstrap,
    prediction_interval,
)
from obsscale.model.prediction.records import FoldFit, Task
from obsscale.model.prediction.results import PREDICTORS, PredictionResult
from obsscale.model.prediction.scoring import score_predictors, scored_test_models
from obsscale.model.prediction.splits import CutoffFlops, Fold, Split
from obsscale.model.prediction.targets import chance_normalize, check_target, normalize_scale
from obsscale.model.prediction.tuning import (
    Choice,
    Ensemble,
    choose,
    inner_folds,
    regressor_params,
    spec_inputs,
    summarize_choices,
)

log = logging.getLogger(__name__)


def features(models: pd.DataFrame, cap: CapabilityPCA, basis: list[str]) -> dict[str, np.ndarray]:
    """Each predictor's inputs for every row (NaN where a row cannot be scored)."""
    has_scores = models[basis].notna().any(axis=1).to_numpy()
    pcs = np.full((len(models), cap.n_components), np.nan)
    if has_scores.any():
        pcs[has_scores] = cap.transform(models.loc[has_scores, basis])
    with np.errstate(divide="ignore", invalid="ignore"):
        flops = np.log10(models["flops"].where(models["flops"] > 0).to_numpy(dtype=float))
        params = np.log10(
            models["params_b"].where(models["params_b"] > 0).to_numpy(dtype=float) * 1e9
        )
    return {
        "pc": pcs,
        "log_flops": flops[:, None],
        "log_params": params[:, None],
        "pc+log_flops": np.column_stack([pcs, flops]),
    }


def backtest(
    models: pd.DataFrame,
    target: str,
    *,
    split: Split | None = None,
    chance: float = 0.0,
    settings: CapabilityConfig | None = None,
    pconf: PredictConfig | None = None,
    reference_family: str | None = None,
    twins: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS,
) -> PredictionResult:
    """Fit the three predictors on the split's training models and score the rest.

    ``models`` must hold the target column and the basis benchmarks; select rows first
    (e.g. base models only) with ``subsets.select_models``.
    """
    settings = settings or CapabilityConfig()
    pconf = pconf or PredictConfig()
    split = split or CutoffFlops(pconf.cutoff_flops)
    task = prepare(
        models, target, chance, _candidates(settings), twins, pconf.scale, settings.basis_margin
    )
    folds = split.folds(task.data, pconf.random_state, task.basis)
    # one independent stream per fold (and per predictor within it): changing one predictor
    # or fold leaves the others' bootstrap draws unchanged
    fold_seeds = np.random.SeedSequence(pconf.random_state).spawn(len(folds))
    rows, fold_fits = [], []
    for fold, seed in zip(folds, fold_seeds, strict=True):
        _check_fold(task, fold, split)
        fold_rows, fitted = run_fold(task, fold, settings, pconf, seed, shift=split.nested_like)
        rows.append(fold_rows)
        fold_fits.append(fitted)
    pred = pd.concat(rows, ignore_index=True)
    curve = baselines = None
    if len(folds) == 1:
        rng = np.random.default_rng(fold_seeds[0].spawn(1)[0])
        reference = reference_family or settings.reference_family
        curve, equivalent = capability_curve(
            task.data, fold_fits[0], reference, pconf, chance, rng, task.notes
        )
        baselines = baseline_curves(fold_fits[0], pconf, chance, rng)
        if equivalent is not None:
            pred["equivalent_log10_flops"] = pred["model"].map(equivalent)
    else:
        pred = pred[pred["split"] != "train"].reset_index(drop=True)
    record = {"capabilities": asdict(settings), "predict": asdict(pconf)}
    record["split"] = {"kind": split.kind, "value": split.value}
    return _result(task, split, folds, pred, fold_fits, curve, baselines, record)


def _candidates(settings: CapabilityConfig) -> tuple[tuple[str, ...], ...]:
    """The bases to choose from: the configured one, and its fallbacks if it is the default."""
    if settings.benchmarks != CapabilityConfig.benchmarks:
        return (settings.benchmarks,)
    return (settings.benchmarks, *settings.basis_fallbacks)


def prepare(
    models: pd.DataFrame,
    target: str,
    chance: float,
    candidates: tuple[tuple[str, ...], ...],
    twins: tuple[tuple[str, str], ...],
    scale: str = "auto",
    margin: float = CapabilityConfig.basis_margin,
) -> Task:
    """Check the target, choose the basis without it, keep the rows that have both."""
    check_target(models, target)
    for benchmarks in candidates:
        require_score_columns(benchmarks)
    basis, left_out, note = resolve_basis(models, target, candidates, twins, margin)
    notes = [note] if note else []
    if left_out:
        notes.append(
            f"left out of the factor basis for this prediction: {', '.join(left_out)} "
            f"(the target {target}, or the same benchmark from another source)"
        )
    missing = [b for b in basis if b not in models.columns]
    if missing:
        raise PredictError(f"unknown benchmark columns {missing}")
    y_raw, scale_note = normalize_scale(models[target], target, scale)
    notes += [scale_note] if scale_note else []
    keep = y_raw.notna() & models[basis].notna().any(axis=1)
    if not keep.any():
        raise PredictError(
            f"none of the {int(y_raw.notna().sum())} models with {target} has a score on the "
            f"factor basis ({', '.join(basis)}): choose benchmarks they have with --benchmarks"
        )
    # rows in id order: results do not depend on the order of the input table
    order = models.loc[keep, "model"].sort_values(kind="stable").index
    y = chance_normalize(y_raw[order].reset_index(drop=True), chance)
    below = float((y < 0).mean())
    if chance > 0 and below > 0.2:
        notes.append(f"{below:.0%} of the models score below the chance level {chance:g}")
    dropped = int((y_raw.notna() & ~keep).sum())
    if dropped:
        notes.append(f"{dropped} models with the target but no basis score were left out")
    data = models.loc[order].reset_index(drop=True)
    return Task(target, chance, data, y, basis, notes)


def _check_fold(task: Task, fold: Fold, split: Split) -> None:
    if len(fold.train) == 0 or (len(fold.test) == 0 and split.needs_test):
        side = "training" if len(fold.train) == 0 else "test"
        raise PredictError(
            f"{split.describe()}: leaves no {side} models among the "
            f"{len(task.data)} with {task.target} (fold {fold.name})"
        )


def run_fold(
    task: Task,
    fold: Fold,
    settings: CapabilityConfig,
    pconf: PredictConfig,
    seed: np.random.SeedSequence,
    *,
    shift: bool = False,
) -> tuple[pd.DataFrame, FoldFit]:
    """Refit the capability model on the fold's training side, then every predictor
    (``shift``: the default method corrects its predictions by the nested back-tests'
    median error, see ``calibration``)."""
    try:
        cap = CapabilityPCA.from_config(settings).fit(task.data.loc[fold.train, task.basis])
    except CapabilityDataError as e:
        msg = f"capability model on the {len(fold.train)} training models: {e}"
        raise PredictError(msg) from e
    role = pd.Series("none", index=task.data.index)
    role[fold.train], role[fold.test], role[fold.unknown] = "train", "test", "unknown"
    fitted = FoldFit(features(task.data, cap, task.basis), {}, {})
    rows = [
        _fit_one(task, fitted, name, role, pconf, np.random.default_rng(child), shift)
        for name, child in zip(PREDICTORS, seed.spawn(len(PREDICTORS)), strict=True)
    ]
    return pd.concat(rows, ignore_index=True), fitted


def _fit_one(
    task: Task,
    fitted: FoldFit,
    name: str,
    role: pd.Series,
    pconf: PredictConfig,
    rng: np.random.Generator,
    shift: bool = False,
) -> pd.DataFrame:
    """Fit one predictor on its training rows; predict, with intervals, every scored row."""
    yv, params, ens = task.y.to_numpy(), {}, None
    if pconf.method != "paper":
        train = (role == "train").to_numpy()
        choice, calibration = _choose(fitted, name, yv, train, pconf, shift)
        fitted_ens = Ensemble.fit(choice, fitted.features, yv, train, pconf)
        ens = Calibrated.fit(fitted_ens, calibration, fitted.features["log_flops"][:, 0], train)
        fitted.features[name] = spec_inputs(fitted.features, choice.inputs)
        params = regressor_params(choice.form, choice.alpha, pconf)  # the best: curves, coefs
    X = fitted.features[name]
    ok = np.isfinite(X).all(axis=1)
    tr = ok & (role == "train").to_numpy()
    if tr.sum() == 0:
        raise PredictError(f"{name}: none of the training models has this predictor")
    try:
        fit = fit_with_bootstrap(X[tr], yv[tr], pconf, rng, **params)
    except ValueError as e:
        raise PredictError(f"{name}: {e}") from e
    fitted.fits[name], fitted.train[name] = fit, tr
    scored = (ok if ens is None else ens.ens.scorable()) & (role != "none").to_numpy()
    if ens is None:
        predicted = fit.reg.predict(X[scored])
        lo, hi = prediction_interval(fit, X[scored], pconf.interval, rng)
    else:
        # clipped to the metric's range: raw 0..1 is -c/(1-c)..1 on the fitted scale
        predicted, lo, hi = ens.predict(scored, -task.chance / (1 - task.chance))
    return pd.DataFrame(
        {
            "model": task.data.loc[scored, "model"].to_numpy(),
            "family": task.data.loc[scored, "family"].to_numpy(),
            "split": role[scored].to_numpy(),
            "predictor": name,
            "actual": yv[scored],
            "predicted": predicted,
            "lower": lo,
            "upper": hi,
        }
    )


def _choose(
    fitted: FoldFit,
    name: str,
    y: np.ndarray,
    train: np.ndarray,
    pconf: PredictConfig,
    shift: bool,
) -> tuple[Choice, Calibration]:
    """The default method's inputs, ridge and form for one predictor, and the calibration of
    its intervals (and shift), by nested back-tests."""
    logf = fitted.features["log_flops"][:, 0]
    folds = inner_folds(logf, train, pconf.inner_quantiles, pconf.random_state)
    choice = choose(fitted.features, y, folds, name, pconf)
    calibration = calibrate(choice, fitted.features, y, folds, pconf, shift)
    choice.calibration = calibration  # reported with the choice
    fitted.choices[name] = choice
    return choice, calibration


def _result(
    task: Task,
    split: Split,
    folds: list[Fold],
    pred: pd.DataFrame,
    fold_fits: list[FoldFit],
    curve: pd.DataFrame | None,
    baselines: pd.DataFrame | None,
    settings: dict[str, Any],
) -> PredictionResult:
    chance = task.chance
    pred["actual_raw"] = pred["actual"] * (1 - chance) + chance
    for col in ("predicted", "lower", "upper"):
        pred[f"{col}_raw"] = pred[col] * (1 - chance) + chance
    firsts = pred.drop_duplicates("model")["split"]
    n_unknown = int((firsts == "unknown").sum())
    if n_unknown:
        task.notes.append(
            f"{n_unknown} models have no value for the split variable: predicted "
            "(split 'unknown') but in neither side's metrics, except pc's mse_test_all"
        )
    test = pred[pred["split"] == "test"]
    if not test.empty and not scored_test_models(test)[1]:
        task.notes.append(
            "no test model has the inputs of every predictor (the compute baselines need "
            "FLOPs or parameters): each predictor is scored on the test models it can score"
        )
    choices = None
    if fold_fits[0].choices:
        choices, choice_notes = summarize_choices([f.choices for f in fold_fits])
        task.notes.extend(choice_notes)
    return PredictionResult(
        target=task.target,
        split=split.describe(),
        chance=chance,
        basis=task.basis,
        n_train=round(np.mean([len(f.train) for f in folds])),  # multi-fold: mean size
        n_test=int((firsts == "test").sum()),
        n_unknown=n_unknown,
        scores=score_predictors(pred, fold_fits, task.y),
        predictions=pred,
        curve=curve,
        settings=settings,
        notes=task.notes,
        baseline_curves=baselines,
        choices=choices,
    )
