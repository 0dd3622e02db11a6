"""Instruction-tuned and agent targets: the split by rank (no FLOPs needed) and the basis
fallback for tables that report Winogrande instead of Winograd."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_predict import BENCH, FAST, SETTINGS, world

from obsscale.cli import main
from obsscale.config import OBSSCALING_BENCHMARKS, CapabilityConfig
from obsscale.config.settings import INSTRUCT_BENCHMARKS
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.basis import resolve_basis
from obsscale.model.prediction.backtest import backtest_target
from obsscale.model.prediction.splits import CutoffRank, Split


def _side(res) -> pd.Series:
    return res.predictions.drop_duplicates("model").set_index("model")["split"]


def test_rank_split_tests_the_strongest_tenth() -> None:
    models = world()
    res = backtest_target(models, "target", split=CutoffRank(0.1), settings=SETTINGS, pconf=FAST)
    side = _side(res)
    assert (side == "test").sum() == 8  # int(0.1 * 80), as the reference
    # one latent capability drives every benchmark: the test side is the top of its mean
    strength = models.set_index("model")[BENCH].mean(axis=1)
    top = set(strength.nlargest(8).index)
    assert len(top & set(side[side == "test"].index)) >= 7
    assert (
        strength[side[side == "test"].index].min() > strength[side[side == "train"].index].median()
    )


def test_rank_split_needs_no_flops_and_never_reads_the_target() -> None:
    models = world()
    models["flops"] = np.where(models["target"] > 0.8, np.nan, models["flops"])
    res = backtest_target(models, "target", split=CutoffRank(0.1), settings=SETTINGS, pconf=FAST)
    poisoned = models.assign(target=1 - models["target"])
    again = backtest_target(
        poisoned, "target", split=CutoffRank(0.1), settings=SETTINGS, pconf=FAST
    )
    assert _side(res).sort_index().equals(_side(again).sort_index())
    assert np.isfinite(res.scores["pc"].mse_test)
    # the strongest models without any compute (frontier-like): the split is the same, the
    # baselines score none of them, so they are left out and the factors scored on them all
    top = _side(res)[lambda s: s == "test"].index
    models.loc[models["model"].isin(top), ["flops", "params_b"]] = np.nan
    dark = backtest_target(models, "target", split=CutoffRank(0.1), settings=SETTINGS, pconf=FAST)
    assert set(_side(dark)[lambda s: s == "test"].index) == set(top)
    assert np.isfinite(dark.scores["pc"].mse_test)
    assert dark.scores["pc"].n_test_scored == len(top)
    assert set(dark.scores) == {"pc"}
    assert dark.left_out["log_flops"] == (
        f"none of the {len(top)} test models has known FLOPs: nothing to score it on"
    )


def test_rank_split_refuses_bad_fractions_and_a_missing_basis() -> None:
    models = world()
    with pytest.raises(PredictError, match=r"\(0, 1\)"):
        CutoffRank(1.5).folds(models, 0, BENCH)
    with pytest.raises(PredictError, match="basis"):
        CutoffRank(0.1).folds(models, 0)
    assert isinstance(Split.of("cutoff_top_fraction", 0.2), CutoffRank)


def _instruct_world() -> pd.DataFrame:
    """Base models with the paper's base basis; instruct models (which alone have the target)
    report Winogrande instead of Winograd and no XWinograd, as the paper's instruct table."""
    base = world(n_fam=4)
    out = pd.DataFrame({"model": base["model"], "family": base["family"]})
    for col, src in zip(OBSSCALING_BENCHMARKS, [*BENCH, BENCH[0], BENCH[1]], strict=True):
        out[col] = base[src]
    out["flops"], out["params_b"] = base["flops"], base["params_b"]
    inst = out.copy()
    inst["model"] = inst["model"] + "-chat"
    inst["obsscaling:Winogrande"] = inst["obsscaling:Winograd"]
    inst[["obsscaling:Winograd", "obsscaling:XWinograd"]] = np.nan
    inst["agent"] = base["target"]
    return pd.concat([out, inst], ignore_index=True)


def test_instruct_targets_fall_back_to_the_winogrande_basis() -> None:
    models = _instruct_world()
    chosen = resolve_basis(
        models, "agent", (OBSSCALING_BENCHMARKS, INSTRUCT_BENCHMARKS), (), margin=0.1
    )
    assert chosen.columns == list(INSTRUCT_BENCHMARKS) and "instead of the default" in chosen.note
    res = backtest_target(models, "agent", split=CutoffRank(0.2), pconf=FAST)
    assert res.basis == list(INSTRUCT_BENCHMARKS)
    assert any("factor basis" in n for n in res.notes)


def test_a_chosen_basis_is_never_replaced() -> None:
    models = _instruct_world()
    mine = tuple(b for b in OBSSCALING_BENCHMARKS if "Winograd" not in b)
    res = backtest_target(
        models,
        "agent",
        split=CutoffRank(0.2),
        settings=CapabilityConfig(benchmarks=mine),
        pconf=FAST,
    )
    assert res.basis == list(mine)
    # base-model targets keep the default basis: it is fully observed where the target is
    models["base_target"] = np.where(models["model"].str.endswith("-chat"), np.nan, 0.5)
    kept = resolve_basis(
        models, "base_target", (OBSSCALING_BENCHMARKS, INSTRUCT_BENCHMARKS), (), margin=0.1
    )
    assert kept.columns == list(OBSSCALING_BENCHMARKS) and kept.note is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cutoff-top-fraction", "1.5"], "expected a finite number > 0 and < 1"),
        (["--cutoff-top-fraction", "0.1", "--kfold", "5"], "choose one split"),
    ],
)
def test_cli_rank_split_errors(argv, message, tmp_path, capsys) -> None:
    try:
        code = main(["predict", "--data-dir", str(tmp_path), "--target", "x", *argv])
    except SystemExit as e:  # argparse's own refusal of a value
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
