"""The index fitted on the hub data of models.csv, as two tables (``obsscale index``).

Per model: obsscale id, the hub's own model-version id, release date, C with its interval,
number of hub benchmarks used, and for a reasoning-effort variant (``_high``, ``_medium``)
the obsscale id of its base model (variants are fitted as models of their own). The index is
fitted on the block of the hub matrix dense enough to stitch (``hub_matrix``); models outside
it with at least one score on its benchmarks get their C folded in (benchmarks fixed), with
``in_fit`` false. Per benchmark: difficulty D and slope alpha with intervals.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.stats import norm

from obsscale.data.hub import EPOCH_ID, effort_of
from obsscale.model.completion.hub_matrix import PREFIX, hub_columns, hub_matrix
from obsscale.model.index.irt import CapabilityIndex

VERSION = re.compile(r"^Epoch version (?P<version>.+) \([a-z_]+\)$")


def hub_versions(models: pd.Series, provenance: pd.DataFrame | None) -> pd.Series:
    """obsscale id -> the hub's model-version id: the ``epoch:`` suffix, else the version
    named in provenance.csv's detail of the model's hub scores."""
    out = pd.Series(
        [m.removeprefix(EPOCH_ID) if m.startswith(EPOCH_ID) else None for m in models],
        index=models.to_numpy(),
        dtype=object,
    )
    if provenance is not None and not provenance.empty:
        hub = provenance[provenance["field"].astype(str).str.startswith(PREFIX)]
        found = hub["detail"].astype(str).str.extract(VERSION)["version"]
        named = pd.Series(found.to_numpy(), index=hub["model"].to_numpy()).dropna()
        named = named[~named.index.duplicated()]
        out = out.fillna(named.reindex(out.index))
    return out


def base_models(versions: pd.Series) -> pd.Series:
    """obsscale id -> obsscale id of its base model, for effort variants whose base model
    (the unsuffixed or representative variant) is in the table; None otherwise."""
    base_of = versions.dropna().map(lambda v: effort_of(v)[0])
    effort = versions.dropna().map(lambda v: effort_of(v)[1])
    plain = base_of[effort.isna()]
    owner = pd.Series(plain.index, index=plain.to_numpy())
    owner = owner[~owner.index.duplicated()]
    linked = base_of[effort.notna()].map(owner)
    return linked.reindex(versions.index)


def _effort(version: object) -> str | None:
    return effort_of(version)[1] if isinstance(version, str) else None


def _base(version: object) -> str | None:
    return effort_of(version)[0] if isinstance(version, str) else None


def fit_index(models: pd.DataFrame, anchor: str | None = None) -> CapabilityIndex:
    return CapabilityIndex(anchor=anchor).fit(hub_matrix(models))


def model_table(
    models: pd.DataFrame,
    index: CapabilityIndex,
    provenance: pd.DataFrame | None = None,
    level: float = 0.9,
) -> pd.DataFrame:
    """One row per model with a hub score on the index's benchmarks, highest C first."""
    table = models.set_index("model")
    scores = table[[c for c in hub_columns(models) if c in index.benchmarks_]]
    scores = scores[scores.notna().any(axis=1)]
    outside = scores.loc[~scores.index.isin(index.models_)]
    folded = index.fold_in(outside)
    inside = pd.DataFrame(
        {
            "capability": index.capability_,
            "capability_se": index.capability_se_,
            "n_benchmarks": index.n_scores_,
        }
    )
    both = pd.concat([inside.assign(in_fit=True), folded.assign(in_fit=False)])
    z = float(norm.ppf((1 + level) / 2))
    versions = hub_versions(pd.Series(both.index), provenance)
    out = pd.DataFrame(
        {
            "model": both.index,
            "hub_version": versions.reindex(both.index).to_numpy(),
            "release_date": table["release_date"].reindex(both.index).to_numpy(),
            "capability": both["capability"].to_numpy(),
            "lower": (both["capability"] - z * both["capability_se"]).to_numpy(),
            "upper": (both["capability"] + z * both["capability_se"]).to_numpy(),
            "n_benchmarks": both["n_benchmarks"].astype(int).to_numpy(),
            "in_fit": both["in_fit"].to_numpy(),
            "effort": versions.reindex(both.index).map(_effort).to_numpy(),
            "base_version": versions.reindex(both.index).map(_base).to_numpy(),
            "base_model": base_models(versions).reindex(both.index).to_numpy(),
        }
    )
    return out.sort_values(["capability", "model"], ascending=[False, True], kind="stable")


def benchmark_table(index: CapabilityIndex, level: float = 0.9) -> pd.DataFrame:
    """One row per benchmark: D and alpha with ``level`` intervals, and how many scores."""
    z = float(norm.ppf((1 + level) / 2))
    d, d_se = index.difficulty_, index.difficulty_se_
    log_a, a_se = np.log(index.slope_), index.log_slope_se_
    return pd.DataFrame(
        {
            "benchmark": [b.removeprefix(PREFIX) for b in index.benchmarks_],
            "column": index.benchmarks_,
            "difficulty": d.to_numpy(),
            "difficulty_lower": (d - z * d_se).to_numpy(),
            "difficulty_upper": (d + z * d_se).to_numpy(),
            "slope": index.slope_.to_numpy(),
            "slope_lower": np.exp(log_a - z * a_se).to_numpy(),
            "slope_upper": np.exp(log_a + z * a_se).to_numpy(),
            "n_models": index.n_models_.to_numpy(),
            "anchor": [b == index.anchor_ for b in index.benchmarks_],
        }
    ).sort_values("difficulty", kind="stable")
