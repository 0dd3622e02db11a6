"""The one place where obsscale's settings live.

Sources (``sources``), the settings of every stage (``settings``) and reading them from TOML
(``loading``). Nothing else in the package hard-codes a URL, a path or a threshold; this
package imports nothing else of obsscale's.
"""

from obsscale.config.loading import load_config_file
from obsscale.config.settings import (
    DEFAULT_PRECEDENCE,
    DEFAULT_REPORT_TARGETS,
    DEFAULT_SCORE_PAIRS,
    LEADERBOARD_V2_TARGETS,
    LLAMA2_7B_FLOPS,
    OBSSCALING_BENCHMARKS,
    AuditConfig,
    CapabilityConfig,
    Config,
    ForecastConfig,
    FrontierConfig,
    NetworkConfig,
    PredictConfig,
    ReportConfig,
    ReportTarget,
    default_config,
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
    "default_config",
    "load_config_file",
    "resolve_url",
]
