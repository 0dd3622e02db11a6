"""The one place where obsscale's settings live.

Sources (``sources``), the settings of every stage (``settings``) and of a whole run (``run``),
each declared once in the schema (``schema``: type, default, range, help), and reading them
from TOML (``loading``). Nothing else in the package hard-codes a URL, a path or a threshold;
this package imports nothing else of obsscale's.
"""

from obsscale.config.loading import load_config_file
from obsscale.config.run import (
    DATA_DIR_ENV,
    DEFAULT_PRECEDENCE,
    Config,
    default_config,
)
from obsscale.config.schema import build_settings
from obsscale.config.settings import (
    DEFAULT_REPORT_TARGETS,
    DEFAULT_SCORE_PAIRS,
    LEADERBOARD_V2_TARGETS,
    LLAMA2_7B_FLOPS,
    OBSSCALING_BENCHMARKS,
    AuditConfig,
    CapabilityConfig,
    ForecastConfig,
    FrontierConfig,
    NetworkConfig,
    PredictConfig,
    ReportConfig,
    ReportTarget,
    default_target,
)
from obsscale.config.sources import (
    DEFAULT_SOURCES,
    LEADERBOARD_COMMIT,
    MIRROR_ENV,
    OBSSCALING_COMMIT,
    Source,
    resolve_url,
)

__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_PRECEDENCE",
    "DEFAULT_REPORT_TARGETS",
    "DEFAULT_SCORE_PAIRS",
    "DEFAULT_SOURCES",
    "LEADERBOARD_COMMIT",
    "LEADERBOARD_V2_TARGETS",
    "LLAMA2_7B_FLOPS",
    "MIRROR_ENV",
    "OBSSCALING_BENCHMARKS",
    "OBSSCALING_COMMIT",
    "AuditConfig",
    "CapabilityConfig",
    "Config",
    "ForecastConfig",
    "FrontierConfig",
    "NetworkConfig",
    "PredictConfig",
    "ReportConfig",
    "ReportTarget",
    "Source",
    "build_settings",
    "default_config",
    "default_target",
    "load_config_file",
    "resolve_url",
]
