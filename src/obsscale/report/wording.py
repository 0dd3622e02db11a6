"""The report's sentences, written from the artifacts' numbers: the headline findings, what each
predictor is made of, and which interval method produced each interval.

Every statement about a method is read from the run's files (a back-test's ``choices`` and
``settings``, ``forecast.json``'s ``settings``), so a caption cannot name a method the run did
not use. The machine-level notes stay available, folded, beside these sentences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from obsscale.model.capabilities.fit import CapabilityFit
from obsscale.model.prediction import verdict
from obsscale.model.prediction.chance import to_raw_span
from obsscale.model.prediction.results import PREDICTORS, PredictionResult

INPUTS = {
    "pc1": "the first capability factor",
    "pc2": "the first two factors",
    "pc": "all the factors",
    "pc+log_flops": "the factors plus log-FLOPs",
    "log_flops": "log-FLOPs",
    "log_params": "log-parameters",
}
FORMS = {"parametric": " (with a floor)", "floor_ceiling": " (with a floor and a ceiling)"}


def interval_method(result: PredictionResult, predictor: str = "pc", counts: bool = True) -> str:
    """How this predictor's intervals were made, in words, from the result's own record."""
    choice = (result.choices or {}).get(predictor)
    if choice and "interval" in choice:
        n = choice["interval"].get("n_scores")
        rule = str(choice["interval"]["rule"])
        return f"{rule} ({n} errors)" if n and counts else rule
    n_boot = result.settings["predict"].get("n_bootstrap")
    if not counts:
        return "bootstrap (resamples of the training models plus resampled residuals)"
    return f"bootstrap ({n_boot} resamples of the training models plus resampled residuals)"


def method_name(result: PredictionResult) -> str:
    method = result.settings["predict"].get("method", "obsscale")
    return "the paper's method" if method == "paper" else "the default method"


def curve_band(result: PredictionResult) -> str:
    """What the drawn curve and its band are: the curve holds one fit (the paper's predictor,
    or the default method's top-ranked member) with the band of its bootstrap refits."""
    n_boot = result.settings["predict"].get("n_bootstrap")
    boot = f"the band of its {n_boot} bootstrap refits plus resampled residuals"
    choice = (result.choices or {}).get("pc")
    if not choice:
        return f"the paper's predictor (a sigmoid of the factors) with {boot}"
    spec = INPUTS.get(choice["inputs"], choice["inputs"]) + FORMS.get(choice["form"], "")
    return f"the ensemble's top-ranked member, a sigmoid of {spec}, with {boot}"


def _points(value: float, chance: float) -> float:
    """A difference on the chance-normalised scale in points of the raw score."""
    return to_raw_span(value, chance) * 100


def predictor_sentence(result: PredictionResult, predictor: str = "pc") -> str:
    """What the predictor is made of and how its intervals behave, in two sentences."""
    choice = (result.choices or {}).get(predictor)
    if not choice:
        return (
            "The paper's predictor: a sigmoid of the capability factors fitted by least "
            f"squares; intervals by {interval_method(result, predictor)}."
        )
    weights: dict[str, float] = {}
    for m in choice["members"]:
        key = INPUTS.get(m["inputs"], m["inputs"])
        weights[key] = weights.get(key, 0.0) + float(m["weight"])
    parts = sorted(weights.items(), key=lambda kv: -kv[1])
    listed = ", ".join(f"{k} ({w:.0%})" for k, w in parts[1:])
    top, w = parts[0]
    head = f"Mostly {top} ({w:.0%} of the weight)" if w >= 0.5 else f"Chiefly {top} ({w:.0%})"
    first = head + (f"; also {listed}" if listed else "")
    anchor = float(choice.get("anchor_weight", 0.0))
    if anchor > 0:
        first += f"; {anchor:.0%} of the weight stays on the paper's predictor"
    sentences = [f"{first}.", FLAT_SIDES.get(choice.get("flat_side") or "", "")]
    sentences.append(_interval_sentence(choice["interval"], result.chance))
    return " ".join(s for s in sentences if s)


# what a flat training side did to the weights, by the rule the choice records
FLAT_SIDES = {
    "hedge": "The training side is flat below the cutoff (its nested back-tests cannot rank "
    "the inputs), so log-FLOPs takes at least half of the weight; `--flat-side paper` keeps "
    "the factors instead, for a task whose jump should follow them.",
    "paper": "The training side is flat below the cutoff (its nested back-tests cannot rank "
    "the inputs), so the factors alone (`--flat-side paper`).",
}


def _interval_sentence(interval: dict[str, Any], chance: float) -> str:
    scale = interval.get("scale", {})
    widen = []
    if scale.get("d_flops", 0) > 0:
        widen.append("with distance past the largest training model")
    if scale.get("d_level", 0) > 0:
        widen.append("for predictions above the highest fitted score")
    shape = "they widen " + " and ".join(widen) if widen else "their width is the same everywhere"
    text = f"Intervals: {interval['rule']}; {shape}"
    shift = interval.get("shift")
    if shift:
        text += (
            f"; predictions are shifted by {_points(float(shift), chance):+.1f} points "
            "(the nested back-tests' median error)"
        )
    return text + "."


# how each method makes a forecast's interval (``model.prediction.methods``' predict_draws), by
# the method name that forecast.json records
FORECAST_INTERVALS = {
    "obsscale": "the default method's calibrated half-widths (those of its back-tests) "
    "and the ensemble's spread over draws of the factors (the family line's, or a model's "
    "imputed ones), added in quadrature",
    "paper": "bootstrap: the paper predictor's bootstrap refits at draws of the factors (the "
    "family line's, or a model's imputed ones), plus resampled residuals",
}


def forecast_interval_method(forecast: Any) -> str:
    """How ``forecast.json``'s intervals were made, from the method the file records."""
    settings = (forecast.settings or {}) if forecast is not None else {}
    if settings.get("intervals"):
        return str(settings["intervals"])
    method = settings.get("method")
    return FORECAST_INTERVALS.get(str(method), "not recorded in forecast.json (an older run)")


def headlines(fit: CapabilityFit, results: list[PredictionResult]) -> list[str]:
    """Three findings in words, generated from the numbers."""
    evr = fit.factors.explained_variance_ratio_
    out = [
        f"One capability factor (PC-1) explains {evr[0]:.1%} of the variance of "
        f"{len(fit.benchmarks)} benchmarks across {len(fit.models)} models; "
        f"{len(evr)} factors explain {evr.sum():.1%}."
    ]
    out += _efficiency_headline(fit)
    if results:
        out.append(_backtest_headline(results))
        out.append(_verdict_headline(results))
    return out


def _backtest_headline(results: list[PredictionResult]) -> str:
    """How the factors fared against the compute-only baselines each back-test could fit."""
    compared = [r for r in results if r.mse_ratios()]
    wins = sum(all(v > 1 for v in r.mse_ratios().values()) for r in compared)
    ratios = [v for r in compared for v in r.mse_ratios().values()]
    cover = [r.scores["pc"].coverage for r in results]
    both = all(len(r.mse_ratios()) == 2 for r in compared)
    kinds = {r.settings.get("split", {}).get("kind") for r in results}
    where = "above a FLOPs cutoff" if kinds == {"cutoff_flops"} else "past their cutoffs"
    text = (
        f"Back-tested {where}, the capability factors beat "
        f"{'both compute-only baselines' if both else 'every compute-only baseline fitted'} "
        f"on {wins} of {len(compared)} targets"
    )
    if ratios:
        text += f" (median baseline/factor test-MSE ratio {np.median(ratios):.2g}x)"
    if len(compared) < len(results):
        text += f"; {len(results) - len(compared)} had no compute baseline (no compute known)"
    return (
        f"{text}; their {results[0].interval:.0%} intervals cover "
        f"{min(cover):.0%}-{max(cover):.0%} of the held-out models."
    )


def baseline_interval_method(result: PredictionResult) -> str | None:
    """How the compute baselines' intervals were made (None: none was fitted)."""
    fitted = [p for p in PREDICTORS if p != "pc" and p in result.scores]
    return interval_method(result, fitted[0]) if fitted else None


def _verdict_headline(results: list[PredictionResult]) -> str:
    """Which targets are predictable, by the verdict's rule (a lower error alone is not)."""
    by_level: dict[str, list[str]] = {}
    for r in results:
        by_level.setdefault(r.verdict().level, []).append(r.target)
    said = "; ".join(
        f"{level} for {', '.join(by_level[level])}"
        for level in ("yes", "weakly", "no")
        if level in by_level
    )
    return (
        f"Predictable from the capability factors (test R² at least {verdict.MIN_R2:g}, test "
        f"MSE at least {verdict.MIN_BASELINE_RATIO:g}x lower than each baseline's, interval "
        f"coverage within {verdict.COVERAGE_SE:g} standard errors of nominal): {said}."
    )


def _efficiency_headline(fit: CapabilityFit) -> list[str]:
    eff, conf = fit.efficiency, 1 - float(fit.settings["alpha"])
    if not len(eff) or fit.reference is None:
        return []
    ref = fit.reference.family
    solid = eff[~eff["extrapolated"] & eff["significant"]]
    if len(solid):
        parts = [f"{r['family']} ({r['compute_multiplier']:.2g}x)" for _, r in solid.iterrows()]
        return [
            f"Families whose compute efficiency differs from {ref} at {conf:.0%} confidence "
            f"(both lines' uncertainty counted; multiplier = {ref} compute needed for the "
            f"same PC-1): {', '.join(parts)}."
        ]
    return [
        f"No family's compute efficiency differs from {ref}'s at {conf:.0%} confidence "
        f"within {ref}'s compute range (its line rests on {fit.reference.n_models} "
        "models); see the efficiency table for point estimates."
    ]


def machine_notes(result: PredictionResult) -> tuple[list[str], list[str]]:
    """The result's notes split into those a reader needs (data caveats) and the machine
    detail of each predictor's choice (shown folded)."""
    detail = tuple(f"{p}: " for p in PREDICTORS)
    keep = [n for n in result.notes if not n.startswith(detail)]
    return keep, [n for n in result.notes if n.startswith(detail)]
