"""No module imports a private name (``_name``) from another module: what a module shares is
public, so that renaming a private helper never breaks a distant importer."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "obsscale"


def private_imports(source: str) -> list[str]:
    """``module.name`` for every private name a source imports from another module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found += [
                f"{node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
        elif isinstance(node, ast.Import):
            found += [
                a.name for a in node.names if any(p.startswith("_") for p in a.name.split(".")[1:])
            ]
    return found


def test_the_scan_finds_a_private_import() -> None:
    assert private_imports("from a.b import _c, d\nimport x._y\n") == ["a.b._c", "x._y"]
    assert private_imports("from __future__ import annotations\nfrom a import __version__\n") == []


def test_no_module_imports_a_private_name() -> None:
    offenders = {
        str(path.relative_to(SRC)): names
        for path in sorted(SRC.rglob("*.py"))
        if (names := private_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
