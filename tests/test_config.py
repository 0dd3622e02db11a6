"""One settings schema (issue 20, item 4): every setting declared once (type, range, default,
help) and checked the same way when built from Python, TOML, a run's record or the CLI; every
problem of a file reported at once, naming file, section, key and what was expected."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import pytest

from obsscale.cli import main
from obsscale.config import (
    AuditConfig,
    CapabilityConfig,
    Config,
    ForecastConfig,
    FrontierConfig,
    NetworkConfig,
    PredictConfig,
    ReportConfig,
    ReportTarget,
    build_settings,
    default_target,
    load_config_file,
)
from obsscale.config.schema import check, defaults, schema
from obsscale.exceptions import ConfigError, DeprecatedSettingWarning, ObsscaleError

SECTIONS = (
    NetworkConfig,
    AuditConfig,
    CapabilityConfig,
    PredictConfig,
    ForecastConfig,
    FrontierConfig,
    ReportTarget,
    ReportConfig,
)

BAD = [
    ("report = 5\n", r"report must be a table \(\[report\] with keys\), got 5"),
    ("[report]\ntargets = [5]\n", r"\[\[report.targets\]\] entry 1 must be a table"),
    ("[report]\ntargets = 5\n", r"\[report\] targets must be a list of tables, got 5"),
    ("[[report.targets]]\nchance = 0.2\n", r"entry 1 column is missing: expected a non-empty"),
    (
        "[predict]\nn_bootstrap = -5\n",
        r"\[predict\] n_bootstrap = -5: expected a whole number >= 1",
    ),
    ("[capabilities]\nn_components = 0\n", r"\[capabilities\] n_components = 0: expected"),
    ("[predict]\ninterval = 5.0\n", r"\[predict\] interval = 5.0: expected a finite number > 0"),
    ("[network]\ntimeout = -1\n", r"\[network\] timeout = -1: expected a finite number > 0"),
    ("[network]\ndeadline = inf\n", r"\[network\] deadline = inf: expected a finite number"),
    ('[predict]\nform = "cubic"\n', r"form = 'cubic': expected one of 'sigmoid', 'parametric'"),
    ("[predict]\ncutoff_flops = nan\n", r"cutoff_flops = nan: expected"),
    ("[predict]\nn_starts = 2.0\n", r"n_starts = 2.0: expected a whole number"),
    ("[predict]\nridges = [-1.0]\n", r"ridges = \[-1.0\]: expected a list of finite numbers >= 0"),
    ("[capabilities]\nbenchmarks = [1, 2]\n", r"benchmarks = \[1, 2\]: expected a list of strings"),
    ("[capabilities]\nclip = [0]\n", r"clip = \[0\]: expected a list of 2 finite numbers"),
    ('[capabilities]\nreference_family = ""\n', r"reference_family = '': expected a non-empty"),
    ("[audit]\nscore_pairs = [[1, 2]]\n", r"expected a list of lists of 2 strings"),
    ("[[report.targets]]\ncolumn = 'a:b'\nchance = 1.5\n", r"entry 1 chance = 1.5: expected"),
    ("[report]\ndpi = 0\n", r"\[report\] dpi = 0: expected"),
    ("[network]\nretries = true\n", r"retries = True: expected a whole number"),
    ("[network]\nretry = 3\n", r"\[network\] unknown key 'retry' \(known: timeout, retries"),
    ("[predict\n", r"cannot read config"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_config_is_refused_with_file_section_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config_file(path, Config())
    assert str(info.value).startswith(f"{path}: ")


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[predict]\nn_bootstrap = -5\ninterval = 5.0\n[network]\ntimeout = -1\n"
        "[[report.targets]]\ncolumn = 'a:b'\nchance = 2.0\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config_file(path, Config())
    lines = str(info.value).splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{path}: ") for line in lines)
    for bad in ("n_bootstrap = -5", "interval = 5.0", "timeout = -1", "chance = 2.0"):
        assert sum(bad in line for line in lines) == 1


def test_a_good_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[predict]\nmethod = "paper"\nridges = [0, 1]\n[capabilities]\nclip = [0, 1]\n'
        "[[report.targets]]\ncolumn = 'a:b'\nchance = 0.25\ncutoff_flops = 1e23\n"
    )
    cfg = load_config_file(path, Config())
    assert cfg.predict == replace(PredictConfig(), method="paper", ridges=(0.0, 1.0))
    assert cfg.capabilities == CapabilityConfig()
    assert cfg.report.targets == (ReportTarget("a:b", 0.25, 1e23),)
    assert type(cfg.predict.ridges[1]) is float  # TOML's 1 is a float setting's 1.0
    hash(cfg.predict)  # a frozen value: lists became tuples


@pytest.mark.parametrize("text", ["report = 5\n", "[report]\ntargets = [5]\n"])
def test_cli_prints_one_line_per_problem_and_exit_1(
    tmp_path: Path, text: str, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    rc = main(
        ["report", "--data-dir", str(tmp_path), "--config", str(path), "--out", str(tmp_path)]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert err.startswith(f"obsscale report: error: {path}: ")
    assert "Traceback" not in err
    assert not (tmp_path / "index.html").exists()


PYTHON_BAD: list[tuple[type, dict[str, Any], str]] = [
    (PredictConfig, {"method": "papr"}, r"method = 'papr': expected one of 'obsscale', 'paper'"),
    (PredictConfig, {"method": "Paper"}, r"method = 'Paper': expected one of"),
    (PredictConfig, {"scale": "pct"}, r"scale = 'pct': expected one of 'auto', 'fraction'"),
    (PredictConfig, {"n_starts": 2.0}, r"n_starts = 2.0: expected a whole number >= 0"),
    (PredictConfig, {"n_bootstrap": True}, r"n_bootstrap = True: expected a whole number"),
    (PredictConfig, {"interval": "0.9"}, r"interval = '0.9': expected a finite number > 0 and < 1"),
    (PredictConfig, {"interval": math.nan}, r"interval = nan: expected a finite number"),
    (PredictConfig, {"inner_quantiles": (0.5, 1.0)}, r"inner_quantiles = \(0.5, 1.0\)"),
    (PredictConfig, {"ridges": ()}, r"ridges = \(\): expected .* \(at least 1\)"),
    (CapabilityConfig, {"standardize": 1}, r"standardize = 1: expected true or false"),
    (CapabilityConfig, {"benchmarks": "obsscaling:MMLU"}, r"expected a list of strings"),
    (
        CapabilityConfig,
        {"clip": (0.0, 1.0, 2.0)},
        r"clip = \(0.0, 1.0, 2.0\): expected a list of 2",
    ),
    (NetworkConfig, {"timeout": math.inf}, r"timeout = inf: expected a finite number > 0"),
    (FrontierConfig, {"rank": 0}, r"rank = 0: expected a whole number >= 1 and <= 10"),
    (ForecastConfig, {"grid_flops": (1e23, -1.0)}, r"grid_flops = .*: expected a list of"),
    (ReportTarget, {"column": "a:b", "chance": 1.0}, r"chance = 1.0: expected .* < 1"),
    (ReportConfig, {"targets": ("a:b",)}, r"targets = \('a:b',\): expected a list of Report"),
    (Config, {"network": {"timeout": 3}}, r"network = \{'timeout': 3\}: expected a NetworkConfig"),
    (Config, {"mirror": 5}, r"mirror = 5: expected a string \(or none\)"),
]


@pytest.mark.parametrize(("cls", "kwargs", "message"), PYTHON_BAD)
def test_bad_values_built_in_python_name_the_field_and_the_allowed_values(
    cls: type, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{cls.__name__}: .*{message}") as info:
        cls(**kwargs)
    assert isinstance(info.value, ObsscaleError) and isinstance(info.value, ValueError)


def test_replace_checks_like_the_constructor_and_reports_every_field() -> None:
    with pytest.raises(ConfigError) as info:
        replace(PredictConfig(), method="papr", kfold=1, loss="l1")
    text = str(info.value)
    assert "method = 'papr'" in text and "kfold = 1" in text and "loss = 'l1'" in text


def test_settings_are_frozen_values_whatever_they_were_built_from() -> None:
    p = PredictConfig(ridges=[0, 1], huber_delta=1)  # a list and an int from a caller
    assert p.ridges == (0.0, 1.0) and type(p.huber_delta) is float
    assert hash(p) == hash(PredictConfig(ridges=(0.0, 1.0), huber_delta=1.0))
    assert Config(data_dir="d").data_dir == Path("d")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [PredictConfig, CapabilityConfig, AuditConfig, FrontierConfig])
def test_a_record_round_trips_through_json(cls: type) -> None:
    obj = cls()
    record = json.loads(json.dumps(asdict(obj)))  # lists, also nested (basis_fallbacks)
    assert build_settings(cls, record, "run.json") == obj


def test_a_record_with_an_unknown_key_is_refused_with_its_place() -> None:
    with pytest.raises(ConfigError, match=r"^run.json \[predict\]: unknown key 'methd'"):
        build_settings(PredictConfig, {"methd": "paper"}, "run.json [predict]")


@pytest.mark.parametrize("cls", SECTIONS)
def test_every_setting_declares_its_help_and_numbers_their_range(cls: type) -> None:
    for name, info in schema(cls).items():
        assert info.spec.help, f"{cls.__name__}.{name} has no help text"
        if info.hint in (int, float):
            assert info.spec.bounds.given(), f"{cls.__name__}.{name} has no declared range"
    assert set(schema(cls)) == {f.name for f in fields(cls)}


@pytest.mark.parametrize("cls", [*SECTIONS, Config])
def test_defaults_satisfy_their_own_schema(cls: type) -> None:
    values = defaults(cls) if cls is not ReportTarget else {**defaults(cls), "column": "a:b"}
    clean, problems = check(cls, values)
    assert problems == [] and clean == values
    for t in ReportConfig().targets:
        assert check(ReportTarget, asdict(t)) == (asdict(t), [])


def test_the_python_api_and_the_cli_default_to_the_configured_chance() -> None:
    """Issue 24: ForecastTarget("openllm_v2:GPQA") used chance 0, the CLI the configured 0.25."""
    from obsscale.model.forecast.forecast import ForecastTarget

    cfg = Config()
    for t in cfg.report.targets:
        assert ForecastTarget(t.column).chance == t.chance == default_target(t.column).chance
    assert ForecastTarget("openllm_v2:GPQA").chance == 0.25
    assert ForecastTarget("openllm_v2:GPQA", 0.0).chance == 0.0  # given: kept
    assert ForecastTarget("someone:else").chance == 0.0


# ---------------------------------------------------------------- renamed settings


def test_the_former_name_of_the_ridge_penalties_is_read_with_a_warning(tmp_path: Path) -> None:
    """``alphas`` became ``ridges`` ("alpha" is an interval's level elsewhere): an old file
    still loads, to the same settings, and says what the key is called now."""
    path = tmp_path / "old.toml"
    path.write_text("[predict]\nalphas = [0, 0.5]\n")
    with pytest.warns(
        DeprecatedSettingWarning, match=r"old.toml \[predict\]: alphas is now called ridges"
    ):
        cfg = load_config_file(path, Config())
    assert cfg.predict == replace(PredictConfig(), ridges=(0.0, 0.5))


def test_a_run_record_with_the_former_name_still_loads() -> None:
    with pytest.warns(DeprecatedSettingWarning, match="run.json: alphas is now called ridges"):
        pconf = build_settings(PredictConfig, {"alphas": [1.0]}, "run.json")
    assert pconf.ridges == (1.0,)


def test_both_names_at_once_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "both.toml"
    path.write_text("[predict]\nalphas = [0]\nridges = [0]\n")
    with pytest.raises(
        ConfigError, match=r"\[predict\] alphas is the former name of ridges: give ridges only"
    ):
        load_config_file(path, Config())
    with pytest.raises(ConfigError, match="give ridges only"):
        build_settings(PredictConfig, {"alphas": [0.0], "ridges": [0.0]}, "run.json")
