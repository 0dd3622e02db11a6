"""Which family is most compute-efficient: the ranking, the lead's interval checked against
statsmodels' per-line covariances, its significance on generated families with known offsets,
and the ``obsscale efficiency`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from obsscale.cli import main
from obsscale.config import CapabilityConfig
from obsscale.exceptions import CapabilityDataError
from obsscale.model.capabilities.fit import CapabilityFit, fit_capabilities
from obsscale.model.capabilities.ranking import rank_efficiency

BENCH = [f"b{j}" for j in range(6)]
SETTINGS = CapabilityConfig(benchmarks=tuple(BENCH), n_components=2, reference_family="Ref")
SLOPE = 0.12


def families(offsets: dict[str, float], per: int = 8, noise: float = 0.01, seed: int = 0):
    """Families whose capability is offset_f + SLOPE (log10 FLOPs - 22.5) + noise, seen
    through six benchmarks that load on it; ``far`` families train at 1e18-1e19, far below
    the others (1e21-1e24)."""
    rng = np.random.default_rng(seed)
    v = np.abs(rng.normal(size=len(BENCH))) + 0.3
    v /= np.linalg.norm(v)
    rows = []
    for fam, off in offsets.items():
        low, high = (18, 19) if fam.startswith("far") else (21, 24)
        for i, lf in enumerate(np.sort(rng.uniform(low, high, per))):
            c = off + SLOPE * (lf - 22.5) + rng.normal(scale=noise)
            scores = 0.5 + c * v + rng.normal(scale=0.001, size=len(BENCH))
            rows.append(
                {"model": f"{fam}/m{i}", "family": fam, "flops": 10**lf}
                | dict(zip(BENCH, scores, strict=True))
            )
    return pd.DataFrame(rows)


def fitted(offsets: dict[str, float], **kwargs: float) -> CapabilityFit:
    return fit_capabilities(families(offsets, **kwargs), SETTINGS)  # type: ignore[arg-type]


def test_ranks_comparable_families_best_first() -> None:
    ranking = rank_efficiency(fitted({"Ref": 0.0, "A": 0.2, "B": -0.1, "far": 0.5}))
    assert list(ranking.table["family"]) == ["A", "Ref", "B"]
    assert ranking.not_comparable == ["far"]  # the reference line would be extrapolated
    assert ranking.table["pc1_offset"].is_monotonic_decreasing


def _line(models: pd.DataFrame, family: str) -> tuple[np.ndarray, np.ndarray, float]:
    """statsmodels' OLS of PC-1 on log10 FLOPs for one family: coefficients, covariance and
    the family's median log10 FLOPs."""
    rows = models[models["family"] == family]
    x = np.log10(rows["flops"].to_numpy())
    res = sm.OLS(rows["PC-1"].to_numpy(), sm.add_constant(x)).fit()
    return res.params, res.cov_params(), float(np.median(x))


def test_lead_interval_equals_statsmodels_contrast() -> None:
    """The lead is a linear contrast of three independent OLS fits (leader, runner-up and
    reference); its variance from statsmodels' per-fit covariance matrices, with t at the
    smallest residual df, is the interval the ranking gives."""
    fit = fitted({"Ref": 0.0, "A": 0.3, "B": 0.25}, per=6, noise=0.03)
    ranking = rank_efficiency(fit)
    lead = ranking.lead
    assert lead is not None and (lead.leader, lead.runner_up) == ("A", "B")
    (pa, ca, xa), (pb, cb, xb), (pr, cr, _) = (_line(fit.models, f) for f in ("A", "B", "Ref"))
    ea, eb = np.array([1.0, xa]), np.array([1.0, xb])
    difference = (ea @ pa - ea @ pr) - (eb @ pb - eb @ pr)
    d = ea - eb  # the reference line at xa minus at xb
    var = ea @ ca @ ea + eb @ cb @ eb + d @ cr @ d
    t = stats.t.ppf(0.975, 6 - 2)
    assert lead.difference == pytest.approx(difference, rel=1e-9)
    assert lead.half_width == pytest.approx(t * np.sqrt(var), rel=1e-9)


def test_lead_over_the_reference_is_the_offset_interval() -> None:
    """With the reference family as runner-up, the lead is the leader's offset, with the
    interval the efficiency table gives it."""
    fit = fitted({"Ref": 0.0, "A": 0.3, "B": -0.3}, noise=0.03)
    ranking = rank_efficiency(fit)
    top = ranking.table.iloc[0]
    assert ranking.lead is not None and ranking.lead.runner_up == "Ref"
    assert ranking.lead.difference == pytest.approx(top["pc1_offset"])
    assert ranking.lead.half_width == pytest.approx(top["pc1_offset_high"] - top["pc1_offset"])


@pytest.mark.parametrize(
    ("gap", "significant"),
    [(0.3, True), (0.0, False)],
    ids=["clear lead", "tie"],
)
def test_significance_of_the_lead(gap: float, significant: bool) -> None:
    offsets = {"Ref": 0.0, "A": 0.2 + gap, "B": 0.2}
    ranking = rank_efficiency(fitted(offsets, per=10, noise=0.02, seed=1))
    assert ranking.lead is not None and ranking.lead.significant is significant
    said = "significant" if significant else "not significant"
    assert ranking.headline().endswith(f"at 95%: {said}")
    assert "above the reference" in ranking.headline()


def test_two_model_families_have_no_interval() -> None:
    ranking = rank_efficiency(fitted({"Ref": 0.0, "A": 0.4, "B": 0.2}, per=2))
    assert ranking.lead is not None and ranking.lead.significant is None
    assert "no interval" in ranking.headline()


def test_a_fit_without_a_reference_line_is_refused() -> None:
    models = families({"Ref": 0.0, "A": 0.2})
    models = models[~((models["family"] == "Ref") & (models.index % 8 > 0))]
    with pytest.warns(UserWarning, match="reference family"):
        fit = fit_capabilities(models, SETTINGS)
    with pytest.raises(CapabilityDataError, match="no reference family line"):
        rank_efficiency(fit)


def test_efficiency_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    table = tmp_path / "data" / "processed" / "models.csv"
    table.parent.mkdir(parents=True)
    models = families({"Ref": 0.0, "A": 0.5, "B": 0.2}, noise=0.02)
    models = models.rename(columns={b: f"s:{b}" for b in BENCH})
    models = models.assign(
        is_base=True, params_b=np.nan, tokens_t=np.nan, release_date="2024-01-01"
    )
    models.to_csv(table, index=False)
    args = ["--data-dir", str(tmp_path / "data"), "--reference-family", "Ref", "--benchmarks"]
    args += [f"s:{b}" for b in BENCH]
    assert main(["efficiency", *args]) == 0
    out = capsys.readouterr().out
    assert out.startswith("most compute-efficient: A (8 models, at ")
    assert "lead over B +" in out and out.splitlines()[0].endswith("at 95%: significant")
    assert main(["efficiency", *args, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["top"] == "A" and d["lead"]["runner_up"] == "B" and d["lead"]["significant"]
    assert d["lead"]["difference"] == pytest.approx(0.3, abs=0.05)
