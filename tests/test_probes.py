"""Which benchmarks to run next: the Bayesian design's algebra, its back-test on generated
low-rank data (designed probes beat random ones), determinism, refusals and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit

from obsscale.bench.probes import probes_markdown, run_probes
from obsscale.cli import main
from obsscale.cli.probe import model_scores
from obsscale.data import store
from obsscale.exceptions import SelectionError
from obsscale.model.completion.loadings import (
    LinearGaussianCompletion,
    from_factors,
    pca_completion,
)
from obsscale.model.design.benchmarks import (
    ProbeCriterion,
    greedy_probes,
    points_variance,
    posterior,
    predictive_variance,
    select_benchmarks,
)
from obsscale.model.design.probe_backtest import backtest_frame, probe_backtest
from obsscale.model.design.selection import Criterion
from obsscale.report.bench_tables import bench_tables


def world(n: int = 90, p: int = 10, missing: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """Rank-1 logit scores: half the benchmarks track the factor closely, half barely (small
    loading, large noise), so which ones are revealed matters."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 1.5, n)
    strong = np.arange(p) % 2 == 0
    a = np.where(strong, rng.uniform(1.2, 1.8, p), rng.uniform(0.1, 0.3, p))
    sd = np.where(strong, 0.15, 1.0)
    Y = expit(rng.normal(0, 0.7, p) + f[:, None] * a + rng.normal(0, 1, (n, p)) * sd)
    Y[rng.random((n, p)) < missing] = np.nan
    return pd.DataFrame(
        Y, index=[f"m{i:02d}" for i in range(n)], columns=[f"b{j}" for j in range(p)]
    )


def toy(seed: int = 1, p: int = 6, k: int = 2) -> LinearGaussianCompletion:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, k))
    return LinearGaussianCompletion(
        [f"b{j}" for j in range(p)],
        rng.normal(size=p),
        rng.normal(size=(p, k)),
        rng.uniform(0.1, 1.0, p),
        rng.normal(size=k),
        A @ A.T + np.eye(k),
    )


def test_posterior_is_the_precision_form_of_gaussian_conditioning() -> None:
    m = toy()
    revealed = np.array([1, 3, 4])
    y = np.array([0.3, -1.0, 2.0])
    mean, cov = posterior(m, revealed, y)
    W, Dinv = m.loadings[revealed], np.diag(1 / m.noise[revealed])
    P0 = np.linalg.inv(m.prior_cov)
    expect_cov = np.linalg.inv(P0 + W.T @ Dinv @ W)
    expect_mean = expect_cov @ (P0 @ m.prior_mean + W.T @ Dinv @ (y - m.bias[revealed]))
    assert_allclose(cov, expect_cov, atol=1e-10)
    assert_allclose(mean, expect_mean, atol=1e-10)
    prior_mean, prior_cov = posterior(m, np.array([], int), np.array([]))
    assert_allclose(prior_mean, m.prior_mean)
    assert_allclose(prior_cov, m.prior_cov)


def test_points_variance_is_the_variance_of_the_score() -> None:
    mean, var = np.array([-2.0, 0.0, 1.5]), np.array([0.1, 4.0, 25.0])
    draws = 100 * expit(mean + np.sqrt(var) * np.random.default_rng(0).normal(size=(200_000, 3)))
    assert_allclose(points_variance(mean, var), draws.var(axis=0), rtol=0.02)
    assert (points_variance(np.zeros(1), np.array([1e6])) <= 2500).all()


@pytest.mark.parametrize("rest", [True, False])
def test_greedy_first_pick_minimises_the_criterion(rest: bool) -> None:
    m = toy(seed=3, p=8)
    how = ProbeCriterion(Criterion.V, points=True, rest=rest)
    first = greedy_probes(m, np.arange(8), 1, np.array([], int), np.array([]), how)[0]
    link = m.bias + m.loadings @ m.prior_mean
    values = []
    for c in range(8):
        _, cov = posterior(m, np.array([c]), np.zeros(1))
        var = points_variance(link, predictive_variance(m, cov))
        values.append(np.delete(var, c).mean() if rest else var.mean())
    assert first == int(np.argmin(values))


def test_designed_probes_beat_random_ones_on_low_rank_data() -> None:
    result = probe_backtest(
        world(),
        {"rank-1": lambda X: pca_completion(X, 1, noise_pseudo=10)},
        [ProbeCriterion()],
        budgets=(1, 3, 5),
    )
    table = backtest_frame(result)
    assert set(table["half"]) == {"design", "confirmation"}
    for k in (3, 5):
        rows = table[table["budget"] == k]
        assert (rows["chosen"] < rows["random"]).all(), rows
        assert (rows["chosen"] < rows["none"]).all()


def test_the_design_weighs_what_a_run_teaches_against_what_it_removes() -> None:
    """Over every benchmark unknown before (``rest=False``) the informative ones are chosen;
    over the rest, a weak benchmark's own uncertainty is what only its run removes."""
    model = pca_completion(world(n=200, missing=0.1), 1, noise_pseudo=10)
    none = pd.Series(dtype=float)
    fixed = select_benchmarks(model, none, budget=3, how=ProbeCriterion(rest=False))
    assert all(int(b[1:]) % 2 == 0 for b in fixed.chosen["benchmark"])  # the strong ones
    result = select_benchmarks(model, none, budget=3)
    errors = result.chosen["expected_error_after"].to_numpy()
    assert (np.diff(errors) < 0).all() and errors[0] < result.expected_error_before


def test_deterministic() -> None:
    X = world(n=50, p=8)
    fit = {"rank-1": lambda M: pca_completion(M, 1)}
    assert probe_backtest(X, fit, [ProbeCriterion()], budgets=(1, 3)) == probe_backtest(
        X, fit, [ProbeCriterion()], budgets=(1, 3)
    )
    model = pca_completion(X, 1)
    scores = X.iloc[0].iloc[:3]
    one = select_benchmarks(model, scores, budget=2, label="m00").to_json()
    assert one == select_benchmarks(model, scores, budget=2, label="m00").to_json()


def test_known_scores_are_not_chosen_again() -> None:
    X = world(n=60)
    scores = pd.Series({"b0": 0.4, "b2": 0.7, "elsewhere": 0.1})
    result = select_benchmarks(pca_completion(X, 1), scores, budget=4)
    assert result.n_observed == 2
    assert not {"b0", "b2"} & set(result.chosen["benchmark"])


def test_refusals() -> None:
    X = world(n=40)
    with pytest.raises(SelectionError, match=r"^budget 11 exceeds the 10 benchmarks a new model"):
        select_benchmarks(
            pca_completion(X, 1), pd.Series(dtype=float), budget=11, label="a new model"
        )
    models = X.add_prefix("epoch_hub:").reset_index(names="model")
    with pytest.raises(SelectionError, match=r"^unknown model id 'nobody': not in models\.csv$"):
        model_scores(models, "nobody")
    assert model_scores(models, "M03")[0] == "m03"


def _data(tmp_path) -> str:
    models = world(n=60, p=8).add_prefix("epoch_hub:").reset_index(names="model")
    for col in ("family", "params_b", "tokens_t", "flops", "is_base"):
        models[col] = np.nan
    models["release_date"] = "2024-01-01"
    (tmp_path / "data" / "processed").mkdir(parents=True)
    models.to_csv(tmp_path / "data" / "processed" / "models.csv", index=False)
    return str(tmp_path / "data")


def test_cli_prints_and_writes_the_probes(tmp_path, capsys) -> None:
    data = _data(tmp_path)
    common = ["select", "--data-dir", data, "--benchmarks-for"]
    assert main([*common, "m05", "--budget", "2", "--out", str(tmp_path / "p.csv")]) == 0
    text = capsys.readouterr().out
    assert "Benchmarks to run next for m05: 2 probes" in text
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table["order"]) == [1, 2] and table["benchmark"].str.startswith("epoch_hub:").all()
    assert main([*common, "new", "--out", str(tmp_path / "p.json")]) == 0
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["model"] == "a new model" and len(doc["chosen"]) == 3  # the default budget


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmarks-for", "nobody"], "unknown model id 'nobody'"),
        (["--benchmarks-for", "new", "--budget", "9"], "budget 9 exceeds the 8 benchmarks"),
        (["--benchmarks-for", "new", "--out", "x.txt"], "give a .csv or .json file name"),
        (["--out", "x.csv"], "give --budget K"),
        (["--benchmarks-for", "new", "--out", "DATA/p.csv"], "is inside the data folder"),
    ],
)
def test_cli_refusals_are_one_line(tmp_path, capsys, args: list[str], message: str) -> None:
    data = _data(tmp_path)
    args = [a.replace("DATA", data) for a in args]
    assert main(["select", "--data-dir", data, *args]) != 0
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_report_reads_the_bench_result_and_skips_a_broken_one(tmp_path, caplog) -> None:
    result = probe_backtest(
        world(n=50, p=8),
        {"<b>fit</b>": lambda M: pca_completion(M, 1)},
        [ProbeCriterion()],
        budgets=(1, 3),
    )
    (tmp_path / "bench").mkdir()
    store.write_json(tmp_path / "bench" / "probes.json", result)
    (table,) = bench_tables(tmp_path)
    assert len(table.frame) == len(result["table"]) and "probes.json" in table.caption
    (tmp_path / "bench" / "probes.json").write_text('{"table": [', encoding="utf-8")
    assert bench_tables(tmp_path) == []
    assert "probes.json left out of the report" in caplog.text


def test_bench_markdown_has_both_halves() -> None:
    result = probe_backtest(
        world(n=50, p=8), {"r1": lambda M: pca_completion(M, 1)}, [ProbeCriterion()], budgets=(1, 3)
    )
    md = probes_markdown(result)
    assert md.count("| design |") == 2 and md.count("| confirmation |") == 2
    assert "skipped" in probes_markdown(run_probes(pd.DataFrame({"model": ["a"]})))


def test_a_factorisation_given_by_its_arrays_recovers_its_noise_and_prior() -> None:
    rng = np.random.default_rng(4)
    U, V, b = rng.normal(size=(400, 2)), rng.normal(size=(6, 2)), rng.normal(size=6)
    sd = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2])
    Z = b + U @ V.T + rng.normal(size=(400, 6)) * sd
    Z[rng.random(Z.shape) < 0.3] = np.nan
    m = from_factors([f"b{j}" for j in range(6)], Z, (b, V, U))
    assert_allclose(m.noise, sd**2, rtol=0.2)
    assert_allclose(m.prior_cov, np.cov(U, rowvar=False))
    shrunk = from_factors([f"b{j}" for j in range(6)], Z, (b, V, U), noise_pseudo=1e9)
    assert np.ptp(shrunk.noise) < 1e-6


def test_d_optimal_first_pick_maximises_the_posterior_precision() -> None:
    m = toy(seed=5, p=8)
    how = ProbeCriterion(Criterion.D)
    first = greedy_probes(m, np.arange(8), 1, np.array([], int), np.array([]), how)[0]
    logdets = [np.linalg.slogdet(posterior(m, np.array([c]), np.zeros(1))[1])[1] for c in range(8)]
    assert first == int(np.argmin(logdets))  # smallest posterior covariance
