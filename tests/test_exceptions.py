"""One error hierarchy: every error and warning is declared in ``obsscale.exceptions`` and
derives from ``ObsscaleError`` / ``ObsscaleWarning``; the CLI prints those as one line and lets
anything else (a bug) raise with its traceback."""

from __future__ import annotations

import argparse
import ast
import inspect
from pathlib import Path

import pytest

from obsscale import exceptions
from obsscale.cli import main
from obsscale.exceptions import ObsscaleError, ObsscaleWarning, PredictError

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
