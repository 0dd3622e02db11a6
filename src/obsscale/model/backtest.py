"""Predict a downstream metric from capability factors, with honest back-tests.

For a target metric, three predictors are fitted side by side with the same sigmoid link:
``pc`` (the capability factors: PCA of the other benchmarks, refitted on each split's
training models only), and the compute-only baselines ``log_flops`` and ``log_params``.
A split (FLOPs cutoff, release-date cutoff, leave-one-family-out, k-fold) decides which models
train and which test; models whose split variable is unknown are never put on either side:
they are only predicted ("unknown"), by the predictors that can score them. Every prediction
carries a bootstrap prediction interval (pairs bootstrap over training models plus resampled
residuals), whose coverage the back-test reports.

Scales: targets are fractions in [0, 1] (percent is detected and divided by 100). With a
chance floor c, the model is fitted to y' = (y - c) / (1 - c) and all metrics (MSE, MAE, R²)
are on that normalised scale, as in the reference; predictions are reported on both scales.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.model_selection import KFold
from statsmodels.iolib.summary2 import Summary

from obsscale.data import store
from obsscale.model.factors import CapabilityDataError, CapabilityPCA
from obsscale.config import DEFAULT_SCORE_PAIRS, CapabilityConfig, PredictConfig
from obsscale.data.harmonize import META_FIELDS
from obsscale.model.link import SigmoidRegressor

log = logging.getLogger(__name__)

PREDICTORS = ("pc", "log_flops", "log_params")
SPLIT_KINDS = ("cutoff_flops", "cutoff_date", "leave_family_out", "kfold")


class PredictError(ValueError):
    """The prediction task is ill-posed for the given data; the message says why."""


# ----------------------------------------------------------------------------- targets


def normalize_scale(values: pd.Series, name: str) -> tuple[pd.Series, str | None]:
    """Fractions pass; a 0-100 metric is divided by 100 (with a note); anything else is refused."""
    v = values.dropna()
    if v.empty:
        raise PredictError(f"target {name!r} has no values")
    lo, hi = float(v.min()), float(v.max())
    if lo >= 0 and hi <= 1:
        return values.astype(float), None
    if lo >= 0 and hi <= 100:
        return values / 100.0, f"{name}: values range {lo:g}..{hi:g}; read as percent (÷100)"
    raise PredictError(
        f"target {name!r} ranges from {lo:g} to {hi:g}: obsscale predicts metrics on [0, 1] "
        "(fractions) or [0, 100] (percent); rescale it (e.g. BLEU/100, Elo min-max) first"
    )


def chance_normalize(y: pd.Series, chance: float) -> pd.Series:
    if not 0 <= chance < 1:
        raise PredictError(f"--chance must be in [0, 1), got {chance}")
    return (y - chance) / (1 - chance)


def load_downstream(
    path: str | Path, models: pd.DataFrame, aliases: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Merge a user's CSV (``Model`` column of Hugging Face ids + one column per metric) onto
    the model table as ``downstream:<metric>`` columns; return the ids it could not match."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"Model": str}, index_col=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise PredictError(f"{path}: cannot read CSV ({e})") from e
    if "Model" not in frame.columns:
        raise PredictError(
            f"{path}: needs a 'Model' column of Hugging Face ids; columns are {list(frame.columns)}"
        )
    metrics = [c for c in frame.columns if c != "Model"]
    if not metrics:
        raise PredictError(f"{path}: no metric columns besides 'Model'")
    frame["Model"] = frame["Model"].str.strip()
    ids = frame["Model"].str.lower()
    ids = ids.map(lambda k: (aliases or {}).get(k, k))  # moved Hugging Face ids
    dup = ids.duplicated(keep=False) & frame["Model"].notna()
    if dup.any():
        raise PredictError(f"{path}: duplicated models: {sorted(set(frame.loc[dup, 'Model']))}")
    for col in metrics:
        num = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & num.isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PredictError(
                f"{path}: row {i + 2}, column {col!r}: {frame[col].iloc[i]!r} is not a number"
            )
        frame[col] = num
    key = models["model"].str.lower()
    known = ids.isin(set(key))
    unmatched = sorted(frame.loc[~known, "Model"].dropna())
    if not known.any():
        raise PredictError(
            f"{path}: none of its {len(frame)} models is in the model table "
            f"(e.g. {unmatched[:3]}); ids must be Hugging Face ids"
        )
    renamed = frame[known].set_index(ids[known])[metrics]
    renamed.columns = [f"downstream:{c}" for c in metrics]
    merged = models.drop(columns=[c for c in renamed.columns if c in models.columns])
    merged = merged.join(renamed, on=key)
    return merged, unmatched


# ----------------------------------------------------------------------------- splits


@dataclass(frozen=True)
class Split:
    """How models are divided into training and test sides."""

    kind: str = "cutoff_flops"
    value: float | str | int | None = 8.4e22

    def __post_init__(self) -> None:
        if self.kind not in SPLIT_KINDS:
            raise PredictError(f"split must be one of {SPLIT_KINDS}, got {self.kind!r}")

    def describe(self) -> str:
        if self.kind == "cutoff_flops":
            return f"FLOPs cutoff: train on FLOPs <= {float(self.value):.3g}, test above"
        if self.kind == "cutoff_date":
            return f"release-date cutoff: train before {self.value}, test on or after"
        if self.kind == "leave_family_out":
            return "leave one family out"
        return f"random {self.value}-fold"

    def folds(
        self, models: pd.DataFrame, seed: int
    ) -> list[tuple[str, pd.Index, pd.Index, pd.Index]]:
        """(name, train, test, unknown) index triples over ``models``."""
        idx = models.index
        if self.kind == "cutoff_flops":
            f = models["flops"]
            known = f.notna()
            return [
                (
                    "all",
                    idx[known & (f <= float(self.value))],
                    idx[known & (f > float(self.value))],
                    idx[~known],
                )
            ]
        if self.kind == "cutoff_date":
            d = pd.to_datetime(models["release_date"], errors="coerce")
            cut = pd.Timestamp(str(self.value))
            known = d.notna()
            return [("all", idx[known & (d < cut)], idx[known & (d >= cut)], idx[~known])]
        if self.kind == "leave_family_out":
            fam = models["family"]
            known = fam.notna()
            folds = [
                (str(f), idx[known & (fam != f)], idx[fam == f], idx[:0])
                for f in sorted(fam[known].unique())
            ]
            if (~known).any():
                folds.append(("(unknown family)", idx[known], idx[:0], idx[~known]))
            return folds
        k = int(self.value)
        if k < 2 or k > len(idx):
            raise PredictError(f"k-fold needs 2 <= k <= {len(idx)} models, got {k}")
        kf = KFold(n_splits=k, shuffle=True, random_state=seed)
        return [
            (f"fold {i + 1}", idx[tr], idx[te], idx[:0])
            for i, (tr, te) in enumerate(kf.split(np.arange(len(idx))))
        ]


# ----------------------------------------------------------------------------- results


@dataclass
class PredictorScore:
    """Back-test metrics of one predictor (normalised target scale)."""

    name: str
    n_train: int
    mse_train: float
    mse_test: float
    mae_test: float
    r2_test: float
    coverage_90: float
    n_test_scored: int
    mse_test_all: float | None = None
    n_test_all: int | None = None
    coef: list[float] = field(default_factory=list)
    intercept: float | None = None
    floor: float | None = None


@dataclass
class PredictionResult:
    """A back-test of one target: scores per predictor, every prediction, the capability curve."""

    target: str
    split: str
    chance: float
    basis: list[str]
    n_train: int
    n_test: int
    n_unknown: int
    scores: dict[str, PredictorScore]
    predictions: pd.DataFrame
    curve: pd.DataFrame | None
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    baseline_curves: pd.DataFrame | None = None

    def mse_ratios(self) -> dict[str, float]:
        """Each baseline's test MSE over the factor predictor's (> 1: factors are better)."""
        pc = self.scores["pc"].mse_test
        return {k: s.mse_test / pc for k, s in self.scores.items() if k != "pc" and pc > 0}

    def __repr__(self) -> str:
        ratios = ", ".join(f"{k} x{v:.2g}" for k, v in self.mse_ratios().items())
        return (
            f"<PredictionResult {self.target}: {self.split}; {self.n_train} train / "
            f"{self.n_test} test models; pc test MSE {self.scores['pc'].mse_test:.3g} "
            f"(baselines {ratios})>"
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target,
            "split": self.split,
            "chance": self.chance,
            "scale": "metrics on (y - chance) / (1 - chance)",
            "basis": self.basis,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_unknown": self.n_unknown,
            "notes": self.notes,
            "settings": self.settings,
        }
        for name, s in self.scores.items():
            out[name] = {k: v for k, v in asdict(s).items() if k != "name"}
        out["predictions"] = _prediction_records(self.predictions)
        out["curve"] = self.curve
        return store.jsonable(out)

    def to_json(self) -> str:
        return store.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        store.write_text(path, self.to_json() + "\n")

    def table(self) -> pd.DataFrame:
        cols = ["n_train", "mse_train", "mse_test", "mae_test", "r2_test", "coverage_90"]
        return pd.DataFrame(
            {k: [getattr(s, c) for c in cols] for k, s in self.scores.items()}, index=cols
        ).T

    def summary(self) -> Summary:
        s = Summary()
        s.add_title(f"Downstream prediction of {self.target}")
        s.add_dict(
            {
                "Split": self.split,
                "Chance floor": f"{self.chance:g}",
                "Train models": str(self.n_train),
                "Test models": str(self.n_test),
                "Unknown split variable": str(self.n_unknown),
                "Basis": f"{len(self.basis)} benchmarks",
            },
            ncols=2,
        )
        s.add_df(self.table().astype(float).round(5))
        pc = self.scores["pc"]
        if pc.mse_test_all is not None:
            s.add_text(
                f"pc test MSE over all {pc.n_test_all} test/unknown models it can score: "
                f"{pc.mse_test_all:.4g}"
            )
        for k, v in self.mse_ratios().items():
            s.add_text(f"{k} test MSE / pc test MSE = {v:.3g}")
        for note in self.notes:
            s.add_text(note)
        return s


def _prediction_records(pred: pd.DataFrame) -> list[dict[str, Any]]:
    records = []
    for (model, family, split, actual), grp in pred.groupby(
        ["model", "family", "split", "actual"], sort=False, dropna=False
    ):
        rec: dict[str, Any] = {"model": model, "family": family, "split": split, "actual": actual}
        for r in grp.itertuples(index=False):
            rec[r.predictor] = {"predicted": r.predicted, "lower": r.lower, "upper": r.upper}
        records.append(rec)
    return records


# ----------------------------------------------------------------------------- the back-test


def _features(models: pd.DataFrame, cap: CapabilityPCA, basis: list[str]) -> dict[str, np.ndarray]:
    has_scores = models[basis].notna().any(axis=1).to_numpy()
    pcs = np.full((len(models), cap.n_components), np.nan)
    if has_scores.any():
        pcs[has_scores] = cap.transform(models.loc[has_scores, basis])
    with np.errstate(divide="ignore", invalid="ignore"):
        flops = np.log10(models["flops"].where(models["flops"] > 0).to_numpy(dtype=float))
        params = np.log10(
            models["params_b"].where(models["params_b"] > 0).to_numpy(dtype=float) * 1e9
        )
    return {"pc": pcs, "log_flops": flops[:, None], "log_params": params[:, None]}


@dataclass
class _Fit:
    reg: SigmoidRegressor
    thetas: np.ndarray  # bootstrap parameters, B x n_theta
    residuals: np.ndarray  # inflated training residuals


def make_regressor(pconf: PredictConfig, **overrides: Any) -> SigmoidRegressor:
    """The sigmoid regressor a ``PredictConfig`` describes."""
    params = {
        "form": pconf.form,
        "loss": pconf.loss,
        "huber_delta": pconf.huber_delta,
        "floor_max": pconf.floor_max,
        "n_starts": pconf.n_starts,
        "random_state": pconf.random_state,
    }
    return SigmoidRegressor(**(params | overrides))


def _fit_predictor(
    X: np.ndarray, y: np.ndarray, pconf: PredictConfig, rng: np.random.Generator
) -> _Fit:
    reg = make_regressor(pconf).fit(X, y)
    n = len(y)
    resid = y - reg.predict(X)
    resid = resid * math.sqrt(n / max(n - reg.n_params, 1))  # undo the fit's shrinkage
    thetas = np.vstack(
        [
            reg.bootstrap_thetas(X, y, counts)
            for counts in _resample_counts(n, pconf.n_bootstrap, rng)
        ]
    )
    return _Fit(reg, thetas, resid)


def _resample_counts(n: int, n_boot: int, rng: np.random.Generator, budget: int = 4_000_000):
    """Pairs-bootstrap multiplicities (B x n: how often each training model is drawn), in
    blocks of at most ``budget`` cells so that memory stays flat in N."""
    block = max(1, budget // max(n, 1))
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n)


def _interval(
    fit: _Fit, X: np.ndarray, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Quantiles of (bootstrap prediction + resampled residual) for each row of X."""
    if len(X) == 0:
        return np.empty(0), np.empty(0)
    rows = max(1, 4_000_000 // len(fit.thetas))  # B x rows cells per block
    parts = [
        _band(fit.reg.predict_thetas(fit.thetas, X[i : i + rows]), fit, level, rng)
        for i in range(0, len(X), rows)
    ]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


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
    (e.g. base models only) with ``capabilities.select_models``.
    """
    settings = settings or CapabilityConfig()
    pconf = pconf or PredictConfig()
    split = split or Split("cutoff_flops", pconf.cutoff_flops)
    notes: list[str] = []
    _check_target(models, target)
    basis, left_out = factor_basis(settings.benchmarks, target, twins)
    if left_out:
        notes.append(
            f"left out of the factor basis for this prediction: {', '.join(left_out)} "
            f"(the target {target}, or the same benchmark from another source)"
        )
    missing = [b for b in basis if b not in models.columns]
    if missing:
        raise PredictError(f"unknown benchmark columns {missing}")
    y_raw, scale_note = normalize_scale(models[target], target)
    if scale_note:
        notes.append(scale_note)
    keep = y_raw.notna() & models[basis].notna().any(axis=1)
    # rows in id order: results do not depend on the order of the input table
    order = models.loc[keep, "model"].sort_values(kind="stable").index
    data = models.loc[order].reset_index(drop=True)
    y = chance_normalize(y_raw[order].reset_index(drop=True), chance)
    below = float((y < 0).mean())
    if chance > 0 and below > 0.2:
        notes.append(f"{below:.0%} of the models score below the chance level {chance:g}")
    dropped = int((y_raw.notna() & ~keep).sum())
    if dropped:
        notes.append(f"{dropped} models with the target but no basis score were left out")
    # one independent stream per fold (and per predictor within it): changing one predictor
    # or fold leaves the others' bootstrap draws unchanged
    seeds = np.random.SeedSequence(pconf.random_state)
    folds = split.folds(data, pconf.random_state)
    fold_seeds = seeds.spawn(len(folds))
    rows, fold_scores, curve, baselines, equivalent = [], [], None, None, None
    for (name, train, test, unknown), fold_seed in zip(folds, fold_seeds, strict=True):
        no_test = len(test) == 0 and split.kind in ("cutoff_flops", "cutoff_date")
        if len(train) == 0 or no_test:
            side = "training" if len(train) == 0 else "test"
            raise PredictError(
                f"{split.describe()}: leaves no {side} models among the "
                f"{len(data)} with {target} (fold {name})"
            )
        fold_rows, fits = _run_fold(
            data, y, basis, settings, pconf, train, test, unknown, fold_seed
        )
        rows.append(fold_rows)
        fold_scores.append(fits)
        if len(folds) == 1:
            rng = np.random.default_rng(fold_seed.spawn(1)[0])
            curve, equivalent = _capability_curve(
                data,
                fits,
                reference_family or settings.reference_family,
                pconf,
                chance,
                rng,
                notes,
            )
            baselines = _baseline_curves(fits, pconf, chance, rng)
    pred = pd.concat(rows, ignore_index=True)
    if equivalent is not None:
        pred["equivalent_log10_flops"] = pred["model"].map(equivalent)
    if len(folds) > 1:
        pred = pred[pred["split"] != "train"].reset_index(drop=True)
    pred["actual_raw"] = pred["actual"] * (1 - chance) + chance
    for col in ("predicted", "lower", "upper"):
        pred[f"{col}_raw"] = pred[col] * (1 - chance) + chance
    scores = _score(pred, fold_scores, y)
    n_train = round(np.mean([len(f[1]) for f in folds]))  # multi-fold: mean training size
    n_test = int((pred.drop_duplicates("model")["split"] == "test").sum())
    n_unknown = int((pred.drop_duplicates("model")["split"] == "unknown").sum())
    if n_unknown:
        notes.append(
            f"{n_unknown} models have no value for the split variable: predicted "
            "(split 'unknown') but in neither side's metrics, except pc's mse_test_all"
        )
    return PredictionResult(
        target=target,
        split=split.describe(),
        chance=chance,
        basis=basis,
        n_train=n_train,
        n_test=n_test,
        n_unknown=n_unknown,
        scores=scores,
        predictions=pred,
        curve=curve,
        settings={
            "capabilities": asdict(settings),
            "predict": asdict(pconf),
            "split": {"kind": split.kind, "value": split.value},
        },
        notes=notes,
        baseline_curves=baselines,
    )


def _check_target(models: pd.DataFrame, target: str) -> None:
    """Only score columns are targets: metadata (sizes, flags, names) is not a metric."""
    if models.empty:
        raise PredictError("no models selected (check --subset / --families / --models)")
    if target not in models.columns:
        raise PredictError(f"unknown target column {target!r}")
    if target in ("model", *META_FIELDS) or target.endswith("_source"):
        raise PredictError(
            f"target {target!r} is model metadata, not a metric: choose a <source>:<benchmark> "
            "column of models.csv or a metric of --downstream"
        )
    col = models[target]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise PredictError(f"target {target!r} is not numeric (dtype {col.dtype})")
    if col.dropna().nunique() < 2:
        raise PredictError(f"target {target!r} has fewer than 2 distinct values: nothing to fit")


def factor_basis(
    benchmarks: tuple[str, ...], target: str, twins: tuple[tuple[str, str], ...]
) -> tuple[list[str], list[str]]:
    """The basis without the target and without its twins (the same benchmark measured by
    another source, e.g. obsscaling:HellaSwag for openllm_v1:HellaSwag), which would leak it."""
    leaky = {target} | {a for a, b in twins if b == target} | {b for a, b in twins if a == target}
    return [b for b in benchmarks if b not in leaky], [b for b in benchmarks if b in leaky]


def _run_fold(data, y, basis, settings, pconf, train, test, unknown, seed):
    try:
        cap = CapabilityPCA.from_config(settings).fit(data.loc[train, basis])
    except CapabilityDataError as e:
        raise PredictError(f"capability model on the {len(train)} training models: {e}") from e
    feats = _features(data, cap, basis)
    role = pd.Series("none", index=data.index)
    role[train], role[test], role[unknown] = "train", "test", "unknown"
    yv = y.to_numpy()
    rows, fits = [], {}
    for name, child in zip(PREDICTORS, seed.spawn(len(PREDICTORS)), strict=True):
        rng = np.random.default_rng(child)
        X = feats[name]
        ok = np.isfinite(X).all(axis=1)
        tr = ok & (role == "train").to_numpy()
        if tr.sum() == 0:
            raise PredictError(f"{name}: none of the training models has this predictor")
        try:
            fit = _fit_predictor(X[tr], yv[tr], pconf, rng)
        except ValueError as e:
            raise PredictError(f"{name}: {e}") from e
        fits[name] = (fit, tr)
        scored = ok & (role != "none").to_numpy()
        lo, hi = _interval(fit, X[scored], pconf.interval, rng)
        rows.append(
            pd.DataFrame(
                {
                    "model": data.loc[scored, "model"].to_numpy(),
                    "family": data.loc[scored, "family"].to_numpy(),
                    "split": role[scored].to_numpy(),
                    "predictor": name,
                    "actual": yv[scored],
                    "predicted": fit.reg.predict(X[scored]),
                    "lower": lo,
                    "upper": hi,
                }
            )
        )
    fits["_features"] = feats
    return pd.concat(rows, ignore_index=True), fits


def _score(pred: pd.DataFrame, fold_fits: list[dict], y: pd.Series) -> dict[str, PredictorScore]:
    test = pred[pred["split"] == "test"]
    scorable = test.groupby("model")["predictor"].nunique()
    common = set(scorable[scorable == len(PREDICTORS)].index)
    out = {}
    for name in PREDICTORS:
        p = pred[pred["predictor"] == name]
        tr = p[p["split"] == "train"]
        te = test[(test["predictor"] == name) & test["model"].isin(common)]
        err = te["predicted"] - te["actual"]
        sst = ((te["actual"] - te["actual"].mean()) ** 2).sum()
        if tr.empty:  # multi-fold: training error averaged over folds
            mse_train = float(
                np.mean([_train_mse(f[name], f["_features"][name], y) for f in fold_fits])
            )
        else:
            mse_train = float(((tr["predicted"] - tr["actual"]) ** 2).mean())
        reg = fold_fits[0][name][0].reg
        single = len(fold_fits) == 1
        score = PredictorScore(
            name=name,
            # multi-fold: the mean training size over folds
            n_train=round(float(np.mean([f[name][1].sum() for f in fold_fits]))),
            mse_train=mse_train,
            mse_test=float((err**2).mean()) if len(te) else float("nan"),
            mae_test=float(err.abs().mean()) if len(te) else float("nan"),
            r2_test=float(1 - (err**2).sum() / sst) if sst > 0 else float("nan"),
            coverage_90=float(
                ((te["actual"] >= te["lower"]) & (te["actual"] <= te["upper"])).mean()
            )
            if len(te)
            else float("nan"),
            n_test_scored=len(te),
            # coefficients only mean something for a single fit (folds have their own PCA bases)
            coef=[float(c) for c in reg.coef_] if single else [],
            intercept=float(reg.intercept_) if single else None,
            floor=float(reg.floor_) if single else None,
        )
        if name == "pc":
            allp = p[p["split"].isin(["test", "unknown"])]
            score.mse_test_all = float(((allp["predicted"] - allp["actual"]) ** 2).mean())
            score.n_test_all = len(allp)
        out[name] = score
    return out


def _train_mse(fit_and_mask, X, y) -> float:
    fit, tr = fit_and_mask
    return float(np.mean((fit.reg.predict(X[tr]) - y.to_numpy()[tr]) ** 2))


def _capability_curve(
    data, fits, reference, pconf, chance, rng, notes
) -> tuple[pd.DataFrame | None, pd.Series | None]:
    """The factor predictor's curve against the reference family's equivalent FLOPs, and every
    model's position on that axis (log10 equivalent FLOPs, by model id).

    As in the reference: regress the linear predictor z = w·PCs + c of the reference family's
    models on their log10 FLOPs, invert the line to put every model on that compute axis, and
    draw sigmoid(w_e·log10 F + b_e) past the largest model, with a bootstrap band (each
    bootstrap fit with its own reference line).
    """
    fit, _ = fits["pc"]
    X = fits["_features"]["pc"]
    ref = (data["family"] == reference).to_numpy() & data["flops"].notna().to_numpy()
    ref &= np.isfinite(X).all(axis=1)
    if ref.sum() < 2:
        notes.append(
            f"no capability curve: fewer than 2 {reference} models with known FLOPs "
            "have this target"
        )
        return None, None
    logf = np.log10(data.loc[ref, "flops"].to_numpy(dtype=float))
    [w_e], [b_e] = _lines(logf, fit.reg.decision_function(X[ref])[None, :])
    if not w_e > 0:
        notes.append(
            f"no capability curve: the factor predictor does not increase with {reference} compute"
        )
        return None, None
    ok = np.isfinite(X).all(axis=1)
    eq = (fit.reg.decision_function(X[ok]) - b_e) / w_e
    grid = np.linspace(eq.min() - 0.25, max(eq.max(), logf.max()) + pconf.extrapolate_decades, 120)
    center = fit.reg.link(w_e * grid + b_e)
    wt, bt = _lines(logf, fit.reg.decision_thetas(fit.thetas, X[ref]))  # B x n_ref
    floor = fit.thetas[:, -1:] if fit.reg.form == "parametric" else 0.0
    curves = (1 - floor) * expit(wt[:, None] * grid + bt[:, None]) + floor
    lo, hi = _band(curves, fit, pconf.interval, rng)
    curve = _curve_frame(grid, center, lo, hi, chance, "log10_equivalent_flops").assign(
        reference_family=reference, slope=w_e, intercept=b_e
    )
    return curve, pd.Series(eq, index=data.loc[ok, "model"].to_numpy())


def _lines(x: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept of OLS of each row of ``Z`` on ``x`` (closed form, batched)."""
    xc = x - x.mean()
    slope = (Z - Z.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return slope, Z.mean(axis=1) - slope * x.mean()


def _curve_frame(x, center, lo, hi, chance: float, x_name: str) -> pd.DataFrame:
    """A curve with its band on the normalised and the raw metric scale."""
    frame = pd.DataFrame({x_name: x, "predicted": center, "lower": lo, "upper": hi})
    for col in ("predicted", "lower", "upper"):
        frame[f"{col}_raw"] = frame[col] * (1 - chance) + chance
    return frame


def _band(
    curves: np.ndarray, fit: _Fit, level: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    noise = rng.choice(fit.residuals, size=curves.shape, replace=True)
    return np.quantile(curves + noise, [(1 - level) / 2, (1 + level) / 2], axis=0)


def _baseline_curves(
    fits, pconf: PredictConfig, chance: float, rng: np.random.Generator
) -> pd.DataFrame:
    """The compute-only predictors' sigmoids over their own axis (log10 FLOPs or params),
    extended as far past the largest model as the capability curve."""
    parts = []
    for name in ("log_flops", "log_params"):
        fit, _ = fits[name]
        x = fits["_features"][name][:, 0]
        x = x[np.isfinite(x)]
        grid = np.linspace(x.min() - 0.25, x.max() + pconf.extrapolate_decades, 120)[:, None]
        center = fit.reg.predict(grid)
        lo, hi = _band(fit.reg.predict_thetas(fit.thetas, grid), fit, pconf.interval, rng)
        curve = _curve_frame(grid[:, 0], center, lo, hi, chance, "x")
        parts.append(curve.assign(predictor=name))
    return pd.concat(parts, ignore_index=True)
