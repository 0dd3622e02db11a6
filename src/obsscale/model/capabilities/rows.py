"""Which rows of the model table a fit uses: base models with scores, named subsets,
families, explicit model lists."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from importlib import resources

import pandas as pd

from obsscale.data.table import score_columns
from obsscale.exceptions import CapabilityDataError

log = logging.getLogger(__name__)


def load_subsets() -> dict[str, dict[str, list[str]]]:
    text = resources.files("obsscale.data.curated").joinpath("subsets.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class Selection:
    """Which models: a named subset (``subsets.toml``), families, explicit ids, exclusions."""

    subset: str | None = None
    families: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exclude_subset: str | None = None  # the complement: "fit on the rest, predict those"

    @property
    def named(self) -> bool:
        """Whether it names the models (a subset, families or ids), beyond exclusions."""
        return bool(self.subset or self.families or self.include)


def select_models(
    models: pd.DataFrame,
    benchmarks: tuple[str, ...] | list[str],
    *,
    selection: Selection | None = None,
    base_only: bool = True,
) -> pd.DataFrame:
    """Rows of the model table used for a fit: with at least one score on the basis (any row
    when ``benchmarks`` is empty), base models only by default, optionally a named subset, a
    family list or an explicit model list.
    """
    sel = selection or Selection()
    subset, include = sel.subset, list(sel.include)
    families: list[str] = list(sel.families)
    missing = [b for b in benchmarks if b not in models.columns]
    if missing:
        known = score_columns(models)
        raise CapabilityDataError(f"unknown benchmark columns {missing}; available: {known}")
    keep = (
        models[list(benchmarks)].notna().any(axis=1)
        if benchmarks
        else pd.Series(True, index=models.index)
    )
    if base_only:
        keep &= models["is_base"].fillna(False).astype(bool)
    excluded = {m.lower() for m in sel.exclude}
    if subset is not None:
        spec = _subset(subset)
        families = [*families, *spec.get("families", [])]
        if spec.get("models"):  # a cohort: its members that are in the table
            keep &= _members(models, spec)
        excluded |= {m.lower() for m in spec.get("exclude", [])}
    if sel.exclude_subset is not None:
        keep &= ~_members(models, _subset(sel.exclude_subset))
    if families:
        _check_families(models, families)
        keep &= models["family"].isin(families)
    if include:
        wanted = {m.lower() for m in include}
        absent = sorted(wanted - set(models["model"].str.lower()))
        if absent:
            raise CapabilityDataError(f"models not in the table: {absent}")
        keep &= models["model"].str.lower().isin(wanted)
    keep &= ~models["model"].str.lower().isin(excluded)
    return models[keep].reset_index(drop=True)


def _check_families(models: pd.DataFrame, families: list[str]) -> None:
    """None of the families in the table is an error (with similar names: they are
    case-sensitive); some of them missing is a warning."""
    in_table: set[str] = set(models["family"].dropna())
    unknown = sorted(set(families) - in_table)
    if unknown and len(unknown) == len(set(families)):
        close = sorted(k for k in in_table if any(u.lower() in k.lower() for u in unknown))
        hint = f"; similar: {close[:10]}" if close else ""
        raise CapabilityDataError(
            f"families not in the table: {unknown} (names are case-sensitive, as in "
            f"models.csv's family column{hint})"
        )
    if unknown:
        log.warning("families not in the table: %s", unknown)


def _subset(name: str) -> dict[str, list[str]]:
    subsets = load_subsets()
    if name not in subsets:
        raise CapabilityDataError(f"unknown subset {name!r}; known: {sorted(subsets)}")
    return subsets[name]


def _members(models: pd.DataFrame, spec: dict[str, list[str]]) -> pd.Series:
    """Rows a subset selects by itself: its models, or its families less its exclusions."""
    ids = models["model"].str.lower()
    if spec.get("models"):
        return ids.isin({m.lower() for m in spec["models"]})
    return models["family"].isin(spec.get("families", [])) & ~ids.isin(
        {m.lower() for m in spec.get("exclude", [])}
    )
