"""The report's frontier analysis (``frontier.json``) on a small synthetic hub table, and its
section of the report: shapes, observed share, determinism, the absent-hub path, escaping."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from obsscale.config import FrontierConfig, PredictConfig
from obsscale.data import store
from obsscale.model.completion.hub_matrix import hub_matrix
from obsscale.model.index.frontier import frontier_report
from obsscale.report import frontier as section
from obsscale.report.html import _environment

EVIL = "<script>alert(1)</script>"
BENCH = [f"b{j}" for j in range(6)]
FCONF = FrontierConfig(
    targets=("b0", "b1", "absent"),
    min_points=10,
    min_compute_points=8,
    n_boot=4,
    recent_models=3,
)
PCONF = PredictConfig(n_bootstrap=30, n_starts=1)


def hub_world(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """Models released over three years whose hub scores follow one rising capability, 35%
    of the scores unseen, compute known for half of them; the newest is named like an attack."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 3, n))
    ability = t - 1.5 + rng.normal(scale=0.3, size=n)
    scores = expit(ability[:, None] * rng.uniform(0.8, 1.5, 6) + rng.normal(size=6))
    scores[rng.random(scores.shape) < 0.35] = np.nan
    scores[:, 5] = np.where(np.isnan(scores[:, 5]), 0.5, scores[:, 5])  # >= 1 score per model
    frame = pd.DataFrame(scores, columns=[f"epoch_hub:{b}" for b in BENCH])
    frame.insert(0, "model", [f"epoch:m{i}" for i in range(n - 1)] + [EVIL])
    days = (t * 365.25).round().astype(int)
    frame["release_date"] = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, "D")).astype(str)
    frame["flops"] = np.where(np.arange(n) % 2 == 0, 10 ** (22 + t), np.nan)
    return frame


@pytest.fixture(scope="module")
def result() -> dict:
    return json.loads(store.dumps(frontier_report(hub_world(), FCONF, PCONF)))


def test_matrix_factors_curves_and_completion(result: dict) -> None:
    models = hub_world()
    hub = models[[f"epoch_hub:{b}" for b in BENCH]]
    m = result["matrix"]
    assert (m["all_models"], m["all_benchmarks"]) == (40, 6)
    assert m["all_observed"] == pytest.approx(hub.notna().to_numpy().mean())
    assert len(m["mask_rows"]) == m["models"] and {len(r) for r in m["mask_rows"]} == {6}
    assert m["observed"] == pytest.approx(np.mean([c == "1" for r in m["mask_rows"] for c in r]))
    f = result["factors"]
    assert np.shape(f["loadings"]) == np.shape(f["lower"]) == (6, 2) and f["n_boot"] == 4
    assert f["cosine_median"][0] > 0.9  # one capability: a stable first factor
    assert [c["benchmark"] for c in result["curves"]] == ["b0", "b1"]
    assert result["skipped_curves"] == [{"benchmark": "absent", "reason": "not in models.csv"}]
    for c in result["curves"]:
        assert c["n"] == hub[f"epoch_hub:{c['benchmark']}"].notna().sum()
        assert [fc["months"] for fc in c["forecasts"]] == [6.0, 12.0]
        for fc in c["forecasts"]:
            assert 0 <= fc["lower"] <= fc["predicted"] <= fc["upper"] <= 1
        assert c["forecasts"][0]["date"] > c["newest"]
        scored = models[models[f"epoch_hub:{c['benchmark']}"].notna()]
        assert c["compute"]["n"] == scored["flops"].notna().sum()
    rows = result["completion"]["rows"]
    block = models[models["model"].isin(hub_matrix(models).index)]
    newest = set(block["model"].iloc[-3:])  # models are in release order
    assert rows and {r["model"] for r in rows} <= newest
    for r in rows:  # only cells that were missing, inside their interval
        assert np.isnan(models.set_index("model").loc[r["model"], f"epoch_hub:{r['benchmark']}"])
        assert 0 <= r["lower"] <= r["predicted"] <= r["upper"] <= 1


def test_same_inputs_same_artifact(result: dict) -> None:
    again = json.loads(store.dumps(frontier_report(hub_world(), FCONF, PCONF)))
    assert again == result


def test_without_hub_columns_the_section_says_so() -> None:
    models = hub_world().drop(columns=[f"epoch_hub:{b}" for b in BENCH])
    out = frontier_report(models, FCONF, PCONF)
    assert "epoch_hub" in out["skipped"] and section.figure_jobs(out, 30) == []
    text = (
        _environment()
        .get_template("frontier.html")
        .render(frontier=section.context(out), figs={}, pct=90)
    )
    assert "No frontier section in this run" in text


def test_section_renders_figures_and_escapes_names(result: dict) -> None:
    one_curve = result | {"curves": result["curves"][:1]}  # one row of panels is enough here
    figs = {key: job() for key, job in section.figure_jobs(one_curve, 30)}
    assert set(figs) == {
        "frontier_index",
        "frontier_curves",
        "frontier_loadings",
        "frontier_matrix",
    }
    text = (
        _environment()
        .get_template("frontier.html")
        .render(frontier=section.context(result), figs=figs, pct=90)
    )
    assert EVIL not in text and html.escape(EVIL) in text  # the completion table
    assert text.count("data:image/png;base64,") == 4
    assert "40 models" in text and "+6 months" in text
