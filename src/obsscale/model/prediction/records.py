"""The records passed between the back-test's helpers: a prepared target and one fold's fits
(defined here, below the orchestrator, so that its helpers need not import it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
    """The three predictors fitted on one fold's training side."""

    features: dict[str, np.ndarray]
    fits: dict[str, BootstrapFit]
    train: dict[str, np.ndarray]  # which rows each predictor was fitted on
    choices: dict[str, Choice] = field(default_factory=dict)  # the default method's choices
