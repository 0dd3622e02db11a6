"""Data-quality audit: list every suspicious value, change none.

Each finding names the model, the field, the value, the rule it broke, the source and a
severity: ``warning`` (look at it), ``info`` (known gap, or a correction applied), ``dropped``
(a parser could not use the value) or ``excluded`` (a leaderboard row left out by policy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.parsers import EVENT_COLUMNS


def _finding(
    model: object, fld: str, value: object, rule: str, source: object, severity: str, detail: str
) -> dict:
    return {
        "model": model,
        "field": fld,
        "value": value,
        "rule": rule,
        "source": source,
        "severity": severity,
        "detail": detail,
    }


def check_compute(models: pd.DataFrame, config: Config) -> list[dict]:
    """FLOPs inconsistent with 6·N·D, implausible tokens per parameter, missing compute."""
    tol = config.audit
    out = []
    n, d, c = models["params_b"] * 1e9, models["tokens_t"] * 1e12, models["flops"]
    ratio = c / (6 * n * d)
    given = models["flops_source"].fillna("") != "6ND"
    for i in models.index[given & ratio.notna() & ((ratio - 1).abs() > tol.flops_rel_tol)]:
        out.append(
            _finding(
                models.at[i, "model"],
                "flops",
                c[i],
                "flops_not_6nd",
                models.at[i, "flops_source"],
                "warning",
                f"flops / (6·N·D) = {ratio[i]:.3g} (N={n[i]:.3g}, D={d[i]:.3g})",
            )
        )
    tpp = d / n
    bad = tpp.notna() & ((tpp < tol.min_tokens_per_param) | (tpp > tol.max_tokens_per_param))
    for i in models.index[bad]:
        out.append(
            _finding(
                models.at[i, "model"],
                "tokens_t",
                models.at[i, "tokens_t"],
                "tokens_per_param",
                models.at[i, "tokens_t_source"],
                "warning",
                f"{tpp[i]:.4g} tokens per parameter, outside "
                f"[{tol.min_tokens_per_param:g}, {tol.max_tokens_per_param:g}]",
            )
        )
    curated = models["family_source"].fillna("").str.startswith("obsscaling")
    for i in models.index[curated & models["flops"].isna()]:
        out.append(
            _finding(
                models.at[i, "model"],
                "flops",
                None,
                "no_flops",
                models.at[i, "family_source"],
                "info",
                "curated model without training compute (params or tokens unknown)",
            )
        )
    no_family = models["flops"].notna() & models["family"].isna()
    for i in models.index[no_family]:
        out.append(
            _finding(
                models.at[i, "model"],
                "family",
                None,
                "no_family",
                models.at[i, "flops_source"],
                "warning",
                "model has compute metadata but no family rule matches it",
            )
        )
    return out


def check_sources_agree(models: pd.DataFrame, values: pd.DataFrame, config: Config) -> list[dict]:
    """Compare every source's value of a field with the value kept in ``models``."""
    tol = config.audit
    kept = models.set_index(models["model"].str.lower())
    out = []
    numeric = values[
        values["field"].isin(["params_b", "flops"]) | values["field"].str.contains(":")
    ]
    for rec in numeric.itertuples(index=False):
        if rec.key not in kept.index or rec.field not in kept.columns:
            continue
        ref, val = kept.at[rec.key, rec.field], float(rec.value)
        if pd.isna(ref) or ref == val:
            continue
        rule = "score_disagree" if ":" in rec.field else f"{rec.field}_disagree"
        if rec.field == "params_b":
            bad = abs(val - ref) / ref > tol.params_rel_tol
            detail = f"{rec.source} says {val:.4g}B, kept {ref:.4g}B"
        elif rec.field == "flops":
            bad = max(val / ref, ref / val) > tol.flops_ratio_tol
            detail = f"{rec.source} says {val:.3g}, kept {ref:.3g}"
        else:
            bad = abs(val - ref) > tol.score_abs_tol
            detail = f"{rec.source} says {val:.3f}, kept {ref:.3f}"
        if bad:
            out.append(_finding(rec.model, rec.field, val, rule, rec.source, "warning", detail))
    return out


def check_is_base(models: pd.DataFrame, values: pd.DataFrame) -> list[dict]:
    """Sources that disagree on pretrained vs fine-tuned, and 'base' models named chat/instruct."""
    out = []
    flags = values[values["field"] == "is_base"].dropna(subset=["value"])
    split = flags.groupby("key")["value"].agg(lambda v: v.astype(bool).nunique() > 1)
    kept = models.set_index(models["model"].str.lower())["is_base"]
    for key in split.index[split]:
        said = flags[flags["key"] == key]
        detail = ", ".join(
            f"{r.source}: {'base' if bool(r.value) else 'fine-tuned'}" for r in said.itertuples()
        )
        out.append(
            _finding(
                said["model"].iloc[0],
                "is_base",
                kept.get(key),
                "is_base_disagree",
                "/".join(sorted(said["source"].unique())),
                "warning",
                f"{detail}; kept {kept.get(key)}",
            )
        )
    named = models["model"].str.contains(r"(?i)(?:chat|instruct|-it$|-sft|dpo|rlhf)")
    for i in models.index[named & models["is_base"].fillna(False).astype(bool)]:
        out.append(
            _finding(
                models.at[i, "model"],
                "is_base",
                True,
                "base_named_finetuned",
                models.at[i, "family_source"],
                "warning",
                "marked pretrained but its name says chat/instruct/fine-tuned",
            )
        )
    return out


def check_score_pairs(models: pd.DataFrame, config: Config) -> list[dict]:
    """The same benchmark from two leaderboards (different harnesses) differing sharply."""
    out = []
    for a, b in config.audit.score_pairs:
        if a not in models or b not in models:
            continue
        diff = (models[a] - models[b]).abs()
        for i in models.index[diff > config.audit.score_abs_tol]:
            out.append(
                _finding(
                    models.at[i, "model"],
                    f"{a} vs {b}",
                    models.at[i, a],
                    "score_disagree",
                    f"{a.split(':')[0]}/{b.split(':')[0]}",
                    "warning",
                    f"{a}={models.at[i, a]:.3f}, {b}={models.at[i, b]:.3f}",
                )
            )
    return out


def check_ranges(models: pd.DataFrame) -> list[dict]:
    out = []
    for col in [c for c in models.columns if ":" in c]:
        bad = models[col].notna() & ((models[col] < 0) | (models[col] > 1))
        for i in models.index[bad]:
            out.append(
                _finding(
                    models.at[i, "model"],
                    col,
                    models.at[i, col],
                    "score_out_of_range",
                    col.split(":")[0],
                    "warning",
                    "score outside [0, 1]",
                )
            )
    return out


def audit(
    models: pd.DataFrame, values: pd.DataFrame, events: list[dict], config: Config
) -> pd.DataFrame:
    """All findings, parser events first, in a stable order."""
    findings = [
        *events,
        *check_compute(models, config),
        *check_ranges(models),
        *check_sources_agree(models, values, config),
        *check_is_base(models, values),
        *check_score_pairs(models, config),
    ]
    frame = pd.DataFrame(findings, columns=EVENT_COLUMNS)
    frame["value"] = frame["value"].map(
        lambda v: v if not isinstance(v, float) or np.isfinite(v) else None
    )
    return frame.reset_index(drop=True)
