"""Which family is most compute-efficient: the families ranked by their PC-1 offset from the
reference family's line, and whether the top family's lead over the runner-up is significant.

A family's offset (``families.family_efficiency``) is its PC-1 line minus the reference's at the
family's median log10 FLOPs: how much more capable it is than the reference at the same
compute. The efficiency table gives each offset's interval against the reference; "is the
first family better than the second?" needs the interval of the difference of two offsets,
which is not the difference of their intervals: the two offsets share the reference line, whose
error cancels at a common compute and not between two. With ``A`` the leader and ``B`` the
runner-up, at their median computes ``xA`` and ``xB``::

    lead = [fA(xA) - ref(xA)] - [fB(xB) - ref(xB)]
    Var(lead) = Var fA(xA) + Var fB(xB) + s2_ref (xA - xB)^2 / Sxx_ref

(the three lines are fitted on disjoint models, so independent; ``ref(xA) - ref(xB)`` is the
reference slope times ``xA - xB``). Where one of the two is the reference family, its offset
is zero by definition and the lead is the other's offset, with that offset's variance. The
interval is t-based with the smallest residual df of the lines involved, as the offsets' own.

Families whose median compute lies outside the reference family's range are not ranked: the
reference line is extrapolated there (``family_efficiency``'s ``extrapolated``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.exceptions import CapabilityDataError
from obsscale.model.capabilities.families import GroupedOLS
from obsscale.model.capabilities.fit import EFFICIENCY_COLUMNS, CapabilityFit

#: the ranking's columns: the fit's efficiency table (all comparable: no ``extrapolated``)
COLUMNS = ("family", *(c for c in EFFICIENCY_COLUMNS if c != "extrapolated"))


@dataclass(frozen=True)
class Lead:
    """The leader's offset minus the runner-up's, with the half-width of its interval (NaN
    where a line has no residual variance: two models)."""

    leader: str
    runner_up: str
    difference: float
    half_width: float

    @property
    def significant(self) -> bool | None:
        """Whether the interval excludes zero (None: undefined)."""
        if math.isnan(self.half_width):
            return None
        return abs(self.difference) > self.half_width


@dataclass(frozen=True)
class EfficiencyRanking:
    """The comparable families best first (``table``: ``COLUMNS``), the families left out
    because the reference line would be extrapolated there, and the top family's lead."""

    reference: str
    confidence: float
    table: pd.DataFrame
    not_comparable: list[str]
    lead: Lead | None

    def headline(self) -> str:
        """The answer in one line: the top family, its offset, and whether it leads."""
        if self.table.empty:
            return "most compute-efficient: none (no family within the reference's compute range)"
        top = self.table.iloc[0]
        line = f"most compute-efficient: {top['family']}"
        if top["family"] == self.reference:
            line += f" (the reference family: no family's PC-1 line lies above {self.reference}'s)"
        else:
            line += f" ({top['n']} models, at {_flops(top['at_log10_flops'])} FLOPs): " + (
                self._versus_reference(top)
            )
        return line + self._lead_text()

    def _versus_reference(self, top: pd.Series) -> str:
        conf = f"{self.confidence:.0%}"
        offset = f"PC-1 offset {top['pc1_offset']:+.2f}"
        if not np.isfinite(top["pc1_offset_low"]):
            return f"{offset} (no {conf} interval: a two-model line has no residual variance)"
        interval = f"[{top['pc1_offset_low']:+.2f}, {top['pc1_offset_high']:+.2f}] at {conf}"
        said = "above the reference" if top["significant"] else "not different from the reference"
        return f"{offset} {interval} from {self.reference}'s line: {said}"

    def _lead_text(self) -> str:
        lead = self.lead
        if lead is None:
            return "; no runner-up"
        if lead.significant is None:
            return f"; lead over {lead.runner_up} {lead.difference:.2f} (no interval: two models)"
        said = "significant" if lead.significant else "not significant"
        conf = f"{self.confidence:.0%}"
        return (
            f"; lead over {lead.runner_up} {lead.difference:+.2f} ± {lead.half_width:.2f} at "
            f"{conf}: {said}"
        )

    def summary_text(self) -> str:
        """The headline, the ranked table and the families left out."""
        lines = [self.headline(), ""]
        conf = f"{self.confidence:.0%} interval"
        lines.append(
            f"{'':>3} {'family':<24}{'models':>7}{'FLOPs':>9}{'PC-1 offset':>13}  {conf:<18}"
            f"{'compute x':>10}  vs {self.reference}"
        )
        for rank, r in enumerate(self.table.itertuples(index=False), start=1):
            lines.append(_row(rank, r, self.reference))
        if self.not_comparable:
            lines.append(
                f"\nnot ranked (median compute outside {self.reference}'s range, whose line "
                f"would be extrapolated): {', '.join(self.not_comparable)}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        lead = self.lead
        return store.jsonable(
            {
                "reference": self.reference,
                "confidence": self.confidence,
                "top": None if self.table.empty else self.table.iloc[0]["family"],
                "headline": self.headline(),
                "lead": None
                if lead is None
                else {
                    "leader": lead.leader,
                    "runner_up": lead.runner_up,
                    "difference": lead.difference,
                    "half_width": lead.half_width,
                    "significant": lead.significant,
                },
                "families": self.table,
                "not_comparable": self.not_comparable,
            }
        )

    def to_json(self) -> str:
        return store.dumps(self.to_dict())


def _row(rank: int, r: Any, reference: str) -> str:
    if r.family == reference:
        interval, said = "-", "the reference"
    elif np.isfinite(r.pc1_offset_low):
        interval = f"[{r.pc1_offset_low:+.2f}, {r.pc1_offset_high:+.2f}]"
        said = "differs" if r.significant else "no difference"
    else:
        interval, said = "-", "no interval (2 models)"
    mult = f"{r.compute_multiplier:.3g}x" if np.isfinite(r.compute_multiplier) else "-"
    return (
        f"{rank:>3} {r.family:<24}{r.n:>7d}{_flops(r.at_log10_flops):>9}{r.pc1_offset:>+13.2f}  "
        f"{interval:<18}{mult:>10}  {said}"
    )


def _flops(log10_flops: float) -> str:
    return f"{10**log10_flops:.1e}".replace("e+", "e")


def rank_efficiency(fit: CapabilityFit) -> EfficiencyRanking:
    """The fit's families ranked by compute efficiency, with the top family's lead."""
    if fit.reference is None or not len(fit.efficiency):
        raise CapabilityDataError(
            "this fit has no reference family line (see its notes), so no efficiency to rank"
        )
    eff = fit.efficiency
    comparable = ~eff["extrapolated"].astype(bool)
    table = (
        eff.loc[comparable, list(COLUMNS)]
        .sort_values(["pc1_offset", "family"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )
    table["n"] = table["n"].astype(int)
    table["significant"] = table["significant"].astype(bool)
    lead = _lead(fit, table) if len(table) >= 2 else None
    return EfficiencyRanking(
        reference=fit.reference.family,
        confidence=1 - float(fit.settings["alpha"]),
        table=table,
        not_comparable=sorted(eff.loc[~comparable, "family"]),
        lead=lead,
    )


def efficiency_answer(fit: CapabilityFit) -> str | None:
    """``obsscale efficiency``'s answer as a sentence (None without a reference line). The fit
    stage stores it in ``run.json``: the lead's t quantile needs scipy, which the report
    process does not otherwise import (0.2 s, 6% of its time)."""
    if fit.reference is None or not len(fit.efficiency):
        return None
    text = rank_efficiency(fit).headline()
    return text[0].upper() + text[1:]


def family_lines(fit: CapabilityFit) -> GroupedOLS:
    """The per-family PC-1 lines of the fit, refitted from its models table (the same closed
    form, data and minimum as ``fit_capabilities``): their standard errors are not stored."""
    models = fit.models
    log_flops = np.log10(models["flops"].where(models["flops"] > 0).astype(float))
    min_n = int(fit.settings["min_family_models"])
    return GroupedOLS.fit(log_flops, models[["PC-1"]], models["family"], min_n)


def _lead(fit: CapabilityFit, table: pd.DataFrame) -> Lead:
    from scipy.special import stdtrit

    assert fit.reference is not None
    ref = fit.reference
    ols = family_lines(fit)
    where = {str(g): i for i, g in enumerate(ols.groups)}
    a, b = table.iloc[0], table.iloc[1]
    x = {f: float(ols.x_median[where[f]]) for f in (a["family"], b["family"])}

    def var_line(family: str) -> float:  # the family line's mean at its own median compute
        i = where[family]
        x0 = x[family]
        return float(ols.s2[i, 0] * (1 / ols.n[i] + (x0 - ols.x_mean[i]) ** 2 / ols.sxx[i]))

    others = [f for f in (a["family"], b["family"]) if f != ref.family]
    var = sum(var_line(f) for f in others)
    if len(others) == 2:  # the reference line's difference between the two computes
        var += ref.s2 * (x[a["family"]] - x[b["family"]]) ** 2 / ref.sxx
    else:  # one of them is the reference: the other's offset, against the line at its compute
        var += float(ref.var_mean_at(np.asarray(x[others[0]])))
    df = min([int(ols.n[where[f]]) - 2 for f in others] + [ref.n_models - 2])
    t = float(stdtrit(df, 1 - float(fit.settings["alpha"]) / 2)) if df > 0 else math.nan
    return Lead(
        leader=str(a["family"]),
        runner_up=str(b["family"]),
        difference=float(a["pc1_offset"] - b["pc1_offset"]),
        half_width=t * math.sqrt(var) if np.isfinite(var) else math.nan,
    )
