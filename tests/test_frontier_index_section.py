"""The capability index in the report's frontier section: ``frontier.json``'s ``index`` entry
(points, frontier line, forecasts, benchmark difficulties) on generated hub data, its figure
with hover names, its table, and the place for further frontier tables, all escaped."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from obsscale.data import store
from obsscale.model.index.section import index_section
from obsscale.report import frontier as section
from obsscale.report.html import _environment

EVIL = "<script>alert(1)</script>"


def hub_world(n: int = 60, p: int = 10, seed: int = 0) -> pd.DataFrame:
    """Models released over four years whose C rises with the date, scores from known
    difficulties, 30% of them unseen; the newest model is named like an attack."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 4, n))
    C = t - 2 + rng.normal(0, 0.3, n)
    D = np.r_[0.0, rng.normal(0, 1.5, p - 1)]
    Y = expit(rng.uniform(0.6, 1.6, p) * (C[:, None] - D)) + rng.normal(0, 0.02, (n, p))
    Y = np.clip(Y, 0, 1)
    Y[rng.random((n, p)) < 0.3] = np.nan
    thin = np.isnan(Y).sum(axis=1) > p - 4  # every model keeps 4 scores (the fit's block)
    Y[thin, :4] = expit(C[thin, None] - D[:4])
    names = ["GPQA Diamond", *[f"b{j}" for j in range(1, p)]]  # the default anchor first
    frame = pd.DataFrame(Y, columns=[f"epoch_hub:{b}" for b in names])
    frame.insert(0, "model", [f"epoch:m{i}" for i in range(n - 1)] + [EVIL])
    days = (t * 365.25).round().astype(int)
    frame["release_date"] = (pd.Timestamp("2022-01-01") + pd.to_timedelta(days, "D")).astype(str)
    return frame


@pytest.fixture(scope="module")
def idx() -> dict:
    return json.loads(store.dumps(index_section(hub_world(), 0.9, (6.0, 12.0))))


def test_points_frontier_and_trend(idx: dict) -> None:
    pts = pd.DataFrame(idx["points"])
    assert len(pts) == 60 and list(pts["t"]) == sorted(pts["t"])
    assert (pts["lower"] < pts["capability"]).all() and (pts["capability"] < pts["upper"]).all()
    best = pts.loc[pts["frontier"], "capability"].to_numpy()
    assert len(best) >= 4 and (np.diff(best) > 0).all()  # each frontier model beats the last
    assert not (pts["capability"] > pts["capability"].cummax().shift(fill_value=-np.inf))[
        ~pts["frontier"]
    ].any()
    trend = idx["trend"]
    assert trend["per_year"] == pytest.approx(1.0, abs=0.5)  # C rises one logit a year
    newest = pts["t"].max()
    assert [f["months"] for f in trend["forecasts"]] == [6.0, 12.0]
    for f in trend["forecasts"]:
        assert f["years"] == pytest.approx(newest + f["months"] / 12)
        assert f["lower"] < f["capability"] < f["upper"]
    assert trend["years"][-1] == pytest.approx(newest + 1)  # drawn to the last horizon
    (anchor,) = [b for b in idx["benchmarks"] if b["anchor"]]
    assert anchor["column"] == idx["anchor"] and anchor["difficulty"] == pytest.approx(0)
    assert "Laplace" in idx["method"] and "stitching" in idx["method"]


def test_same_inputs_same_entry(idx: dict) -> None:
    assert json.loads(store.dumps(index_section(hub_world(), 0.9, (6.0, 12.0)))) == idx


def test_too_little_hub_data_is_said() -> None:
    out = index_section(hub_world().iloc[:3], 0.9, (6.0,))
    assert out["error"].startswith("capability index not fitted")


def render(frontier: dict, tables=()) -> str:
    figs = {k: job() for k, job in section.figure_jobs(frontier, 30) if k == "frontier_index"}
    return (
        _environment()
        .get_template("frontier.html")
        .render(frontier=section.context(frontier, tables), figs=figs, pct=90)
    )


def test_figure_table_and_extra_tables_render_escaped(idx: dict) -> None:
    frontier = {
        "source": "generated hub",
        "interval": 0.9,
        "matrix": {
            "all_models": 60,
            "all_benchmarks": 10,
            "all_observed": 0.7,
            "models": 60,
            "benchmarks": 10,
            "observed": 0.7,
            "mask_rows": [],
        },
        "factors": {"error": "not drawn here"},
        "curves": [],
        "skipped_curves": [],
        "completion": {"rows": [], "reason": "not drawn here"},
        "index": idx,
    }
    extra = section.FrontierTable(
        "Completion accuracy by method",
        f"caption {EVIL}",
        pd.DataFrame({"method": [EVIL, "rank-1 PCA"], "MedAE": [4.61, 5.2], "ok": [True, False]}),
    )
    text = render(frontier, [extra])
    assert EVIL not in text and html.escape(EVIL) in text
    hover = text.split("Capability index: hover a point")[1].split("</svg>")[0]
    assert hover.count("<title>") == 60 and f"<title>{html.escape(EVIL)}</title>" in hover
    assert "Laplace" in text and "benchmark-stitching" in text and "(anchor)" in text
    assert text.count("<h3>Completion accuracy by method</h3>") == 1
    assert '<td class="n">4.61</td>' in text and "<td>yes</td>" in text
    assert f"rises {idx['trend']['per_year']:.2g} per year" in text  # the rate is stated
