"""A fit run's artifacts: written into a fresh folder and switched in whole, read back with
every file checked against the sha256 that ``run.json`` records.

``obsscale fit`` takes minutes; killed meanwhile (Ctrl-C, SIGTERM, a full disk), it must not
leave the previous run half replaced. So the run is written into ``OUT/.run.*.new/`` and only
at the end moved into ``OUT`` with the signals held back for those few renames: the previous
``run.json`` goes first and the new one comes last, so that a run killed outright (SIGKILL)
mid-switch leaves no ``run.json`` or one whose hashes name the mismatch, never a silent mix.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsscale.config import PredictConfig, ReportTarget, build_settings
from obsscale.data import store
from obsscale.exceptions import ArtifactError
from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction.results import PredictionResult

log = logging.getLogger(__name__)

RUN_FORMAT = "obsscale.run/1"
RUN_FILE = "run.json"
STALE_AFTER = 3600.0  # s: a staging folder this old was left by a killed run


@contextlib.contextmanager
def run_folder(out_dir: Path) -> Iterator[Path]:
    """Yield a fresh staging folder in ``out_dir``; if the block succeeds, its files replace
    the previous run's (files of that run this one does not produce are removed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out_dir)
    stage = Path(tempfile.mkdtemp(dir=out_dir, prefix=".run.", suffix=".new"))
    try:
        yield stage
        _switch_in(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _switch_in(stage: Path, out_dir: Path) -> None:
    new = sorted(p.name for p in stage.iterdir() if p.is_file() and p.name != RUN_FILE)
    with store.signals_deferred():
        (out_dir / RUN_FILE).unlink(missing_ok=True)
        _remove_stale(out_dir, set(new))
        for name in new:
            os.replace(stage / name, out_dir / name)
        os.replace(stage / RUN_FILE, out_dir / RUN_FILE)


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Back-tests and forecasts of an earlier run that this one does not produce."""
    stale = [*out_dir.glob("predict-*.json"), out_dir / "forecast.json"]
    for path in (p for p in stale if p.exists()):
        if path.name not in keep:
            log.info("removing %s: not produced by this run", path)
            path.unlink()


def _remove_stale_staging(out_dir: Path) -> None:
    now = time.time()
    for path in out_dir.glob(".run.*.new"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime >= STALE_AFTER:
                shutil.rmtree(path)


@dataclass
class FitRun:
    """A fit run read back from its artifacts (what the report renders)."""

    fit: CapabilityFit
    targets: list[tuple[ReportTarget, PredictionResult | None, str | None]]
    predict: PredictConfig
    models_sha256: str
    forecast: Any = None  # ForecastResult, or None
    frontier: dict[str, Any] | None = None  # frontier.json (None: a run from before it)
    efficiency_answer: str | None = None  # the most compute-efficient family, in a sentence


def load_run(out_dir: Path) -> FitRun:
    """Read ``run.json`` and every file it names, checking each file's hash."""
    out_dir = Path(out_dir)
    run = store.read_json(out_dir / RUN_FILE, what="fit run (run `obsscale fit` first)")
    if not isinstance(run, dict) or run.get("format") != RUN_FORMAT:
        got = run.get("format") if isinstance(run, dict) else type(run).__name__
        raise ArtifactError(f"{out_dir / RUN_FILE}: not an obsscale run (format {got!r})")
    try:
        return _read_run(out_dir, run)
    except (KeyError, TypeError, AttributeError) as e:
        raise ArtifactError(
            f"{out_dir / RUN_FILE}: malformed ({type(e).__name__}: {e}); rerun `obsscale fit`"
        ) from e


def _read_run(out_dir: Path, run: dict[str, Any]) -> FitRun:
    _check_hash(out_dir, run["fit"])
    fit = CapabilityFit.load(out_dir / run["fit"]["file"])
    if fit.input_sha256 not in (None, run["models_sha256"]):
        raise ArtifactError(
            f"{out_dir / run['fit']['file']}: fitted on another models.csv than run.json "
            "names; rerun `obsscale fit`"
        )
    targets = []
    for entry in run["targets"]:
        target = build_settings(ReportTarget, entry["target"], f"{out_dir / 'run.json'} target")
        result = None
        if entry["file"]:
            _check_hash(out_dir, entry)
            data = store.read_json(out_dir / entry["file"], what="back-test")
            result = PredictionResult.from_dict(data, entry.get("extras"))
        targets.append((target, result, entry["error"]))
    forecast = None
    entry = run.get("forecast")
    if entry and entry.get("file"):
        from obsscale.model.forecast.results import ForecastResult

        _check_hash(out_dir, entry)
        forecast = ForecastResult.from_dict(store.read_json(out_dir / entry["file"], "forecast"))
    frontier = None
    if run.get("frontier"):
        _check_hash(out_dir, run["frontier"])
        frontier = store.read_json(out_dir / run["frontier"]["file"], "frontier analysis")
    predict = build_settings(PredictConfig, run["predict"], f"{out_dir / 'run.json'} [predict]")
    answer = run.get("efficiency_answer")  # absent in a run from before it: no sentence
    if answer is not None and not isinstance(answer, str):
        raise TypeError(f"efficiency_answer is a {type(answer).__name__}, not text")
    return FitRun(fit, targets, predict, run["models_sha256"], forecast, frontier, answer)


def _check_hash(out_dir: Path, entry: dict[str, Any]) -> None:
    name = str(entry["file"])
    if Path(name).name != name:  # run.json names files of its own folder only
        raise ArtifactError(f"{out_dir / RUN_FILE}: file name {name!r} outside the run folder")
    path = out_dir / name
    if not path.exists():
        raise ArtifactError(f"{path} is missing; rerun `obsscale fit`")
    if store.sha256_file(path) != entry["sha256"]:
        raise ArtifactError(
            f"{path} was changed after `obsscale fit` wrote it (sha256 differs from run.json); "
            "rerun `obsscale fit`"
        )
