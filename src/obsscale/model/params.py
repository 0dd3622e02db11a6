"""Declared parameter constraints for obsscale's estimators.

scikit-learn's convention: an estimator declares once, in ``_parameter_constraints``, what
each parameter may be, and ``fit`` checks them all before any work. scikit-learn's own helpers
for this are private, so obsscale keeps a small public equivalent: a constraint is an
``Interval``, an ``Options`` set, a type (``bool``, ``tuple``, ``int`` ...) or ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from typing import Any, ClassVar

from obsscale.exceptions import InvalidParameterError


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` (``Integral`` or ``Real``) between ``low`` and ``high``."""

    kind: Any  # numbers.Integral or numbers.Real
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # which ends belong: "both", "left", "right", "neither"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        value = float(value)
        if math.isnan(value):
            return False
        low_ok = self.low is None or (
            value >= self.low if self.closed in ("both", "left") else value > self.low
        )
        high_ok = self.high is None or (
            value <= self.high if self.closed in ("both", "right") else value < self.high
        )
        return low_ok and high_ok

    def __str__(self) -> str:
        name = "an integer" if self.kind is Integral else "a number"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{name} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: frozenset[str]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values))


RANDOM_STATE = Interval(Integral, 0, None)


def _accepts(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, (Interval, Options)):
        return constraint.accepts(value)
    if constraint is bool:
        return isinstance(value, bool)
    return isinstance(value, constraint)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return f"a {constraint.__name__}"
    return str(constraint)


class ValidatedParams:
    """Mixin: ``_validate_params`` checks every declared parameter and names the one that breaks."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def _validate_params(self) -> None:
        for name, allowed in self._parameter_constraints.items():
            value = getattr(self, name)
            if not any(_accepts(c, value) for c in allowed):
                options = " or ".join(_describe(c) for c in allowed)
                raise InvalidParameterError(
                    f"{type(self).__name__}: parameter {name!r} must be {options}; got {value!r}"
                )
