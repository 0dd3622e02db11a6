"""Capability model on synthetic data with known structure, and on the real curated table."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from obsscale.config import CapabilityConfig, default_config
from obsscale.data.table import load_models
from obsscale.exceptions import CapabilityDataError, ConvergenceWarning
from obsscale.model.capabilities.factors import CapabilityPCA
from obsscale.model.capabilities.fit import CapabilityFit, fit_capabilities
from obsscale.model.capabilities.imputation import PCAImputer
from obsscale.model.capabilities.rows import Selection, select_models
from obsscale.model.capabilities.saved import SavedFactors

BENCH = [f"b{j}" for j in range(8)]
SETTINGS = CapabilityConfig(benchmarks=tuple(BENCH), reference_family="Ref")
# true per-family lines: capability = offset_f + SLOPE * log10(FLOPs)
SLOPE = 0.12
OFFSETS = {"Ref": 0.0, "Efficient": 0.06, "Wasteful": -0.05}


def loadings(rng: np.random.Generator, p: int = 8) -> np.ndarray:
    v = np.abs(rng.normal(size=p)) + 0.2
    return v / np.linalg.norm(v)


def synthetic_models(seed: int = 0, noise: float = 0.0, per_family: int = 12) -> pd.DataFrame:
    """Models whose scores are rank 1 in a capability that is linear in log10 FLOPs."""
    rng = np.random.default_rng(seed)
    v = loadings(rng)
    rows = []
    for fam, off in OFFSETS.items():
        for i, lf in enumerate(np.linspace(21, 24, per_family)):
            c = off + SLOPE * (lf - 22.5)
            scores = 0.5 + c * v + noise * rng.normal(size=8)
            rows.append(
                {
                    "model": f"{fam.lower()}/m{i}",
                    "family": fam,
                    "flops": 10**lf,
                    **dict(zip(BENCH, scores, strict=True)),
                }
            )
    return pd.DataFrame(rows)


def low_rank(seed: int, n: int = 300, rank: int = 2, noise: float = 0.002) -> np.ndarray:
    rng = np.random.default_rng(seed)
    V = np.linalg.qr(rng.normal(size=(8, rank)))[0].T
    S = rng.normal(size=(n, rank)) * np.array([0.15, 0.05][:rank])
    return 0.5 + S @ V + noise * rng.normal(size=(n, 8)), V


# ---------------------------------------------------------------- PCA structure


def test_recovers_low_rank_subspace() -> None:
    X, V = low_rank(1)
    pca = CapabilityPCA(n_components=2).fit(X)
    assert pca.explained_variance_ratio_.sum() > 0.99
    # principal angles between the fitted and true subspaces are ~0
    cosines = np.linalg.svd(pca.components_ @ V.T, compute_uv=False)
    assert_allclose(cosines, 1.0, atol=1e-3)


def test_fit_transform_equals_fit_then_transform() -> None:
    X, _ = low_rank(2)
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    a = CapabilityPCA(n_components=3).fit_transform(X)
    b = CapabilityPCA(n_components=3).fit(X).transform(X)
    assert_allclose(a, b, atol=1e-12)


def test_explained_variance_matches_empirical_variance() -> None:
    X, _ = low_rank(3, rank=2)
    pca = CapabilityPCA(n_components=3).fit(X)
    scores = pca.transform(X)
    assert_allclose(scores.var(axis=0, ddof=1), pca.explained_variance_, rtol=1e-10)
    total = X.var(axis=0, ddof=1).sum()
    assert_allclose(pca.explained_variance_ / total, pca.explained_variance_ratio_, rtol=1e-10)
    assert_allclose(pca.spectrum_ratio_.sum(), 1.0)
    assert_allclose(pca.spectrum_ratio_[:3], pca.explained_variance_ratio_)


def test_matches_sklearn_pca_up_to_sign() -> None:
    from sklearn.decomposition import PCA

    X, _ = low_rank(4, rank=2, noise=0.02)
    ours = CapabilityPCA(n_components=3).fit(X)
    ref = PCA(n_components=3).fit(X)
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-8)
    assert_allclose(np.abs(ours.components_), np.abs(ref.components_), atol=1e-8)


def test_components_point_towards_capability() -> None:
    X, _ = low_rank(5, rank=2, noise=0.02)
    for flip in (1.0, -1.0):  # the sign must not depend on how the data happen to lie
        Xf = 0.5 + flip * (X - 0.5)
        pca = CapabilityPCA(n_components=3).fit(Xf)
        scores = pca.transform(Xf)
        avg = Xf.mean(axis=1)
        for j in range(3):
            assert np.corrcoef(scores[:, j], avg)[0, 1] > 0


def test_standardize_option_scales_columns() -> None:
    X, _ = low_rank(6, noise=0.02)
    X[:, 0] *= 0.1
    raw = CapabilityPCA(n_components=2).fit(X)
    std = CapabilityPCA(n_components=2, standardize=True).fit(X)
    assert_allclose(std.scale_, X.std(axis=0), rtol=1e-10)
    assert not np.allclose(raw.explained_variance_ratio_, std.explained_variance_ratio_)


# ---------------------------------------------------------------- imputation


def test_imputation_recovers_removed_entries() -> None:
    """Rank-1 data (signal sd ~0.05 per entry, noise sd 0.002) with 20% of entries removed.

    Tolerances: a fill is a least-squares fit of the row's capability from its observed
    entries, so its error is the noise amplified by 1/|observed loadings|: RMSE within 3x
    the noise sd (0.006), and no single entry off by more than 0.03 (rows with one or two
    observed entries err most).
    """
    X, _ = low_rank(7, rank=1, noise=0.002)
    mask = np.random.default_rng(1).random(X.shape) < 0.2
    mask[mask.all(axis=1), 0] = False
    holey = np.where(mask, np.nan, X)
    imp = PCAImputer(n_components=1).fit(holey)
    filled = imp.transform(holey)
    err = filled[mask] - X[mask]
    assert np.sqrt(np.mean(err**2)) < 0.006
    assert np.abs(err).max() < 0.03
    assert_allclose(filled[~mask], X[~mask])  # observed entries untouched
    naive = np.where(mask, np.nanmean(holey, axis=0), X)
    assert np.abs(filled[mask] - X[mask]).mean() < 0.2 * np.abs(naive[mask] - X[mask]).mean()


def test_imputation_clips_to_unit_interval() -> None:
    X, _ = low_rank(8, rank=1, noise=0.0)
    X = 0.5 + 4 * (X - 0.5)  # pushes reconstructions beyond [0, 1]
    X = np.clip(X, 0, 1)
    X[0, :4] = np.nan
    X[0, 4:] = 1.0
    out = PCAImputer(n_components=1).fit(X).transform(X)
    assert out.min() >= 0 and out.max() <= 1


def test_imputer_convergence_warning() -> None:
    X, _ = low_rank(9, rank=2, noise=0.05)
    X[np.random.default_rng(2).random(X.shape) < 0.3] = np.nan
    with pytest.warns(ConvergenceWarning, match="did not converge in 1 iterations"):
        PCAImputer(n_components=1, max_iter=1).fit(X)


def test_no_test_row_leaks_into_the_fit() -> None:
    X, _ = low_rank(10, rank=2, noise=0.01)
    X[np.random.default_rng(3).random(X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    train, test = X[:200], X[200:]
    pca = CapabilityPCA(n_components=3).fit(train)
    fitted = {**{f"imp.{k}": v for k, v in vars(pca.imputer_).items()}, **vars(pca)}
    state = {
        k: v.copy() for k, v in fitted.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"
    }
    before = pca.transform(test)
    scrambled = test.copy()
    scrambled[1:] = np.random.default_rng(4).random(scrambled[1:].shape)
    after = pca.transform(scrambled)
    assert_allclose(after[0], before[0])  # each test row is scored on its own
    for k, v in state.items():
        now = getattr(pca.imputer_, k[4:]) if k.startswith("imp.") else getattr(pca, k)
        assert_allclose(now, v)  # transforming test rows changes nothing fitted
    refit = CapabilityPCA(n_components=3).fit(np.vstack([train, test]))
    assert not np.allclose(refit.components_, pca.components_)  # test rows would matter


# ---------------------------------------------------------------- families and compute


def test_recovers_family_lines_and_efficiency() -> None:
    fit = fit_capabilities(synthetic_models(noise=0.001), SETTINGS)
    pc1 = fit.families[fit.families["component"] == "PC-1"].set_index("family")
    # PC-1 = capability - mean (unit-norm loadings), so slopes equal SLOPE
    assert_allclose(pc1["slope"], SLOPE, rtol=0.02)
    assert (pc1["r2"] > 0.99).all()
    eff = fit.efficiency.set_index("family")
    for fam, off in OFFSETS.items():
        assert eff.at[fam, "pc1_offset"] == pytest.approx(off, abs=0.003)
        assert eff.at[fam, "compute_multiplier"] == pytest.approx(10 ** (off / SLOPE), rel=0.08)
        assert eff.at[fam, "pc1_offset_low"] <= off + 0.003
        assert eff.at[fam, "pc1_offset_high"] >= off - 0.003


def test_equivalent_flops_invert_reference_line() -> None:
    models = synthetic_models(noise=0.0)
    fit = fit_capabilities(models, SETTINGS)
    table = fit.models.set_index("model")
    ref = models[models["family"] == "Ref"]
    assert_allclose(table.loc[ref["model"], "equivalent_flops"], ref["flops"], rtol=1e-6)
    eff = models[models["family"] == "Efficient"]
    factor = 10 ** (OFFSETS["Efficient"] / SLOPE)  # an efficient model "looks" this much bigger
    assert_allclose(table.loc[eff["model"], "equivalent_flops"], eff["flops"] * factor, rtol=1e-6)


def test_equivalent_flops_defined_without_known_compute() -> None:
    models = synthetic_models()
    models.loc[models["family"] == "Wasteful", "flops"] = np.nan
    fit = fit_capabilities(models, SETTINGS)
    assert fit.models["equivalent_flops"].notna().all()
    assert "Wasteful" not in set(fit.families["family"])
    assert any("Wasteful" in n for n in fit.notes)


def test_json_round_trip_and_determinism(tmp_path: Path) -> None:
    models = synthetic_models(noise=0.01)
    models.loc[::7, "b3"] = np.nan
    fit = fit_capabilities(models, SETTINGS, input_sha256="abc")
    fit.save(tmp_path / "a.json")
    back = CapabilityFit.load(tmp_path / "a.json")
    assert_allclose(back.transform(models), fit.transform(models), atol=0)
    assert_allclose(back.equivalent_flops(fit.models["PC-1"]), fit.models["equivalent_flops"])
    back.save(tmp_path / "b.json")
    fit_capabilities(models, SETTINGS, input_sha256="abc").save(tmp_path / "c.json")
    a = (tmp_path / "a.json").read_bytes()
    assert a == (tmp_path / "b.json").read_bytes() == (tmp_path / "c.json").read_bytes()
    d = json.loads(a)
    assert {
        "benchmarks",
        "explained_variance_ratio",
        "loadings",
        "models",
        "families",
        "settings",
        "input_sha256",
    } <= set(d)


def test_loaded_fit_reads_its_arrays_without_building_the_estimator(tmp_path: Path) -> None:
    """What summaries and the report read comes from fit.json's arrays as they are; the
    estimator (scikit-learn) is built once, by the first use of ``pca``."""
    fit = fit_capabilities(synthetic_models(noise=0.01), SETTINGS)
    fit.save(tmp_path / "a.json")
    back = CapabilityFit.load(tmp_path / "a.json")
    assert repr(back) == repr(fit)
    pd.testing.assert_frame_equal(back.loadings, fit.loadings, rtol=0, atol=0)
    pd.testing.assert_series_equal(back.explained_variance_ratio, fit.explained_variance_ratio)
    assert_allclose(back.spectrum_ratio, fit.spectrum_ratio, rtol=0, atol=0)
    assert back.summary().as_text() == fit.summary().as_text()
    assert isinstance(back.factors, SavedFactors)
    pca = back.pca
    assert isinstance(pca, CapabilityPCA) and back.pca is pca and back.factors is pca
    assert_allclose(pca.spectrum_ratio_, fit.pca.spectrum_ratio_, rtol=0, atol=0)


def test_summary_and_repr() -> None:
    fit = fit_capabilities(synthetic_models(noise=0.01), SETTINGS)
    text = fit.summary().as_text()
    assert "explained variance ratio" in text and "Efficient" in text
    assert "<table" in fit.summary().as_html()
    assert repr(fit).startswith("<CapabilityFit: 36 models, 3 families")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.head(3), "too few models: 3"),
        (lambda m: m.assign(b2=0.5), r"no variance.*\['b2'\]"),
        (lambda m: m.assign(b5=np.nan), r"no scores at all: \['b5'\]"),
        (
            lambda m: m.assign(**{b: m[b].mask(m.index == 4) for b in BENCH}),
            r"1 models have no score on any benchmark \(ref/m4\)",
        ),
        (lambda m: m.assign(b1="high"), "scores must be numeric"),
    ],
)
def test_bad_input_is_explained(mutate, message: str) -> None:
    with pytest.raises(CapabilityDataError, match=message):
        fit_capabilities(mutate(synthetic_models(noise=0.01)), SETTINGS)


def test_unknown_benchmark_is_named() -> None:
    with pytest.raises(CapabilityDataError, match=r"unknown benchmark columns \['zz'\]"):
        fit_capabilities(synthetic_models(), replace(SETTINGS, benchmarks=("b0", "zz")))


def test_reference_family_with_one_model_warns() -> None:
    models = synthetic_models(noise=0.01)
    models = models[(models["family"] != "Ref") | (models["model"] == "ref/m0")]
    with pytest.warns(UserWarning, match="reference family 'Ref' has fewer than 2 models"):
        fit = fit_capabilities(models, SETTINGS)
    assert fit.reference is None
    assert "equivalent_flops" not in fit.models


def test_too_many_components_is_explained() -> None:
    with pytest.raises(CapabilityDataError, match="9 components requested but only 8"):
        fit_capabilities(synthetic_models(), replace(SETTINGS, n_components=9))


def test_invalid_parameter_names_the_value() -> None:
    X, _ = low_rank(11)
    with pytest.raises(ValueError, match="n_components"):
        CapabilityPCA(n_components=0).fit(X)


# ---------------------------------------------------------------- the real curated table


@pytest.mark.mirror
@pytest.mark.parametrize(
    ("subset", "n", "pc1", "pc123"),
    [
        (None, 148, 0.853, 0.974),  # the reference implementation's figures, all curated models
        ("paper", 77, 0.802, 0.967),  # the paper's evaluated families without later models
    ],
)
def test_reference_explained_variance(mirror_data: Path, subset, n, pc1, pc123) -> None:
    models = load_models(default_config(mirror_data))
    sel = select_models(models, CapabilityConfig().benchmarks, selection=Selection(subset=subset))
    assert len(sel) == n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_capabilities(sel)
    evr = fit.pca.explained_variance_ratio_
    assert evr[0] == pytest.approx(pc1, abs=0.005)
    assert evr[:3].sum() == pytest.approx(pc123, abs=0.005)


@pytest.mark.mirror
def test_pc1_linear_in_log_compute_within_families(mirror_data: Path) -> None:
    models = load_models(default_config(mirror_data))
    fit = fit_capabilities(select_models(models, CapabilityConfig().benchmarks))
    pc1 = fit.families[fit.families["component"] == "PC-1"].set_index("family")
    for fam in ("Llama-2", "Pythia", "OPT", "BLOOM", "Qwen1.5"):
        assert pc1.at[fam, "r2"] >= 0.96, fam
        assert pc1.at[fam, "slope"] > 0
    llama = fit.models.set_index("model").loc["meta-llama/Llama-2-7b-hf"]
    assert llama["equivalent_flops"] == pytest.approx(8.4e22, rel=0.2)


# statsmodels itself warns on the two-model family (no residual degrees of freedom)
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_grouped_ols_equals_statsmodels_per_group() -> None:
    import statsmodels.api as sm

    from obsscale.model.capabilities.families import family_efficiency, family_regressions

    models = synthetic_models(noise=0.02, per_family=5)
    models.loc[models.index[:2], "family"] = "Pair"  # two models: no residual df
    fit = fit_capabilities(models, SETTINGS)
    scores = fit.models[["PC-1", "PC-2"]]
    logf = np.log10(fit.models["flops"])
    fams = family_regressions(scores, logf, fit.models["family"], alpha=0.1)
    eff = family_efficiency(scores["PC-1"], logf, fit.models["family"], fit.reference, alpha=0.1)
    ref_idx = fit.models.index[fit.models["family"] == "Ref"]
    ref_res = sm.OLS(
        scores.loc[ref_idx, "PC-1"].to_numpy(), sm.add_constant(logf[ref_idx].to_numpy())
    ).fit()
    for fam, idx in fit.models.groupby("family").groups.items():
        x = sm.add_constant(logf[idx].to_numpy())
        for pc in ("PC-1", "PC-2"):
            res = sm.OLS(scores.loc[idx, pc].to_numpy(), x).fit()
            row = fams[(fams["family"] == fam) & (fams["component"] == pc)].iloc[0]
            assert_allclose(
                [row["intercept"], row["slope"], row["r2"]],
                [*res.params, res.rsquared],
                rtol=1e-9,
                atol=1e-12,
            )
            if res.df_resid > 0:
                assert_allclose(
                    [row["slope_low"], row["slope_high"]], res.conf_int(0.1)[1], rtol=1e-9
                )
            else:
                assert np.isnan(row["slope_low"])
        res = sm.OLS(scores.loc[idx, "PC-1"].to_numpy(), x).fit()
        e = eff.set_index("family").loc[fam]
        if fam == "Ref":  # the reference against itself: zero by definition
            assert (e[["pc1_offset", "pc1_offset_low", "pc1_offset_high"]] == 0).all()
            continue
        x0 = np.array([[1.0, e["at_log10_flops"]]])
        pred = res.get_prediction(x0)
        ref_pred = ref_res.get_prediction(x0)
        assert e["pc1_offset"] == pytest.approx(
            pred.predicted_mean[0] - ref_pred.predicted_mean[0], abs=1e-12
        )
        if res.df_resid > 0:  # both lines' errors add; t with the smaller residual df
            from scipy import stats

            half = stats.t.ppf(0.95, min(res.df_resid, ref_res.df_resid)) * np.hypot(
                pred.se_mean[0], ref_pred.se_mean[0]
            )
            assert_allclose(
                [e["pc1_offset_low"], e["pc1_offset_high"]],
                e["pc1_offset"] + np.array([-half, half]),
                rtol=1e-9,
            )
