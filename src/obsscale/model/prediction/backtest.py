"""Back-test a downstream prediction from capability factors against compute-only baselines.

A generic harness over ``DownstreamPredictor``: for a target metric, clones of the given
predictor are fitted side by side on each fold's training side with the same method: ``pc``
(the capability factors: PCA of the other benchmarks, refitted on each split's training
models only), and the compute-only baselines ``log_flops`` and ``log_params``. A split
(``splits``) decides which models train and which test; models whose split variable is
unknown are never put on either side: they are only predicted ("unknown"), by the
predictors that can score them. Every prediction carries the method's prediction interval
(bootstrap for the paper's, calibrated split-conformal for the default), whose coverage the
back-test reports (``scoring``).

Scales: targets are fractions in [0, 1] (percent is detected and divided by 100). With a
chance floor c, the model is fitted to y' = (y - c) / (1 - c) and all metrics (MSE, MAE, R²)
are on that normalised scale, as in the reference; predictions are reported on both scales.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from obsscale.config import DEFAULT_SCORE_PAIRS, CapabilityConfig, PredictConfig
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.capability_curves import baseline_curves, capability_curve
from obsscale.model.prediction.chance import add_raw_columns
from obsscale.model.prediction.choices import summarize_choices
from obsscale.model.prediction.methods import PREDICTOR_INPUTS, DefaultMethod
from obsscale.model.prediction.predictor import DownstreamPredictor, fit_factors
from obsscale.model.prediction.records import FoldFit, Task
from obsscale.model.prediction.results import PredictionResult
from obsscale.model.prediction.scoring import score_predictors, scored_test_models, test_metrics
from obsscale.model.prediction.splits import CutoffFlops, Fold, Split
from obsscale.model.prediction.targets import candidate_bases, prepare
from obsscale.model.prediction.verdict import MIN_TEST_MODELS

if TYPE_CHECKING:
    from obsscale.model.capabilities.factors import CapabilityPCA

log = logging.getLogger(__name__)


def backtest(
    predictor: DownstreamPredictor,
    models: pd.DataFrame,
    target: str,
    split: Split | None = None,
    *,
    reference_family: str | None = None,
    factors: CapabilityFit | None = None,
) -> PredictionResult:
    """Back-test ``predictor`` on ``target``: for every fold of ``split`` (default: the
    method's FLOPs cutoff), a clone of it and of its two compute-only baselines is fitted on
    the training side and predicts the rest (as scikit-learn's ``cross_validate`` does).

    ``models`` must hold the target column and the basis benchmarks; select rows first
    (e.g. base models only) with ``select_models``. ``factors``: a ``fit_capabilities``
    result whose factors every fold uses as they are (its benchmarks are the basis). Its
    PCA saw the scores of the models it was fitted on, test models included (unsupervised:
    the target is never used); by default each fold refits the factors on
    its training side only.
    """
    method = predictor.resolved_method()
    pconf, settings = method.settings, predictor.capabilities or CapabilityConfig()
    split = split or CutoffFlops(pconf.cutoff_flops)
    if isinstance(method, DefaultMethod):
        method = replace(method, shift=split.nested_like, nested_by=split.nested_by)
    task = _task(predictor, models, target, settings, factors)
    # the refits read the task's fractions (``prepare``), whatever scale the table had
    refit = replace(method, settings=replace(pconf, scale="fraction"))
    template = _fresh(predictor, method=refit, capabilities=settings, interval=None, link=None)
    folds = split.folds(task.data, pconf.random_state, task.basis)
    # one independent stream per fold (and per predictor within it): changing one predictor
    # or fold leaves the others' bootstrap draws unchanged
    fold_seeds = np.random.SeedSequence(pconf.random_state).spawn(len(folds))
    for fold in folds:
        _check_fold(task, fold, split)
    runs = [run_fold(task, f, template, s, factors) for f, s in zip(folds, fold_seeds, strict=True)]
    pred = pd.concat([fold_rows for fold_rows, _ in runs], ignore_index=True)
    fold_fits = [fitted for _, fitted in runs]
    left_out = _left_out(folds, fold_fits, pred)
    pred, fold_fits = _keep(pred, fold_fits, left_out)
    curve = baselines = None
    if len(folds) == 1:
        rng = np.random.default_rng(fold_seeds[0].spawn(1)[0])
        reference = reference_family or settings.reference_family
        curve, baselines = _curves(task, fold_fits[0], reference, pconf, rng, pred)
    else:
        pred = pred[pred["split"] != "train"].reset_index(drop=True)
    record = {"capabilities": asdict(settings), "predict": asdict(pconf)}
    record["split"] = {"kind": split.kind, "value": split.value}
    return _result(task, split, folds, pred, fold_fits, (curve, baselines), record, left_out)


def _task(
    predictor: DownstreamPredictor,
    models: pd.DataFrame,
    target: str,
    settings: CapabilityConfig,
    factors: CapabilityFit | None,
) -> Task:
    """The target prepared as the predictor reads it: its basis (the given fit's benchmarks,
    else chosen from the settings' candidates), chance level and scale."""
    return prepare(
        models,
        target,
        predictor.chance,
        candidate_bases(settings),
        predictor.score_pairs,
        predictor.resolved_method().settings.scale,
        settings.basis_margin,
        basis=None if factors is None else list(factors.benchmarks),
    )


def _curves(
    task: Task,
    fitted: FoldFit,
    reference: str,
    pconf: PredictConfig,
    rng: np.random.Generator,
    pred: pd.DataFrame,
) -> tuple[Any, Any]:
    """A single fold's capability curve and baseline curves; the predictions gain each
    model's reference-equivalent FLOPs (in place) where the curve gives them."""
    curve, equivalent = capability_curve(
        task.data, fitted, reference, pconf, task.chance, rng, task.notes
    )
    baselines = baseline_curves(fitted, pconf, task.chance, rng)
    if equivalent is not None:
        pred["equivalent_log10_flops"] = pred["model"].map(equivalent)
    return curve, baselines


def _fresh(predictor: DownstreamPredictor, **changes: Any) -> DownstreamPredictor:
    """An unfitted copy with some parameters changed (``sklearn.base.clone`` without its
    deep copies and import cost: the parameters are immutable)."""
    return type(predictor)(**(predictor.get_params(deep=False) | changes))


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
    template: DownstreamPredictor,
    seed: np.random.SeedSequence,
    fixed: CapabilityFit | None = None,
) -> tuple[pd.DataFrame, FoldFit]:
    """Refit the capability model on the fold's training side (unless ``fixed`` gives it),
    then a clone of ``template`` for every predictor's inputs; predict every row that has a
    side."""
    train_rows = task.data.loc[fold.train]
    settings = template.capabilities or CapabilityConfig()
    factors = fixed.pca if fixed else fit_factors(train_rows[task.basis], settings)
    role = pd.Series("none", index=task.data.index)
    role[fold.train], role[fold.test], role[fold.unknown] = "train", "test", "unknown"
    fitted = FoldFit({}, {}, {})
    parts = []
    for inputs, child in zip(PREDICTOR_INPUTS, seed.spawn(len(PREDICTOR_INPUTS)), strict=True):
        p = _fresh(template, inputs=inputs, random_state=child)
        why = _fit_or_why(p, inputs.name, train_rows, task.target, factors)
        if why is not None:
            fitted.left_out[inputs.name] = why
            continue
        X = p.reference_inputs(task.data)
        fitted.inputs[inputs.name], fitted.fits[inputs.name] = X, p.fitted_.reference
        fitted.train[inputs.name] = np.isfinite(X).all(axis=1) & (role == "train").to_numpy()
        if p.fitted_.choice is not None:
            fitted.choices[inputs.name] = p.fitted_.choice
        parts.append(_rows(task, p, role, inputs.name))
    return pd.concat(parts, ignore_index=True), fitted


#: the compute-only baselines: the column each one's input is read from, and its name
COMPUTE = {"log_flops": ("flops", "FLOPs"), "log_params": ("params_b", "parameters")}


#: a compute baseline is fitted on at least this many training models with its input: its
#: sigmoid of one input has 2 parameters, so that 2 models fix it exactly and leave no error
#: to estimate its interval from (frontier targets: 1-2 models with known compute)
MIN_BASELINE_MODELS = 3


def _fit_or_why(
    p: DownstreamPredictor, name: str, rows: pd.DataFrame, target: str, factors: CapabilityPCA
) -> str | None:
    """Fit ``p`` (the predictor of inputs ``name``) on the training rows; for a compute
    baseline that cannot be fitted there, why (too few training models with known compute, or
    its fit's own reason) instead."""
    if name not in COMPUTE:  # the factor predictor is what is back-tested: its errors stand
        p.fit(rows, target, factors=factors)
        return None
    column, what = COMPUTE[name]
    known = int((pd.to_numeric(rows[column], errors="coerce") > 0).sum())
    if known == 0:
        return f"none of the {len(rows)} training models has known {what}"
    if known < MIN_BASELINE_MODELS:
        verb = "has" if known == 1 else "have"
        return (
            f"only {known} of the {len(rows)} training models {verb} known {what}; its "
            f"sigmoid needs {MIN_BASELINE_MODELS} to leave an error to estimate"
        )
    try:
        p.fit(rows, target, factors=factors)
        _ = p.fitted_.reference  # fitted on first use: its failure is the fit's too
    except PredictError as e:
        return f"its fit on the {known} training models with known {what} failed: {e}"
    return None


def _left_out(folds: list[Fold], fold_fits: list[FoldFit], pred: pd.DataFrame) -> dict[str, str]:
    """The compute baselines left out of the back-test, with why: those that could not be
    fitted (in any fold), and those that score fewer than ``verdict.MIN_TEST_MODELS`` of the
    test models (frontier models rarely have known compute): compared on those alone, the
    factors' metrics too would rest on one or two models (noise, by the verdict's rule)."""
    out: dict[str, str] = {}
    for fold, fitted in zip(folds, fold_fits, strict=True):
        for name, why in fitted.left_out.items():
            out.setdefault(name, why if len(folds) == 1 else f"fold {fold.name}: {why}")
    test = pred[pred["split"] == "test"]
    n_test = test["model"].nunique()
    for name, (_, what) in COMPUTE.items():
        scored = test.loc[test["predictor"] == name, "model"].nunique()
        if name in out or scored >= min(MIN_TEST_MODELS, n_test):
            continue
        if scored == 0:
            out[name] = f"none of the {n_test} test models has known {what}: nothing to score it on"
        else:
            verb = "has" if scored == 1 else "have"
            out[name] = (
                f"only {scored} of the {n_test} test models {verb} known {what}: fewer than "
                f"{MIN_TEST_MODELS}, too few to compare it on"
            )
    return {name: out[name] for name in COMPUTE if name in out}


def _keep(
    pred: pd.DataFrame, fold_fits: list[FoldFit], left_out: dict[str, str]
) -> tuple[pd.DataFrame, list[FoldFit]]:
    """The predictions and fits without the baselines left out."""
    if not left_out:
        return pred, fold_fits
    pred = pred[~pred["predictor"].isin(list(left_out))].reset_index(drop=True)

    def kept(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in left_out}

    fits = [
        FoldFit(kept(f.inputs), kept(f.fits), kept(f.train), kept(f.choices)) for f in fold_fits
    ]
    return pred, fits


def _rows(task: Task, p: DownstreamPredictor, role: pd.Series, name: str) -> pd.DataFrame:
    """One predictor's predictions, with intervals, of every row it can score."""
    sided = (role != "none").to_numpy()
    out = p.predict(task.data.loc[sided])
    scored = np.zeros(len(sided), bool)
    scored[sided] = out["predicted"].notna().to_numpy()
    out = out[out["predicted"].notna()]
    return pd.DataFrame(
        {
            "model": task.data.loc[scored, "model"].to_numpy(),
            "family": task.data.loc[scored, "family"].to_numpy(),
            "split": role[scored].to_numpy(),
            "predictor": name,
            "actual": task.y.to_numpy()[scored],
            "predicted": out["predicted"].to_numpy(),
            "lower": out["lower"].to_numpy(),
            "upper": out["upper"].to_numpy(),
        }
    )


def _result(
    task: Task,
    split: Split,
    folds: list[Fold],
    pred: pd.DataFrame,
    fold_fits: list[FoldFit],
    curves: tuple[pd.DataFrame | None, pd.DataFrame | None],
    settings: dict[str, Any],
    left_out: dict[str, str],
) -> PredictionResult:
    chance = task.chance
    add_raw_columns(pred, ("actual", "predicted", "lower", "upper"), chance)
    firsts = pred.drop_duplicates("model")["split"]
    n_unknown = int((firsts == "unknown").sum())
    if n_unknown:
        task.notes.append(
            f"{n_unknown} models have no value for the split variable: predicted "
            "(split 'unknown') but in neither side's metrics, except pc's mse_test_all"
        )
    task.notes.extend(f"{name} left out of the back-test: {why}" for name, why in left_out.items())
    note = _scoring_note(pred[pred["split"] == "test"])
    task.notes.extend([note] if note else [])
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
        curve=curves[0],
        settings=settings,
        notes=task.notes,
        baseline_curves=curves[1],
        choices=choices,
        left_out=left_out,
    )


def _scoring_note(test: pd.DataFrame) -> str | None:
    """What the metrics rest on where some test models lack a predictor's inputs (frontier
    models rarely have both FLOPs and a size): a few common models would otherwise decide a
    coverage of 0 or 1 silently, so pc's metrics on all it can score are given beside them."""
    if test.empty:
        return None
    common, full = scored_test_models(test)
    if not full:
        return (
            "no test model has the inputs of every predictor (the compute baselines need "
            "FLOPs or parameters): each predictor is scored on the test models it can score"
        )
    n = test["model"].nunique()
    if len(common) == n:
        return None
    pc = test[test["predictor"] == "pc"]
    m = test_metrics(pc)
    return (
        f"the metrics rest on the {len(common)} of {n} test models every predictor can "
        f"score (the compute baselines need FLOPs or parameters); pc on all {len(pc)} it "
        f"can score: MSE {m['mse_test']:.4g}, coverage {m['coverage']:.2f}"
    )


def backtest_target(
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
    """``backtest`` of the factor predictor that the settings describe."""
    predictor = DownstreamPredictor.from_config(
        pconf or PredictConfig(), settings, chance=chance, score_pairs=twins
    )
    return backtest(predictor, models, target, split, reference_family=reference_family)
