"""Issue 23, our own tables and the user's inputs: a derived table is checked against the
sha256 its writer recorded and against the parsers' rules; an interruption keeps the last good
tables and run; an input that would be ignored or doubled is refused, naming it."""

# ruff: noqa: F811  (the fixtures of test_refusals, imported, are parameters here)
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from test_refusals import SCORES, common, data, fitted, run, snapshot  # noqa: F401
from upstream_fakes import write_fakes

from obsscale.cli import main
from obsscale.config import default_config
from obsscale.data import cache, store
from obsscale.data.table import load_models
from obsscale.exceptions import HarmonizeError


@pytest.fixture
def recorded(data: Path) -> Path:
    """The synthetic data folder with its record, as `obsscale harmonize` leaves one."""
    processed = data / "processed"
    for name in ("provenance.csv", "quality.csv"):
        (processed / name).write_text("model,field,value,rule,source,severity,detail\n")
    models = processed / "models.csv"
    models.write_text(models.read_text().replace(",s:frac129", ",frac129"))  # not a fraction
    cache.record_build(processed, None, {})
    return data


def models_csv(data: Path) -> Path:
    return data / "processed" / "models.csv"


def fit_args(data: Path, out: Path) -> list[str]:
    return ["fit", *common(data, out), "--benchmarks", *SCORES, "--target", "s:target", "-q"]


# ------------------------------------------------------------- 1. derived tables are checked


@pytest.mark.parametrize(
    "cut",
    [
        lambda lines: lines[:30],  # at a line boundary: a plausible smaller table
        lambda lines: [*lines[:30], lines[30][:17]],  # mid-line, without its line break
        lambda lines: [*lines[:30], lines[30][:17] + "\n"],  # mid-line, a break added
    ],
)
def test_a_models_table_cut_short_is_refused_naming_harmonize(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture, cut
) -> None:
    path = models_csv(recorded)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(cut(lines)))
    rc, err = run(capsys, *fit_args(recorded, tmp_path / "r"))
    assert rc == 1
    assert f"{path}: not the table `obsscale harmonize` wrote" in err
    assert "`obsscale harmonize`" in err and "--trust-edited" in err
    assert not (tmp_path / "r" / "run.json").exists()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("s:b0", "7.3", "column s:b0: 7.3 is out of range (a score is a fraction in [0, 1])"),
        ("flops", "-8.4e23", "column flops: -8.4e+23 is out of range (must be > 0"),
        ("params_b", "inf", "column params_b: inf is out of range"),
    ],
)
def test_an_edited_value_is_refused_by_hash_and_by_the_parsers_rules(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture, column, value, message
) -> None:
    import pandas as pd

    path = models_csv(recorded)
    frame = pd.read_csv(path)
    frame[column] = frame[column].astype(object)
    frame.loc[3, column] = value
    frame.to_csv(path, index=False)
    rc, err = run(capsys, *fit_args(recorded, tmp_path / "r"))
    assert rc == 1 and "not the table `obsscale harmonize` wrote" in err
    rc, err = run(capsys, *fit_args(recorded, tmp_path / "r"), "--trust-edited")
    assert rc == 1
    assert f"row 5 ({frame.loc[3, 'model']}), {message}" in err


def test_a_duplicated_model_row_is_refused_naming_the_model(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    path = models_csv(data)  # no record: a hand-built table, whose values are still checked
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join([*lines, lines[7]]))
    name = lines[7].split(",")[0]
    rc, err = run(capsys, *fit_args(data, tmp_path / "r"))
    assert rc == 1
    assert f"row {len(lines) + 1}: model '{name}' appears twice" in err
    assert "cannot reindex" not in err


def test_a_deliberate_edit_is_used_with_trust_edited(
    recorded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = models_csv(recorded)
    text = path.read_text()
    path.write_text(text.replace(",F1,", ",F2,", 1))
    cfg = default_config(recorded)
    with pytest.raises(HarmonizeError, match="not the table"):
        load_models(cfg)
    with caplog.at_level(logging.WARNING):
        frame = load_models(cfg.with_overrides(trust_edited=True))
    assert len(frame) == text.count("\n") - 1
    assert any("used as edited" in r.message for r in caplog.records)


def test_a_half_written_last_line_of_a_hand_built_table_is_refused(data: Path) -> None:
    path = models_csv(data)
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(HarmonizeError, match="the last line is incomplete"):
        load_models(default_config(data))


def test_an_unreadable_record_is_named(recorded: Path) -> None:
    (recorded / "processed" / "harmonize.json").write_text('{"outputs": ')
    with pytest.raises(HarmonizeError, match=r"harmonize.json: unreadable"):
        load_models(default_config(recorded))


def test_an_edited_run_file_is_refused_by_the_report(
    data: Path,
    fitted: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    run_json = json.loads((fitted / "run.json").read_text())
    run_json["fit"]["file"] = "../../etc/passwd"
    (fitted / "run.json").write_text(json.dumps(run_json))
    rc, err = run(capsys, "report", "--data-dir", str(data), "--out", str(fitted))
    assert rc == 1 and "outside the run folder" in err


@pytest.fixture
def fakes(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    write_fakes(default_config(data))
    return data


def fake_manifest(data: Path, names: tuple[str, ...]) -> None:
    """Manifest entries as fetch would have written them for these sources."""
    cfg = default_config(data)
    entries = {}
    for name in names:
        source = cfg.source(name)
        path = cfg.raw_path(source)
        entries[name] = {
            "source": name,
            "url": source.url,
            "path": str(path.relative_to(data)),
            "bytes": path.stat().st_size,
            "sha256": source.sha256 or store.sha256_file(path),
            "fetched_at": "2026-01-01T00:00:00+00:00",
            "http_status": 200,
        }
    store.write_json(cfg.manifest_path, entries)


def test_a_fetched_pinned_raw_file_edited_locally_is_refused_at_harmonize(
    fakes: Path, capsys: pytest.CaptureFixture
) -> None:
    fake_manifest(fakes, ("obsscaling_base",))  # fetched: its bytes were the pinned ones
    rc, err = run(capsys, "harmonize", "--data-dir", str(fakes))
    assert rc == 1
    assert "obsscaling_base: raw file" in err and "differs from the pinned sha256" in err
    assert "obsscale fetch --only obsscaling_base --refresh" in err
    assert not (fakes / "processed").exists()
    assert run(capsys, "harmonize", "--data-dir", str(fakes), "--trust-edited")[0] == 0


def test_a_live_raw_file_edited_since_fetch_is_refused(
    fakes: Path, capsys: pytest.CaptureFixture
) -> None:
    fake_manifest(fakes, ("epoch",))
    path = default_config(fakes).raw_path(default_config(fakes).source("epoch"))
    path.write_text(path.read_text().replace("8.4e+22", "8.4e+25"))
    rc, err = run(capsys, "harmonize", "--data-dir", str(fakes))
    assert rc == 1 and "differs from the sha256 fetch recorded" in err


def test_an_unknown_model_in_corrections_is_said_on_the_console(
    fakes: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    (fakes / "corrections.csv").write_text(
        "model,field,value,reason\nno-such/model-7b,params_b,7,paper\n"
    )
    with caplog.at_level(logging.WARNING):  # a warning: shown at the default level
        rc, _ = run(capsys, "harmonize", "--data-dir", str(fakes))
    assert rc == 0
    said = [r.message for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("row 1: model 'no-such/model-7b' is in no source" in m for m in said)


# ------------------------------------------------------- 3. interruptions keep the last good


def test_harmonize_interrupted_while_writing_keeps_the_previous_tables_whole(
    fakes: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "harmonize", "--data-dir", str(fakes))[0] == 0
    before = snapshot(fakes / "processed")
    real = store.write_csv

    def killed_on_quality(target, frame, **kw):  # type: ignore[no-untyped-def]
        if Path(target).name == "quality.csv":
            raise KeyboardInterrupt
        real(target, frame, **kw)

    monkeypatch.setattr(store, "write_csv", killed_on_quality)
    rc, _ = run(capsys, "harmonize", "--data-dir", str(fakes), "--no-corrections")
    assert rc == 130
    assert snapshot(fakes / "processed") == before
    assert sorted(p.name for p in fakes.iterdir()) == [".obsscale.lock", "processed", "raw"]


def test_a_harmonize_killed_between_the_renames_is_recovered(
    fakes: Path, capsys: pytest.CaptureFixture
) -> None:
    assert run(capsys, "harmonize", "--data-dir", str(fakes))[0] == 0
    before = snapshot(fakes / "processed")
    os.rename(fakes / "processed", fakes / ".processed.999.old")  # SIGKILL after rename one
    (fakes / ".processed.abc.new").mkdir()
    from obsscale.data.lock import data_lock

    with data_lock(default_config(fakes)):
        pass
    assert snapshot(fakes / "processed") == before
    assert sorted(p.name for p in fakes.iterdir()) == [".obsscale.lock", "processed", "raw"]


def test_fit_interrupted_keeps_the_previous_run_whole(
    data: Path,
    fitted: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import obsscale.pipeline as pipeline
    import obsscale.pipeline.jobs as jobs

    before = snapshot(fitted)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(jobs, "_write_forecasts", killed)  # after fit.json, back-tests
    rc, _ = run(capsys, *fit_args(data, fitted), "--components", "2")
    assert rc == 130
    assert snapshot(fitted) == before
    assert not [p for p in fitted.iterdir() if p.name.startswith(".")]
    pipeline.load_run(fitted)  # still readable, every hash matching


def test_sigterm_is_handled_like_ctrl_c(
    fakes: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    from obsscale.cli import commands

    def terminated(args: object) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    monkeypatch.setattr(commands, "cmd_harmonize", terminated)
    rc, err = run(capsys, "harmonize", "--data-dir", str(fakes))
    assert rc == 143
    assert err.strip().splitlines() == ["obsscale harmonize: terminated (SIGTERM)"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored after main


# --------------------------------------------------------- 4. inputs ignored or doubled


def test_exclude_of_an_unknown_model_is_refused(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    for cmd in (fit_args(data, tmp_path / "r"), ["predict", *common(data, tmp_path / "p.json")]):
        args = [*cmd, "--exclude", "no-such/model"]
        if cmd[0] == "predict":
            args += ["--target", "s:target", "--benchmarks", *SCORES]
        rc, err = run(capsys, *args)
        assert rc == 1
        assert "--exclude: models not in the table: ['no-such/model']" in err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("s:NoSuchBench", "unknown target 's:NoSuchBench': not a column of models.csv"),
        ("flops", "target 'flops' is model metadata, not a benchmark score"),
    ],
)
def test_fit_with_an_unknown_or_metadata_target_is_an_error(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    target: str,
    message: str,
) -> None:
    args = ["fit", *common(data, tmp_path / "r"), "--benchmarks", *SCORES, "-q"]
    rc, err = run(capsys, *args, "--target", target)
    assert rc == 1 and message in err
    assert not (tmp_path / "r" / "run.json").exists()


def test_a_scores_file_naming_one_model_twice_is_refused(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("Model,s:b0,s:b1\nnew/a,0.5,0.4\nnew/b,0.6,0.5\nNew/A,0.7,0.6\n")
    args = ["forecast", *common(data, tmp_path / "f.json"), "--benchmarks", *SCORES]
    rc, err = run(capsys, *args, "--target", "s:target", "--scores", str(scores))
    assert rc == 1
    assert f"{scores}: row 4: model 'New/A' appears twice" in err


@pytest.mark.parametrize(
    ("cmd", "target"),
    [
        (["predict", "--target", "s:target"], "processed/models.csv"),
        (["forecast", "--complete", "--target", "s:target"], "processed/models.csv"),
        (["forecast", "--at-flops", "1e23", "--target", "s:target"], "raw/manifest.json"),
        (["predict", "--target", "s:target"], "notes.txt"),  # any file in the data folder
    ],
)
def test_out_never_overwrites_a_file_of_the_data_folder(
    data: Path,
    capsys: pytest.CaptureFixture,
    cmd: list[str],
    target: str,
) -> None:
    out = data / target
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.write_text("keep me\n")
    before = snapshot(data)
    rc, err = run(capsys, cmd[0], *common(data, out), *cmd[1:], "--benchmarks", *SCORES)
    assert rc == 2 and f"--out {out} is inside the data folder" in err
    assert snapshot(data) == before


def test_out_never_overwrites_the_commands_own_input(
    data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("Model,s:b0,s:b1\nnew/a,0.5,0.4\n")
    args = ["forecast", *common(data, scores), "--benchmarks", *SCORES, "--target", "s:target"]
    rc, err = run(capsys, *args, "--scores", str(scores))
    assert rc == 2 and "is an input of this command" in err
    assert scores.read_text() == "Model,s:b0,s:b1\nnew/a,0.5,0.4\n"


def test_fit_into_a_managed_folder_is_refused(
    data: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    before = snapshot(data)
    rc, err = run(capsys, *fit_args(data, data / "processed"))
    assert rc == 2 and "which obsscale manages" in err
    assert snapshot(data) == before


def test_fit_with_report_renders_the_page_of_obsscale_report(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``make fit``'s one process: the fit, then the report from its artifacts, the same page
    as `obsscale report` renders from them (apart from the minute it was generated), and only
    the report's path printed."""
    import re

    out = tmp_path / "reports"
    capsys.readouterr()
    assert main([*fit_args(data, out), "--report"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].endswith(str((out / "index.html").resolve()))
    page = (out / "index.html").read_text()
    rc, _ = run(capsys, "report", "--data-dir", str(data), "--out", str(out))
    assert rc == 0

    def unstamped(text: str) -> str:
        return re.sub(r"generated [0-9: -]+UTC", "", text)

    assert unstamped(page) == unstamped((out / "index.html").read_text())
