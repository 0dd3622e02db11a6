"""What a back-test that names no split runs on: the target's plan (``plan_target``: its
models and basis where they lack the configured ones), and a split its models support: the
FLOPs cutoff, or by release date where they lack FLOPs (frontier models). ``fit``'s targets
and ``predict`` both come here, so that they choose alike and say so alike."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from obsscale.config import CapabilityConfig, Config, PredictConfig
from obsscale.model.capabilities.rows import Selection, select_models
from obsscale.model.prediction.splits import CutoffFlops, Split
from obsscale.model.prediction.targets import DATE_SHARE, TargetPlan, date_cutoff, plan_for


@dataclass(frozen=True)
class PlannedSplit:
    """A target's plan, the rows it selects and its split, with the notes that say what was
    chosen where the user did not say."""

    plan: TargetPlan
    models: pd.DataFrame
    split: Split
    split_note: str | None = None

    @property
    def notes(self) -> list[str]:
        return [n for n in (self.plan.note, self.split_note) if n]


def plan_split(
    table: pd.DataFrame,
    target: str,
    asked: tuple[CapabilityConfig, Selection],
    config: Config,
    split: Split | None,
    cutoff_flops: float,
) -> PlannedSplit:
    """The plan and split of one back-test: ``split`` as given, else a FLOPs cutoff at
    ``cutoff_flops`` where that is not the default one, else ``default_split``. The basis
    is then chosen on the split's training side. ``asked``: the capability settings and the
    selection the user gave."""
    capabilities, selection = asked
    note = None
    if split is None and cutoff_flops != PredictConfig.cutoff_flops:
        split = CutoffFlops(cutoff_flops)
    if split is None:
        plan = plan_for(table, target, capabilities, selection, config)
        rows = select_models(table, (), selection=selection, base_only=plan.settings.base_only)
        split, note = default_split(rows, target, cutoff_flops, plan.note is not None)
    plan = plan_for(table, target, capabilities, selection, config, split=split)
    rows = select_models(table, (), selection=selection, base_only=plan.settings.base_only)
    return PlannedSplit(plan, rows, split, note)


def default_split(
    models: pd.DataFrame, target: str, cutoff_flops: float, frontier: bool
) -> tuple[Split, str | None]:
    """The split of a back-test that names none: the FLOPs cutoff, or a release-date split
    (``date_cutoff``) where the target's models lack FLOPs: they are frontier models
    (``frontier``: planned by ``plan_target``, whose compute is rarely public) or the cutoff
    leaves no model of the target with known FLOPs on one side. ``models``: the selected
    rows. The note (None: the FLOPs cutoff) says which split was chosen and why."""
    if target not in models.columns or not models[target].notna().any():
        return CutoffFlops(cutoff_flops), None  # check_target says what is wrong
    has = models[target].notna()
    flops = pd.to_numeric(models.loc[has, "flops"], errors="coerce")
    below, above = int((flops <= cutoff_flops).sum()), int((flops > cutoff_flops).sum())
    if not (frontier or below == 0 or above == 0):
        return CutoffFlops(cutoff_flops), None
    split = date_cutoff(models, target)  # too few dated models: its error says so
    lead = "its models are frontier models (compute rarely public): " if frontier else ""
    return split, (
        f"{target}: split by release date (no split given): train before {split.date} (the "
        f"month by which {DATE_SHARE:.0%} of its dated models were released), test on or "
        f"after; {lead}{below + above} of its {int(has.sum())} models have known FLOPs, "
        f"{below} at or below the FLOPs cutoff {cutoff_flops:.3g} and {above} above; give "
        "--cutoff-flops to split by compute"
    )
