"""Merge every parsed source into one tidy table with one row per model.

Every value any source gives is kept in a long table (model, field, value, source, record);
for each model and field the source ranked first by ``Config.precedence`` wins, and the winner is
written to ``provenance.csv`` (the losers stay visible to the audit, which compares them).
Families come from the curated table, then from rules on official Hugging Face ids, then from a
fine-tune's declared base model; unknown stays empty. Training FLOPs are 6·N·D where no source
gives them. Hand-curated corrections are applied last, each logged with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from obsscale.config import Config, Source
from obsscale.data import cache, store
from obsscale.data.audit import audit
from obsscale.data.corrections import apply_corrections, load_corrections
from obsscale.data.dates import curated_dates, drop_placeholder_dates
from obsscale.data.fetch import load_manifest
from obsscale.data.hub import is_hub, join_hub, notable_compute
from obsscale.data.lock import data_lock
from obsscale.data.parsers import PARSERS, Parsed
from obsscale.data.rules import Rules, match_epoch, rule_families
from obsscale.data.table import META_FIELDS, NUMERIC_FIELDS, is_score_column
from obsscale.exceptions import HarmonizeError, ParseError

log = logging.getLogger(__name__)

PROVENANCE_COLUMNS = ["model", "field", "source", "row", "detail"]


@dataclass
class Harmonized:
    """The harmonized tables: ``models`` (one row per model), ``provenance`` and ``quality``."""

    models: pd.DataFrame
    provenance: pd.DataFrame
    quality: pd.DataFrame

    def write(self, config: Config, key: str | None = None) -> None:
        """Replace the processed tables and their record (``harmonize.json``) as one unit:
        an interrupted write leaves the previous tables whole."""
        with store.folder_unit(config.processed_dir) as out:
            store.write_csv(out / "models.csv", self.models)
            store.write_csv(out / "provenance.csv", self.provenance)
            store.write_csv(out / "quality.csv", self.quality)
            cache.record_build(out, key, self.summary())

    def summary(self) -> dict[str, Any]:
        m, sev = self.models, self.quality["severity"].value_counts()
        return {
            "models": len(m),
            "with_flops": int(m["flops"].notna().sum()),
            "families": int(m["family"].nunique()),
            # pairs, most frequent first (the keys of a JSON object would come back sorted)
            "quality": [[str(k), int(v)] for k, v in sev.items()],
        }

    def __repr__(self) -> str:
        fam = self.models["family"].nunique()
        return (
            f"<Harmonized: {len(self.models)} models, {fam} families, "
            f"{len(self.quality)} quality findings>"
        )


def read_sources(config: Config) -> dict[str, Parsed]:
    """Parse every fetched source file (the I/O edge of harmonization)."""
    parsed: dict[str, Parsed] = {}
    manifest = load_manifest(config.manifest_path)
    for name in config.exclude_sources:
        config.source(name)  # an unknown name is an error that lists the known ones
    for source in config.sources:
        path = config.raw_path(source)
        if source.name in config.exclude_sources:
            log.info("%s: excluded; harmonizing without it", source.name)
            continue
        if not path.exists():
            raise HarmonizeError(
                f"{source.name}: raw file {path} is missing; download it again with "
                f"`obsscale fetch --only {source.name}`, or build the table without it with "
                f"`obsscale harmonize --exclude-source {source.name}`"
            )
        check_raw(config, source, manifest.get(source.name))
        try:
            parsed[source.name] = PARSERS[source.parser](path, source, config)
        except (ParseError, ValueError, KeyError) as e:
            raise HarmonizeError(f"{source.name}: cannot parse {path}: {e}") from e
    if not any(s.parser == "obsscaling" and s.name in parsed for s in config.sources):
        raise HarmonizeError(
            f"the curated ObsScaling table is missing under {config.raw_dir}; "
            "run `obsscale fetch` first"
        )
    return parsed


def check_raw(config: Config, source: Source, entry: dict | None) -> None:
    """A raw file must be the one fetch checked: a pinned source's its commit's bytes, a live
    one's those recorded in the manifest. A file edited since is refused (unless
    ``trust_edited``); a file put there by hand (no manifest entry) is used as it is."""
    path = config.raw_path(source)
    if entry is None:
        if source.sha256 is not None:
            log.info("%s: %s was not fetched by obsscale; harmonized as it is", source.name, path)
        return
    digest = store.sha256_file(path)
    want = source.sha256 or entry.get("sha256")
    if digest == want:
        return
    what = "the pinned sha256 of its commit" if source.sha256 else "the sha256 fetch recorded"
    if config.trust_edited:
        log.warning("%s: %s differs from %s; used as edited", source.name, path, what)
        return
    raise HarmonizeError(
        f"{source.name}: raw file {path} differs from {what} (edited or damaged since "
        f"download); fetch it again with `obsscale fetch --only {source.name} --refresh`, or "
        "pass --trust-edited to harmonize it as edited"
    )


def harmonize_and_write(config: Config, key: str | None = None) -> Harmonized:
    """``obsscale harmonize``: read, build and write the tables under the data folder's lock
    (``key``: the ``cache.harmonize_key`` of the inputs, recorded with the tables)."""
    with data_lock(config):
        result = harmonize(config)
        result.write(config, key)
    return result


def harmonize(config: Config, rules: Rules | None = None) -> Harmonized:
    """Read the fetched files and build the harmonized tables (not yet written)."""
    rules = rules or Rules.load()
    corrections = load_corrections(config) if config.apply_corrections else None
    return build(read_sources(config), config, rules, corrections)


def build(
    parsed: dict[str, Parsed], config: Config, rules: Rules, corrections: pd.DataFrame | None = None
) -> Harmonized:
    """Pure merge of parsed sources into the harmonized tables."""
    epoch_names = [s.name for s in config.sources if s.parser == "epoch"]
    later = {*epoch_names, *(s.name for s in config.sources if is_hub(s.parser))}
    values = _stack({n: p for n, p in parsed.items() if n not in later}, rules)
    events = [e for p in parsed.values() for e in p.events]
    hub = join_hub(parsed, config, _display_names(values, config), rules)  # keyed by known ids
    values = pd.concat([values, hub.values], ignore_index=True)
    events += hub.events
    names = _display_names(values, config)
    values = pd.concat([values, rule_families(names, rules)], ignore_index=True)
    for name in epoch_names:
        if name in parsed:
            matched = match_epoch(parsed[name].values, values, names, rules)
            hub_matched = notable_compute(parsed[name].values, hub, set(matched["key"]))
            found = [matched.assign(source=name), hub_matched.assign(source=name)]
            values = pd.concat([values, *found], ignore_index=True)
    values, dropped = drop_placeholder_dates(values, config)
    values = pd.concat([values, curated_dates(names, rules)], ignore_index=True)
    events += dropped
    chosen = _resolve(values, config)
    if corrections is not None:  # first, so that derived values follow the corrected ones
        chosen, fixes = apply_corrections(chosen, corrections, names)
        events.extend(fixes)
    chosen = pd.concat([chosen, _inherited_families(chosen, names, rules)], ignore_index=True)
    chosen = pd.concat([chosen, _six_nd(chosen)], ignore_index=True)
    models = _wide(chosen, names, values, config)
    provenance = (
        chosen.assign(model=chosen["key"].map(names))
        .sort_values(["key", "field"])[PROVENANCE_COLUMNS]
        .reset_index(drop=True)
    )
    quality = audit(models, values.assign(model=values["key"].map(names)), events, config)
    return Harmonized(models, provenance, quality)


def _stack(parsed: dict[str, Parsed], rules: Rules) -> pd.DataFrame:
    """All values in one long table, keyed by lower-case id (moved ids merged)."""
    frames = [p.values.assign(source=name) for name, p in parsed.items()]
    values = pd.concat(frames, ignore_index=True)
    key = values["model"].str.lower()
    values["key"] = key.map(rules.id_aliases).fillna(key)
    values["detail"] = ""
    return values


def _display_names(values: pd.DataFrame, config: Config) -> pd.Series:
    """key -> the id as spelled by the highest-ranked source that has the model."""
    order = {s.name: i for i, s in enumerate(config.sources)}
    ranked = values.assign(_r=values["source"].map(order)).sort_values(["_r", "row"], kind="stable")
    return ranked.drop_duplicates("key").set_index("key")["model"]


def _resolve(values: pd.DataFrame, config: Config) -> pd.DataFrame:
    """For each (model, field) keep the value of the best-ranked source."""
    order = {s.name: i for i, s in enumerate(config.sources)}
    big = len(order) + 100

    def rank(fld: str, source: str) -> int:
        prec = config.precedence.get(fld)
        if prec is not None:
            return prec.index(source) if source in prec else big
        return order.get(source, big)

    ranks = [rank(f, s) for f, s in zip(values["field"], values["source"], strict=True)]
    ranked = values.assign(_rank=ranks)
    # is_base: the curated tables decide; elsewhere any source calling a model fine-tuned or
    # chat wins (leaderboard v2 labels some official chat/instruct models "pretrained")
    curated = {s.name for s in config.sources if s.parser.startswith("obsscaling")}
    lb = (ranked["field"] == "is_base") & ~ranked["source"].isin(curated)
    ranked.loc[lb, "_rank"] = np.where(ranked.loc[lb, "value"].astype(bool), big - 1, big - 2)
    ranked = ranked[ranked["_rank"] < big]
    chosen = ranked.sort_values(["key", "field", "_rank", "row"], kind="stable")
    return chosen.drop_duplicates(["key", "field"]).drop(columns="_rank").reset_index(drop=True)


def _field(chosen: pd.DataFrame, fld: str) -> pd.Series:
    sub = chosen[chosen["field"] == fld]
    return sub.set_index("key")["value"]


def _inherited_families(chosen: pd.DataFrame, names: pd.Series, rules: Rules) -> pd.DataFrame:
    """A fine-tune without a family takes its declared base model's (curated/rule) family."""
    family = _field(chosen, "family")
    base = _field(chosen, "base_model").dropna()
    base = base[~base.index.isin(family.index)]
    rows = []
    for key, parent in base.items():
        parent_key = str(parent).lower()
        fam = family.get(rules.id_aliases.get(parent_key, parent_key))
        if fam is not None:
            rows.append(
                {
                    "model": names[key],
                    "key": key,
                    "field": "family",
                    "value": fam,
                    "row": np.nan,
                    "source": "base_model",
                    "detail": f"base model {parent}",
                }
            )
    return pd.DataFrame(rows, columns=chosen.columns)


def _six_nd(chosen: pd.DataFrame) -> pd.DataFrame:
    """Training compute C = 6·N·D for models with parameters and tokens but no given FLOPs."""
    params = pd.to_numeric(_field(chosen, "params_b"), errors="coerce")
    tokens = pd.to_numeric(_field(chosen, "tokens_t"), errors="coerce")
    flops = _field(chosen, "flops")
    both = params.index.intersection(tokens.index).difference(flops.index)
    rows = [
        {
            "model": None,
            "key": k,
            "field": "flops",
            "value": 6 * params[k] * 1e9 * tokens[k] * 1e12,
            "row": np.nan,
            "source": "6ND",
            "detail": "6 x params x tokens",
        }
        for k in both
        if np.isfinite(params[k] * tokens[k])
    ]
    return pd.DataFrame(rows, columns=chosen.columns)


def _wide(
    chosen: pd.DataFrame, names: pd.Series, values: pd.DataFrame, config: Config
) -> pd.DataFrame:
    """Pivot to one row per model, typed columns, metadata first, then scores by source."""
    wide = chosen.pivot(index="key", columns="field", values="value")
    sources = chosen.pivot(index="key", columns="field", values="source")
    order = values.assign(
        _r=values["source"].map({s.name: i for i, s in enumerate(config.sources)})
    )
    key_order = order.sort_values(["_r", "row"], kind="stable")["key"].drop_duplicates()
    key_order = key_order[key_order.isin(names.index)]
    out = pd.DataFrame({"model": names.loc[key_order].to_numpy()}, index=key_order.to_numpy())
    for fld in META_FIELDS:
        col = wide[fld] if fld in wide else pd.Series(np.nan, index=wide.index)
        out[fld] = col.reindex(out.index)
    for fld in NUMERIC_FIELDS:
        out[fld] = pd.to_numeric(out[fld], errors="coerce").astype(float)
    out["is_base"] = (
        out["is_base"]
        .map({True: True, False: False, "True": True, "False": False})
        .astype("boolean")
    )
    for fld in ("family", "params_b", "tokens_t", "flops", "release_date"):
        src = sources[fld] if fld in sources else pd.Series(np.nan, index=sources.index)
        out[f"{fld}_source"] = src.reindex(out.index)
    # scores in upstream order: sources as configured, benchmarks as their tables list them
    score_cols = [c for c in pd.unique(values["field"]) if is_score_column(c) and c in wide.columns]
    scores = {
        col: pd.to_numeric(wide[col].reindex(out.index), errors="coerce").astype(float)
        for col in score_cols
    }  # joined at once: one insert per column fragments the frame (100+ score columns)
    out = pd.concat([out, pd.DataFrame(scores, index=out.index)], axis=1)
    return out.reset_index(drop=True)
