"""Matrix completion (issue 22 item 4): the biased logit ALS, the chooser and its intervals,
``obsscale complete`` on a hand-written mixed-unit file, and ``forecast --complete``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from test_predict import BENCH, world

from obsscale.cli import main
from obsscale.exceptions import CapabilityDataError
from obsscale.model.completion.als import LogitALS
from obsscale.model.completion.choose import MatrixCompleter, cell_folds
from obsscale.model.completion.complete import complete
from obsscale.model.completion.completers import default_candidates
from obsscale.model.completion.scales import Scale, detect_scales
from obsscale.model.completion.wide import read_wide

MIXED = """model,MMLU (%),GSM8K,Arena Elo,HumanEval (%)
alpha,45.3,0.312,1010,20.1
beta,60.2,0.551,1150,
gamma,70.8,,1230,48.9
delta,,0.802,1300,60.2
eps,81.5,0.874,,71.0
zeta,52.0,0.420,1080,30.5
eta,66.1,0.634,1190,41.2
theta,75.3,0.781,1265,
iota,58.8,,1120,35.6
kappa,84.0,0.905,1340,78.3
"""


def low_rank(n: int = 80, p: int = 16, rank: int = 2, seed: int = 0) -> np.ndarray:
    """Fractions from a biased rank-``rank`` logit model plus a little noise."""
    rng = np.random.default_rng(seed)
    z = (
        rng.normal(0, 1, (n, 1))
        + rng.normal(0, 0.7, (1, p))
        + rng.normal(0, 0.8, (n, rank)) @ rng.normal(0, 0.8, (rank, p))
    )
    return np.asarray(expit(z + rng.normal(0, 0.05, (n, p))))


def hidden(shape: tuple[int, int], share: float, seed: int) -> np.ndarray:
    mask = np.random.default_rng(seed).random(shape) < share
    mask[:, 0] = False  # every model keeps a score
    return mask


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    path.write_text(MIXED)
    return path


# ------------------------------------------------------------------------------ the ALS


def test_als_recovers_a_low_rank_logit_matrix() -> None:
    full = low_rank()
    hide = hidden(full.shape, 0.3, seed=1)
    als = LogitALS(rank=2, ridge=0.3, random_state=0).fit(np.where(hide, np.nan, full))
    err = np.abs(als.predict()[hide] - full[hide])
    col_mean = np.nanmean(np.where(hide, np.nan, full), axis=0)
    baseline = np.abs(np.broadcast_to(col_mean, full.shape)[hide] - full[hide])
    assert np.median(err) < 0.03
    assert np.median(err) < 0.25 * np.median(baseline)
    assert als.benchmark_factors_.shape == (16, 2) and als.model_factors_.shape == (80, 2)
    assert als.benchmark_bias_.shape == (16,) and als.model_bias_.shape == (80,)


def test_als_is_deterministic_for_a_seed_and_depends_on_it_only_through_the_start() -> None:
    X = np.where(hidden((40, 10), 0.3, 2), np.nan, low_rank(40, 10))
    a = LogitALS(rank=2, random_state=3).fit(X).predict()
    b = LogitALS(rank=2, random_state=3).fit(X).predict()
    c = LogitALS(rank=2, random_state=4).fit(X).predict()
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a, c, atol=0.02)  # another start, (nearly) the same optimum


def test_als_fold_in_predicts_a_new_model_from_its_scores() -> None:
    full = low_rank(81)
    als = LogitALS(rank=2, ridge=0.3).fit(full[:80])
    new = full[80:].copy()
    new[0, 8:] = np.nan
    pred = als.fold_in(new)[0, 8:]
    assert np.median(np.abs(pred - full[80, 8:])) < 0.08


def test_als_refuses_scores_outside_fractions() -> None:
    with pytest.raises(CapabilityDataError, match=r"fractions in \[0, 1\]"):
        LogitALS().fit(np.array([[0.2, 45.0], [0.3, 50.0]]))


# --------------------------------------------------------------------------- the chooser


def test_cell_folds_split_each_model_and_never_hide_a_single_score() -> None:
    observed = np.ones((5, 7), dtype=bool)
    observed[4, 1:] = False  # one score only
    folds = cell_folds(observed, 3, np.random.default_rng(0))
    assert (folds[4] == -1).all()
    for row in folds[:4]:
        assert sorted(np.bincount(row, minlength=3)) == [2, 2, 3]


def test_chooser_intervals_cover_hidden_cells_at_about_their_level() -> None:
    full = low_rank(120, 14, seed=5)
    hide = hidden(full.shape, 0.25, seed=6)
    some = {k: v for k, v in default_candidates().items() if k in ("pca1", "als2_ridge1", "index")}
    mc = MatrixCompleter(candidates=some, random_state=0).fit(np.where(hide, np.nan, full))
    lo, hi = mc.intervals()
    cover = np.mean((lo[hide] <= full[hide]) & (full[hide] <= hi[hide]))
    assert 0.8 <= cover <= 0.98
    assert set(mc.scores_["family"]) == {"pca1", "als", "index", "blend"}
    assert mc.chosen_ in set(mc.scores_["method"])


def test_complete_is_deterministic_for_a_seed() -> None:
    X = pd.DataFrame(np.where(hidden((50, 8), 0.3, 7), np.nan, low_rank(50, 8)))
    a, b = complete(X, random_state=1), complete(X, random_state=1)
    pd.testing.assert_frame_equal(a.values, b.values)
    pd.testing.assert_frame_equal(a.lower, b.lower)
    assert a.method == b.method


# ---------------------------------------------------------------------------- the scales


def test_mixed_units_are_detected(mixed: Path) -> None:
    scales = read_wide(mixed).scales()
    assert {c: s.unit for c, s in scales.items()} == {
        "MMLU (%)": "percent",
        "GSM8K": "fraction",
        "Arena Elo": "elo",
        "HumanEval (%)": "percent",
    }
    elo = scales["Arena Elo"]
    assert elo.center == 1190.0
    np.testing.assert_allclose(
        elo.from_fraction(elo.to_fraction(np.array([900.0, 1700.0]))), [900, 1700]
    )


def test_a_fraction_column_written_like_the_percent_ones_is_ambiguous() -> None:
    cols = {
        "pct": (np.array([45.3, 70.1]), ["45.3", "70.1"]),
        "x": (np.array([0.3, 0.8]), ["0.3", "0.8"]),
    }
    with pytest.raises(CapabilityDataError, match=r"column 'x': values 0.3 to 0.8 could be"):
        detect_scales(cols)
    assert detect_scales(cols, {"x": "percent"})["x"].unit == "percent"
    alone = {"x": cols["x"]}
    assert detect_scales(alone)["x"].unit == "fraction"  # no percent column: fractions


@pytest.mark.parametrize(
    ("values", "shown"), [([120.0, 480.0], "120 to 480"), ([-1.0, 50.0], "-1 to 50")]
)
def test_out_of_range_columns_are_refused_naming_the_range(values: list[float], shown: str) -> None:
    cols = {"odd": (np.array(values), [str(v) for v in values])}
    with pytest.raises(CapabilityDataError, match=rf"column 'odd': values {shown} fit no scale"):
        detect_scales(cols)


def test_a_declared_scale_is_checked_against_the_values() -> None:
    cols = {"m": (np.array([20.0, 60.0]), ["20", "60"])}
    with pytest.raises(CapabilityDataError, match=r"declared fraction but values 20 to 60"):
        detect_scales(cols, {"m": "fraction"})


# ------------------------------------------------------------------------------ the CLI


def test_complete_writes_the_input_shape_and_keeps_observed_cells(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, cells = tmp_path / "filled.csv", tmp_path / "cells.csv"
    rc, stdout, _ = run(capsys, "complete", str(mixed), "--out", str(out), "--cells", str(cells))
    assert rc == 0 and "6 of 40 cells predicted" in stdout and "beta" in stdout
    src = [line.split(",") for line in MIXED.splitlines()]
    got = [line.split(",") for line in out.read_text().splitlines()]
    assert len(got) == len(src) and got[0] == src[0]
    for a, b in zip(src[1:], got[1:], strict=True):
        assert [x for x in a if x] == [
            y for x, y in zip(b, a, strict=True) if y
        ]  # observed as written
        assert all(y for y in b)  # and every cell filled
    again = read_wide(out)  # round trip: same scales, nothing missing
    assert {c: s.unit for c, s in again.scales().items()} == {
        c: s.unit for c, s in read_wide(mixed).scales().items()
    }
    assert again.values.notna().all().all()
    table = pd.read_csv(cells)
    assert list(table.columns) == ["model", "benchmark", "value", "lower", "upper", "observed"]
    pred = table[~table["observed"]]
    assert len(pred) == 6 and (pred["lower"] <= pred["value"]).all()
    assert (pred["value"] <= pred["upper"]).all()


def test_complete_json_has_every_cell(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "filled.json"
    assert run(capsys, "complete", str(mixed), "--out", str(out))[0] == 0
    doc = json.loads(out.read_text())
    assert len(doc["cells"]) == 40 and doc["scales"]["GSM8K"] == "fraction"
    assert sum(not c["observed"] for c in doc["cells"]) == 6


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t + "beta,1,0.5,1000,2\n",
            "line 12: model 'beta' appears twice (first at line 3)",
        ),
        (
            lambda t: t.replace("0.420", "n/a?"),
            "line 7 (model 'zeta'), column 'GSM8K': 'n/a?' is not a number",
        ),
        (
            lambda t: t.replace("MMLU (%),GSM8K", "MMLU (%),MMLU (%)"),
            "column 'MMLU (%)' appears twice",
        ),
    ],
)
def test_bad_files_are_refused_in_one_line(
    mixed: Path, tmp_path: Path, capsys: pytest.CaptureFixture, edit: object, message: str
) -> None:
    mixed.write_text(edit(MIXED))  # type: ignore[operator]
    out = tmp_path / "o.csv"
    rc, _, err = run(capsys, "complete", str(mixed), "--out", str(out))
    assert rc == 1 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_an_empty_column_and_an_ambiguous_one_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "m.csv"
    rows = MIXED.splitlines()
    path.write_text("\n".join([rows[0] + ",Empty"] + [r + "," for r in rows[1:]]) + "\n")
    rc, _, err = run(capsys, "complete", str(path))
    assert rc == 1 and "column 'Empty' has no scores" in err
    path.write_text(
        "\n".join([rows[0] + ",Hard"] + [r + f",0.{i % 9 + 1}" for i, r in enumerate(rows[1:])])
        + "\n"
    )
    rc, _, err = run(capsys, "complete", str(path))
    assert rc == 1 and "column 'Hard': values 0.1 to 0.9 could be fractions or percent" in err
    rc, stdout, _ = run(capsys, "complete", str(path), "--scale", "Hard=percent")
    assert rc == 0 and "Hard" in stdout


def test_forecast_complete_writes_csv_or_json_by_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    scores = [f"s:{b}" for b in BENCH]
    models = world().rename(columns={"target": "s:target", **dict(zip(BENCH, scores, strict=True))})
    models.loc[models.index[::3], "s:target"] = np.nan
    table = tmp_path / "data" / "processed" / "models.csv"
    table.parent.mkdir(parents=True)
    models.assign(is_base=True, tokens_t=np.nan).to_csv(table, index=False)
    common = [
        "--data-dir",
        str(tmp_path / "data"),
        "--reference-family",
        "F0",
        "--benchmarks",
        *scores,
    ]
    for ext in ("csv", "json"):
        out = tmp_path / f"filled.{ext}"
        rc, stdout, _ = run(
            capsys, "forecast", "--complete", "--target", "s:target", *common, "--out", str(out)
        )
        assert rc == 0 and "s:target" in stdout and "predicted" in stdout
        if ext == "csv":
            filled = pd.read_csv(out)
            assert filled[["s:target", *scores]].notna().all().all()
            assert len(filled) == len(models)
        else:
            assert len(json.loads(out.read_text())["cells"]) == len(models) * (len(scores) + 1)


def test_scale_maps_round_trip() -> None:
    for s in (Scale("fraction", 3), Scale("percent", 1), Scale("elo", 0, 1200.0)):
        v = {"fraction": [0.2, 0.9], "percent": [20.0, 90.0], "elo": [800.0, 1900.0]}[s.unit]
        np.testing.assert_allclose(s.from_fraction(s.to_fraction(np.array(v))), v)


def test_protocol_scores_every_method_on_the_same_folds() -> None:
    from obsscale.model.completion.protocol import METHODS, accuracy_table, completion_protocol

    full = pd.DataFrame(np.where(hidden((36, 7), 0.2, 9), np.nan, low_rank(36, 7, seed=9)))
    result = completion_protocol(full, seeds=1)
    table = accuracy_table(result)
    assert list(table["method"]) == list(METHODS)
    assert len(result["folds"]) == 3 * len(METHODS)
    assert (table["MedAE (points)"] > 0).all() and table["90% coverage"].between(0, 1).all()
