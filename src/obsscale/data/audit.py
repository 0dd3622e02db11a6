"""Data-quality audit: list every suspicious value, change none.

Each finding names the model, the field, the value, the rule it broke, the source and a
severity: ``warning`` (look at it), ``info`` (known gap, or a correction applied), ``dropped``
(a parser could not use the value) or ``excluded`` (a leaderboard row left out by policy).
Scores outside [0, 1] never reach the model table (the parsers drop and report them), so the
rules here are about metadata and about sources that disagree. Every rule is vectorized: the
audit runs on every harmonization, over tens of thousands of values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.data.parsers import EVENT_COLUMNS


def _rows(
    frame: pd.DataFrame,
    mask: pd.Series,
    *,
    field: object,
    value: object,
    rule: str,
    source: object,
    severity: str,
    detail: object,
) -> pd.DataFrame:
    """Findings for the masked rows of ``frame``; each of field/value/source/detail is a
    column of ``frame`` (Series) or one value for all rows."""
    sub = frame[mask.to_numpy()]

    def col(v: object) -> object:
        return v[mask].to_numpy() if isinstance(v, pd.Series) else v

    return pd.DataFrame(
        {
            "model": sub["model"].to_numpy(),
            "field": col(field),
            "value": col(value),
            "rule": rule,
            "source": col(source),
            "severity": severity,
            "detail": col(detail),
        },
        columns=EVENT_COLUMNS,
    )


def check_compute(models: pd.DataFrame, config: Config) -> list[pd.DataFrame]:
    """FLOPs inconsistent with 6·N·D, implausible tokens per parameter, missing compute."""
    return [
        _six_nd_mismatch(models, config),
        _tokens_per_param(models, config),
        *_missing_compute(models),
    ]


def _six_nd_mismatch(models: pd.DataFrame, config: Config) -> pd.DataFrame:
    n, d, c = models["params_b"] * 1e9, models["tokens_t"] * 1e12, models["flops"]
    ratio = c / (6 * n * d)
    given = models["flops_source"].fillna("") != "6ND"
    off = given & ratio.notna() & ((ratio - 1).abs() > config.audit.flops_rel_tol)
    detail = pd.Series(
        [
            f"flops / (6·N·D) = {r:.3g} (N={x:.3g}, D={y:.3g})"
            for r, x, y in zip(ratio, n, d, strict=True)
        ],
        index=models.index,
    )
    return _rows(
        models,
        off,
        field="flops",
        value=c,
        rule="flops_not_6nd",
        source=models["flops_source"],
        severity="warning",
        detail=detail,
    )


def _tokens_per_param(models: pd.DataFrame, config: Config) -> pd.DataFrame:
    lo, hi = config.audit.min_tokens_per_param, config.audit.max_tokens_per_param
    tpp = (models["tokens_t"] * 1e12) / (models["params_b"] * 1e9)
    return _rows(
        models,
        tpp.notna() & ((tpp < lo) | (tpp > hi)),
        field="tokens_t",
        value=models["tokens_t"],
        rule="tokens_per_param",
        source=models["tokens_t_source"],
        severity="warning",
        detail=tpp.map(lambda t: f"{t:.4g} tokens per parameter, outside [{lo:g}, {hi:g}]"),
    )


def _missing_compute(models: pd.DataFrame) -> list[pd.DataFrame]:
    curated = models["family_source"].fillna("").str.startswith("obsscaling")
    return [
        _rows(
            models,
            curated & models["flops"].isna(),
            field="flops",
            value=None,
            rule="no_flops",
            source=models["family_source"],
            severity="info",
            detail="curated model without training compute (params or tokens unknown)",
        ),
        _rows(
            models,
            models["flops"].notna() & models["family"].isna(),
            field="family",
            value=None,
            rule="no_family",
            source=models["flops_source"],
            severity="warning",
            detail="model has compute metadata but no family rule matches it",
        ),
    ]


def check_sources_agree(
    models: pd.DataFrame, values: pd.DataFrame, config: Config
) -> list[pd.DataFrame]:
    """Compare every source's value of a field with the value kept in ``models``."""
    tol = config.audit
    compared = values[
        values["field"].isin(["params_b", "flops"]) | values["field"].str.contains(":", regex=False)
    ]
    kept = (
        models.set_index(models["model"].str.lower()).drop(columns="model").stack().rename("kept")
    )
    kept.index.names = ["key", "field"]
    both = compared.join(kept, on=["key", "field"], how="inner")
    val = pd.to_numeric(both["value"], errors="coerce")
    ref = pd.to_numeric(both["kept"], errors="coerce")
    field = both["field"]
    bad = (
        ((field == "params_b") & ((val - ref).abs() / ref > tol.params_rel_tol))
        | ((field == "flops") & (np.maximum(val / ref, ref / val) > tol.flops_ratio_tol))
        | (field.str.contains(":", regex=False) & ((val - ref).abs() > tol.score_abs_tol))
    )
    out = []
    for name, digits, unit in (("params_b", ".4g", "B"), ("flops", ".3g", ""), (None, ".3f", "")):
        which = field.str.contains(":", regex=False) if name is None else field == name
        mask = bad & which
        detail = [
            f"{s} says {v:{digits}}{unit}, kept {k:{digits}}{unit}"
            for s, v, k in zip(both["source"][mask], val[mask], ref[mask], strict=True)
        ]
        out.append(
            _rows(
                both,
                mask,
                field=field,
                value=val,
                rule="score_disagree" if name is None else f"{name}_disagree",
                source=both["source"],
                severity="warning",
                detail=pd.Series(detail, index=both.index[mask], dtype=object).reindex(both.index),
            )
        )
    return out


def check_is_base(models: pd.DataFrame, values: pd.DataFrame) -> list[pd.DataFrame]:
    """Sources that disagree on pretrained vs fine-tuned, and 'base' models named chat/instruct."""
    flags = values[values["field"] == "is_base"].dropna(subset=["value"])
    flags = flags.assign(value=flags["value"].astype(bool))
    split = flags.groupby("key")["value"].nunique()
    split = flags[flags["key"].isin(split.index[split > 1])]
    kept = models.set_index(models["model"].str.lower())["is_base"]
    said = split.assign(
        said=split["source"] + ": " + np.where(split["value"], "base", "fine-tuned")
    )
    per_model = said.groupby("key", sort=True).agg(
        model=("model", "first"),
        detail=("said", ", ".join),
        source=("source", lambda s: "/".join(sorted(set(s)))),
    )
    per_model["value"] = kept.reindex(per_model.index).to_numpy()
    per_model["detail"] += "; kept " + per_model["value"].astype(str)
    named = models["model"].str.contains(r"(?i)(?:chat|instruct|-it$|-sft|dpo|rlhf)")
    return [
        _rows(
            per_model,
            pd.Series(True, index=per_model.index),
            field="is_base",
            value=per_model["value"],
            rule="is_base_disagree",
            source=per_model["source"],
            severity="warning",
            detail=per_model["detail"],
        ),
        _rows(
            models,
            named & models["is_base"].fillna(False).astype(bool),
            field="is_base",
            value=True,
            rule="base_named_finetuned",
            source=models["family_source"],
            severity="warning",
            detail="marked pretrained but its name says chat/instruct/fine-tuned",
        ),
    ]


def check_score_pairs(models: pd.DataFrame, config: Config) -> list[pd.DataFrame]:
    """The same benchmark from two leaderboards (different harnesses) differing sharply."""
    out = []
    for a, b in config.audit.score_pairs:
        if a not in models or b not in models:
            continue
        mask = (models[a] - models[b]).abs() > config.audit.score_abs_tol
        detail = (
            models[a].map("{:.3f}".format).radd(f"{a}=")
            + ", "
            + models[b].map("{:.3f}".format).radd(f"{b}=")
        )
        out.append(
            _rows(
                models,
                mask,
                field=f"{a} vs {b}",
                value=models[a],
                rule="score_disagree",
                source=f"{a.split(':')[0]}/{b.split(':')[0]}",
                severity="warning",
                detail=detail,
            )
        )
    return out


def audit(
    models: pd.DataFrame, values: pd.DataFrame, events: list[dict], config: Config
) -> pd.DataFrame:
    """All findings, parser events first, in a stable order."""
    parts = [
        pd.DataFrame(events, columns=EVENT_COLUMNS),
        *check_compute(models, config),
        *check_sources_agree(models, values, config),
        *check_is_base(models, values),
        *check_score_pairs(models, config),
    ]
    frame = pd.concat([p.astype(object) for p in parts if len(p)], ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    frame["value"] = frame["value"].map(
        lambda v: None if isinstance(v, float) and not np.isfinite(v) else v
    )
    return frame[EVENT_COLUMNS]
