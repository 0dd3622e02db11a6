"""The chance normalisation pair: inverse round trips, chance maps to 0 and a perfect score
to 1, differences convert as their ends do, and a chance level outside [0, 1) is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from obsscale.exceptions import PredictError
from obsscale.model.prediction.chance import (
    add_raw_columns,
    check_chance,
    to_normalised,
    to_raw,
    to_raw_span,
)


@pytest.mark.parametrize("chance", [0.0, 0.25, 0.5, 0.9])
def test_the_pair_round_trips_and_fixes_chance_and_a_perfect_score(chance: float) -> None:
    y = np.random.default_rng(0).uniform(-0.2, 1.2, size=50)
    assert_allclose(to_raw(to_normalised(y, chance), chance), y, rtol=0, atol=1e-12)
    assert_allclose(to_normalised(np.array([chance, 1.0]), chance), [0.0, 1.0], atol=1e-15)


@pytest.mark.parametrize("chance", [0.0, 0.25, 0.9])
def test_a_span_is_the_difference_of_its_ends_on_the_raw_scale(chance: float) -> None:
    """Errors and shifts (the report's points) convert as the difference of the pair's ends."""
    a, b = np.random.default_rng(1).uniform(-0.2, 1.2, size=(2, 50))
    expected = to_raw(a, chance) - to_raw(b, chance)
    assert_allclose(to_raw_span(a - b, chance), expected, rtol=0, atol=1e-12)


def test_chance_zero_is_the_identity() -> None:
    y = pd.Series([0.1, 0.7])
    pd.testing.assert_series_equal(to_raw(y, 0.0), y)
    pd.testing.assert_series_equal(to_normalised(y, 0.0), y)


def test_raw_columns_sit_beside_the_normalised_ones() -> None:
    frame = add_raw_columns(
        pd.DataFrame({"predicted": [0.0, 1.0], "x": [1, 2]}), ["predicted"], 0.25
    )
    assert list(frame.columns) == ["predicted", "x", "predicted_raw"]
    assert_allclose(frame["predicted_raw"], [0.25, 1.0])


@pytest.mark.parametrize("chance", [-0.1, 1.0, float("nan")])
def test_a_chance_level_outside_the_unit_interval_is_refused(chance: float) -> None:
    with pytest.raises(PredictError, match=r"chance must be in \[0, 1\)"):
        check_chance(chance)
