"""Issue 13, model and report stages: inputs that used to give numbers (or tracebacks) are
refused with one line that names the column, file or value; good files stay byte-identical."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_predict import BENCH, world
from upstream_fakes import OBS_HEADER, write_fakes

from obsscale.cli import main
from obsscale.config import Config, default_config
from obsscale.data.harmonize import harmonize
from obsscale.exceptions import PredictError
from obsscale.model.prediction.targets import normalize_scale

SCORES = [f"s:{b}" for b in BENCH]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with a readable models.csv of 80 synthetic models (families F0..F7)."""
    models = world().rename(columns={"target": "s:target", **dict(zip(BENCH, SCORES, strict=True))})
    models["s:frac129"] = np.linspace(0.0, 1.29, len(models))
    table = tmp_path / "data" / "processed" / "models.csv"
    table.parent.mkdir(parents=True)
    models.assign(is_base=True, tokens_t=np.nan).to_csv(table, index=False)
    return tmp_path / "data"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(list(args))
    return rc, capsys.readouterr().err


def common(data: Path, out: Path) -> list[str]:
    return ["--data-dir", str(data), "--out", str(out), "--reference-family", "F0"]


# --------------------------------------------------------------- 4. fractions read as percent


@pytest.mark.parametrize("hi", [1.29, 3.0, 10.0])
def test_ambiguous_scale_is_refused_naming_column_and_range(hi: float) -> None:
    with pytest.raises(PredictError, match=rf"'m' ranges from 0 to {hi:g}: ambiguous scale"):
        normalize_scale(pd.Series([0.0, 0.5, hi]), "m")


@pytest.mark.parametrize(
    ("values", "scale", "expected"),
    [
        ([0.1, 0.9], "auto", [0.1, 0.9]),
        ([12.0, 80.0], "auto", [0.12, 0.8]),
        ([1.2, 8.0], "ten", [0.12, 0.8]),
        ([1.2, 8.0], "percent", [0.012, 0.08]),
        ([0.1, 0.9], "percent", [0.001, 0.009]),
    ],
)
def test_explicit_scale_is_applied(values: list[float], scale: str, expected: list[float]) -> None:
    out, _ = normalize_scale(pd.Series(values), "m", scale=scale)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize(("values", "scale"), [([0.2, 1.29], "fraction"), ([5.0, 12.0], "ten")])
def test_values_outside_the_named_scale_are_refused(values: list[float], scale: str) -> None:
    with pytest.raises(
        PredictError, match=rf"outside \[0, .*\] of the setting predict.scale = '{scale}'"
    ) as e:
        normalize_scale(pd.Series(values), "m", scale=scale)
    assert e.value.setting == "predict.scale"  # the model names the setting, not an option


def test_cli_refuses_a_fraction_column_reaching_1_29(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before, out = snapshot(data), tmp_path / "p.json"
    rc, err = run(
        capsys, "predict", *common(data, out), "--target", "s:frac129", "--benchmarks", *SCORES
    )
    assert rc == 1
    assert "obsscale predict: error: target 's:frac129' ranges from 0 to 1.29" in err
    # the message names the setting, and the CLI the option that gives it
    assert err.strip().endswith("the setting predict.scale: fraction, percent or ten (--scale)")
    assert not out.exists()
    assert snapshot(data) == before


def test_cli_names_an_option_only_where_the_command_has_it(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A basis none of the target's models has (capabilities.benchmarks): ``predict`` has
    --benchmarks and names it; ``option_for`` names nothing for a command without it."""
    import argparse

    from obsscale.cli.options import option_for

    models = pd.read_csv(data / "processed" / "models.csv")
    models.loc[models["s:target"].notna(), SCORES[0]] = np.nan
    models.to_csv(data / "processed" / "models.csv", index=False)
    out = tmp_path / "p.json"
    args = ["--target", "s:target", "--benchmarks", SCORES[0]]
    rc, err = run(capsys, "predict", *common(data, out), *args)
    assert rc == 1
    assert err.strip().endswith(
        "choose benchmarks they have with the setting capabilities.benchmarks (--benchmarks)"
    )
    assert option_for("capabilities.benchmarks", argparse.Namespace(subset=None)) is None
    assert option_for("selection", argparse.Namespace(subset=None)) == (
        "--subset, --families or --models"
    )


# ------------------------------------------------------------ 5. metadata is not a benchmark


def metadata_args(command: str, data: Path, out: Path) -> list[str]:
    if command == "select":  # select writes nothing and has no --out
        return [command, "--budget", "3", "--data-dir", str(data), "--reference-family", "F0"]
    extra = {"fit": ["--no-targets"], "predict": ["--target", "s:target"]}[command]
    return [command, *common(data, out), *extra]


@pytest.mark.parametrize("command", ["fit", "select", "predict"])
def test_metadata_as_benchmarks_is_refused(
    command: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out, before = tmp_path / "out", snapshot(data)
    args = metadata_args(command, data, out)
    with pytest.raises(SystemExit) as info:
        main([*args, "--benchmarks", "params_b", "flops", "tokens_t"])
    assert info.value.code == 2  # a usage error, like any malformed argument
    assert "'params_b' is not a score column" in capsys.readouterr().err
    # the same columns from a config file reach the model layer, which refuses them too
    toml = tmp_path / "c.toml"
    toml.write_text('[capabilities]\nbenchmarks = ["params_b", "flops", "tokens_t"]\n')
    rc, err = run(capsys, *args, "--config", str(toml))
    assert rc == 1
    assert "params_b, flops, tokens_t: not benchmark scores" in err
    assert "<source>:<benchmark>" in err
    assert not out.exists()
    assert snapshot(data) == before


# ----------------------------------------------------------------- 7. absurd metadata dropped


def test_absurd_metadata_is_dropped_and_listed(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "d")
    write_fakes(cfg)
    rows = [
        "org/inf-flops,X,7.0,2.0,inf,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
        "org/huge-flops,X,7.0,2.0,1e308,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
        "org/neg-flops,X,7.0,2.0,-5,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
        "org/zero-params,X,0,2.0,84,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
        "org/neginf-tokens,X,7.0,-inf,84,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
        "org/huge-params,X,2e5,2.0,84,0.4,0.5,0.7,0.7,0.4,0.1,0.7,0.1",
    ]
    cfg.raw_path(cfg.source("obsscaling_sub10b")).write_text(OBS_HEADER + "\n".join(rows) + "\n")
    result = harmonize(cfg)
    m = result.models.set_index("model")
    for col in ("params_b", "tokens_t", "flops"):
        assert np.isfinite(m[col].dropna()).all() and (m[col].dropna() > 0).all()
    assert m["flops"].max() <= 1e30 and m["params_b"].max() <= 1e5
    q = result.quality[result.quality["rule"] == "absurd_metadata"]
    listed = set(zip(q["model"], q["field"], strict=True))
    assert {
        ("org/inf-flops", "flops"),
        ("org/huge-flops", "flops"),
        ("org/neg-flops", "flops"),
        ("org/zero-params", "params_b"),
        ("org/neginf-tokens", "tokens_t"),
        ("org/huge-params", "params_b"),
    } <= listed
    assert (q["severity"] == "dropped").all()


def test_absurd_epoch_compute_is_dropped(tmp_path: Path) -> None:
    cfg = Config(data_dir=tmp_path / "d")
    write_fakes(cfg)
    epoch = cfg.raw_path(cfg.source("epoch"))
    epoch.write_text(epoch.read_text().replace("3.2e+23", "inf").replace("1.6e+23", "1e31"))
    result = harmonize(cfg)
    q = result.quality[result.quality["rule"] == "absurd_metadata"]
    assert {"Qwen2-7B", "Llama 2-13B"} <= set(q["model"])
    assert np.isfinite(result.models["flops"].dropna()).all()


# ------------------------------------------------------------------------ weak: the rest


@pytest.mark.parametrize("command", ["fit", "predict"])
def test_unknown_reference_family_is_an_error_listing_the_known(
    command: str, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A typo'd reference family is refused in one line by every command that reads it
    (``predict`` used to run and only note that the family had no curve)."""
    out = tmp_path / "out"
    args = {
        "fit": ["fit", "--out", str(out), "--no-targets"],
        "predict": ["predict", "--target", "s:target"],
    }[command]
    given = ["--data-dir", str(data), "--benchmarks", *SCORES, "--reference-family", "NoSuch"]
    rc, err = run(capsys, *args, *given)
    assert rc == 1
    assert err.strip().splitlines() == [
        f"obsscale {command}: error: unknown reference family 'NoSuch'; known families: "
        "F0, F1, F2, F3, F4, F5, F6, F7"
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("seven", "'seven' is not a valid params_b"), ("-7", "'-7' is not a valid params_b")],
)
def test_bad_correction_values_name_row_and_column(
    tmp_path: Path, value: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    write_fakes(default_config(data))
    (data / "corrections.csv").write_text(
        f"model,field,value,reason\nmeta-llama/Llama-2-7b-hf,params_b,{value},paper\n"
    )
    rc, err = run(capsys, "harmonize", "--data-dir", str(data))
    assert rc == 1
    assert f"{data / 'corrections.csv'}: row 1, column value: {message}" in err
    assert not (data / "processed").exists()


@pytest.fixture
def fitted(data: Path, tmp_path: Path) -> Path:
    out = tmp_path / "reports"
    args = ["fit", *common(data, out), "--benchmarks", *SCORES, "--target", "s:target", "-q"]
    assert main(args) == 0
    return out


def test_corrupt_manifest_during_report_names_the_file(
    data: Path, fitted: Path, capsys: pytest.CaptureFixture
) -> None:
    manifest = data / "raw" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text('{"epoch": {"url": ')
    rc, err = run(capsys, "report", "--data-dir", str(data), "--out", str(fitted))
    assert rc == 1
    assert f"obsscale report: error: {manifest}: not a readable fetch manifest" in err
    assert not (fitted / "index.html").exists()


def test_disk_full_during_report_names_the_path(
    data: Path, fitted: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from obsscale.data import store

    (fitted / "index.html").write_text("the previous report")
    real = Path.write_text

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self.name.endswith(".part"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    rc, err = run(capsys, "report", "--data-dir", str(data), "--out", str(fitted))
    assert rc == 1
    assert f"No space left on device: '{fitted / 'index.html'}'" in err
    assert real is not None and (fitted / "index.html").read_text() == "the previous report"
    assert not list(fitted.glob(".*.part"))
    assert store is not None


def test_ctrl_c_during_report_leaves_the_previous_report(
    data: Path, fitted: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import obsscale.report.html as html

    (fitted / "index.html").write_text("the previous report")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(html.plots, "figure_b64", interrupted, raising=False)
    monkeypatch.setattr(html.tables, "snapshot", interrupted)
    rc, err = run(capsys, "report", "--data-dir", str(data), "--out", str(fitted))
    assert rc == 130
    assert err.strip().splitlines() == ["obsscale report: interrupted"]
    assert (fitted / "index.html").read_text() == "the previous report"
    assert json.loads((fitted / "run.json").read_text())["format"] == "obsscale.run/1"


def test_unknown_families_and_a_file_as_output_folder_are_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rc, err = run(
        capsys, "fit", *common(data, tmp_path / "r"), "--benchmarks", *SCORES, "--families", "f0"
    )
    assert rc != 0 and "families not in the table: ['f0']" in err and "'F0'" in err
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    for cmd in ("fit", "report"):
        rc, err = run(capsys, cmd, "--data-dir", str(data), "--out", str(afile))
        assert rc == 2 and "is a file" in err
    assert afile.read_text() == "keep me"
