"""Issue 13, item 6: every config error names file, section, key and what was expected; the
whole file is checked up front against the ranges declared once in ``config.constraints``."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from obsscale.cli import main
from obsscale.config import Config, load_config_file
from obsscale.config.constraints import CONSTRAINTS
from obsscale.exceptions import ConfigError

BAD = [
    ("report = 5\n", r"report must be a table \(\[report\] with keys\), got 5"),
    ("[report]\ntargets = [5]\n", r"\[\[report.targets\]\] entry 1 must be a table"),
    ("[report]\ntargets = 5\n", r"\[report\] targets must be a list of tables, got 5"),
    ("[[report.targets]]\nchance = 0.2\n", r"entry 1: column must be a score column name"),
    (
        "[predict]\nn_bootstrap = -5\n",
        r"\[predict\] n_bootstrap = -5: expected a finite number >= 1 ",
    ),
    ("[capabilities]\nn_components = 0\n", r"\[capabilities\] n_components = 0: expected"),
    ("[predict]\ninterval = 5.0\n", r"\[predict\] interval = 5.0: expected a finite number > 0"),
    ("[network]\ntimeout = -1\n", r"\[network\] timeout = -1: expected a finite number > 0"),
    ("[network]\ndeadline = inf\n", r"\[network\] deadline = inf: expected a finite number"),
    ('[predict]\nform = "cubic"\n', r"form = 'cubic': expected one of 'sigmoid', 'parametric'"),
    ("[predict]\ncutoff_flops = nan\n", r"cutoff_flops = nan: expected"),
    ("[capabilities]\nbenchmarks = [1, 2]\n", r"benchmarks = \[1, 2\]: expected a list of strings"),
    ("[capabilities]\nclip = [0]\n", r"clip = \[0\]: expected a list of 2 numbers"),
    ('[capabilities]\nreference_family = ""\n', r"reference_family = '': expected a non-empty"),
    ("[audit]\nscore_pairs = [[1, 2]]\n", r"expected a list of \[name, name\] pairs"),
    ("[[report.targets]]\ncolumn = 'a:b'\nchance = 1.5\n", r"entry 1 chance = 1.5: expected"),
    ("[report]\ndpi = 0\n", r"\[report\] dpi = 0: expected"),
    ("[network]\nretries = true\n", r"retries = True: expected a whole number"),
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
    path.write_text("[predict]\nn_bootstrap = -5\ninterval = 5.0\n[network]\ntimeout = -1\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(path, Config())
    text = str(info.value)
    assert "n_bootstrap = -5" in text and "interval = 5.0" in text and "timeout = -1" in text


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


def test_every_number_and_choice_setting_declares_its_range() -> None:
    for cls, table in CONSTRAINTS.items():
        default = cls(column="x") if "column" in {f.name for f in fields(cls)} else cls()
        for f in fields(cls):
            value = getattr(default, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert f.name in table, f"{cls.__name__}.{f.name} has no declared range"
        assert not set(table) - {f.name for f in fields(cls)}


def test_defaults_satisfy_their_own_constraints() -> None:
    from obsscale.config.constraints import violations

    cfg = Config()
    for obj in (cfg.network, cfg.audit, cfg.capabilities, cfg.predict, cfg.report):
        assert violations(obj) == []
    for t in cfg.report.targets:
        assert violations(t) == []
