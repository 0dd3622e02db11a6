"""Link forms of the sigmoid regressor: how the linear predictor z = w·x + c and a few bounded
extra parameters (a floor, a ceiling) make the predicted metric.

Every form is ``f = value(sigmoid(z), extras)``; a form declares its extra parameters (names,
bounds, starting values) and the derivatives the Gauss-Newton bootstrap needs. A new link is
one more subclass registered in ``LINKS``; ``SigmoidRegressor`` delegates to it by its
``form`` string. The arithmetic of "sigmoid" and "parametric" is exactly the historical one
(``(1 - b)·s + b``), so that the paper method's outputs do not change by a bit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np


class Link(ABC):
    """A link form. ``e`` is the list of extra parameters (scalars, or B x 1 columns)."""

    name: ClassVar[str]
    extras: ClassVar[tuple[str, ...]] = ()

    def __init__(self, reg: Any) -> None:
        self.reg = reg  # the regressor: its floor_max / ceiling_min bound the extras

    @property
    def k(self) -> int:
        return len(self.extras)

    def bounds(self) -> tuple[list[float], list[float]]:
        return [], []

    def start_extras(self, y: np.ndarray) -> list[list[float]]:
        """Extra parameters of the logit-linear starts (one start each)."""
        return [[]]

    def neutral(self) -> list[float]:
        """Extra parameters of the near-zero (reference) start."""
        return []

    def unit(self, y: np.ndarray, e: list[float]) -> np.ndarray:
        """The target mapped to the sigmoid's own [0, 1] scale (for the logit-linear start)."""
        return (y - 0.0) / (1 - 0.0)

    @abstractmethod
    def value(self, s: Any, e: list[Any]) -> Any: ...

    @abstractmethod
    def d_eta(self, s: Any, e: list[Any], out: Any = None) -> Any:
        """df/dz (into ``out`` if given, a buffer of the shape of ``s``)."""

    def d_extras(self, s: Any, e: list[Any]) -> list[Any]:
        """df/de for each extra parameter."""
        return []


class Sigmoid(Link):
    """y = sigmoid(z)."""

    name = "sigmoid"

    def value(self, s, e):
        return s

    def d_eta(self, s, e, out=None):
        return np.multiply(s, np.subtract(1, s, out=out), out=out)  # s * (1 - s)


class Floor(Link):
    """y = (1 - b)·sigmoid(z) + b, with the floor b in [0, floor_max] (the reference's
    "parametric" form)."""

    name = "parametric"
    extras = ("floor",)

    def bounds(self):
        return [0.0], [self.reg.floor_max]

    def start_extras(self, y):
        return [[0.0], [self.reg.floor_max / 2]]

    def neutral(self):
        return [0.0]

    def unit(self, y, e):
        return (y - e[0]) / (1 - e[0])

    def value(self, s, e):
        return (1 - e[0]) * s + e[0]

    def d_eta(self, s, e, out=None):
        return np.multiply(np.multiply(1 - e[0], s, out=out), 1 - s, out=out)

    def d_extras(self, s, e):
        return [1 - s]


class FloorCeiling(Link):
    """y = b + (u - b)·sigmoid(z): a floor b in [0, floor_max] and a ceiling u in
    [ceiling_min, 1], for metrics that saturate below 1."""

    name = "floor_ceiling"
    extras = ("floor", "ceiling")

    def bounds(self):
        return [0.0, self.reg.ceiling_min], [self.reg.floor_max, 1.0]

    def start_extras(self, y):
        top = float(np.clip(np.max(y) + 0.05, self.reg.ceiling_min, 1.0))
        return [[0.0, 1.0], [0.0, top]]

    def neutral(self):
        return [0.0, 1.0]

    def unit(self, y, e):
        return (y - e[0]) / (e[1] - e[0])

    def value(self, s, e):
        return e[0] + (e[1] - e[0]) * s

    def d_eta(self, s, e, out=None):
        return np.multiply(np.multiply(e[1] - e[0], s, out=out), 1 - s, out=out)

    def d_extras(self, s, e):
        return [1 - s, s]


LINKS: dict[str, type[Link]] = {cls.name: cls for cls in (Sigmoid, Floor, FloorCeiling)}
