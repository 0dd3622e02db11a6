"""Settings from a TOML file, each table checked against the schema (``schema.check``, the same
check as building the settings in Python): every problem of the file is reported at once, each
naming the file, the section, the key and what was expected."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from obsscale.config.run import Config
from obsscale.config.schema import check, defaults, renamed
from obsscale.config.settings import ReportConfig, ReportTarget
from obsscale.exceptions import ConfigError

SECTIONS = ("capabilities", "predict", "audit", "network", "forecast", "frontier", "report")


def load_config_file(path: str | Path, config: Config) -> Config:
    """Override settings from a TOML file with [capabilities], [predict], [audit], [network],
    [forecast], [frontier] and [report] tables (``[[report.targets]]``: column, chance,
    cutoff_flops)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read config ({e})") from e
    errors: list[str] = []
    changes: dict[str, Any] = {}
    for name, table in data.items():
        if name not in SECTIONS:
            errors.append(f"unknown section [{name}]; known: {', '.join(SECTIONS)}")
        elif not isinstance(table, dict):
            errors.append(f"{name} must be a table ([{name}] with keys), got {table!r}")
        elif name == "report":
            changes[name] = _report(config, table, errors)
        else:
            current = getattr(config, name)
            table, problems = renamed(type(current), table, f"{path} [{name}]")
            errors.extend(f"[{name}] {p}" for p in problems)
            changes[name] = _section(type(current), _values(current), table, f"[{name}]", errors)
    if errors:
        raise ConfigError(f"{path}: " + f"\n{path}: ".join(errors))
    return replace(config, **changes)


def _report(config: Config, table: dict[str, Any], errors: list[str]) -> Any:
    entries = table.get("targets", [])
    if not isinstance(entries, list):
        errors.append(f"[report] targets must be a list of tables, got {entries!r}")
        entries = []
    targets = []
    for i, entry in enumerate(entries, start=1):
        where = f"[[report.targets]] entry {i}"
        if not isinstance(entry, dict):
            errors.append(
                f"{where} must be a table with column, chance, cutoff_flops; got {entry!r}"
            )
            continue
        targets.append(_section(ReportTarget, {}, entry, where, errors))
    extra = {k: v for k, v in table.items() if k != "targets"}
    given = {"targets": tuple(targets)} if targets and None not in targets else {}
    values = {**_values(config.report), **given}
    return _section(ReportConfig, values, extra, "[report]", errors)


def _section(
    cls: type, current: dict[str, Any], table: dict[str, Any], where: str, errors: list[str]
) -> Any:
    """``cls`` from the ``current`` values updated by the table's, checked by the schema;
    problems are appended to ``errors`` (and None returned then)."""
    clean, problems = check(cls, {**defaults(cls), **current, **table})
    errors.extend(f"{where} {p}" for p in problems)
    return None if problems else cls(**clean)


def _values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
