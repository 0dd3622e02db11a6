"""Settings of every stage as frozen dataclasses, so that a run is fully described by one
``Config`` value (and can be recorded next to its outputs)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from obsscale.config.sources import DEFAULT_SOURCES, MIRROR_ENV, Source
from obsscale.exceptions import UnknownSourceError

# Llama-2-7B's training compute (6 x 7B x 2T): the reference's default FLOPs cutoff
LLAMA2_7B_FLOPS = 8.4e22


@dataclass(frozen=True)
class NetworkConfig:
    """How hard fetch tries: per-request timeout (s) and capped exponential backoff; a total
    deadline (s) per download, from the first request (headers and retries included); no retry
    starts later than ``retry_window`` s after the first request, and a ``Retry-After`` longer
    than ``max_retry_after`` s is cut to it (a dead upstream fails in seconds, not hours); at
    most ``per_host`` downloads at once from one host; how much smaller (in records) a new copy
    of an unpinned source may be than the good one it replaces; how long to wait (s) for
    another run's data lock."""

    timeout: float = 30.0
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    chunk_size: int = 1 << 16
    deadline: float = 600.0
    retry_window: float = 30.0
    max_retry_after: float = 10.0
    per_host: int = 4
    shrink_guard: float = 0.5  # refuse a copy with fewer than this fraction of the old records
    lock_timeout: float = 600.0


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

# The same benchmark measured by two sources (harness versions differ): compared by the audit.
DEFAULT_SCORE_PAIRS: tuple[tuple[str, str], ...] = (
    ("obsscaling:MMLU", "openllm_v1:MMLU"),
    ("obsscaling:ARC-C", "openllm_v1:ARC"),
    ("obsscaling:HellaSwag", "openllm_v1:HellaSwag"),
    ("obsscaling:TruthfulQA", "openllm_v1:TruthfulQA"),
    ("obsscaling:Winograd", "openllm_v1:Winogrande"),
    ("obsscaling:GSM8K", "openllm_v1:GSM8K"),
    ("obsscaling:HumanEval", "evalplus:humaneval"),
)


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds of the data-quality audit; each is a rule named in ``quality.csv``.

    Chinchilla-style training sits near 20 tokens/parameter and modern small models reach
    ~10,000 (H2O-Danube3-500M: 4T tokens); below 1 or above 20,000 is outside anything
    published, so it is flagged.
    """

    flops_rel_tol: float = 0.10  # |flops - 6ND| / 6ND
    min_tokens_per_param: float = 1.0
    max_tokens_per_param: float = 20000.0
    params_rel_tol: float = 0.25  # disagreement between sources
    score_abs_tol: float = 0.10  # same benchmark, two sources, fraction scale
    flops_ratio_tol: float = 3.0  # curated vs Epoch training compute
    score_pairs: tuple[tuple[str, str], ...] = DEFAULT_SCORE_PAIRS


OBSSCALING_BENCHMARKS: tuple[str, ...] = tuple(
    f"obsscaling:{b}"
    for b in (
        "MMLU",
        "ARC-C",
        "HellaSwag",
        "Winograd",
        "TruthfulQA",
        "GSM8K",
        "XWinograd",
        "HumanEval",
    )
)


# The paper's basis for instruction-tuned models: their tables report Winogrande (not Winograd)
# and no XWinograd. Leaderboard v1's six tasks serve the thousands of models it evaluated.
INSTRUCT_BENCHMARKS: tuple[str, ...] = tuple(
    f"obsscaling:{b}"
    for b in ("MMLU", "ARC-C", "HellaSwag", "Winogrande", "TruthfulQA", "GSM8K", "HumanEval")
)
OPENLLM_V1_BENCHMARKS: tuple[str, ...] = tuple(
    f"openllm_v1:{b}" for b in ("MMLU", "ARC", "HellaSwag", "Winogrande", "TruthfulQA", "GSM8K")
)


@dataclass(frozen=True)
class CapabilityConfig:
    """Defaults of the capability model, as in the paper's public implementation.

    Imputation: rank-1 PCA on standardized scores, clipped to [0, 1]; PCA on the imputed,
    unstandardized scores; equivalent FLOPs on the Llama-2 scale.
    """

    benchmarks: tuple[str, ...] = OBSSCALING_BENCHMARKS
    n_components: int = 3
    impute_components: int = 1
    standardize: bool = False
    max_iter: int = 1000
    tol: float = 1e-6  # RMS change of the imputed (standardized) entries between iterations
    clip: tuple[float, float] = (0.0, 1.0)
    reference_family: str = "Llama-2"
    min_family_models: int = 2
    base_only: bool = True
    alpha: float = 0.05  # confidence level of the regression intervals is 1 - alpha
    # Where the models with a target lack the default basis (instruct models have Winogrande,
    # not Winograd), a fallback basis observed in a larger share of their cells, by at least
    # ``basis_margin``, replaces it. Only the default basis is ever replaced.
    basis_fallbacks: tuple[tuple[str, ...], ...] = (INSTRUCT_BENCHMARKS, OPENLLM_V1_BENCHMARKS)
    basis_margin: float = 0.1


@dataclass(frozen=True)
class PredictConfig:
    """Defaults of the downstream predictor (``obsscale predict``).

    The reference's own analyses use a plain sigmoid on the chance-normalised target, fitted by
    least squares; the floor ("parametric") form and Huber loss are options. Intervals come from
    a seeded bootstrap over training models. That is ``method = "paper"``; the default,
    ``"obsscale"``, chooses and weights inputs and link forms by nested back-tests and
    calibrates its intervals on them (lower test MSE and calibrated coverage in the bench's
    accuracy suite).
    """

    # "obsscale": inputs, ridge and form chosen by nested back-tests, calibrated intervals;
    # "paper": the paper's predictor (factors only, the form below, bootstrap intervals)
    method: str = "obsscale"
    form: str = "sigmoid"  # or "parametric": y = (1 - b) sigmoid(z) + b, b in [0, floor_max]
    loss: str = "squared"  # or "huber"
    huber_delta: float = 0.1
    floor_max: float = 0.2
    n_starts: int = 8  # random restarts besides the logit-linear and near-zero starts
    n_bootstrap: int = 200
    interval: float = 0.90
    random_state: int = 0
    cutoff_flops: float = LLAMA2_7B_FLOPS  # the reference's default cutoff
    kfold: int = 5
    extrapolate_decades: float = 1.5  # how far the capability curve runs past the largest model
    # the default method only: nested FLOPs cutoffs (quantiles of the training models' FLOPs)
    # that rank the candidates (high ones: each inner fit sees most of the training models, as
    # the outer fit does), ridge strengths tried, how many of the best are averaged
    inner_quantiles: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
    alphas: tuple[float, ...] = (0.0,)
    n_members: int = 4
    ceiling_min: float = 0.5
    # share of the ensemble's weight kept on the paper's predictor (3 factors, sigmoid) whatever
    # the noisy inner back-tests say, and the floor bound of the candidate with a floor
    anchor_weight: float = 0.1
    candidate_floor_max: float = 0.5
    scale: str = "auto"  # of the target: fraction, percent, ten (0-10) or auto


@dataclass(frozen=True)
class ForecastConfig:
    """Forecasts of models not yet built: how far past a family's largest model a forecast may
    go before it is flagged, and what the report forecasts."""

    max_extrapolation_decades: float = 1.5
    grid_flops: tuple[float, ...] = (1e23, 1e24, 1e25, 1e26)  # reference-equivalent compute
    next_multipliers: tuple[float, ...] = (3.0, 10.0)  # a family's next model vs its largest
    recent_families: int = 5


@dataclass(frozen=True)
class FrontierConfig:
    """The report's frontier section (Epoch Benchmarking Hub): which hub benchmarks get curves
    and forecasts (those with at least ``min_points`` dated models; a sigmoid in compute needs
    ``min_compute_points`` models of known compute), the rank of the hub factors, how many
    seeded resamples of the models test their loadings, how many months past the newest model
    the date trend is forecast, and how many of the newest models get their missing scores
    completed."""

    targets: tuple[str, ...] = (
        "GPQA Diamond",
        "MATH Level 5",
        "OTIS Mock AIME 2024-2025",
        "FrontierMath Tier 1-3",
        "SWE-bench Verified",
    )
    min_points: int = 15
    min_compute_points: int = 8
    rank: int = 2
    n_boot: int = 20
    horizons_months: tuple[float, ...] = (6.0, 12.0)
    recent_models: int = 8
    random_state: int = 0


@dataclass(frozen=True)
class ReportTarget:
    """A downstream target drawn in the report, with its chance level and FLOPs cutoff."""

    column: str
    chance: float = 0.0
    cutoff_flops: float = LLAMA2_7B_FLOPS


# The reference's Leaderboard-v2 tasks (chance: 4-way GPQA; BBH's mean over its 27 subtasks;
# MMLU-PRO has 10 options) and the held-out GSM8K; cutoffs as in the reference.
LEADERBOARD_V2_TARGETS: tuple[ReportTarget, ...] = (
    ReportTarget("openllm_v2:GPQA", 0.25, 1.68e23),
    ReportTarget("openllm_v2:MATH Lvl 5", 0.0, 2.52e23),
    ReportTarget("openllm_v2:BBH", 0.2624, LLAMA2_7B_FLOPS),
    ReportTarget("openllm_v2:MMLU-PRO", 0.1, LLAMA2_7B_FLOPS),
)
DEFAULT_REPORT_TARGETS: tuple[ReportTarget, ...] = (
    *LEADERBOARD_V2_TARGETS,
    ReportTarget("obsscaling:GSM8K", 0.0, LLAMA2_7B_FLOPS),
)


@dataclass(frozen=True)
class ReportConfig:
    targets: tuple[ReportTarget, ...] = DEFAULT_REPORT_TARGETS
    dpi: int = 110

    def target(self, column: str) -> ReportTarget:
        """The configured target of that column, or chance 0 and the default cutoff."""
        for t in self.targets:
            if t.column == column:
                return t
        return ReportTarget(column)


@dataclass(frozen=True)
class Config:
    """A whole run's settings. ``with_overrides`` gives a modified copy."""

    data_dir: Path = Path("data")
    mirror: str | None = None
    sources: tuple[Source, ...] = DEFAULT_SOURCES
    network: NetworkConfig = field(default_factory=NetworkConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    capabilities: CapabilityConfig = field(default_factory=CapabilityConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    frontier: FrontierConfig = field(default_factory=FrontierConfig)
    include_flagged: bool = False
    include_merged: bool = False
    precedence: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PRECEDENCE))
    placeholder_dates: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_PLACEHOLDER_DATES)
    )
    # Hand-curated corrections: DATA_DIR/corrections.csv if present, else the packaged file.
    corrections_file: Path | None = None
    apply_corrections: bool = True
    # sources harmonize may do without (`--exclude-source`); any other missing raw file is an error
    exclude_sources: tuple[str, ...] = ()
    # use derived tables and raw files that differ from their recorded sha256 (`--trust-edited`)
    trust_edited: bool = False

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
    """The default configuration, with the mirror taken from ``$OBSSCALE_MIRROR`` if unset."""
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    return Config(data_dir=Path(data_dir) if data_dir else Path("data"), mirror=mirror)
