"""Settings from a TOML file, checked against the dataclasses' own fields and types."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from obsscale.config.settings import Config, ReportTarget


def load_config_file(path: str | Path, config: Config) -> Config:
    """Override settings from a TOML file with [capabilities], [predict], [audit], [network]
    and [report] tables (``[[report.targets]]`` entries: column, chance, cutoff_flops)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read config ({e})") from e
    sections = {
        "capabilities": config.capabilities,
        "predict": config.predict,
        "audit": config.audit,
        "network": config.network,
        "forecast": config.forecast,
    }
    changes: dict[str, Any] = {}
    for name, table in data.items():
        if name == "report":
            entries = table.get("targets", [])
            targets = tuple(
                _typed(ReportTarget(column=""), t, f"{path}: [[report.targets]] entry {i + 1}")
                for i, t in enumerate(entries)
            )
            extra = {k: v for k, v in table.items() if k != "targets"}
            report = _typed(config.report, extra, f"{path}: [report]")
            changes["report"] = replace(report, **({"targets": targets} if targets else {}))
        elif name in sections:
            changes[name] = _typed(sections[name], table, f"{path}: [{name}]")
        else:
            raise ValueError(
                f"{path}: unknown section [{name}]; known: {sorted([*sections, 'report'])}"
            )
    return replace(config, **changes)


def _typed(current: Any, table: dict[str, Any], where: str) -> Any:
    """``current`` with the table's values, each checked against the type of its default."""
    known = {f.name: getattr(current, f.name) for f in fields(current)}
    unknown = set(table) - set(known)
    if unknown:
        raise ValueError(f"{where} has unknown keys {sorted(unknown)}; known: {sorted(known)}")
    values = {}
    for key, value in table.items():
        default = known[key]
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise ValueError(f"{where}: {key} must be a list, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{where}: {key} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}: {key} must be a number, got {value!r}")
            if isinstance(default, int) and not isinstance(value, int):
                raise ValueError(f"{where}: {key} must be a whole number, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, got {value!r}")
        values[key] = value
    return replace(current, **values)
