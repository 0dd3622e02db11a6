"""The settings schema: every setting is declared once, in its dataclass (``settings``), with its
type (the annotation), its default, its allowed range and its help text (``setting(...)``).

Every way of building settings goes through ``check``: constructing one from Python (and
``dataclasses.replace``), reading a TOML file (``loading``), a run's record (run.json, fit.json)
and the command line (``cli/options``, which also reads defaults, ranges and help from here).
The check is strict: no bool for a number, no float for a whole number, no NaN or infinity, a
choice exactly one of its values, lists of the declared items and length; every problem of an
object is reported at once.

Why not pydantic: the settings use a closed vocabulary of types (numbers, strings, paths,
choices, lists of those, nested settings), which the ~60 lines of ``_conform`` check as strictly;
pydantic's import and first model cost 0.1 s of CPU per command with bytecode caches and 0.25 s
without (measured: python -X importtime and /usr/bin/time, pydantic 2.14), a tenth of
``obsscale predict``. The dataclasses stay plain frozen values (``replace``, ``asdict``, hashing,
the records' JSON shape unchanged).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import types
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from obsscale.exceptions import ConfigError, DeprecatedSettingWarning, SettingValueError

_SPEC = "obsscale.schema"
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Allowed range of a number (``ge``/``gt``/``le``/``lt``) or least length of a string or
    list (``min_length``). Used in ``setting(...)`` and, for the items of a list, in
    ``Annotated[float, Bounds(...)]``."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    min_length: int | None = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def __str__(self) -> str:
        signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
        parts = [f"{signs[k]} {_number_text(v)}" for k, v in self.given().items() if k in signs]
        return " and ".join(parts)


def _number_text(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


# items of a list setting
Positive = Annotated[float, Bounds(gt=0)]
NonNegative = Annotated[float, Bounds(ge=0)]
OpenFraction = Annotated[float, Bounds(gt=0, lt=1)]


@dataclasses.dataclass(frozen=True)
class Spec:
    """What ``setting(...)`` records on a field: its help text and its bounds."""

    help: str
    bounds: Bounds = Bounds()


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    factory: Any = dataclasses.MISSING,
    **bounds: Any,
) -> Any:
    """A dataclass field with its help text and allowed range (``ge``, ``gt``, ``le``, ``lt``,
    ``min_length``); ``factory`` for a mutable default."""
    meta = {_SPEC: Spec(help, Bounds(**bounds))}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


class Settings:
    """Base of every settings dataclass: checked against the schema when built."""

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        clean, problems = check(type(self), values)
        if problems:
            raise ConfigError(f"{type(self).__name__}: " + "; ".join(problems))
        for name, value in clean.items():
            if value is not values[name]:
                object.__setattr__(self, name, value)  # lists frozen to tuples, 1 -> 1.0


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One declared setting, as the CLI and the error messages read it."""

    name: str
    hint: Any
    spec: Spec
    declared: dataclasses.Field

    @property
    def default(self) -> Any:
        """The declared default (built afresh from a factory), or ``dataclasses.MISSING``."""
        factory = self.declared.default_factory
        return self.declared.default if factory is dataclasses.MISSING else factory()

    @property
    def choices(self) -> tuple[Any, ...] | None:
        return get_args(self.hint) if get_origin(self.hint) is Literal else None

    @property
    def expected(self) -> str:
        return describe(self.hint, self.spec.bounds)


@functools.cache
def schema(cls: type) -> dict[str, FieldInfo]:
    """The declared fields of a settings class, by name."""
    hints = get_type_hints(cls, include_extras=True)
    out = {}
    for f in dataclasses.fields(cls):
        out[f.name] = FieldInfo(f.name, hints[f.name], f.metadata.get(_SPEC, Spec("")), f)
    return out


def check(cls: type, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``values`` (all fields of ``cls``) as checked (lists as tuples, whole numbers given for
    decimals as floats), and one line per problem: ``key = value: expected ...``, unknown and
    missing keys included."""
    known = schema(cls)
    problems = [f"unknown key {k!r} (known: {', '.join(known)})" for k in values if k not in known]
    clean = {}
    for name, info in known.items():
        if name not in values:
            problems.append(f"{name} is missing: expected {info.expected} ({info.spec.help})")
            continue
        try:
            clean[name] = _conform(info.hint, info.spec.bounds, freeze(values[name]))
        except SettingValueError:
            problems.append(f"{name} = {values[name]!r}: expected {info.expected}")
    return (clean, []) if not problems else ({}, problems)


def build_settings(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """``cls`` from a record (a run's JSON, a TOML table): the defaults updated by ``values``;
    a ``ConfigError`` names ``where`` and every problem."""
    values, problems = renamed(cls, values, where)
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    clean, problems = check(cls, {**defaults(cls), **values})
    if problems:
        raise ConfigError(f"{where}: " + "; ".join(problems))
    return cls(**clean)


def renamed(cls: type, values: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    """``values`` with each setting given by its former name (``cls.RENAMED``: old -> new)
    moved to its new name, with a ``DeprecatedSettingWarning`` naming both, so that files and
    run records written before a rename still load; both names at once is a problem."""
    out, problems = dict(values), []
    for old, new in getattr(cls, "RENAMED", {}).items():
        if old not in out:
            continue
        value = out.pop(old)
        if new in out:
            problems.append(f"{old} is the former name of {new}: give {new} only")
            continue
        out[new] = value
        warnings.warn(
            f"{where}: {old} is now called {new}; read as {new}", DeprecatedSettingWarning, 3
        )
    return out, problems


def defaults(cls: type) -> dict[str, Any]:
    """The declared defaults of a settings class (required fields left out)."""
    values = {name: f.default for name, f in schema(cls).items()}
    return {name: v for name, v in values.items() if v is not dataclasses.MISSING}


def freeze(value: Any) -> Any:
    """Lists (from TOML, JSON or a caller) as tuples, recursively: settings are frozen values."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return {k: freeze(v) for k, v in value.items()}
    return value


def parse_text(hint: Any, bounds: Bounds, text: str) -> Any:
    """A command-line word as a value of ``hint``, checked like a setting (``ValueError`` with
    the expected form otherwise)."""
    try:
        return _conform(hint, bounds, _from_text(_unwrap(hint), text))
    except (ValueError, KeyError, SettingValueError):
        raise ValueError(f"{text!r}: expected {describe(hint, bounds)}") from None


def _from_text(base: Any, text: str) -> Any:
    if base is bool:
        return {"true": True, "false": False, "yes": True, "no": False}[text.lower()]
    if base is datetime.date:
        return datetime.date.fromisoformat(text)
    if base is Path:
        return Path(text)
    return base(text) if base in (int, float) else text


def _unwrap(hint: Any) -> Any:
    return get_args(hint)[0] if get_origin(hint) is Annotated else hint


def describe(hint: Any, bounds: Bounds = Bounds(), plural: bool = False) -> str:
    """What a value of ``hint`` within ``bounds`` looks like, in words (for errors and help)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        inner = [m for m in args[1:] if isinstance(m, Bounds)]
        return describe(args[0], inner[0] if inner else bounds, plural)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        kinds = [describe(a, bounds, plural) for a in args if a is not type(None)]
        return " or ".join(kinds) + (" (or none)" if type(None) in args else "")
    if origin is tuple:
        return _describe_list(args, bounds, plural)
    if origin is dict:
        return f"a table of {describe(args[1], plural=True)}"
    name = getattr(hint, "__name__", str(hint))
    words = _WORDS.get(hint, (f"a {name} object", f"{name} objects"))
    text = words[1] if plural else words[0]
    if bounds.min_length and hint is str:
        text = "non-empty " + text if plural else "a non-empty string"
    return f"{text} {bounds}".rstrip()


_WORDS: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "true/false values"),
    int: ("a whole number", "whole numbers"),
    float: ("a finite number", "finite numbers"),
    str: ("a string", "strings"),
    Path: ("a path", "paths"),
    datetime.date: ("a date YYYY-MM-DD", "dates YYYY-MM-DD"),
}


def _describe_list(args: tuple[Any, ...], bounds: Bounds, plural: bool) -> str:
    head = "lists of" if plural else "a list of"
    if len(args) == 2 and args[1] is Ellipsis:
        least = f" (at least {bounds.min_length})" if bounds.min_length else ""
        return f"{head} {describe(args[0], plural=True)}{least}"
    if len(set(args)) == 1:
        return f"{head} {len(args)} {describe(args[0], plural=True)}"
    return f"{head} " + ", ".join(describe(a) for a in args)


def _conform(hint: Any, bounds: Bounds, value: Any) -> Any:
    """``value`` as a value of ``hint`` within ``bounds`` (an int given for a float becomes a
    float), or ``SettingValueError``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        inner = [m for m in args[1:] if isinstance(m, Bounds)]
        return _conform(args[0], inner[0] if inner else bounds, value)
    if origin is Literal:
        return _require(value, any(type(value) is type(a) and value == a for a in args))
    if origin in (Union, types.UnionType):
        return _first_fit(args, bounds, value)
    if origin is tuple:
        return _conform_tuple(args, bounds, value)
    if origin is dict:
        _require(value, isinstance(value, dict))
        return {
            _conform(args[0], Bounds(), k): _conform(args[1], Bounds(), v) for k, v in value.items()
        }
    if hint in (int, float):
        return _number(hint, bounds, value)
    if hint is str:
        return _require(value, isinstance(value, str) and len(value) >= (bounds.min_length or 0))
    if hint is Path and isinstance(value, str):
        return Path(value)
    return _require(value, isinstance(value, hint))  # bool, Path, date, nested settings


def _require(value: Any, ok: bool) -> Any:
    if not ok:
        raise SettingValueError
    return value


def _first_fit(args: tuple[Any, ...], bounds: Bounds, value: Any) -> Any:
    if value is None:
        return _require(value, type(None) in args)
    for a in args:
        try:
            return _conform(a, bounds, value)
        except SettingValueError:
            continue
    raise SettingValueError


def _conform_tuple(args: tuple[Any, ...], bounds: Bounds, value: Any) -> tuple[Any, ...]:
    _require(value, isinstance(value, tuple))
    if len(args) == 2 and args[1] is Ellipsis:
        _require(value, len(value) >= (bounds.min_length or 0))
        return tuple(_conform(args[0], Bounds(), v) for v in value)
    _require(value, len(value) == len(args))
    return tuple(_conform(a, Bounds(), v) for a, v in zip(args, value, strict=True))


def _number(kind: type, bounds: Bounds, value: Any) -> Any:
    ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
    _require(value, ok and not isinstance(value, bool) and math.isfinite(value))
    b = bounds
    _require(value, b.ge is None or value >= b.ge)
    _require(value, b.gt is None or value > b.gt)
    _require(value, b.le is None or value <= b.le)
    _require(value, b.lt is None or value < b.lt)
    return kind(value)
