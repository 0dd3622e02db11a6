"""Records passed between the back-test harness and the code that scores and draws it: a target
prepared for back-testing and what one fold fitted. They live here, below the harness
(``model.backtest``) and its helpers (``model.scoring``, ``model.curves``), so that the
helpers never import the harness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from obsscale.model.prediction.intervals import BootstrapFit
    from obsscale.model.prediction.tuning import Choice


@dataclass
class Task:
    """A target prepared for back-testing: rows in id order, the normalised target, the basis."""

    target: str
    chance: float
    data: pd.DataFrame
    y: pd.Series
    basis: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass
class FoldFit:
    """The three predictors fitted on one fold's training side, by predictor name.

    ``fits`` is each predictor's reference link (the paper method's only link; the default
    method's best member, which the curves and coefficients describe), ``inputs`` that link's
    inputs for every row of the task (e.g. log-FLOPs, when the nested back-tests ranked them
    first for the factor predictor) and ``train`` the rows it was fitted on. A compute
    baseline that could not be fitted on the fold has no entry there but one in ``left_out``:
    why (frontier models rarely have known compute)."""

    inputs: dict[str, np.ndarray]
    fits: dict[str, BootstrapFit]
    train: dict[str, np.ndarray]
    choices: dict[str, Choice] = field(default_factory=dict)  # the default method's choices
    left_out: dict[str, str] = field(default_factory=dict)
