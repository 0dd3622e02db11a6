"""The one predictor: its fit/predict contract, the harness that clones it per fold, and the
paths (factors given, factor draws) that forecasts use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from test_predict import BENCH, FAST, SETTINGS, world

from obsscale.config import PredictConfig
from obsscale.exceptions import PredictError
from obsscale.model.prediction.backtest import backtest
from obsscale.model.prediction.link_forms import Floor
from obsscale.model.prediction.methods import DefaultMethod, LogFlops, PaperMethod
from obsscale.model.prediction.predictor import DownstreamPredictor
from obsscale.model.prediction.splits import CutoffFlops

CUT = 10**22.6


def _predictor(method: object) -> DownstreamPredictor:
    return DownstreamPredictor(method=method, capabilities=SETTINGS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "method", [DefaultMethod(FAST, shift=True), PaperMethod(PredictConfig(n_bootstrap=60))]
)
def test_backtest_predictions_are_the_predictors_own(method: object) -> None:
    """The harness adds no prediction logic: a predictor fitted by hand on the training side
    (same seed stream) predicts the test models exactly as the back-test reports them."""
    models = world()
    res = backtest(_predictor(method), models, "target", CutoffFlops(CUT))
    pc = res.predictions[res.predictions["predictor"] == "pc"].set_index("model")
    child = np.random.SeedSequence(FAST.random_state).spawn(1)[0].spawn(3)[0]
    train = models[models["flops"] <= CUT]
    p = _predictor(method).set_params(random_state=child).fit(train, "target")
    rows = models.set_index("model").loc[pc.index].reset_index()
    own = p.predict(rows).set_index(rows["model"])
    test = pc["split"] == "test"
    assert_allclose(own.loc[test[test].index, "predicted"], pc.loc[test, "predicted"], atol=1e-9)


def test_predict_is_deterministic_and_covers_every_row() -> None:
    models = world()
    p = _predictor(DefaultMethod(FAST)).fit(models[models["flops"] <= CUT], "target")
    a, b = p.predict(models), p.predict(models)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == list(models.index)
    assert a["predicted"].notna().all()
    assert ((a["lower"] <= a["predicted"]) & (a["predicted"] <= a["upper"])).all()


def test_rows_with_partial_scores_and_baselines_are_predicted() -> None:
    models = world()
    p = DownstreamPredictor(method=PaperMethod(FAST), inputs=LogFlops(), capabilities=SETTINGS)
    p.fit(models, "target")
    planned = pd.DataFrame({"flops": [1e23, np.nan]})
    out = p.predict(planned)
    assert out["predicted"].iloc[:1].notna().all() and np.isnan(out["predicted"].iloc[1])
    partial = models[[*BENCH[:2], "flops"]].iloc[:3]
    assert (
        _predictor(DefaultMethod(FAST))
        .fit(models, "target")
        .predict(partial)
        .notna()
        .to_numpy()
        .all()
    )


@pytest.mark.parametrize("method", [DefaultMethod(FAST), PaperMethod(FAST)])
def test_factor_draws_widen_the_interval_around_the_same_point(method: object) -> None:
    models = world()
    p = _predictor(method).fit(models, "target")
    row = models.iloc[[5]]
    k = p.factors_.n_components
    centre = p.factors_.transform(row[BENCH])
    rng = np.random.default_rng(0)
    tight = p.predict(row, draws=centre[None] + 1e-9 * rng.standard_normal((1, 200, k)))
    wide = p.predict(row, draws=centre[None] + 0.5 * rng.standard_normal((1, 200, k)))
    assert_allclose(tight["predicted"], p.predict(row)["predicted"], atol=1e-12)
    assert_allclose(wide["predicted"], tight["predicted"], atol=1e-12)
    assert float((wide["upper"] - wide["lower"]).iloc[0]) > float(
        (tight["upper"] - tight["lower"]).iloc[0]
    )


def test_interval_level_and_link_are_parameters() -> None:
    models = world()
    narrow = _predictor(DefaultMethod(FAST)).set_params(interval=0.5).fit(models, "target")
    wide = _predictor(DefaultMethod(FAST)).set_params(interval=0.95).fit(models, "target")
    w50 = (narrow.predict(models)["upper"] - narrow.predict(models)["lower"]).median()
    w95 = (wide.predict(models)["upper"] - wide.predict(models)["lower"]).median()
    assert w95 > w50
    floor = _predictor(PaperMethod(FAST)).set_params(link=Floor).fit(models, "target")
    assert floor.fitted_.reference.reg.form == "parametric"
    with pytest.raises(PredictError, match="link: the default method chooses"):
        _predictor(DefaultMethod(FAST)).set_params(link=Floor).fit(models, "target")


def test_paper_method_uses_the_papers_solver() -> None:
    assert PaperMethod(PredictConfig()).settings.method == "paper"


def test_the_public_api_names_the_predictor_and_its_harness() -> None:
    import obsscale

    assert obsscale.DownstreamPredictor is DownstreamPredictor
    assert obsscale.backtest is backtest
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = obsscale.nope


def test_scikit_learn_clones_it_unfitted_with_the_same_parameters() -> None:
    from sklearn.base import clone

    p = _predictor(PaperMethod(FAST)).set_params(interval=0.8, inputs=LogFlops())
    p.fit(world(), "target")
    copy = clone(p)
    assert copy.get_params() == p.get_params()
    assert not hasattr(copy, "fitted_")


def test_default_methods_reference_link_is_fitted_on_first_use_from_the_fits_stream() -> None:
    """The best member's bootstrap (the back-test's curves and coefficients) is fitted only
    when asked for: with the nested scale alone, predictions (forecasts) never need it; the
    curated interval model reads its scale. Asked for, it is what the fit would have drawn
    at once from its seed, and the same however often it is asked."""
    from dataclasses import replace

    from obsscale.model.prediction import interval_prior as ip
    from obsscale.model.prediction.intervals import fit_with_bootstrap

    models = world()
    p = _predictor(DefaultMethod(FAST)).set_params(random_state=7)
    curated = ip.load()
    assert curated is not None
    with ip.using(replace(curated, nested_exponent=1.0, bootstrap_exponent=0.0)):
        p.fit(models[models["flops"] <= CUT], "target")
    p.predict(models)
    assert "reference" not in vars(p.fitted_)
    if curated.bootstrap_exponent:
        q = _predictor(DefaultMethod(FAST)).set_params(random_state=7)
        q.fit(models[models["flops"] <= CUT], "target").predict(models)
        assert "reference" in vars(q.fitted_)
    link = p.fitted_.link
    eager = fit_with_bootstrap(link.X, link.y, link.pconf, np.random.default_rng(7), **link.params)
    assert_allclose(p.fitted_.reference.thetas, eager.thetas, rtol=0, atol=0)
    assert p.fitted_.reference is p.fitted_.reference
    assert_allclose(link.fit().thetas, eager.thetas, rtol=0, atol=0)
