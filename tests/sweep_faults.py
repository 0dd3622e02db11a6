"""A sweep of faults and bad inputs across every subcommand (issue 23): not a test (no
assertions, run by hand: ``.venv/bin/python tests/sweep_faults.py``), a table of outcomes.

Each case breaks one thing in a scratch data folder (small generated files, a scripted
loopback server for the network), runs one ``obsscale`` command in-process and classifies:
``good`` (refused with one line that names the expected thing, the protected files unchanged;
or a success where success is right), ``weak`` (refused, but the line does not name it), ``bad``
(exit 0 where it must fail, a traceback, a protected file changed, or over the time limit).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from conftest import ScriptedServer, gzipped, ok, reset, slow, status, truncated  # noqa: E402
from test_predict import BENCH, world  # noqa: E402
from upstream_fakes import FILES, write_fakes  # noqa: E402

from obsscale.cli import main  # noqa: E402
from obsscale.config import default_config  # noqa: E402
from obsscale.data import cache, store  # noqa: E402

SCORES = [f"s:{b}" for b in BENCH]
LIMIT_S = 60.0


@dataclass
class Case:
    name: str
    setup: Callable[[Path], list[str]]  # the scratch folder -> the command line
    expect: str  # a substring of the error line ("" with ok=True)
    ok: bool = False  # success is the right outcome
    protect: str = "data"  # the folder that must be unchanged after a refusal


def synthetic(root: Path, recorded: bool = True) -> Path:
    """A data folder with an 80-model models.csv (and harmonize's record if ``recorded``)."""
    data = root / "data"
    frame = world().rename(columns={"target": "s:target", **dict(zip(BENCH, SCORES, strict=True))})
    processed = data / "processed"
    processed.mkdir(parents=True)
    frame.assign(is_base=True, tokens_t=np.nan).to_csv(processed / "models.csv", index=False)
    if recorded:
        for name in ("provenance.csv", "quality.csv"):
            (processed / name).write_text("model,field,value,rule,source,severity,detail\n")
        cache.record_build(processed, None, {})
    return data


def fakes(root: Path) -> Path:
    data = root / "data"
    write_fakes(default_config(data))
    return data


def common(data: Path, *more: str) -> list[str]:
    return ["--data-dir", str(data), "--reference-family", "F0", *more]


def fit(data: Path, out: Path, *more: str) -> list[str]:
    return ["fit", *common(data), "--out", str(out), "--benchmarks", *SCORES, "-q", *more]


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


def models(data: Path) -> Path:
    return data / "processed" / "models.csv"


def manifest_for(data: Path, *names: str) -> None:
    cfg = default_config(data)
    entries = {}
    for name in names:
        src, path = cfg.source(name), cfg.raw_path(cfg.source(name))
        entries[name] = {
            "source": name,
            "url": src.url,
            "path": str(path.relative_to(data)),
            "bytes": path.stat().st_size,
            "sha256": src.sha256 or store.sha256_file(path),
            "fetched_at": "2026-01-01T00:00:00+00:00",
            "http_status": 200,
        }
    store.write_json(cfg.manifest_path, entries)


FITTED: Path | None = None  # one fitted run, copied for the report cases


def fitted(root: Path) -> tuple[Path, Path]:
    data = synthetic(root)
    out = root / "reports"
    shutil.copytree(FITTED, out)  # type: ignore[arg-type]
    return data, out


# ------------------------------------------------------------------ the network cases

SERVER = ScriptedServer()
EPOCH_PATH = "/epoch.ai/data/notable_ai_models.csv"
EPOCH_CSV = (
    "Model,Publication date,Parameters,Training compute (FLOP)\n"
    + "".join(f"M{i},2023-01-01,{1e9 * (i + 1)},1e21\n" for i in range(300))
).encode()


def fetch_case(*steps, only: str = "epoch", path: str = EPOCH_PATH, toml: str = "") -> Callable:
    def setup(root: Path) -> list[str]:
        SERVER.set(path, *steps)
        conf = root / "o.toml"
        conf.write_text("[network]\nretries = 2\nbackoff_factor = 0.01\ntimeout = 1.0\n" + toml)
        data = root / "data"
        return [
            "fetch",
            "--data-dir",
            str(data),
            "--mirror",
            SERVER.url,
            "-q",
            "--no-harmonize",
            "--only",
            only,
            "--config",
            str(conf),
        ]

    return setup


def all_down(code_or_refused: str) -> Callable:
    def setup(root: Path) -> list[str]:
        for s in default_config().sources:
            SERVER.set("/" + s.url.removeprefix("https://"), status(503))
        url = SERVER.url
        if code_or_refused == "refused":
            import socket

            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return ["fetch", "--data-dir", str(root / "data"), "--mirror", url, "-q"]

    return setup


def shrink(root: Path) -> list[str]:
    args = fetch_case(ok(EPOCH_CSV))(root)
    assert main(args) == 0
    SERVER.set(EPOCH_PATH, ok(b"".join(EPOCH_CSV.splitlines(keepends=True)[:111])))
    return [*args, "--refresh"]


def pinned_altered(root: Path) -> list[str]:
    src = default_config().source("obsscaling_base")
    path = "/" + src.url.removeprefix("https://")
    head, *rows = FILES["obsscaling_base"].splitlines(keepends=True)
    altered = (head + "".join(rows * 3)).encode()  # well-formed, 18 rows: only its sha is wrong
    return fetch_case(ok(altered), only=src.name, path=path)(root)


def renamed_json(root: Path) -> list[str]:
    entry = {
        "link": "",
        "size": 7.0,
        "pass@1": {"humaneval": 1.0, "humaneval_plus": 1.0, "mbpp": 1.0, "mbpp+": 1.0},
    }
    body = json.dumps({f"m{i}": entry for i in range(20)}).encode()
    return fetch_case(
        ok(body, "application/json"), only="evalplus", path="/evalplus.github.io/results.json"
    )(root)


# ------------------------------------------------------------------ the cases


def _cut_line(root: Path) -> list[str]:
    data = synthetic(root)
    lines = models(data).read_text().splitlines(keepends=True)
    models(data).write_text("".join(lines[:40]))
    return fit(data, root / "r")


def _cut_mid(root: Path) -> list[str]:
    data = synthetic(root)
    models(data).write_bytes(models(data).read_bytes()[:-25])
    return fit(data, root / "r")


def _value(col: str, value: str, trust: bool = True) -> Callable:
    def setup(root: Path) -> list[str]:
        import pandas as pd

        data = synthetic(root)
        frame = pd.read_csv(models(data))
        frame[col] = frame[col].astype(object)
        frame.loc[5, col] = value
        frame.to_csv(models(data), index=False)
        return fit(data, root / "r", *(["--trust-edited"] if trust else []))

    return setup


def _dup(root: Path) -> list[str]:
    data = synthetic(root, recorded=False)
    lines = models(data).read_text().splitlines(keepends=True)
    models(data).write_text("".join([*lines, lines[3]]))
    return fit(data, root / "r")


def _table(transform: Callable[[str], str], recorded: bool = False) -> Callable:
    def setup(root: Path) -> list[str]:
        data = synthetic(root, recorded=recorded)
        models(data).write_text(transform(models(data).read_text()))
        return fit(data, root / "r")

    return setup


def _harm(change: Callable[[Path], None]) -> Callable:
    def setup(root: Path) -> list[str]:
        data = fakes(root)
        change(data)
        return ["harmonize", "--data-dir", str(data)]

    return setup


def _raw(name: str) -> Path:
    return Path(default_config().raw_path(default_config().source(name)))


def _edit_raw(name: str, old: str, new: str, manifest: bool = True) -> Callable[[Path], None]:
    def change(data: Path) -> None:
        if manifest:
            manifest_for(data, name)
        path = data / _raw(name).relative_to("data")
        path.write_text(path.read_text().replace(old, new))

    return change


def _corrections(text: str) -> Callable[[Path], None]:
    def change(data: Path) -> None:
        (data / "corrections.csv").write_text("model,field,value,reason\n" + text)

    return change


def _on_synthetic(*args: str, recorded: bool = True, out: str | None = None) -> Callable:
    def setup(root: Path) -> list[str]:
        data = synthetic(root, recorded)
        cmd = [args[0], *common(data), *args[1:]]
        if out:
            target = Path(out.replace("DATA", str(data)))
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_text("{}\n")
            cmd += ["--out", str(target)]
        return cmd

    return setup


def _scores(text: str, *more: str) -> Callable:
    def setup(root: Path) -> list[str]:
        data = synthetic(root)
        path = root / "scores.csv"
        path.write_text(text)
        return [
            "forecast",
            *common(data),
            "--benchmarks",
            *SCORES,
            "--target",
            "s:target",
            "--scores",
            str(path),
            *more,
        ]

    return setup


def _report(change: Callable[[Path, Path], None]) -> Callable:
    def setup(root: Path) -> list[str]:
        data, out = fitted(root)
        change(data, out)
        return ["report", "--data-dir", str(data), "--out", str(out)]

    return setup


def _run_json(fn: Callable[[dict], None]) -> Callable[[Path, Path], None]:
    def change(data: Path, out: Path) -> None:
        run = json.loads((out / "run.json").read_text())
        fn(run)
        (out / "run.json").write_text(json.dumps(run))

    return change


def _sigterm(root: Path) -> list[str]:
    from obsscale.cli import commands

    data = fakes(root)

    def terminated(args: object) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    commands.cmd_harmonize = terminated  # type: ignore[assignment]  # restored by the runner
    return ["harmonize", "--data-dir", str(data)]


S = SCORES
CASES: list[Case] = [
    # fetch: a dead or hostile upstream (scripted loopback server)
    Case("fetch: every file 503 (whole fetch)", all_down("503"), "hint: an upstream host is down"),
    Case("fetch: connection refused (whole fetch)", all_down("refused"), "cannot connect to"),
    Case("fetch: Retry-After 3600", fetch_case(status(503, {"Retry-After": "3600"})), "HTTP 503"),
    Case("fetch: accepts, never answers", fetch_case(slow(5, ok(EPOCH_CSV))), "timed out"),
    Case("fetch: body cut short", fetch_case(truncated(EPOCH_CSV, 300)), "cut short"),
    Case("fetch: gzip body cut short", fetch_case(gzipped(EPOCH_CSV, keep=60)), "epoch"),
    Case("fetch: HTML page with 200", fetch_case(ok(b"<html>rate limited</html>")), "HTML page"),
    Case("fetch: 404", fetch_case(status(404)), "HTTP 404"),
    Case("fetch: TCP reset", fetch_case(reset()), "closed or reset the connection"),
    Case("fetch: CSV missing a column", fetch_case(ok(b"Model,x\n" + b"a,1\n" * 200)), "missing"),
    Case("fetch: live file shrinks to 2%", shrink, "--allow-shrink"),
    Case("fetch: pinned file altered upstream", pinned_altered, "differs from the pinned"),
    Case("fetch: JSON key renamed upstream", renamed_json, "no entry has the keys"),
    Case(
        "fetch: bad mirror URL",
        lambda r: ["fetch", "--data-dir", str(r / "d"), "--mirror", "127.0.0.1:1"],
        "a mirror URL looks like",
    ),
    Case(
        "fetch: unknown --only source",
        lambda r: ["fetch", "--data-dir", str(r / "d"), "--only", "nope"],
        "known sources",
    ),
    Case("fetch: SIGTERM mid-harmonize step", _sigterm, "terminated (SIGTERM)"),
    # harmonize: raw files and corrections
    Case(
        "harmonize: raw file missing",
        _harm(lambda d: _raw("epoch").name and (d / _raw("epoch").relative_to("data")).unlink()),
        "is missing",
    ),
    Case(
        "harmonize: fetched pinned raw edited",
        _harm(_edit_raw("obsscaling_base", "0.44", "0.94")),
        "differs from the pinned sha256",
    ),
    Case(
        "harmonize: fetched live raw edited",
        _harm(_edit_raw("epoch", "8.4e+22", "8.4e+26")),
        "differs from the sha256 fetch recorded",
    ),
    Case(
        "harmonize: evalplus raw with renamed key",
        _harm(_edit_raw("evalplus", '"humaneval+"', '"humaneval_plus"', manifest=False)),
        "no entry has the keys",
    ),
    Case(
        "harmonize: curated raw is binary junk",
        _harm(
            lambda d: (d / _raw("obsscaling_base").relative_to("data")).write_bytes(
                b"\x00\xff" * 50
            )
        ),
        "obsscaling_base",
    ),
    Case(
        "harmonize: correction of an unknown field",
        _harm(_corrections("a/b,score,1,x\n")),
        "cannot be corrected",
    ),
    Case(
        "harmonize: correction value not a number",
        _harm(_corrections("meta-llama/Llama-2-7b-hf,params_b,seven,x\n")),
        "is not a valid params_b",
    ),
    Case(
        "harmonize: correction without reason",
        _harm(_corrections("meta-llama/Llama-2-7b-hf,params_b,7, \n")),
        "cited reason",
    ),
    Case(
        "harmonize: correction for an unknown model",
        _harm(_corrections("no-such/model,params_b,7,x\n")),
        "is in no source",
        ok=True,
    ),
    Case(
        "harmonize: unknown --exclude-source",
        lambda r: ["harmonize", "--data-dir", str(fakes(r)), "--exclude-source", "nope"],
        "known sources",
    ),
    Case(
        "harmonize: nothing fetched", lambda r: ["harmonize", "--data-dir", str(r / "d")], "missing"
    ),
    # fit and models.csv
    Case("fit: models.csv cut at a line", _cut_line, "not the table `obsscale harmonize` wrote"),
    Case("fit: models.csv cut mid-line", _cut_mid, "not the table `obsscale harmonize` wrote"),
    Case("fit: score 7.3 (edited, trusted)", _value("s:b1", "7.3"), "is out of range"),
    Case("fit: FLOPs -8.4e23 (edited, trusted)", _value("flops", "-8.4e23"), "is out of range"),
    Case("fit: params_b 0 (edited, trusted)", _value("params_b", "0"), "is out of range"),
    Case(
        "fit: score 7.3 (edited, not trusted)", _value("s:b1", "7.3", trust=False), "--trust-edited"
    ),
    Case("fit: duplicated model row", _dup, "appears twice"),
    Case("fit: hand table cut mid-line", _table(lambda t: t[:-20]), "last line is incomplete"),
    Case("fit: empty models.csv", _table(lambda t: ""), "not a readable table"),
    Case(
        "fit: is_base column missing",
        _table(lambda t: t.replace(",is_base", ",isbase")),
        "missing columns",
    ),
    Case(
        "fit: is_base 'maybe'",
        _table(lambda t: t.replace(",True", ",maybe", 1)),
        "is_base must be True or False",
    ),
    Case("fit: empty model id", _table(lambda t: t.replace("org0/m1,", ",", 1)), "no model id"),
    Case(
        "fit: harmonize.json garbage",
        lambda r: (
            (synthetic(r) / "processed" / "harmonize.json").write_text("{"),
            fit(r / "data", r / "r"),
        )[1],
        "harmonize.json: unreadable",
    ),
    Case("fit: models.csv missing", lambda r: fit(r / "nodata", r / "r"), "not found"),
    Case(
        "fit: --exclude unknown id",
        lambda r: fit(synthetic(r), r / "r", "--exclude", "no/such"),
        "--exclude: models not in the table",
    ),
    Case(
        "fit: --models unknown id",
        lambda r: fit(synthetic(r), r / "r", "--models", "no/such"),
        "models not in the table",
    ),
    Case(
        "fit: --target unknown",
        lambda r: fit(synthetic(r), r / "r", "--target", "s:nope"),
        "unknown target",
    ),
    Case(
        "fit: --target flops",
        lambda r: fit(synthetic(r), r / "r", "--target", "flops"),
        "is model metadata",
    ),
    Case(
        "fit: --benchmarks unknown",
        lambda r: ["fit", *common(synthetic(r)), "--out", str(r / "r"), "--benchmarks", "s:nope"],
        "unknown benchmark",
    ),
    Case(
        "fit: --benchmarks params_b",
        lambda r: ["fit", *common(synthetic(r)), "--out", str(r / "r"), "--benchmarks", "params_b"],
        "metadata",
    ),
    Case(
        "fit: unknown reference family",
        lambda r: [*fit(synthetic(r), r / "r"), "--reference-family", "Nope"],
        "unknown reference family",
    ),
    Case(
        "fit: unknown --families",
        lambda r: fit(synthetic(r), r / "r", "--families", "f9"),
        "families not in the table",
    ),
    Case(
        "fit: --out is a file",
        lambda r: ((r / "f").write_text("x"), fit(synthetic(r), r / "f"))[1],
        "is a file",
        protect="root",
    ),
    Case(
        "fit: --out into processed/",
        lambda r: fit(synthetic(r), r / "data" / "processed"),
        "which obsscale manages",
    ),
    Case(
        "fit: --components 0",
        lambda r: fit(synthetic(r), r / "r", "--components", "0"),
        "must be a positive integer",
    ),
    Case("fit: --subset unknown", lambda r: fit(synthetic(r), r / "r", "--subset", "nope"), "nope"),
    Case(
        "fit: deliberate edit, trusted",
        lambda r: (
            edit(models(synthetic(r)), ",F1,", ",F2,"),
            fit(r / "data", r / "r", "--no-targets", "--trust-edited"),
        )[1],
        "",
        ok=True,
    ),
    # predict
    Case(
        "predict: unknown target",
        _on_synthetic("predict", "--target", "x", "--benchmarks", *S),
        "unknown target column",
    ),
    Case(
        "predict: --out processed/models.csv",
        _on_synthetic(
            "predict", "--target", "s:target", "--benchmarks", *S, out="DATA/processed/models.csv"
        ),
        "inside the data folder",
    ),
    Case(
        "predict: --out a new file in the data folder",
        _on_synthetic("predict", "--target", "s:target", "--benchmarks", *S, out="DATA/x.json"),
        "inside the data folder",
    ),
    Case(
        "predict: --exclude unknown id",
        _on_synthetic(
            "predict", "--target", "s:target", "--benchmarks", *S, "--exclude", "no/such"
        ),
        "--exclude: models not in the table",
    ),
    Case(
        "predict: --downstream missing",
        _on_synthetic(
            "predict", "--target", "m", "--downstream", "/no/such.csv", "--benchmarks", *S
        ),
        "no/such.csv",
    ),
    Case(
        "predict: --bootstrap -1",
        _on_synthetic("predict", "--target", "s:target", "--bootstrap", "-1"),
        "must be",
    ),
    Case(
        "predict: two splits",
        _on_synthetic(
            "predict",
            "--target",
            "s:target",
            "--cutoff-flops",
            "1e22",
            "--kfold",
            "5",
            "--benchmarks",
            *S,
        ),
        "choose one split",
    ),
    # forecast
    Case(
        "forecast: --scores names a model twice",
        _scores("Model,s:b0\nnew/a,0.5\nNEW/A,0.6\n"),
        "appears twice",
    ),
    Case(
        "forecast: --scores 70 (percent)", _scores("Model,s:b0\nnew/a,70\n"), "fractions in [0, 1]"
    ),
    Case(
        "forecast: --scores without Model",
        _scores("name,s:b0\nnew/a,0.5\n"),
        "needs a 'Model' column",
    ),
    Case(
        "forecast: --out raw/manifest.json",
        _on_synthetic(
            "forecast",
            "--at-flops",
            "1e23",
            "--target",
            "s:target",
            "--benchmarks",
            *S,
            out="DATA/raw/manifest.json",
        ),
        "inside the data folder",
    ),
    Case(
        "forecast: --complete --out models.csv",
        _on_synthetic(
            "forecast",
            "--complete",
            "--target",
            "s:target",
            "--benchmarks",
            *S,
            out="DATA/processed/models.csv",
        ),
        "inside the data folder",
    ),
    Case(
        "forecast: --out is its --scores",
        lambda r: [*_scores("Model,s:b0\nnew/a,0.5\n")(r), "--out", str(r / "scores.csv")],
        "is an input of this command",
        protect="root",
    ),
    Case(
        "forecast: nothing to forecast",
        _on_synthetic("forecast", "--target", "s:target"),
        "nothing to forecast",
    ),
    Case(
        "forecast: --flops and sizes",
        _on_synthetic(
            "forecast", "--family", "F0", "--flops", "1e23", "--params-b", "7", "--tokens-t", "2"
        ),
        "not both",
    ),
    # report
    Case(
        "report: no run",
        lambda r: ["report", "--data-dir", str(synthetic(r)), "--out", str(r / "none")],
        "run `obsscale fit` first",
    ),
    Case(
        "report: run.json names ../ files",
        _report(_run_json(lambda run: run["fit"].update(file="../../x.json"))),
        "outside the run folder",
        protect="root",
    ),
    Case(
        "report: run.json without 'targets'",
        _report(_run_json(lambda run: run.pop("targets"))),
        "malformed",
        protect="root",
    ),
    Case(
        "report: run.json garbage",
        _report(lambda d, o: (o / "run.json").write_text("[")),
        "not a readable",
        protect="root",
    ),
    Case(
        "report: fit.json edited",
        _report(lambda d, o: edit(o / "fit.json", "1", "2")),
        "was changed after",
        protect="root",
    ),
    Case(
        "report: predict file deleted",
        _report(lambda d, o: [p.unlink() for p in o.glob("predict-*.json")]),
        "is missing",
        protect="root",
    ),
    Case(
        "report: models.csv changed since fit",
        _report(
            lambda d, o: (
                edit(models(d), ",F1,", ",F2,"),
                cache.record_build(d / "processed", None, {}),
            )
        ),
        "changed since",
        protect="root",
    ),
    Case(
        "report: quality.csv edited",
        _report(lambda d, o: (d / "processed" / "quality.csv").write_text("model,severity\n")),
        "not the table `obsscale harmonize` wrote",
        protect="root",
    ),
    # select
    Case("select: --budget 0", _on_synthetic("select", "--budget", "0"), "must be"),
    Case(
        "select: --exclude unknown id",
        _on_synthetic("select", "--budget", "3", "--exclude", "no/such"),
        "--exclude: models not in the table",
    ),
    Case(
        "select: models.csv cut short",
        lambda r: (
            models(synthetic(r)).write_text(models(r / "data").read_text()[:500]),
            ["select", *common(r / "data"), "--budget", "3"],
        )[1],
        "not the table",
    ),
]

NETWORK = ("fetch:",)


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    files = (p for p in folder.rglob("*") if p.is_file() and p.name != ".obsscale.lock")
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}  # the lock: empty


def run_case(case: Case) -> tuple[str, str, float]:
    """(outcome, the error line or why, seconds)."""
    from obsscale.cli import commands

    saved = commands.cmd_harmonize
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        args = case.setup(root)
        protect = {"data": root / "data", "root": root}.get(case.protect)
        network = case.name.startswith(NETWORK)
        before = snapshot(protect) if protect and not network else None
        err, logs = io.StringIO(), io.StringIO()
        handler = logging.StreamHandler(logs)
        handler.setLevel(logging.WARNING)
        logging.getLogger().addHandler(handler)
        start = time.monotonic()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    rc = main(args)
                except SystemExit as e:  # argparse
                    rc = int(e.code or 0)
        except BaseException as e:  # a traceback: always bad
            return "bad", f"traceback: {type(e).__name__}: {e}", time.monotonic() - start
        finally:
            logging.getLogger().removeHandler(handler)
            commands.cmd_harmonize = saved
        took = time.monotonic() - start
        text = err.getvalue()
        lines = [ln for ln in text.splitlines() if "error:" in ln or "terminated" in ln]
        said = text + logs.getvalue()
        leftovers = [p for p in root.rglob("*") if p.name.endswith((".part", ".new"))]
        if took > LIMIT_S:
            return "bad", f"took {took:.0f} s", took
        if leftovers:
            return "bad", f"left {leftovers[0].name}", took
        if case.ok:
            if rc != 0:
                return "bad", f"exit {rc}: {text.strip()[:160]}", took
            return ("good" if case.expect in said else "weak"), case.expect or "exit 0", took
        if rc == 0:
            return "bad", "exit 0", took
        if before is not None and snapshot(protect) != before:
            return "bad", "a protected file changed", took
        named = [ln for ln in text.splitlines() if case.expect and case.expect in ln]
        line = (named or lines or text.strip().splitlines() or ["(no message)"])[-1]
        if "Traceback" in text:
            return "bad", "traceback printed", took
        return ("good" if case.expect in text else "weak"), line[:200], took


def main_sweep() -> int:
    global FITTED
    logging.basicConfig(level=logging.WARNING)
    SERVER.thread.start()
    SERVER.httpd.handle_error = lambda *a: None  # type: ignore[method-assign]
    keep = Path(tempfile.mkdtemp())
    try:
        data = synthetic(keep)
        assert main(fit(data, keep / "reports", "--target", "s:target")) == 0
        FITTED = keep / "reports"
        counts: dict[str, int] = {}
        for i, case in enumerate(CASES, start=1):
            outcome, why, took = run_case(case)
            counts[outcome] = counts.get(outcome, 0) + 1
            print(f"| {i} | {case.name} | {outcome} | {took:.1f} s | {why.replace('|', '/')} |")
            sys.stdout.flush()
        print(f"\n{len(CASES)} cases: {counts}")
        return 1 if counts.get("bad") else 0
    finally:
        shutil.rmtree(keep, ignore_errors=True)
        SERVER.httpd.shutdown()


if __name__ == "__main__":
    sys.exit(main_sweep())
