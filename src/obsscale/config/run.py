"""A whole run's settings (``Config``): the data folder, the sources and how they are merged,
and one settings object per stage (``settings``), all checked against the schema when built."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from obsscale.config.schema import Settings, setting
from obsscale.config.settings import (
    AuditConfig,
    CapabilityConfig,
    ForecastConfig,
    FrontierConfig,
    NetworkConfig,
    PredictConfig,
    ReportConfig,
)
from obsscale.config.sources import DEFAULT_SOURCES, MIRROR_ENV, Source
from obsscale.exceptions import UnknownSourceError

# the data folder when neither --data-dir nor this variable is given
DATA_DIR_ENV = "OBSSCALE_DATA_DIR"

_CURATED = ("obsscaling_base", "obsscaling_sub10b", "obsscaling_instruct")

# Which source wins when several give the same field (first listed wins; "rules" is the family
# rule set, "6ND" the computed compute). Score columns are owned by one source prefix each, so for
# them the order of ``sources`` decides (only the ObsScaling base and sub-10B files overlap).
DEFAULT_PRECEDENCE: dict[str, tuple[str, ...]] = {
    "family": (*_CURATED, "rules"),
    "params_b": (*_CURATED, "openllm_v2", "epoch", "evalplus"),
    "tokens_t": _CURATED,
    "flops": (*_CURATED, "epoch"),
    # hand-curated dates (curated/release_dates.csv) before the hub's, before upload dates
    "release_date": ("epoch", "release_dates", "epoch_hub_versions", "openllm_v2"),
    "is_base": (*_CURATED, "openllm_v2", "openllm_v1"),
    "base_model": ("openllm_v2",),
}

# Dates a source uses for something other than a release: leaderboard v2's upload date
# 2022-03-02 is the day Hugging Face migrated legacy repositories in bulk (gpt2, gpt-neo, ...).
DEFAULT_PLACEHOLDER_DATES: dict[str, tuple[str, ...]] = {"openllm_v2": ("2022-03-02",)}


@dataclass(frozen=True)
class Config(Settings):
    """A whole run's settings. ``with_overrides`` gives a modified (and checked) copy."""

    data_dir: Path = setting(Path("data"), help="folder for downloads and derived tables")
    mirror: str | None = setting(None, help="rewrite https://H/P to MIRROR/H/P")
    sources: tuple[Source, ...] = setting(DEFAULT_SOURCES, help="the upstream files")
    network: NetworkConfig = setting(factory=NetworkConfig, help="[network]")
    audit: AuditConfig = setting(factory=AuditConfig, help="[audit]")
    capabilities: CapabilityConfig = setting(factory=CapabilityConfig, help="[capabilities]")
    predict: PredictConfig = setting(factory=PredictConfig, help="[predict]")
    report: ReportConfig = setting(factory=ReportConfig, help="[report]")
    forecast: ForecastConfig = setting(factory=ForecastConfig, help="[forecast]")
    frontier: FrontierConfig = setting(factory=FrontierConfig, help="[frontier]")
    include_flagged: bool = setting(False, help="keep models flagged by the leaderboard")
    include_merged: bool = setting(False, help="keep merged models")
    precedence: dict[str, tuple[str, ...]] = setting(
        factory=lambda: dict(DEFAULT_PRECEDENCE), help="which source wins for each field"
    )
    placeholder_dates: dict[str, tuple[str, ...]] = setting(
        factory=lambda: dict(DEFAULT_PLACEHOLDER_DATES),
        help="dates a source uses for something other than a release",
    )
    corrections_file: Path | None = setting(
        None, help="curated corrections (default: DATA_DIR/corrections.csv, else the packaged file)"
    )
    apply_corrections: bool = setting(True, help="apply the curated metadata corrections")
    exclude_sources: tuple[str, ...] = setting(
        (), help="sources harmonize may do without (any other missing raw file is an error)"
    )
    trust_edited: bool = setting(
        False, help="use derived tables and raw files that differ from their recorded sha256"
    )

    @property
    def upstream_dir(self) -> Path:
        """The byte-exact snapshot of the upstream files kept beside the checkout (the bench
        serves it on loopback when no mirror URL is given)."""
        return Path(os.environ.get("OBSSCALE_UPSTREAM_DIR", "../shared/upstream"))

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def manifest_path(self) -> Path:
        return self.raw_dir / "manifest.json"

    def raw_path(self, source: Source) -> Path:
        return self.raw_dir / source.name / source.filename

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources)
        raise UnknownSourceError(f"unknown source {name!r}; known sources: {known}")

    def with_overrides(self, **kwargs: object) -> Config:
        return replace(self, **kwargs)  # type: ignore[arg-type]


def default_config(data_dir: str | Path | None = None, mirror: str | None = None) -> Config:
    """The default configuration; the data folder from ``$OBSSCALE_DATA_DIR`` and the mirror
    from ``$OBSSCALE_MIRROR`` when not given."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    data_dir = data_dir or os.environ.get(DATA_DIR_ENV) or "data"
    return Config(data_dir=Path(data_dir), mirror=mirror)
