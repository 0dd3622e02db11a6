"""Bare benchmark names on the command line (issue 24, part 3): resolved when only one column
of models.csv can be meant (and said so), else refused with the candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsscale.cli.columns import resolve, table_columns
from obsscale.exceptions import ConfigError

COLUMNS = ["obsscaling:MMLU", "openllm_v1:MMLU", "openllm_v2:MMLU-PRO", "openllm_v2:GPQA"]


def test_a_full_column_is_kept_and_a_unique_bare_name_resolved(
    capsys: pytest.CaptureFixture,
) -> None:
    assert resolve("openllm_v1:MMLU", COLUMNS, "--target") == "openllm_v1:MMLU"
    assert capsys.readouterr().err == ""
    assert resolve("mmlu-pro", COLUMNS, "--target") == "openllm_v2:MMLU-PRO"
    assert "'mmlu-pro' read as 'openllm_v2:MMLU-PRO'" in capsys.readouterr().err


def test_an_ambiguous_name_lists_its_candidates_unless_one_is_preferred() -> None:
    with pytest.raises(ConfigError, match=r"'MMLU' is ambiguous: obsscaling:MMLU, openllm_v1:MMLU"):
        resolve("MMLU", COLUMNS, "--target")
    basis, fallback = ["obsscaling:MMLU"], ["obsscaling:MMLU", "openllm_v1:MMLU"]
    assert resolve("MMLU", COLUMNS, "scores", prefer=[basis, fallback]) == "obsscaling:MMLU"
    assert resolve("MMLU", COLUMNS, "scores", prefer=[[], fallback, basis]) == "obsscaling:MMLU"


def test_a_misspelt_name_gets_a_suggestion_and_an_unknown_one_passes_through() -> None:
    with pytest.raises(ConfigError, match=r"did you mean openllm_v2:MMLU-PRO\?"):
        resolve("MMLU-PROO", COLUMNS, "--target")
    assert resolve("downstream:mine", COLUMNS, "--target") == "downstream:mine"


def test_columns_come_from_the_header_of_models_csv(tmp_path: Path) -> None:
    path = tmp_path / "models.csv"
    path.write_text("model,family,flops,obsscaling:MMLU,openllm_v2:GPQA\na,b,1,0.5,0.3\n")
    assert table_columns(path) == ["obsscaling:MMLU", "openllm_v2:GPQA"]


def _plan(**given: object) -> object:
    import argparse

    keys = ("family", "like", "flops", "times", "params_b", "tokens_t", "name")
    return argparse.Namespace(**{k: given.get(k) for k in keys})


def test_times_is_n_times_the_family_largest_flops() -> None:
    """Issue 24: `forecast --times 10` next to --flops (no FLOPs looked up by hand)."""
    import pandas as pd

    from obsscale.cli.scenarios import largest_flops, planned_scenario
    from obsscale.exceptions import PredictError

    models = pd.DataFrame(
        {"family": ["A", "A", "B"], "flops": [1e22, 3e22, float("nan")]}, index=[0, 1, 2]
    )
    largest = largest_flops(models)
    plan = planned_scenario(_plan(family="A", times=10.0), largest)
    assert plan is not None and plan.flops == pytest.approx(3e23) and plan.family == "A"
    assert plan.name == "A x10 at 3e+23 FLOPs"
    with pytest.raises(PredictError, match="no model of known FLOPs"):
        planned_scenario(_plan(family="B", times=3.0), largest)
    with pytest.raises(PredictError, match="one of --flops, --times"):
        planned_scenario(_plan(family="A", times=3.0, flops=1e23), largest)
    with pytest.raises(PredictError, match="--times N needs --family"):
        planned_scenario(_plan(times=3.0), largest)
