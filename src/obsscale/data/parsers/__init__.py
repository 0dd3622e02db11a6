"""One parser per upstream format: raw file -> long table of (model, field, value, row).

A parser reads one downloaded file and returns every value it contributes, each tagged with the
1-based data record it came from, plus quality events (rows dropped or excluded, and why). It
decides nothing across sources: precedence, families and corrections are ``harmonize``'s job.
Scores leave here as fractions in [0, 1] under ``<prefix>:<upstream display name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from obsscale.config import Config, Source
from obsscale.data.parsers.common import EVENT_COLUMNS, VALUE_COLUMNS, Parsed
from obsscale.data.parsers.epoch import parse_epoch
from obsscale.data.parsers.epoch_hub import (
    parse_epoch_hub_external,
    parse_epoch_hub_runs,
    parse_epoch_hub_versions,
)
from obsscale.data.parsers.evalplus import parse_evalplus
from obsscale.data.parsers.obsscaling import parse_obsscaling, parse_obsscaling_instruct
from obsscale.data.parsers.obsscaling_post import parse_obsscaling_post
from obsscale.data.parsers.openllm import parse_openllm_v1, parse_openllm_v2

PARSERS: dict[str, Callable[[Path, Source, Config], Parsed]] = {
    "obsscaling": parse_obsscaling,
    "obsscaling_instruct": parse_obsscaling_instruct,
    "obsscaling_post": parse_obsscaling_post,
    "openllm_v1": parse_openllm_v1,
    "openllm_v2": parse_openllm_v2,
    "epoch": parse_epoch,
    "evalplus": parse_evalplus,
    "epoch_hub_runs": parse_epoch_hub_runs,
    "epoch_hub_external": parse_epoch_hub_external,
    "epoch_hub_versions": parse_epoch_hub_versions,
}

__all__ = ["EVENT_COLUMNS", "PARSERS", "VALUE_COLUMNS", "Parsed", "parse_epoch"]
