"""The project's matching rules (``curated/rules.toml``): family patterns on official Hugging
Face ids, Epoch name aliases, moved ids; and how they attach families and Epoch rows."""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


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


def rule_families(names: pd.Series, rules: Rules) -> pd.DataFrame:
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


def match_epoch(
    epoch: pd.DataFrame, values: pd.DataFrame, names: pd.Series, rules: Rules
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
