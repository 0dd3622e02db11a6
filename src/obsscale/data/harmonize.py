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
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from obsscale.data import store
from obsscale.data.audit import audit
from obsscale.config import Config
from obsscale.data.parsers import PARSERS, Parsed, ParseError

log = logging.getLogger(__name__)

META_FIELDS = ("family", "params_b", "tokens_t", "flops", "release_date", "is_base", "base_model")
NUMERIC_FIELDS = ("params_b", "tokens_t", "flops")
CORRECTABLE = ("family", "params_b", "tokens_t", "flops", "release_date", "is_base")
PROVENANCE_COLUMNS = ["model", "field", "source", "row", "detail"]


class HarmonizeError(RuntimeError):
    """Harmonization cannot proceed (e.g. the curated table was never fetched)."""


@dataclass(frozen=True)
class Rules:
    """Family rules, Epoch name aliases and moved Hugging Face ids (``curated/rules.toml``)."""

    families: tuple[tuple[str, re.Pattern[str]], ...]
    epoch_names: dict[str, str]
    id_aliases: dict[str, str]

    @classmethod
    def load(cls, path: Path | None = None) -> Rules:
        text = (
            path.read_text(encoding="utf-8")
            if path
            else resources.files("obsscale.data.curated").joinpath("rules.toml").read_text("utf-8")
        )
        data = tomllib.loads(text)
        families = tuple(
            (r["family"], re.compile(r["pattern"], re.IGNORECASE)) for r in data.get("rule", [])
        )
        epoch = {k.lower(): v for k, v in data.get("epoch_names", {}).items()}
        ids = {k.lower(): v.lower() for k, v in data.get("id_aliases", {}).items()}
        return cls(families, epoch, ids)

    def family_of(self, model: str) -> tuple[str, str] | None:
        for family, pattern in self.families:
            if pattern.fullmatch(model):
                return family, pattern.pattern
        return None


@dataclass
class Harmonized:
    """The harmonized tables: ``models`` (one row per model), ``provenance`` and ``quality``."""

    models: pd.DataFrame
    provenance: pd.DataFrame
    quality: pd.DataFrame

    def write(self, config: Config) -> None:
        out = config.processed_dir
        store.write_csv(out / "models.csv", self.models)
        store.write_csv(out / "provenance.csv", self.provenance)
        store.write_csv(out / "quality.csv", self.quality)

    def __repr__(self) -> str:
        fam = self.models["family"].nunique()
        return (
            f"<Harmonized: {len(self.models)} models, {fam} families, "
            f"{len(self.quality)} quality findings>"
        )


def load_corrections(config: Config) -> pd.DataFrame:
    """The corrections table: DATA_DIR/corrections.csv if present, else the packaged one."""
    path = config.corrections_file or config.data_dir / "corrections.csv"
    if path.exists():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        origin = str(path)
    else:
        src = resources.files("obsscale.data.curated").joinpath("corrections.csv")
        with resources.as_file(src) as p:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        origin = "obsscale/curated/corrections.csv"
    missing = {"model", "field", "value", "reason"} - set(frame.columns)
    if missing:
        raise HarmonizeError(
            f"{origin}: corrections need columns model, field, value, reason; "
            f"missing {sorted(missing)}"
        )
    bad = frame[~frame["field"].isin(CORRECTABLE)]
    if len(bad):
        raise HarmonizeError(
            f"{origin}: row {bad.index[0] + 1}: field {bad['field'].iloc[0]!r} "
            f"cannot be corrected (allowed: {', '.join(CORRECTABLE)})"
        )
    empty = frame[frame["reason"].str.strip() == ""]
    if len(empty):
        raise HarmonizeError(
            f"{origin}: row {empty.index[0] + 1}: every correction needs a cited reason"
        )
    return frame.assign(origin=origin)


def read_sources(config: Config) -> dict[str, Parsed]:
    """Parse every fetched source file (the I/O edge of harmonization)."""
    parsed: dict[str, Parsed] = {}
    for source in config.sources:
        path = config.raw_path(source)
        if not path.exists():
            log.warning("%s: %s not fetched; harmonizing without it", source.name, path)
            continue
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
    values = _stack({n: p for n, p in parsed.items() if n not in epoch_names}, rules)
    events = [e for p in parsed.values() for e in p.events]
    names = _display_names(values, config)
    values = pd.concat([values, _rule_families(names, rules)], ignore_index=True)
    for name in epoch_names:
        if name in parsed:
            matched = _match_epoch(parsed[name].values, values, names, rules, config)
            values = pd.concat([values, matched.assign(source=name)], ignore_index=True)
    chosen = _resolve(values, config)
    if corrections is not None:  # first, so that derived values follow the corrected ones
        chosen, fixes = _apply_corrections(chosen, corrections, names)
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


def _rule_families(names: pd.Series, rules: Rules) -> pd.DataFrame:
    rows = []
    for key, model in names.items():
        hit = rules.family_of(model)
        if hit:
            rows.append(
                {
                    "model": model,
                    "key": key,
                    "field": "family",
                    "value": hit[0],
                    "row": np.nan,
                    "source": "rules",
                    "detail": f"id matches {hit[1]}",
                }
            )
    return pd.DataFrame(rows, columns=["model", "key", "field", "value", "row", "source", "detail"])


def epoch_key(name: str, is_hf_id: bool) -> str:
    """Normalised matching key: 'meta-llama/Llama-2-7b-hf' and 'Llama 2-7B' both -> 'llama27b'."""
    name = name.lower()
    if is_hf_id:
        name = name.split("/", 1)[-1]
        name = re.sub(r"^meta-", "", name)
        while (stripped := re.sub(r"-(hf|base|fp8)$", "", name)) != name:
            name = stripped
    return re.sub(r"[^a-z0-9]", "", name)


def _match_epoch(
    epoch: pd.DataFrame, values: pd.DataFrame, names: pd.Series, rules: Rules, config: Config
) -> pd.DataFrame:
    """Attach Epoch rows to models whose family is curated or rule-given (official releases)."""
    fam = values[(values["field"] == "family") & values["value"].notna()]
    candidates = [k for k in fam["key"].unique() if k in names.index]
    lookup: dict[str, list[str]] = {}
    for key in candidates:
        target = rules.epoch_names.get(key)
        ek = epoch_key(target, False) if target else epoch_key(names[key], True)
        lookup.setdefault(ek, []).append(key)
    epoch = epoch.assign(ekey=epoch["model"].map(lambda n: epoch_key(n, False)))
    first_rows = epoch.drop_duplicates("ekey")["row"]
    epoch = epoch[epoch["row"].isin(first_rows) & epoch["ekey"].isin(lookup)]
    rows = []
    for rec in epoch.itertuples(index=False):
        for key in lookup[rec.ekey]:
            rows.append(
                {
                    "model": names[key],
                    "key": key,
                    "field": rec.field,
                    "value": rec.value,
                    "row": rec.row,
                    "detail": f"Epoch name {rec.model!r}",
                }
            )
    log.info("epoch: matched %d models", len({r["key"] for r in rows}))
    return pd.DataFrame(rows, columns=["model", "key", "field", "value", "row", "detail"])


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


def _apply_corrections(
    chosen: pd.DataFrame, corrections: pd.DataFrame, names: pd.Series
) -> tuple[pd.DataFrame, list[dict]]:
    events = []
    chosen = chosen.set_index(["key", "field"])
    for i, c in corrections.iterrows():
        key = c["model"].lower()
        if key not in names.index:
            events.append(
                {
                    "model": c["model"],
                    "field": c["field"],
                    "value": c["value"],
                    "rule": "correction_unused",
                    "source": c["origin"],
                    "severity": "warning",
                    "detail": f"row {i + 1}: model not in any source",
                }
            )
            continue
        old = chosen["value"].get((key, c["field"]))
        value: object = float(c["value"]) if c["field"] in NUMERIC_FIELDS else c["value"]
        chosen.loc[(key, c["field"]), ["value", "source", "row", "detail", "model"]] = [
            value,
            "correction",
            i + 1,
            c["reason"],
            names[key],
        ]
        events.append(
            {
                "model": names[key],
                "field": c["field"],
                "value": old,
                "rule": "corrected",
                "source": c["origin"],
                "severity": "info",
                "detail": f"replaced by {c['value']}: {c['reason']}",
            }
        )
    return chosen.reset_index(), events


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
    score_cols = [c for c in pd.unique(values["field"]) if ":" in c and c in wide.columns]
    for col in score_cols:
        out[col] = pd.to_numeric(wide[col].reindex(out.index), errors="coerce").astype(float)
    return out.reset_index(drop=True)


def processed_models_path(config: Config) -> Path:
    return config.processed_dir / "models.csv"


def load_models(config: Config) -> pd.DataFrame:
    """Read ``models.csv`` back with its column types (the input of every later stage)."""
    path = processed_models_path(config)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; run `obsscale fetch` (or `obsscale harmonize`) first"
        )
    try:
        frame = pd.read_csv(
            path, dtype={"model": str, "family": str, "release_date": str, "base_model": str}
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise HarmonizeError(
            f"{path}: not a readable table ({e}); rerun `obsscale harmonize`"
        ) from e
    needed = ("model", "family", "params_b", "tokens_t", "flops", "release_date", "is_base")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise HarmonizeError(f"{path}: missing columns {missing}; rerun `obsscale harmonize`")
    flags = frame["is_base"].map({True: True, False: False, "True": True, "False": False})
    bad = frame["is_base"].notna() & flags.isna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise HarmonizeError(
            f"{path}: row {i + 2}: is_base must be True or False, got {frame['is_base'].iloc[i]!r}"
        )
    frame["is_base"] = flags.astype("boolean")
    for col in (*NUMERIC_FIELDS, *(c for c in frame.columns if ":" in c)):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise HarmonizeError(f"{path}: column {col!r} is not numeric")
    return frame
