"""Command-line options read from the settings schema: an option that sets a setting takes its
type, choices, range, default and help text from the setting's declaration
(``config.schema``), so none is repeated here; values are checked by the same code as the
settings themselves.

Declaring an option (any subcommand)::

    add_setting(group, "--bootstrap", PredictConfig, "n_bootstrap", metavar="B")
    ...
    pconf = config_from_args(args).predict  # the [predict] options given are applied

``overrides`` returns the settings of that class given on the command line (those not given
keep the configured value: TOML, else the declared default). An option that is not a setting
(a budget, a file) checks its value with ``value_type(float, gt=0)``; ``type=`` replaces the
setting's own parser where the command line needs more (score columns, not any name).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args, get_origin

from obsscale.config import (
    CapabilityConfig,
    Config,
    PredictConfig,
    default_config,
    load_config_file,
)
from obsscale.config.schema import Bounds, FieldInfo, describe, parse_text, schema

_PREFIX = "setting:"


def add_setting(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    flag: str,
    cls: type,
    name: str,
    *,
    dest: str | None = None,
    help: str | None = None,
    default_text: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """An option setting ``cls.name``. A bool setting becomes a switch to the opposite of its
    default; ``dest`` (default: collected by ``overrides``) and ``help``/``default_text`` (the
    setting's help and default) may be given where the option means something more."""
    info = schema(cls)[name]
    text = help or info.spec.help
    if info.hint is bool:
        shown = default_text or ("yes" if info.default else "no")
        kwargs.update(action="store_false" if info.default else "store_true", default=None)
        dest = dest or _dest(cls, name)
        return p.add_argument(flag, dest=dest, help=f"{text} (default {shown})", **kwargs)
    kwargs.setdefault("metavar", name.upper())
    if info.choices:
        kwargs.update(choices=info.choices, metavar=None)
    elif get_origin(info.hint) is tuple:
        kwargs.setdefault("type", _item_type(info.hint))
        kwargs["nargs"] = "+"
    else:
        kwargs.setdefault("type", _checked(info.hint, info.spec.bounds))
    tail = _help_tail(info, default_text)
    return p.add_argument(
        flag,
        dest=dest or _dest(cls, name),
        default=None,
        help=_escape(f"{text} ({tail})"),
        **kwargs,
    )


def overrides(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The settings of ``cls`` given on the command line, by name (lists as tuples)."""
    prefix = f"{_PREFIX}{cls.__name__}."
    return {
        key.removeprefix(prefix): tuple(v) if isinstance(v, list) else v
        for key, v in vars(args).items()
        if key.startswith(prefix) and v is not None
    }


def value_type(kind: type, **bounds: Any) -> Callable[[str], Any]:
    """An argparse ``type`` for an option that is not a setting: ``kind`` within ``bounds``
    (``ge``, ``gt``, ``le``, ``lt``), checked as settings are."""
    return _checked(kind, Bounds(**bounds))


def expected(kind: type, **bounds: Any) -> str:
    """``value_type``'s values in words, for a help text."""
    return describe(kind, Bounds(**bounds))


def _dest(cls: type, name: str) -> str:
    return f"{_PREFIX}{cls.__name__}.{name}"


def _checked(hint: Any, bounds: Bounds) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return parse_text(hint, bounds, text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = describe(hint, bounds)  # argparse names the type in its messages
    return parse


def _item_type(hint: Any) -> Callable[[str], Any]:
    args = get_args(hint)
    return _checked(args[0], Bounds())


def _help_tail(info: FieldInfo, default_text: str | None) -> str:
    default = default_text or _shown(info.default)
    if info.choices:
        return f"default {default}"
    item = get_args(info.hint)[0] if get_origin(info.hint) is tuple else None
    if item is str:
        return f"default {default}"
    if item is not None:  # nargs="+": the items' form
        return f"{describe(item, plural=True)}; default {default}"
    return f"{info.expected}; default {default}"


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        if not value:
            return "none"
        return " ".join(_shown(v) for v in value) if len(value) <= 4 else f"{len(value)} values"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def config_from_args(args: argparse.Namespace) -> Config:
    """The defaults, then ./obsscale.toml or --config, then the settings given as options
    (the run's own and the predictor's, ``[predict]``, of whichever command has them)."""
    cfg = default_config(getattr(args, "data_dir", None), getattr(args, "mirror", None))
    given = getattr(args, "config", None)
    config_file = given or (Path("obsscale.toml") if Path("obsscale.toml").exists() else None)
    if config_file:
        cfg = load_config_file(config_file, cfg)
    changes: dict[str, Any] = overrides(args, Config)
    predict = overrides(args, PredictConfig)
    if predict:
        changes["predict"] = replace(cfg.predict, **predict)
    return cfg.with_overrides(**changes) if changes else cfg


#: the option that gives what an error names as its ``setting`` (``ObsscaleError.setting``),
#: and the attribute that option fills: named only for a command that has the option
OPTIONS: dict[str, tuple[str, str]] = {
    "predict.scale": ("--scale", _dest(PredictConfig, "scale")),
    "capabilities.benchmarks": ("--benchmarks", _dest(CapabilityConfig, "benchmarks")),
    "selection": ("--subset, --families or --models", "subset"),
    "downstream": ("--downstream", "downstream"),
    "like": ("--like", "like"),
    "scales": ("--scale COL=UNIT", "scale"),
}


def option_for(setting: str | None, args: argparse.Namespace) -> str | None:
    """The option of the command run (``args``) that gives ``setting``, if it has one."""
    flag, dest = OPTIONS.get(setting or "", ("", ""))
    return flag if dest and dest in vars(args) else None
