"""Join Epoch AI's Benchmarking Hub to the model table: version ids -> models.csv ids.

The hub keys scores by Epoch *model-version ids*. ``resolve_ids`` maps each version to the id it
has in models.csv (``org/version`` when that is a known Hugging Face id, directly or through an
id alias; else a unique normalised-name match among the official publishers' repos) or, failing
that, to ``epoch:<version id>`` (HF ids never contain ``:``, so it cannot collide and stays
reversible). Reasoning-effort variants (``o3_high``) stay distinct models; only the variant a
user gets by default (``representatives``) may take the HF id. ``join_hub`` is what
``harmonize`` calls: hub scores and release dates re-keyed, with a provenance detail for each.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.data.parsers.common import VALUE_COLUMNS, Parsed, event
from obsscale.data.parsers.epoch_hub import collapse, packaged_config
from obsscale.data.rules import Rules, epoch_key

log = logging.getLogger(__name__)

EPOCH_ID = "epoch:"  # ids of hub versions that match no known model; ':' never occurs in HF ids
VERSIONS_PARSER = "epoch_hub_versions"
SCORE_PARSERS = ("epoch_hub_runs", "epoch_hub_external")
# Reasoning effort / thinking budget as Epoch suffixes a version id with it.
EFFORT = re.compile(
    r"^(?P<base>.+?)(_(?P<level>minimal|low|medium|high)|_(?P<budget>\d+)[kK]|_(?P<on>thinking)"
    r"| \((?P<paren>\d+)K thinking\))$"
)
EFFORT_LEVELS = {"minimal": 1, "low": 2, "medium": 3, "high": 4}
METHOD_RANK = {"hf_id": 0, "hf_id_alias": 1, "name": 2}
JOINED_COLUMNS = [*VALUE_COLUMNS, "key", "source", "detail"]


def effort_of(version: str) -> tuple[str, str | None, float]:
    """(base id, effort label, rank) of a version id. Rank orders variants of one base model:
    0 for the unsuffixed id, 1-4 for minimal..high, 5 for thinking on, and 10 + the budget in
    thousands of tokens for a thinking budget (``_16K``)."""
    m = EFFORT.match(version)
    if not m:
        return version, None, 0.0
    if m["level"]:
        return m["base"], m["level"], float(EFFORT_LEVELS[m["level"]])
    if m["on"]:
        return m["base"], "thinking", 5.0
    budget = m["budget"] or m["paren"]
    return m["base"], f"{budget}K", 10.0 + float(budget)


def representatives(versions: Iterable[str]) -> pd.DataFrame:
    """Which reasoning-effort variant stands for its model where one row per model is needed.

    Policy: the variant a user gets without touching the knob. That is the unsuffixed id when
    the hub has it (no extended thinking / vendor default), else ``_medium`` (the default
    ``reasoning_effort`` of OpenAI's o-series and GPT-5 API, and what leaderboards report when
    they do not say), else the highest effort or budget evaluated (its best-supported setting).
    Every other variant stays a distinct version with its own id; nothing is averaged."""
    table = pd.DataFrame({"version": list(dict.fromkeys(versions))})
    parts = table["version"].map(effort_of)
    table["base"] = parts.str[0]
    table["effort"] = parts.str[1]
    table["rank"] = parts.str[2].astype(float)
    # variants of a base are its suffixed ids plus the bare base id itself when present
    has_variants = table["base"].isin(table.loc[table["effort"].notna(), "base"])
    preference = np.select(
        [table["rank"] == 0, table["effort"] == "medium"], [3e6, 2e6], default=table["rank"]
    )
    table["_pref"] = preference
    best = table[has_variants].sort_values("_pref", ascending=False).drop_duplicates("base")
    table["representative"] = ~has_variants | table["version"].isin(best["version"])
    return table.drop(columns="_pref")


def _name_key(name: str) -> str:
    """Conservative normalised name: lower case, a trailing '-hf' (a format conversion of the
    same weights) removed, then only letters and digits. '-base'/'-instruct' are kept: they
    name different weights."""
    name = re.sub(r"-hf$", "", name.lower().strip())
    return re.sub(r"[^a-z0-9]", "", name)


def _name_index(known: Iterable[str], orgs: set[str]) -> dict[str, list[str]]:
    """Normalised repo name -> known ids, over official publishers' repos only (``orgs``): a
    name alone must not join a model to somebody's re-upload or fine-tune of it."""
    index: dict[str, list[str]] = {}
    for model in known:
        org, _, repo = model.partition("/")
        if repo and org.lower() in orgs:
            index.setdefault(_name_key(repo), []).append(model)
    return index


def _join_one(
    version: str,
    org: str | None,
    known: dict[str, str],
    aliases: dict[str, str],
    names: dict[str, list[str]],
) -> tuple[str | None, str, str]:
    """(known id, method, detail) for one representative version, looked up by its base id
    (effort suffix removed), or (None, 'epoch', why) when nothing matches safely."""
    base = effort_of(version)[0]
    candidates = [f"{org}/{base}"] if org and "/" not in base else []
    candidates += [base] if "/" in base or base.lower() in aliases else []
    for cand in candidates:
        key = cand.lower()
        if key in known:
            return known[key], "hf_id", f"{cand} is a known id"
        if aliases.get(key) in known:
            return known[aliases[key]], "hf_id_alias", f"{cand} -> {aliases[key]} (id alias)"
    if "/" in base or re.search(r"[:\s()]", base):
        return None, "epoch", "provider route, quantised build or display name: not name-matched"
    hits = [
        m
        for m in names.get(_name_key(base), [])
        if org is None or m.split("/")[0].lower() == org.lower()
    ]
    if len(hits) == 1:
        return hits[0], "name", f"normalised name {_name_key(base)!r}"
    return None, "epoch", f"ambiguous name: {', '.join(sorted(hits))}" if hits else "no match"


def resolve_ids(versions: pd.DataFrame, known_models: set[str], aliases: dict) -> pd.DataFrame:
    """Map each hub version to the id it has in models.csv: ``org/version`` when that is a known
    id (case-insensitively, after ``aliases``), else a unique normalised-name match among the
    official publishers' known ids, else ``epoch:<version>``. Non-representative effort
    variants always keep their own ``epoch:`` id, so one HF model gets one hub version. Two
    versions claiming one id, or spelled alike but for case, are settled in ``_deduplicate``."""
    known = {m.lower(): m for m in known_models}
    aliases = {str(k).lower(): str(v).lower() for k, v in aliases.items()}
    orgs = set(versions["org"].dropna().str.lower())
    names = _name_index(known_models, orgs)
    reps = representatives(versions["version"]).set_index("version")
    rows: list[tuple[str, str | None, str, str]] = []
    for version, org in zip(versions["version"], versions["org"], strict=True):
        org = org if isinstance(org, str) else None
        if not reps.at[version, "representative"]:
            base = reps.at[version, "base"]
            rows.append((version, None, "effort_variant", f"non-default variant of {base}"))
            continue
        rows.append((version, *_join_one(version, org, known, aliases, names)))
    out = pd.DataFrame(rows, columns=["version", "model_id", "method", "detail"])
    return _deduplicate(out)


def _deduplicate(ids: pd.DataFrame) -> pd.DataFrame:
    """Make the mapping one-to-one on lower-cased ids (harmonize joins case-insensitively).
    Several versions claiming one known id: the best method keeps it (exact id over alias over
    name, then file order) and the others fall back to their ``epoch:`` id. Epoch ids equal but
    for case (``Qwen3-235B-A22B``/``qwen3-235b-a22b``: one model, two spellings) share the first
    spelling, and ``apply_ids`` collapses their values."""
    ids = ids.assign(
        _rank=ids["method"].map(METHOD_RANK).fillna(9),
        _order=range(len(ids)),
        _key=ids["model_id"].str.lower(),
    )
    ranked = ids[ids["_key"].notna()].sort_values(["_rank", "_order"])
    owner = ranked.drop_duplicates("_key").set_index("_key")["version"]
    lost = ids["_key"].notna() & (ids["_key"].map(owner) != ids["version"])
    ids.loc[lost, "detail"] = (
        "id taken by " + ids.loc[lost, "_key"].map(owner) + "; was " + ids.loc[lost, "detail"]
    )
    ids.loc[lost, ["model_id", "method"]] = [None, "epoch"]
    free = ids["model_id"].isna()
    lower = ids["version"].str.lower()
    spelling = ids[free].assign(_l=lower[free]).drop_duplicates("_l").set_index("_l")["version"]
    ids.loc[free, "model_id"] = EPOCH_ID + lower[free].map(spelling)
    merged = free & (lower.map(spelling) != ids["version"])
    ids.loc[merged, "detail"] = "same id but for case as " + lower[merged].map(spelling)
    return ids.drop(columns=["_rank", "_order", "_key"])


def apply_ids(parsed: Parsed, ids: pd.DataFrame, source: str) -> Parsed:
    """Re-key hub values from version ids to model ids. A version the versions file does not
    list keeps an ``epoch:`` id (reported); two versions landing on one id (case spellings)
    are collapsed to the best score, like duplicate rows within a file."""
    mapping = ids.set_index("version")["model_id"]
    values = parsed.values.copy()
    unknown = sorted(set(values["model"]) - set(mapping.index))
    detail = "version id not in model_versions.csv; kept as its own epoch: id"
    events = [event(source, v, "model", v, "unknown_version", "info", detail) for v in unknown]
    values["model"] = values["model"].map(mapping).fillna(EPOCH_ID + values["model"])
    kept, dup = collapse(values, ["value", "row"], [False, True], "best score", source)
    return Parsed(kept, parsed.events + events + dup)


def release_dates(versions: pd.DataFrame, ids: pd.DataFrame | None = None) -> pd.DataFrame:
    """Release date per model id from the hub's version table (``Version release date``).

    Keyed by the resolved id when ``ids`` is given, else by ``epoch:<version>``; where several
    versions share an id the earliest date is kept, since a model is released once and later
    versions (re-uploads, API snapshots) do not move that date."""
    frame = versions.dropna(subset=["release_date"])
    mapping = ids.set_index("version")["model_id"] if ids is not None else pd.Series(dtype=str)
    model = frame["version"].map(mapping).fillna(EPOCH_ID + frame["version"])
    out = pd.DataFrame(
        {
            "model": model,
            "release_date": frame["release_date"],
            "source": "epoch_hub:model_versions (" + frame["version"] + ")",
        }
    )
    out = out.assign(_k=out["model"].str.lower()).sort_values("release_date", kind="stable")
    return out.drop_duplicates("_k").drop(columns="_k").reset_index(drop=True)


# ------------------------------------------------------------------------- harmonize's entry


@dataclass
class HubJoin:
    """Hub values re-keyed to models.csv ids (``JOINED_COLUMNS``), the join's own events, the
    id of every version (``ids``) and Epoch's model name per joined key (for compute)."""

    values: pd.DataFrame
    events: list[dict] = field(default_factory=list)
    ids: pd.DataFrame = field(default_factory=pd.DataFrame)
    epoch_names: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))


def is_hub(parser: str) -> bool:
    return parser in (*SCORE_PARSERS, VERSIONS_PARSER)


def versions_table(parsed: Parsed | None) -> pd.DataFrame:
    """The version table back from the versions parser's long values."""
    columns = ["version", "model", "release_date", "org"]
    if parsed is None or parsed.values.empty:
        return pd.DataFrame(columns=columns)
    long = parsed.values
    wide = long.pivot_table(
        index=["row", "model"], columns="field", values="value", aggfunc="first"
    )
    wide = (
        wide.reset_index()
        .sort_values("row")
        .rename(columns={"model": "version", "hub_model": "model", "hub_org": "org"})
    )
    return wide.reindex(columns=columns).reset_index(drop=True)


def join_hub(parsed: dict[str, Parsed], config: Config, names: pd.Series, rules: Rules) -> HubJoin:
    """Resolve every hub version against the known ids (``names``: key -> id), then re-key the
    score tables and attach each model's release date from ``model_versions.csv``."""
    sources = [s for s in config.sources if is_hub(s.parser) and s.name in parsed]
    versions_source = next((s.name for s in sources if s.parser == VERSIONS_PARSER), None)
    versions = versions_table(parsed.get(versions_source) if versions_source else None)
    hub_aliases = packaged_config().get("id_aliases", {})
    aliases = {**rules.id_aliases, **{k.lower(): v.lower() for k, v in hub_aliases.items()}}
    ids = resolve_ids(versions, set(names), aliases)
    frames: list[pd.DataFrame] = []
    events = [
        event(s.name, "*", s.filename, None, "not_fetched", "warning", "file absent: run fetch")
        for s in config.sources
        if is_hub(s.parser) and s.name not in parsed
    ]
    for s in sources:
        if s.parser == VERSIONS_PARSER:
            continue
        joined = apply_ids(parsed[s.name], ids, s.name)
        events += joined.events[len(parsed[s.name].events) :]  # the parser's are counted already
        frames.append(joined.values.assign(source=s.name))
    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VALUE_COLUMNS)
    known = set(names.index) | set(scores["model"].str.lower())
    dates = _dates(versions, ids, known, versions_source)
    out = pd.concat([scores, dates], ignore_index=True)
    out["key"] = out["model"].str.lower().map(lambda k: rules.id_aliases.get(k, k))
    origin = ids.drop_duplicates("model_id").set_index("model_id")
    detail = "Epoch version " + origin["version"] + " (" + origin["method"] + ")"
    out["detail"] = out["detail"].fillna(out["model"].map(detail)).fillna("")
    log.info("epoch hub: %s", ids["method"].value_counts().to_dict())
    return HubJoin(out[JOINED_COLUMNS], events, ids, _epoch_names(versions, ids, out))


def _dates(
    versions: pd.DataFrame, ids: pd.DataFrame, known: set[str], source: str | None
) -> pd.DataFrame:
    """Release dates of the versions whose id is a known model or has hub scores (a version
    with neither would be a row with nothing but a date)."""
    if source is None or versions.empty:
        return pd.DataFrame(columns=[*VALUE_COLUMNS, "source", "detail"])
    dates = release_dates(versions, ids)
    dates = dates[dates["model"].str.lower().isin(known)]
    return pd.DataFrame(
        {
            "model": dates["model"],
            "field": "release_date",
            "value": dates["release_date"],
            "row": np.nan,
            "source": source,
            "detail": dates["source"],
        }
    )


def _epoch_names(versions: pd.DataFrame, ids: pd.DataFrame, values: pd.DataFrame) -> pd.Series:
    """key -> Epoch's model name (``Model`` of model_versions.csv) for every key with hub
    scores (a known model the hub only dates keeps the metadata it had)."""
    model = versions.set_index("version")["model"].dropna()
    by_id = ids.assign(name=ids["version"].map(model)).dropna(subset=["name"])
    by_id = by_id.assign(key=by_id["model_id"].str.lower()).drop_duplicates("key")
    by_id = by_id.set_index("key")["name"]
    keys = pd.unique(values.loc[values["field"] != "release_date", "key"])  # models with scores
    return by_id.reindex(keys).dropna()


def notable_compute(epoch: pd.DataFrame, hub: HubJoin, skip: Iterable[str]) -> pd.DataFrame:
    """Training compute and parameters from Epoch's notable-models table for hub models that
    ``rules.match_epoch`` did not match (no family), by Epoch's own model name: the hub and
    the notable-models table are both Epoch's, so their names agree."""
    wanted = hub.epoch_names.drop(list(skip), errors="ignore")
    lookup: dict[str, list[str]] = {}
    for key, name in wanted.items():
        lookup.setdefault(epoch_key(str(name), False), []).append(str(key))
    epoch = epoch[epoch["field"].isin(["flops", "params_b"])]
    epoch = epoch.assign(ekey=epoch["model"].map(lambda n: epoch_key(n, False)))
    first_rows = epoch.drop_duplicates("ekey")["row"]
    epoch = epoch[epoch["row"].isin(first_rows) & epoch["ekey"].isin(lookup)]
    display = hub.values.drop_duplicates("key").set_index("key")["model"]
    rows = [
        {
            "model": display[key],
            "key": key,
            "field": rec.field,
            "value": rec.value,
            "row": rec.row,
            "detail": f"Epoch name {rec.model!r} (the hub's model name)",
        }
        for rec in epoch.itertuples(index=False)
        for key in lookup[rec.ekey]
    ]
    return pd.DataFrame(rows, columns=["model", "key", "field", "value", "row", "detail"])
