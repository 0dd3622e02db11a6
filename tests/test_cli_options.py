"""The CLI reads its settings' options from the schema (issue 20, item 4): types, ranges,
defaults and help come from the declarations, values given are checked as settings are, and
the data folder can be named before or after the subcommand (issue 24)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from obsscale.cli import main
from obsscale.cli.options import _shown, config_from_args, overrides
from obsscale.cli.parser import build_parser
from obsscale.config import DATA_DIR_ENV, CapabilityConfig, Config, PredictConfig
from obsscale.config.schema import schema


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _setting_actions():
    classes = {c.__name__: c for c in (Config, CapabilityConfig, PredictConfig)}
    for name, p in _subparsers(build_parser()).items():
        for action in p._actions:
            if action.dest.startswith("setting:"):
                cls_name, field = action.dest.removeprefix("setting:").split(".")
                yield name, action, schema(classes[cls_name])[field]


# options whose meaning differs from the setting's (inverted switch, environment default)
WORDED_HERE = {
    "--all-models",
    "--no-corrections",
    "--benchmarks",
    "--mirror",
    "--data-dir",
    "--trust-edited",
}


def test_every_setting_option_shows_the_declared_help_and_default() -> None:
    seen = 0
    for command, action, info in _setting_actions():
        flag = action.option_strings[-1]
        if flag in WORDED_HERE:
            assert "default " in (action.help or ""), (command, flag)
            continue
        assert action.help is not None and action.help.startswith(info.spec.help), (command, flag)
        shown = "no" if info.hint is bool else _shown(info.default)
        assert f"default {shown}" in action.help, (command, flag)
        seen += 1
    assert seen > 20


def test_options_given_become_settings_and_the_rest_keep_the_configured_value() -> None:
    args = build_parser().parse_args(
        ["predict", "--target", "x", "--bootstrap", "50", "--method", "paper", "--standardize"]
    )
    assert overrides(args, PredictConfig) == {"n_bootstrap": 50, "method": "paper"}
    assert overrides(args, CapabilityConfig) == {"standardize": True}
    args = build_parser().parse_args(["fit", "--all-models", "--benchmarks", "a:b", "c:d"])
    assert overrides(args, CapabilityConfig) == {"base_only": False, "benchmarks": ("a:b", "c:d")}
    for argv in (["predict", "--target", "x"], ["bench", "--only", "accuracy"]):
        args = build_parser().parse_args([*argv, "--flat-side", "paper"])
        assert overrides(args, PredictConfig) == {"flat_side": "paper"}
        assert config_from_args(args).predict.flat_side == "paper"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bootstrap", "0"], "argument --bootstrap: '0': expected a whole number >= 1"),
        (["--components", "2.5"], "'2.5': expected a whole number >= 1 and <= 100"),
        (["--kfold", "1"], "'1': expected a whole number >= 2"),
        (["--cutoff-flops", "nan"], "'nan': expected a finite number > 0"),
        (["--chance", "1"], "'1': expected a finite number >= 0 and < 1"),
        (["--reference-family", ""], "'': expected a non-empty string"),
        (["--method", "papr"], "invalid choice: 'papr'"),
        (["--flat-side", "factors"], "invalid choice: 'factors'"),
    ],
)
def test_bad_values_are_usage_errors_naming_option_and_range(
    argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["predict", "--target", "x", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_data_dir_before_or_after_the_subcommand_or_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./obsscale.toml
    parse = build_parser().parse_args
    before = config_from_args(parse(["--data-dir", "x", "harmonize"]))
    after = config_from_args(parse(["harmonize", "--data-dir", "x"]))
    assert before.data_dir == after.data_dir == Path("x")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert config_from_args(parse(["harmonize"])).data_dir == tmp_path / "env"
    assert config_from_args(parse(["harmonize", "--data-dir", "y"])).data_dir == Path("y")
    monkeypatch.delenv(DATA_DIR_ENV)
    assert config_from_args(parse(["harmonize"])).data_dir == Path("data")


def test_no_data_folder_says_how_to_point_at_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)  # outside the repository: no data/
    assert main(["predict", "--target", "x"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "data") in err
    assert "--data-dir DIR" in err and f"${DATA_DIR_ENV}=DIR" in err


def test_predict_defaults_to_the_configured_chance_of_its_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24: one source of per-target defaults (GPQA: 4 choices, chance 0.25)."""
    import obsscale.pipeline

    seen = []

    def fake(cfg, request):
        seen.append(request.chance)
        raise KeyboardInterrupt

    monkeypatch.setattr(obsscale.pipeline, "run_predict", fake)
    (tmp_path / "processed").mkdir()
    (tmp_path / "processed" / "models.csv").write_text("model\n")
    data = ["--data-dir", str(tmp_path)]
    for extra in ([], ["--chance", "0.1"]):
        main(["predict", *data, "--target", "openllm_v2:GPQA", *extra])
    main(["predict", *data, "--target", "someone:else"])
    assert seen == [0.25, 0.1, 0.0]


def test_only_obsscale_warnings_reach_the_user(capsys: pytest.CaptureFixture) -> None:
    """Issue 24: no pandas PerformanceWarning or other library noise on stderr."""
    from obsscale.cli import _one_line_warning
    from obsscale.exceptions import ExtrapolationWarning

    _one_line_warning("fragmented frame", RuntimeWarning)
    _one_line_warning("2 decades past", ExtrapolationWarning)
    assert capsys.readouterr().err == "obsscale: ExtrapolationWarning: 2 decades past\n"


def test_fit_tables_print_counts_as_integers_and_booleans_as_yes_no() -> None:
    """Issue 24: fit's printed tables as people read them."""
    import pandas as pd

    from obsscale.model.capabilities.fit import _for_display

    frame = pd.DataFrame(
        {"n": [3.0, 2.0], "slope": [0.31234, float("nan")], "significant": [True, False]},
        index=["A", "B"],
    )
    shown = _for_display(frame)
    assert shown.loc["A"].tolist() == ["3", "0.312", "yes"]
    assert shown.loc["B"].tolist() == ["2", "-", "no"]
