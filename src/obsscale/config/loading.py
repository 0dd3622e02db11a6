"""Settings from a TOML file, checked up front against the dataclasses' own fields and types
and against the ranges declared in ``constraints``: every problem of the file is reported at
once, each naming the file, the section, the key and what was expected."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from obsscale.config.constraints import violations
from obsscale.config.settings import Config, ReportTarget
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
            changes[name] = _section(getattr(config, name), table, f"[{name}]", errors)
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
        if not isinstance(entry.get("column"), str) or not entry["column"]:
            errors.append(f"{where}: column must be a score column name such as 'obsscaling:MMLU'")
            continue
        targets.append(_section(ReportTarget(column=""), entry, where, errors))
    extra = {k: v for k, v in table.items() if k != "targets"}
    report = _section(config.report, extra, "[report]", errors)
    return replace(report, targets=tuple(targets)) if targets else report


def _section(current: Any, table: dict[str, Any], where: str, errors: list[str]) -> Any:
    """``current`` with the table's values, each checked against its default's type and its
    declared range; problems are appended to ``errors`` (``current`` is returned then)."""
    known = {f.name: getattr(current, f.name) for f in fields(current)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        errors.append(f"{where} has unknown keys {unknown}; known: {sorted(known)}")
    values = {}
    for key, value in table.items():
        if key in known:
            problem = _type_problem(known[key], value)
            if problem:
                errors.append(f"{where} {key} = {value!r}: expected {problem}")
            else:
                values[key] = _as_tuple(value) if isinstance(known[key], tuple) else value
    if len(values) < len(table):
        return current
    updated = replace(current, **values)
    errors.extend(f"{where} {v}" for v in violations(updated) if v.split(" ")[0] in values)
    return updated


def _as_tuple(value: list[Any]) -> tuple[Any, ...]:
    return tuple(_as_tuple(v) if isinstance(v, list) else v for v in value)


def _type_problem(default: Any, value: Any) -> str | None:
    """What ``value`` should have been, judged by the type of the setting's default."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, tuple):
        if not isinstance(value, list):
            return "a list"
        if default and all(isinstance(d, tuple) for d in default):  # pairs of names
            ok = all(isinstance(v, list) and len(v) == 2 for v in value) and all(
                isinstance(x, str) for v in value for x in v
            )
            return None if ok else "a list of [name, name] pairs"
        if default and all(isinstance(d, str) for d in default):
            ok = all(isinstance(v, str) for v in value)
            return None if ok else "a list of strings"
        if default and all(isinstance(d, float) for d in default):
            ok = len(value) == len(default) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
            )
            return None if ok else f"a list of {len(default)} numbers"
    return None
