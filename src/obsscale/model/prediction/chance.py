"""The chance normalisation, one pair both ways: the link is fitted on ``(y - c) / (1 - c)``
(the reference's scale, where chance level is 0 and a perfect score 1) and every prediction,
interval bound and curve is reported on the metric's own scale as well.

Written once so that the two directions cannot drift apart: ``to_raw(to_normalised(y, c), c)``
is ``y`` (to rounding), and each expression is the one the golden outputs were computed with;
``to_raw_span`` is the pair's difference form, for errors and shifts (the report's points).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import pandas as pd

from obsscale.exceptions import PredictError

Values = TypeVar("Values", float, np.ndarray, pd.Series)


def check_chance(chance: float) -> None:
    """A chance level is a fraction in [0, 1): at 1 the normalised scale does not exist."""
    if not 0 <= chance < 1:
        raise PredictError(f"chance must be in [0, 1), got {chance}")


def to_normalised(y: Values, chance: float) -> Values:
    """A score on the metric's scale as a fraction of the way from chance to a perfect score."""
    return (y - chance) / (1 - chance)


def to_raw(y: Values, chance: float) -> Values:
    """A normalised score (or interval bound) back on the metric's own scale."""
    return y * (1 - chance) + chance


def to_raw_span(d: Values, chance: float) -> Values:
    """A difference on the normalised scale (an error, a shift, a width) in the metric's own
    units: ``to_raw(a) - to_raw(b)`` for ``d = a - b``, without the rounding of the chance
    level added and taken away again."""
    return d * (1 - chance)


def add_raw_columns(frame: pd.DataFrame, columns: Iterable[str], chance: float) -> pd.DataFrame:
    """``frame`` with ``<column>_raw`` beside each normalised column (in place, returned)."""
    for col in columns:
        frame[f"{col}_raw"] = to_raw(frame[col], chance)
    return frame
