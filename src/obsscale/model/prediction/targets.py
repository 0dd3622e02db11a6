"""What is predicted: checks on the target column, its scale, chance normalisation, the rows
and the factor basis of a prediction, the user's own downstream files, and the plan of a
target whose models lack the default basis (``plan_target``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import CapabilityConfig, Config
from obsscale.data.table import META_FIELDS, require_score_columns, score_columns
from obsscale.exceptions import PredictError
from obsscale.model.capabilities.basis import factor_basis, observed_share, resolve_basis
from obsscale.model.capabilities.rows import Selection
from obsscale.model.prediction.chance import check_chance, to_normalised
from obsscale.model.prediction.records import Task
from obsscale.model.prediction.splits import CutoffDate, CutoffFlops, Split

SCALES = {"fraction": 1.0, "percent": 100.0, "ten": 10.0}


def normalize_scale(
    values: pd.Series, name: str, scale: str = "auto"
) -> tuple[pd.Series, str | None]:
    """The target as fractions of [0, 1], from ``scale`` (``fraction``, ``percent``, ``ten``)
    or, with ``auto``, only where the range leaves no doubt: at most 1 is a fraction, above 10
    (up to 100) is percent. A column whose largest value lies in (1, 10] could be fractions
    with a few bad values, a 0-10 score or low percentages: it is refused, naming its range."""
    v = values.dropna()
    if v.empty:
        raise PredictError(f"target {name!r} has no values")
    lo, hi = float(v.min()), float(v.max())
    if scale == "auto":
        scale = "fraction" if hi <= 1 else "percent" if 10 < hi <= 100 else ""
        if not scale and 1 < hi <= 10 and lo >= 0:
            raise PredictError(
                f"target {name!r} ranges from {lo:g} to {hi:g}: ambiguous scale (fractions "
                "with values above 1? a 0-10 score? low percentages?); say which with the "
                "setting predict.scale: fraction, percent or ten",
                setting="predict.scale",
            )
    if scale not in SCALES:
        raise PredictError(
            f"target {name!r} ranges from {lo:g} to {hi:g}: obsscale predicts metrics on [0, 1] "
            "(fractions), [0, 10] or [0, 100] (percent); rescale it (e.g. BLEU/100, Elo "
            "min-max) first"
        )
    top = SCALES[scale]
    if lo < 0 or hi > top:
        raise PredictError(
            f"target {name!r} ranges from {lo:g} to {hi:g}, outside [0, {top:g}] of the "
            f"setting predict.scale = {scale!r}",
            setting="predict.scale",
        )
    if top == 1:
        return values.astype(float), None
    return values / top, f"{name}: values range {lo:g}..{hi:g}; read as {scale} (÷{top:g})"


def load_downstream(
    path: str | Path, models: pd.DataFrame, aliases: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Merge a user's CSV (``Model`` column of Hugging Face ids + one column per metric) onto
    the model table as ``downstream:<metric>`` columns; return the ids it could not match."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"Model": str}, index_col=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise PredictError(f"{path}: cannot read CSV ({e})") from e
    if "Model" not in frame.columns:
        raise PredictError(
            f"{path}: needs a 'Model' column of Hugging Face ids; columns are {list(frame.columns)}"
        )
    metrics = [c for c in frame.columns if c != "Model"]
    if not metrics:
        raise PredictError(f"{path}: no metric columns besides 'Model'")
    frame["Model"] = frame["Model"].str.strip()
    ids = frame["Model"].str.lower()
    ids = ids.map(lambda k: (aliases or {}).get(k, k))  # moved Hugging Face ids
    dup = ids.duplicated(keep=False) & frame["Model"].notna()
    if dup.any():
        raise PredictError(f"{path}: duplicated models: {sorted(set(frame.loc[dup, 'Model']))}")
    for col in metrics:
        num = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & num.isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PredictError(
                f"{path}: row {i + 2}, column {col!r}: {frame[col].iloc[i]!r} is not a number"
            )
        frame[col] = num
    key = models["model"].str.lower()
    known = ids.isin(set(key))
    unmatched = sorted(frame.loc[~known, "Model"].dropna())
    if not known.any():
        raise PredictError(
            f"{path}: none of its {len(frame)} models is in the model table "
            f"(e.g. {unmatched[:3]}); ids must be Hugging Face ids"
        )
    renamed = frame[known].set_index(ids[known])[metrics]
    renamed.columns = [f"downstream:{c}" for c in metrics]
    merged = models.drop(columns=[c for c in renamed.columns if c in models.columns])
    merged = merged.join(renamed, on=key)
    return merged, unmatched


def check_target(models: pd.DataFrame, target: str) -> None:
    """Only score columns are targets: metadata (sizes, flags, names) is not a metric."""
    if models.empty:
        raise PredictError(
            "no models selected: check the selection's subset, families and model ids",
            setting="selection",
        )
    if target not in models.columns:
        raise PredictError(f"unknown target column {target!r}")
    if target in ("model", *META_FIELDS) or target.endswith("_source"):
        raise PredictError(
            f"target {target!r} is model metadata, not a metric: choose a <source>:<benchmark> "
            "column of models.csv or a metric of a downstream file",
            setting="downstream",
        )
    col = models[target]
    if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        raise PredictError(f"target {target!r} is not numeric (dtype {col.dtype})")
    if col.dropna().nunique() < 2:
        raise PredictError(f"target {target!r} has fewer than 2 distinct values: nothing to fit")


def candidate_bases(settings: CapabilityConfig) -> tuple[tuple[str, ...], ...]:
    """The bases to choose from: the configured one, and its fallbacks if it is the default."""
    if settings.benchmarks != CapabilityConfig.benchmarks:
        return (settings.benchmarks,)
    return (settings.benchmarks, *settings.basis_fallbacks)


def _basis(
    models: pd.DataFrame,
    target: str,
    candidates: tuple[tuple[str, ...], ...],
    twins: tuple[tuple[str, str], ...],
    margin: float,
    basis: list[str] | None,
) -> tuple[list[str], list[str]]:
    """The factor basis (chosen among ``candidates`` unless given) and the notes on it; a
    given basis that holds the target or its twin is refused (it would leak the target)."""
    notes = []
    if basis is None:
        for benchmarks in candidates:
            require_score_columns(benchmarks)
        basis, left_out, note = resolve_basis(models, target, candidates, twins, margin)
        notes += [note] if note else []
        if left_out:
            notes.append(
                f"left out of the factor basis for this prediction: {', '.join(left_out)} "
                f"(the target {target}, or the same benchmark from another source)"
            )
    missing = [b for b in basis if b not in models.columns]
    if missing:
        raise PredictError(f"unknown benchmark columns {missing}")
    leaked = [b for b in basis if b == target or (b, target) in twins or (target, b) in twins]
    if leaked:
        raise PredictError(
            f"{target}: its factor basis holds {', '.join(leaked)} (the target, or the same "
            "benchmark from another source); fit the capabilities without it"
        )
    return basis, notes


def prepare(
    models: pd.DataFrame,
    target: str,
    chance: float,
    candidates: tuple[tuple[str, ...], ...],
    twins: tuple[tuple[str, str], ...],
    scale: str = "auto",
    margin: float = CapabilityConfig.basis_margin,
    basis: list[str] | None = None,
) -> Task:
    """Check the target, choose the basis without it (unless ``basis`` is given), keep the
    rows that have both, in model-id order."""
    check_target(models, target)
    basis, notes = _basis(models, target, candidates, twins, margin, basis)
    y_raw, scale_note = normalize_scale(models[target], target, scale)
    notes += [scale_note] if scale_note else []
    keep = y_raw.notna() & models[basis].notna().any(axis=1)
    if not keep.any():
        raise PredictError(
            f"none of the {int(y_raw.notna().sum())} models with {target} has a score on the "
            f"factor basis ({', '.join(basis)}): choose benchmarks they have with the "
            "setting capabilities.benchmarks",
            setting="capabilities.benchmarks",
        )
    # rows in id order: results do not depend on the order of the input table
    order = models.loc[keep, "model"].sort_values(kind="stable").index
    check_chance(chance)
    y = to_normalised(y_raw[order].reset_index(drop=True), chance)
    below = float((y < 0).mean())
    if chance > 0 and below > 0.2:
        notes.append(f"{below:.0%} of the models score below the chance level {chance:g}")
    dropped = int((y_raw.notna() & ~keep).sum())
    if dropped:
        notes.append(f"{dropped} models with the target but no basis score were left out")
    # the target as fractions: a predictor refitted on a subset of the rows reads these values
    data = models.loc[order].assign(**{target: y_raw[order]}).reset_index(drop=True)
    return Task(target, chance, data, y, basis, notes)


#: a target's models lack the configured bases where the best of them holds less than this
#: share of their cells (frontier models: none; instruct models on Leaderboard v2: 0.28)
LACKS_BASIS = 0.1
#: a benchmark joins the basis of a target whose models lack the default one where it is
#: observed for at least this share of them
FRONTIER_SHARE = 0.25


@dataclass(frozen=True)
class TargetPlan:
    """The settings a target is fitted with and, where they differ from the configured ones,
    the one line that says why (``None``: the configured ones, as they are)."""

    settings: CapabilityConfig
    note: str | None = None


def plan_target(
    models: pd.DataFrame,
    target: str,
    settings: CapabilityConfig,
    twins: tuple[tuple[str, str], ...],
    *,
    prefer: tuple[str, ...] = (),
    widen: bool = True,
    train: pd.Series | None = None,
) -> TargetPlan:
    """The settings for ``target`` when the configured selection holds fewer than 3 of its
    models or they lack every candidate basis (frontier models: API-only, instruction-tuned,
    on hub benchmarks): all models with it where ``widen`` (the selection was not named) and
    base models only was the setting; a basis chosen from what they have (``prefer``'s
    columns first, e.g. the user's own scores) unless one was configured; components at
    most one fewer than the basis's benchmarks unless configured. Otherwise the settings as
    they are: the targets the configured basis serves never change. ``train``: the split's
    training side, where the basis must be observed (and vary) to be fitted."""
    if target not in models.columns or not models[target].notna().any():
        return TargetPlan(settings)  # check_target says what is wrong
    has = models[target].notna()
    base = models["is_base"].fillna(False).astype(bool)
    selected = has & base if settings.base_only else has
    candidates = candidate_bases(settings)
    if selected.sum() >= 3 and _best_share(models, selected, target, candidates, twins) >= (
        LACKS_BASIS
    ):
        return TargetPlan(settings)
    all_models = settings.base_only and widen
    rows = has if all_models else selected
    if not rows.any():  # a named selection without its models: the selection check says so
        return TargetPlan(settings)
    changes: dict[str, Any] = {"base_only": False} if all_models else {}
    default_basis = settings.benchmarks == CapabilityConfig.benchmarks
    basis, fitted = None, rows
    if default_basis and _best_share(models, rows, target, candidates, twins) < LACKS_BASIS:
        fitted = rows if train is None else rows & train
        basis = frontier_basis(models, fitted, target, twins, prefer, len(settings.benchmarks))
        changes |= {"benchmarks": tuple(basis), "basis_fallbacks": ()}
        if settings.n_components == CapabilityConfig.n_components:
            changes["n_components"] = min(settings.n_components, max(1, len(basis) - 1))
    if not changes:
        return TargetPlan(settings)
    planned = replace(settings, **changes)
    note = _plan_note(target, (has, base, rows, fitted), planned, basis, prefer)
    return TargetPlan(planned, note)


def plan_for(
    models: pd.DataFrame,
    target: str,
    settings: CapabilityConfig,
    selection: Selection,
    config: Config,
    prefer: tuple[str, ...] = (),
    split: Split | None = None,
) -> TargetPlan:
    """``plan_target`` of the whole table, widened only where the selection names no models,
    its basis observed on the training side of ``split`` where that is one cutoff."""
    twins = config.audit.score_pairs
    train = training_side(models, split) if split is not None else None
    named = selection.named
    return plan_target(models, target, settings, twins, prefer=prefer, widen=not named, train=train)


def training_side(models: pd.DataFrame, split: Split) -> pd.Series | None:
    """The rows a cutoff split trains on (None for splits of several folds)."""
    if isinstance(split, CutoffDate):
        return pd.to_datetime(models["release_date"], errors="coerce") < pd.Timestamp(split.date)
    if isinstance(split, CutoffFlops):
        return models["flops"] <= split.flops
    return None


def _best_share(
    models: pd.DataFrame,
    rows: pd.Series,
    target: str,
    candidates: tuple[tuple[str, ...], ...],
    twins: tuple[tuple[str, str], ...],
) -> float:
    """The largest share of the rows' cells that a candidate basis (without the target and
    its twins) holds."""
    return max(observed_share(models, rows, factor_basis(c, target, twins)[0]) for c in candidates)


def frontier_basis(
    models: pd.DataFrame,
    rows: pd.Series,
    target: str,
    twins: tuple[tuple[str, str], ...],
    prefer: tuple[str, ...] = (),
    max_size: int = 8,
) -> list[str]:
    """The target's source's score columns observed (and varying) for at least
    ``FRONTIER_SHARE`` of the rows, most observed first (then by name), without the target
    and its twins: those of ``prefer`` if any is, else the ``max_size`` best observed. Other
    sources are left out: their versions of the target (``openllm_v2:GPQA`` beside
    ``epoch_hub:GPQA Diamond``) are not all declared twins. Thinly co-observed columns (a
    benchmark of older models beside one of frontier models) would leave the imputation
    without a fixed point.
    A subset of the target (``FrontierMath Tier 1-3 (public)`` for ``FrontierMath Tier 1-3``)
    or its superset would leak it, as a twin would."""
    source = target.partition(":")[0]
    columns = [
        c
        for c in factor_basis(tuple(score_columns(models)), target, twins)[0]
        if c.partition(":")[0] == source and not _qualified(c, target)
    ]
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(models[c])]
    counts = models.loc[rows, numeric].notna().sum()
    varies = models.loc[rows, numeric].nunique() >= 2  # a constant column cannot be fitted
    enough = counts[(counts >= FRONTIER_SHARE * int(rows.sum())) & varies]
    ranked = sorted(enough.index, key=lambda c: (-int(enough[c]), c))
    preferred = [c for c in ranked if c in set(prefer)]
    chosen = preferred or ranked[:max_size]
    if not chosen:
        raise PredictError(
            f"{target}: no other benchmark is observed for {FRONTIER_SHARE:.0%} of its "
            f"{int(rows.sum())} models; choose a basis with the setting capabilities.benchmarks",
            setting="capabilities.benchmarks",
        )
    return chosen


def _qualified(column: str, target: str) -> bool:
    """Whether one benchmark is the other with a qualifier in brackets."""
    a, b = (c.partition(":")[2] for c in (column, target))
    return a.startswith(b + " (") or b.startswith(a + " (")


def _plan_note(
    target: str,
    masks: tuple[pd.Series, pd.Series, pd.Series, pd.Series],
    planned: CapabilityConfig,
    basis: list[str] | None,
    prefer: tuple[str, ...],
) -> str:
    """One line: which models, which basis (observed on which of them: ``masks`` are the
    rows with the target, the base models, the rows fitted and those the basis was chosen
    on), how many components, and why."""
    has, base, rows, fitted = masks
    n, n_base = int(has.sum()), int((has & base).sum())
    on = "them" if fitted.equals(rows) else f"the {int(fitted.sum())} of them the split trains on"
    which = "all of them" if not planned.base_only else f"its {int(rows.sum())} base models"
    line = f"{target}: {n} models with it ({n_base} base models), fitted on {which}"
    if basis is not None:
        source = "of the given scores, those" if set(basis) <= set(prefer) else "benchmarks"
        line += (
            f"; factor basis {', '.join(basis)} ({source} observed for at least "
            f"{FRONTIER_SHARE:.0%} of {on}, instead of the default, which they lack)"
        )
    left = [c for c in prefer if basis is not None and c not in basis and c != target]
    if left:
        line += f"; left out of it, observed for fewer of them: {', '.join(left)}"
    return line + f"; {planned.n_components} capability component(s)"


#: a date split of frontier models trains on the oldest this share of the target's dated models
DATE_SHARE = 0.7


def date_cutoff(models: pd.DataFrame, target: str, share: float = DATE_SHARE) -> CutoffDate:
    """A release-date split for a back-test of frontier models (whose compute is rarely
    public, so a FLOPs cutoff leaves one side empty): train before the first of the month
    by which ``share`` of the target's dated models were released, test on the rest."""
    dates = pd.to_datetime(models.loc[models[target].notna(), "release_date"], errors="coerce")
    dates = dates.dropna()
    if len(dates) < 4:
        raise PredictError(f"{target}: {len(dates)} dated models, too few for a date split")
    cut = dates.sort_values().iloc[int(share * (len(dates) - 1))]
    return CutoffDate(cut.to_period("M").to_timestamp().strftime("%Y-%m-%d"))
