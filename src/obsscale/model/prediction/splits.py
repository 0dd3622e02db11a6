"""How models are divided into a training side and a test side.

One class per kind of split. Each knows how to describe itself and how to cut a model table
into folds; models whose split variable is unknown (no FLOPs, no date, no family) are put on
neither side but kept as ``unknown`` so that they are still predicted. A new kind of split is
one more subclass registered in ``SPLITS``.
"""

from __future__ import annotations

import datetime
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd

from obsscale.config.settings import LLAMA2_7B_FLOPS
from obsscale.exceptions import CapabilityDataError, PredictError


class Fold(NamedTuple):
    """One division of the models: row labels of the training, test and unknown sides."""

    name: str
    train: pd.Index
    test: pd.Index
    unknown: pd.Index


@dataclass(frozen=True)
class Split(ABC):
    """A way of dividing models into training and test sides."""

    kind: ClassVar[str]
    #: a split that leaves no test model is an error (a cutoff above every model)
    needs_test: ClassVar[bool] = True
    #: the default method's nested cutoffs ask this split's own question (predict above a
    #: compute, a date or a rank from below it), so their systematic error corrects its
    #: predictions
    nested_like: ClassVar[bool] = False
    #: the variable the default method's nested cutoffs cut (a key of its features): the
    #: split's own, where it has one (release date, rank by PC-1), else log-FLOPs
    nested_by: ClassVar[str] = "log_flops"

    @property
    def value(self) -> float | str | int | None:
        """The split's one parameter (recorded with the results)."""
        return None

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        """The folds of ``models``; ``basis`` names the factor basis (for splits by it)."""

    @staticmethod
    def of(kind: str, value: float | str | int | None = None) -> Split:
        """The split named ``kind`` (as in the CLI and config) with its parameter."""
        if kind not in SPLITS:
            raise PredictError(f"split must be one of {tuple(SPLITS)}, got {kind!r}")
        cls = SPLITS[kind]
        return cls() if value is None else cls(value)  # type: ignore[call-arg]


def _one_fold(idx: pd.Index, known: pd.Series, train: pd.Series) -> list[Fold]:
    return [Fold("all", idx[known & train], idx[known & ~train], idx[~known])]


@dataclass(frozen=True)
class CutoffFlops(Split):
    """Train on models trained with at most ``flops`` FLOPs, test on the larger ones."""

    flops: float = LLAMA2_7B_FLOPS
    kind: ClassVar[str] = "cutoff_flops"
    nested_like: ClassVar[bool] = True

    def __post_init__(self) -> None:  # built in Python too: a bad cutoff fails here, named
        flops = self.flops
        if (
            isinstance(flops, bool)
            or not isinstance(flops, Real)
            or not (math.isfinite(flops) and flops > 0)
        ):
            raise PredictError(f"CutoffFlops: flops must be a finite number > 0, got {flops!r}")

    @property
    def value(self) -> float:
        return self.flops

    def describe(self) -> str:
        return f"FLOPs cutoff: train on FLOPs <= {float(self.flops):.3g}, test above"

    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        f = models["flops"]
        return _one_fold(models.index, f.notna(), f <= float(self.flops))


@dataclass(frozen=True)
class CutoffDate(Split):
    """Train on models released before ``date`` (YYYY-MM-DD), test on those released on or
    after it: the pre-registration the paper argues for."""

    date: str = "2024-06-01"
    kind: ClassVar[str] = "cutoff_date"
    nested_like: ClassVar[bool] = True
    nested_by: ClassVar[str] = "date"

    def __post_init__(self) -> None:
        try:
            datetime.date.fromisoformat(str(self.date))
        except ValueError:
            raise PredictError(
                f"CutoffDate: date must be a YYYY-MM-DD date, got {self.date!r}"
            ) from None

    @property
    def value(self) -> str:
        return self.date

    def describe(self) -> str:
        return f"release-date cutoff: train before {self.date}, test on or after"

    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        d = pd.to_datetime(models["release_date"], errors="coerce")
        return _one_fold(models.index, d.notna(), d < pd.Timestamp(str(self.date)))


@dataclass(frozen=True)
class LeaveFamilyOut(Split):
    """Each family in turn is the test side; every other family trains."""

    kind: ClassVar[str] = "leave_family_out"
    needs_test: ClassVar[bool] = False

    def describe(self) -> str:
        return "leave one family out"

    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        idx, fam = models.index, models["family"]
        known = fam.notna()
        folds = [
            Fold(str(f), idx[known & (fam != f)], idx[fam == f], idx[:0])
            for f in sorted(fam[known].unique())
        ]
        if (~known).any():
            folds.append(Fold("(unknown family)", idx[known], idx[:0], idx[~known]))
        return folds


@dataclass(frozen=True)
class KFold(Split):
    """Random ``k``-fold cross-validation (seeded): interpolation, not extrapolation."""

    k: int = 5
    kind: ClassVar[str] = "kfold"
    needs_test: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, Integral) or self.k < 2:
            raise PredictError(f"KFold: k must be a whole number >= 2, got {self.k!r}")

    @property
    def value(self) -> int:
        return self.k

    def describe(self) -> str:
        return f"random {self.k}-fold"

    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        from sklearn.model_selection import KFold as _SKFold

        idx, k = models.index, int(self.k)
        if k < 2 or k > len(idx):
            raise PredictError(f"k-fold needs 2 <= k <= {len(idx)} models, got {k}")
        kf = _SKFold(n_splits=k, shuffle=True, random_state=seed)
        return [
            Fold(f"fold {i + 1}", idx[tr], idx[te], idx[:0])
            for i, (tr, te) in enumerate(kf.split(np.arange(len(idx))))
        ]


@dataclass(frozen=True)
class CutoffRank(Split):
    """Test on the strongest ``fraction`` of the models by capability, train on the rest: the
    paper's split for instruction-tuned and agent targets, whose models often have no known
    compute. Capability is the first factor of the basis, imputed and fitted on every row: it
    uses the basis scores only, never the target. The test side has ``int(fraction * n)``
    models (at least one), as in the reference."""

    fraction: float = 0.1
    kind: ClassVar[str] = "cutoff_top_fraction"
    nested_like: ClassVar[bool] = True
    nested_by: ClassVar[str] = "rank"

    def __post_init__(self) -> None:
        f = self.fraction
        if isinstance(f, bool) or not isinstance(f, Real) or not 0 < f < 1:
            raise PredictError(f"CutoffRank: fraction must lie in (0, 1), got {f!r}")

    @property
    def value(self) -> float:
        return self.fraction

    def describe(self) -> str:
        return f"rank cutoff: test on the top {float(self.fraction):.0%} by PC-1, train below"

    def folds(self, models: pd.DataFrame, seed: int, basis: Sequence[str] = ()) -> list[Fold]:
        from obsscale.model.capabilities.factors import CapabilityPCA

        f = float(self.fraction)
        if not basis:
            raise PredictError("a rank split needs the factor basis to rank models by")
        idx = models.index
        try:
            pc1 = CapabilityPCA(n_components=1).fit_transform(models[list(basis)])[:, 0]
        except CapabilityDataError as e:
            raise PredictError(f"cannot rank the {len(idx)} models by PC-1: {e}") from e
        n_test = max(1, int(f * len(idx)))
        order = np.argsort(-pc1, kind="stable")
        test = np.zeros(len(idx), dtype=bool)
        test[order[:n_test]] = True
        return [Fold("all", idx[~test], idx[test], idx[:0])]


SPLITS: dict[str, type[Split]] = {
    cls.kind: cls for cls in (CutoffFlops, CutoffDate, LeaveFamilyOut, KFold, CutoffRank)
}
