"""One error hierarchy: every error and warning is declared in ``obsscale.exceptions`` and
derives from ``ObsscaleError`` / ``ObsscaleWarning``; the CLI prints those as one line and lets
anything else (a bug) raise with its traceback."""

from __future__ import annotations

import argparse
import ast
import inspect
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from obsscale import exceptions
from obsscale.cli import main
from obsscale.exceptions import (
    ArtifactError,
    InvalidParameterError,
    ObsscaleError,
    ObsscaleWarning,
    PredictError,
)
from obsscale.model.prediction.predictor import DownstreamPredictor
from obsscale.model.prediction.sigmoid import SigmoidRegressor
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops, CutoffRank, KFold

SRC = Path(__file__).resolve().parent.parent / "src" / "obsscale"


def test_every_class_in_exceptions_belongs_to_the_hierarchy() -> None:
    classes = [c for _, c in inspect.getmembers(exceptions, inspect.isclass)]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, ObsscaleError | ObsscaleWarning) or cls is ObsscaleError, cls


def test_no_exception_class_is_declared_elsewhere() -> None:
    elsewhere = []
    for path in SRC.rglob("*.py"):
        if path.name == "exceptions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith(("Error", "Warning")):
                elsewhere.append(f"{path.relative_to(SRC)}: {node.name}")
    assert elsewhere == []


class _Failing:
    """A parser whose only command raises ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def parse_args(self, argv: object) -> argparse.Namespace:
        return argparse.Namespace(command="harmonize", verbose=0, func=self.run)

    def run(self, args: argparse.Namespace) -> int:
        raise self.exc


def _failing(exc: BaseException, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("obsscale.cli.build_parser", lambda: _Failing(exc))


def test_a_user_error_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    _failing(PredictError("target 'x' has 2 models"), monkeypatch)
    assert main(["harmonize", "--data-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == "obsscale harmonize: error: target 'x' has 2 models\n"


def test_a_bug_raises_with_its_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _failing(KeyError("pc"), monkeypatch)
    with pytest.raises(KeyError, match="pc"):
        main(["harmonize", "--data-dir", str(tmp_path)])


# ------------------------------------------------- user errors raised as ObsscaleError at source


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: CutoffFlops(-1.0), r"CutoffFlops: flops must be a finite number > 0, got -1"),
        (lambda: CutoffFlops(math.nan), "CutoffFlops: flops"),
        (lambda: CutoffDate("June 2024"), r"CutoffDate: date must be a YYYY-MM-DD date"),
        (lambda: KFold(1), r"KFold: k must be a whole number >= 2, got 1"),
        (lambda: CutoffRank(1.5), r"CutoffRank: fraction must lie in \(0, 1\), got 1.5"),
    ],
)
def test_a_bad_split_built_in_python_is_a_user_error(build: Any, match: str) -> None:
    with pytest.raises(PredictError, match=match):
        build()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "paper"}, r"parameter 'method' must be a PaperMethod or a DefaultMethod"),
        ({"interval": 90}, r"parameter 'interval' must be a number in \(0, 1\) or None; got 90"),
        ({"chance": 1.0}, r"parameter 'chance' must be a number in \[0, 1\); got 1.0"),
        ({"inputs": "pc"}, r"parameter 'inputs' must be a Inputs or None"),
    ],
)
def test_a_bad_predictor_parameter_names_itself_before_any_work(
    params: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        DownstreamPredictor(**params).fit(pd.DataFrame(), "target")


def test_too_few_models_for_a_link_is_a_user_error() -> None:
    with pytest.raises(PredictError, match="2 training models for 3 parameters"):
        SigmoidRegressor().fit(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0.2, 0.4]))


def test_a_user_error_from_the_model_layer_prints_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    def run(args: argparse.Namespace) -> int:
        DownstreamPredictor(method="paper").fit(pd.DataFrame(), "target")
        return 0

    parser = _Failing(RuntimeError())
    monkeypatch.setattr(parser, "run", run)
    monkeypatch.setattr("obsscale.cli.build_parser", lambda: parser)
    assert main(["harmonize", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("obsscale harmonize: error: DownstreamPredictor: parameter 'method'")


def _fetch_with_a_failure(monkeypatch: pytest.MonkeyPatch, harmonize_raises: Exception) -> None:
    """``fetch`` where one source failed and the harmonize after it raises."""
    failed = SimpleNamespace(
        status="failed", source="s", entry=None, error=" boom", cause="boom", host_down=False
    )
    monkeypatch.setattr("obsscale.data.fetch.fetch_all", lambda *a, **k: [failed])

    def harmonize(*args: object, **kw: object) -> None:
        raise harmonize_raises

    monkeypatch.setattr("obsscale.cli.commands._harmonize", harmonize)


def test_after_a_failed_fetch_a_user_error_of_harmonize_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    _fetch_with_a_failure(monkeypatch, ArtifactError("raw/s.csv not found"))
    assert main(["fetch", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "harmonize skipped: raw/s.csv not found\n" in err
    assert "Traceback" not in err


def test_after_a_failed_fetch_a_bug_in_harmonize_still_raises(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fetch_with_a_failure(monkeypatch, KeyError("family"))
    with pytest.raises(KeyError, match="family"):
        main(["fetch", "--data-dir", str(tmp_path)])
