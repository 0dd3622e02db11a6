"""Release dates beyond what the sources give: hand-curated dates, and upload dates that are not
release dates.

``curated/release_dates.csv`` dates curated models that no source dates well, each with its
``source`` (a paper's arXiv v1, a release announcement; "month precision" where only the month
is known, dated the 1st; "window precision" where sources bound the release to a few weeks,
dated the 1st of a month inside the window, bounds cited). They enter harmonization as the
source ``release_dates``, ranked by ``Config.precedence`` like any other. Leaderboard upload
dates are repository dates: the dates listed in ``Config.placeholder_dates`` (2022-03-02, the
day Hugging Face migrated legacy repos in bulk) say nothing about a release, so those values
are dropped, each with an event.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from obsscale.config import Config
from obsscale.data.parsers.common import event
from obsscale.data.rules import Rules

SOURCE = "release_dates"


def load_release_dates() -> pd.DataFrame:
    """The packaged hand-curated dates (model, release_date, source)."""
    with resources.files("obsscale.data.curated").joinpath("release_dates.csv").open("rb") as f:
        frame = pd.read_csv(f, dtype=str, comment="#")
    bad = pd.to_datetime(frame["release_date"], format="%Y-%m-%d", errors="coerce").isna()
    if bad.any():
        raise ValueError(f"release_dates.csv: unreadable dates for {list(frame['model'][bad])}")
    return frame


def curated_dates(names: pd.Series, rules: Rules) -> pd.DataFrame:
    """The curated dates of the models in the table (``names``: key -> id), as values of the
    source ``release_dates`` whose detail is the date's own source."""
    frame = load_release_dates()
    key = frame["model"].str.lower().map(lambda k: rules.id_aliases.get(k, k))
    frame = frame.assign(key=key)[key.isin(names.index)]
    return pd.DataFrame(
        {
            "model": frame["key"].map(names),
            "key": frame["key"],
            "field": "release_date",
            "value": frame["release_date"],
            "row": frame.index + 1,
            "source": SOURCE,
            "detail": frame["source"],
        }
    )


def drop_placeholder_dates(values: pd.DataFrame, config: Config) -> tuple[pd.DataFrame, list]:
    """Remove release dates that a source uses as a placeholder; one event per value."""
    bad = np.zeros(len(values), dtype=bool)
    for source, dates in config.placeholder_dates.items():
        bad |= (
            (values["source"] == source)
            & (values["field"] == "release_date")
            & values["value"].isin(dates)
        ).to_numpy()
    events = [
        event(
            rec.source,
            rec.model,
            "release_date",
            rec.value,
            "placeholder_date",
            "dropped",
            f"record {rec.row}: {rec.value} is a repository date (bulk migration), not a release",
        )
        for rec in values[bad].itertuples(index=False)
    ]
    return values[~bad], events
