"""Back-test metrics: test MSE, MAE, R² and interval coverage of every predictor, computed on
the same test models (those every predictor can score), on the chance-normalised scale. Where
no test model can be scored by all (frontier or instruct models without known compute), each
predictor is scored on the test models it can score, and the result says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from obsscale.model.prediction.results import PREDICTORS, PredictorScore

if TYPE_CHECKING:
    from obsscale.model.prediction.records import FoldFit

NAN = float("nan")


def score_predictors(
    pred: pd.DataFrame, fold_fits: list[FoldFit], y: pd.Series
) -> dict[str, PredictorScore]:
    """One ``PredictorScore`` per predictor the folds fitted (a compute baseline left out of
    the back-test has none); ``pc`` adds the reference's ``mse_test_all``."""
    test = pred[pred["split"] == "test"]
    common, _ = scored_test_models(test)
    out = {}
    for name in (n for n in PREDICTORS if n in fold_fits[0].fits):
        mine = pred[pred["predictor"] == name]
        te = test[(test["predictor"] == name) & test["model"].isin(common)]
        score = PredictorScore(
            name=name,
            # multi-fold: the mean training size over folds
            n_train=round(float(np.mean([f.train[name].sum() for f in fold_fits]))),
            mse_train=_train_mse(mine, fold_fits, name, y),
            n_test_scored=len(te),
            **test_metrics(te),
            **_coefficients(fold_fits, name),
        )
        if name == "pc":
            allp = mine[mine["split"].isin(["test", "unknown"])]
            score.mse_test_all = float(((allp["predicted"] - allp["actual"]) ** 2).mean())
            score.n_test_all = len(allp)
        out[name] = score
    return out


def scored_test_models(test: pd.DataFrame) -> tuple[set[str], bool]:
    """The test models every predictor of the back-test (those not left out) can score, and
    True; where there are none, every test model some predictor can score, and False."""
    scorable = test.groupby("model")["predictor"].nunique()
    common = set(scorable[scorable == test["predictor"].nunique()].index)
    return (common, True) if common else (set(scorable.index), False)


def test_metrics(te: pd.DataFrame) -> dict[str, Any]:
    """MSE, MAE, R² and interval coverage of a frame of test predictions."""
    if te.empty:
        return {"mse_test": NAN, "mae_test": NAN, "r2_test": NAN, "coverage": NAN}
    err = te["predicted"] - te["actual"]
    sst = ((te["actual"] - te["actual"].mean()) ** 2).sum()
    inside = (te["actual"] >= te["lower"]) & (te["actual"] <= te["upper"])
    return {
        "mse_test": float((err**2).mean()),
        "mae_test": float(err.abs().mean()),
        "r2_test": float(1 - (err**2).sum() / sst) if sst > 0 else NAN,
        "coverage": float(inside.mean()),
    }


def _train_mse(mine: pd.DataFrame, fold_fits: list[FoldFit], name: str, y: pd.Series) -> float:
    tr = mine[mine["split"] == "train"]
    if not tr.empty:
        return float(((tr["predicted"] - tr["actual"]) ** 2).mean())
    # multi-fold: training error averaged over folds
    yv = y.to_numpy()
    return float(
        np.mean(
            [
                np.mean(
                    (f.fits[name].reg.predict(f.inputs[name][f.train[name]]) - yv[f.train[name]])
                    ** 2
                )
                for f in fold_fits
            ]
        )
    )


def _coefficients(fold_fits: list[FoldFit], name: str) -> dict[str, Any]:
    """Fitted coefficients: only meaningful for a single fit (folds have their own PCA bases)."""
    if len(fold_fits) != 1:
        return {"coef": [], "intercept": None, "floor": None}
    reg = fold_fits[0].fits[name].reg
    return {
        "coef": [float(c) for c in reg.coef_],
        "intercept": float(reg.intercept_),
        "floor": float(reg.floor_),
    }
