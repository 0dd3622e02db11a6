"""Hand-curated corrections of upstream metadata (``curated/corrections.csv``), each with a
cited reason; applied before derived values so that those follow the corrected ones."""

from __future__ import annotations

import logging
from importlib import resources

import pandas as pd

from obsscale.config import Config
from obsscale.data.parsers.common import METADATA_LIMITS
from obsscale.data.table import NUMERIC_FIELDS
from obsscale.exceptions import HarmonizeError

log = logging.getLogger(__name__)

PACKAGED = "obsscale/curated/corrections.csv"
CORRECTABLE = ("family", "params_b", "tokens_t", "flops", "release_date", "is_base")


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
        origin = PACKAGED
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
    _check_numbers(frame, origin)
    return frame.assign(origin=origin)


def _check_numbers(frame: pd.DataFrame, origin: str) -> None:
    """Sizes and compute must be numbers within the parsers' limits (positive, finite)."""
    for i, c in frame[frame["field"].isin(NUMERIC_FIELDS)].iterrows():
        try:
            value = float(c["value"])
        except ValueError:
            value = None
        limit = METADATA_LIMITS[c["field"]]
        if value is None or not 0 < value <= limit:
            raise HarmonizeError(
                f"{origin}: row {i + 1}, column value: {c['value']!r} is not a valid "
                f"{c['field']} (a number > 0 and <= {limit:g})"
            )


def apply_corrections(
    chosen: pd.DataFrame, corrections: pd.DataFrame, names: pd.Series
) -> tuple[pd.DataFrame, list[dict]]:
    events = []
    chosen = chosen.set_index(["key", "field"])
    for i, c in corrections.iterrows():
        key = c["model"].lower()
        if key not in names.index:
            if c["origin"] != PACKAGED:  # the packaged file also covers sources left out
                log.warning(
                    "%s: row %d: model %r is in no source; correction of %s not applied "
                    "(a typo, or an id the upstream renamed?)",
                    c["origin"],
                    i + 1,
                    c["model"],
                    c["field"],
                )
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
